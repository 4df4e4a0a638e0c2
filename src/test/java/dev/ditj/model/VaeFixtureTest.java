package dev.ditj.model;

import dev.ditj.Compare;
import dev.ditj.CpuBackendTest;
import dev.ditj.DitjException;
import dev.ditj.Fixtures;
import dev.ditj.TestModels;
import dev.ditj.api.VaeModel;
import dev.ditj.convert.Converter;
import dev.ditj.image.Pixels;
import dev.ditj.io.RawTensor;
import dev.ditj.io.SafeTensors;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * VAE decode against diffusers' AutoencoderKL, for the diffusers, LDM and full-SD-checkpoint layouts, and against
 * LightningDiT's VA-VAE tokenizer.
 */
class VaeFixtureTest extends CpuBackendTest {
    @ParameterizedTest
    @ValueSource(strings = {"vae_tiny_diffusers", "vae_tiny_diffusers/diffusion_pytorch_model.bin", "vae_tiny_ldm.ckpt",
            "sd_full_tiny.ckpt"})
    void decodeMatchesDiffusers(String source, @TempDir Path tmp) {
        Path converted = tmp.resolve("vae.safetensors");
        // LDM names do not carry the GroupNorm group count (4 here), so those files take the config.
        Path config = source.startsWith("vae_tiny_diffusers") ? null : TestModels.vaeTinyConfig();
        if (source.endsWith(".bin")) {
            config = TestModels.vaeTinyConfig();
        }
        Converter.convert(Fixtures.file(source), converted, new Converter.Options(DType.F32, 0, config, null));
        try (VaeModel vae = VaeModel.load(converted, ops)) {
            HostTensor out = vae.decode(TestModels.floats("vae_decode_z.npy"));
            Compare.assertRelL2(out.data(), TestModels.floats("vae_decode_out.npy").data(), 1e-5, "decode " + source);
            byte[] expected = TestModels.bytes("vae_decode_pixels.npy");
            int per = 3 * 64 * 64;
            byte[] actual = new byte[expected.length];
            for (int i = 0; i < 2; i++) {
                System.arraycopy(Pixels.toRgb8(out.data(), i * per, 3, 64, 64), 0, actual, i * per, per);
            }
            Compare.assertPixels(actual, expected, 0.001, "pixels " + source);
        }
    }

    static HostTensor encoderInput() {
        return TestModels.encoderInput("vae_decode_pixels.npy");
    }

    /**
     * Encoder against diffusers' AutoencoderKL.encode for every layout (its weights are in all four checkpoints): the
     * diagonal Gaussian's mean and clamped logvar, and the latent in the DiT's space (mean · 0.18215).
     */
    @ParameterizedTest
    @ValueSource(strings = {"vae_tiny_diffusers", "vae_tiny_diffusers/diffusion_pytorch_model.bin", "vae_tiny_ldm.ckpt",
            "sd_full_tiny.ckpt"})
    void encodeMatchesDiffusers(String source, @TempDir Path tmp) {
        Path converted = tmp.resolve("vae.safetensors");
        Path config = source.equals("vae_tiny_diffusers") ? null : TestModels.vaeTinyConfig();
        Converter.Report r = Converter.convert(Fixtures.file(source), converted, new Converter.Options(DType.F32, 0, config, null));
        assertEquals("encoder and decoder", r.vaeParts());
        try (VaeModel vae = VaeModel.load(converted, ops)) {
            VaeModel.Encoded e = vae.encode(encoderInput(), null);
            float[] expected = TestModels.floats("vae_encode_moments.npy").data();
            Compare.assertRelL2(e.distribution().moments().data(), expected, 1e-5, "moments " + source);
            float[] mean = e.distribution().mean().data(), latent = e.latent().data();
            assertArrayEquals(new int[] {2, 4, 8, 8}, e.latent().shape().dims());
            float[] scaled = new float[mean.length];
            for (int i = 0; i < mean.length; i++) scaled[i] = (float) (mean[i] * 0.18215);
            Compare.assertRelL2(latent, scaled, 1e-7, "latent " + source);
        }
    }

    /** encode → decode (the mean, then the decoder) against diffusers' {@code vae(x, sample_posterior=False)}. */
    @Test
    void roundTripMatchesDiffusers() {
        try (VaeModel vae = VaeModel.load(TestModels.vaeTiny(), ops)) {
            HostTensor x = encoderInput();
            HostTensor first = new HostTensor(Shape.of(1, 3, 64, 64), java.util.Arrays.copyOf(x.data(), 3 * 64 * 64));
            HostTensor out = vae.decode(vae.encode(first, null).latent());
            Compare.assertRelL2(out.data(), TestModels.floats("vae_encode_recon.npy").data(), 1e-5, "round trip");
        }
    }

