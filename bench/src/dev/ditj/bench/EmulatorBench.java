package dev.ditj.bench;

import dev.ditj.cuda.Device;
import dev.ditj.emu.EmulatedDevice;
import dev.ditj.emu.KernelRig;
import dev.ditj.emu.LaunchStats;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Speed of the PTX emulator on real kernels: one launch per invocation; the auxiliary counter
 * {@code threadInstructions} is reported per second, i.e. thread-instructions/s (each warp-instruction counts its
 * active lanes). Kernels: the mma.sync/ldmatrix/cp.async GEMM (256x256x256 bf16), an fp32 SIMT tiled GEMM
 * (256x256x256), the jar's silu (1M elements),
 * a shared-memory tree reduction (1M floats) and a divergent loop (Collatz, 64K threads).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class EmulatorBench {
    @Param({"gemm", "sgemm", "silu", "reduction", "collatz"})
    public String kernel;

    /** Worker threads of the emulated device (0 = one per core). */
    @Param({"0"})
    public int threads;

    private EmulatedDevice device;
    private Device.Kernel k;
    private int[] grid, block;
    private Object[] args;
    private long insnsPerLaunch;

    /** Counters JMH reports next to the score (as rates per second). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counters {
        public long threadInstructions;
    }

    @Setup(Level.Trial)
    public void setUp() {
        device = threads > 0 ? new EmulatedDevice(threads, 1L << 30) : new EmulatedDevice();
        SplittableRandom rng = new SplittableRandom(1);
        switch (kernel) {
            case "gemm" -> {
                int m = 256, n = 256, kk = 256;
                long a = upload(halves(rng, m * kk)), b = upload(halves(rng, n * kk)), c = device.alloc(4L * m * n);
                k = device.load("emu_mma", KernelRig.ptx("emu_mma")).kernel("gemm_bf16_mma");
                grid = new int[] {n / 32, m / 64, 1};
                block = new int[] {128, 1, 1};
                args = new Object[] {c, a, b, m, n, kk};
            }
            case "sgemm" -> {
                int m = 256, n = 256, kk = 256;
                long a = upload(floats(rng, m * kk)), b = upload(floats(rng, kk * n)), c = device.alloc(4L * m * n);
                k = device.load("emu_shared", KernelRig.ptx("emu_shared")).kernel("sgemm_tiled");
                grid = new int[] {n / 64, m / 64, 1};
                block = new int[] {16, 16, 1};
                args = new Object[] {c, a, b, m, n, kk};
            }
            case "silu" -> {
                int n = 1 << 20;
                long x = upload(floats(rng, n)), out = device.alloc(4L * n);
                k = device.load("elementwise", KernelRig.ptx("/dev/ditj/kernels/elementwise.ptx")).kernel("silu_f32");
                grid = new int[] {Math.min((n + 255) / 256, 65535 * 4), 1, 1};
                block = new int[] {256, 1, 1};
                args = new Object[] {out, x, (long) n};
            }
            case "reduction" -> {
                int n = 1 << 20;
                long x = upload(floats(rng, n)), out = device.alloc(4L * (n / 256));
                k = device.load("emu_shared", KernelRig.ptx("emu_shared")).kernel("block_sum");
                grid = new int[] {n / 256, 1, 1};
                block = new int[] {256, 1, 1};
                args = new Object[] {out, x, n};
            }
            default -> {
                int n = 1 << 16;
                ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < n; i++) b.putInt(i * 4, i + 1);
                long s = upload(b), out = device.alloc(4L * n);
                k = device.load("emu_control", KernelRig.ptx("emu_control")).kernel("collatz");
                grid = new int[] {n / 256, 1, 1};
                block = new int[] {256, 1, 1};
                args = new Object[] {out, s, n};
            }
        }
        device.launch(k, grid, block, 0, args);
        insnsPerLaunch = device.lastLaunch().threadInstructions();
    }

    private long upload(ByteBuffer b) {
        long p = device.alloc(b.capacity());
        device.copyToDevice(p, b);
        return p;
    }

    private static ByteBuffer floats(SplittableRandom rng, int n) {
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) b.putFloat(i * 4, (float) rng.nextGaussian());
        return b;
    }

    private static ByteBuffer halves(SplittableRandom rng, int n) {
        ByteBuffer b = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) b.putShort(i * 2, (short) (Float.floatToRawIntBits((float) rng.nextGaussian()) >>> 16));
        return b;
    }

    @Benchmark
    public void launch(Counters c) {
        device.launch(k, grid, block, 0, args);
        c.threadInstructions += insnsPerLaunch;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        LaunchStats s = device.lastLaunch();
        System.out.println("\n" + kernel + " per launch: " + s);
        device.close();
    }

    /** Quick measurement without JMH: {@code EmulatorBench KERNEL [seconds [threads]]}. */
    public static void main(String[] a) {
        EmulatorBench b = new EmulatorBench();
        b.kernel = a.length > 0 ? a[0] : "gemm";
        b.threads = a.length > 2 ? Integer.parseInt(a[2]) : 0;
        b.setUp();
        double seconds = a.length > 1 ? Double.parseDouble(a[1]) : 5;
        for (int round = 0; round < 3; round++) {
            long t0 = System.nanoTime(), n = 0;
            while (System.nanoTime() - t0 < seconds * 1e9 / 3) {
                b.device.launch(b.k, b.grid, b.block, 0, b.args);
                n++;
            }
            double dt = (System.nanoTime() - t0) / 1e9;
            System.out.printf("%s: %d launches in %.2f s, %.1f M thread-instructions/s%n", b.kernel, n, dt, n * b.insnsPerLaunch / dt / 1e6);
        }
        System.out.println(b.device.lastLaunch());
        b.tearDown();
    }
}
