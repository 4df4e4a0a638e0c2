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
 * The CLI contract for REPA: convert (the family from the projector keys), info (REPA's defaults), forward with float
 * times, generate with REPA's samplers, --guidance-interval and the official noise.
 */
class RepaCliTest {
    @TempDir
    Path tmp;

    private static String f(String fixture) {
        return Fixtures.file(fixture).toString();
    }

    private Path convertRepa() {
        Path model = tmp.resolve("repa.safetensors");
        CliTest.Run r = ditj("convert", f("repa_t.pt"), "-o", model.toString(), "--num-heads", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("repa-state-dict") && r.out().contains("family: REPA (REPA's projector heads"), r.out());
        return model;
    }

    @Test
    void convertInfoAndForward() {
        Path model = convertRepa();
        CliTest.Run info = ditj("info", model.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("kind:        REPA (REPA, 8x8 latent") && info.out().contains("t in [0, 1], 1 = noise"),
                info.out());
        assertTrue(info.out().contains("generation:  euler-maruyama, 250 steps, cfg 1.8 on all channels for t in "
                + "[0.0, 0.7] (the family's defaults)"), info.out());

        Path out = tmp.resolve("v.npy");
        CliTest.Run r = ditj("forward", "--model", model.toString(), "--x", f("repa_t_forward_x.npy"), "--t",
                f("repa_t_forward_t.npy"), "--y", f("repa_t_forward_y.npy"), "-o", out.toString(), "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        Compare.assertRelL2(Npy.read(out).toFloats(), TestModels.floats("repa_t_forward_out.npy").data(), 1e-5,
                "cli repa forward");
    }

    @Test
    void generateWithTheOfficialNoiseReproducesTheSamplers() {
        Path model = convertRepa(), vae = tmp.resolve("vae.safetensors"), latent = tmp.resolve("l.npy");
        assertEquals(0, ditj("convert", f("vae_tiny_diffusers"), "-o", vae.toString()).code());
        // the SDE: guidance on all channels (REPA's default) inside [0, 0.65], the official step noise
        CliTest.Run r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "3", "7",
                "--steps", "10", "--cfg-scale", "4", "--guidance-interval", "0,0.65", "--noise", f("repa_sample_z.npy"),
                "--step-noise", f("repa_em_noise.npy"), "--save-latent", latent.toString(), "-o",
                tmp.resolve("g.png").toString(), "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("REPA on cpu") && r.err().contains("euler-maruyama 10 steps"), r.err());
        Compare.assertRelL2(Npy.read(latent).toFloats(), TestModels.floats("repa_em_final.npy").data(), 1e-5,
                "cli generate repa euler-maruyama");
        CliTest.Run png = ditj("info", tmp.resolve("g.png").toString());
        assertTrue(png.out().contains("guidance_interval:[0.0,0.65]") && png.out().contains("cfg_channels: 4"), png.out());

        r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "3", "7", "--sampler",
                "euler", "--steps", "10", "--cfg-scale", "4", "--guidance-interval", "0.15,0.65", "--noise",
                f("repa_sample_z.npy"), "--save-latent", latent.toString(), "-o", tmp.resolve("e.png").toString());
        assertEquals(0, r.code(), r.err());
        Compare.assertRelL2(Npy.read(latent).toFloats(), TestModels.floats("repa_euler_final.npy").data(), 1e-5,
                "cli generate repa euler");
    }

    @Test
    void badUsesAreUsageErrors() {
        Path model = convertRepa(), vae = tmp.resolve("vae.safetensors");
        assertEquals(0, ditj("convert", f("vae_tiny_diffusers"), "-o", vae.toString()).code());
        CliTest.Run r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "3",
                "--sampler", "dopri5", "-o", tmp.resolve("a.png").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("dopri5 is not one of REPA's samplers"), r.err());
        r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "3",
                "--guidance-interval", "0.7", "-o", tmp.resolve("b.png").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--guidance-interval must be LOW,HIGH"), r.err());
        r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "3",
                "--guidance-interval", "0.7,0.2", "-o", tmp.resolve("c.png").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--guidance-interval must be two finite times LOW <= HIGH"), r.err());
        // a DiT takes an interval in its own timesteps (GuidanceIntervalTest); LightningDiT's time shift is not one
        // of REPA's settings
        r = ditj("generate", "--model", TestModels.ditA().toString(), "--vae", vae.toString(), "--class", "3",
                "--steps", "4", "--guidance-interval", "300,700", "-o", tmp.resolve("d.png").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.exists(tmp.resolve("d.png")));
        r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "3", "--sampler", "euler",
                "--time-shift", "0.3", "-o", tmp.resolve("e.png").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--time-shift is not one of REPA's sampler settings"), r.err());
        for (String p : new String[] {"a.png", "b.png", "c.png", "e.png"}) assertTrue(Files.notExists(tmp.resolve(p)), p);
    }
}
