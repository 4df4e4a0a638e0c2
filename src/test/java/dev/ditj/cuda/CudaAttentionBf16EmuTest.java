package dev.ditj.cuda;

import dev.ditj.Compare;
import dev.ditj.cpu.CpuOps;
import dev.ditj.emu.EmulatedDevice;
import dev.ditj.emu.LaunchStats;
import dev.ditj.ops.OpCases;
import dev.ditj.ops.OpHarness;
import dev.ditj.tensor.FloatFormats;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Precision;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tensor-core attention (kernels/attention_bf16.cu) on the emulator, against the CPU backend.
 *
 * <p>Bounds. Fed bf16 values, both backends score the same q·k exactly (bf16 products are exact in fp32) up to the
 * order of fp32 sums; the softmax runs in fp32 on both (2^x by ex2.approx here, within 2 ulp); the one rounding of
 * the kernel's own is P to bf16 for P·V, a relative error of at most 2⁻⁸ and about 1.6e-3 rms per weight, which
 * random values carry into the output at that relative size (measured 1.2e-3 to 1.5e-3, also at the real shapes):
 * 5e-3 ({@link #SAME_OPERANDS}, the op table's tolerance) leaves over 3x. Fed float32 values, q, k and v are rounded
 * to bf16 as well: score errors of about √2·1.6e-3·|s| perturb the weights, v's rounding adds 1.6e-3 (measured
 * 2.8e-3 to 3.0e-3): {@link #FP32_OPERANDS} = 1e-2.
 *
 * <p>Efficiency (the emulator's counters): no shared-memory bank conflicts (cp.async stores, ldmatrix; the kernel has
 * no other shared accesses); cp.async sector efficiency at least 90 % (hd 72 reaches exactly 144/160: a head's row
 * spans 5 sectors, see the kernel header; the others 100 %) and full sectors on the stores.
 */
class CudaAttentionBf16EmuTest {
    static final double SAME_OPERANDS = 5e-3, FP32_OPERANDS = 1e-2, MIN_SECTOR_EFFICIENCY = 0.9;
    private static CudaOps bf16;
    private static CpuOps cpu;

    @BeforeAll
    static void setUp() {
        bf16 = Devices.emulated(Precision.BF16);
        cpu = new CpuOps();
    }

    @AfterAll
    static void tearDown() {
        if (bf16 != null) bf16.close();
        cpu.close();
    }

    static List<OpCases.Case> cases() {
        return OpCases.attentionBf16(OpCases.Size.SMALL);
    }

    /** Every head dim with and without a tensor-core kernel, tails of query and key tiles, scales of either sign. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void opTableWithBf16Values(OpCases.Case c) {
        OpHarness.check(c, bf16, cpu);
    }

    private static EmulatedDevice emulator() {
        return (EmulatedDevice) bf16.device();
    }

    private static float[] values(long seed, int n, boolean bf16Values) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (Math.sqrt(3) * (2 * rng.nextDouble() - 1));
            if (bf16Values) v[i] = FloatFormats.bf16ToFloat(FloatFormats.floatToBf16(v[i]));
        }
        return v;
    }

    /** attention on a backend, output NaN-poisoned first. */
    private static float[] attention(Ops ops, float[] qkv, int batch, int tokens, int heads, int hd, float scale) {
        int h = heads * hd;
        float[] nan = new float[batch * tokens * h];
        Arrays.fill(nan, Float.NaN);
        try (Tensor in = ops.upload(new HostTensor(Shape.of(batch * tokens, 3 * h), qkv));
             Tensor out = ops.upload(new HostTensor(Shape.of(batch * tokens, h), nan))) {
            ops.attention(out, in, batch, tokens, heads, scale);
            return ops.read(out);
        }
    }

    /** Float32 q, k, v: their rounding to bf16 adds to P's (bound in the class comment). */
    @ParameterizedTest(name = "hd {0}")
    @CsvSource({"64, 2, 1, 70", "72, 3, 2, 50", "128, 1, 2, 45", "512, 1, 1, 40"})
    void againstFloat32Operands(int hd, int heads, int batch, int tokens) {
        float[] qkv = values(hd, batch * tokens * 3 * heads * hd, false);
        float scale = (float) (1 / Math.sqrt(hd));
        double e = Compare.assertRelL2(attention(bf16, qkv, batch, tokens, heads, hd, scale),
                attention(cpu, qkv, batch, tokens, heads, hd, scale), FP32_OPERANDS, "bf16 attention vs fp32, hd " + hd);
        assertTrue(e > 1e-4, "bf16 attention cannot be this close to fp32 (" + e + "): were q, k, v rounded?");
    }

    /**
     * selfAttention in BF16 writes qkv as bf16 from the projection (no conversion pass) and must give exactly what
     * the projection in fp32 followed by attention's conversion gives: the bf16-output GEMM rounds its fp32 sums as
     * convert_bf16_rows does. Against the CPU the projection's bf16 operands count too (the fp32-operand bound).
     * Head dim 24 has no tensor-core kernel: the fp32 one runs on the fp32 projection.
     */
    @ParameterizedTest(name = "hd {0}")
    @CsvSource({"72, 2, 2, 36, 144", "24, 4, 3, 7, 96"})
    void selfAttentionWritesQkvInBf16(int hd, int heads, int batch, int tokens, int k) {
        int h = heads * hd, rows = batch * tokens;
        float scale = (float) (1 / Math.sqrt(hd));
        float[] x = values(1, rows * k, false), w = values(2, 3 * h * k, false), b = values(3, 3 * h, false);
        for (int i = 0; i < w.length; i++) w[i] /= (float) Math.sqrt(k);
        float[][] got = new float[2][];
        for (int fused = 0; fused < 2; fused++) {
            emulator().resetStats();
            float[] nan = new float[rows * h];
            Arrays.fill(nan, Float.NaN);
            try (Tensor xt = bf16.upload(new HostTensor(Shape.of(rows, k), x)); Tensor bt = bf16.upload(new HostTensor(Shape.of(3 * h), b));
                 Tensor wt = bf16.constant(new HostTensor(Shape.of(3 * h, k), w), Ops.ConstantKind.LINEAR_WEIGHT);
                 Tensor qkv = bf16.alloc(Shape.of(rows, 3 * h)); Tensor out = bf16.upload(new HostTensor(Shape.of(rows, h), nan))) {
                if (fused == 1) {
                    bf16.selfAttention(out, xt, wt, bt, qkv, batch, tokens, heads, scale);
                } else {
                    bf16.linear(qkv, xt, wt, bt, Ops.Activation.NONE);
                    bf16.attention(out, qkv, batch, tokens, heads, scale);
                }
                got[fused] = bf16.read(out);
            }
            long conversions = emulator().statsByKernel().get("convert_bf16_rows").launches();
            assertEquals(hd == 24 || fused == 1 ? 1 : 2, conversions, "conversion passes (x, and qkv unless the projection writes bf16)");
        }
        assertArrayEquals(got[0], got[1], "selfAttention vs linear + attention");
        float[] expected;
        try (Tensor xt = cpu.upload(new HostTensor(Shape.of(rows, k), x)); Tensor bt = cpu.upload(new HostTensor(Shape.of(3 * h), b));
             Tensor wt = cpu.upload(new HostTensor(Shape.of(3 * h, k), w)); Tensor qkv = cpu.alloc(Shape.of(rows, 3 * h));
             Tensor out = cpu.alloc(Shape.of(rows, h))) {
            cpu.selfAttention(out, xt, wt, bt, qkv, batch, tokens, heads, scale);
            expected = cpu.read(out);
        }
        Compare.assertRelL2(got[1], expected, FP32_OPERANDS, "selfAttention hd " + hd + " vs the CPU");
    }

    @Test
    void planChoosesTensorCoresWhereTheyExist() {
        for (int hd : new int[] {64, 72, 128, 512}) {
            AttentionPlan p = AttentionPlan.choose(Precision.BF16, 2, 100, 3, hd);
            assertEquals("attention_bf16_d" + hd, p.kernelName(), p.toString());
            assertEquals("attention_f32_d" + (hd <= 128 ? 128 : 512), AttentionPlan.choose(Precision.FP32, 2, 100, 3, hd).kernelName());
        }
        for (int hd : new int[] {16, 24, 80, 96, 136}) {
            assertTrue(!AttentionPlan.choose(Precision.BF16, 1, 10, 1, hd).bf16(), "no tensor-core kernel for hd " + hd);
        }
        AttentionPlan vae = AttentionPlan.choose(Precision.BF16, 1, 1024, 1, 512);
        assertArrayEquals(new int[] {16, 4, 1}, vae.grid(), "the 512-wide head: 4 output slices per query tile");
        assertEquals(147456, vae.sharedBytes(), vae.toString());
        AttentionPlan dit = AttentionPlan.choose(Precision.BF16, 2, 256, 16, 72);
        assertEquals(128, dit.grid()[0] * dit.grid()[1] * dit.grid()[2], "DiT-XL/2 at 256 px: " + dit);
        assertThrows(RuntimeException.class, () -> AttentionPlan.choose(Precision.BF16, 1, 10, 1, 520));
    }

    /**
     * Counters per head dim: no bank conflicts, whole-row cp.async requests, full store sectors. Prints the figures
     * kernels/NOTES.md quotes; "traffic / floor" counts qkv once (bf16) and out once (fp32), so the K/V re-reads of
     * every query tile show (no cache modelled).
     */
    @ParameterizedTest(name = "hd {0}, {1} heads, {2} tokens")
    @CsvSource({"64, 2, 128", "72, 2, 256", "128, 1, 128", "512, 1, 64"})
    void countersShowNoConflictsAndFullSectors(int hd, int heads, int tokens) {
        AttentionPlan plan = AttentionPlan.choose(Precision.BF16, 1, tokens, heads, hd);
        float[] qkv = values(7, tokens * 3 * heads * hd, true);
        float scale = (float) (1 / Math.sqrt(hd));
        emulator().resetStats();
        float[] got = attention(bf16, qkv, 1, tokens, heads, hd, scale);
        Compare.assertRelL2(got, attention(cpu, qkv, 1, tokens, heads, hd, scale), SAME_OPERANDS, plan.toString());
        LaunchStats st = emulator().statsByKernel().get(plan.kernelName());
        long floor = (long) tokens * heads * hd * (3 * 2 + 4);
        System.out.printf("%s: %s; traffic / floor %.2f%n", plan, st.efficiency(), st.trafficOverFloor(floor));
        assertEquals(0, st.bankConflicts(), "bank conflicts: " + st.bankConflictsByInstruction());
        assertTrue(st.requests(LaunchStats.Global.LOAD) == 0, "no plain global loads: " + st.efficiency());
        for (LaunchStats.Global g : new LaunchStats.Global[] {LaunchStats.Global.CP_ASYNC, LaunchStats.Global.STORE}) {
            assertTrue(st.sectorEfficiency(g) >= MIN_SECTOR_EFFICIENCY, g + " sector efficiency: " + st.efficiency());
        }
    }
}
