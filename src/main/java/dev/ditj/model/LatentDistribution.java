package dev.ditj.model;

import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Shape;

/**
 * The VAE encoder's diagonal Gaussian over latents, as diffusers' DiagonalGaussianDistribution holds it: {@code mean}
 * and {@code logvar [B, C, h, w]}, logvar clamped to [-30, 20].
 */
public record LatentDistribution(HostTensor mean, HostTensor logvar) {
    static final float LOGVAR_MIN = -30f, LOGVAR_MAX = 20f;

    /** Splits the encoder's raw moments {@code [B, 2C, h, w]} (mean channels first) and clamps the log-variance. */
    public static LatentDistribution fromMoments(HostTensor moments) {
        int[] d = moments.shape().dims();
        int b = d[0], c = d[1] / 2, plane = d[2] * d[3], per = c * plane;
        float[] mean = new float[b * per], logvar = new float[b * per];
        float[] m = moments.data();
        for (int i = 0; i < b; i++) {
            System.arraycopy(m, 2 * i * per, mean, i * per, per);
            for (int j = 0; j < per; j++) {
                logvar[i * per + j] = Math.min(Math.max(m[(2 * i + 1) * per + j], LOGVAR_MIN), LOGVAR_MAX);
            }
        }
        Shape s = Shape.of(b, c, d[2], d[3]);
        return new LatentDistribution(new HostTensor(s, mean), new HostTensor(s, logvar));
    }

    /** {@code [mean, logvar]} concatenated on channels (logvar clamped): what {@code ditj encode --moments} writes. */
    public HostTensor moments() {
        int[] d = mean.shape().dims();
        int per = d[1] * d[2] * d[3];
        float[] out = new float[2 * mean.data().length];
        for (int i = 0; i < d[0]; i++) {
            System.arraycopy(mean.data(), i * per, out, 2 * i * per, per);
            System.arraycopy(logvar.data(), i * per, out, (2 * i + 1) * per, per);
        }
        return new HostTensor(Shape.of(d[0], 2 * d[1], d[2], d[3]), out);
    }

    /** {@code mean + exp(logvar / 2) · eps} (diffusers' {@code sample} with the noise given), not normalised. */
    public HostTensor sample(float[] eps) {
        float[] m = mean.data(), lv = logvar.data(), out = new float[m.length];
        for (int i = 0; i < m.length; i++) out[i] = m[i] + (float) Math.exp(0.5 * lv[i]) * eps[i];
        return new HostTensor(mean.shape(), out);
    }

    /**
     * A latent of this distribution in the DiT's space: {@code (x - mean[c]) · scalingFactor / std[c]}, the exact
     * inverse of the normalisation {@link VaeDecoder} undoes (see {@link VaeConfig}).
     */
    public static HostTensor normalise(HostTensor x, VaeConfig config) {
        int[] d = x.shape().dims();
        int c = d[1], plane = d[2] * d[3];
        float[] in = x.data(), out = new float[in.length];
        for (int i = 0; i < in.length; i++) {
            int ch = i / plane % c;
            double shift = config.latentsMean() == null ? 0 : config.latentsMean()[ch];
            double std = config.latentsStd() == null ? 1 : config.latentsStd()[ch];
            out[i] = (float) ((in[i] - shift) * config.scalingFactor() / std);
        }
        return new HostTensor(x.shape(), out);
    }
}
