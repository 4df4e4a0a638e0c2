package dev.ditj.cuda;

import dev.ditj.RandomModels;
import dev.ditj.emu.EmulatedDevice;
import dev.ditj.emu.LaunchStats;
import dev.ditj.model.Dit;
import dev.ditj.model.DitConfig;
import dev.ditj.sampling.DdimSampler;
import dev.ditj.sampling.GaussianDiffusion;
import dev.ditj.sampling.GuidedDit;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Precision;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Kernel launches and global traffic of one guided DDIM step of DiT-XL/2 at 256 px (one image: the model runs on
 * 2 samples of 256 tokens) in BF16 on the emulator, per kernel. The emulator runs XL/2-wide models of depth 1 and 2
 * with random weights; a block costs the difference, so depth 28 costs d1 + 27·(d2 − d1), except the stacked
 * adaLN GEMM, whose plan depends on the depth: it is run on its own at depths 1, 2 and 28 and swapped in. Traffic
 * is the emulator's sectors × 32 (SM ↔ L2, no cache modelled: a GEMM's operands count once per block that reads
 * them).
 * Tagged long (several minutes): {@code mvn -Plong test -Dtest=DitStepTrafficTest}.
 */
@Tag("long")
class DitStepTrafficTest {
    private static final int DEPTH = 28;

    /** Per kernel: {launches, traffic bytes} of one step of an XL/2-wide model of the given depth. */
    private static Map<String, long[]> step(int depth) {
        DitConfig xl = RandomModels.ditXl2(256);
        DitConfig c = new DitConfig(xl.inChannels(), xl.inputSize(), xl.patchSize(), xl.hiddenSize(), depth, xl.numHeads(),
                xl.mlpRatio(), xl.numClasses(), xl.learnSigma());
        EmulatedDevice emu = new EmulatedDevice().efficiencyCounters(true);
        try (CudaOps ops = new CudaOps(emu, "emu-bf16", Precision.BF16); WeightStore w = RandomModels.dit(c, 1);
             Dit dit = new Dit(c, w, ops); GuidedDit model = new GuidedDit(dit, new int[] {207}, 4f, 3);
             Tensor x = ops.upload(new HostTensor(Shape.of(1, 4, 32, 32), new float[4 * 32 * 32]));
             Tensor pred = ops.alloc(Shape.of(1, 8, 32, 32))) {
            DdimSampler s = new DdimSampler(GaussianDiffusion.create("10"), 0);
            model.prepare(new int[] {999});
            emu.resetStats();
            model.predict(x, 0, pred);
            ops.ddimStep(x, pred, null, s.coefficients(9));
            ops.synchronize();
            return counts(emu);
        }
    }

    private static Map<String, long[]> counts(EmulatedDevice emu) {
        Map<String, long[]> m = new TreeMap<>();
        for (Map.Entry<String, LaunchStats> e : emu.statsByKernel().entrySet()) {
            m.put(e.getKey(), new long[] {e.getValue().launches(), e.getValue().globalTrafficBytes()});
        }
        return m;
    }

    /** The stacked adaLN linear of an XL/2-wide model of the given depth on its own: SiLU(c) [2, H] in bf16. */
    private static Map<String, long[]> adaLn(int depth) {
        int h = 1152, n = (6 * depth + 2) * h;
        EmulatedDevice emu = new EmulatedDevice().efficiencyCounters(true);
        try (CudaOps ops = new CudaOps(emu, "emu-bf16", Precision.BF16);
             Tensor w = ops.constant(new HostTensor(Shape.of(n, h), new float[n * h]), Ops.ConstantKind.LINEAR_WEIGHT);
             Tensor b = ops.alloc(Shape.of(n)); Tensor x = ops.alloc(Shape.of(2, h), Ops.ActivationKind.LINEAR_INPUT);
             Tensor out = ops.alloc(Shape.of(2, n))) {
            ops.write(x, new float[2 * h]);
            emu.resetStats();
            ops.linear(out, x, w, b, Ops.Activation.NONE);
            ops.synchronize();
            return counts(emu);
        }
    }

    private static long[] get(Map<String, long[]> m, String k) {
        return m.getOrDefault(k, new long[2]);
    }

    @Test
    void launchesAndTrafficPerStep() {
        Map<String, long[]> d1 = step(1), d2 = step(2), a1 = adaLn(1), a2 = adaLn(2), a28 = adaLn(DEPTH);
        TreeSet<String> names = new TreeSet<>(d1.keySet());
        names.addAll(d2.keySet());
        names.addAll(a28.keySet());
        long launches = 0, traffic = 0, gemmTraffic = 0;
        System.out.printf("DiT-XL/2 256 px, guided DDIM step (2 samples), BF16, emulated; depth %d = d1 + %d·(d2 - d1)%n", DEPTH, DEPTH - 1);
        System.out.printf("%-32s %9s %12s%n", "kernel", "launches", "traffic MB");
        for (String k : names) {
            long[] t = new long[2];
            for (int i = 0; i < 2; i++) {
                long one = get(d1, k)[i] - get(a1, k)[i], two = get(d2, k)[i] - get(a2, k)[i];
                t[i] = one + (DEPTH - 1) * (two - one) + get(a28, k)[i];
            }
            long l = t[0];
            System.out.printf("%-32s %9d %12.1f%n", k, l, t[1] / 1e6);
            launches += l;
            traffic += t[1];
            if (k.startsWith("linear_bf16_")) gemmTraffic += t[1];
        }
        System.out.printf("%-32s %9d %12.1f (GEMM kernels %.1f, others %.1f)%n", "total", launches, traffic / 1e6,
                gemmTraffic / 1e6, (traffic - gemmTraffic) / 1e6);
        // per block: LN, qkv, attention (+ its rounding pass), proj + residual, LN, fc1, fc2 + residual, and the
        // split-K reductions GemmPlan picks for proj and fc2; no operand conversion left but attention's
        long perBlock = 0;
        for (String k : names) perBlock += get(d2, k)[0] - get(a2, k)[0] - get(d1, k)[0] + get(a1, k)[0];
        System.out.println("launches per block: " + perBlock);
        assertTrue(perBlock <= 10, "launches per block: " + perBlock);
        assertEquals(1, d2.get("convert_bf16_rows")[0] - d1.get("convert_bf16_rows")[0], "conversion passes per block");
    }
}
