package dev.ditj.bench;

import dev.ditj.RandomModels;
import dev.ditj.cpu.CpuOps;
import dev.ditj.model.VaeConfig;
import dev.ditj.model.VaeDecoder;
import dev.ditj.model.VaeWorkspace;
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

/** The SD VAE decoder (kl-f8, 128/256/512/512) on the CPU backend, one image. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx12g"})
@Warmup(iterations = 1)
@Measurement(iterations = 3)
public class VaeDecodeBench {
    @Param({"256"})
    public int imageSize;

    private CpuOps ops;
    private VaeDecoder vae;
    private VaeWorkspace ws;
    private Tensor z, image;

    @Setup(Level.Trial)
    public void setUp() {
        VaeConfig c = RandomModels.sdVae();
        ops = new CpuOps();
        try (WeightStore w = RandomModels.vae(c, 5)) {
            vae = new VaeDecoder(c, w, ops);
        }
        int s = imageSize / 8;
        float[] zs = new float[4 * s * s];
        java.util.Random r = new java.util.Random(3);
        for (int i = 0; i < zs.length; i++) zs[i] = (float) r.nextGaussian();
        z = ops.upload(new HostTensor(Shape.of(1, 4, s, s), zs));
        image = ops.alloc(Shape.of(1, 3, imageSize, imageSize));
        ws = vae.workspace(1, s, s);
    }

    @Benchmark
    public Tensor decode() {
        vae.decode(ws, z, image);
        return image;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ops.close();
    }
}
