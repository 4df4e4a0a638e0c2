package dev.ditj.convert;

import com.google.gson.JsonObject;
import dev.ditj.DitjException;
import dev.ditj.api.ClassGroup;
import dev.ditj.api.ClassLabels;
import dev.ditj.io.Json;
import dev.ditj.io.RawTensor;
import dev.ditj.io.SafeTensors;
import dev.ditj.model.DitConfig;
import dev.ditj.model.ModelFamily;
import dev.ditj.model.VaeConfig;
import dev.ditj.tensor.DType;
import dev.ditj.weights.Int8Rows;
import dev.ditj.weights.ModelFiles;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a PyTorch DiT or SD-VAE checkpoint into a ditj model file: detects kind and layout from the keys,
 * renames to ditj's names, checks every tensor's presence and shape against the inferred config, stores the
 * chosen dtype, and records config and provenance in the metadata. Nothing is written unless all checks pass.
 */
public final class Converter {
    public static final String VERSION = "ditj 0.1.0";

    /**
     * @param dtype      storage dtype of the output (F32, F16 or BF16)
     * @param numHeads   DiT attention heads, 0 = from the official family (needed for other hidden sizes)
     * @param vaeConfig  a diffusers-style VAE config.json to use (for LDM files, whose shapes do not give the
     *                   GroupNorm group count or latent normalisation), or null
     * @param classNames class names to store with a DiT (one per class), or null
     * @param generateDefaults recommended generation settings of a DiT (JSON, validated by the caller with
     *                         {@code api.GenerationDefaults.parse}), or null
     * @param family     what a DiT-architecture checkpoint is (DiT or SiT), or null: decided by {@link #family}
     * @param latentStats a VAE's {@code latents_stats.pt} (per-channel mean/std, VA-VAE), or null
     * @param classGroups named groups of a DiT's classes to store with it (needs classNames), or null
     */
    public record Options(DType dtype, int numHeads, Path vaeConfig, List<String> classNames, String generateDefaults,
                          ModelFamily family, Path latentStats, List<ClassGroup> classGroups) {
        public Options {
            if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16 && dtype != DType.I8) {
                throw new DitjException("output dtype must be fp32, fp16, bf16 or int8, got " + dtype);
            }
            if (classGroups != null && classNames == null) {
                throw new DitjException("class groups need class names (--class-names)");
            }
        }

        public Options(DType dtype, int numHeads, Path vaeConfig, List<String> classNames, String generateDefaults,
                       ModelFamily family, Path latentStats) {
            this(dtype, numHeads, vaeConfig, classNames, generateDefaults, family, latentStats, null);
        }

        public Options(DType dtype, int numHeads, Path vaeConfig, List<String> classNames, String generateDefaults,
                       ModelFamily family) {
            this(dtype, numHeads, vaeConfig, classNames, generateDefaults, family, null);
        }

        public Options(DType dtype, int numHeads, Path vaeConfig, List<String> classNames) {
            this(dtype, numHeads, vaeConfig, classNames, null, null);
        }

