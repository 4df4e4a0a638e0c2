package dev.ditj.api;

import dev.ditj.InvalidArgumentException;
import dev.ditj.sampling.GaussianDiffusion;

import java.util.Arrays;

/**
 * What to generate: one image per entry of {@code classes}. Build with {@link #builder(int...)}; unset fields take
 * the defaults below. Immutable; every value is checked when the request is built (an
 * {@link InvalidArgumentException} names the field), what depends on the model when {@link Generator} starts.
 *
 * @param classes        class ids, one image each
 * @param imageIndices   each image's index in its run (null = 0..N-1): selects its noise, so an image is the same
 *                       whatever batch it is generated in (resuming a run regenerates exactly the missing images)
 * @param seed           seeds the noise generator (same seed → same images on every backend)
 * @param sampler        DDPM (default), DDIM or DPM-Solver++(2M) for DiT; Euler, Heun, dopri5 or Euler–Maruyama for
 *                       SiT
 * @param steps          sampler steps, 1..1000 (default 250 for DDPM, 50 for DDIM, 25 for DPM-Solver++); for the
 *                       SiT samplers the official {@code num_steps}, 2..1000 (default 250): time points of the grid
 *                       (Euler/Heun take num_steps - 1 steps; Euler–Maruyama num_steps - 1 noisy steps and the
 *                       drift-only last one; dopri5 chooses its own steps and only needs the end point)
 * @param respacing      DiT timestep respacing for DDPM/DDIM ("250", "ddim50", "10,15,20"); null = steps evenly
 * @param cfgScale       classifier-free guidance scale, finite and ≥ 0 (default 4.0; 1 = no guidance)
 * @param guidedChannels latent channels guidance applies to (0 = the model's recommendation if it stores one,
 *                       else the sampler's default: 3 for DDPM/DDIM as the official code, all for DPM-Solver++ as
 *                       diffusers)
 * @param ddimEta        DDIM eta, finite and ≥ 0 (default 0; other samplers take no eta)
 * @param initialNoise   x_T to use instead of the seeded noise ([N, C, I, I] flattened), or null
 * @param stepNoise      per-step noise to use instead of the seeded noise ([S, N, C, I, I], S = steps; Euler–Maruyama:
 *                       steps - 1; the ODE samplers take none), or null
 * @param keepLatent     also return the final latents
 * @param guidanceInterval the times at which guidance applies, in the model's own convention (DiT: its timestep,
 *                       0 = data, 999 = noise; REPA: t = 1 noise; SiT, LightningDiT: t = 0 noise, LightningDiT's
 *                       cfg_interval_start s is [s, 1]);
 *                       null = the model's default (its stored one, else REPA's and LightningDiT's, else every step)
 * @param timeShift      LightningDiT's timestep shift s of the ODE grid, t' = s·t / (1 + (s - 1)·t), finite and
 *                       > 0 (1 = none), for the euler, heun and dopri5 samplers of SiT-convention models; 0 = the
 *                       model's default (LightningDiT: 0.3; the others: none)
 * @param initImage      image-to-image: the picture (and mask) the images start from, or null (pure noise); the
 *                       initial noise is then the ε it is noised with (see {@link InitImage})
 * @param guideScale     autoguidance weight w, finite and ≥ 1 (1 = off), for a generator with a guide model (see
 *                       {@link Generator}); 0 = the model's default (its stored {@code guide_scale}, else off)
 */
