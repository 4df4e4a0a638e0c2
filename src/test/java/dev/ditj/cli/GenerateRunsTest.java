package dev.ditj.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.ditj.TestModels;
import dev.ditj.api.GenerationInfo;
import dev.ditj.api.SampleFolder;
import dev.ditj.image.Png;
import dev.ditj.io.Npy;
import dev.ditj.io.RawTensor;
import dev.ditj.tensor.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs of many images: micro-batches, one PNG per image with resume, the FID npz, latents, PNG parameters. */
class GenerateRunsTest {
    @TempDir
    Path tmp;

    private static List<String> base(String... more) {
        List<String> a = new ArrayList<>(List.of("generate", "--model", TestModels.ditA().toString(), "--vae",
                TestModels.vaeTiny().toString(), "--backend", "cpu", "--sampler", "ddim", "--steps", "3",
                "--class", "1", "5", "--images", "3", "--seed", "11"));
        a.addAll(List.of(more));
        return a;
    }

    private static CliTest.Run ok(List<String> args) {
        CliTest.Run r = CliTest.ditj(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return r;
    }

    private static byte[] pixels(Path png) throws IOException {
        return Png.decode(Files.readAllBytes(png)).pixels();
    }

    /** arr_0 of an npz, read with the JDK's zip reader and ditj's npy reader. */
    private static RawTensor npzArray(Path npz) throws IOException {
        try (ZipFile z = new ZipFile(npz.toFile())) {
            List<String> names = z.stream().map(ZipEntry::getName).toList();
            assertEquals(List.of("arr_0.npy"), names);
            try (InputStream in = z.getInputStream(z.getEntry("arr_0.npy"))) {
                return Npy.read(in, "arr_0.npy");
            }
        }
    }

    private static byte[] bytes(RawTensor t) {
        byte[] b = new byte[t.data().remaining()];
        t.data().duplicate().get(b);
        return b;
    }

    @Test
    void batchSizeDoesNotChangeTheImages() throws IOException {
        Path one = tmp.resolve("one"), three = tmp.resolve("three"), all = tmp.resolve("all");
        ok(base("--out-dir", one.toString(), "--batch-size", "1"));
        ok(base("--out-dir", three.toString(), "--batch-size", "4"));
        ok(base("--out-dir", all.toString()));
        for (int i = 0; i < 6; i++) {
            String name = String.format("%06d.png", i);
            assertArrayEquals(pixels(one.resolve(name)), pixels(three.resolve(name)), "image " + i + ", batch 1 vs 4");
            assertArrayEquals(pixels(one.resolve(name)), pixels(all.resolve(name)), "image " + i + ", batch 1 vs default");
        }
        assertFalse(Arrays.equals(pixels(one.resolve("000000.png")), pixels(one.resolve("000001.png"))),
                "images of one class differ (own noise)");
    }

    @Test
    void outDirResumesWithTheSameImagesAndTheNpzHoldsThemAll() throws IOException {
        Path dir = tmp.resolve("run"), npz = tmp.resolve("samples.npz"), grid = tmp.resolve("grid.png");
        ok(base("--out-dir", dir.toString(), "--batch-size", "2"));
        byte[][] first = new byte[6][];
        for (int i = 0; i < 6; i++) first[i] = Files.readAllBytes(dir.resolve(String.format("%06d.png", i)));
        Files.delete(dir.resolve("000002.png"));
        Files.delete(dir.resolve("000005.png"));

        CliTest.Run r = ok(base("--out-dir", dir.toString(), "--batch-size", "2", "--npz", npz.toString(),
                "-o", grid.toString()));
        assertTrue(r.err().contains("4 already in"), r.err());
        assertTrue(r.out().contains("2 new of 6"), r.out());
        for (int i = 0; i < 6; i++) {
            assertArrayEquals(first[i], Files.readAllBytes(dir.resolve(String.format("%06d.png", i))),
                    "image " + i + " identical after resume (regenerated: 2 and 5)");
        }
        RawTensor arr = npzArray(npz);
        assertEquals(Shape.of(6, 64, 64, 3), arr.shape());
        assertEquals(dev.ditj.tensor.DType.U8, arr.dtype());
        byte[] all = bytes(arr);
        for (int i = 0; i < 6; i++) {
            assertArrayEquals(Png.decode(first[i]).pixels(), Arrays.copyOfRange(all, i * 64 * 64 * 3, (i + 1) * 64 * 64 * 3),
                    "npz image " + i);
        }
        assertTrue(Files.exists(grid));

        // nothing missing: the npz is rebuilt from the folder alone
        Path again = tmp.resolve("again.npz");
        ok(base("--out-dir", dir.toString(), "--npz", again.toString()));
        assertArrayEquals(all, bytes(npzArray(again)));
    }

    @Test
    void aFolderHoldingAnotherRunIsRefused() throws IOException {
        Path dir = tmp.resolve("run");
        ok(base("--out-dir", dir.toString()));
        List<String> args = base("--out-dir", dir.toString());
        args.set(args.indexOf("11"), "12"); // another seed
        CliTest.Run r = CliTest.ditj(args.toArray(String[]::new));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--out-dir") && r.err().contains("seed"), r.err());
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(7, s.count(), "6 images + manifest, untouched");
        }
        JsonObject manifest = JsonParser.parseString(Files.readString(dir.resolve(SampleFolder.MANIFEST))).getAsJsonObject();
        assertEquals(11, manifest.get("seed").getAsInt());
        assertEquals(6, manifest.get("images").getAsInt());
    }

