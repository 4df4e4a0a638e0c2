package dev.ditj.sampling;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.ditj.Compare;
import dev.ditj.Fixtures;
import dev.ditj.TestModels;
import dev.ditj.model.Dit;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * LightningDiT's ODE sampler against the official one (tools/fixtures/make_lightningdit_testdata.py), on any backend:
 * complete chains from the same noise as its inference.py runs them (sample_ode over the shifted grid, labels
 * [3, 7], forward_with_cfg at 6.7 on 3 channels with cfg_interval_start 0.125). The fixtures are float64 runs of the
 * official code (its float32 run lands within 2.8e-6 rel max of them); the bounds are SiT's ({@link SitChains}).
 * Euler and Heun run on z alone, as the Generator runs them (one conditional pass where guidance is off); dopri5 on
 * the official doubled state, whose whole error norm it follows. Each chain makes the official number of model
 * calls, and as many below the interval's start as the official forward_with_cfg drops guidance at, which pins the
 * shifted grid and the boundary.
 */
public final class LightningDitChains {
    private static final int[] LABELS = {3, 7};
    private static final float SCALE = 6.7f, START = 0.125f;

    private LightningDitChains() {
    }

    private static JsonObject settings() {
        try {
            return JsonParser.parseString(Files.readString(Fixtures.file("lightningdit_samplers.json"))).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The headline sampler: Euler, 16 grid points shifted by 0.3, guidance from t = 0.125 on. */
    public static double euler(Ops ops, double bound) {
        return check(ops, new FlowOdeSampler(16, false, 0.3, START, 1f), "euler", SCALE, false, bound);
    }

    /** Heun (10 points, shift 0.3): one step's two calls fall on either side of the start. */
    public static double heun(Ops ops, double bound) {
        return check(ops, new FlowOdeSampler(10, true, 0.3, START, 1f), "heun", SCALE, false, bound);
    }

    /** dopri5 with shift 0.1 (the grid, and the run, ends at float32 0.99999976), on the doubled state. */
    public static double dopri5(Ops ops, double bound) {
        return check(ops, new Dopri5Sampler(10, 0.1, START, 1f), "dopri5", SCALE, true, bound);
    }

    /** Euler at scale 1 (inference.py: the plain forward), shift 0.3. */
    public static double eulerUnguided(Ops ops, double bound) {
        return check(ops, new FlowOdeSampler(16, false, 0.3, START, 1f), "euler_nocfg", 1f, false, bound);
    }

    private static double check(Ops ops, FlowSampler sampler, String chain, float scale, boolean doubled, double bound) {
        float[] z = TestModels.floats("lightningdit_sample_z.npy").data();
        int images = doubled ? 2 * LABELS.length : LABELS.length;
        float[] state = Arrays.copyOf(z, images / LABELS.length * z.length);
        if (doubled) System.arraycopy(z, 0, state, z.length, z.length);
        String fixture = "lightningdit_ode_" + chain + "_final.npy";
        try (WeightStore w = WeightStore.open(TestModels.lightningditT()); Dit dit = new Dit(w.ditConfig(), w, ops);
             GuidedDit model = new GuidedDit(dit, LABELS, scale, 3);
             Tensor x = ops.upload(new HostTensor(Shape.of(images, 32, 4, 4), state))) {
            CountingVelocityField counting = new CountingVelocityField(model);
            sampler.run(ops, counting, x, NoiseSource.seeded(0), StepListener.NONE);
            JsonArray calls = settings().getAsJsonObject("model_calls_all_unguided").getAsJsonArray(chain);
            if (calls != null) {
                assertEquals(calls.get(0).getAsInt(), counting.calls(), "model calls of " + chain);
                assertEquals(calls.get(1).getAsInt(), counting.conditional, "unguided model calls of " + chain);
            }
            float[] got = Arrays.copyOf(ops.read(x), z.length);
            return Compare.assertRelL2(got, TestModels.floats(fixture).data(), bound, ops.name() + " " + fixture);
        }
    }
}
