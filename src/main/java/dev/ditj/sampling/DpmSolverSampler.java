package dev.ditj.sampling;

import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Ops.DpmSolverCoefficients;
import dev.ditj.tensor.Tensor;

/**
 * DPM-Solver++(2M) as diffusers' DPMSolverMultistepScheduler (solver_order 2, midpoint, lower_order_final,
 * final σ = 0): first and last steps first order, the rest second order. Scalars are float32 like the
 * scheduler's 0-d tensors; the last step yields the data prediction exactly (λ = +∞, exp(-h) = 0).
 */
public final class DpmSolverSampler extends Sampler {
    private final DpmSolverSchedule schedule;

    public DpmSolverSampler(DpmSolverSchedule schedule) {
        this.schedule = schedule;
    }

    @Override
    public int steps() {
        return schedule.steps();
    }

    private static float alpha(float sigma) {
        return 1f / (float) Math.sqrt(sigma * sigma + 1f);
    }

    private static float lambda(float sigma) {
        float a = alpha(sigma);
        return (float) Math.log(a) - (float) Math.log(sigma * a);
    }

    /** Coefficients of step k (0-based, in loop order) of the whole loop. */
    public DpmSolverCoefficients coefficients(int k) {
        return coefficients(k, 0);
    }

    /**
     * Coefficients of step k of a loop that starts at step {@code first} (diffusers' set_begin_index): the first step
     * run is first order, h0 of a second-order step comes from the previous step run.
     */
    public DpmSolverCoefficients coefficients(int k, int first) {
        float[] s = schedule.sigmas;
        int n = steps();
        float alphaS = alpha(s[k]), sigmaS = s[k] * alphaS;
        float alphaT = alpha(s[k + 1]), sigmaT = s[k + 1] * alphaT;
        float lambdaS = lambda(s[k]), lambdaT = lambda(s[k + 1]);
        float h = lambdaT - lambdaS;
        float a = alphaT * ((float) Math.exp(-h) - 1f);
        boolean second = k > first && k < n - 1;
        float invR0 = 0f;
        if (second) {
            float h0 = lambdaS - lambda(s[k - 1]);
            invR0 = 1f / (h0 / h);
        }
        return new DpmSolverCoefficients(sigmaS, alphaS, sigmaT / sigmaS, a, second, invR0);
    }

    /** diffusers' add_noise at step k: {@code α(σ_k)·x0 + σ_k·α(σ_k)·ε} (sigmas[begin_index] at the start). */
    @Override
    public InitLatent.Level level(int k) {
        float a = alpha(schedule.sigmas[k]);
        return new InitLatent.Level(a, schedule.sigmas[k] * a);
    }

    @Override
    public void run(Ops ops, Denoiser model, Tensor x, NoiseSource noise, StepListener listener, InitLatent init) {
        int total = steps();
        model.prepare(schedule.timesteps.clone());
        int first = InitLatent.begin(init, x, total, this::level);
        try (Tensor prediction = ops.alloc(predictionShape(model, x))) {
            Tensor x0 = ops.alloc(x.shape()), x0Prev = ops.alloc(x.shape());
            try {
                for (int k = first; k < total; k++) {
                    model.predict(x, k, prediction);
                    ops.dpmSolverStep(x, prediction, x0, x0Prev, coefficients(k, first));
                    InitLatent.afterStep(init, x, k, total, this::level);
                    Tensor t = x0;
                    x0 = x0Prev;
                    x0Prev = t;
                    listener.stepDone(k + 1, total);
                }
            } finally {
                x0.close();
                x0Prev.close();
            }
        }
    }
}