public record GenerationRequest(int[] classes, int[] imageIndices, long seed, SamplerKind sampler, int steps,
                                String respacing, float cfgScale, int guidedChannels, float ddimEta,
                                float[] initialNoise, float[] stepNoise, boolean keepLatent,
                                GuidanceInterval guidanceInterval, double timeShift, InitImage initImage,
                                float guideScale) {
    /** The most sampler steps: the diffusion was trained with 1000. */
    public static final int MAX_STEPS = GaussianDiffusion.TRAIN_STEPS;

    public GenerationRequest {
        if (classes == null || classes.length == 0) throw new InvalidArgumentException("classes", "must name at least one class");
        for (int y : classes) {
            if (y < 0) throw new InvalidArgumentException("classes", "must be class ids >= 0, got " + y);
        }
        if (imageIndices != null) {
            if (imageIndices.length != classes.length) {
                throw new InvalidArgumentException("imageIndices", "must have one entry per image (" + classes.length
                        + "), got " + imageIndices.length);
            }
            for (int i : imageIndices) {
                if (i < 0) throw new InvalidArgumentException("imageIndices", "must be >= 0, got " + i);
            }
            imageIndices = imageIndices.clone();
        }
        if (sampler == null) throw new InvalidArgumentException("sampler", "must be given (ddpm, ddim or dpmpp2m)");
        checkSettings(sampler, steps, respacing, cfgScale, guidedChannels, ddimEta, timeShift);
        checkGuideScale(guideScale);
        checkFinite("initialNoise", initialNoise);
        checkFinite("stepNoise", stepNoise);
        classes = classes.clone();
    }

    private static void checkGuideScale(float v) {
        if (!Float.isFinite(v) || (v < 1 && v != 0)) {
            throw new InvalidArgumentException("guideScale", "must be a finite number >= 1 (1 = off; 0 = the model's "
                    + "default), got " + v);
        }
    }

    /** The number of images. */
    public int count() {
        return classes.length;
    }

    /** Image {@code i}'s index in its run (its noise stream). */
    public int imageIndex(int i) {
        return imageIndices == null ? i : imageIndices[i];
    }

    /** Checks the settings; combinations with the sampler only if {@code sampler} is not null. */
    private static void checkSettings(SamplerKind sampler, int steps, String respacing, float cfgScale,
                                      int guidedChannels, float ddimEta, double timeShift) {
        if (steps < 1 || steps > MAX_STEPS) {
            throw new InvalidArgumentException("steps", "must be in 1.." + MAX_STEPS + ", got " + steps);
        }
        if (sampler != null && sampler.flow && steps < 2) {
            throw new InvalidArgumentException("steps", "must be at least 2 for " + sampler.cliName
                    + " (the official num_steps of SiT's and REPA's samplers), got " + steps);
        }
        if (respacing != null) {
            if (sampler == SamplerKind.DPMPP2M || sampler != null && sampler.flow) {
                throw new InvalidArgumentException("respacing", "applies to ddpm and ddim only, not " + sampler.cliName);
            }
            int kept = GaussianDiffusion.respacedSteps(respacing);
            if (kept != steps) {
                throw new InvalidArgumentException("respacing", "'" + respacing + "' has " + kept + " steps, but "
                        + steps + " were requested");
            }
        }
        if (!Float.isFinite(cfgScale) || cfgScale < 0) {
            throw new InvalidArgumentException("cfgScale", "must be a finite number >= 0 (1 = no guidance), got " + cfgScale);
        }
        if (guidedChannels < 0) {
            throw new InvalidArgumentException("guidedChannels", "must be >= 0 (0 = the model's default), got " + guidedChannels);
        }
        if (!Float.isFinite(ddimEta) || ddimEta < 0) {
            throw new InvalidArgumentException("ddimEta", "must be a finite number >= 0, got " + ddimEta);
        }
        if (ddimEta != 0 && sampler != null && sampler != SamplerKind.DDIM) {
            throw new InvalidArgumentException("ddimEta", "applies to ddim only, not " + sampler.cliName);
        }
        if (timeShift != 0) checkTimeShift(timeShift);
        if (timeShift != 0 && sampler != null && !(sampler.flow && sampler != SamplerKind.EULER_MARUYAMA)) {
            throw new InvalidArgumentException("timeShift", "applies to the ODE samplers euler, heun and dopri5 only, not "
                    + sampler.cliName);
        }
    }

    private static void checkTimeShift(double s) {
        if (!Double.isFinite(s) || !(s > 0)) {
            throw new InvalidArgumentException("timeShift", "must be a finite number > 0 (1 = no shift), got " + s);
        }
    }

    private static void checkFinite(String argument, float[] values) {
        if (values == null) return;
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new InvalidArgumentException(argument, "holds " + values[i] + " at element " + i
                        + " (noise must be finite)");
            }
        }
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
        private int[] imageIndices;
        private long seed;
        private SamplerKind sampler = SamplerKind.DDPM;
        private boolean samplerGiven;
        private int steps;
        private String respacing;
        private float cfgScale = 4.0f;
        private int guidedChannels;
        private float ddimEta;
        private float[] initialNoise, stepNoise;
        private boolean keepLatent;
        private GuidanceInterval guidanceInterval;
        private double timeShift;
        private InitImage initImage;
        private float guideScale;

        private Builder(int[] classes) {
            this.classes = classes == null ? null : classes.clone();
        }

        public Builder imageIndices(int[] v) { imageIndices = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder sampler(SamplerKind v) { sampler = v; samplerGiven = true; return this; }
        /** Sampler steps; unset (0) = the respacing's count, else the sampler's default. */
        public Builder steps(int v) {
            if (v < 1) throw new InvalidArgumentException("steps", "must be in 1.." + MAX_STEPS + ", got " + v);
            steps = v;
            return this;
        }
        public Builder respacing(String v) { respacing = v; return this; }
        public Builder cfgScale(float v) { cfgScale = v; return this; }
        public Builder guidedChannels(int v) { guidedChannels = v; return this; }
        public Builder ddimEta(float v) { ddimEta = v; return this; }
        public Builder initialNoise(float[] v) { initialNoise = v; return this; }
        public Builder stepNoise(float[] v) { stepNoise = v; return this; }
        public Builder keepLatent(boolean v) { keepLatent = v; return this; }
        public Builder guidanceInterval(GuidanceInterval v) { guidanceInterval = v; return this; }
        /** Image-to-image: start from this picture (null: from noise). */
        public Builder initImage(InitImage v) { initImage = v; return this; }
        /** Autoguidance weight, finite and ≥ 1 (1 = off); unset = the model's default. */
        public Builder guideScale(float v) {
            checkGuideScale(v);
            guideScale = v;
            return this;
        }
        /** The ODE's timestep shift, finite and > 0 (1 = none); unset = the model's default. */
        public Builder timeShift(double v) {
            checkTimeShift(v);
            timeShift = v;
            return this;
        }

        /** The step count {@link #build()} will use. */
        public int resolvedSteps() {
            if (steps > 0) return steps;
            if (respacing != null && sampler != SamplerKind.DPMPP2M) return GaussianDiffusion.respacedSteps(respacing);
            return defaultSteps(sampler == null ? SamplerKind.DDPM : sampler);
        }

        /**
         * Checks every setting given so far that does not depend on the classes (steps, respacing, guidance, eta;
         * their combinations with the sampler if one was given), so a front end can refuse bad options before it
         * loads a model.
         */
        public Builder check() {
            checkSettings(samplerGiven ? sampler : null, resolvedSteps(), respacing, cfgScale, guidedChannels, ddimEta,
                    timeShift);
            return this;
        }

        public GenerationRequest build() {
            return new GenerationRequest(classes, imageIndices, seed, sampler, resolvedSteps(), respacing,
                    cfgScale, guidedChannels, ddimEta, initialNoise, stepNoise, keepLatent, guidanceInterval, timeShift,
                    initImage, guideScale);
        }
    }

    @Override
    public String toString() {
        return "GenerationRequest[" + classes.length + " image(s), classes=" + Arrays.toString(Arrays.copyOf(classes,
                Math.min(classes.length, 16))) + (classes.length > 16 ? "..." : "") + ", seed=" + seed + ", sampler="
                + sampler + ", steps=" + steps + ", cfgScale=" + cfgScale
                + (guideScale != 0 ? ", guideScale=" + guideScale : "") + (timeShift != 0 ? ", timeShift=" + timeShift : "")
                + (initImage != null ? ", strength=" + initImage.strength() + (initImage.mask() != null ? ", masked" : "") : "")
                + "]";
    }
}
