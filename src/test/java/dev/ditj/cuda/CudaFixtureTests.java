package dev.ditj.cuda;

import dev.ditj.Compare;
import dev.ditj.TestModels;
import dev.ditj.api.DitModel;
import dev.ditj.api.VaeModel;
import dev.ditj.model.Dit;
import dev.ditj.sampling.DdimSampler;
import dev.ditj.sampling.DdpmSampler;
import dev.ditj.sampling.GaussianDiffusion;
import dev.ditj.sampling.GuidedDit;
import dev.ditj.sampling.Img2ImgChains;
import dev.ditj.sampling.LightningDitChains;
import dev.ditj.sampling.NoiseSource;
import dev.ditj.sampling.RepaChains;
import dev.ditj.sampling.Sampler;
import dev.ditj.sampling.SitChains;
import dev.ditj.sampling.StepListener;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The whole CUDA backend against the official PyTorch fixtures: DiT forward and guided forward, VAE decode, 10-step
 * DDIM and DDPM samples, SiT's forward and flow-matching chains, graph replay and flat device memory. Run on the emulator ({@link CudaFixtureEmuTest}) and
 * on a GPU ({@link CudaFixtureGpuTest}).
 */
abstract class CudaFixtureTests {
    private static final double TOLERANCE = 1e-5;
    static CudaOps ops;

    @AfterAll
    static void tearDown() {
        if (ops != null) ops.close();
        ops = null;
    }

    @Test
    void ditForwardAndCfgForward() {
        try (DitModel m = DitModel.load(TestModels.ditA(), ops)) {
            HostTensor out = m.forward(TestModels.floats("dit_a_forward_x.npy"), TestModels.ints("dit_a_forward_t.npy"),
                    TestModels.ints("dit_a_forward_y.npy"));
            Compare.assertRelL2(out.data(), TestModels.floats("dit_a_forward_out.npy").data(), TOLERANCE, ops.name() + " dit_a forward");
            HostTensor cfg = m.forwardWithCfg(TestModels.floats("dit_a_cfg_x.npy"), TestModels.ints("dit_a_cfg_t.npy"),
                    TestModels.ints("dit_a_cfg_y.npy"), 4f);
            Compare.assertRelL2(cfg.data(), TestModels.floats("dit_a_cfg_out.npy").data(), TOLERANCE, ops.name() + " dit_a cfg");
        }
    }

    @Test
    void vaeDecode() {
        try (VaeModel v = VaeModel.load(TestModels.vaeTiny(), ops)) {
            HostTensor out = v.decode(TestModels.floats("vae_decode_z.npy"));
            Compare.assertRelL2(out.data(), TestModels.floats("vae_decode_out.npy").data(), TOLERANCE, ops.name() + " vae decode");
        }
    }

    /** VAE encoder (downsampling convolutions, mid attention, quant_conv) and the encode -> decode round trip. */
    @Test
    void vaeEncode() {
        try (VaeModel v = VaeModel.load(TestModels.vaeTiny(), ops)) {
            HostTensor x = TestModels.encoderInput("vae_decode_pixels.npy");
            VaeModel.Encoded e = v.encode(x, null);
            Compare.assertRelL2(e.distribution().moments().data(), TestModels.floats("vae_encode_moments.npy").data(),
                    TOLERANCE, ops.name() + " vae encode");
            HostTensor first = new HostTensor(dev.ditj.tensor.Shape.of(1, 3, 64, 64), java.util.Arrays.copyOf(x.data(), 3 * 64 * 64));
            Compare.assertRelL2(v.decode(v.encode(first, null).latent()).data(), TestModels.floats("vae_encode_recon.npy").data(),
                    TOLERANCE, ops.name() + " vae round trip");
        }
    }

    /** VA-VAE encoder: attention after each ResNet block of the lowest down level. */
    @Test
    void vavaeEncode() {
        try (VaeModel v = VaeModel.load(TestModels.vavaeTiny(), ops)) {
            VaeModel.Encoded e = v.encode(TestModels.encoderInput("vavae_t_encode_pixels.npy"), null);
            Compare.assertRelL2(e.distribution().moments().data(), TestModels.floats("vavae_t_encode_moments.npy").data(),
                    TOLERANCE, ops.name() + " vavae encode");
        }
    }

    /** VA-VAE: up-level attention blocks (16 channels over 6 tokens) after each ResNet block, mean/std applied. */
    @Test
    void vavaeDecode() {
        try (VaeModel v = VaeModel.load(TestModels.vavaeTiny(), ops)) {
            HostTensor out = v.decode(TestModels.floats("vavae_t_decode_z.npy"));
            Compare.assertRelL2(out.data(), TestModels.floats("vavae_t_decode_out.npy").data(), TOLERANCE, ops.name() + " vavae decode");
        }
    }

    private static float[] sample(Sampler sampler, float[] stepNoise, String z) {
        try (WeightStore w = WeightStore.open(TestModels.ditA()); Dit dit = new Dit(w.ditConfig(), w, ops);
             Tensor x = ops.upload(TestModels.floats(z)); GuidedDit model = new GuidedDit(dit, new int[] {1, 5}, 4f, 3)) {
            sampler.run(ops, model, x, NoiseSource.recorded(null, stepNoise, NoiseSource.seeded(0)), StepListener.NONE);
            return ops.read(x);
        }
    }

