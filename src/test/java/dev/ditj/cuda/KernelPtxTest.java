package dev.ditj.cuda;

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
 * The PTX shipped in the jar is the PTX of kernels/*.cu: committed copies (kernels/ptx) are what nvcc makes from
 * the sources today, so machines without the CUDA toolkit build exactly what one with it would.
 */
class KernelPtxTest {
    private static Path kernels() {
        return Path.of(System.getProperty("ditj.basedir", ".")).resolve("kernels");
    }

    private static List<Path> sources() throws IOException {
        try (Stream<Path> s = Files.list(kernels())) {
            return s.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
        }
    }

    @Test
    void everyKernelFileHasCommittedPtxInTheJar() throws IOException {
        List<Path> cu = sources();
        assertTrue(!cu.isEmpty(), "no kernels/*.cu");
        for (Path src : cu) {
            String name = src.getFileName().toString().replace(".cu", ".ptx");
            Path committed = kernels().resolve("ptx").resolve(name);
            assertTrue(Files.exists(committed), "kernels/ptx/" + name + " missing: run kernels/build-ptx.sh target/ptx --update");
            try (InputStream in = getClass().getResourceAsStream("/dev/ditj/kernels/" + name)) {
                assertNotNull(in, name + " is not packed into the jar");
                String packed = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(packed.contains(".target sm_80"), name + " must target compute_80");
                assertTrue(packed.contains(".visible .entry"), name + " has no kernel entry");
            }
        }
    }

    @Test
    void committedPtxMatchesAFreshNvccCompile(@TempDir Path tmp) throws Exception {
        Path nvcc = findNvcc();
        Assumptions.assumeTrue(nvcc != null, "nvcc not installed: the committed PTX is used as is");
        ProcessBuilder pb = new ProcessBuilder("bash", kernels().resolve("build-ptx.sh").toString(), tmp.toString());
        pb.environment().put("NVCC", nvcc.toString());
        pb.redirectErrorStream(true);
        Process proc = pb.start();
        String log = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, proc.waitFor(), "nvcc failed:\n" + log);
        List<String> stale = new ArrayList<>();
        for (Path src : sources()) {
            String name = src.getFileName().toString().replace(".cu", ".ptx");
            if (!Files.readString(tmp.resolve(name)).equals(Files.readString(kernels().resolve("ptx").resolve(name)))) {
                stale.add(name);
            }
        }
        assertTrue(stale.isEmpty(), "kernels/ptx is stale for " + stale + ": run kernels/build-ptx.sh target/ptx --update");
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
