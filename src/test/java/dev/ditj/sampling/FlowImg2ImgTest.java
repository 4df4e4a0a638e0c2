package dev.ditj.sampling;

import dev.ditj.CpuBackendTest;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntToDoubleFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Image-to-image on the flow samplers, which have no diffusers reference: each starts at grid point
 * {@code t_start = S - int(S·strength)} from its model's interpolant of picture and noise there (SiT: t·x0 + (1-t)·ε,
 * REPA: (1-t)·x0 + t·ε), makes exactly the model calls of the steps left, equals text-to-image at strength 1, and a
 * mask keeps the picture exactly where it is 0. The velocity is a stand-in acting on each element alone
 * ({@code v = 0.5·x - 0.25}), so a masked run must equal the unmasked one wherever the mask is 1.
 */
class FlowImg2ImgTest extends CpuBackendTest {
    private static final Shape SHAPE = Shape.of(2, 4, 4, 4);
    private static final int N = (int) SHAPE.numel();

    /** Records the time and state of each call. */
    private static final class Field implements VelocityField {
        final List<Float> times = new ArrayList<>();
        final List<float[]> states = new ArrayList<>();

        @Override
        public int images() {
            return 2;
        }

        @Override
        public int stateImages() {
            return 2;
        }

        @Override
        public void velocity(Tensor x, float t, Tensor out) {
            times.add(t);
            states.add(ops.read(x));
            ops.scaledAdd(out, 0.5f, x, -0.25f, ones);
        }

        @Override
        public void conditionalVelocity(Tensor x, float t, Tensor out) {
            velocity(x, t, out);
        }
    }

    private static Tensor ones;

    private static float[] random(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[N];
        for (int i = 0; i < N; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return v;
    }

    private static final float[] X0 = random(1), EPS = random(2), MASK = new float[N];

    static {
        for (int i = 0; i < N; i++) MASK[i] = (i * 7 % 5) < 2 ? 0f : 1f;
    }

    /** Runs {@code s} from ε with the picture at {@code strength} (0: no picture), optionally masked. */
    private static float[] run(FlowSampler s, Field f, double strength, boolean masked) {
        try (Tensor x = ops.upload(new HostTensor(SHAPE, EPS.clone()))) {
            if (ones == null) ones = ops.upload(new HostTensor(SHAPE, filled(1f)));
            InitLatent init = strength == 0 ? null : new InitLatent(ops, ops.upload(new HostTensor(SHAPE, X0)),
                    masked ? ops.upload(new HostTensor(SHAPE, MASK)) : null, strength);
            try {
                s.run(ops, f, x, NoiseSource.seeded(5), StepListener.NONE, init);
            } finally {
                if (init != null) init.close();
            }
            return ops.read(x);
        }
    }

    private static float[] filled(float v) {
        float[] a = new float[N];
        java.util.Arrays.fill(a, v);
        return a;
    }

    /**
     * Checks one sampler: the first call at {@code time(t_start)} on the interpolant, {@code calls(S - t_start)}
     * model calls (null: not counted), strength 1 = text-to-image, the mask.
     */
    private static void check(FlowSampler s, double strength, IntToDoubleFunction time, boolean sitTime,
                              java.util.function.IntUnaryOperator calls) {
        int steps = s.scheduleSteps(), first = steps - (int) (steps * strength);
        Field f = new Field();
        float[] plain = run(s, f, strength, false);
        float t = (float) time.applyAsDouble(first);
        assertEquals(t, f.times.get(0), "first call's time");
        float[] expected = new float[N];
        for (int i = 0; i < N; i++) {
            expected[i] = sitTime ? t * X0[i] + (1f - t) * EPS[i] : (1f - t) * X0[i] + t * EPS[i];
        }
        assertArrayEquals(expected, f.states.get(0), "state at t_start");
        if (calls != null) assertEquals(calls.applyAsInt(steps - first), f.times.size(), "model calls");

        assertArrayEquals(run(s, new Field(), 0, false), run(s, new Field(), 1, false), "strength 1 = text-to-image");

        if (s instanceof Dopri5Sampler) return;
        float[] masked = run(s, new Field(), strength, true);
        for (int i = 0; i < N; i++) {
            assertEquals(MASK[i] == 0 ? X0[i] : plain[i], masked[i], "masked element " + i);
        }
    }

    @Test
    void sitEulerAndHeun() {
        float[] grid = FlowSampler.timeGrid(0f, 1f, 11);
        check(new FlowOdeSampler(11, false), 0.45, k -> grid[k], true, n -> n);
        check(new FlowOdeSampler(11, true), 0.45, k -> grid[k], true, n -> 2 * n);
    }

    @Test
    void sitEulerMaruyama() {
        float[] grid = FlowSampler.timeGrid(0f, 0.96f, 11);
        check(new EulerMaruyamaSampler(11), 0.5, k -> grid[k], true, n -> n);
    }

    @Test
    void sitDopri5StartsAtTheGridPoint() {
        float[] grid = FlowSampler.timeGrid(0f, 1f, 11);
        check(new Dopri5Sampler(11), 0.3, k -> grid[k], true, null);     // dopri5 picks its own steps
    }

    @Test
    void repaSamplers() {
        double[] grid = DpmSolverSchedule.torchLinspace64(1, 0, 11);
        check(new RepaSampler(RepaSampler.Method.EULER, 10, false, 0, 1), 0.6, k -> grid[k], false, n -> n);
        // Heun: a second call on every step but the last
        check(new RepaSampler(RepaSampler.Method.HEUN, 10, false, 0, 1), 0.6, k -> grid[k], false, n -> 2 * n - 1);
        double[] em = DpmSolverSchedule.torchLinspace64(1, RepaSampler.LAST_T, 10);
        check(new RepaSampler(RepaSampler.Method.EULER_MARUYAMA, 10, false, 0, 1), 0.6, k -> em[k], false, n -> n);
    }

    @Test
    void dopri5RefusesAMask() {
        assertThrows(dev.ditj.InvalidArgumentException.class, () -> run(new Dopri5Sampler(11), new Field(), 0.5, true));
    }
}
