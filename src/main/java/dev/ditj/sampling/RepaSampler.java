package dev.ditj.sampling;

import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Tensor;

import java.util.function.IntFunction;

/**
 * REPA's {@code samplers.py} for its linear path with a velocity model (t = 1 noise, {@code x_t = (1 - t)·x + t·ε}),
 * on the state z alone ({@code [N, C, I, I]}). The time grids are float64 as the official ones (the model gets
 * {@code float32(t)}):
 * <ul>
 * <li>{@code euler_sampler}: {@code torch.linspace(1, 0, num_steps + 1)}, num_steps steps
 *     {@code x ← x + (t₁ - t₀)·d}; with {@code heun=True} every step but the last averages d with the velocity at
 *     the Euler point, {@code x ← x + (t₁ - t₀)·(½d + ½d')}.</li>
 * <li>{@code euler_maruyama_sampler}: {@code linspace(1, 0.04, num_steps)} then 0; diffusion {@code 2t}, the score
 *     from the velocity {@code s = ((t - 1)·v - x) / t}, so the drift {@code v - t·s = (2 - t)·v + x}: num_steps - 1
 *     steps {@code x ← (1 + dt)·x + dt·(2 - t)·v + sqrt(2t)·sqrt(|dt|)·ε}, then the drift-only step from 0.04 to 0.
 *     (Guiding the drift, as the official code does, is guiding v: the drift is affine in v with x shared.)</li>
 * </ul>
 * Guidance (the official {@code cfg_scale > 1}) applies only at steps whose {@code t_cur} lies in
 * {@code [guidance_low, guidance_high]}, compared in float64 as the official code; elsewhere the model makes one
 * conditional pass. num_steps ≥ 2 here (the official Euler would also take 1).
 */
public final class RepaSampler extends FlowSampler {
    /** REPA's samplers: euler_sampler (heun off or on) and euler_maruyama_sampler. */
    public enum Method { EULER, HEUN, EULER_MARUYAMA }

    /** euler_maruyama_sampler's grid ends here; the last step is drift only, to 0. */
    static final double LAST_T = 0.04;

    private final Method method;
    private final boolean guided;
    private final double low, high;

    /**
     * @param guided whether guidance is on at all (the official {@code cfg_scale > 1}); the model guides with its scale
     * @param low    guidance_low, in REPA's time (1 = noise)
     * @param high   guidance_high
     */
    public RepaSampler(Method method, int numSteps, boolean guided, double low, double high) {
        super(numSteps);
        this.method = method;
        this.guided = guided;
        this.low = low;
        this.high = high;
    }

    /** num_steps: Euler/Heun steps, or the Euler–Maruyama steps with the drift-only last one. */
    @Override
    public int scheduleSteps() {
        return numSteps;
    }

    @Override
    public int noiseSteps() {
        return method == Method.EULER_MARUYAMA ? numSteps - 1 : 0;
    }

    @Override
    public void run(Ops ops, VelocityField model, Tensor x, NoiseSource noise, StepListener listener, InitLatent init) {
        if (method == Method.EULER_MARUYAMA) {
            eulerMaruyama(ops, model, x, noise, listener, init);
        } else {
            euler(ops, model, x, listener, method == Method.HEUN, init);
        }
    }

    /** REPA's linear interpolant at time t (1 = noise): {@code x_t = (1 - t)·x0 + t·ε}, in float32. */
    static InitLatent.Level level(double t) {
        float tf = (float) t;
        return new InitLatent.Level(1f - tf, tf);
    }

    private void euler(Ops ops, VelocityField model, Tensor x, StepListener listener, boolean heun, InitLatent init) {
        double[] t = DpmSolverSchedule.torchLinspace64(1, 0, numSteps + 1);
        IntFunction<InitLatent.Level> level = k -> level(t[k]);
        int first = InitLatent.begin(init, x, numSteps, level);
        try (Tensor d = like(ops, x); Tensor next = heun ? like(ops, x) : null; Tensor d2 = heun ? like(ops, x) : null) {
            for (int i = first; i < numSteps; i++) {
                boolean g = guidedAt(t[i]);
                float dt = (float) (t[i + 1] - t[i]);
                velocity(model, x, t[i], g, d);
                if (heun && i < numSteps - 1) {
                    ops.scaledAdd(next, 1f, x, dt, d);
                    velocity(model, next, t[i + 1], g, d2);
                    ops.scaledAdd(d, 0.5f, d, 0.5f, d2);
                }
                ops.scaledAdd(x, 1f, x, dt, d);
                InitLatent.afterStep(init, x, i, numSteps, level);
                progress(listener, (i + 1.0) / numSteps, numSteps);
            }
        }
    }

    private void eulerMaruyama(Ops ops, VelocityField model, Tensor x, NoiseSource noise, StepListener listener,
                               InitLatent init) {
        double[] t = DpmSolverSchedule.torchLinspace64(1, LAST_T, numSteps);
        IntFunction<InitLatent.Level> level = k -> level(t[k]);
        int first = InitLatent.begin(init, x, numSteps, level);
        boolean[] needed = new boolean[noiseSteps()];
        java.util.Arrays.fill(needed, first, needed.length, true);
        try (Tensor v = like(ops, x); Sampler.StepNoise steps = new Sampler.StepNoise(ops, x, noise, needed)) {
            for (int i = first; i + 1 < numSteps; i++) {
                double dt = t[i + 1] - t[i];
                drift(ops, model, x, v, t[i], dt);
                ops.scaledAdd(x, 1f, x, (float) (Math.sqrt(2 * t[i]) * Math.sqrt(Math.abs(dt))), steps.of(i));
                InitLatent.afterStep(init, x, i, numSteps, level);
                progress(listener, (i + 1.0) / numSteps, numSteps);
            }
            double last = t[numSteps - 1];
            drift(ops, model, x, v, last, -last);
            InitLatent.afterStep(init, x, numSteps - 1, numSteps, level);
            progress(listener, 1, numSteps);
        }
    }

    /** {@code x ← x + dt·((2 - t)·v + x)}. */
    private void drift(Ops ops, VelocityField model, Tensor x, Tensor v, double t, double dt) {
        velocity(model, x, t, guidedAt(t), v);
        ops.scaledAdd(x, (float) (1 + dt), x, (float) (dt * (2 - t)), v);
    }

    private boolean guidedAt(double t) {
        return guided && t <= high && t >= low;
    }

    private static void velocity(VelocityField model, Tensor x, double t, boolean guided, Tensor out) {
        if (guided) {
            model.velocity(x, (float) t, out);
        } else {
            model.conditionalVelocity(x, (float) t, out);
        }
    }
}
