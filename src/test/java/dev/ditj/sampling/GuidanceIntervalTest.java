package dev.ditj.sampling;

import dev.ditj.Compare;
import dev.ditj.TestModels;
import dev.ditj.api.Backend;
import dev.ditj.api.GenerationRequest;
import dev.ditj.api.GenerationResult;
import dev.ditj.api.Generator;
import dev.ditj.api.GuidanceInterval;
import dev.ditj.api.SamplerKind;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Guidance in a limited interval for the DiT samplers ({@link GuidedDit#guideOnly}): checked against a loop whose
 * model is chosen per step, outside GuidedDit, between a guided and an unguided GuidedDit by the step's timestep.
 */
class GuidanceIntervalTest extends CpuDitAFixture {
    private static final int[] LABELS = {1, 5};
    private static final float SCALE = 4f;

    /** Guided where low ≤ timestep ≤ high, the conditional model elsewhere; the choice made here, per step. */
    private static final class Switching implements Denoiser {
        private final GuidedDit guided, conditional;
        private final double low, high;
        private int[] timesteps;

        Switching(GuidedDit guided, GuidedDit conditional, double low, double high) {
            this.guided = guided;
            this.conditional = conditional;
            this.low = low;
            this.high = high;
        }

        @Override
        public int channels() {
            return guided.channels();
        }

        @Override
        public int outChannels() {
            return guided.outChannels();
        }

        @Override
        public void prepare(int[] stepTimesteps) {
            timesteps = stepTimesteps.clone();
            guided.prepare(stepTimesteps);
            conditional.prepare(stepTimesteps);
        }

        @Override
        public void predict(Tensor x, int step, Tensor out) {
            boolean inside = timesteps[step] >= low && timesteps[step] <= high;
            (inside ? guided : conditional).predict(x, step, out);
        }
    }

    private static float[] run(Supplier<Sampler> sampler, double low, double high, boolean reference) {
        HostTensor z = TestModels.floats("sample_ddim10_z.npy");
        try (Tensor x = ops.upload(z); GuidedDit guided = new GuidedDit(dit, LABELS, SCALE, 3);
             GuidedDit plain = new GuidedDit(dit, LABELS, 1f, 3)) {
            Denoiser model = guided;
            if (reference) {
                model = new Switching(guided, plain, low, high);
            } else {
                guided.guideOnly(low, high);
            }
            sampler.get().run(ops, model, x, NoiseSource.seeded(7), (done, total) -> { });
            return ops.read(x);
        }
    }

    private static void check(String name, Supplier<Sampler> sampler) {
        float[] inside = run(sampler, 300, 700, false);
        // the same operations in the same order: bit for bit
        assertArrayEquals(run(sampler, 300, 700, true), inside, name + " [300, 700]");
        float[] always = run(sampler, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, true);
        float[] never = run(sampler, 2000, 3000, true);
        assertArrayEquals(always, run(sampler, 0, 999, false), name + " [0, 999] = every step");
        assertArrayEquals(never, run(sampler, 2000, 3000, false), name + " no step = unguided");
        assertTrue(Compare.relL2(inside, always) > 1e-3 && Compare.relL2(inside, never) > 1e-3,
                name + ": the interval changes the result");
    }

    @Test
    void ddpmGuidesOnlyInsideTheInterval() {
        check("ddpm-10", () -> new DdpmSampler(GaussianDiffusion.create("10")));
    }

    @Test
    void ddimGuidesOnlyInsideTheInterval() {
        check("ddim-10", () -> new DdimSampler(GaussianDiffusion.create("10"), 0.0));
    }

    @Test
    void dpmSolverGuidesOnlyInsideTheInterval() {
        check("dpm++2m-12", () -> new DpmSolverSampler(new DpmSolverSchedule(12)));
    }

    /** The request's interval reaches the DiT's loop and is recorded with the images. */
    @Test
    void generatorAppliesTheRequestsInterval() {
        HostTensor z = TestModels.floats("sample_ddim10_z.npy");
        try (Generator g = Generator.load(TestModels.ditA(), TestModels.vaeTiny(), Backend.CPU)) {
            GenerationResult r = g.generate(GenerationRequest.builder(LABELS).sampler(SamplerKind.DDIM).steps(10)
                    .cfgScale(SCALE).guidedChannels(3).initialNoise(z.data()).keepLatent(true)
                    .guidanceInterval(new GuidanceInterval(300, 700)).build());
            Compare.assertRelL2(r.latents().data(),
                    run(() -> new DdimSampler(GaussianDiffusion.create("10"), 0.0), 300, 700, true), 1e-6, "generator");
            assertEquals(new GuidanceInterval(300, 700), r.info().guidanceInterval());
        }
    }
}
