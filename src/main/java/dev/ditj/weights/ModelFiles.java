package dev.ditj.weights;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.ditj.DitjException;
import dev.ditj.api.ClassGroup;
import dev.ditj.io.Json;
import dev.ditj.model.DitConfig;
import dev.ditj.model.VaeConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The metadata of ditj's own model files (safetensors {@code __metadata__}, string → string): what kind of
 * model, its config as JSON (official DiT / diffusers field names), class names, and where it came from.
 */
public final class ModelFiles {
    public static final String FORMAT_KEY = "ditj.format";
    public static final String FORMAT_VERSION = "1";
    public static final String KIND_KEY = "ditj.kind";
    public static final String CONFIG_KEY = "ditj.config";
    /** {@link dev.ditj.model.ModelFamily} of a DiT-architecture file ("dit" or "sit"); absent = "dit". */
    public static final String FAMILY_KEY = "ditj.family";
    public static final String CLASS_NAMES_KEY = "ditj.class_names";
    /**
     * Named groups of a DiT's classes ({@link ClassGroup}), JSON: [{"name": "Objects, objects", "classes": [ids],
     * "weights": [numbers]}, ...]; "weights" may be left out (all equal). Absent: no groups.
     */
    public static final String CLASS_GROUPS_KEY = "ditj.class_groups";
    /** Recommended generation settings of a DiT, JSON: {"sampler", "steps", "cfg_scale", "images_per_class"}. */
    public static final String GENERATE_DEFAULTS_KEY = "ditj.generate_defaults";
    public static final String SOURCE_KEY = "ditj.source";
    /** A VAE's latent statistics file (VA-VAE's latents_stats.pt): "NAME (sha256 HEX)"; the values are in the config. */
    public static final String LATENT_STATS_KEY = "ditj.latent_stats";
    /**
     * What a VAE file holds: "decoder" or "encoder,decoder" (the halves' tensors under diffusers names). Absent in
     * files made before the encoder: those hold the decoder only.
     */
    public static final String VAE_PARTS_KEY = "ditj.vae_parts";
    public static final String VAE_ENCODER = "encoder", VAE_DECODER = "decoder";
    public static final String SOURCE_LAYOUT_KEY = "ditj.source_layout";
    public static final String SOURCE_SHA256_KEY = "ditj.source_sha256";
    public static final String DTYPE_KEY = "ditj.dtype";
    public static final String CONVERTED_BY_KEY = "ditj.converted_by";

    public static final String KIND_DIT = "dit";
    public static final String KIND_VAE = "vae";

    /** diffusers' decoder up block types: ResNet blocks alone, or each followed by single-head attention. */
    static final String UP_BLOCK = "UpDecoderBlock2D", ATTN_UP_BLOCK = "AttnUpDecoderBlock2D";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    private ModelFiles() {
    }

    public static String ditConfigJson(DitConfig c) {
        JsonObject o = new JsonObject();
        o.addProperty("input_size", c.inputSize());
        o.addProperty("patch_size", c.patchSize());
        o.addProperty("in_channels", c.inChannels());
        o.addProperty("hidden_size", c.hiddenSize());
        o.addProperty("depth", c.depth());
        o.addProperty("num_heads", c.numHeads());
        o.addProperty("mlp_ratio", c.mlpRatio());
        o.addProperty("num_classes", c.numClasses());
        o.addProperty("learn_sigma", c.learnSigma());
        if (c.lightning()) {     // absent in DiT and SiT files (and in those made before LightningDiT)
            o.addProperty("use_rmsnorm", c.rmsNorm());
            o.addProperty("use_swiglu", c.swiglu());
            o.addProperty("use_rope", c.rope());
        }
        return GSON.toJson(o);
    }

    public static DitConfig parseDitConfig(String json, String file) {
        JsonObject o = parse(json, file);
        int inChannels = intField(o, "in_channels", file), inputSize = intField(o, "input_size", file);
        int patchSize = intField(o, "patch_size", file), hiddenSize = intField(o, "hidden_size", file);
        int depth = intField(o, "depth", file), numHeads = intField(o, "num_heads", file);
        double mlpRatio = Json.doubleValue(field(o, "mlp_ratio", file), what(file, "mlp_ratio"));
        int numClasses = intField(o, "num_classes", file);
        boolean learnSigma = Json.boolValue(field(o, "learn_sigma", file), what(file, "learn_sigma"));
        boolean[] lightning = new boolean[3];
        String[] flags = {"use_rmsnorm", "use_swiglu", "use_rope"};
        for (int i = 0; i < flags.length; i++) {
            lightning[i] = o.has(flags[i]) && Json.boolValue(o.get(flags[i]), what(file, flags[i]));
        }
        try {
            return new DitConfig(inChannels, inputSize, patchSize, hiddenSize, depth, numHeads, mlpRatio, numClasses,
                    learnSigma, lightning[0], lightning[1], lightning[2]);
        } catch (DitjException e) {
            throw new DitjException(file + ": " + e.getMessage(), e);
        }
    }

