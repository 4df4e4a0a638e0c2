package dev.ditj.bench;

import dev.ditj.cuda.CudaException;
import dev.ditj.cuda.Device;
import dev.ditj.cuda.JCudaDevice;
import dev.ditj.emu.EmulatedDevice;
import dev.ditj.emu.KernelRig;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * The timings {@code tools/device-check} records (markdown table rows on stdout):
 * <ul>
 *   <li>{@code probe}: prints the CUDA device name, or "no CUDA device: ..." and exits with 2;</li>
 *   <li>{@code gpu}: kernel times on the CUDA device, from events, best of N launches;</li>
 *   <li>{@code emu}: the emulator's thread-instructions/s on the same kernels (smaller shapes).</li>
 * </ul>
 */
public final class DeviceCheckBench {
    private DeviceCheckBench() {
    }

    public static void main(String[] args) {
        String mode = args.length > 0 ? args[0] : "probe";
        switch (mode) {
            case "probe" -> {
                try (JCudaDevice d = JCudaDevice.open()) {
                    System.out.println(d.name());
                } catch (CudaException e) {
                    System.out.println(e.getMessage());
                    System.exit(2);
                }
            }
            case "gpu" -> {
                try (JCudaDevice d = JCudaDevice.open()) {
                    System.out.println("| kernel | shape | best time (ms) | throughput |");
                    System.out.println("|---|---|---|---|");
                    gemm(d, 2048, 2048, 2048, 20, true);
                    elementwise(d, 1 << 24, 20, true);
                }
            }
            case "emu" -> {
                try (EmulatedDevice d = new EmulatedDevice()) {
                    System.out.println("| kernel (emulator, " + Runtime.getRuntime().availableProcessors() + " threads) | shape | time per launch (ms) | thread-instructions/s |");
                    System.out.println("|---|---|---|---|");
                    gemm(d, 256, 256, 256, 20, false);
                    elementwise(d, 1 << 20, 10, false);
                }
            }
            default -> throw new IllegalArgumentException("mode: probe, gpu or emu");
        }
    }

    private static long upload(Device d, ByteBuffer b) {
        long p = d.alloc(b.capacity());
        d.copyToDevice(p, b);
        return p;
    }

    /** Best time of {@code reps} launches in ms (events on a GPU, wall time on the emulator). */
    private static double time(Device d, Runnable launch, int reps) {
        launch.run();
        d.synchronize();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < reps; i++) {
            try (Device.Event a = d.createEvent(); Device.Event b = d.createEvent()) {
                d.record(a);
                launch.run();
                d.record(b);
                d.synchronize();
                best = Math.min(best, d.elapsedMillis(a, b));
            }
        }
        return best;
    }

    private static void row(Device d, String kernel, String shape, double ms, String gpuRate) {
        if (d instanceof EmulatedDevice e) {
            long insns = e.lastLaunch().threadInstructions();
            System.out.printf("| %s | %s | %.1f | %.0f M |%n", kernel, shape, ms, insns / ms / 1e3);
        } else {
            System.out.printf("| %s | %s | %.3f | %s |%n", kernel, shape, ms, gpuRate);
        }
    }

    private static void gemm(Device d, int m, int n, int k, int reps, boolean gpu) {
        SplittableRandom rng = new SplittableRandom(1);
        ByteBuffer a = ByteBuffer.allocateDirect(2 * m * k).order(ByteOrder.LITTLE_ENDIAN), b = ByteBuffer.allocateDirect(2 * n * k).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < m * k; i++) a.putShort(2 * i, (short) (Float.floatToRawIntBits((float) rng.nextGaussian()) >>> 16));
        for (int i = 0; i < n * k; i++) b.putShort(2 * i, (short) (Float.floatToRawIntBits((float) rng.nextGaussian()) >>> 16));
        long pa = upload(d, a), pb = upload(d, b), pc = d.alloc(4L * m * n);
        Device.Kernel kern = d.load("emu_mma", KernelRig.ptx("emu_mma")).kernel("gemm_bf16_mma");
        double ms = time(d, () -> d.launch(kern, new int[] {n / 32, m / 64, 1}, new int[] {128, 1, 1}, 0, pc, pa, pb, m, n, k), reps);
        row(d, "gemm_bf16_mma (test kernel: mma.sync + ldmatrix + cp.async)", m + "x" + n + "x" + k, ms,
                String.format("%.1f TFLOP/s", 2.0 * m * n * k / ms / 1e9));
        d.free(pa);
        d.free(pb);
        d.free(pc);
    }

    private static void elementwise(Device d, int n, int reps, boolean gpu) {
        long x = d.alloc(4L * n), y = d.alloc(4L * n), out = d.alloc(4L * n);
        d.memset32(x, Float.floatToRawIntBits(0.5f), n);
        d.memset32(y, Float.floatToRawIntBits(-1.5f), n);
        Device.Module mod = d.load("elementwise", KernelRig.ptx("/dev/ditj/kernels/elementwise.ptx"));
        Device.Kernel silu = mod.kernel("silu_f32"), add = mod.kernel("add_f32");
        int[] grid = {Math.min((n + 255) / 256, 65535 * 4), 1, 1}, block = {256, 1, 1};
        double ms = time(d, () -> d.launch(silu, grid, block, 0, out, x, (long) n), reps);
        row(d, "silu_f32", n + " floats", ms, String.format("%.0f GB/s", 8.0 * n / ms / 1e6));
        ms = time(d, () -> d.launch(add, grid, block, 0, out, x, y, (long) n), reps);
        row(d, "add_f32", n + " floats", ms, String.format("%.0f GB/s", 12.0 * n / ms / 1e6));
        d.free(x);
        d.free(y);
        d.free(out);
    }
}
