package dev.ditj.sampling;

import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Tensor;

/**
 * A flow-matching sampler for velocity models (SiT: time t in [0, 1], t = 0 noise, x_t = t·x + (1 - t)·ε), run
 * through {@link Ops} in place on the state (see {@link VelocityField}), which holds the noise at t = 0 and the
 * sample at the end. {@code numSteps} is the official {@code num_steps}: the points of the time grid, ends included.
 * Guidance applies at model calls whose float32 time t has {@code guideFrom ≤ t ≤ guideTo}, elsewhere one
 * conditional pass: LightningDiT's {@code forward_with_cfg} drops guidance when {@code t < cfg_interval_start}, a
 * float32 comparison (torch casts the Python float to the tensor's dtype), so the interval [start, 1]. An interval
 * that reaches an end of time (guideFrom ≤ 0, guideTo ≥ 1) is open there: dopri5's stages past t = 1 stay guided,
 * as LightningDiT's have no upper bound.
 */
public abstract class FlowSampler {
    protected final int numSteps;
    private final float guideFrom, guideTo;

    protected FlowSampler(int numSteps) {
        this(numSteps, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY);
    }

    protected FlowSampler(int numSteps, float guideFrom, float guideTo) {
        if (numSteps < 2) throw new IllegalArgumentException("flow samplers need num_steps >= 2, got " + numSteps);
        this.numSteps = numSteps;
        this.guideFrom = guideFrom <= 0 ? Float.NEGATIVE_INFINITY : guideFrom;
        this.guideTo = guideTo >= 1 ? Float.POSITIVE_INFINITY : guideTo;
    }

    /** The model's velocity at t: guided inside the interval, else the conditional one. */
    protected final void velocity(VelocityField model, Tensor x, float t, Tensor out) {
        if (t >= guideFrom && t <= guideTo) {
            model.velocity(x, t, out);
        } else {
            model.conditionalVelocity(x, t, out);
        }
    }

    /** The official num_steps; progress is reported in these units, in proportion to the time integrated. */
    public int steps() {
        return numSteps;
    }

    /**
     * The steps S of the time grid that image-to-image's strength applies to: the intervals of the grid (Euler,
     * Heun, dopri5); the samplers with a separate last step (Euler–Maruyama, REPA's) override it.
     */
    public int scheduleSteps() {
        return numSteps - 1;
    }

    /** Step noises [N, C, I, I] the sampler reads, in loop order (only the SDE has any). */
    public int noiseSteps() {
        return 0;
    }

    /** Runs the whole loop on the state {@code x [M, C, I, I]} ({@code M = model.stateImages()}). */
    public final void run(Ops ops, VelocityField model, Tensor x, NoiseSource noise, StepListener listener) {
        run(ops, model, x, noise, listener, null);
    }

    /**
     * Runs the loop on the state {@code x [M, C, I, I]} (initially the noise ε); with {@code init} only its last
     * steps (see {@link InitLatent}): with S steps of the time grid, from grid point {@code t_start = S - int(S·strength)},
     * the state there being the model's interpolant of picture and noise at that time (SiT: {@link #sitLevel}, REPA:
     * {@link RepaSampler}), then the loop as usual; init null: the whole loop.
     */
    public abstract void run(Ops ops, VelocityField model, Tensor x, NoiseSource noise, StepListener listener,
                             InitLatent init);

    /** SiT's linear interpolant at time t (0 = noise): {@code x_t = t·x0 + (1 - t)·ε}, in float32. */
    static InitLatent.Level sitLevel(float t) {
        return new InitLatent.Level(t, 1f - t);
    }

    /** torch.linspace(start, end, n) in float32, as the official samplers build their time grids. */
    static float[] timeGrid(float start, float end, int n) {
        return DpmSolverSchedule.torchLinspace(start, end, n);
    }

    /**
     * LightningDiT's timestep shift of a grid ({@code transport/integrators.py}, for {@code timestep_shift > 0}):
     * {@code t' = s·t / (1 + (s - 1)·t)}, in the official float32 tensor arithmetic ({@code s} and {@code s - 1}
     * are Python floats, rounded to float32 when they meet the tensor). s = 1 leaves the grid as it is.
     */
    static float[] shifted(float[] grid, double shift) {
        float s = (float) shift, sMinus1 = (float) (shift - 1.0);
        float[] out = new float[grid.length];
        for (int i = 0; i < grid.length; i++) {
            float numerator = s * grid[i];
            float denominator = 1f + sMinus1 * grid[i];
            out[i] = numerator / denominator;
        }
        return out;
    }

    static void progress(StepListener listener, double fraction, int total) {
        listener.stepDone((int) Math.min(total, Math.round(fraction * total)), total);
    }

    static Tensor like(Ops ops, Tensor x) {
        return ops.alloc(x.shape());
    }
}
