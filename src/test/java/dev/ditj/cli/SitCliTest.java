package dev.ditj.cli;

import dev.ditj.Compare;
import dev.ditj.Fixtures;
import dev.ditj.TestModels;
import dev.ditj.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.ditj.cli.CliTest.ditj;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CLI contract for SiT (and LightningDiT's forward): convert (family), info, forward with float times, generate
 * with the SiT samplers.
 */
class SitCliTest {
    @TempDir
    Path tmp;

    private static String f(String fixture) {
        return Fixtures.file(fixture).toString();
    }

    private Path convertSit() {
        Path model = tmp.resolve("sit.safetensors");
        CliTest.Run r = ditj("convert", f("sit_t.pt"), "-o", model.toString(), "--num-heads", "2", "--family", "sit");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("sit-state-dict") && r.out().contains("family: SiT (--family sit)"), r.out());
        return model;
    }

    @Test
    void convertInfoAndForwardWithFloatTimes() {
        Path model = convertSit();
        CliTest.Run info = ditj("info", model.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("kind:        SiT (SiT, 8x8 latent") && info.out().contains("flow matching"), info.out());
        assertTrue(info.out().contains("generation:  euler-maruyama, 250 steps, cfg 1.5 (the family's defaults)"), info.out());

        Path out = tmp.resolve("v.npy");
        CliTest.Run r = ditj("forward", "--model", model.toString(), "--x", f("sit_t_forward_x.npy"), "--t",
                f("sit_t_forward_t.npy"), "--y", f("sit_t_forward_y.npy"), "-o", out.toString(), "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        Compare.assertRelL2(Npy.read(out).toFloats(), TestModels.floats("sit_t_forward_out.npy").data(), 1e-5, "cli sit forward");

        // integer timesteps are a DiT's: refused for a SiT, naming the file and what is expected
        r = ditj("forward", "--model", model.toString(), "--x", f("sit_t_forward_x.npy"), "--t", f("sit_t_forward_y.npy"),
                "--y", f("sit_t_forward_y.npy"), "-o", tmp.resolve("w.npy").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("expected float32 [3]"), r.err());
        assertTrue(Files.notExists(tmp.resolve("w.npy")));
    }

    @Test
    void lightningDitConvertsByItsKeysAndItsForwardIsTheOfficial() {
        Path model = tmp.resolve("ldit.safetensors"), out = tmp.resolve("v.npy");
        CliTest.Run r = ditj("convert", f("lightningdit_t_train.pt"), "-o", model.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("lightningdit-training-checkpoint-ema")
                && r.out().contains("family: LightningDiT (LightningDiT keys"), r.out());
        CliTest.Run info = ditj("info", model.toString());
        assertTrue(info.out().contains("kind:        LightningDiT (LightningDiT, 4x4 latent, 16 tokens, 10 classes, RMSNorm, "
                + "SwiGLU 42, 2-D RoPE; flow matching"), info.out());
        r = ditj("forward", "--model", model.toString(), "--x", f("lightningdit_t_forward_x.npy"), "--t",
                f("lightningdit_t_forward_t.npy"), "--y", f("lightningdit_t_forward_y.npy"), "-o", out.toString(),
                "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        Compare.assertRelL2(Npy.read(out).toFloats(), TestModels.floats("lightningdit_t_forward_out.npy").data(), 1e-5,
                "cli lightningdit forward");
    }

    @Test
    void generateWithTheOfficialNoiseReproducesTheSde() {
        Path model = convertSit(), vae = tmp.resolve("vae.safetensors"), latent = tmp.resolve("l.npy");
        assertEquals(0, ditj("convert", f("vae_tiny_diffusers"), "-o", vae.toString()).code());
        CliTest.Run r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "3", "7",
                "--sampler", "euler-maruyama", "--steps", "20", "--cfg-scale", "4", "--noise", f("sit_sample_z.npy"),
                "--step-noise", f("sit_sde_em_noise.npy"), "--save-latent", latent.toString(), "-o",
                tmp.resolve("g.png").toString(), "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("SiT on cpu") && r.err().contains("euler-maruyama 20 steps"), r.err());
        Compare.assertRelL2(Npy.read(latent).toFloats(), TestModels.floats("sit_sde_em_final.npy").data(), 1e-5,
                "cli generate euler-maruyama");

        // a DiT sampler on a SiT is a usage error naming the samplers that apply
        r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "3", "--sampler", "ddim",
                "-o", tmp.resolve("h.png").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("ddim does not sample SiT") && r.err().contains("euler, heun, dopri5 or euler-maruyama"), r.err());
        assertTrue(Files.notExists(tmp.resolve("h.png")));
        // the SDE reads steps - 1 noises
        r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "3", "7", "--sampler",
                "euler-maruyama", "--steps", "21", "--step-noise", f("sit_sde_em_noise.npy"), "-o", tmp.resolve("i.png").toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("expected [20, 2, 4, 8, 8]"), r.err());
    }
}
