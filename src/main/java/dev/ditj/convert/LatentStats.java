package dev.ditj.convert;

import dev.ditj.DitjException;
import dev.ditj.io.RawTensor;
import dev.ditj.io.TorchCheckpoint;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * A {@code latents_stats.pt} as LightningDiT's {@code datasets/img_latent_dataset.py} saves it: {@code {'mean', 'std'}},
 * per-channel statistics of the VAE's latents, each [1, C, 1, 1] ({@code keepdim} over batch and space). Its
 * pipeline feeds the decoder {@code z · std / multiplier + mean} (multiplier 1.0), so these become the ditj file's
 * {@code latents_mean}/{@code latents_std} with scaling factor 1.
 */
record LatentStats(double[] mean, double[] std) {
    static LatentStats read(Path file, int channels) {
        if (!Files.isRegularFile(file)) throw new DitjException(file + ": --latent-stats: no such file");
        Object tree = TorchCheckpoint.read(file);
        if (!(tree instanceof Map<?, ?> m) || !m.keySet().equals(Set.of("mean", "std"))) {
            String found = tree instanceof Map<?, ?> d ? "a dict of " + d.size() + ": " + d.keySet().stream().limit(4).toList()
                    + (d.size() > 4 ? " ..." : "") : "no dict";
            throw new DitjException(file + ": --latent-stats must be a dict of exactly the tensors 'mean' and 'std' (as "
                    + "latents_stats.pt is); found " + found);
        }
        Map<String, RawTensor> t = TorchCheckpoint.tensorMap(tree, file + " (--latent-stats)");
        return of(t, channels, file);
    }

    /** From {@code {'mean', 'std'}}: per-channel shapes, finite values, positive std. */
    static LatentStats of(Map<String, RawTensor> t, int channels, Path file) {
        double[] mean = channels(t.get("mean"), "mean", channels, file), std = channels(t.get("std"), "std", channels, file);
        for (int c = 0; c < channels; c++) {
            if (!Double.isFinite(mean[c]) || !(std[c] > 0) || Double.isInfinite(std[c])) {
                throw new DitjException(file + ": --latent-stats channel " + c + " has mean " + mean[c] + " and std "
                        + std[c] + "; std must be positive and both finite");
            }
        }
        return new LatentStats(mean, std);
    }

    private static double[] channels(RawTensor t, String name, int channels, Path file) {
        int[] d = t.shape().dims();
        boolean perChannel = d.length == 1 || d.length == 4 && d[0] == 1 && d[2] == 1 && d[3] == 1;
        if (!t.dtype().isFloat() || !perChannel || t.shape().dim(d.length == 1 ? 0 : 1) != channels) {
            throw new DitjException(file + ": --latent-stats '" + name + "' is " + t.dtype() + " " + Arrays.toString(d)
                    + "; expected floats of shape [1, " + channels + ", 1, 1] or [" + channels + "] (one per latent channel"
                    + " of this VAE)");
        }
        float[] f = t.toFloats();
        double[] out = new double[channels];
        for (int c = 0; c < channels; c++) out[c] = f[c];
        return out;
    }
}