    @Test
    void pngsSayHowTheyWereMade() throws IOException {
        Path dir = tmp.resolve("run"), grid = tmp.resolve("grid.png");
        ok(base("--out-dir", dir.toString(), "-o", grid.toString(), "--cfg-scale", "3"));
        Map<String, String> text = Png.readText(Files.readAllBytes(dir.resolve("000004.png")));
        JsonObject o = JsonParser.parseString(text.get(GenerationInfo.PNG_KEY)).getAsJsonObject();
        assertEquals(5, o.get("class").getAsInt());
        assertEquals(4, o.get("image_index").getAsInt());
        assertEquals(11, o.get("seed").getAsLong());
        assertEquals("ddim", o.get("sampler").getAsString());
        assertEquals(3, o.get("steps").getAsInt());
        assertEquals(3.0, o.get("cfg_scale").getAsDouble());
        assertEquals(3, o.get("cfg_channels").getAsInt());
        assertEquals("dit_a.safetensors", o.get("model").getAsString());
        assertEquals(64, o.get("model_sha256").getAsString().length());
        assertEquals(64, o.get("vae_sha256").getAsString().length());
        assertEquals("fp32", o.get("precision").getAsString());
        assertEquals("cpu", o.get("backend").getAsString());
        assertNotNull(o.get("ditj_version"));
        assertTrue(text.get(GenerationInfo.PNG_PARAMETERS_KEY).contains("Steps: 3, Sampler: ddim, CFG scale: 3.0"),
                text.get(GenerationInfo.PNG_PARAMETERS_KEY));

        JsonObject g = JsonParser.parseString(Png.readText(Files.readAllBytes(grid)).get(GenerationInfo.PNG_KEY))
                .getAsJsonObject();
        assertEquals("[1,1,1,5,5,5]", g.get("classes").toString());
        assertEquals("[0,1,2,3,4,5]", g.get("image_indices").toString());

        CliTest.Run info = ok(List.of("info", dir.resolve("000004.png").toString()));
        assertTrue(info.out().contains("seed:") && info.out().contains("11") && info.out().contains("image_index:"),
                info.out());
        // the text entries leave the pixels alone
        assertEquals(64 * 64 * 3, pixels(dir.resolve("000004.png")).length);
    }

    @Test
    void latentsStreamToOneArray() {
        Path streamed = tmp.resolve("l.npy"), single = tmp.resolve("s.npy");
        ok(base("--batch-size", "2", "--save-latent", streamed.toString(), "-o", tmp.resolve("a.png").toString()));
        ok(base("--batch-size", "6", "--save-latent", single.toString(), "-o", tmp.resolve("b.png").toString()));
        RawTensor a = Npy.read(streamed), b = Npy.read(single);
        assertEquals(Shape.of(6, 4, 8, 8), a.shape());
        assertArrayEquals(a.toFloats(), b.toFloats(), 0f);
    }

    @Test
    void oversizedGridIsRefused() {
        List<String> args = base("-o", tmp.resolve("g.png").toString());
        args.set(args.indexOf("--images") + 1, "100000");
        CliTest.Run r = CliTest.ditj(args.toArray(String[]::new));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--out-dir"), r.err());
    }
}
