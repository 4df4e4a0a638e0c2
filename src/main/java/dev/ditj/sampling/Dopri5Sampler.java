package dev.ditj.sampling;

import dev.ditj.DitjException;
import dev.ditj.InvalidArgumentException;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Tensor;

/**
 * SiT's default {@code sample_ode}: torchdiffeq's adaptive Dormand–Prince 5(4) ({@code 'dopri5'}) from t = 0 to 1
 * with atol 1e-6 and rtol 1e-3 (sample.py's), as torchdiffeq 0.2.5 runs it: the first step from Hairer's
 * heuristic (one extra model call), six model calls per attempt (the last stage's velocity is the next step's first,
 * FSAL), the error ratio {@code rms(err / (atol + rtol·max(|y0|, |y1|)))} over the whole state (both halves of the
 * guided batch), acceptance at ratio ≤ 1, the next step {@code h·min(10, max(0.9·ratio^(-1/5), 1 or 0.2))}, and the
 * sample at t = 1 from the fourth-order interpolant of the step that passes it. Stage states and the error estimate
 * are float32 (the tableau rounded to float32, times in float32, a stage ending at t₁ evaluated just below it), the
 * step-size control float64 on the host, which reads the state, the step's end and its error (3 latents per step).
 * {@code num_steps} (the points torchdiffeq reports on the way) does not change the sample. LightningDiT's timestep
 * shift maps the grid of those points, so it only moves its ends: 0 stays 0, and 1 becomes shifted(1), which float32
 * rounding can leave just below 1 (e.g. 0.99999976 for s = 0.1), where the official run then ends.
 */
public final class Dopri5Sampler extends FlowSampler {
    public static final double ATOL = 1e-6, RTOL = 1e-3;
    /** The most step attempts before giving up (torchdiffeq has no practical limit; a sane model needs tens). */
    static final int MAX_ATTEMPTS = 100_000;

    private static final float[] ALPHA = floats(1 / 5., 3 / 10., 4 / 5., 8 / 9., 1., 1.);
    private static final float[][] BETA = {
            floats(1 / 5.),
            floats(3 / 40., 9 / 40.),
            floats(44 / 45., -56 / 15., 32 / 9.),
            floats(19372 / 6561., -25360 / 2187., 64448 / 6561., -212 / 729.),
            floats(9017 / 3168., -355 / 33., 46732 / 5247., 49 / 176., -5103 / 18656.),
            floats(35 / 384., 0, 500 / 1113., 125 / 192., -2187 / 6784., 11 / 84.)};
    private static final float[] C_ERROR = floats(35 / 384. - 1951 / 21600., 0, 500 / 1113. - 22642 / 50085.,
            125 / 192. - 451 / 720., -2187 / 6784. - -12231 / 42400., 11 / 84. - 649 / 6300., -1. / 60.);
    private static final float[] C_MID = floats(6025192743. / 30085553152. / 2, 0, 51252292925. / 65400821598. / 2,
            -2691868925. / 45128329728. / 2, 187940372067. / 1594534317056. / 2, -1776094331. / 19743644256. / 2,
            11237099. / 235043384. / 2);

    private final double shift;

    public Dopri5Sampler(int numSteps) {
        this(numSteps, 1, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY);
    }

    /**
     * @param shift     the timestep shift s (1 = none)
     * @param guideFrom guidance only for guideFrom ≤ t ≤ guideTo (see {@link FlowSampler})
     */
    public Dopri5Sampler(int numSteps, double shift, float guideFrom, float guideTo) {
        super(numSteps, guideFrom, guideTo);
        this.shift = shift;
    }

    @Override
    public void run(Ops ops, VelocityField model, Tensor x, NoiseSource noise, StepListener listener, InitLatent init) {
        float[] grid = shifted(timeGrid(0f, 1f, numSteps), shift);
        if (init != null && init.masked()) {
            throw new InvalidArgumentException("mask", "dopri5 chooses its own steps, so a mask cannot be blended in "
                    + "after each of them: use euler, heun or euler-maruyama");
        }
        int first = InitLatent.begin(init, x, scheduleSteps(), k -> sitLevel(grid[k]));
        double t = grid[first], end = grid[numSteps - 1];
        Tensor[] k = new Tensor[7];
        try (Tensor y1 = like(ops, x); Tensor err = like(ops, x)) {
            for (int i = 0; i < k.length; i++) k[i] = like(ops, x);
            velocity(model, x, (float) t, k[0]);
            double h = firstStep(ops, model, x, k[0], t, y1, k[1]);
            for (int attempt = 0; ; attempt++) {
                if (attempt == MAX_ATTEMPTS || !(t + h > t)) {
                    throw new DitjException("dopri5: no step size meets atol " + ATOL + ", rtol " + RTOL + " at t = "
                            + t + " (step " + h + " after " + attempt + " attempts)");
                }
                double t1 = t + h;
                float t0f = (float) t, dt = (float) h, t1f = (float) t1;
                for (int i = 0; i < 6; i++) {
                    ops.scaledAdd(y1, 1f, x, BETA[i][0] * dt, k[0]);
                    for (int j = 1; j <= i; j++) {
                        if (BETA[i][j] != 0f) ops.scaledAdd(y1, 1f, y1, BETA[i][j] * dt, k[j]);
                    }
                    float ti = ALPHA[i] == 1f ? Math.nextDown(t1f) : t0f + ALPHA[i] * dt;
                    velocity(model, y1, ti, k[i + 1]);
                }
                combination(ops, err, k, C_ERROR, dt, null);
                double ratio = errorRatio(ops.read(err), ops.read(x), ops.read(y1));
                if (!Double.isFinite(ratio)) {
                    throw new DitjException("dopri5: the state became non-finite at t = " + t + " (step " + h + ")");
                }
                double hNext = nextStep(h, ratio);
                if (ratio <= 1) {
                    if (t1 >= end) {
                        interpolate(ops, x, y1, k, dt, (float) ((end - t) / (t1 - t)));
                        progress(listener, 1, numSteps);
                        return;
                    }
                    ops.copy(x, 0, y1, 0, x.numel());
                    Tensor f = k[0];
                    k[0] = k[6];
                    k[6] = f;
                    t = t1;
                    progress(listener, t / end, numSteps);
                }
                h = hNext;
            }
        } finally {
            for (Tensor kk : k) {
                if (kk != null) kk.close();
            }
        }
    }

