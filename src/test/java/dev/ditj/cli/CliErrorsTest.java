package dev.ditj.cli;

import dev.ditj.TestModels;
import dev.ditj.io.Npy;
import dev.ditj.io.RawTensor;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.Shape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad invocations, one row each: the exit code (2 usage, 1 runtime), exactly one line on stderr that names the
 * option or file, no stack trace, nothing on stdout and nothing written.
 */
class CliErrorsTest {
    /** Scratch inputs (made once); every row writes into its own empty {@code out} directory. */
    static Path in;
    static String model, vae;

    @BeforeAll
    static void inputs() throws IOException {
        in = Files.createTempDirectory("ditj-cli-errors");
        model = TestModels.ditA().toString();
        vae = TestModels.vaeTiny().toString();
        writeFloats("noise_nan.npy", 1, 4, 8, 8, Float.NaN, 17);
        writeFloats("noise_ok.npy", 1, 4, 8, 8, 0.5f, -1);
        writeFloats("noise_wrong.npy", 1, 4, 9, 9, 0.5f, -1);
        writeFloats("step_noise_inf.npy", 5, 1, 4, 8, 8, Float.POSITIVE_INFINITY, 3);
        writeFloats("step_noise_wrong.npy", 4, 1, 4, 8, 8, 0.5f, -1);
        Files.writeString(in.resolve("garbage.npy"), "not an array");
        Files.writeString(in.resolve("garbage.safetensors"), "\u0010\0\0\0\0\0\0\0{not json at all");
        Files.writeString(in.resolve("a_file"), "x");
        Files.createDirectories(in.resolve("foreign"));
        Files.write(in.resolve("foreign/cat.png"), new byte[] {1});
    }

