package dev.ditj.sampling;

import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Tensor;

import java.util.function.IntFunction;

/**
 * SiT's and LightningDiT's {@code sample_ode} with a fixed-grid torchdiffeq method: Euler ({@code 'euler'}) or
 * Heun ({@code 'heun2'}), over {@code torch.linspace(0, 1, num_steps)} (num_steps - 1 steps), LightningDiT's
 * timestep shift applied to the grid (see {@link #shifted}), in torchdiffeq's float32 operation order: Euler
 * {@code y += dt·f(t, y)}; Heun {@code k2 = f(t + dt, y + dt·k1)}, {@code y += dt·(½k1 + ½k2)}.
 */
public final class FlowOdeSampler extends FlowSampler {
    private final boolean heun;
    private final double shift;

    /** SiT's: no shift, guidance at every step. */
    public FlowOdeSampler(int numSteps, boolean heun) {
        this(numSteps, heun, 1, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY);
    }

    /**
     * @param shift     the timestep shift s (1 = none)
     * @param guideFrom guidance only for guideFrom ≤ t ≤ guideTo (see {@link FlowSampler})
     */
    public FlowOdeSampler(int numSteps, boolean heun, double shift, float guideFrom, float guideTo) {
        super(numSteps, guideFrom, guideTo);
        this.heun = heun;
        this.shift = shift;
    }

    @Override
    public void run(Ops ops, VelocityField model, Tensor x, NoiseSource noise, StepListener listener, InitLatent init) {
        float[] t = shifted(timeGrid(0f, 1f, numSteps), shift);
        IntFunction<InitLatent.Level> level = k -> sitLevel(t[k]);
        int first = InitLatent.begin(init, x, scheduleSteps(), level);
        try (Tensor k1 = like(ops, x); Tensor k2 = heun ? like(ops, x) : null; Tensor tmp = heun ? like(ops, x) : null) {
            for (int i = first; i + 1 < numSteps; i++) {
                float dt = t[i + 1] - t[i];
                velocity(model, x, t[i], k1);
                if (heun) {
                    ops.scaledAdd(tmp, 1f, x, dt, k1);
                    velocity(model, tmp, t[i] + dt, k2);
                    ops.scaledAdd(tmp, 0.5f, k1, 0.5f, k2);
                    ops.scaledAdd(x, 1f, x, dt, tmp);
                } else {
                    ops.scaledAdd(x, 1f, x, dt, k1);
                }
                InitLatent.afterStep(init, x, i, scheduleSteps(), level);
                progress(listener, (i + 1.0) / (numSteps - 1), numSteps);
            }
        }
    }
}
