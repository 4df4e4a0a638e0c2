package dev.ditj.cuda;

import dev.ditj.Compare;
import dev.ditj.RandomModels;
import dev.ditj.cpu.CpuOps;
import dev.ditj.model.Dit;
import dev.ditj.model.DitConfig;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Precision;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused DiT paths on a real GPU (tag gpu): the bf16 operand producers at the small and the DiT-XL/2 shapes
 * against the CPU (bound in {@link Bf16Producers}), and an XL/2-wide DiT (random weights, depth 2, 2 samples of 256
 * tokens, the whole stacked adaLN) in BF16 against the CPU's float32 forward. The linear and linearGatedResidual
 * rows at XL/2 shapes are in CudaBf16GpuTest (bf16) and CudaOpsGpuTest (fp32).
 */
@Tag("gpu")
class CudaFusedGpuTest {
    /** As CudaBf16FixtureEmuTest: a few bf16 GEMMs' rounding (~3e-3 each) through the residual stream, 4x margin. */
    static final double FORWARD_BOUND = 2e-2;
    private static CudaOps gpu;
    private static CpuOps cpu;

    @BeforeAll
    static void setUp() {
        cpu = new CpuOps();
        gpu = new CudaOps(Devices.gpuDevice(), "cuda-bf16", Precision.BF16);
    }

    @AfterAll
    static void tearDown() {
        if (gpu != null) gpu.close();
        if (cpu != null) cpu.close();
    }

    static List<Bf16Producers.Case> producers() {
        return Stream.concat(Bf16Producers.cases(Bf16Producers.Size.SMALL).stream(),
                Bf16Producers.cases(Bf16Producers.Size.REAL).stream()).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("producers")
    void producerWritesTheBf16Operand(Bf16Producers.Case c) {
        Bf16Producers.check(c, gpu, cpu);
    }

    private static float[] forward(Ops ops, DitConfig c, WeightStore w, float[] x, float[] t, int[] y) {
        int b = t.length, s = c.inputSize();
        try (Dit dit = new Dit(c, w, ops); Dit.Workspace ws = dit.workspace(b);
             Tensor xt = ops.upload(new HostTensor(Shape.of(b, c.inChannels(), s, s), x));
             Tensor tt = ops.upload(new HostTensor(Shape.of(b), t)); Tensor yt = ops.allocInts(Shape.of(b));
             Tensor out = ops.alloc(Shape.of(b, c.outChannels(), s, s))) {
            ops.writeInts(yt, y);
            dit.forward(ws, xt, tt, yt, out);
            return ops.read(out);
        }
    }

    @Test
    void xl2WideForwardInBf16AgainstFloat32() {
        DitConfig xl = RandomModels.ditXl2(256);
        DitConfig c = new DitConfig(xl.inChannels(), xl.inputSize(), xl.patchSize(), xl.hiddenSize(), 2, xl.numHeads(),
                xl.mlpRatio(), xl.numClasses(), xl.learnSigma());
        float[] x = new float[2 * 4 * 32 * 32];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        float[] t = {999, 400};
        int[] y = {207, 1000};
        try (WeightStore w = RandomModels.dit(c, 7)) {
            float[] expected = forward(cpu, c, w, x, t, y);
            double e = Compare.assertRelL2(forward(gpu, c, w, x, t, y), expected, FORWARD_BOUND, "XL/2-wide depth 2, bf16 vs fp32");
            assertTrue(e > 1e-4, "bf16 GEMMs cannot match float32 this closely: " + e);
        }
    }
}
