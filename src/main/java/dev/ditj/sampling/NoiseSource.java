package dev.ditj.sampling;

/**
 * Where a sampler's noise comes from: the seeded {@link GaussianNoise} or arrays given by the user (to reproduce a
 * PyTorch run exactly). Values are written into host arrays laid out {@code [N, C, I, I]}.
 */
public interface NoiseSource {
    /** The initial latent x_T. */
    void initial(float[] out, int images, int perImage);

    /** The noise of sampler step {@code step} (0 = first step of the loop). */
    void step(int step, float[] out, int images, int perImage);

    /** Noise from a seed: stream 0 is the initial latent, stream k+1 the noise of step k. */
    static NoiseSource seeded(long seed) {
        GaussianNoise g = new GaussianNoise(seed);
        return new NoiseSource() {
            @Override
            public void initial(float[] out, int images, int perImage) {
                for (int b = 0; b < images; b++) g.fill(out, b * perImage, perImage, b, 0);
            }

            @Override
            public void step(int step, float[] out, int images, int perImage) {
                for (int b = 0; b < images; b++) g.fill(out, b * perImage, perImage, b, step + 1);
            }
        };
    }

    /**
     * Replaces parts of {@code fallback}: {@code initial [N·perImage]} and/or {@code steps [S·N·perImage]} (either
     * may be null).
     */
    static NoiseSource recorded(float[] initial, float[] steps, NoiseSource fallback) {
        return new NoiseSource() {
            @Override
            public void initial(float[] out, int images, int perImage) {
                if (initial == null) {
                    fallback.initial(out, images, perImage);
                } else {
                    System.arraycopy(initial, 0, out, 0, images * perImage);
                }
            }

            @Override
            public void step(int step, float[] out, int images, int perImage) {
                int n = images * perImage;
                if (steps == null) {
                    fallback.step(step, out, images, perImage);
                } else if ((long) (step + 1) * n > steps.length) {
                    throw new dev.ditj.DitjException("the step noise holds " + steps.length / n
                            + " steps, but the sampler needs step " + (step + 1));
                } else {
                    System.arraycopy(steps, step * n, out, 0, n);
                }
            }
        };
    }
}
