package dev.ditj.sampling;

/**
 * The σ schedule of diffusers' DPMSolverMultistepScheduler for DiT's linear betas, reproduced bit for bit from
 * PyTorch's float32 arithmetic (see the sampling spec, B.2/B.3): betas from torch.linspace, ᾱ by a cumulative
 * product accumulated in float64 and rounded per element, σ = sqrt((1-ᾱ)/ᾱ) in float32, timesteps from a float64
 * linspace rounded half-to-even, and a final σ = 0.
 */
public final class DpmSolverSchedule {
    /** Model timesteps, descending (the model is called with these directly). */
    public final int[] timesteps;
    /** σ per step plus a final 0; length timesteps.length + 1. */
    public final float[] sigmas;

    public DpmSolverSchedule(int steps) {
        if (steps < 1 || steps > GaussianDiffusion.TRAIN_STEPS) {
            throw new IllegalArgumentException("DPM-Solver steps must be in 1..1000, got " + steps);
        }
        float[] all = trainSigmas();
        timesteps = new int[steps];
        sigmas = new float[steps + 1];
        double stride = (GaussianDiffusion.TRAIN_STEPS - 1.0) / steps;
        for (int i = 0; i < steps; i++) {
            // np.linspace(0, 999, steps + 1)[::-1][:-1], rounded half to even
            int j = steps - i;
            double v = j == steps ? GaussianDiffusion.TRAIN_STEPS - 1 : j * stride;
            timesteps[i] = (int) Math.rint(v);
            sigmas[i] = all[timesteps[i]];
        }
        sigmas[steps] = 0f;
    }

    /** σ for each of the 1000 training steps, as diffusers computes them on an x86-64 CPU. */
    public static float[] trainSigmas() {
        float[] abar = trainAlphasCumprod();
        float[] sigmas = new float[abar.length];
        for (int i = 0; i < abar.length; i++) sigmas[i] = (float) Math.sqrt((1f - abar[i]) / abar[i]);
        return sigmas;
    }

    /** The float32 ᾱ of the 1000 training steps of diffusers' schedulers (their {@code alphas_cumprod}). */
    public static float[] trainAlphasCumprod() {
        float[] betas = torchLinspace(0.0001f, 0.02f, GaussianDiffusion.TRAIN_STEPS);
        float[] abar = new float[betas.length];
        double acc = 1.0;
        for (int i = 0; i < betas.length; i++) {
            acc *= (1f - betas[i]);
            abar[i] = (float) acc;
        }
        return abar;
    }

    /**
     * torch.linspace(start, end, n, dtype=float32) as the x86-64 AVX2 kernel computes it: chunks of two 8-lane
     * vectors, each vector {@code base + f32(j·step)} with base from the scalar formula (compiled with FMA
     * contraction: {@code fma(step, i, start)} in the first half, {@code fma(-step, n-1-i, end)} in the second),
     * the remaining tail by the scalar formula. Verified equal to PyTorch 1.13 on all 1000 betas.
     */
    static float[] torchLinspace(float start, float end, int n) {
        float step = (end - start) / (n - 1);
        float[] out = new float[n];
        int lanes = 8, i = 0;
        for (; n - i >= 2 * lanes; i += 2 * lanes) {
            for (int v = 0; v < 2; v++) {
                int i0 = i + v * lanes;
                float base = scalarLinspace(start, end, step, n, i0);
                for (int j = 0; j < lanes; j++) out[i0 + j] = base + (float) j * step;
            }
        }
        for (; i < n; i++) out[i] = scalarLinspace(start, end, step, n, i);
        return out;
    }

    /**
     * torch.linspace(start, end, n, dtype=float64) the same way: chunks of two 4-lane vectors, the rest by the scalar
     * formula (REPA's samplers build their time grids so; checked against official grids in the fixtures).
     */
    static double[] torchLinspace64(double start, double end, int n) {
        double step = (end - start) / (n - 1);
        double[] out = new double[n];
        int lanes = 4, i = 0;
        for (; n - i >= 2 * lanes; i += 2 * lanes) {
            for (int v = 0; v < 2; v++) {
                int i0 = i + v * lanes;
                double base = i0 < n / 2 ? Math.fma(step, i0, start) : Math.fma(-step, n - 1 - i0, end);
                for (int j = 0; j < lanes; j++) out[i0 + j] = base + j * step;
            }
        }
        for (; i < n; i++) out[i] = i < n / 2 ? Math.fma(step, i, start) : Math.fma(-step, n - 1 - i, end);
        return out;
    }

    private static float scalarLinspace(float start, float end, float step, int n, int i) {
        return i < n / 2 ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (n - 1 - i), end);
    }

    public int steps() {
        return timesteps.length;
    }
}