    /** --sample: mean + exp(logvar / 2) · ε with ε the seeded noise, then normalised; the same seed, the same latent. */
    @Test
    void sampleIsMeanPlusStdTimesSeededNoise() {
        try (VaeModel vae = VaeModel.load(TestModels.vaeTiny(), ops)) {
            VaeModel.Encoded a = vae.encode(encoderInput(), dev.ditj.sampling.NoiseSource.seeded(7));
            VaeModel.Encoded b = vae.encode(encoderInput(), dev.ditj.sampling.NoiseSource.seeded(7));
            assertArrayEquals(a.latent().data(), b.latent().data());
            float[] eps = new float[2 * 4 * 8 * 8];
            dev.ditj.sampling.NoiseSource.seeded(7).initial(eps, 2, 4 * 8 * 8);
            float[] m = a.distribution().mean().data(), lv = a.distribution().logvar().data(), want = new float[eps.length];
            for (int i = 0; i < eps.length; i++) want[i] = (float) ((m[i] + Math.exp(0.5 * lv[i]) * eps[i]) * 0.18215);
            Compare.assertRelL2(a.latent().data(), want, 1e-6, "sample");
        }
    }

    /**
     * VA-VAE (vavae_t): official tokenizer/autoencoder.py decode of z * std + mean (latents_stats.pt), attention after
     * each ResNet block of the lowest up level; 2 latents of 2x3 -> 32x48 images.
     */
    @Test
    void vavaeDecodeMatchesTheOfficialTokenizer() {
        try (VaeModel vae = VaeModel.load(TestModels.vavaeTiny(), ops)) {
            HostTensor out = vae.decode(TestModels.floats("vavae_t_decode_z.npy"));
            assertArrayEquals(new int[] {2, 3, 32, 48}, out.shape().dims());
            Compare.assertRelL2(out.data(), TestModels.floats("vavae_t_decode_out.npy").data(), 1e-5, "vavae_t decode");
        }
    }

    /**
     * VA-VAE (vavae_t) encoder against the official tokenizer/autoencoder.py: attention after each ResNet block of the
     * lowest down level (attn_resolutions (16,)); 2 images of 32x48 -> 2x3 latents of 32 channels; the latent
     * normalised with latents_stats.pt as LightningDiT's dataset does ((mean - m) / std, multiplier 1).
     */
    @Test
    void vavaeEncodeMatchesTheOfficialTokenizer() {
        try (VaeModel vae = VaeModel.load(TestModels.vavaeTiny(), ops)) {
            VaeModel.Encoded e = vae.encode(TestModels.encoderInput("vavae_t_encode_pixels.npy"), null);
            assertArrayEquals(new int[] {2, 32, 2, 3}, e.latent().shape().dims());
            Compare.assertRelL2(e.distribution().moments().data(), TestModels.floats("vavae_t_encode_moments.npy").data(),
                    1e-5, "vavae_t encode");
            double[] m = vae.config().latentsMean(), s = vae.config().latentsStd();
            float[] mean = e.distribution().mean().data(), want = new float[mean.length];
            for (int i = 0; i < mean.length; i++) want[i] = (float) ((mean[i] - m[i / 6 % 32]) / s[i / 6 % 32]);
            Compare.assertRelL2(e.latent().data(), want, 1e-7, "vavae_t latent");
        }
    }

    /**
     * diffusers files from before its attention rename (query/key/value/proj_attn, in the encoder too) convert to the
     * same encoder; a checkpoint that holds only part of the encoder converts to a decoder-only file that says so.
     */
    @Test
    void oldAttentionNamesAndAPartialEncoder(@TempDir Path tmp) {
        Map<String, RawTensor> old = new LinkedHashMap<>(), partial = new LinkedHashMap<>();
        try (SafeTensors.Reader r = SafeTensors.open(Fixtures.file("vae_tiny_diffusers/diffusion_pytorch_model.safetensors"))) {
            for (String n : r.names()) {
                old.put(n.replace(".to_q.", ".query.").replace(".to_k.", ".key.").replace(".to_v.", ".value.")
                        .replace(".to_out.0.", ".proj_attn."), r.get(n));
                if (!n.startsWith("encoder.conv_out.")) partial.put(n, r.get(n));
            }
        }
        assertTrue(old.containsKey("encoder.mid_block.attentions.0.query.weight"));
        Path oldFile = tmp.resolve("old.safetensors"), partialFile = tmp.resolve("partial.safetensors");
        SafeTensors.write(oldFile, old, Map.of());
        SafeTensors.write(partialFile, partial, Map.of());
        Converter.Options options = new Converter.Options(DType.F32, 0, TestModels.vaeTinyConfig(), null);
        Converter.convert(oldFile, tmp.resolve("old-vae.safetensors"), options);
        try (VaeModel vae = VaeModel.load(tmp.resolve("old-vae.safetensors"), ops)) {
            Compare.assertRelL2(vae.encode(encoderInput(), null).distribution().moments().data(),
                    TestModels.floats("vae_encode_moments.npy").data(), 1e-5, "moments, old attention names");
        }
        Converter.Report r = Converter.convert(partialFile, tmp.resolve("dec.safetensors"), options);
        assertEquals("decoder only (the checkpoint holds 72 of the encoder's 74 tensors; dropped)", r.vaeParts());
        try (VaeModel vae = VaeModel.load(tmp.resolve("dec.safetensors"), ops)) {
            assertFalse(vae.hasEncoder());
            String m = assertThrows(DitjException.class, () -> vae.encode(encoderInput(), null)).getMessage();
            assertTrue(m.startsWith(tmp.resolve("dec.safetensors") + ": this VAE file holds no encoder (decoder only)"), m);
        }
    }
}