    @AfterAll
    static void cleanUp() throws IOException {
        try (Stream<Path> s = Files.walk(in)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static void writeFloats(String name, int d0, int d1, int d2, int d3, float special, int where) {
        writeFloats(name, new int[] {d0, d1, d2, d3}, special, where);
    }

    private static void writeFloats(String name, int d0, int d1, int d2, int d3, int d4, float special, int where) {
        writeFloats(name, new int[] {d0, d1, d2, d3, d4}, special, where);
    }

    private static void writeFloats(String name, int[] dims, float fill, int where) {
        Shape s = Shape.of(dims);
        float[] v = new float[Math.toIntExact(s.numel())];
        Arrays.fill(v, 0.25f);
        if (where >= 0) v[where] = fill;
        Npy.write(in.resolve(name), RawTensor.ofFloats(v, s, DType.F32));
    }

    /** One bad invocation: {@code args} ($IN = inputs, $OUT = the row's empty output directory). */
    record Row(int code, String mentions, String... args) {
        @Override
        public String toString() {
            return String.join(" ", args) + " -> " + code;
        }
    }

    private static Row usage(String mentions, String... args) {
        return new Row(2, mentions, args);
    }

    private static Row runtime(String mentions, String... args) {
        return new Row(1, mentions, args);
    }

    /** {@code generate} on the fixture model, writing into $OUT unless the row says otherwise. */
    private static String[] gen(String... more) {
        List<String> given = List.of(more);
        List<String> a = new ArrayList<>(List.of("generate", "--model", "$MODEL", "--vae", "$VAE", "--backend", "cpu"));
        if (!given.contains("--steps") && !given.contains("--respacing")) a.addAll(List.of("--steps", "5"));
        if (!given.contains("--sampler")) a.addAll(List.of("--sampler", "ddim"));
        if (!given.contains("-o") && !given.contains("--out-dir") && !given.contains("--npz")) {
            a.addAll(List.of("-o", "$OUT/x.png"));
        }
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    static Stream<Row> rows() {
        return Stream.of(
                // numbers out of range or not numbers
                usage("--steps", gen("--steps", "0")),
                usage("--steps", gen("--steps", "-3")),
                usage("--steps", gen("--steps", "1001")),
                usage("--steps", gen("--steps", "abc")),
                usage("--eta", gen("--eta", "-1")),
                usage("--eta", gen("--eta", "NaN")),
                usage("--cfg-scale", gen("--cfg-scale", "NaN")),
                usage("--cfg-scale", gen("--cfg-scale", "Infinity")),
                usage("--cfg-scale", gen("--cfg-scale", "-1")),
                usage("--images", gen("--images", "0")),
                usage("--images", gen("--images", "-5")),
                usage("--images", gen("--class", "1", "2", "3", "--images", "1000000000")),
                usage("--images", gen("--images", "99999999999")),
                usage("--batch-size", gen("--batch-size", "0")),
                usage("--grid-columns", gen("--grid-columns", "0")),
                usage("--seed", gen("--seed", "x")),
                // names and combinations
                usage("--sampler", gen("--sampler", "foo")),
                usage("--backend", gen("--backend", "gpu")),
                usage("--precision", gen("--precision", "fp8")),
                usage("--precision", gen("--precision", "bf16")),
                usage("--respacing", gen("--respacing", "abc")),
                usage("--respacing", gen("--respacing", "ddim0")),
                usage("--respacing", gen("--respacing", "2000")),
                usage("--respacing", gen("--respacing", "10", "--steps", "5")),
                usage("--respacing", gen("--sampler", "dpmpp2m", "--respacing", "5")),
                usage("--eta", gen("--sampler", "ddpm", "--eta", "0.5")),
                usage("--cfg-channels", gen("--cfg-channels", "0")),
                usage("--cfg-channels", gen("--cfg-channels", "9")),
                usage("--cfg-channels", gen("--cfg-channels", "most")),
                usage("--class", gen("--class", "10")),
                usage("--class", gen("--class", "-1")),
                usage("--class", gen("--class", "goldfish")),
                usage("Unknown option", gen("--bogus")),
                // noise arrays
                runtime("missing.npy", gen("--noise", "$IN/missing.npy")),
                runtime("noise_wrong.npy", gen("--class", "1", "--noise", "$IN/noise_wrong.npy")),
                usage("--noise", gen("--class", "1", "--noise", "$IN/noise_nan.npy")),
                runtime("garbage.npy", gen("--class", "1", "--noise", "$IN/garbage.npy")),
                runtime("step_noise_wrong.npy", gen("--class", "1", "--step-noise", "$IN/step_noise_wrong.npy")),
                usage("--step-noise", gen("--class", "1", "--step-noise", "$IN/step_noise_inf.npy")),
                // output paths
                usage("-o", gen("-o", "$IN/no-such-dir/x.png")),
                usage("-o", gen("-o", "$OUT")),
                usage("-o", gen("-o", "$OUT/x.jpg")),
                usage("--npz", gen("--npz", "$OUT/s.npy")),
                usage("--npz", gen("--npz", "$IN/no-such-dir/s.npz")),
                usage("--out-dir", gen("--out-dir", "$IN/a_file")),
                usage("--out-dir", gen("--out-dir", "$IN/no-such-dir/d")),
                usage("--out-dir", gen("--out-dir", "$IN/foreign")),
                usage("--save-latent", gen("--save-latent", "$OUT/l.txt")),
                usage("-o", gen("--images", "100000", "-o", "$OUT/grid.png")),
                // model files
                runtime("missing.safetensors", "generate", "--model", "$IN/missing.safetensors", "--vae", "$VAE", "-o", "$OUT/x.png"),
                runtime("garbage.safetensors", "generate", "--model", "$IN/garbage.safetensors", "--vae", "$VAE", "-o", "$OUT/x.png"),
                runtime("expected a dit", "generate", "--model", "$VAE", "--vae", "$VAE", "-o", "$OUT/x.png"),
                runtime("expected a vae", "generate", "--model", "$MODEL", "--vae", "$MODEL", "-o", "$OUT/x.png"),
                // other commands
                usage("--x", "forward", "--model", "$MODEL", "--t", "$IN/noise_ok.npy", "--y", "$IN/noise_ok.npy", "-o", "$OUT/o.npy"),
                runtime("noise_ok.npy", "forward", "--model", "$MODEL", "--x", "$IN/noise_ok.npy", "--t", "$IN/noise_ok.npy",
                        "--y", "$IN/noise_ok.npy", "-o", "$OUT/o.npy"),
                runtime("missing.pt", "convert", "$IN/missing.pt", "-o", "$OUT/m.safetensors"),
                usage("--dtype", "convert", "$IN/garbage.npy", "-o", "$OUT/m.safetensors", "--dtype", "int4"),
                runtime("garbage.safetensors", "info", "$IN/garbage.safetensors"),
                usage("--latent", "decode", "--vae", "$VAE", "-o", "$OUT/o.npy"),
                runtime("garbage.npy", "decode", "--vae", "$VAE", "--latent", "$IN/garbage.npy", "-o", "$OUT/o.npy"),
                usage("'paint'", "paint"));
    }

    @Test
    void atLeastFortyRows() {
        assertTrue(rows().count() >= 40, "the table covers " + rows().count() + " invocations");
    }

    @ParameterizedTest
    @MethodSource("rows")
    void badInvocation(Row row) throws IOException {
        Path out = Files.createTempDirectory(in, "out");
        String[] args = Arrays.stream(row.args()).map(a -> a.replace("$MODEL", model).replace("$VAE", vae)
                .replace("$IN", in.toString()).replace("$OUT", out.toString())).toArray(String[]::new);
        CliTest.Run r = CliTest.ditj(args);
        assertEquals(row.code(), r.code(), "exit code; stderr: " + r.err());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), "one line on stderr: " + r.err());
        assertTrue(err.startsWith("ditj: error: "), err);
        assertTrue(err.toLowerCase().contains(row.mentions().toLowerCase()), "names " + row.mentions() + ": " + err);
        assertFalse(err.contains("Exception") || err.contains("\tat "), "no stack trace or exception names: " + err);
        assertEquals("", r.out(), "nothing on stdout");
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(List.of(), s.toList(), "nothing written");
        }
    }
}
