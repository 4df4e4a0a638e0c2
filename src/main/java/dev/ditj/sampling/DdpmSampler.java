package dev.ditj.sampling;

import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Ops.DdpmCoefficients;
import dev.ditj.tensor.Tensor;

/**
 * Ancestral DDPM as DiT's {@code p_sample_loop} (sample.py's sampler): learned-range variance when the model
 * predicts it (else FIXED_LARGE), noise added on every step but the last, respaced steps.
 */
public final class DdpmSampler extends Sampler {
    private final GaussianDiffusion diffusion;

    public DdpmSampler(GaussianDiffusion diffusion) {
        this.diffusion = diffusion;
    }

    @Override
    public int steps() {
        return diffusion.steps();
    }

    /** The float32 coefficients of respaced index i. */
    public DdpmCoefficients coefficients(int i, boolean learnedVariance) {
        GaussianDiffusion d = diffusion;
        return new DdpmCoefficients((float) d.sqrtRecipAlphasCumprod[i], (float) d.sqrtRecipm1AlphasCumprod[i],
                (float) d.posteriorMeanCoef1[i], (float) d.posteriorMeanCoef2[i],
                (float) d.posteriorLogVarianceClipped[i], (float) d.logBetas[i], learnedVariance,
                (float) d.fixedLargeLogVariance(i), i != 0);
    }

    /** diffusers' add_noise at loop step k: ᾱ of its original timestep (see {@link GaussianDiffusion#level}). */
    @Override
    public InitLatent.Level level(int k) {
        return diffusion.level(steps() - 1 - k);
    }

    @Override
    public void run(Ops ops, Denoiser model, Tensor x, NoiseSource noise, StepListener listener, InitLatent init) {
        boolean learned = model.outChannels() == 2 * model.channels();
        int total = steps();
        int[] timesteps = new int[total];
        boolean[] needsNoise = new boolean[total];
        for (int k = 0; k < total; k++) {
            timesteps[k] = diffusion.timestepMap[total - 1 - k];
            needsNoise[k] = k != total - 1; // the last step (index 0) adds no noise
        }
        model.prepare(timesteps);
        int first = InitLatent.begin(init, x, total, this::level);
        for (int k = 0; k < first; k++) needsNoise[k] = false;
        try (Tensor prediction = ops.alloc(predictionShape(model, x)); StepNoise z = new StepNoise(ops, x, noise, needsNoise)) {
            for (int k = first; k < total; k++) {
                int i = total - 1 - k;
                model.predict(x, k, prediction);
                ops.ddpmStep(x, prediction, i != 0 ? z.of(k) : null, coefficients(i, learned));
                InitLatent.afterStep(init, x, k, total, this::level);
                listener.stepDone(k + 1, total);
            }
        }
    }
}
