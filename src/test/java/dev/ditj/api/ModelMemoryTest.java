package dev.ditj.api;

import dev.ditj.DitjException;
import dev.ditj.RandomModels;
import dev.ditj.cpu.CpuOps;
import dev.ditj.model.Dit;
import dev.ditj.model.DitConfig;
import dev.ditj.model.VaeConfig;
import dev.ditj.model.VaeDecoder;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.weights.WeightStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where a loaded model's memory goes on the CPU backend: weights off the Java heap (so big models load with the
 * JVM's default heap), and a preflight that refuses what will not fit with a one-line message.
 */
class ModelMemoryTest {
    /** About 20 M parameters (82 MB as float32): big enough that a heap copy of the weights stands out. */
    private static final DitConfig DIT = new DitConfig(4, 16, 2, 512, 4, 8, 4.0, 1000, true);
    private static final VaeConfig VAE = new VaeConfig(4, 3, new int[] {64, 128, 256}, 1, 32, true, true, 0.18215, null, null);

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void ditWeightsStayOffTheHeap(DType dtype) {
        Path file = RandomModels.ditFile(DIT, 3, dtype, tmp.resolve("dit.safetensors"));
        long weights;
        try (WeightStore w = WeightStore.open(file)) {
            weights = w.floatBytes();
        }
        try (CpuOps ops = new CpuOps(2)) {
            Usage before = Usage.now();
            try (DitModel m = DitModel.load(file, ops)) {
                Usage after = Usage.now();
                assertOffHeap(before, after, weights);
                int s = DIT.inputSize();
                HostTensor out = m.forward(new HostTensor(Shape.of(1, 4, s, s), new float[4 * s * s]), new int[] {5}, new int[] {7});
                for (float v : out.data()) assertTrue(Float.isFinite(v));
            }
        }
    }

    @Test
    void vaeWeightsStayOffTheHeap() {
        Path file = RandomModels.vaeFile(VAE, 4, DType.F32, tmp.resolve("vae.safetensors"));
        long weights;
        try (WeightStore w = WeightStore.open(file)) {
            weights = w.floatBytes();
        }
        try (CpuOps ops = new CpuOps(2)) {
            Usage before = Usage.now();
            try (VaeModel m = VaeModel.load(file, ops)) {
                assertOffHeap(before, Usage.now(), weights);
            }
        }
    }

    /** The heap grew by a small fraction of the weights (biases, norms, tables), direct memory by about all. */
    private static void assertOffHeap(Usage before, Usage after, long weights) {
        long heap = after.heap - before.heap, direct = after.direct - before.direct;
        String figures = "weights " + weights + " B; heap grew " + heap + " B, direct memory " + direct + " B";
        assertTrue(heap < weights / 10, figures);
        assertTrue(direct > weights * 9 / 10 && direct < weights * 11 / 10, figures);
    }

    private record Usage(long heap, long direct) {
        static Usage now() {
            // Twice, with a pause: a collected direct buffer's memory is released by its cleaner, after the GC.
            for (int i = 0; i < 2; i++) {
                System.gc();
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            long direct = 0;
            for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
                if (pool.getName().equals("direct")) direct = pool.getMemoryUsed();
            }
            return new Usage(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(), direct);
        }
    }

    /** The preflight's estimates are what the workspaces really allocate. */
    @Test
    void activationEstimatesMatchTheWorkspaces() {
        AtomicLong floats = new AtomicLong();
        try (CpuOps cpu = new CpuOps(1)) {
            Ops counting = (Ops) Proxy.newProxyInstance(Ops.class.getClassLoader(), new Class<?>[] {Ops.class}, (p, m, a) -> {
                if (m.getName().equals("alloc")) floats.addAndGet(((Shape) a[0]).numel());
                return m.invoke(cpu, a);
            });
            try (WeightStore w = RandomModels.dit(DIT, 1); Dit dit = new Dit(DIT, w, counting)) {
                for (int batch : new int[] {1, 3}) {
                    floats.set(0);
                    dit.workspace(batch).close();
                    assertEquals(Dit.workspaceBytes(DIT, batch), floats.get() * Float.BYTES, "batch " + batch);
                }
            }
            try (WeightStore w = RandomModels.vae(VAE, 1); VaeDecoder vae = new VaeDecoder(VAE, w, counting)) {
                floats.set(0);
                vae.workspace(2, 5, 7).close();
                assertEquals(VaeDecoder.workspaceBytes(VAE, 2, 5, 7), floats.get() * Float.BYTES);
            }
        }
    }

    @Test
    void tooBigABatchFailsBeforeAllocating() {
        Path file = RandomModels.ditFile(DIT, 3, DType.BF16, tmp.resolve("dit.safetensors"));
        try (CpuOps ops = new CpuOps(1); WeightStore w = WeightStore.open(file); Dit dit = new Dit(DIT, w, ops)) {
            DitjException e = assertThrows(DitjException.class, () -> dit.workspace(1 << 20));
            assertTrue(e.getMessage().startsWith(file + ": needs "), e.getMessage());
            assertTrue(e.getMessage().contains(" GB available (the Java heap limit; use a smaller batch"), e.getMessage());
        }
    }

    /** A JVM too small for the weights: one line naming the file and the limit, exit code 1, no OutOfMemoryError. */
    @Test
    void tooLittleMemoryFailsBeforeLoading() throws IOException, InterruptedException {
        Path file = RandomModels.ditFile(DIT, 3, DType.BF16, tmp.resolve("dit.safetensors"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:MaxDirectMemorySize=32m", "-cp", System.getProperty("java.class.path"),
                "dev.ditj.cli.Main", "bench", "--backend", "cpu", "--model", file.toString(), "--warmup", "0", "--repeat", "1"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "forked ditj did not finish");
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(1, p.exitValue(), output);
        String expected = "ditj: error: " + file + ": needs 82 MB, 3\\d MB available \\(the JVM's limit for off-heap weights; "
                + "raise it with -XX:MaxDirectMemorySize=2g, with ./ditj in DITJ_JAVA_OPTS\\)";
        assertTrue(output.matches(expected), output);
        assertFalse(output.contains("OutOfMemoryError"));
    }
}