    @Test
    void ddim10AndDdpm10() {
        Compare.assertRelL2(sample(new DdimSampler(GaussianDiffusion.create("10"), 0), null, "sample_ddim10_z.npy"),
                TestModels.floats("sample_ddim10_final.npy").data(), TOLERANCE, ops.name() + " ddim-10");
        Compare.assertRelL2(sample(new DdpmSampler(GaussianDiffusion.create("10")),
                        TestModels.floats("sample_ddpm10_noise.npy").data(), "sample_ddpm10_z.npy"),
                TestModels.floats("sample_ddpm10_final.npy").data(), TOLERANCE, ops.name() + " ddpm-10");
    }

    /** Autoguidance (GuidedDit.autoguide): one guided prediction with dit_a's guide model against the CPU backend's. */
    @Test
    void autoguidedPrediction() {
        float[] cpu;
        try (dev.ditj.cpu.CpuOps c = new dev.ditj.cpu.CpuOps()) {
            cpu = autoguided(c);
        }
        Compare.assertRelL2(autoguided(ops), cpu, TOLERANCE, ops.name() + " autoguided prediction");
    }

    private static float[] autoguided(Ops o) {
        try (WeightStore w = WeightStore.open(TestModels.ditA()); Dit dit = new Dit(w.ditConfig(), w, o);
             WeightStore gw = WeightStore.open(TestModels.ditAGuide()); Dit guide = new Dit(gw.ditConfig(), gw, o);
             Tensor x = o.upload(TestModels.floats("sample_ddim10_z.npy"));
             Tensor pred = o.alloc(dev.ditj.tensor.Shape.of(2, 8, 8, 8));
             GuidedDit model = new GuidedDit(dit, new int[] {1, 5}, 4f, 3)) {
            float[] nan = new float[Math.toIntExact(pred.numel())];
            java.util.Arrays.fill(nan, Float.NaN);
            o.write(pred, nan);
            model.autoguide(guide, 2f);
            model.prepare(new int[] {500});
            model.predict(x, 0, pred);
            return o.read(pred);
        }
    }

    /** Image-to-image: add_noise, a DPM-Solver++ chain from a picture and a masked DDIM one (mask_blend_f32). */
    @Test
    void img2imgChains() {
        Img2ImgChains.addNoise(ops);
        Img2ImgChains.chains(ops, Img2ImgChains.Chain.DPM, Img2ImgChains.Chain.DDIM_MASKED);
    }

    /** SiT: the velocity forward and complete Euler, Heun, dopri5 and Euler–Maruyama chains (see SitChains). */
    @Test
    void sitForwardAndSamplers() {
        SitChains.forward(ops, SitChains.FORWARD);
        SitChains.euler(ops, SitChains.CHAIN);
        SitChains.eulerUnguided(ops, SitChains.CHAIN);
        SitChains.heun(ops, SitChains.CHAIN);
        SitChains.dopri5(ops, SitChains.CHAIN);
        SitChains.eulerMaruyama(ops, SitChains.CHAIN);
    }

    /** REPA: the forward and complete Euler, Heun and Euler–Maruyama chains with interval guidance (see RepaChains). */
    @Test
    void repaForwardAndSamplers() {
        RepaChains.forward(ops, RepaChains.FORWARD);
        RepaChains.euler(ops, RepaChains.CHAIN);
        RepaChains.heun(ops, RepaChains.CHAIN);
        RepaChains.eulerMaruyama(ops, RepaChains.CHAIN);
        RepaChains.eulerUnguided(ops, RepaChains.CHAIN);
    }

    /** LightningDiT: shifted Euler, Heun and dopri5 chains with its guidance interval (see LightningDitChains). */
    @Test
    void lightningDitSamplers() {
        LightningDitChains.euler(ops, SitChains.CHAIN);
        LightningDitChains.heun(ops, SitChains.CHAIN);
        LightningDitChains.dopri5(ops, SitChains.CHAIN);
        LightningDitChains.eulerUnguided(ops, SitChains.CHAIN);
    }

    @Test
    void capturedStepReplaysLikeTheDirectRun() {
        try (WeightStore w = WeightStore.open(TestModels.ditA()); Dit dit = new Dit(w.ditConfig(), w, ops);
             Tensor x = ops.upload(TestModels.floats("sample_ddim10_z.npy"));
             Tensor pred = ops.alloc(dev.ditj.tensor.Shape.of(2, 8, 8, 8));
             GuidedDit model = new GuidedDit(dit, new int[] {1, 5}, 4f, 3)) {
            DdimSampler s = new DdimSampler(GaussianDiffusion.create("10"), 0);
            model.prepare(new int[] {999});
            float[] start = ops.read(x);
            Runnable step = () -> {
                model.predict(x, 0, pred);
                ops.ddimStep(x, pred, null, s.coefficients(9));
            };
            step.run();
            float[] direct = ops.read(x);
            ops.write(x, start);
            try (Ops.Graph g = ops.capture(step)) {
                assertArrayEquals(start, ops.read(x), 0f, "capture must not run the work");
                g.replay();
                assertArrayEquals(direct, ops.read(x), 0f, "replay");
            }
        }
    }

    @Test
    void repeatedGenerationsKeepDeviceMemoryFlat() {
        try (dev.ditj.api.Generator g = dev.ditj.api.Generator.load(TestModels.ditA(), TestModels.vaeTiny(), ops)) {
            var req = dev.ditj.api.GenerationRequest.builder(1, 2).sampler(dev.ditj.api.SamplerKind.DDIM).steps(2).build();
            g.generate(req);
            long after1 = ops.pooledBytes();
            for (int i = 0; i < 3; i++) g.generate(req);
            assertEquals(after1, ops.pooledBytes(), "device memory grew across generations");
        }
    }
}
