package dev.ditj.bench;

import dev.ditj.cpu.CpuOps;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
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

import java.util.concurrent.TimeUnit;

/** The CPU backend's linear layer at DiT-XL/2 shapes (M = batch 2 × 256 tokens); GFLOP/s = 2·M·K·N / time. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx8g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class GemmBench {
    /** M x K x N */
    @Param({"512x1152x3456", "512x1152x4608", "512x4608x1152", "512x1152x1152", "2x1152x6912"})
    public String shape;

    @Param({"0"})
    public int threads;

    private CpuOps ops;
    private Tensor x, w, b, out;

    @Setup(Level.Trial)
    public void setUp() {
        String[] d = shape.split("x");
        int m = Integer.parseInt(d[0]), k = Integer.parseInt(d[1]), n = Integer.parseInt(d[2]);
        ops = threads > 0 ? new CpuOps(threads) : new CpuOps();
        java.util.Random r = new java.util.Random(1);
        x = ops.upload(new HostTensor(Shape.of(m, k), random(r, m * k)));
        w = ops.constant(new HostTensor(Shape.of(n, k), random(r, n * k)));
        b = ops.constant(new HostTensor(Shape.of(n), random(r, n)));
        out = ops.alloc(Shape.of(m, n));
    }

    private static float[] random(java.util.Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    @Benchmark
    public Tensor linear() {
        ops.linear(out, x, w, b, Ops.Activation.NONE);
        return out;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ops.close();
    }
}
