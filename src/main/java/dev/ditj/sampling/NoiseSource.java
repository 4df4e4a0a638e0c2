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
        return seeded(seed, null);
    }

    /**
     * Noise from a seed for images whose indices in their run are {@code imageIndices} (null = 0, 1, ...): image b
     * of a batch gets the noise of image {@code imageIndices[b]}, whatever else the batch holds.
     */
    static NoiseSource seeded(long seed, int[] imageIndices) {
        GaussianNoise g = new GaussianNoise(seed);
        return new NoiseSource() {
            @Override
            public void initial(float[] out, int images, int perImage) {
                for (int b = 0; b < images; b++) g.fill(out, b * perImage, perImage, index(b), 0);
            }

            @Override
            public void step(int step, float[] out, int images, int perImage) {
                for (int b = 0; b < images; b++) g.fill(out, b * perImage, perImage, index(b), step + 1);
            }

            private int index(int b) {
                return imageIndices == null ? b : imageIndices[b];
            }
        };
    }

    /**
     * Replaces parts of {@code fallback}: {@code initial [N·perImage]} and/or {@code steps [S·N·perImage]} (either
     * may be null).
     */
    static NoiseSource recorded(float[] initial, float[] steps, NoiseSource fallback) {
        return recorded(initial, steps, 0, -1, fallback);
    }

    /**
     * Like {@link #recorded(float[], float[], NoiseSource)} for images {@code first, first + 1, ...} of the
     * {@code total} images the arrays hold ({@code total} -1: as many as each call asks for), so a run can be
     * sampled in batches.
     */
    static NoiseSource recorded(float[] initial, float[] steps, int first, int total, NoiseSource fallback) {
        return new NoiseSource() {
            @Override
            public void initial(float[] out, int images, int perImage) {
                if (initial == null) {
                    fallback.initial(out, images, perImage);
                } else {
                    System.arraycopy(initial, Math.toIntExact((long) first * perImage), out, 0, images * perImage);
                }
            }

            @Override
            public void step(int step, float[] out, int images, int perImage) {
                int n = images * perImage;
                long stride = (long) (total < 0 ? images : total) * perImage;
                long start = step * stride + (long) first * perImage;
                if (steps == null) {
                    fallback.step(step, out, images, perImage);
                } else if (start + n > steps.length) {
                    throw new dev.ditj.DitjException("the step noise holds " + steps.length / stride
                            + " steps, but the sampler needs step " + (step + 1));
                } else {
                    System.arraycopy(steps, (int) start, out, 0, n);
                }
            }
        };
    }
}
