package dev.ditj.sampling;

import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Ops.DdimCoefficients;
import dev.ditj.tensor.Tensor;

/** DDIM as DiT's {@code ddim_sample_loop} (no x0 clipping): deterministic for eta = 0. */
public final class DdimSampler extends Sampler {
    private final GaussianDiffusion diffusion;
    private final float eta;

    public DdimSampler(GaussianDiffusion diffusion, double eta) {
        if (eta < 0) throw new IllegalArgumentException("DDIM eta must be >= 0, got " + eta);
        this.diffusion = diffusion;
        this.eta = (float) eta;
    }

    @Override
    public int steps() {
        return diffusion.steps();
    }

    /** The float32 coefficients of respaced index i, in the official float32 operation order. */
    public DdimCoefficients coefficients(int i) {
        float ab = (float) diffusion.alphasCumprod[i], abPrev = (float) diffusion.alphasCumprodPrev[i];
        float sigma = eta * (float) Math.sqrt((1f - abPrev) / (1f - ab)) * (float) Math.sqrt(1f - ab / abPrev);
        return new DdimCoefficients((float) diffusion.sqrtRecipAlphasCumprod[i],
                (float) diffusion.sqrtRecipm1AlphasCumprod[i], (float) Math.sqrt(abPrev), sigma,
                (float) Math.sqrt(1f - abPrev - sigma * sigma), i != 0 && sigma != 0f);
    }

    /** diffusers' add_noise at loop step k: ᾱ of its original timestep (see {@link GaussianDiffusion#level}). */
    @Override
    public InitLatent.Level level(int k) {
        return diffusion.level(steps() - 1 - k);
    }

    @Override
    public void run(Ops ops, Denoiser model, Tensor x, NoiseSource noise, StepListener listener, InitLatent init) {
        int total = steps();
        int[] timesteps = new int[total];
        boolean[] needsNoise = new boolean[total];
        for (int k = 0; k < total; k++) {
            timesteps[k] = diffusion.timestepMap[total - 1 - k];
            needsNoise[k] = coefficients(total - 1 - k).addNoise();
        }
        model.prepare(timesteps);
        int first = InitLatent.begin(init, x, total, this::level);
        for (int k = 0; k < first; k++) needsNoise[k] = false;
        try (Tensor prediction = ops.alloc(predictionShape(model, x)); StepNoise z = new StepNoise(ops, x, noise, needsNoise)) {
            for (int k = first; k < total; k++) {
                int i = total - 1 - k;
                model.predict(x, k, prediction);
                DdimCoefficients c = coefficients(i);
                ops.ddimStep(x, prediction, c.addNoise() ? z.of(k) : null, c);
                InitLatent.afterStep(init, x, k, total, this::level);
                listener.stepDone(k + 1, total);
            }
        }
    }
}
