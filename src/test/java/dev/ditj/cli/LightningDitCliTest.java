package dev.ditj.cli;

import dev.ditj.Compare;
import dev.ditj.Fixtures;
import dev.ditj.TestModels;
import dev.ditj.io.Npy;
import dev.ditj.io.RawTensor;
import dev.ditj.io.SafeTensors;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.Shape;
import dev.ditj.weights.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static dev.ditj.cli.CliTest.ditj;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CLI contract for LightningDiT's sampler: its defaults in {@code info}, and {@code generate} with the shifted
 * Euler ODE and its guidance interval from the official noise, against the official chain
 * (tools/fixtures/make_lightningdit_testdata.py). Only the latent is checked: the VAE is vae_tiny widened to 32
 * latent channels (random weights on the new inputs), which only has to decode.
 */
class LightningDitCliTest {
    @TempDir
    Path tmp;

    private static String f(String fixture) {
        return Fixtures.file(fixture).toString();
    }

    /** vae_tiny with post_quant_conv and decoder.conv_in taking 32 latent channels. */
    private Path vae32() {
        Path out = tmp.resolve("vae32.safetensors");
        SplittableRandom random = new SplittableRandom(12);
        try (SafeTensors.Reader r = SafeTensors.open(TestModels.vaeTiny())) {
            Map<String, RawTensor> tensors = new LinkedHashMap<>();
            for (String name : r.names()) {
                int[] d = r.shape(name).dims();
                if (name.equals("post_quant_conv.weight") || name.equals("post_quant_conv.bias")) d[0] = 32;
                if (name.equals("post_quant_conv.weight") || name.equals("decoder.conv_in.weight")) d[1] = 32;
                if (Shape.of(d).equals(r.shape(name))) {
                    tensors.put(name, r.get(name));
                } else {
                    float[] v = new float[Math.toIntExact(Shape.of(d).numel())];
                    for (int i = 0; i < v.length; i++) v[i] = (float) (random.nextDouble() - 0.5) * 0.2f;
                    tensors.put(name, RawTensor.ofFloats(v, Shape.of(d), DType.F32));
                }
            }
            Map<String, String> md = new LinkedHashMap<>(r.metadata());
            md.put(ModelFiles.CONFIG_KEY, md.get(ModelFiles.CONFIG_KEY).replace("\"latent_channels\": 4", "\"latent_channels\": 32"));
            SafeTensors.write(out, tensors, md);
        }
        return out;
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
        Path model = convert(), vae = vae32(), latent = tmp.resolve("l.npy");
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
