package dev.ditj.bench;

import dev.ditj.cpu.CpuOps;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;

/** Scratch GEMM timing (development aid). */
public final class GemmTiming {
    public static void main(String[] args) {
        int m = Integer.parseInt(args[0]), k = Integer.parseInt(args[1]), n = Integer.parseInt(args[2]);
        Ops.Activation act = args.length > 3 ? Ops.Activation.valueOf(args[3]) : Ops.Activation.NONE;
        int threads = args.length > 4 ? Integer.parseInt(args[4]) : 2;
        try (CpuOps ops = new CpuOps(threads)) {
            Tensor x = ops.upload(new HostTensor(Shape.of(m, k), rand(m * k)));
            Tensor w = ops.constant(new HostTensor(Shape.of(n, k), rand(n * k)));
            Tensor b = ops.constant(new HostTensor(Shape.of(n), rand(n)));
            Tensor out = ops.alloc(Shape.of(m, n));
            for (int i = 0; i < 10; i++) {
                long t0 = System.nanoTime();
                int reps = 5;
                for (int r = 0; r < reps; r++) ops.linear(out, x, w, b, act);
                double s = (System.nanoTime() - t0) / 1e9 / reps;
                System.out.printf("%dx%dx%d %s: %.2f ms, %.1f GFLOP/s%n", m, k, n, act, s * 1e3, 2.0 * m * n * k / s / 1e9);
            }
        }
    }

    static float[] rand(int n) {
        float[] v = new float[n];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }
}