    public static String vaeConfigJson(VaeConfig c) {
        JsonObject o = new JsonObject();
        o.addProperty("latent_channels", c.latentChannels());
        o.addProperty("out_channels", c.outChannels());
        JsonArray boc = new JsonArray();
        for (int ch : c.blockOutChannels()) boc.add(ch);
        o.add("block_out_channels", boc);
        o.addProperty("layers_per_block", c.layersPerBlock());
        o.addProperty("norm_num_groups", c.normNumGroups());
        if (c.hasUpBlockAttention()) {   // absent = all UpDecoderBlock2D (SD; files made before VA-VAE)
            JsonArray types = new JsonArray();
            for (boolean a : c.upBlockAttention()) types.add(a ? ATTN_UP_BLOCK : UP_BLOCK);
            o.add("up_block_types", types);
        }
        o.addProperty("mid_block_add_attention", c.midBlockAttention());
        o.addProperty("use_post_quant_conv", c.usePostQuantConv());
        o.addProperty("scaling_factor", c.scalingFactor());
        if (c.latentsMean() != null) o.add("latents_mean", doubles(c.latentsMean()));
        if (c.latentsStd() != null) o.add("latents_std", doubles(c.latentsStd()));
        return GSON.toJson(o);
    }

    private static JsonArray doubles(double[] v) {
        JsonArray a = new JsonArray();
        for (double d : v) a.add(d);
        return a;
    }

    /**
     * Reads a VAE config in diffusers' field names (our files use the same), including the latent normalisation
     * keys {@code scaling_factor} (default 0.18215), {@code shift_factor}, {@code latents_mean}, {@code latents_std}.
     */
    public static VaeConfig parseVaeConfig(String json, String file) {
        JsonObject o = parse(json, file);
        JsonElement bocField = field(o, "block_out_channels", file);
        if (!bocField.isJsonArray()) throw new DitjException(what(file, "block_out_channels") + " must be an array of integers");
        JsonArray boc = bocField.getAsJsonArray();
        int[] channels = new int[boc.size()];
        for (int i = 0; i < channels.length; i++) channels[i] = Json.intValue(boc.get(i), what(file, "block_out_channels"));
        int latent = has(o, "latent_channels") ? intField(o, "latent_channels", file) : 4;
        double[] mean = has(o, "latents_mean") ? doubleArray(o, "latents_mean", file) : null;
        double[] std = has(o, "latents_std") ? doubleArray(o, "latents_std", file) : null;
        if (has(o, "shift_factor")) {
            if (mean != null) throw new DitjException(file + ": VAE config has both shift_factor and latents_mean");
            if (latent < 1) throw new DitjException(what(file, "latent_channels") + " must be positive, got " + latent);
            mean = new double[latent];
            java.util.Arrays.fill(mean, Json.doubleValue(o.get("shift_factor"), what(file, "shift_factor")));
        }
        int out = has(o, "out_channels") ? intField(o, "out_channels", file) : 3;
        int layers = has(o, "layers_per_block") ? intField(o, "layers_per_block", file) : 1;
        int groups = has(o, "norm_num_groups") ? intField(o, "norm_num_groups", file) : 32;
        boolean midAttention = !has(o, "mid_block_add_attention")
                || Json.boolValue(o.get("mid_block_add_attention"), what(file, "mid_block_add_attention"));
        boolean postQuantConv = !has(o, "use_post_quant_conv")
                || Json.boolValue(o.get("use_post_quant_conv"), what(file, "use_post_quant_conv"));
        double scaling = has(o, "scaling_factor") ? Json.doubleValue(o.get("scaling_factor"), what(file, "scaling_factor")) : 0.18215;
        boolean[] upAttention = null;
        if (has(o, "up_block_types")) {
            if (!o.get("up_block_types").isJsonArray()) throw new DitjException(what(file, "up_block_types") + " must be an array of strings");
            JsonArray types = o.get("up_block_types").getAsJsonArray();
            upAttention = new boolean[types.size()];
            for (int i = 0; i < upAttention.length; i++) {
                String t = Json.stringValue(types.get(i), what(file, "up_block_types"));
                if (!t.equals(UP_BLOCK) && !t.equals(ATTN_UP_BLOCK)) {
                    throw new DitjException(what(file, "up_block_types") + " entry '" + t + "' is not supported; expected "
                            + UP_BLOCK + " or " + ATTN_UP_BLOCK);
                }
                upAttention[i] = t.equals(ATTN_UP_BLOCK);
            }
        }
        try {
            return new VaeConfig(latent, out, channels, layers, groups, midAttention, postQuantConv, scaling, mean, std,
                    upAttention);
        } catch (DitjException e) {
            throw new DitjException(file + ": " + e.getMessage(), e);
        }
    }

