package dev.ditj.bench;

import dev.ditj.RandomModels;
import dev.ditj.cpu.CpuOps;
import dev.ditj.model.Dit;
import dev.ditj.model.DitConfig;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;
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

/** One DiT forward on the CPU backend (random weights: time does not depend on values). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx12g"})
@Warmup(iterations = 2)
@Measurement(iterations = 5)
public class DitForwardBench {
    @Param({"DiT-XL/2"})
    public String model;

    @Param({"256"})
    public int imageSize;

    @Param({"2"})
    public int batch;

    @Param({"0"})
    public int threads;

    private CpuOps ops;
    private Dit dit;
    private Dit.Workspace ws;
    private Tensor x, t, y, out;

    static DitConfig config(String model, int imageSize) {
        int latent = imageSize / 8;
        switch (model) {
            case "DiT-S/2": return new DitConfig(4, latent, 2, 384, 12, 6, 4.0, 1000, true);
            case "DiT-B/2": return new DitConfig(4, latent, 2, 768, 12, 12, 4.0, 1000, true);
            case "DiT-L/2": return new DitConfig(4, latent, 2, 1024, 24, 16, 4.0, 1000, true);
            case "DiT-XL/2": return RandomModels.ditXl2(imageSize);
            default: throw new IllegalArgumentException(model);
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        DitConfig c = config(model, imageSize);
        ops = threads > 0 ? new CpuOps(threads) : new CpuOps();
        try (WeightStore w = RandomModels.dit(c, 7)) {
            dit = new Dit(c, w, ops);
        }
        int s = c.inputSize();
        float[] xs = new float[batch * 4 * s * s];
        java.util.Random r = new java.util.Random(3);
        for (int i = 0; i < xs.length; i++) xs[i] = (float) r.nextGaussian();
        x = ops.upload(new HostTensor(Shape.of(batch, 4, s, s), xs));
        t = ops.upload(new HostTensor(Shape.of(batch), new float[batch]));
        y = ops.allocInts(Shape.of(batch));
        out = ops.alloc(Shape.of(batch, c.outChannels(), s, s));
        ws = dit.workspace(batch);
    }

    @Benchmark
    public Tensor forward() {
        dit.forward(ws, x, t, y, out);
        return out;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ops.close();
    }
}
