package dev.ditj.sampling;

import dev.ditj.Compare;
import dev.ditj.TestModels;
import dev.ditj.api.GenerationRequest;
import dev.ditj.api.Generator;
import dev.ditj.api.InitImage;
import dev.ditj.api.SamplerKind;
import dev.ditj.image.Pixels;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;

import java.util.function.IntFunction;

/**
 * Image-to-image against diffusers (tools/fixtures/make_img2img_testdata.py): add_noise of DDIM and DPM-Solver++,
 * and short img2img and inpainting chains of the fixture DiT from the recorded picture latent and noise, on any
 * backend (the CPU in {@link Img2ImgFixtureTest}, the emulated CUDA device in CudaFixtureTests).
 */
public final class Img2ImgChains {
    /** The chains are float64 references; float32 runs agree to ~5e-7 (the bound: 1e-4 asked, 1e-5 as the other chains). */
    public static final double TOLERANCE = 1e-5;

    private Img2ImgChains() {
    }

    /** add_noise at DDIM timesteps 0, 500, 900 (respacing ddim10) and DPM-Solver++ begin indices 0, 4, 9 of 10. */
    public static void addNoise(Ops ops) {
        GaussianDiffusion ddim = GaussianDiffusion.create("ddim10");
        check(ops, "img2img_add_noise_ddim", TestModels.ints("img2img_add_noise_ddim_t.npy"), t -> ddim.level(t / 100));
        DpmSolverSampler dpm = new DpmSolverSampler(new DpmSolverSchedule(10));
        check(ops, "img2img_add_noise_dpm", TestModels.ints("img2img_add_noise_dpm_index.npy"), dpm::level);
    }

    private static void check(Ops ops, String fixture, int[] at, IntFunction<InitLatent.Level> level) {
        float[] expected = TestModels.floats(fixture + ".npy").data();
        HostTensor x0 = TestModels.floats("img2img_x0.npy"), noise = TestModels.floats("img2img_noise.npy");
        int n = x0.data().length;
        for (int k = 0; k < at.length; k++) {
            try (Tensor x = ops.upload(noise); InitLatent init = new InitLatent(ops, ops.upload(x0), null, 1)) {
                init.start(x, level.apply(at[k]));
                float[] want = java.util.Arrays.copyOfRange(expected, k * n, (k + 1) * n);
                Compare.assertRelL2(ops.read(x), want, 1e-7, ops.name() + " " + fixture + " at " + at[k]);
            }
        }
    }

    /** The request of a recorded chain: classes, noise and guidance as the fixture script's. */
    public static GenerationRequest.Builder request(SamplerKind sampler, InitImage init) {
        GenerationRequest.Builder b = GenerationRequest.builder(TestModels.ints("img2img_y.npy")).sampler(sampler)
                .steps(10).cfgScale(4f).guidedChannels(3).initialNoise(TestModels.floats("img2img_noise.npy").data())
                .initImage(init).keepLatent(true);
        return sampler == SamplerKind.DDIM ? b.respacing("ddim10") : b;
    }

    /** The recorded mask, an RGB picture read as the CLI reads a mask PNG: {@code [1, 1, 64, 64]} gray levels. */
    public static HostTensor mask() {
        return new HostTensor(Shape.of(1, 1, 64, 64), Pixels.grayLevels(TestModels.bytes("img2img_mask_rgb.npy"), 64, 64));
    }

    /** The recorded chains: DDIM and DPM-Solver++ from the picture's latent, plain and masked. */
    public enum Chain {
        DDIM(SamplerKind.DDIM, 0.6, false, "img2img_ddim10_s06_final.npy"),
        DPM(SamplerKind.DPMPP2M, 0.7, false, "img2img_dpmpp2m10_s07_final.npy"),
        DDIM_MASKED(SamplerKind.DDIM, 0.8, true, "img2img_ddim10_mask_s08_final.npy"),
        DPM_MASKED(SamplerKind.DPMPP2M, 0.8, true, "img2img_dpmpp2m10_mask_s08_final.npy");

        public final SamplerKind sampler;
        public final double strength;
        public final boolean masked;
        public final String fixture;

        Chain(SamplerKind sampler, double strength, boolean masked, String fixture) {
            this.sampler = sampler;
            this.strength = strength;
            this.masked = masked;
            this.fixture = fixture;
        }
    }

    /** {@code chains} run from the picture's latent against the recorded ones. */
    public static void chains(Ops ops, Chain... chains) {
        HostTensor x0 = TestModels.floats("img2img_x0.npy");
        try (Generator g = Generator.load(TestModels.ditA(), TestModels.vaeTiny(), ops)) {
            for (Chain c : chains) {
                InitImage init = InitImage.ofLatents(x0, c.strength);
                run(g, request(c.sampler, c.masked ? init.withMask(mask()) : init), c.fixture);
            }
        }
    }

    /** The DDIM chain from the pixels the picture latent was encoded from: the generator encodes them itself. */
    public static void fromPixels(Ops ops) {
        try (Generator g = Generator.load(TestModels.ditA(), TestModels.vaeTiny(), ops)) {
            InitImage init = InitImage.ofPixels(TestModels.encoderInput("vae_decode_pixels.npy"), 0.6);
            run(g, request(SamplerKind.DDIM, init), "img2img_ddim10_s06_final.npy");
        }
    }

    private static void run(Generator g, GenerationRequest.Builder r, String fixture) {
        float[] latents = g.generate(r.build()).latents().data();
        Compare.assertRelL2(latents, TestModels.floats(fixture).data(), TOLERANCE, g.backendName() + " " + fixture);
    }
}
