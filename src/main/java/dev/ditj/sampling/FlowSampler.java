package dev.ditj.sampling;

import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Tensor;

/**
 * A flow-matching sampler for velocity models (SiT: time t in [0, 1], t = 0 noise, x_t = t·x + (1 - t)·ε), run
 * through {@link Ops} in place on the state (see {@link VelocityField}), which holds the noise at t = 0 and the
 * sample at the end. {@code numSteps} is the official {@code num_steps}: the points of the time grid, ends included.
 */
public abstract class FlowSampler {
    protected final int numSteps;

    protected FlowSampler(int numSteps) {
        if (numSteps < 2) throw new IllegalArgumentException("flow samplers need num_steps >= 2, got " + numSteps);
        this.numSteps = numSteps;
    }

    /** The official num_steps; progress is reported in these units, in proportion to the time integrated. */
    public int steps() {
        return numSteps;
    }

    /** Step noises [N, C, I, I] the sampler reads, in loop order (only the SDE has any). */
    public int noiseSteps() {
        return 0;
    }

    /** Runs the whole loop on the state {@code x [M, C, I, I]} ({@code M = model.stateImages()}). */
    public abstract void run(Ops ops, VelocityField model, Tensor x, NoiseSource noise, StepListener listener);

    /** torch.linspace(start, end, n) in float32, as the official samplers build their time grids. */
    static float[] timeGrid(float start, float end, int n) {
        return DpmSolverSchedule.torchLinspace(start, end, n);
    }

    static void progress(StepListener listener, double fraction, int total) {
        listener.stepDone((int) Math.min(total, Math.round(fraction * total)), total);
    }

    static Tensor like(Ops ops, Tensor x) {
        return ops.alloc(x.shape());
    }
}
