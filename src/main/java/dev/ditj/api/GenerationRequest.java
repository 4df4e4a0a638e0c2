package dev.ditj.api;

import dev.ditj.DitjException;

import java.util.Arrays;

/**
 * What to generate: one image per class id. Build with {@link #builder(int...)}; unset fields take the defaults
 * below. Immutable.
 *
 * @param classes       class ids, one image each
 * @param seed          seeds the noise generator (same seed → same images on every backend)
 * @param sampler       DDPM (default), DDIM or DPM-Solver++(2M)
 * @param steps         sampler steps (default 250 for DDPM, 50 for DDIM, 25 for DPM-Solver++)
 * @param respacing     DiT timestep respacing for DDPM/DDIM ("250", "ddim50", "10,15,20"); null = steps evenly
 * @param cfgScale      classifier-free guidance scale (default 4.0; 1 = no guidance)
 * @param guidedChannels latent channels guidance applies to (0 = the model's recommendation if it stores one,
 *                       else the sampler's default: 3 for DDPM/DDIM as the official code, all for DPM-Solver++ as
 *                       diffusers)
 * @param ddimEta       DDIM eta (default 0)
 * @param initialNoise  x_T to use instead of the seeded noise ([N, C, I, I] flattened), or null
 * @param stepNoise     per-step noise to use instead of the seeded noise ([S, N, C, I, I]), or null
 * @param keepLatent    also return the final latents
 */
public record GenerationRequest(int[] classes, long seed, SamplerKind sampler, int steps, String respacing,
                                float cfgScale, int guidedChannels, float ddimEta, float[] initialNoise,
                                float[] stepNoise, boolean keepLatent) {

    public GenerationRequest {
        if (classes == null || classes.length == 0) throw new DitjException("no classes requested");
        if (steps < 1) throw new DitjException("steps must be at least 1, got " + steps);
        if (!(cfgScale > 0) || Float.isInfinite(cfgScale)) throw new DitjException("cfg scale must be > 0, got " + cfgScale);
        classes = classes.clone();
    }

    public static Builder builder(int... classes) {
        return new Builder(classes);
    }

    public static int defaultSteps(SamplerKind sampler) {
        switch (sampler) {
            case DDIM: return 50;
            case DPMPP2M: return 25;
            default: return 250;
        }
    }

    /** Fluent construction with defaults. */
    public static final class Builder {
        private final int[] classes;
        private long seed;
        private SamplerKind sampler = SamplerKind.DDPM;
        private int steps;
        private String respacing;
        private float cfgScale = 4.0f;
        private int guidedChannels;
        private float ddimEta;
        private float[] initialNoise, stepNoise;
        private boolean keepLatent;

        private Builder(int[] classes) {
            this.classes = classes.clone();
        }

        public Builder seed(long v) { seed = v; return this; }
        public Builder sampler(SamplerKind v) { sampler = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder respacing(String v) { respacing = v; return this; }
        public Builder cfgScale(float v) { cfgScale = v; return this; }
        public Builder guidedChannels(int v) { guidedChannels = v; return this; }
        public Builder ddimEta(float v) { ddimEta = v; return this; }
        public Builder initialNoise(float[] v) { initialNoise = v; return this; }
        public Builder stepNoise(float[] v) { stepNoise = v; return this; }
        public Builder keepLatent(boolean v) { keepLatent = v; return this; }

        public GenerationRequest build() {
            int n = steps > 0 ? steps
                    : respacing != null ? dev.ditj.sampling.GaussianDiffusion.create(respacing).steps()
                    : defaultSteps(sampler);
            return new GenerationRequest(classes, seed, sampler, n, respacing,
                    cfgScale, guidedChannels, ddimEta, initialNoise, stepNoise, keepLatent);
        }
    }

    @Override
    public String toString() {
        return "GenerationRequest[classes=" + Arrays.toString(classes) + ", seed=" + seed + ", sampler=" + sampler
                + ", steps=" + steps + ", cfgScale=" + cfgScale + "]";
    }
}
