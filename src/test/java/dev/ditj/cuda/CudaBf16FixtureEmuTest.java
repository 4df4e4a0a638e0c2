package dev.ditj.cuda;

import dev.ditj.Compare;
import dev.ditj.TestModels;
import dev.ditj.api.DitModel;
import dev.ditj.api.VaeModel;
import dev.ditj.emu.EmulatedDevice;
import dev.ditj.model.Dit;
import dev.ditj.sampling.DdimSampler;
import dev.ditj.sampling.GaussianDiffusion;
import dev.ditj.sampling.GuidedDit;
import dev.ditj.sampling.LightningDitChains;
import dev.ditj.sampling.NoiseSource;
import dev.ditj.sampling.RepaChains;
import dev.ditj.sampling.SitChains;
import dev.ditj.sampling.StepListener;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Precision;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The DiT forward, a 10-step guided DDIM sample and the VAE decode in Precision.BF16 on the emulator against the
 * official float32 fixtures. DiT (dit_a: 2 blocks, hidden 144, 2 heads of 72, so attention_bf16_d72 runs; 11 linear
 * layers on the path to the output): bf16 GEMM operands written by their producers, gated residuals in the GEMM
 * epilogue, one stacked adaLN GEMM, tensor-core attention. VAE (vae_tiny): bf16 convolutions on channel-last bf16
 * activations.
 *
 * <p>Bound 2e-2. One bf16 GEMM with float32 inputs is off by about u·√(2/3) ≈ 3e-3 relative (u = 2⁻⁸; 2.3e-3
 * measured in CudaBf16EmuTest); the output carries the errors of a few such GEMMs, partly independent, through the
 * residual stream, and guidance (u + 4·(c − u)) amplifies the error of the difference. The attention adds its bf16
 * qkv and bf16 P (3e-3 against fp32 in CudaAttentionBf16EmuTest), diluted by the residual stream. Measured: 3.9e-3
 * forward, 5.7e-3 guided (5.4e-3 with the fp32 attention). 2e-2 is over three times the larger figure; a wrong
 * tile, tail or layout gives errors of order 1.
 *
 * <p>DDIM bound 2e-2. The 10-step deterministic loop (eta 0, guidance 4) feeds each step's bf16 prediction error
 * into the latents; each step's update x' = a·x + b·ε moves the latents by a fraction of ε, so the final error stays
 * of the order of one guided forward's rather than adding up over the steps (measured 5.4e-3).
 *
 * <p>VAE bound 3e-2. The decoder stores each of its ~50 image activations (25 convolutions, 22 GroupNorms, the
 * attention's residual) in bf16, an rms relative rounding of about 1.6e-3 each (measured in CudaConvEmuTest), and
 * rounds the convolutions' operands; the errors add up along the residual stream and the decoder's final GroupNorm
 * rescales them (measured 9.5e-3, about six single roundings). 3e-2 is three times that.
 */
class CudaBf16FixtureEmuTest {
    static final double BOUND = 2e-2, VAE_BOUND = 3e-2, VAVAE_DECODE_BOUND = 5e-2;

    /**
     * The VAE decode (vae_tiny: 8/8/16/16 channels, 4 groups, 2 latents of 8x8 to 64x64 images) with every image
     * activation in channel-last bf16: both convolution paths run (the float32 kernel for the 4 latent channels, the
     * tensor cores for the rest, the image leaving as float32 NCHW), and no upsampled tensor is made.
     */
    /**
     * SiT (sit_t: hidden 16, 2 heads of 8, so the fp32 attention) in BF16: the velocity, forward_with_cfg and the
     * default sampler's complete Euler–Maruyama chain (20 model calls), bound {@link #BOUND} as the DiT's. Measured
     * 3.4e-3 velocity, 6.6e-3 guided, 4.9e-3 chain: as the DDIM loop, the SDE's update moves the latents by a fraction
     * of the velocity, so the error stays of the order of one guided forward's. (dopri5 is not run in BF16 here: its
     * error estimate picks up the bf16 rounding of the velocity, so it takes smaller steps: 62 model calls on this
     * chain instead of the official 26, measured.)
     */
    @Test
    void sitVelocityAndSdeChainInBf16() {
        try (EmulatedDevice device = new EmulatedDevice(); CudaOps ops = new CudaOps(device, "emu-bf16", Precision.BF16)) {
            SitChains.forward(ops, BOUND);
            SitChains.eulerMaruyama(ops, BOUND);
        }
    }

    /**
     * REPA (repa_t: hidden 8, 1 head of 8) in BF16: the forward and the default sampler's Euler–Maruyama chain with
     * interval guidance (6 guided and 4 conditional passes), bound {@link #BOUND} as SiT's.
     */
    @Test
    void repaForwardAndSdeChainInBf16() {
        try (EmulatedDevice device = new EmulatedDevice(); CudaOps ops = new CudaOps(device, "emu-bf16", Precision.BF16)) {
            RepaChains.forward(ops, BOUND);
            RepaChains.eulerMaruyama(ops, BOUND);
        }
    }

    /**
     * LightningDiT (lightningdit_t: RMSNorm, SwiGLU, rotary q/k, patch 1) in BF16: the forward and forward_with_cfg, and
     * the shifted Euler chain with its guidance interval, bound {@link #BOUND} as SiT's. Its own layers run float32
     * kernels whose outputs are rounded to bf16 where a tensor-core GEMM reads them.
     */
    @Test
    void lightningDitForwardAndShiftedEulerInBf16() {
        EmulatedDevice device = new EmulatedDevice();
        try (CudaOps ops = new CudaOps(device, "emu-bf16", Precision.BF16);
             DitModel m = DitModel.load(TestModels.lightningditT(), ops)) {
            HostTensor v = m.velocity(TestModels.floats("lightningdit_t_forward_x.npy"),
                    TestModels.floats("lightningdit_t_forward_t.npy").data(), TestModels.ints("lightningdit_t_forward_y.npy"));
            double e = Compare.assertRelL2(v.data(), TestModels.floats("lightningdit_t_forward_out.npy").data(), BOUND,
                    "bf16 lightningdit_t forward");
            HostTensor g = m.velocityWithCfg(TestModels.floats("lightningdit_t_cfg_x.npy"),
                    TestModels.floats("lightningdit_t_cfg_t.npy").data(), TestModels.ints("lightningdit_t_cfg_y.npy"), 6.7f);
            double c = Compare.assertRelL2(g.data(), TestModels.floats("lightningdit_t_cfg_out.npy").data(), BOUND,
                    "bf16 lightningdit_t forward_with_cfg");
            assertTrue(e > 1e-4 && c > 1e-4, "bf16 linears cannot match float32 this closely: " + e + ", " + c);
            for (String k : new String[] {"modulated_rmsnorm_f32", "swiglu_f32", "rotary_qk_f32"}) {
                assertTrue(device.statsByKernel().containsKey(k), k + " did not run: " + device.statsByKernel().keySet());
            }
            LightningDitChains.euler(ops, BOUND);
        }
    }

    @Test
    void vaeDecodeInBf16() {
        try (EmulatedDevice device = new EmulatedDevice(); CudaOps ops = new CudaOps(device, "emu-bf16", Precision.BF16);
             VaeModel v = VaeModel.load(TestModels.vaeTiny(), ops)) {
            HostTensor out = v.decode(TestModels.floats("vae_decode_z.npy"));
            double e = Compare.assertRelL2(out.data(), TestModels.floats("vae_decode_out.npy").data(), VAE_BOUND, "bf16 vae decode");
            assertTrue(e > 1e-4, "bf16 activations cannot match float32 this closely: " + e);
            Set<String> ran = device.statsByKernel().keySet();
            for (String k : new String[] {"conv2d_f32", "to_channels_last_bf16", "conv_bf16_64x64_nhwc", "conv_bf16_64x64_nchw",
                    "group_norm_nhwc_apply", "tokens_to_channels_nhwc"}) {
                assertTrue(ran.contains(k), k + " did not run: " + ran);
            }
            assertTrue(ran.stream().noneMatch(k -> k.startsWith("upsample")), "an upsampled tensor was made: " + ran);
        }
    }

    /**
     * The VAE encoder in BF16 (vae_tiny: 2 images of 64x64 to 8x8 latents; vavae_t: 2 of 32x48 to 2x3, attention in
     * its lowest down level): the raw moments [mean, logvar], bound {@link #VAE_BOUND} as the decoder's.
     */
    @Test
    void vaeEncodeInBf16() {
        try (EmulatedDevice device = new EmulatedDevice(); CudaOps ops = new CudaOps(device, "emu-bf16", Precision.BF16);
             VaeModel v = VaeModel.load(TestModels.vaeTiny(), ops); VaeModel va = VaeModel.load(TestModels.vavaeTiny(), ops)) {
            for (String[] c : new String[][] {{"vae", "vae_decode_pixels.npy", "vae_encode_moments.npy"},
                    {"vavae", "vavae_t_encode_pixels.npy", "vavae_t_encode_moments.npy"}}) {
                VaeModel m = c[0].equals("vae") ? v : va;
                HostTensor moments = m.encode(TestModels.encoderInput(c[1]), null).distribution().moments();
                double e = Compare.assertRelL2(moments.data(), TestModels.floats(c[2]).data(), VAE_BOUND, "bf16 " + c[0] + " encode");
                assertTrue(e > 1e-4, "bf16 activations cannot match float32 this closely: " + e);
            }
        }
    }

    /**
     * VA-VAE (vavae_t) in BF16: the up-level attention blocks on channel-last bf16 activations. Bound 5e-2: a deeper
     * decoder than vae_tiny's (3 ResNet blocks on each of 5 levels, 3 attention blocks; about twice the roundings), so
     * the error lands near the SD bound: measured 2.7e-2 with float32 fixture weights and 3.1e-2 with the same draw
     * rounded to float16 (the fixture stores float16 since it holds the encoder).
     */
    @Test
    void vavaeDecodeInBf16() {
        try (EmulatedDevice device = new EmulatedDevice(); CudaOps ops = new CudaOps(device, "emu-bf16", Precision.BF16);
             VaeModel v = VaeModel.load(TestModels.vavaeTiny(), ops)) {
            HostTensor out = v.decode(TestModels.floats("vavae_t_decode_z.npy"));
            double e = Compare.assertRelL2(out.data(), TestModels.floats("vavae_t_decode_out.npy").data(), VAVAE_DECODE_BOUND,
                    "bf16 vavae decode");
            assertTrue(e > 1e-4, "bf16 activations cannot match float32 this closely: " + e);
        }
    }

    @Test
    void ditForwardAndCfgForwardInBf16() {
        EmulatedDevice device = new EmulatedDevice();
        try (CudaOps ops = new CudaOps(device, "emu-bf16", Precision.BF16); DitModel m = DitModel.load(TestModels.ditA(), ops)) {
            HostTensor out = m.forward(TestModels.floats("dit_a_forward_x.npy"), TestModels.ints("dit_a_forward_t.npy"),
                    TestModels.ints("dit_a_forward_y.npy"));
            double e = Compare.assertRelL2(out.data(), TestModels.floats("dit_a_forward_out.npy").data(), BOUND, "bf16 dit_a forward");
            HostTensor cfg = m.forwardWithCfg(TestModels.floats("dit_a_cfg_x.npy"), TestModels.ints("dit_a_cfg_t.npy"),
                    TestModels.ints("dit_a_cfg_y.npy"), 4f);
            double c = Compare.assertRelL2(cfg.data(), TestModels.floats("dit_a_cfg_out.npy").data(), BOUND, "bf16 dit_a cfg");
            assertTrue(e > 1e-4 && c > 1e-4, "bf16 linears cannot match float32 this closely: " + e + ", " + c);
            assertTrue(device.statsByKernel().containsKey("attention_bf16_d72"), "head dim 72 runs on tensor cores: "
                    + device.statsByKernel().keySet());
        }
    }

    @Test
    void ddim10InBf16() {
        try (CudaOps ops = new CudaOps(new EmulatedDevice(), "emu-bf16", Precision.BF16);
             WeightStore w = WeightStore.open(TestModels.ditA()); Dit dit = new Dit(w.ditConfig(), w, ops);
             Tensor x = ops.upload(TestModels.floats("sample_ddim10_z.npy")); GuidedDit model = new GuidedDit(dit, new int[] {1, 5}, 4f, 3)) {
            new DdimSampler(GaussianDiffusion.create("10"), 0).run(ops, model, x, NoiseSource.recorded(null, null, NoiseSource.seeded(0)),
                    StepListener.NONE);
            double e = Compare.assertRelL2(ops.read(x), TestModels.floats("sample_ddim10_final.npy").data(), BOUND, "bf16 ddim-10");
            assertTrue(e > 1e-4, "bf16 linears cannot match float32 this closely: " + e);
        }
    }
}