        public static Options defaults() {
            return new Options(DType.F32, 0, null, null);
        }
    }

    /**
     * What a conversion produced; {@code family} (null for a VAE) and {@code familyReason} say what the network is
     * and how that was decided.
     */
    public record Report(String kind, String layout, String config, int tensors, long parameters, DType dtype,
                         ModelFamily family, String familyReason, String vaeParts) {
    }

    /** A family and what decided it. */
    record Family(ModelFamily family, String reason) {
    }

    /** The state-dict prefix of REPA's projector heads: used by its training loss only, never by generation. */
    static final String REPA_PROJECTORS = "projectors.";

    /**
     * What a DiT-architecture checkpoint is. SiT's network is DiT's, tensor for tensor (its released XL/2 file even
     * keeps the learned-sigma head), so the keys cannot tell them apart; REPA's files (released and training) keep
     * its projector heads ({@code projectors.*}), which can. In order: {@code --family}; the projector heads; the
     * {@code argparse.Namespace} a training checkpoint carries (REPA's train.py: {@code enc_type}/{@code proj_coeff};
     * SiT's: {@code model} 'SiT-*' and the transport fields {@code path_type}/{@code prediction}; DiT's: 'DiT-*');
     * the released SiT file's name ({@code SiT-XL-2-256x256.pt}: a name starting with "SiT-"); else DiT. Whatever
     * the file says must agree with the option and with itself.
     */
    static Family family(SourceCheckpoint src, ModelFamily given, String file) {
        // LightningDiT's layers name it (its training dicts carry a 'config' dict, not argparse arguments)
        boolean lightningKeys = DitLayout.lightning(src.tensors());
        if (lightningKeys || given == ModelFamily.LIGHTNINGDIT) {
            if (given != null && given != ModelFamily.LIGHTNINGDIT || !lightningKeys) {
                throw new DitjException(file + ": --family " + given.id + " contradicts the checkpoint's keys, which "
                        + (lightningKeys ? "hold LightningDiT's layers (RMSNorm, SwiGLU or rotary tables)"
                        : "hold none of LightningDiT's layers (RMSNorm, SwiGLU, rotary tables)"));
            }
            return new Family(ModelFamily.LIGHTNINGDIT, given != null ? "--family lightningdit"
                    : "LightningDiT keys (RMSNorm, SwiGLU or rotary tables)");
        }
        Map<?, ?> args = src.trainingArgs();
        ModelFamily fromArgs = null;
        String argsWhat = null;
        if (args != null) {
            Object model = args.get("model");
            boolean repa = args.containsKey("enc_type") || args.containsKey("proj_coeff");
            boolean transport = args.containsKey("path_type") || args.containsKey("prediction");
            if (repa) {
                fromArgs = ModelFamily.REPA;
                checkTransport(args, file, "linear", "v", "REPA's default");
            } else if (transport || model instanceof String m && m.startsWith("SiT-")) {
                fromArgs = ModelFamily.SIT;
                checkTransport(args, file, "Linear", "velocity", "SiT's default");
            } else if (model instanceof String m && m.startsWith("DiT-")) {
                fromArgs = ModelFamily.DIT;
            }
            argsWhat = "training arguments (model " + (model instanceof String m ? "'" + m + "'" : "not named")
                    + (repa ? ", enc_type '" + args.get("enc_type") + "'"
                    : transport ? ", path_type '" + args.get("path_type") + "'" : "") + ")";
        }
        boolean projectors = src.tensors().keySet().stream().anyMatch(k -> k.startsWith(REPA_PROJECTORS));
        String keysWhat = "REPA's projector heads ('" + REPA_PROJECTORS + "*', training-only, dropped)";
        if (projectors && fromArgs != null && fromArgs != ModelFamily.REPA) {
            throw new DitjException(file + ": holds " + keysWhat + " but its " + argsWhat + " make it a "
                    + fromArgs.displayName);
        }
        if (given != null) {
            if (projectors && given != ModelFamily.REPA) {
                throw new DitjException(file + ": --family " + given.id + " contradicts the checkpoint's " + keysWhat
                        + ", which make it a REPA");
            }
            if (fromArgs != null && fromArgs != given) {
                throw new DitjException(file + ": --family " + given.id + " contradicts the checkpoint's " + argsWhat
                        + ", which make it a " + fromArgs.displayName);
            }
            return new Family(given, "--family " + given.id);
        }
        if (projectors) return new Family(ModelFamily.REPA, keysWhat);
        if (fromArgs != null) return new Family(fromArgs, argsWhat);
        String name = src.weightsFile().getFileName().toString();
        if (name.regionMatches(true, 0, "SiT-", 0, 4)) return new Family(ModelFamily.SIT, "file name " + name);
        return new Family(ModelFamily.DIT, "DiT keys; a SiT state dict needs --family sit unless named SiT-*");
    }

    /** ditj samples each flow family's default transport only: the linear path with a velocity-predicting model. */
    private static void checkTransport(Map<?, ?> args, String file, String linear, String velocity, String which) {
        Object path = args.get("path_type"), prediction = args.get("prediction");
        if (path != null && !path.equals(linear) || prediction != null && !prediction.equals(velocity)) {
            String name = which.substring(0, which.indexOf('\''));
            throw new DitjException(file + ": a " + name + " trained with path_type '" + path + "' and prediction '"
                    + prediction + "'; ditj samples the " + linear + " path with " + velocity + " prediction ("
                    + which + ") only");
        }
    }

    private Converter() {
    }

    /** Names and shapes of every tensor a ditj DiT file with this config holds, in file order. */
    public static Map<String, int[]> expectedTensors(DitConfig config) {
        return DitLayout.expected(config);
    }

    /** Names and shapes of every decoder tensor a ditj VAE file with this config holds, in file order. */
    public static Map<String, int[]> expectedTensors(VaeConfig config) {
        return VaeLayout.expected(config);
    }

    /** Names and shapes of every encoder tensor (encoder and quant_conv) of a VAE with this config, in file order. */
    public static Map<String, int[]> expectedEncoderTensors(VaeConfig config) {
        return VaeLayout.expectedEncoder(config);
    }

    public static Report convert(Path input, Path output, Options options) {
        SourceCheckpoint src = SourceCheckpoint.read(input);
        String file = src.weightsFile().toString();
        Map<String, RawTensor> tensors;
        Map<String, int[]> expected;
        Map<String, String> metadata = new LinkedHashMap<>();
        String kind, layout, configJson;
        Map<String, RawTensor> vae = VaeLayout.vaePart(src.tensors());
        Family family = null;
        String vaeParts = null;
        if (DitLayout.matches(src.tensors())) {
            if (options.latentStats() != null) {
                throw new DitjException(file + ": --latent-stats applies to a VAE (VA-VAE's latents_stats.pt); this is "
                        + "a DiT-architecture network");
            }
            kind = ModelFiles.KIND_DIT;
            family = family(src, options.family(), file);
            layout = family.family().id + (src.nesting().equals("ema") ? "-training-checkpoint-ema" : "-state-dict");
            metadata.put(ModelFiles.FAMILY_KEY, family.family().id);
            tensors = src.tensors();
            if (family.family() == ModelFamily.REPA) {
                tensors = new LinkedHashMap<>(tensors);
                tensors.keySet().removeIf(k -> k.startsWith(REPA_PROJECTORS));
            }
            DitConfig config = DitLayout.inferConfig(tensors, options.numHeads(), file);
            expected = DitLayout.expected(config);
            configJson = ModelFiles.ditConfigJson(config);
            if (options.classNames() != null) {
                if (options.classNames().size() != config.numClasses()) {
                    throw new DitjException("got " + options.classNames().size() + " class names for a model with "
                            + config.numClasses() + " classes");
                }
                metadata.put(ModelFiles.CLASS_NAMES_KEY, ModelFiles.classNamesJson(options.classNames()));
                if (options.classGroups() != null) {
                    ClassLabels.of(options.classNames(), options.classGroups()); // checks the groups' ids
                    metadata.put(ModelFiles.CLASS_GROUPS_KEY, ModelFiles.classGroupsJson(options.classGroups()));
                }
            }
            if (options.generateDefaults() != null) {
                metadata.put(ModelFiles.GENERATE_DEFAULTS_KEY, options.generateDefaults());
            }
        } else if (vae != null) {
            if (options.family() != null) {
                throw new DitjException(file + ": --family applies to DiT and SiT checkpoints; this is a VAE");
            }
            kind = ModelFiles.KIND_VAE;
            String naming = VaeLayout.layout(vae);
            boolean prefixed = vae != src.tensors(); // the VAE part of a full SD checkpoint
            tensors = VaeLayout.toDiffusersNames(vae, naming, file);
            JsonObject cfg = options.vaeConfig() != null ? readJson(options.vaeConfig()) : src.config();
            VaeConfig config = VaeLayout.config(tensors, cfg, file);
            if (options.latentStats() != null) {
                config = withLatentStats(config, cfg, options.latentStats(), file);
                metadata.put(ModelFiles.LATENT_STATS_KEY, options.latentStats().getFileName() + " (sha256 "
                        + sha256(options.latentStats()) + ")");
            } else if (config.hasUpBlockAttention() && config.latentsStd() == null) {
                // its latents are normalised per channel: decoding them as they are gives a wrong image, silently
                throw new DitjException(file + ": a VA-VAE (attention in the decoder's up blocks) needs --latent-stats "
                        + "latents_stats.pt (the per-channel mean/std its pipeline de-normalises latents with)");
            }
            layout = (config.hasUpBlockAttention() ? "vavae-" : "vae-") + naming
                    + (src.container().equals("diffusers-folder") ? "-folder" : "")
                    + (prefixed ? "-in-full-checkpoint" : "");
            expected = VaeLayout.expected(config);
            vaeParts = keepEncoder(tensors, VaeLayout.expectedEncoder(config), expected, file);
            metadata.put(ModelFiles.VAE_PARTS_KEY, vaeParts.startsWith(ModelFiles.VAE_ENCODER)
                    ? ModelFiles.VAE_ENCODER + "," + ModelFiles.VAE_DECODER : ModelFiles.VAE_DECODER);
            configJson = ModelFiles.vaeConfigJson(config);
        } else {
            throw new DitjException(file + ": neither a DiT (no 'x_embedder.proj.weight') nor an SD VAE decoder "
                    + "(no 'decoder.conv_in.weight'); first keys: " + src.tensors().keySet().stream().limit(5).toList());
        }
        checkTensors(tensors, expected, file);

        Map<String, RawTensor> out = new LinkedHashMap<>();
        long params = 0;
        for (Map.Entry<String, int[]> e : expected.entrySet()) {
            RawTensor t = tensors.get(e.getKey());
            if (!t.dtype().isFloat()) {
                throw new DitjException(file + ": tensor '" + e.getKey() + "' has non-float dtype " + t.dtype());
            }
            if (options.dtype() == DType.I8 && Int8Rows.quantizes(e.getKey(), t.shape())) {
                RawTensor[] q = Int8Rows.quantize(t.toFloats(), t.shape(), e.getKey());
                out.put(e.getKey(), q[0]);
                out.put(e.getKey() + Int8Rows.SCALE_SUFFIX, q[1]);
            } else {
                DType store = options.dtype() == DType.I8 ? DType.F16 : options.dtype();
                out.put(e.getKey(), RawTensor.ofFloats(t.toFloats(), t.shape(), store));
            }
            params += t.shape().numel();
        }
        metadata.put(ModelFiles.FORMAT_KEY, ModelFiles.FORMAT_VERSION);
        metadata.put(ModelFiles.KIND_KEY, kind);
        metadata.put(ModelFiles.CONFIG_KEY, configJson);
        metadata.put(ModelFiles.DTYPE_KEY, options.dtype().safetensorsName);
        metadata.put(ModelFiles.SOURCE_KEY, src.weightsFile().getFileName().toString());
        metadata.put(ModelFiles.SOURCE_LAYOUT_KEY, layout);
        metadata.put(ModelFiles.SOURCE_SHA256_KEY, sha256(src.weightsFile()));
        metadata.put(ModelFiles.CONVERTED_BY_KEY, VERSION);
        SafeTensors.write(output, out, metadata);
        return new Report(kind, layout, configJson, expected.size(), params, options.dtype(),
                family == null ? null : family.family(), family == null ? null : family.reason(), vaeParts);
    }

    /**
     * Adds the encoder's tensors to {@code expected} (before the decoder's, as diffusers orders them) when the
     * checkpoint holds the whole encoder; one that holds none or only some of it (VA-VAE training checkpoints may
     * keep a part) converts to a decoder-only file, and the part is dropped from {@code tensors}. Returns what the
     * file holds, for the report.
     */
    private static String keepEncoder(Map<String, RawTensor> tensors, Map<String, int[]> encoder,
                                      Map<String, int[]> expected, String file) {
        long present = tensors.keySet().stream().filter(VaeLayout::isEncoderTensor).count();
        boolean complete = present > 0 && encoder.keySet().stream().allMatch(tensors::containsKey);
        if (!complete) {
            tensors.keySet().removeIf(VaeLayout::isEncoderTensor);
            return present == 0 ? "decoder only (no encoder in the checkpoint)"
                    : "decoder only (the checkpoint holds " + present + " of the encoder's " + encoder.size()
                    + " tensors; dropped)";
        }
        Map<String, int[]> both = new LinkedHashMap<>(encoder);
        both.putAll(expected);
        expected.clear();
        expected.putAll(both);
        return "encoder and decoder";
    }

    /**
     * The config with {@code latents_stats.pt}'s normalisation: mean/std per channel and scaling factor 1 (LightningDiT's
     * {@code latent_multiplier}). A config file that gives a normalisation of its own contradicts it.
     */
    private static VaeConfig withLatentStats(VaeConfig c, JsonObject cfg, Path statsFile, String file) {
        if (cfg != null) {
            for (String key : new String[] {"latents_mean", "latents_std", "shift_factor"}) {
                if (cfg.has(key) && !cfg.get(key).isJsonNull()) {
                    throw new DitjException(file + ": the VAE config's '" + key + "' and --latent-stats both give the "
                            + "latent normalisation; keep one");
                }
            }
            if (cfg.has("scaling_factor") && !cfg.get("scaling_factor").isJsonNull() && c.scalingFactor() != 1.0) {
                throw new DitjException(file + ": the VAE config's scaling_factor " + c.scalingFactor() + " contradicts "
                        + "--latent-stats (decoded as z * std + mean, scaling factor 1)");
            }
        }
        LatentStats stats = LatentStats.read(statsFile, c.latentChannels());
        return new VaeConfig(c.latentChannels(), c.outChannels(), c.blockOutChannels(), c.layersPerBlock(),
                c.normNumGroups(), c.midBlockAttention(), c.usePostQuantConv(), 1.0, stats.mean(), stats.std(),
                c.upBlockAttention());
    }

    /** Missing, extra and mis-shaped tensors, each named with both shapes. */
    private static void checkTensors(Map<String, RawTensor> actual, Map<String, int[]> expected, String file) {
        for (Map.Entry<String, int[]> e : expected.entrySet()) {
            RawTensor t = actual.get(e.getKey());
            if (t == null) throw new DitjException(file + ": missing tensor '" + e.getKey() + "' (expected shape "
                    + Arrays.toString(e.getValue()) + ")");
            if (!Arrays.equals(t.shape().dims(), e.getValue())) {
                throw new DitjException(file + ": tensor '" + e.getKey() + "' has shape " + t.shape() + ", expected "
                        + Arrays.toString(e.getValue()));
            }
        }
        for (String name : actual.keySet()) {
            if (!expected.containsKey(name)) {
                throw new DitjException(file + ": unexpected tensor '" + name + "' " + actual.get(name).shape()
                        + " (not part of the model the other tensors describe)");
            }
        }
    }

    /** A model config.json (diffusers). */
    static JsonObject readJson(Path p) {
        String text;
        try {
            text = Files.readString(p, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new DitjException(p + ": model config is not UTF-8 text", e);
        } catch (IOException e) {
            throw new DitjException(p + ": cannot read the model config: " + e.getMessage(), e);
        }
        return Json.parseObject(text, p + ": model config");
    }

    static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new DitjException(file + ": cannot read: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
