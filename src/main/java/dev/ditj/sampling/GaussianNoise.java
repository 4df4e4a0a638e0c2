package dev.ditj.sampling;

/**
 * The one noise generator of ditj, identical on every backend. Element {@code e} of the noise for image {@code b}
 * in stream {@code s} comes from Philox4x32-10 with key = (low, high 32 bits of the seed) and counter
 * {@code (e / 4, b, s, 0)}; the four 32-bit outputs become uniforms {@code u = (x + 0.5) / 2^32} (never 0 or 1)
 * and two Box-Muller pairs {@code (u0, u1), (u2, u3)}: {@code r = sqrt(-2 ln u_even)},
 * {@code z = r·cos(2π u_odd)}, {@code r·sin(2π u_odd)} for lanes 0..3, evaluated in float64 with StrictMath and
 * rounded to float32. Stream 0 is the initial latent; stream {@code k + 1} the noise of sampler step k (loop order).
 * Because the counter holds the image index, an image's noise does not depend on the rest of the batch.
 */
public final class GaussianNoise {
    private final long seed;

    public GaussianNoise(long seed) {
        this.seed = seed;
    }

    public long seed() {
        return seed;
    }

    /** Fills {@code out[offset, offset + count)} with the noise of image {@code image}, stream {@code stream}. */
    public void fill(float[] out, int offset, int count, int image, int stream) {
        int k0 = (int) seed, k1 = (int) (seed >>> 32);
        int[] x = new int[4];
        double[] z = new double[4];
        for (int block = 0; block * 4 < count; block++) {
            Philox.block(block, image, stream, 0, k0, k1, x);
            for (int pair = 0; pair < 2; pair++) {
                double u0 = uniform(x[2 * pair]), u1 = uniform(x[2 * pair + 1]);
                double r = StrictMath.sqrt(-2.0 * StrictMath.log(u0));
                double theta = 2.0 * Math.PI * u1;
                z[2 * pair] = r * StrictMath.cos(theta);
                z[2 * pair + 1] = r * StrictMath.sin(theta);
            }
            for (int lane = 0; lane < 4 && block * 4 + lane < count; lane++) {
                out[offset + block * 4 + lane] = (float) z[lane];
            }
        }
    }

    private static double uniform(int bits) {
        return ((bits & 0xffffffffL) + 0.5) * 0x1p-32;
    }
}