    public static String classNamesJson(List<String> names) {
        JsonArray a = new JsonArray();
        names.forEach(a::add);
        return a.toString();
    }

    public static List<String> parseClassNames(String json, String file) {
        String what = file + ": " + CLASS_NAMES_KEY;
        JsonElement parsed;
        try {
            parsed = JsonParser.parseString(json);
        } catch (JsonParseException e) {
            throw new DitjException(what + " is not valid JSON (" + Json.syntaxError(e) + ")", e);
        }
        if (!parsed.isJsonArray()) throw new DitjException(what + " is not a JSON array of strings");
        List<String> names = new ArrayList<>();
        for (JsonElement e : parsed.getAsJsonArray()) names.add(Json.stringValue(e, what + " entry"));
        return names;
    }

    public static String classGroupsJson(List<ClassGroup> groups) {
        JsonArray a = new JsonArray();
        for (ClassGroup g : groups) {
            JsonObject o = new JsonObject();
            o.addProperty("name", g.entry());
            JsonArray ids = new JsonArray(), weights = new JsonArray();
            for (int id : g.classes()) ids.add(id);
            for (double w : g.weights()) weights.add(w);
            o.add("classes", ids);
            o.add("weights", weights);
            a.add(o);
        }
        return a.toString();
    }

    /** Parses {@link #CLASS_GROUPS_KEY} JSON (or a converter's groups file); {@code what} names it in errors. */
    public static List<ClassGroup> parseClassGroups(String json, String what) {
        JsonElement parsed;
        try {
            parsed = JsonParser.parseString(json);
        } catch (JsonParseException e) {
            throw new DitjException(what + " is not valid JSON (" + Json.syntaxError(e) + ")", e);
        }
        String shape = " must be a JSON array of {\"name\": ..., \"classes\": [ids], \"weights\": [numbers]}";
        if (!parsed.isJsonArray()) throw new DitjException(what + shape);
        List<ClassGroup> groups = new ArrayList<>();
        for (JsonElement e : parsed.getAsJsonArray()) {
            String at = what + " group " + groups.size();
            if (!e.isJsonObject() || !e.getAsJsonObject().has("name") || !e.getAsJsonObject().has("classes")
                    || !e.getAsJsonObject().get("classes").isJsonArray()) {
                throw new DitjException(at + shape);
            }
            JsonObject o = e.getAsJsonObject();
            String name = Json.stringValue(o.get("name"), at + " name");
            JsonArray ids = o.getAsJsonArray("classes");
            int[] classes = new int[ids.size()];
            for (int i = 0; i < classes.length; i++) classes[i] = Json.intValue(ids.get(i), at + " ('" + name + "') class");
            double[] weights = new double[classes.length];
            if (o.has("weights")) {
                if (!o.get("weights").isJsonArray()) throw new DitjException(at + " ('" + name + "') weights" + shape);
                JsonArray w = o.getAsJsonArray("weights");
                weights = new double[w.size()];
                for (int i = 0; i < weights.length; i++) weights[i] = Json.doubleValue(w.get(i), at + " ('" + name + "') weight");
            } else {
                Arrays.fill(weights, 1);
            }
            try {
                groups.add(new ClassGroup(name, classes, weights));
            } catch (DitjException ex) {
                throw new DitjException(what + ": " + ex.getMessage(), ex);
            }
        }
        return groups;
    }

    private static double[] doubleArray(JsonObject o, String key, String file) {
        if (!o.get(key).isJsonArray()) throw new DitjException(what(file, key) + " must be an array of numbers");
        JsonArray a = o.get(key).getAsJsonArray();
        double[] d = new double[a.size()];
        for (int i = 0; i < d.length; i++) d[i] = Json.doubleValue(a.get(i), what(file, key));
        return d;
    }

    static boolean has(JsonObject o, String key) {
        return o.has(key) && !o.get(key).isJsonNull();
    }

    private static JsonObject parse(String json, String file) {
        return Json.parseObject(json, file + ": model config");
    }

    private static String what(String file, String key) {
        return file + ": model config '" + key + "'";
    }

    private static JsonElement field(JsonObject o, String key, String file) {
        if (!has(o, key)) throw new DitjException(file + ": model config lacks '" + key + "'");
        return o.get(key);
    }

    private static int intField(JsonObject o, String key, String file) {
        return Json.intValue(field(o, key, file), what(file, key));
    }
}
