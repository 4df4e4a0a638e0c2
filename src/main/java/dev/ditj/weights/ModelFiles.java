package dev.ditj.weights;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.ditj.DitjException;
import dev.ditj.model.DitConfig;
import dev.ditj.model.VaeConfig;

import java.util.ArrayList;
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
    public static final String CLASS_NAMES_KEY = "ditj.class_names";
    /** Recommended generation settings of a DiT, JSON: {"sampler", "steps", "cfg_scale", "images_per_class"}. */
    public static final String GENERATE_DEFAULTS_KEY = "ditj.generate_defaults";
    public static final String SOURCE_KEY = "ditj.source";
    public static final String SOURCE_LAYOUT_KEY = "ditj.source_layout";
    public static final String SOURCE_SHA256_KEY = "ditj.source_sha256";
    public static final String DTYPE_KEY = "ditj.dtype";
    public static final String CONVERTED_BY_KEY = "ditj.converted_by";

    public static final String KIND_DIT = "dit";
    public static final String KIND_VAE = "vae";

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
        return GSON.toJson(o);
    }

    public static DitConfig parseDitConfig(String json, String file) {
        JsonObject o = parse(json, file);
        return new DitConfig(intField(o, "in_channels", file), intField(o, "input_size", file),
                intField(o, "patch_size", file), intField(o, "hidden_size", file), intField(o, "depth", file),
                intField(o, "num_heads", file), doubleField(o, "mlp_ratio", file), intField(o, "num_classes", file),
                field(o, "learn_sigma", file).getAsBoolean());
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
        JsonArray boc = field(o, "block_out_channels", file).getAsJsonArray();
        int[] channels = new int[boc.size()];
        for (int i = 0; i < channels.length; i++) channels[i] = boc.get(i).getAsInt();
        int latent = has(o, "latent_channels") ? o.get("latent_channels").getAsInt() : 4;
        double[] mean = has(o, "latents_mean") ? doubleArray(o.get("latents_mean").getAsJsonArray()) : null;
        double[] std = has(o, "latents_std") ? doubleArray(o.get("latents_std").getAsJsonArray()) : null;
        if (has(o, "shift_factor")) {
            if (mean != null) throw new DitjException(file + ": VAE config has both shift_factor and latents_mean");
            mean = new double[latent];
            java.util.Arrays.fill(mean, o.get("shift_factor").getAsDouble());
        }
        return new VaeConfig(latent,
                has(o, "out_channels") ? o.get("out_channels").getAsInt() : 3,
                channels,
                has(o, "layers_per_block") ? o.get("layers_per_block").getAsInt() : 1,
                has(o, "norm_num_groups") ? o.get("norm_num_groups").getAsInt() : 32,
                !has(o, "mid_block_add_attention") || o.get("mid_block_add_attention").getAsBoolean(),
                !has(o, "use_post_quant_conv") || o.get("use_post_quant_conv").getAsBoolean(),
                has(o, "scaling_factor") ? o.get("scaling_factor").getAsDouble() : 0.18215,
                mean, std);
    }

    public static String classNamesJson(List<String> names) {
        JsonArray a = new JsonArray();
        names.forEach(a::add);
        return a.toString();
    }

    public static List<String> parseClassNames(String json, String file) {
        try {
            JsonArray a = JsonParser.parseString(json).getAsJsonArray();
            List<String> names = new ArrayList<>();
            a.forEach(e -> names.add(e.getAsString()));
            return names;
        } catch (RuntimeException e) {
            throw new DitjException(file + ": " + CLASS_NAMES_KEY + " is not a JSON array of strings");
        }
    }

    private static double[] doubleArray(JsonArray a) {
        double[] d = new double[a.size()];
        for (int i = 0; i < d.length; i++) d[i] = a.get(i).getAsDouble();
        return d;
    }

    static boolean has(JsonObject o, String key) {
        return o.has(key) && !o.get(key).isJsonNull();
    }

    private static JsonObject parse(String json, String file) {
        try {
            return JsonParser.parseString(json).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new DitjException(file + ": model config is not a JSON object: " + e.getMessage());
        }
    }

    private static JsonElement field(JsonObject o, String key, String file) {
        if (!has(o, key)) throw new DitjException(file + ": model config lacks '" + key + "'");
        return o.get(key);
    }

    private static int intField(JsonObject o, String key, String file) {
        return field(o, key, file).getAsInt();
    }

    private static double doubleField(JsonObject o, String key, String file) {
        return field(o, key, file).getAsDouble();
    }
}
