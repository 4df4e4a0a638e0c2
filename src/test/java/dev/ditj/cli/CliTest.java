package dev.ditj.cli;

import dev.ditj.Compare;
import dev.ditj.Fixtures;
import dev.ditj.api.ClassGroup;
import dev.ditj.TestModels;
import dev.ditj.image.Png;
import dev.ditj.io.Npy;
import dev.ditj.io.RawTensor;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.Shape;
import dev.ditj.weights.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line end to end (in-process, the same code path as ./ditj), against the fixtures. */
class CliTest {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    static synchronized Run ditj(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    private static String f(String fixture) {
        return Fixtures.file(fixture).toString();
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static float[] floats(Path npy) {
        return Npy.read(npy).toFloats();
    }

    private Path convertDitA() {
        Path model = tmp.resolve("dit_a.safetensors");
        Run r = ditj("convert", f("dit_a.pt"), "-o", model.toString(), "--num-heads", "2");
        assertEquals(0, r.code(), r.err());
        return model;
    }

    private Path convertVae() {
        Path vae = tmp.resolve("vae.safetensors");
        Run r = ditj("convert", f("vae_tiny_diffusers"), "-o", vae.toString(), "--dtype", "fp32");
        assertEquals(0, r.code(), r.err());
        return vae;
    }

    @Test
    void convertInfoAndForwardReproduceTheFixtures() {
        Path model = convertDitA();
        Run info = ditj("info", model.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("DiT") && info.out().contains("10 classes") && info.out().contains("F32"), info.out());

        Path out = tmp.resolve("out.npy");
        Run r = ditj("forward", "--model", model.toString(), "--x", f("dit_a_forward_x.npy"), "--t", f("dit_a_forward_t.npy"),
                "--y", f("dit_a_forward_y.npy"), "-o", out.toString(), "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        Compare.assertRelL2(floats(out), TestModels.floats("dit_a_forward_out.npy").data(), 1e-5, "cli forward");

        r = ditj("forward", "--model", model.toString(), "--x", f("dit_a_cfg_x.npy"), "--t", f("dit_a_cfg_t.npy"),
                "--y", f("dit_a_cfg_y.npy"), "--cfg-scale", "4", "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        Compare.assertRelL2(floats(out), TestModels.floats("dit_a_cfg_out.npy").data(), 1e-5, "cli forward cfg");
    }

    @Test
    void decodeWritesImagePixelsAndPng() throws Exception {
        Path vae = convertVae();
        Path out = tmp.resolve("img.npy"), pixels = tmp.resolve("px.npy"), png = tmp.resolve("img.png");
        Run r = ditj("decode", "--vae", vae.toString(), "--latent", f("vae_decode_z.npy"), "-o", out.toString(),
                "--pixels", pixels.toString(), "--png", png.toString());
        assertEquals(0, r.code(), r.err());
        Compare.assertRelL2(floats(out), TestModels.floats("vae_decode_out.npy").data(), 1e-5, "cli decode");
        RawTensor px = Npy.read(pixels);
        assertEquals(Shape.of(2, 64, 64, 3), px.shape());
        byte[] b = new byte[px.data().remaining()];
        px.data().get(b);
        Compare.assertPixels(b, TestModels.bytes("vae_decode_pixels.npy"), 0.001, "cli pixels");
        Png.Decoded d = Png.decode(Files.readAllBytes(png));
        assertEquals(2 * 66 + 2, d.width());
        assertEquals(68, d.height());
    }

    @Test
    void generateWithRecordedNoiseReproducesOfficialDdpm() {
        Path model = convertDitA(), vae = convertVae();
        Path latent = tmp.resolve("latent.npy"), png = tmp.resolve("g.png");
        Run r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "1", "5",
                "--sampler", "ddpm", "--steps", "10", "--cfg-scale", "4", "--noise", f("sample_ddpm10_z.npy"),
                "--step-noise", f("sample_ddpm10_noise.npy"), "--save-latent", latent.toString(), "-o", png.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("wrote"), r.out());
        assertTrue(r.err().contains("sampling"), "progress bar on stderr: " + r.err());
        Compare.assertRelL2(floats(latent), TestModels.floats("sample_ddpm10_final.npy").data(), 1e-5, "cli generate ddpm-10");
        assertTrue(Files.exists(png));
    }

    @Test
    void generateDdimMatchesTheEndToEndPixels() throws Exception {
        Path model = convertDitA(), vae = convertVae();
        Path png = tmp.resolve("e2e.png");
        Run r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "1", "5",
                "--sampler", "ddim", "--steps", "10", "--noise", f("e2e_ddim10_z.npy"), "-o", png.toString());
        assertEquals(0, r.code(), r.err());
        Png.Decoded d = Png.decode(Files.readAllBytes(png));
        byte[] expected = TestModels.bytes("e2e_ddim10_pixels.npy"); // [2, 64, 64, 3]
        byte[] actual = new byte[expected.length];
        int w = d.width();
        for (int img = 0; img < 2; img++) {
            for (int y = 0; y < 64; y++) {
                // grid: 2 px padding, images side by side
                System.arraycopy(d.pixels(), ((2 + y) * w + 2 + img * 66) * 3, actual, (img * 64 + y) * 64 * 3, 64 * 3);
            }
        }
        Compare.assertPixels(actual, expected, 0.001, "cli e2e pixels");
    }

    @Test
    void generationDefaultsStoredByConvertAreWhatGenerateUses() {
        Path model = tmp.resolve("dit_a_defaults.safetensors"), vae = convertVae();
        Run c = ditj("convert", f("dit_a.pt"), "-o", model.toString(), "--num-heads", "2", "--generate-defaults",
                "{\"sampler\":\"ddim\",\"steps\":10,\"cfg_scale\":4,\"cfg_channels\":\"all\"}");
        assertEquals(0, c.code(), c.err());
        Path byDefault = tmp.resolve("default.npy"), explicit = tmp.resolve("explicit.npy"), official = tmp.resolve("3ch.npy");
        Run r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "1", "5",
                "--noise", f("e2e_ddim10_z.npy"), "--save-latent", byDefault.toString(), "-o", tmp.resolve("a.png").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("ddim 10 steps, cfg 4.00"), r.err());
        assertEquals(0, ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "1", "5",
                "--noise", f("e2e_ddim10_z.npy"), "--sampler", "ddim", "--steps", "10", "--cfg-scale", "4",
                "--cfg-channels", "all", "--save-latent", explicit.toString(), "-o", tmp.resolve("b.png").toString()).code());
        assertEquals(0, ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "1", "5",
                "--noise", f("e2e_ddim10_z.npy"), "--cfg-channels", "3", "--save-latent", official.toString(),
                "-o", tmp.resolve("c.png").toString()).code());
        Compare.assertRelL2(floats(byDefault), floats(explicit), 0, "stored defaults = the same options given");
        // guiding 3 channels is the official fixture; guiding all of them must differ from it
        Compare.assertRelL2(floats(official), TestModels.floats("e2e_ddim10_latent.npy").data(), 1e-5, "3 channels");
        assertTrue(Compare.relL2(floats(byDefault), floats(official)) > 1e-3, "cfg_channels all changes the result");
    }

    @Test
    void guideModelNamedByTheDefaultsAutoguidesGenerate() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("guided")), vae = convertVae();
        Path model = dir.resolve("model.safetensors"), plain = tmp.resolve("plain.safetensors");
        String settings = "\"sampler\":\"ddim\",\"steps\":10,\"cfg_scale\":4,\"cfg_channels\":\"all\"";
        assertEquals(0, ditj("convert", f("dit_a.pt"), "-o", model.toString(), "--num-heads", "2", "--generate-defaults",
                "{" + settings + ",\"guide_model\":\"guide.safetensors\",\"guide_scale\":2}").code());
        assertEquals(0, ditj("convert", f("dit_a.pt"), "-o", plain.toString(), "--num-heads", "2", "--generate-defaults",
                "{" + settings + "}").code());
        assertTrue(ditj("info", model.toString()).out().contains("autoguidance 2.0 by guide.safetensors"));
        String[] common = {"generate", "--vae", vae.toString(), "--class", "1", "5", "--noise", f("e2e_ddim10_z.npy")};

        Run missing = ditj(concat(common, "--model", model.toString(), "-o", tmp.resolve("m.png").toString()));
        assertEquals(1, missing.code(), missing.err());
        assertTrue(missing.err().contains("guide.safetensors") && missing.err().contains("not beside it"), missing.err());
        assertFalse(Files.exists(tmp.resolve("m.png")));

        Files.copy(TestModels.ditAGuide(), dir.resolve("guide.safetensors"));
        Path byDefault = tmp.resolve("ag-default.npy"), explicit = tmp.resolve("ag-explicit.npy"), off = tmp.resolve("ag-off.npy");
        Run r = ditj(concat(common, "--model", model.toString(), "--save-latent", byDefault.toString(), "-o",
                tmp.resolve("a.png").toString()));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("cfg 4.00, guide guide.safetensors 2.00"), r.err());
        Run e = ditj(concat(common, "--model", plain.toString(), "--guide-model", TestModels.ditAGuide().toString(),
                "--guide-scale", "2", "--save-latent", explicit.toString(), "-o", tmp.resolve("b.png").toString()));
        assertEquals(0, e.code(), e.err());
        Compare.assertRelL2(floats(explicit), floats(byDefault), 0, "stored guide = the same guide given");
        assertEquals(0, ditj(concat(common, "--model", model.toString(), "--guide-scale", "1", "--save-latent",
                off.toString(), "-o", tmp.resolve("c.png").toString())).code());
        assertTrue(Compare.relL2(floats(off), floats(byDefault)) > 1e-3, "--guide-scale 1 switches it off");

        Run noGuide = ditj(concat(common, "--model", plain.toString(), "--guide-scale", "2", "-o", tmp.resolve("d.png").toString()));
        assertEquals(2, noGuide.code(), noGuide.err());
        assertTrue(noGuide.err().contains("--guide-scale") && noGuide.err().contains("needs a guide model"), noGuide.err());
        Run noWeight = ditj(concat(common, "--model", plain.toString(), "--guide-model", TestModels.ditAGuide().toString(),
                "-o", tmp.resolve("d.png").toString()));
        assertEquals(2, noWeight.code(), noWeight.err());
        assertTrue(noWeight.err().contains("--guide-scale must be given"), noWeight.err());
        Run absent = ditj(concat(common, "--model", plain.toString(), "--guide-model", tmp.resolve("none.safetensors").toString(),
                "-o", tmp.resolve("d.png").toString()));
        assertEquals(1, absent.code(), absent.err());
        assertTrue(absent.err().contains("no such file (--guide-model)"), absent.err());
        Run below = ditj(concat(common, "--model", model.toString(), "--guide-scale", "0.5", "-o", tmp.resolve("d.png").toString()));
        assertEquals(2, below.code(), below.err());
        assertFalse(Files.exists(tmp.resolve("d.png")));
    }

    @Test
    void classGroupsStoredByConvertDrawTheirClassesPerImage() throws Exception {
        Path names = tmp.resolve("names.txt"), groups = tmp.resolve("groups.json");
        Files.writeString(names, "c0\nc1\nc2\nc3\nc4\nc5\nc6\nc7\nc8\nc9\n");
        Files.writeString(groups, "[{\"name\": \"low, small\", \"classes\": [0, 1, 2], \"weights\": [1, 1, 2]},"
                + " {\"name\": \"high\", \"classes\": [7, 8, 9]}]");
        Path model = tmp.resolve("grouped.safetensors"), vae = convertVae();
        Run c = ditj("convert", f("dit_a.pt"), "-o", model.toString(), "--num-heads", "2", "--class-names",
                names.toString(), "--class-groups", groups.toString());
        assertEquals(0, c.code(), c.err());
        Run info = ditj("info", model.toString());
        assertTrue(info.out().contains("groups:      low (3 classes) | high (3 classes)"), info.out());

        // Each image of a group draws its class from (seed, image index): the same images as asking for those classes.
        String[] common = {"generate", "--model", model.toString(), "--vae", vae.toString(), "--sampler", "ddim", "--steps", "3",
                "--seed", "11"};
        Path drawn = tmp.resolve("drawn.npy"), explicit = tmp.resolve("explicit.npy");
        Run r = ditj(concat(common, "--class", "small", "high", "--images", "3", "--save-latent", drawn.toString(),
                "-o", tmp.resolve("g.png").toString()));
        assertEquals(0, r.code(), r.err());
        List<ClassGroup> stored = ModelFiles.parseClassGroups(Files.readString(groups), "groups");
        String[] ids = new String[6];
        for (int i = 0; i < 6; i++) ids[i] = Integer.toString(stored.get(i / 3).draw(11, i));
        Run e = ditj(concat(common, concat(concat(new String[] {"--class"}, ids), "--images", "1", "--save-latent", explicit.toString(),
                "-o", tmp.resolve("e.png").toString())));
        assertEquals(0, e.code(), e.err());
        Compare.assertRelL2(floats(explicit), floats(drawn), 0, "group draws = their classes asked for by id");

        Run byDefault = ditj(concat(common, "-o", tmp.resolve("d.png").toString()));
        assertTrue(byDefault.err().contains(": 2 image(s) of"), byDefault.err()); // one per group

        Run noNames = ditj("convert", f("dit_a.pt"), "-o", tmp.resolve("x.safetensors").toString(), "--num-heads", "2",
                "--class-groups", groups.toString());
        assertEquals(2, noNames.code(), noNames.err());
        assertTrue(noNames.err().contains("--class-groups needs --class-names"), noNames.err());
        Files.writeString(groups, "[{\"name\": \"out\", \"classes\": [3, 10]}]");
        Path bad = tmp.resolve("bad-groups.safetensors");
        Run badId = ditj("convert", f("dit_a.pt"), "-o", bad.toString(), "--num-heads", "2", "--class-names",
                names.toString(), "--class-groups", groups.toString());
        assertEquals(1, badId.code(), badId.err());
        assertTrue(badId.err().contains("'out'") && badId.err().contains("class 10") && badId.err().contains("0..9"), badId.err());
        assertFalse(Files.exists(bad));
    }

    @Test
    void badGenerationDefaultsAreRefusedByConvert() {
        Path model = tmp.resolve("bad.safetensors");
        Run r = ditj("convert", f("dit_a.pt"), "-o", model.toString(), "--num-heads", "2", "--generate-defaults",
                "{\"sampler\":\"ddim\",\"cfg_channels\":\"most\"}");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("bad generation defaults") && r.err().contains("most"), r.err());
        assertFalse(Files.exists(model));
    }

    @Test
    void bundledModelIsTheDefaultAndListsItsCategories() {
        Run list = ditj("generate", "--list-classes");
        assertEquals(0, list.code(), list.err());
        for (String name : new String[] {"Smileys & Emotion", "People & Body", "Flags"}) {
            assertTrue(list.out().contains(name), list.out());
        }
        Path png = tmp.resolve("s.png");
        Run r = ditj("generate", "--class", "smilies", "-o", png.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--class 'smilies' is unknown") && r.err().contains("smileys (0)"), r.err());
        assertFalse(Files.exists(png));
    }

    @Test
    void unknownClassNameListsCloseMatchesAndWritesNothing() {
        Path model = tmp.resolve("dit_b.safetensors");
        assertEquals(0, ditj("convert", f("dit_b.pt"), "-o", model.toString(), "--num-heads", "4").code());
        Path vae = convertVae(), png = tmp.resolve("x.png");
        Run r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "goldfsh", "-o", png.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--class 'goldfsh' is unknown") && r.err().contains("goldfish (1)"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        assertFalse(Files.exists(png));

        Run list = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--list-classes");
        assertEquals(0, list.code(), list.err());
        assertTrue(list.out().contains("golden retriever"), list.out().substring(0, 200));
    }

    @Test
    void wrongNpyShapeIsNamedAndNothingWritten() {
        Path model = convertDitA(), out = tmp.resolve("o.npy"), bad = tmp.resolve("bad.npy");
        Npy.write(bad, RawTensor.ofFloats(new float[3 * 4 * 9 * 9], Shape.of(3, 4, 9, 9), DType.F32));
        Run r = ditj("forward", "--model", model.toString(), "--x", bad.toString(), "--t", f("dit_a_forward_t.npy"),
                "--y", f("dit_a_forward_y.npy"), "-o", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("bad.npy") && r.err().contains("[3, 4, 9, 9]") && r.err().contains("[*, 4, 8, 8]"), r.err());
        assertFalse(Files.exists(out));

        Path vae = convertVae(), png = tmp.resolve("n.png");
        r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "1", "--steps", "10",
                "--noise", f("sample_ddpm10_z.npy"), "-o", png.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("sample_ddpm10_z.npy") && r.err().contains("[2, 4, 8, 8]"), r.err());
        assertFalse(Files.exists(png));
    }

    /**
     * The tensor-core path end to end on the emulated GPU: bf16 linear layers against the CPU's fp32 on the same
     * noise (a 3-step DDIM chain; bf16 operands carry ~2^-9 relative rounding, measured 3.9e-3 for one forward), and
     * the precision recorded in the PNG.
     */
    @Test
    void bf16OnTheEmulatedGpuFollowsTheFp32Chain() throws Exception {
        Path model = convertDitA(), vae = convertVae();
        Path cpu = tmp.resolve("cpu.npy"), emu = tmp.resolve("emu.npy"), png = tmp.resolve("bf16.png");
        for (String[] run : new String[][] {{"cpu", "fp32", cpu.toString()}, {"emu", "bf16", emu.toString()}}) {
            Run r = ditj("generate", "--model", model.toString(), "--vae", vae.toString(), "--class", "1", "5",
                    "--sampler", "ddim", "--steps", "3", "--noise", f("e2e_ddim10_z.npy"), "--backend", run[0],
                    "--precision", run[1], "--save-latent", run[2], "-o", png.toString());
            assertEquals(0, r.code(), r.err());
        }
        double err = Compare.relL2(floats(emu), floats(cpu));
        assertTrue(err > 1e-6 && err < 2e-2, "bf16 differs from fp32 by rounding only: rel-L2 " + err);
        assertTrue(Png.readText(Files.readAllBytes(png)).get("ditj").contains("\"precision\":\"bf16\""));
    }

    @Test
    void missingModelFileIsAClearError() {
        Run r = ditj("info", tmp.resolve("nope.safetensors").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("nope.safetensors") && r.err().contains("no such"), r.err());
    }
}
