package dev.ditj.sampling;

import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;

import java.util.function.IntFunction;

/**
 * SiT's {@code sample_sde} with sample.py's settings (Euler–Maruyama, diffusion form "sigma", last step "Mean" of
 * 0.04) for the Linear path with a velocity model. Time grid {@code torch.linspace(0, 0.96, num_steps)}, step
 * {@code dt = t₁ - t₀}; at each of the first num_steps - 1 points, with {@code w = σ_t = 1 - t} and the score from
 * the velocity {@code s = (t·v - x) / ((1 - t)² + t(1 - t))}:
 * {@code x ← x + (v + w·s)·dt + sqrt(2w)·sqrt(dt)·z}; then the drift-only step {@code x ← x + (v + w·s)·0.04} at
 * t = 0.96. Each update is folded into {@code x ← A·x + B·v} (+ {@code C·z}) with A, B, C from float32 t in double.
 */
public final class EulerMaruyamaSampler extends FlowSampler {
    /** sample.py's --last-step-size: the grid ends at 1 - 0.04. */
    static final float LAST_STEP = 0.04f;

    public EulerMaruyamaSampler(int numSteps) {
        super(numSteps);
    }

    /** Guidance only for guideFrom ≤ t ≤ guideTo (see {@link FlowSampler}). */
    public EulerMaruyamaSampler(int numSteps, float guideFrom, float guideTo) {
        super(numSteps, guideFrom, guideTo);
    }

    /** The num_steps - 1 noisy steps and the drift-only last one. */
    @Override
    public int scheduleSteps() {
        return numSteps;
    }

    @Override
    public int noiseSteps() {
        return numSteps - 1;
    }

    @Override
    public void run(Ops ops, VelocityField model, Tensor x, NoiseSource noise, StepListener listener, InitLatent init) {
        float end = (float) (1.0 - LAST_STEP);
        float[] t = timeGrid(0f, end, numSteps);
        IntFunction<InitLatent.Level> level = k -> sitLevel(t[k]);
        int from = InitLatent.begin(init, x, numSteps, level);
        float dt = t[1] - t[0];
        int m = x.dim(0), n = model.images();
        long perHalf = x.numel() / m * n;
        Shape half = Shape.of(withBatch(x, n));
        boolean[] needed = new boolean[noiseSteps()];
        java.util.Arrays.fill(needed, from, needed.length, true);
        try (Tensor v = like(ops, x); Tensor z = n == m ? null : like(ops, x); Tensor first = ops.view(x, half);
             Sampler.StepNoise steps = new Sampler.StepNoise(ops, first, noise, needed)) {
            for (int i = from; i + 1 < numSteps; i++) {
                velocity(model, x, t[i], v);
                update(ops, x, v, t[i], dt);
                Tensor zi = steps.of(i);
                if (z != null) {    // the doubled state: the same noise for both halves (the second is never used)
                    ops.copy(z, 0, zi, 0, perHalf);
                    ops.copy(z, perHalf, zi, 0, perHalf);
                    zi = z;
                }
                float w = 1f - t[i];
                ops.scaledAdd(x, 1f, x, (float) (Math.sqrt(2.0 * w) * Math.sqrt(dt)), zi);
                InitLatent.afterStep(init, x, i, numSteps, level);
                progress(listener, (i + 1.0) / numSteps, numSteps);
            }
            velocity(model, x, end, v);
            update(ops, x, v, end, LAST_STEP);
            InitLatent.afterStep(init, x, numSteps - 1, numSteps, level);
            progress(listener, 1, numSteps);
        }
    }

    /** x ← x + dt·(v + w·s): {@code A·x + B·v}, with w, the score's variance and t in float32 as the official code. */
    private static void update(Ops ops, Tensor x, Tensor v, float t, float dt) {
        float sigma = 1f - t, w = sigma;
        float var = sigma * sigma - (t * -1f) * sigma;
        double a = 1.0 - (double) dt * w / var, b = dt * (1.0 + (double) w * t / var);
        ops.scaledAdd(x, (float) a, x, (float) b, v);
    }

    private static int[] withBatch(Tensor x, int n) {
        int[] d = x.shape().dims();
        d[0] = n;
        return d;
    }
}
