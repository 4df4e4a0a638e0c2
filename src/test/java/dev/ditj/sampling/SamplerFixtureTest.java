package dev.ditj.sampling;

import dev.ditj.Compare;
import dev.ditj.TestModels;
import dev.ditj.api.DitModel;
import dev.ditj.api.GenerationRequest;
import dev.ditj.api.GenerationResult;
import dev.ditj.api.Generator;
import dev.ditj.api.Backend;
import dev.ditj.api.SamplerKind;
import dev.ditj.model.DitConfig;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

/**
 * Whole sampler loops with the fixture DiT against the official DiT sampler and diffusers' DPM-Solver++ (float64
 * references; noise replayed from the recorded sequences).
 */
class SamplerFixtureTest extends CpuDitAFixture {
    private static final double TOLERANCE = 1e-5;

    /** Runs a sampler on the fixture latent with labels [1, 5], cfg 4; returns {final, after first step}. */
    private static float[][] sample(Sampler sampler, int guidedChannels, float[] stepNoise, String zFixture) {
        HostTensor z = TestModels.floats(zFixture);
        int[] labels = {1, 5};
        float[][] firstStep = new float[1][];
        try (Tensor x = ops.upload(z); GuidedDit model = new GuidedDit(dit, labels, 4.0f, guidedChannels)) {
            NoiseSource noise = NoiseSource.recorded(null, stepNoise, NoiseSource.seeded(0));
            sampler.run(ops, model, x, noise, (done, total) -> {
                if (done == 1) firstStep[0] = ops.read(x);
            });
            return new float[][] {ops.read(x), firstStep[0]};
        }
    }

    @Test
    void ddpmStepMatchesOfficialPSample() {
        DdpmSampler s = new DdpmSampler(GaussianDiffusion.create("250"));
        try (Tensor x = ops.upload(TestModels.floats("ddpm_step_x_t.npy"));
             Tensor mo = ops.upload(TestModels.floats("ddpm_step_model_output.npy"));
             Tensor noise = ops.upload(TestModels.floats("ddpm_step_noise.npy"))) {
            ops.ddpmStep(x, mo, noise, s.coefficients(100, true));
            Compare.assertRelL2(ops.read(x), TestModels.floats("ddpm_step_sample.npy").data(), TOLERANCE, "ddpm step t=100");
        }
    }

    @Test
    void ddpmStepAtLowTimestepsMatchesOfficial() {
        // Rows use indices 0 (no noise; clipped log variance) and 2: run each row as its own batch.
        DdpmSampler s = new DdpmSampler(GaussianDiffusion.create("250"));
        float[] x = TestModels.floats("ddpm_lowt_x_t.npy").data(), mo = TestModels.floats("ddpm_lowt_model_output.npy").data();
        float[] noise = TestModels.floats("ddpm_lowt_noise.npy").data(), expected = TestModels.floats("ddpm_lowt_sample.npy").data();
        int[] index = TestModels.ints("ddpm_lowt_index.npy");
        float[] actual = new float[x.length];
        int per = 4 * 64;
        for (int row = 0; row < 2; row++) {
            try (Tensor xt = ops.upload(new HostTensor(Shape.of(1, 4, 8, 8), Arrays.copyOfRange(x, row * per, (row + 1) * per)));
                 Tensor mt = ops.upload(new HostTensor(Shape.of(1, 8, 8, 8), Arrays.copyOfRange(mo, row * 2 * per, (row + 1) * 2 * per)));
                 Tensor nt = ops.upload(new HostTensor(Shape.of(1, 4, 8, 8), Arrays.copyOfRange(noise, row * per, (row + 1) * per)))) {
                ops.ddpmStep(xt, mt, nt, s.coefficients(index[row], true));
                System.arraycopy(ops.read(xt), 0, actual, row * per, per);
            }
        }
        Compare.assertRelL2(actual, expected, TOLERANCE, "ddpm step t=[0,2]");
    }

    @Test
    void ddpm10MatchesOfficial() {
        float[][] r = sample(new DdpmSampler(GaussianDiffusion.create("10")), 3,
                TestModels.floats("sample_ddpm10_noise.npy").data(), "sample_ddpm10_z.npy");
        Compare.assertRelL2(r[1], TestModels.floats("sample_ddpm10_first.npy").data(), TOLERANCE, "ddpm-10 first step");
        Compare.assertRelL2(r[0], TestModels.floats("sample_ddpm10_final.npy").data(), TOLERANCE, "ddpm-10");
    }

    @Test
    void ddpm250MatchesOfficial() {
        float[][] r = sample(new DdpmSampler(GaussianDiffusion.create("250")), 3,
                TestModels.floats("sample_ddpm250_noise.npy").data(), "sample_ddpm250_z.npy");
        Compare.assertRelL2(r[1], TestModels.floats("sample_ddpm250_first.npy").data(), TOLERANCE, "ddpm-250 first step");
        Compare.assertRelL2(r[0], TestModels.floats("sample_ddpm250_final.npy").data(), TOLERANCE, "ddpm-250");
    }

    @Test
    void ddim10MatchesOfficial() {
        float[][] r = sample(new DdimSampler(GaussianDiffusion.create("10"), 0.0), 3, null, "sample_ddim10_z.npy");
        Compare.assertRelL2(r[0], TestModels.floats("sample_ddim10_final.npy").data(), TOLERANCE, "ddim-10");
    }

    @Test
    void dpmSolver20MatchesDiffusers() {
        float[][] r = sample(new DpmSolverSampler(new DpmSolverSchedule(20)), 4, null, "sample_dpmpp2m20_z.npy");
        Compare.assertRelL2(r[0], TestModels.floats("sample_dpmpp2m20_final.npy").data(), TOLERANCE, "dpm++2m-20");
    }

    @Test
    void endToEndDdim10PixelsMatchOfficial() {
        try (Generator g = Generator.load(TestModels.ditA(), TestModels.vaeTiny(), Backend.CPU)) {
            GenerationResult r = g.generate(GenerationRequest.builder(TestModels.ints("e2e_ddim10_y.npy"))
                    .sampler(SamplerKind.DDIM).steps(10).cfgScale(4f)
                    .initialNoise(TestModels.floats("e2e_ddim10_z.npy").data()).keepLatent(true).build());
            Compare.assertRelL2(r.latents().data(), TestModels.floats("e2e_ddim10_latent.npy").data(), TOLERANCE, "e2e latent");
            Compare.assertRelL2(r.images().data(), TestModels.floats("e2e_ddim10_out.npy").data(), TOLERANCE, "e2e image");
            byte[] expected = TestModels.bytes("e2e_ddim10_pixels.npy");
            byte[] actual = new byte[expected.length];
            int per = expected.length / 2;
            for (int i = 0; i < 2; i++) System.arraycopy(r.pixels(i), 0, actual, i * per, per);
            Compare.assertPixels(actual, expected, 0.001, "e2e pixels");
        }
    }
}
