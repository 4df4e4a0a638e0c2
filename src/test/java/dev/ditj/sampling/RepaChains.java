package dev.ditj.sampling;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.ditj.Compare;
import dev.ditj.Fixtures;
import dev.ditj.TestModels;
import dev.ditj.api.DitModel;
import dev.ditj.model.Dit;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * REPA's forward and samplers against the official ones (tools/fixtures/make_repa_testdata.py), on any backend:
 * complete chains from the same noise as REPA's generate.py runs them (state z alone, labels [3, 7], scale 4 on all
 * channels only inside the guidance interval, one conditional pass elsewhere). The fixtures are float64 runs of the
 * official code (its float32 run lands within 2e-7 rel max of them); the bounds are SiT's ({@link SitChains}).
 * Each chain also makes the official number of guided and of conditional model passes, which pins the interval.
 */
public final class RepaChains {
    public static final double CHAIN = SitChains.CHAIN, FORWARD = SitChains.FORWARD;
    private static final int[] LABELS = {3, 7};
    private static final float SCALE = 4f;

    private RepaChains() {
    }

    static JsonObject settings() {
        try {
            return JsonParser.parseString(Files.readString(Fixtures.file("repa_samplers.json"))).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static double forward(Ops ops, double bound) {
        try (DitModel m = DitModel.load(TestModels.repaT(), ops)) {
            HostTensor v = m.velocity(TestModels.floats("repa_t_forward_x.npy"), TestModels.floats("repa_t_forward_t.npy").data(),
                    TestModels.ints("repa_t_forward_y.npy"));
            return Compare.assertRelL2(v.data(), TestModels.floats("repa_t_forward_out.npy").data(), bound,
                    ops.name() + " repa_t forward");
        }
    }

    /** The official float64 torch.linspace grids, bit for bit. */
    public static void grids() {
        JsonObject grids = settings().getAsJsonObject("grids");
        for (String key : grids.keySet()) {
            String[] p = key.substring("linspace_".length()).split("_");
            JsonArray a = grids.getAsJsonArray(key);
            double[] want = new double[a.size()];
            for (int i = 0; i < want.length; i++) want[i] = a.get(i).getAsDouble();
            assertArrayEquals(want, DpmSolverSchedule.torchLinspace64(Double.parseDouble(p[0]), Double.parseDouble(p[1]),
                    Integer.parseInt(p[2])), key);
        }
    }

    /** Interval [0.15, 0.65]: t = 0.6 .. 0.2 guided, 1 .. 0.7 and 0.1 one conditional pass. */
    public static double euler(Ops ops, double bound) {
        return check(ops, RepaSampler.Method.EULER, "euler", null, SCALE, 5, 5, bound);
    }

    /** The same with Heun's second evaluations (guided as their step), Euler on the last step. */
    public static double heun(Ops ops, double bound) {
        return check(ops, RepaSampler.Method.HEUN, "heun", null, SCALE, 10, 9, bound);
    }

    /** Interval [0, 0.65]: 9 noisy steps (t = 1 .. 0.147, guided from 0.573), the drift-only last one guided. */
    public static double eulerMaruyama(Ops ops, double bound) {
        return check(ops, RepaSampler.Method.EULER_MARUYAMA, "em", TestModels.floats("repa_em_noise.npy").data(),
                SCALE, 6, 4, bound);
    }

    /** cfg 1: one conditional pass at every step. */
    public static double eulerUnguided(Ops ops, double bound) {
        return check(ops, RepaSampler.Method.EULER, "euler_nocfg", null, 1f, 0, 10, bound);
    }

    private static double check(Ops ops, RepaSampler.Method method, String chain, float[] noise, float scale,
                                int guided, int conditional, double bound) {
        JsonObject s = settings().getAsJsonObject("chains").getAsJsonObject(chain);
        assertEquals(scale, s.get("cfg_scale").getAsFloat(), chain);
        assertEquals(guided + conditional, s.get("model_calls").getAsInt(), chain + " official model calls");
        RepaSampler sampler = new RepaSampler(method, s.get("num_steps").getAsInt(), scale > 1,
                s.get("guidance_low").getAsDouble(), s.get("guidance_high").getAsDouble());
        float[] z = TestModels.floats("repa_sample_z.npy").data();
        try (WeightStore w = WeightStore.open(TestModels.repaT()); Dit dit = new Dit(w.ditConfig(), w, ops);
             GuidedDit model = new GuidedDit(dit, LABELS, scale, 4);
             Tensor x = ops.upload(new HostTensor(Shape.of(LABELS.length, 4, 8, 8), z))) {
            CountingVelocityField counting = new CountingVelocityField(model);
            sampler.run(ops, counting, x, NoiseSource.recorded(null, noise, NoiseSource.seeded(0)), StepListener.NONE);
            assertEquals(guided, counting.guided, "guided passes of " + chain);
            assertEquals(conditional, counting.conditional, "conditional passes of " + chain);
            return Compare.assertRelL2(ops.read(x), TestModels.floats("repa_" + chain + "_final.npy").data(), bound,
                    ops.name() + " repa " + chain);
        }
    }
}
