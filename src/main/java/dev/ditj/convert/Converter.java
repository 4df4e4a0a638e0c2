package dev.ditj.convert;

import com.google.gson.JsonObject;
import dev.ditj.DitjException;
import dev.ditj.io.Json;
import dev.ditj.io.RawTensor;
import dev.ditj.io.SafeTensors;
import dev.ditj.model.DitConfig;
import dev.ditj.model.VaeConfig;
import dev.ditj.tensor.DType;
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
     */
    public record Options(DType dtype, int numHeads, Path vaeConfig, List<String> classNames, String generateDefaults) {
        public Options {
            if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
                throw new DitjException("output dtype must be fp32, fp16 or bf16, got " + dtype);
            }
        }

        public Options(DType dtype, int numHeads, Path vaeConfig, List<String> classNames) {
            this(dtype, numHeads, vaeConfig, classNames, null);
        }

        public static Options defaults() {
            return new Options(DType.F32, 0, null, null);
        }
    }

    /** What a conversion produced. */
    public record Report(String kind, String layout, String config, int tensors, long parameters, DType dtype) {
    }

    private Converter() {
    }

    /** Names and shapes of every tensor a ditj DiT file with this config holds, in file order. */
    public static Map<String, int[]> expectedTensors(DitConfig config) {
        return DitLayout.expected(config);
    }

    /** Names and shapes of every tensor a ditj VAE file with this config holds, in file order. */
    public static Map<String, int[]> expectedTensors(VaeConfig config) {
        return VaeLayout.expected(config);
    }

    public static Report convert(Path input, Path output, Options options) {
        SourceCheckpoint src = SourceCheckpoint.read(input);
        String file = src.weightsFile().toString();
        Map<String, RawTensor> tensors;
        Map<String, int[]> expected;
        Map<String, String> metadata = new LinkedHashMap<>();
        String kind, layout, configJson;
        Map<String, RawTensor> vae = VaeLayout.vaePart(src.tensors());
        if (DitLayout.matches(src.tensors())) {
            kind = ModelFiles.KIND_DIT;
            layout = src.nesting().equals("ema") ? "dit-training-checkpoint-ema" : "dit-state-dict";
            DitConfig config = DitLayout.inferConfig(src.tensors(), options.numHeads(), file);
            tensors = src.tensors();
            expected = DitLayout.expected(config);
            configJson = ModelFiles.ditConfigJson(config);
            if (options.classNames() != null) {
                if (options.classNames().size() != config.numClasses()) {
                    throw new DitjException("got " + options.classNames().size() + " class names for a model with "
                            + config.numClasses() + " classes");
                }
                metadata.put(ModelFiles.CLASS_NAMES_KEY, ModelFiles.classNamesJson(options.classNames()));
            }
            if (options.generateDefaults() != null) {
                metadata.put(ModelFiles.GENERATE_DEFAULTS_KEY, options.generateDefaults());
            }
        } else if (vae != null) {
            kind = ModelFiles.KIND_VAE;
            String naming = VaeLayout.layout(vae);
            boolean prefixed = vae != src.tensors(); // the VAE part of a full SD checkpoint
            layout = "vae-" + naming + (src.container().equals("diffusers-folder") ? "-folder" : "")
                    + (prefixed ? "-in-full-checkpoint" : "");
            tensors = VaeLayout.toDiffusersNames(vae, naming, file);
            JsonObject cfg = options.vaeConfig() != null ? readJson(options.vaeConfig()) : src.config();
            VaeConfig config = VaeLayout.config(tensors, cfg, file);
            expected = VaeLayout.expected(config);
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
            out.put(e.getKey(), RawTensor.ofFloats(t.toFloats(), t.shape(), options.dtype()));
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
        return new Report(kind, layout, configJson, out.size(), params, options.dtype());
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
