package dev.ditj.emu;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
 * The emulator's test kernels (kernels/tests/*.cu) as the real kernels are checked in dev.ditj.cuda.KernelPtxTest:
 * the committed PTX (kernels/tests/ptx) is packed into the test resources and is what nvcc makes today.
 */
class TestKernelPtxTest {
    private static Path dir() {
        return Path.of(System.getProperty("ditj.basedir", ".")).resolve("kernels").resolve("tests");
    }

    private static List<Path> sources() throws IOException {
        try (Stream<Path> s = Files.list(dir())) {
            return s.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
        }
    }

    @Test
    void everyTestKernelHasCommittedPtxInTheTestResources() throws IOException {
        List<Path> cu = sources();
        assertTrue(!cu.isEmpty(), "no kernels/tests/*.cu");
        for (Path src : cu) {
            String name = src.getFileName().toString().replace(".cu", ".ptx");
            assertTrue(Files.exists(dir().resolve("ptx").resolve(name)),
                    "kernels/tests/ptx/" + name + " missing: run kernels/tests/build-ptx.sh target/tptx --update");
            try (InputStream in = getClass().getResourceAsStream("/dev/ditj/emu/kernels/" + name)) {
                assertNotNull(in, name + " is not packed into the test resources");
                assertTrue(new String(in.readAllBytes(), StandardCharsets.UTF_8).contains(".target sm_80"), name);
            }
        }
    }

    @Test
    void committedPtxMatchesAFreshNvccCompile(@TempDir Path tmp) throws Exception {
        Path nvcc = findNvcc();
        Assumptions.assumeTrue(nvcc != null, "nvcc not installed: the committed PTX is used as is");
        ProcessBuilder pb = new ProcessBuilder("bash", dir().resolve("build-ptx.sh").toString(), tmp.toString());
        pb.environment().put("NVCC", nvcc.toString());
        pb.redirectErrorStream(true);
        Process proc = pb.start();
        String log = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, proc.waitFor(), "nvcc failed:\n" + log);
        List<String> stale = new ArrayList<>();
        for (Path src : sources()) {
            String name = src.getFileName().toString().replace(".cu", ".ptx");
            Path fresh = tmp.resolve(name);
            assertTrue(Files.exists(fresh), "nvcc wrote no " + name + ":\n" + log);
            if (!Files.readString(fresh).equals(Files.readString(dir().resolve("ptx").resolve(name)))) stale.add(name);
        }
        assertTrue(stale.isEmpty(), "kernels/tests/ptx is stale for " + stale + ": run kernels/tests/build-ptx.sh target/tptx --update");
    }

    private static Path findNvcc() {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path p = Path.of(d, "nvcc");
            if (Files.isExecutable(p)) return p;
        }
        Path cuda = Path.of("/usr/local/cuda/bin/nvcc");
        return Files.isExecutable(cuda) ? cuda : null;
    }
}
