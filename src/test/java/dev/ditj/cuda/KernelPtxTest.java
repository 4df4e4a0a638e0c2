package dev.ditj.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PTX the build packs is the PTX of the CUDA sources: for the real kernels (kernels/*.cu, in the jar) and the
 * emulator's test kernels (kernels/tests/*.cu, in the test resources), the committed copies in ptx/ are what nvcc
 * makes from the sources today, so machines without the CUDA toolkit build exactly what one with it would.
 */
class KernelPtxTest {
    private static Path folder(String sub) {
        Path k = Path.of(System.getProperty("ditj.basedir", ".")).resolve("kernels");
        return sub.isEmpty() ? k : k.resolve(sub);
    }

    private static List<Path> sources(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
        }
    }

    @ParameterizedTest(name = "kernels/{0}")
    @CsvSource({"'', /dev/ditj/kernels/", "tests, /dev/ditj/emu/kernels/"})
    void everyKernelFileHasCommittedPtxThatIsPacked(String sub, String resource) throws IOException {
        List<Path> cu = sources(folder(sub));
        assertTrue(!cu.isEmpty(), "no .cu files in " + folder(sub));
        for (Path src : cu) {
            String name = src.getFileName().toString().replace(".cu", ".ptx");
            assertTrue(Files.exists(folder(sub).resolve("ptx").resolve(name)), name + " missing from ptx/: run "
                    + "kernels/build-ptx.sh target/ptx --update" + (sub.isEmpty() ? "" : " --tests"));
            try (InputStream in = getClass().getResourceAsStream(resource + name)) {
                assertNotNull(in, name + " is not packed");
                String packed = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(packed.contains(".target sm_80"), name + " must target compute_80");
                assertTrue(packed.contains(".visible .entry"), name + " has no kernel entry");
            }
        }
    }

    @ParameterizedTest(name = "kernels/{0}")
    @CsvSource({"''", "tests"})
    void committedPtxMatchesAFreshNvccCompile(String sub, @TempDir Path tmp) throws Exception {
        Path nvcc = findNvcc();
        Assumptions.assumeTrue(nvcc != null, "nvcc not installed: the committed PTX is used as is");
        List<String> cmd = new ArrayList<>(List.of("bash", folder("").resolve("build-ptx.sh").toString(), tmp.toString()));
        if (!sub.isEmpty()) cmd.add("--tests");
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("NVCC", nvcc.toString());
        pb.redirectErrorStream(true);
        Process proc = pb.start();
        String log = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, proc.waitFor(), "nvcc failed:\n" + log);
        List<String> stale = new ArrayList<>();
        for (Path src : sources(folder(sub))) {
            String name = src.getFileName().toString().replace(".cu", ".ptx");
            if (!Files.readString(tmp.resolve(name)).equals(Files.readString(folder(sub).resolve("ptx").resolve(name)))) {
                stale.add(name);
            }
        }
        assertTrue(stale.isEmpty(), "committed PTX is stale for " + stale + ": run kernels/build-ptx.sh target/ptx --update"
                + (sub.isEmpty() ? "" : " --tests"));
    }

    private static Path findNvcc() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path p = Path.of(dir, "nvcc");
            if (Files.isExecutable(p)) return p;
        }
        Path cuda = Path.of("/usr/local/cuda/bin/nvcc");
        return Files.isExecutable(cuda) ? cuda : null;
    }
}
