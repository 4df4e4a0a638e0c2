package dev.ditj.sampling;

import dev.ditj.Compare;
import dev.ditj.InvalidArgumentException;
import dev.ditj.TestModels;
import dev.ditj.DitjException;
import dev.ditj.api.Backend;
import dev.ditj.api.GenerationRequest;
import dev.ditj.api.GenerationResult;
import dev.ditj.api.Generator;
import dev.ditj.api.GuidanceInterval;
import dev.ditj.api.SamplerKind;
import dev.ditj.model.Dit;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Autoguidance ({@link GuidedDit#autoguide}): one prediction against c + (s - 1)(c - u) + (w - 1)(c - b) made here
 * from separate forward passes of the model and its guide, and the generator's loop against a sampler run on an
 * autoguided GuidedDit.
 */
class AutoguidanceTest extends CpuDitAFixture {
    private static final int[] LABELS = {1, 5, 9};
    private static final int GUIDED = 3;
    private static Dit guide;

    @BeforeAll
    static void loadGuide() {
        try (WeightStore w = WeightStore.open(TestModels.ditAGuide())) {
            guide = new Dit(w.ditConfig(), w, ops);
        }
    }

    @AfterAll
    static void closeGuide() {
        guide.close();
    }

    /** The model's output [N, Co, I, I] on x for labels y at timestep t. */
    private static float[] forward(Dit model, float[] x, int t, int[] y) {
        int n = y.length, s = dit.config().inputSize();
        float[] ts = new float[n];
        java.util.Arrays.fill(ts, t);
        try (Dit.Workspace ws = model.workspace(n);
             Tensor xt = ops.upload(new HostTensor(Shape.of(n, dit.config().inChannels(), s, s), x));
             Tensor tt = ops.upload(new HostTensor(Shape.of(n), ts));
             Tensor yt = ops.allocInts(Shape.of(n));
             Tensor out = ops.alloc(Shape.of(n, dit.config().outChannels(), s, s))) {
            ops.writeInts(yt, y);
            model.forward(ws, xt, tt, yt, out);
            return ops.read(out);
        }
    }

    /** GuidedDit's prediction at one step of timestep t (cfg scale s, autoguidance weight w, guided only in [lo, hi]). */
    private static float[] predict(float[] x, int t, float s, float w, double lo, double hi) {
        int n = LABELS.length, side = dit.config().inputSize();
        try (GuidedDit model = new GuidedDit(dit, LABELS, s, GUIDED);
             Tensor xt = ops.upload(new HostTensor(Shape.of(n, dit.config().inChannels(), side, side), x));
             Tensor out = ops.alloc(Shape.of(n, dit.config().outChannels(), side, side))) {
            model.autoguide(guide, w);
            model.guideOnly(lo, hi);
            model.prepare(new int[] {t});
            poison(out);
            model.predict(xt, 0, out);
            return ops.read(out);
        }
    }

    private static void poison(Tensor t) {
        float[] nan = new float[Math.toIntExact(t.numel())];
        java.util.Arrays.fill(nan, Float.NaN);
        ops.write(t, nan);
    }

    private static float[] expected(float[] c, float[] u, float[] b, float s, float w) {
        int plane = dit.config().inputSize() * dit.config().inputSize(), co = dit.config().outChannels();
        float[] e = c.clone();
        for (int i = 0; i < e.length; i++) {
            if ((i / plane) % co < GUIDED) e[i] = c[i] + (s - 1) * (c[i] - u[i]) + (w - 1) * (c[i] - b[i]);
        }
        return e;
    }

    private static float[] randomLatents(Random rnd) {
        int s = dit.config().inputSize();
        float[] x = new float[LABELS.length * dit.config().inChannels() * s * s];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    @Test
    void predictionAddsThePullAwayFromTheGuide() {
        Random rnd = new Random();
        float[] x = randomLatents(rnd);
        int t = 1 + rnd.nextInt(999);
        int[] nulls = new int[LABELS.length];
        java.util.Arrays.fill(nulls, dit.config().numClasses());
        float[] c = forward(dit, x, t, LABELS), u = forward(dit, x, t, nulls), b = forward(guide, x, t, LABELS);
        assertTrue(Compare.relL2(b, c) > 1e-2, "the guide predicts differently");
        double inf = Double.POSITIVE_INFINITY;
        Compare.assertRelL2(predict(x, t, 4f, 2.5f, -inf, inf), expected(c, u, b, 4f, 2.5f), 1e-6, "cfg 4 + guide 2.5");
        Compare.assertRelL2(predict(x, t, 1f, 3f, -inf, inf), expected(c, u, b, 1f, 3f), 1e-6, "guide 3 alone");
        // outside the guidance interval neither applies: the conditional prediction
        Compare.assertRelL2(predict(x, t, 4f, 2.5f, t + 1, inf), c, 1e-6, "outside the interval");
        Compare.assertRelL2(predict(x, t, 1f, 3f, t + 1, inf), c, 1e-6, "guide alone, outside the interval");
    }

    @Test
    void guideMustMatchTheModel() {
        try (WeightStore w = WeightStore.open(TestModels.ditB()); Dit other = new Dit(w.ditConfig(), w, ops);
             GuidedDit model = new GuidedDit(dit, LABELS, 4f, GUIDED)) {
            assertThrows(IllegalArgumentException.class, () -> model.autoguide(other, 2f));
        }
    }

    /** The generator runs the request's weight through the DiT's loop and records the guide with the images. */
    @Test
    void generatorAutoguidesWithTheGivenModel() {
        HostTensor z = TestModels.floats("sample_ddim10_z.npy");
        int[] labels = {1, 5};
        float[] reference;
        try (Tensor x = ops.upload(z); GuidedDit model = new GuidedDit(dit, labels, 4f, 3)) {
            model.autoguide(guide, 2f);
            model.guideOnly(300, 999);
            new DdimSampler(GaussianDiffusion.create("10"), 0.0).run(ops, model, x, NoiseSource.seeded(7),
                    (done, total) -> { });
            reference = ops.read(x);
        }
        try (Generator g = Generator.load(TestModels.ditA(), TestModels.vaeTiny(), TestModels.ditAGuide(),
                Backend.CPU, null)) {
            GenerationRequest.Builder b = GenerationRequest.builder(labels).sampler(SamplerKind.DDIM).steps(10)
                    .cfgScale(4f).guidedChannels(3).initialNoise(z.data()).keepLatent(true)
                    .guidanceInterval(new GuidanceInterval(300, 999));
            GenerationResult r = g.generate(b.guideScale(2f).build());
            Compare.assertRelL2(r.latents().data(), reference, 1e-6, "generator");
            assertEquals(TestModels.ditAGuide().getFileName().toString(), r.info().guide());
            assertEquals(2f, r.info().guideScale());
            GenerationResult off = g.generate(b.guideScale(1f).build());
            assertNull(off.info().guide());
            assertTrue(Compare.relL2(off.latents().data(), reference) > 1e-3, "the guide changes the result");
            // this DiT file stores no weight for a guide: the request must give one
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> g.check(GenerationRequest.builder(labels).sampler(SamplerKind.DDIM).build()));
            assertEquals("guideScale", e.argument());
        }
        try (Generator g = Generator.load(TestModels.ditA(), TestModels.vaeTiny(), Backend.CPU)) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> g.check(GenerationRequest.builder(labels).sampler(SamplerKind.DDIM).guideScale(2f).build()));
            assertEquals("guideScale", e.argument());
        }
        DitjException e = assertThrows(DitjException.class, () -> Generator.load(TestModels.ditA(),
                TestModels.vaeTiny(), TestModels.ditB(), Backend.CPU, null));
        assertTrue(e.getMessage().contains("cannot guide"), e.getMessage());
    }

    @Test
    void requestRefusesWeightsBelowOne() {
        assertThrows(InvalidArgumentException.class, () -> GenerationRequest.builder(1).guideScale(0.5f));
        assertThrows(InvalidArgumentException.class, () -> GenerationRequest.builder(1).guideScale(Float.NaN));
        assertArrayEquals(new int[] {1}, GenerationRequest.builder(1).guideScale(1f).build().classes());
    }
}
