package dev.ditj.model;

import dev.ditj.Compare;
import dev.ditj.Fixtures;
import dev.ditj.TestModels;
import dev.ditj.api.VaeModel;
import dev.ditj.convert.Converter;
import dev.ditj.cpu.CpuOps;
import dev.ditj.image.Pixels;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * VAE decode against diffusers' AutoencoderKL, for the diffusers, LDM and full-SD-checkpoint layouts, and against
 * LightningDiT's VA-VAE tokenizer.
 */
class VaeFixtureTest {
    private static Ops ops;

    @BeforeAll
    static void setUp() {
        ops = new CpuOps();
    }

    @AfterAll
    static void tearDown() {
        ops.close();
    }

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
}
