package dev.ditj.cuda;

import dev.ditj.Compare;
import dev.ditj.cpu.CpuOps;
import dev.ditj.emu.EmulatedDevice;
import dev.ditj.emu.KernelRig;
import dev.ditj.emu.LaunchStats;
import dev.ditj.emu.LaunchStats.Global;
import dev.ditj.ops.OpCases;
import dev.ditj.ops.OpHarness;
import dev.ditj.tensor.FloatFormats;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Ops.Activation;
import dev.ditj.tensor.Precision;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bf16 tensor-core linear (kernels/gemm_bf16.cu) on the emulator, against the CPU backend.
 *
 * <p>Bounds. Fed bf16 values (exact in float32), both backends multiply the same numbers and every product is
 * exact in fp32 (8-bit × 8-bit significands); only the order and rounding of the fp32 sums differ, a relative error
 * of order √K·2⁻²⁴ ≈ 2e-6 at K = 1152: the float32 kernels' 1e-5 applies ({@link #SAME_OPERANDS}). Fed float32
 * values, the GEMM rounds x and w to bf16 (unit roundoff u = 2⁻⁸ each); a product's relative error has rms about
 * u·√(2/3) ≈ 3.2e-3 for independent roundings, and random-signed sums keep that relative size in L2:
 * {@link #BF16_OPERANDS} = 1e-2 leaves 3× margin over the ~3e-3 measured.
 *
 * <p>Efficiency (the emulator's counters, {@link LaunchStats}): no shared-memory bank conflicts anywhere in the
 * GEMM kernel (cp.async stores, ldmatrix, the epilogue's staging), at least 90 % sector efficiency on its global
 * loads and stores at DiT shapes, and an mma share of the emulated (PTX) warp-instructions of at least 15 % at
 * 1024x1152x1152 (16.6 % measured; in the main loop alone 28 %: 36 mma of 129 PTX instructions per 32-wide k step of
 * a 48x48 warp tile). At K = 144 (5 k steps) the epilogue (GELU) weighs
 * as much as the main loop, hence 3-4 %. PTX counts overstate the real SASS mix, where ptxas folds the address adds
 * and moves into the instructions.
 */
class CudaBf16EmuTest {
    static final double SAME_OPERANDS = 1e-5, BF16_OPERANDS = 1e-2, MIN_SECTOR_EFFICIENCY = 0.9;
    private static CudaOps bf16, fp32;
    private static CpuOps cpu;

    @BeforeAll
    static void setUp() {
        bf16 = Devices.emulated(Precision.BF16);
        fp32 = Devices.emulated(Precision.FP32);
        cpu = new CpuOps();
    }

    @AfterAll
    static void tearDown() {
        if (bf16 != null) bf16.close();
        if (fp32 != null) fp32.close();
        cpu.close();
    }

    static List<OpCases.Case> linearCases() {
        return OpCases.linear(OpCases.Size.SMALL, true);
    }

    /** The op table's linear rows in BF16 mode, with bf16-valued inputs, against the CPU backend. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("linearCases")
    void opTableWithBf16Values(OpCases.Case c) {
        OpHarness.check(c, bf16, cpu);
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** One linear problem: operands, optional bias, residual and modulation (gate), as host data. */
    private record Problem(int m, int n, int k, float[] x, float[] w, float[] b, float[] residual, float[] mod, int tokens) {
        static Problem random(long seed, int m, int n, int k, boolean bf16Values, boolean gated) {
            SplittableRandom rng = new SplittableRandom(seed);
            int tokens = gated ? Math.max(1, m / 2) : 1;
            return new Problem(m, n, k, values(rng, m * k, 1, bf16Values), values(rng, n * k, 1 / Math.sqrt(k), bf16Values),
                    values(rng, n, 0.1, false), gated ? values(rng, m * n, 1, false) : null,
                    gated ? values(rng, (m + tokens - 1) / tokens * 3 * n, 0.5, false) : null, tokens);
        }

        Tensor upload(Ops ops, float[] v, int... dims) {
            return v == null ? null : ops.upload(new HostTensor(Shape.of(dims), v));
        }
    }

    private static float[] values(SplittableRandom rng, int n, double scale, boolean bf16) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (scale * Math.sqrt(3) * (2 * rng.nextDouble() - 1));
            if (bf16) v[i] = FloatFormats.bf16ToFloat(FloatFormats.floatToBf16(v[i]));
        }
        return v;
    }

    /** out = residual + gate ⊙ act(x·wᵀ + b) on a CUDA backend (residual in place; gate chunk 2), NaN-poisoned first. */
    private static float[] cuda(CudaOps ops, Problem p, Activation act, GemmPlan plan) {
        Tensor x = p.upload(ops, p.x, p.m, p.k), b = p.upload(ops, p.b, p.n);
        Tensor w = ops.constant(new HostTensor(Shape.of(p.n, p.k), p.w), Ops.ConstantKind.LINEAR_WEIGHT);
        float[] start = p.residual != null ? p.residual : nan(p.m * p.n);
        Tensor out = ops.upload(new HostTensor(Shape.of(p.m, p.n), start));
        Tensor mod = p.mod == null ? null : p.upload(ops, p.mod, p.mod.length / (3 * p.n), 3 * p.n);
        ops.linear(out, x, w, b, act, p.residual != null ? out : null, mod, 2, p.tokens, plan);
        float[] r = ops.read(out);
        for (Tensor t : new Tensor[] {x, b, w, out, mod}) if (t != null) t.close();
        return r;
    }

    /** The same on the CPU backend: linear, then gatedResidual. */
    private static float[] cpu(Problem p, Activation act) {
        Tensor x = p.upload(cpu, p.x, p.m, p.k), w = p.upload(cpu, p.w, p.n, p.k), b = p.upload(cpu, p.b, p.n);
        Tensor y = cpu.alloc(Shape.of(p.m, p.n));
        cpu.linear(y, x, w, b, act);
        if (p.residual == null) return cpu.read(y);
        Tensor r = p.upload(cpu, p.residual, p.m, p.n), mod = p.upload(cpu, p.mod, p.mod.length / (3 * p.n), 3 * p.n);
        cpu.gatedResidual(r, y, mod, 2, p.tokens);
        return cpu.read(r);
    }

    private static float[] nan(int n) {
        float[] v = new float[n];
        Arrays.fill(v, Float.NaN);
        return v;
    }

    private static EmulatedDevice emulator(CudaOps ops) {
        return (EmulatedDevice) ops.device();
    }

    /** The activation conversion rounds to nearest even exactly as FloatFormats does, and zeroes the row padding. */
    @Test
    void activationConversionRoundsToNearestEven() {
        int rows = 3, cols = 37, ld = CudaOps.bf16Stride(cols);
        float[] v = values(new SplittableRandom(9), rows * cols, 100, false);
        v[0] = Float.intBitsToFloat(0x3f808000);   // a tie: rounds to the even 0x3f80
        v[1] = Float.intBitsToFloat(0x3f818000);   // a tie: rounds up to the even 0x3f82
        v[2] = Float.NaN;
        v[3] = Float.NEGATIVE_INFINITY;
        v[4] = Float.intBitsToFloat(0x7f7fffff);   // rounds to infinity
        v[5] = 1e-40f;                             // subnormal
        try (KernelRig r = new KernelRig(bf16.device())) {
            long out = r.poisoned(2L * rows * ld);
            r.launch("/dev/ditj/kernels/gemm_bf16.ptx", "convert_bf16_rows", KernelRig.dim(2), KernelRig.dim(256), 0, out,
                    r.floats(v), rows, cols, ld, 0);
            short[] got = readShorts(r, out, rows * ld);
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < ld; j++) {
                    short e = j < cols ? FloatFormats.floatToBf16(v[i * cols + j]) : 0;
                    boolean nan = j < cols && Float.isNaN(v[i * cols + j]);
                    if (nan) assertTrue(Float.isNaN(FloatFormats.bf16ToFloat(got[i * ld + j])), "NaN stays NaN");
                    else assertEquals(e, got[i * ld + j], "row " + i + " column " + j);
                }
            }
        }
    }

    /** A linear weight is uploaded once as bf16: half the bytes (rows padded to 16), reads back rounded. */
    @Test
    void linearWeightsAreStoredInBf16() {
        int n = 40, k = 72;
        float[] v = values(new SplittableRandom(3), n * k, 1, false);
        long before = bf16.pooledBytes();
        Tensor w = bf16.constant(new HostTensor(Shape.of(n, k), v), Ops.ConstantKind.LINEAR_WEIGHT);
        assertEquals(2L * n * 80, bf16.pooledBytes() - before, "bf16 rows of 80 (72 padded to 16)");
        float[] back = bf16.read(w);
        for (int i = 0; i < v.length; i++) assertEquals(FloatFormats.bf16ToFloat(FloatFormats.floatToBf16(v[i])), back[i], 0f);
        Tensor out = bf16.alloc(Shape.of(n, k));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> bf16.add(out, w, w));
        assertTrue(e.getMessage().contains("bf16 GEMM operand"), e.getMessage());
        out.close();
        w.close();
    }

    // ------------------------------------------------------------------------------------------------ correctness

    /**
     * Every tile, with and without split-K, at shapes that are no multiple of anything: two row and column blocks
     * (the second partial), N ≡ 2 mod 4 (the epilogue's scalar path) or odd, K ≡ 8 mod 32 or K = 45 (a partial
     * 16-byte chunk).
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(GemmPlan.Tile.class)
    void everyTileAndSplitHandlesEveryTail(GemmPlan.Tile tile) {
        int[][] shapes = {{tile.bm + 20, tile.bn + 22, 200, 1}, {tile.bm + 20, tile.bn + 22, 200, 3}, {tile.bm / 2 + 3, tile.bn + 7, 45, 1}};
        Activation[] acts = {Activation.GELU_TANH, Activation.SILU, Activation.NONE};
        for (int i = 0; i < shapes.length; i++) {
            int[] s = shapes[i];
            Problem p = Problem.random(100 + i, s[0], s[1], s[2], true, false);
            GemmPlan plan = GemmPlan.of(tile, s[3], s[0], s[1], s[2]);
            Compare.assertRelL2(cuda(bf16, p, acts[i], plan), cpu(p, acts[i]), SAME_OPERANDS, plan + " " + acts[i]);
        }
    }

    /** Float32 operands: the bf16 rounding of x and w is the whole difference (bound in the class comment). */
    @Test
    void againstFloat32Operands() {
        Problem p = Problem.random(7, 100, 300, 576, false, false);
        double e = Compare.assertRelL2(cuda(bf16, p, Activation.NONE, null), cpu(p, Activation.NONE), BF16_OPERANDS,
                "bf16 GEMM vs fp32, 100x300x576");
        assertTrue(e > 1e-4, "a bf16 GEMM cannot be this close to fp32 (" + e + "): were the operands rounded?");
    }

    /** The fused gated residual (in place, gate per sample) and the plain residual, bf16 and split, and in fp32. */
    @Test
    void fusedGatedResidual() {
        Problem p = Problem.random(11, 34, 144, 144, true, true);
        float[] expected = cpu(p, Activation.NONE);
        Compare.assertRelL2(cuda(bf16, p, Activation.NONE, null), expected, SAME_OPERANDS, "gated residual, bf16");
        Compare.assertRelL2(cuda(bf16, p, Activation.NONE, GemmPlan.of(GemmPlan.Tile.T64x64, 2, p.m, p.n, p.k)), expected,
                SAME_OPERANDS, "gated residual, bf16 split-K");
        Compare.assertRelL2(cuda(fp32, p, Activation.NONE, null), expected, SAME_OPERANDS, "gated residual, fp32 kernel");
    }

    /**
     * The bf16-output kernels and reduction: the same sums as the fp32-output ones, rounded once at the store, so
     * the result equals bf16(fp32 result) bit for bit. Operands are laid out by hand with NaN row padding (K = 100,
     * ld = 112): columns past K must not be read.
     */
    @Test
    void bf16OutputIsTheRoundedFloat32Output() {
        int m = 70, n = 72, k = 100, lda = CudaOps.bf16Stride(k);
        Problem p = Problem.random(5, m, n, k, true, false);
        try (KernelRig r = new KernelRig(bf16.device())) {
            long a = r.shorts(bf16Rows(p.x, m, k, lda)), w = r.shorts(bf16Rows(p.w, n, k, lda)), bias = r.floats(p.b);
            for (int splits : new int[] {1, 2}) {
                GemmPlan plan = GemmPlan.of(GemmPlan.Tile.T64x64, splits, m, n, k);
                long[] out = new long[2];
                for (int o = 0; o < 2; o++) {
                    boolean bf16Out = o == 1;
                    out[o] = r.poisoned(4L * m * n);
                    long ws = splits == 1 ? out[o] : r.poisoned(plan.workspaceBytes());
                    r.launch("/dev/ditj/kernels/gemm_bf16.ptx", plan.kernel(bf16Out && splits == 1), plan.grid(), plan.block(), plan.sharedBytes(),
                            ws, a, w, m, n, k, lda, lda, n, plan.kSplit(), splits == 1 ? bias : 0L, splits == 1 ? 2 : 0, 0L, 0L, 0, 1);
                    if (splits > 1) {
                        r.launch("/dev/ditj/kernels/gemm_bf16.ptx", "linear_splitk_reduce_" + (bf16Out ? "bf16" : "f32"),
                                KernelRig.dim(64), KernelRig.dim(256), 0, out[o], n, ws, splits, m, n, bias, 2, 0L, 0L, 0, 1);
                    }
                }
                float[] f32 = r.readFloats(out[0], m * n);
                short[] got = readShorts(r, out[1], m * n);
                short[] expected = new short[m * n];
                for (int i = 0; i < m * n; i++) expected[i] = FloatFormats.floatToBf16(f32[i]);
                assertArrayEquals(expected, got, "bf16 output, " + splits + " split(s)");
                Compare.assertRelL2(f32, cpu(p, Activation.GELU_TANH), SAME_OPERANDS, "fp32 output, " + splits + " split(s)");
            }
        }
    }

    /** Rows of ld bf16 values; the padding past cols is NaN, which the kernel must never read. */
    private static short[] bf16Rows(float[] v, int rows, int cols, int ld) {
        short[] s = new short[rows * ld];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < ld; j++) s[i * ld + j] = j < cols ? FloatFormats.floatToBf16(v[i * cols + j]) : FloatFormats.floatToBf16(Float.NaN);
        }
        return s;
    }

    private static short[] readShorts(KernelRig r, long p, int n) {
        ByteBuffer b = ByteBuffer.allocateDirect(2 * n).order(ByteOrder.LITTLE_ENDIAN);
        r.device.copyToHost(b, p);
        r.device.synchronize();
        short[] s = new short[n];
        b.asShortBuffer().get(s);
        return s;
    }

    // ------------------------------------------------------------------------------------------------ efficiency

    @Test
    void planFillsTheChip() {
        GemmPlan big = GemmPlan.choose(1024, 1152, 1152, 132);
        assertEquals(132, big.blocks(), "1024x1152x1152 should fill 132 SMs in one wave: " + big);
        GemmPlan adaLn = GemmPlan.choose(2, 6912, 1152, 132);
        assertTrue(adaLn.splits() > 1 && adaLn.blocks() <= 132 && adaLn.blocks() >= 100, "adaLN (M = 2) splits K: " + adaLn);
        // the DiT's stacked adaLN (all 28 blocks' and the final layer's, M = 2): 1530 column blocks fill the chip
        // 11.6 times over, so K stays whole (no reduction) and the thin 16-row tile streams the weights
        GemmPlan stacked = GemmPlan.choose(2, 28 * 6912 + 2304, 1152, 132);
        assertEquals(1, stacked.splits(), stacked.toString());
        assertEquals(GemmPlan.Tile.T16x128, stacked.tile(), stacked.toString());
        for (int[] s : new int[][] {{1024, 1152, 1152}, {512, 3456, 1152}, {512, 1152, 4608}, {2, 6912, 1152}, {36, 144, 864}, {7, 3, 5},
                {2, 28 * 6912 + 2304, 1152}}) {
            GemmPlan p = GemmPlan.choose(s[0], s[1], s[2], 132);
            assertTrue(p.kSplit() % 32 == 0 && (long) p.kSplit() * p.splits() >= s[2] && (long) p.kSplit() * (p.splits() - 1) < s[2], p.toString());
            System.out.println("plan " + p);
        }
    }

    /**
     * DiT shapes through the chosen plan: matches the CPU, and the counters show no bank conflicts, full sectors
     * and the tensor-core share. Prints the figures kernels/NOTES.md quotes.
     */
    @ParameterizedTest(name = "{0}x{1}x{2}")
    @CsvSource({
        "36, 864, 144, 0.04",      // dit_a adaLN-like: few rows, N = 6·hidden
        "256, 432, 144, 0.03",     // dit_a qkv at 8 samples × 32 tokens
        "256, 144, 576, 0.04",     // dit_a fc2 (K = 4·hidden)
        "1024, 1152, 1152, 0.15",  // DiT-XL/2 width, 1024 rows (batch 2 with guidance at 256 px)
    })
    void ditShapesAreCorrectAndEfficient(int m, int n, int k, double minTensorShare) {
        GemmPlan plan = GemmPlan.choose(m, n, k, 132);
        Problem p = Problem.random(m + n + k, m, n, k, true, false);
        emulator(bf16).resetStats();
        float[] got = cuda(bf16, p, Activation.GELU_TANH, null);
        Compare.assertRelL2(got, cpu(p, Activation.GELU_TANH), SAME_OPERANDS, plan.toString());
        LaunchStats st = emulator(bf16).statsByKernel().get(plan.kernel(false));
        long floor = 2L * (m + n) * k + 4L * m * n + 4L * n;
        System.out.printf("%s: %s; traffic / floor %.2f%n", plan, st.efficiency(), st.trafficOverFloor(floor));
        assertEquals(0, st.bankConflicts(), "bank conflicts: " + st.bankConflictsByInstruction());
        for (Global g : Global.values()) {
            if (st.requests(g) == 0) continue;    // no bias loads where the epilogue has nothing to load
            assertTrue(st.sectorEfficiency(g) >= MIN_SECTOR_EFFICIENCY, g + " sector efficiency: " + st.efficiency());
        }
        assertTrue(st.tensorShare() >= minTensorShare, "tensor-core share: " + st.efficiency());
    }
}