    /** torchdiffeq's _select_initial_step (Hairer, Nørsett, Wanner II.4) for order 4; uses y1 and f1 as scratch. */
    private double firstStep(Ops ops, VelocityField model, Tensor y0, Tensor f0, double t0, Tensor y1, Tensor f1) {
        float[] y = ops.read(y0), f = ops.read(f0);
        double[] scale = new double[y.length];
        for (int i = 0; i < y.length; i++) scale[i] = ATOL + Math.abs(y[i]) * RTOL;
        double d0 = rms(y, null, scale), d1 = rms(f, null, scale);
        double h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
        ops.scaledAdd(y1, 1f, y0, (float) h0, f0);
        velocity(model, y1, (float) (t0 + h0), f1);
        double d2 = rms(ops.read(f1), f, scale) / h0;
        double h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : Math.pow(0.01 / Math.max(d1, d2), 1.0 / 5);
        return Math.min(100 * h0, h1);
    }

    /** sqrt(mean(((a - b) / scale)²)), a - b in float32 (b null: a). */
    private static double rms(float[] a, float[] b, double[] scale) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            double q = (b == null ? a[i] : a[i] - b[i]) / scale[i];
            sum += q * q;
        }
        return Math.sqrt(sum / a.length);
    }

    static double errorRatio(float[] err, float[] y0, float[] y1) {
        double sum = 0;
        for (int i = 0; i < err.length; i++) {
            double q = err[i] / (ATOL + RTOL * Math.max(Math.abs(y0[i]), Math.abs(y1[i])));
            sum += q * q;
        }
        return Math.sqrt(sum / err.length);
    }

    /** torchdiffeq's _optimal_step_size: safety 0.9, growth at most 10, shrink at most 0.2, order 5. */
    static double nextStep(double h, double ratio) {
        if (ratio == 0) return h * 10;
        double shrink = ratio < 1 ? 1 : 0.2;
        return h * Math.min(10, Math.max(0.9 / Math.pow(ratio, 1.0 / 5), shrink));
    }

    /** out = Σ_j k_j·(dt·c_j) (+ base): the tableau's combinations, zero weights skipped. */
    private static void combination(Ops ops, Tensor out, Tensor[] k, float[] c, float dt, Tensor base) {
        boolean started = base != null;
        if (started) ops.copy(out, 0, base, 0, out.numel());
        for (int j = 0; j < c.length; j++) {
            if (c[j] == 0f) continue;
            if (started) {
                ops.scaledAdd(out, 1f, out, dt * c[j], k[j]);
            } else {
                ops.scaledAdd(out, 0f, k[j], dt * c[j], k[j]);
                started = true;
            }
        }
    }

    /**
     * x ← torchdiffeq's quartic interpolant of the step [t₀, t₁] from y0 = x to y1 at the fraction s: with
     * {@code y_mid = y0 + Σ k_j·(dt·c_mid_j)}, the polynomial's coefficients, expanded into one combination of y0, y1,
     * y_mid, k₀ and k₆.
     */
    private static void interpolate(Ops ops, Tensor x, Tensor y1, Tensor[] k, float dt, float s) {
        double s2 = (double) s * s, s3 = s2 * s, s4 = s3 * s;
        // k[1] is free now: y_mid there, then the result in k[2]
        combination(ops, k[1], k, C_MID, dt, x);
        Tensor out = k[2];
        ops.scaledAdd(out, (float) (1 - 11 * s2 + 18 * s3 - 8 * s4), x, (float) (-5 * s2 + 14 * s3 - 8 * s4), y1);
        ops.scaledAdd(out, 1f, out, (float) (16 * s2 - 32 * s3 + 16 * s4), k[1]);
        ops.scaledAdd(out, 1f, out, (float) (dt * (s - 4 * s2 + 5 * s3 - 2 * s4)), k[0]);
        ops.scaledAdd(out, 1f, out, (float) (dt * (s2 - 3 * s3 + 2 * s4)), k[6]);
        ops.copy(x, 0, out, 0, x.numel());
    }

    private static float[] floats(double... v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return f;
    }
}
