package dev.ditj;

import dev.ditj.convert.Converter;
import dev.ditj.model.DitConfig;
import dev.ditj.model.VaeConfig;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Shape;
import dev.ditj.weights.ModelFiles;
import dev.ditj.weights.WeightStore;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Models with random weights at any config, in memory: for benchmarks and for kernel tests at the real shapes of
 * DiT-XL/2 and the SD VAE (timings do not depend on the values). Weights ~ U with std 1/sqrt(fan-in), biases and
 * norms small, so activations stay in a realistic range.
 */
public final class RandomModels {
    private RandomModels() {
    }

    public static DitConfig ditXl2(int imageSize) {
        return new DitConfig(4, imageSize / 8, 2, 1152, 28, 16, 4.0, 1000, true);
    }

    public static VaeConfig sdVae() {
        return new VaeConfig(4, 3, new int[] {128, 256, 512, 512}, 2, 32, true, true, 0.18215, null, null);
    }

    public static WeightStore dit(DitConfig c, long seed) {
        return WeightStore.inMemory(random(Converter.expectedTensors(c), seed),
                Map.of(ModelFiles.FORMAT_KEY, ModelFiles.FORMAT_VERSION, ModelFiles.KIND_KEY, ModelFiles.KIND_DIT,
                        ModelFiles.CONFIG_KEY, ModelFiles.ditConfigJson(c)));
    }

    public static WeightStore vae(VaeConfig c, long seed) {
        return WeightStore.inMemory(random(Converter.expectedTensors(c), seed),
                Map.of(ModelFiles.FORMAT_KEY, ModelFiles.FORMAT_VERSION, ModelFiles.KIND_KEY, ModelFiles.KIND_VAE,
                        ModelFiles.CONFIG_KEY, ModelFiles.vaeConfigJson(c)));
    }

    /** A random DiT written as a ditj model file (weights stored as {@code dtype}). */
    public static java.nio.file.Path ditFile(DitConfig c, long seed, dev.ditj.tensor.DType dtype, java.nio.file.Path file) {
        return write(random(Converter.expectedTensors(c), seed), Map.of(ModelFiles.FORMAT_KEY, ModelFiles.FORMAT_VERSION,
                ModelFiles.KIND_KEY, ModelFiles.KIND_DIT, ModelFiles.CONFIG_KEY, ModelFiles.ditConfigJson(c)), dtype, file);
    }

    /** A random VAE decoder written as a ditj model file. */
    public static java.nio.file.Path vaeFile(VaeConfig c, long seed, dev.ditj.tensor.DType dtype, java.nio.file.Path file) {
        return write(random(Converter.expectedTensors(c), seed), Map.of(ModelFiles.FORMAT_KEY, ModelFiles.FORMAT_VERSION,
                ModelFiles.KIND_KEY, ModelFiles.KIND_VAE, ModelFiles.CONFIG_KEY, ModelFiles.vaeConfigJson(c)), dtype, file);
    }

    private static java.nio.file.Path write(Map<String, HostTensor> tensors, Map<String, String> metadata,
                                            dev.ditj.tensor.DType dtype, java.nio.file.Path file) {
        Map<String, dev.ditj.io.RawTensor> raw = new LinkedHashMap<>();
        tensors.forEach((k, v) -> raw.put(k, dev.ditj.io.RawTensor.ofFloats(v.data(), v.shape(), dtype)));
        dev.ditj.io.SafeTensors.write(file, raw, metadata);
        return file;
    }

    private static Map<String, HostTensor> random(Map<String, int[]> shapes, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        shapes.forEach((name, dims) -> {
            Shape s = Shape.of(dims);
            float[] v = new float[s.size()];
            boolean norm = name.contains("norm") && name.endsWith(".weight");
            double scale = dims.length >= 2 ? 1 / Math.sqrt(s.numel() / dims[0]) : 0.1;
            if (name.endsWith("embedding_table.weight") || name.equals("pos_embed")) scale = 0.5;
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) ((norm ? 1 : 0) + scale * Math.sqrt(3) * (rng.nextDouble() * 2 - 1));
            }
            out.put(name, new HostTensor(s, v));
        });
        return out;
    }
}
