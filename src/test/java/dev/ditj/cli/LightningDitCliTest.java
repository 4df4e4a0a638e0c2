package dev.ditj.cli;

import dev.ditj.Compare;
import dev.ditj.Fixtures;
import dev.ditj.TestModels;
import dev.ditj.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.ditj.cli.CliTest.ditj;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CLI contract for LightningDiT's sampler: its defaults in {@code info}, and {@code generate} with the shifted
 * Euler ODE and its guidance interval from the official noise, against the official chain
 * (tools/fixtures/make_lightningdit_testdata.py). Only the latent is checked; the image is decoded by the family's
 * tokenizer, the tiny random-weight VA-VAE (vavae_t), so the whole LightningDiT + VA-VAE pipeline runs.
 */
class LightningDitCliTest {
    @TempDir
    Path tmp;

    private static String f(String fixture) {
        return Fixtures.file(fixture).toString();
    }

    private Path convert() {
        Path model = tmp.resolve("ldit.safetensors");
        CliTest.Run r = ditj("convert", f("lightningdit_t.pt"), "-o", model.toString());
        assertEquals(0, r.code(), r.err());
        return model;
    }

    @Test
    void infoShowsThePapersSetting() {
        CliTest.Run info = ditj("info", convert().toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("generation:  euler, 250 steps, cfg 6.7 on 3 channels for t in [0.125, 1.0], time "
                + "shift 0.3 (the family's defaults)"), info.out());
    }

    @Test
    void generateReproducesTheShiftedEulerWithItsGuidanceInterval() {
        Path model = convert(), vae = TestModels.vavaeTiny(), latent = tmp.resolve("l.npy");
        CliTest.Run r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "3", "7",
                "--sampler", "euler", "--steps", "16", "--cfg-scale", "6.7", "--cfg-channels", "3", "--time-shift", "0.3",
                "--guidance-interval", "0.125,1", "--noise", f("lightningdit_sample_z.npy"), "--save-latent",
                latent.toString(), "-o", tmp.resolve("g.png").toString(), "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("LightningDiT on cpu") && r.err().contains("euler 16 steps"), r.err());
        Compare.assertRelL2(Npy.read(latent).toFloats(), TestModels.floats("lightningdit_ode_euler_final.npy").data(),
                1e-5, "cli generate lightningdit euler");

        // the model's defaults are the same setting: only the steps given
        Path latent2 = tmp.resolve("l2.npy");
        r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "3", "7", "--steps", "16",
                "--noise", f("lightningdit_sample_z.npy"), "--save-latent", latent2.toString(), "-o",
                tmp.resolve("g2.png").toString(), "--backend", "emu", "--precision", "fp32");
        assertEquals(0, r.code(), r.err());
        Compare.assertRelL2(Npy.read(latent2).toFloats(), TestModels.floats("lightningdit_ode_euler_final.npy").data(),
                1e-5, "cli generate lightningdit defaults (emu)");
    }

    @Test
    void badShiftsAndIntervalsAreOneLineUsageErrors() {
        Path model = convert(), vae = tmp.resolve("none.safetensors");
        String[][] cases = {
                {"--time-shift", "0"}, {"--time-shift", "-1"}, {"--time-shift", "NaN"}, {"--time-shift", "Infinity"},
                {"--time-shift", "x"}, {"--time-shift", "0.3", "--sampler", "euler-maruyama"},
                {"--time-shift", "0.3", "--sampler", "ddim"}, {"--guidance-interval", "0.5,0.1"},
                {"--guidance-interval", "0.1"}};
        String[] expect = {"--time-shift", "--time-shift", "--time-shift", "--time-shift", "--time-shift",
                "--time-shift", "--time-shift", "--guidance-interval", "--guidance-interval"};
        for (int i = 0; i < cases.length; i++) {
            Path png = tmp.resolve("bad" + i + ".png");
            List<String> args = new ArrayList<>(List.of("generate", "--model", model.toString(), "--vae", vae.toString(),
                    "--class", "3", "-o", png.toString()));
            args.addAll(List.of(cases[i]));
            CliTest.Run r = ditj(args.toArray(new String[0]));
            String what = String.join(" ", cases[i]);
            assertEquals(2, r.code(), what + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), what + ": " + r.err());
            assertTrue(r.err().contains(expect[i]), what + ": " + r.err());
            assertTrue(Files.notExists(png), what);
        }
    }
}
