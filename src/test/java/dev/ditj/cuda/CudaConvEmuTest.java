package dev.ditj.cuda;

import dev.ditj.Compare;
import dev.ditj.cpu.CpuOps;
import dev.ditj.cuda.ConvPlan.Sampling;
import dev.ditj.emu.EmulatedDevice;
import dev.ditj.emu.LaunchStats;
import dev.ditj.emu.LaunchStats.Global;
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

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The VAE decoder's image ops in Precision.BF16 on the emulator — the tensor-core convolution (kernels/conv_bf16.cu)
 * and the channel-last bf16 GroupNorm, upsampling and layout kernels (kernels/image_bf16.cu) — against the CPU
 * backend, and the layout's handling at the Ops boundary.
 *
 * <p>Bounds. Fed bf16 values, both backends multiply the same numbers exactly and differ only in the order of the
 * fp32 sums (relative ~1e-7 here): a float32 output (the _nchw kernel) meets the float32 kernels' 1e-5
 * ({@link #SAME_OPERANDS}); a channel-last output is that sum rounded once to bf16, within u = 2⁻⁸ of it, so
 * {@link OpCases#BF16_OUTPUT} = 4e-3 (measured 1.5-1.9e-3), and the channel-last output is exactly the rounded
 * float32 output of the same tile (checked bit for bit). Fed float32 values, x and w are rounded to bf16 too; as for
 * the bf16 GEMM (CudaBf16EmuTest) the products' rounding error is about u·√(2/3) in L2, plus the output's rounding:
 * {@link #BF16_OPERANDS} = 1e-2 (measured 1.7-3.0e-3 for the convolutions, 2.1-2.3e-3 for GroupNorm).
 *
 * <p>Efficiency (the emulator's counters): at the SD VAE's channel counts, no shared-memory bank conflicts in the
 * convolution (cp.async stores, ldmatrix, the staged epilogue) or GroupNorm, and at least 90 % sector efficiency on
 * every kind of global access of the convolution, GroupNorm and data-movement kernels.
 */
class CudaConvEmuTest {
    static final double SAME_OPERANDS = 1e-5, BF16_OUTPUT = OpCases.BF16_OUTPUT, BF16_OPERANDS = 1e-2, MIN_SECTOR_EFFICIENCY = 0.9;
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

    static List<OpCases.Case> imageCases() {
        return OpCases.image(OpCases.Size.SMALL, true, 1);
    }

    /** The op table's image rows (tails, both convolution paths, GroupNorm, layout ops) with bf16 values. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("imageCases")
    void opTableImageRowsInBf16(OpCases.Case c) {
        OpHarness.check(c, bf16, cpu);
    }

    /**
     * The same rows with float32 values: the bf16 backend rounds the operands it stores as bf16 (x, w; GroupNorm's
     * and the layout ops' inputs) and its outputs, {@link #BF16_OPERANDS}; rows on the float32 paths stay exact.
     * Except the GroupNorm rows whose mean is 75 times the spread: storing that input in bf16 (spacing 2 at 300)
     * moves each value by up to a quarter of the spread (relative L2 0.13 after normalising), a property of the
     * format, not of the kernels (with bf16 values, above, those rows are within one rounding).
     */
    static List<OpCases.Case> imageCasesFloat32() {
        return OpCases.image(OpCases.Size.SMALL, false, 1).stream().filter(c -> !c.name().contains("+300.0"))
                .map(c -> new OpCases.Case(c.name(), BF16_OPERANDS, c.run())).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("imageCasesFloat32")
    void opTableImageRowsAgainstFloat32(OpCases.Case c) {
        OpHarness.check(c, bf16, cpu);
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** A convolution: input [batch, ci, height, width] sampled as given, k x k, optional residual. */
    record Conv(int batch, int ci, int co, int height, int width, int k, Sampling sampling, boolean residual) {
        int outH() {
            return sampling.out(height);
        }

        int outW() {
            return sampling.out(width);
        }

        ConvPlan plan(GemmPlan.Tile tile, boolean channelsLastOut) {
            return ConvPlan.of(tile, channelsLastOut, batch, height, width, ci, co, k, sampling);
        }

        Shape in() {
            return Shape.of(batch, ci, height, width);
        }

        Shape out() {
            return Shape.of(batch, co, outH(), outW());
        }

        Shape weight() {
            return Shape.of(co, ci, k, k);
        }

        /** Operands x, w, bias, residual (null without). */
        float[][] data(long seed, boolean bf16Values) {
            SplittableRandom rng = new SplittableRandom(seed);
            return new float[][] {values(rng, (int) in().numel(), 1, bf16Values),
                    values(rng, (int) weight().numel(), 1 / Math.sqrt(ci * k * k), bf16Values), values(rng, co, 0.1, bf16Values),
                    residual ? values(rng, (int) out().numel(), 1, bf16Values) : null};
        }

        /**
         * The float32 result on the CPU backend: upsampleNearest2x then conv2d, conv2d, or downsampleConv2d (then add
         * for a residual).
         */
        float[] cpu(float[][] d) {
            return cpu(CudaConvEmuTest.cpu, d);
        }

        float[] cpu(Ops cpu, float[][] d) {
            try (Tensor x = up(cpu, d[0]); Tensor w = cpu.upload(new HostTensor(weight(), d[1]));
                 Tensor b = cpu.upload(new HostTensor(Shape.of(co), d[2])); Tensor out = cpu.alloc(out())) {
                Tensor r = residual ? cpu.upload(new HostTensor(out(), d[3])) : null;
                if (sampling != Sampling.DOWN) {
                    cpu.conv2d(out, x, w, b, r);
                } else {
                    cpu.downsampleConv2d(out, x, w, b);
                    if (r != null) cpu.add(out, out, r);
                }
                if (r != null) r.close();
                return cpu.read(out);
            }
        }

        private Tensor up(Ops ops, float[] x) {
            Tensor t = ops.upload(new HostTensor(in(), x));
            if (sampling != Sampling.UP) return t;
            Tensor u = ops.alloc(Shape.of(batch, ci, outH(), outW()));
            ops.upsampleNearest2x(u, t);
            t.close();
            return u;
        }

        /** The result on a CUDA backend (the weight a constant), with plan or, if null, its own choice; out poisoned. */
        float[] cuda(CudaOps ops, float[][] d, ConvPlan plan) {
            List<Tensor> made = new ArrayList<>();
            Tensor x = keep(made, ops.upload(new HostTensor(in(), d[0])));
            Tensor w = keep(made, ops.constant(new HostTensor(weight(), d[1]), Ops.ConstantKind.CONV_WEIGHT));
            Tensor b = keep(made, ops.upload(new HostTensor(Shape.of(co), d[2])));
            Tensor r = residual ? keep(made, ops.upload(new HostTensor(out(), d[3]))) : null;
            Tensor out = keep(made, poisoned(ops, out()));
            if (plan != null) ops.conv2d(out, x, w, b, r, plan);
            else if (sampling == Sampling.PLAIN) ops.conv2d(out, x, w, b, r);
            else if (residual) throw new IllegalArgumentException(sampling + " has no residual: give a plan");
            else if (sampling == Sampling.UP) ops.upsampleConv2d(out, x, w, b, keep(made, poisoned(ops, Shape.of(batch, ci, outH(), outW()))));
            else ops.downsampleConv2d(out, x, w, b);
            float[] v = ops.read(out);
            made.forEach(Tensor::close);
            return v;
        }

        long floorBytes(boolean channelsLastOut) {
            return 2L * in().numel() + 2L * co * k * k * ci + 4L * co + out().numel() * (channelsLastOut ? 2 : 4);
        }
    }

    private static Tensor keep(List<Tensor> made, Tensor t) {
        made.add(t);
        return t;
    }

    private static float[] values(SplittableRandom rng, int n, double scale, boolean bf16Values) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (scale * Math.sqrt(3) * (2 * rng.nextDouble() - 1));
            if (bf16Values) v[i] = rounded(v[i]);
        }
        return v;
    }

    private static float rounded(float v) {
        return FloatFormats.bf16ToFloat(FloatFormats.floatToBf16(v));
    }

    /** A tensor with every byte 0xff: NaN as float32 and as bf16, whichever layout the op writes. */
    private static Tensor poisoned(CudaOps ops, Shape s) {
        Tensor t = ops.alloc(s);
        ops.device().memset32(((CudaOps.CudaTensor) t).ptr, -1, s.numel());
        return t;
    }

    private static EmulatedDevice emulator() {
        return (EmulatedDevice) bf16.device();
    }

    /** Every element within one bf16 rounding (2⁻⁸ relative) of the float32 reference, plus 1e-5 of its rms. */
    private static void assertWithinOneRounding(float[] actual, float[] expected, String what) {
        double rms = Math.sqrt(java.util.Arrays.stream(toDoubles(expected)).map(v -> v * v).average().orElse(0));
        for (int i = 0; i < actual.length; i++) {
            double bound = Math.scalb(Math.abs(expected[i]), -8) + 1e-5 * rms;
            if (!(Math.abs(actual[i] - expected[i]) <= bound)) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i] + " within " + bound);
            }
        }
    }

    private static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    /** No bank conflicts, and at least 90 % sector efficiency on each kind of global access the kernel makes. */
    private static void assertEfficient(LaunchStats st, String what) {
        assertEfficient(st, what, true);
    }

    /**
     * The same, with or without the ld.global: the _nchw convolution's only loads besides its residual are the
     * bias of the column each lane stores, a broadcast (two 4-byte values per warp; 12 bytes in all for Co = 3).
     */
    private static void assertEfficient(LaunchStats st, String what, boolean loads) {
        assertNotNull(st, what + " did not run");
        assertEquals(0, st.bankConflicts(), what + " bank conflicts: " + st.bankConflictsByInstruction());
        for (Global g : Global.values()) {
            if (st.requests(g) == 0 || st.sectors(g) == 0 || g == Global.LOAD && !loads) continue;
            assertTrue(st.sectorEfficiency(g) >= MIN_SECTOR_EFFICIENCY, what + " " + g + " sector efficiency: " + st.efficiency());
        }
    }

    // ------------------------------------------------------------------------------------------------ layout

    /**
     * The layout is the backend's own business: a channel-last tensor reads back as NCHW float32; a view that keeps
     * batch, channels and pixels keeps the layout, and a write through it shows through the tensor it views (the VAE
     * attention's pattern); other views of channel-last values and float32 ops on them are refused; a tensor whose
     * memory was rewritten channel-last through another one is stale, and read refuses it; write makes float32 again.
     */
    @Test
    void layoutIsPrivateToTheBackend() {
        int c = 16, h = 3, w = 4, n = h * w;
        float[] t = values(new SplittableRandom(3), n * c, 1, true), expected = new float[n * c];
        for (int i = 0; i < n; i++) for (int j = 0; j < c; j++) expected[j * n + i] = t[i * c + j];
        try (Tensor tok = bf16.upload(new HostTensor(Shape.of(n, c), t)); Tensor slot = bf16.alloc(Shape.of(4 * n * c));
             Tensor out = bf16.alloc(Shape.of(1, c, h, w))) {
            Tensor y = bf16.view(slot, Shape.of(1, c, h, w)), flat = bf16.view(y, Shape.of(1, c, n));
            bf16.tokensToChannels(flat, tok, null);
            assertArrayEquals(expected, bf16.read(y), 0f, "written through a [1, C, N] view, read through [1, C, H, W]");
            assertArrayEquals(expected, bf16.read(bf16.view(y, Shape.of(1, c, n))), 0f, "a later view keeps the layout");
            String e = assertThrows(IllegalArgumentException.class, () -> bf16.view(y, Shape.of(n * c))).getMessage();
            assertTrue(e.contains("channel-last") && e.contains("keep its batch, channels and pixels"), e);
            e = assertThrows(IllegalArgumentException.class, () -> bf16.silu(out, y)).getMessage();
            assertTrue(e.contains("channel-last bf16") && e.contains("reads float32"), e);
            e = assertThrows(IllegalArgumentException.class, () -> bf16.read(slot)).getMessage();
            assertTrue(e.contains("rewritten in another layout"), e);
            Tensor z = bf16.view(slot, Shape.of(1, c, h, w));   // a new view of the buffer: float32 until written
            bf16.write(z, expected);
            assertArrayEquals(expected, bf16.read(z), 0f, "write");
            bf16.silu(out, z);
            assertThrows(IllegalArgumentException.class, () -> bf16.read(y), "y's memory now holds float32");
        }
    }

    /** Conv weights the tensor cores take are stored once as bf16 [Co, k, k, Ci] rows; others stay float32. */
    @Test
    void convWeightsAreStoredInBf16() {
        // a backend of its own: a shared one may hold a cached block of the same size, which the pool would reuse
        try (CudaOps ops = Devices.emulated(Precision.BF16)) {
            int co = 24, ci = 16;
            float[] v = values(new SplittableRandom(4), co * ci * 9, 1, false);
            long before = ops.pooledBytes();
            Tensor w = ops.constant(new HostTensor(Shape.of(co, ci, 3, 3), v), Ops.ConstantKind.CONV_WEIGHT);
            assertEquals(2L * co * CudaOps.bf16Stride(9 * ci), ops.pooledBytes() - before, "bf16 rows of 9·Ci padded to 16");
            float[] back = ops.read(w);
            for (int i = 0; i < v.length; i++) assertEquals(rounded(v[i]), back[i], 0f, "element " + i);
            w.close();
            before = ops.pooledBytes();
            Tensor w4 = ops.constant(new HostTensor(Shape.of(co, 4, 3, 3), java.util.Arrays.copyOf(v, co * 36)),
                    Ops.ConstantKind.CONV_WEIGHT);
            assertEquals(4L * co * 36, ops.pooledBytes() - before, "4 input channels: the float32 kernel's weight");
            w4.close();
        }
    }

    // ------------------------------------------------------------------------------------------------ convolution

    static List<GemmPlan.Tile> tiles() {
        return ConvPlan.TILES;
    }

    /**
     * Every channel-last tile at shapes that are no multiple of it: pixels past M (M = 126, 30·4, 99, 30, 2·15),
     * Co = 24, 40 and 72 (a partial column block), Ci = 8 (four taps per 32-wide k step), 48 and 24, 1x1 and 3x3,
     * upsampled, downsampled (even sides reading the padding row and column, odd ones not), with a residual.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("tiles")
    void everyTileHandlesEveryTail(GemmPlan.Tile tile) {
        Conv[] convs = {new Conv(2, 16, 24, 7, 9, 3, Sampling.PLAIN, true), new Conv(1, 48, 40, 5, 6, 3, Sampling.UP, true),
                new Conv(1, 24, 72, 9, 11, 1, Sampling.PLAIN, false), new Conv(1, 8, 16, 6, 5, 3, Sampling.PLAIN, false),
                new Conv(1, 16, 24, 10, 12, 3, Sampling.DOWN, true), new Conv(2, 8, 40, 7, 11, 3, Sampling.DOWN, false)};
        for (int i = 0; i < convs.length; i++) {
            Conv c = convs[i];
            float[][] d = c.data(40 + i, true);
            ConvPlan plan = c.plan(tile, true);
            Compare.assertRelL2(c.cuda(bf16, d, plan), c.cpu(d), BF16_OUTPUT, plan.toString());
        }
    }

    /**
     * The float32 output kernel against the CPU at the float32 tolerance, and the channel-last bf16 output of the same
     * tile as exactly its rounding: one accumulation, two stores.
     */
    @Test
    void channelLastOutputIsTheRoundedFloat32Output() {
        for (Conv c : new Conv[] {new Conv(2, 32, 40, 6, 5, 3, Sampling.UP, true), new Conv(1, 16, 8, 7, 9, 1, Sampling.PLAIN, true),
                new Conv(1, 24, 16, 10, 9, 3, Sampling.DOWN, true)}) {
            float[][] d = c.data(c.ci + c.co, true);
            ConvPlan nchw = c.plan(ConvPlan.NCHW_TILE, false), nhwc = c.plan(ConvPlan.NCHW_TILE, true);
            float[] f32 = c.cuda(bf16, d, nchw), b16 = c.cuda(bf16, d, nhwc);
            Compare.assertRelL2(f32, c.cpu(d), SAME_OPERANDS, nchw.toString());
            for (int i = 0; i < f32.length; i++) {
                if (rounded(f32[i]) != b16[i]) fail(nhwc + ": element " + i + " is " + b16[i] + ", not bf16(" + f32[i] + ")");
            }
        }
    }

    /** Float32 operands: their rounding to bf16 is the difference (bound in the class comment). */
    @Test
    void againstFloat32Operands() {
        Conv c = new Conv(1, 64, 64, 8, 8, 3, Sampling.PLAIN, true);
        float[][] d = c.data(5, false);
        double e = Compare.assertRelL2(c.cuda(bf16, d, null), c.cpu(d), BF16_OPERANDS, "bf16 conv vs fp32, " + c);
        assertTrue(e > 1e-4, "a bf16 convolution cannot be this close to fp32 (" + e + "): were the operands rounded?");
    }

    /**
     * Ci % 8 != 0 runs the float32 kernel (ConvPlan gives no plan), its output converted to channel-last when Co
     * allows (only that rounding: BF16_OUTPUT even with float32 operands), upsampling into the scratch tensor;
     * Co % 8 != 0 leaves the tensor cores as float32 NCHW (the _nchw kernel).
     */
    @Test
    void channelCountsTheTensorCoresCannotTakeFallBack() {
        assertNull(ConvPlan.choose(1, 32, 32, 4, 512, 3, Sampling.PLAIN, 132), "4 latent channels: the float32 kernel");
        assertNull(ConvPlan.choose(1, 32, 32, 12, 16, 1, Sampling.PLAIN, 132), "12 channels: no whole 16-byte chunks");
        assertEquals("conv_bf16_64x64_nchw", ConvPlan.choose(1, 256, 256, 128, 3, 3, Sampling.PLAIN, 132).kernel(), "the 3-channel image");
        assertTrue(ConvPlan.choose(1, 16, 16, 8, 16, 3, Sampling.PLAIN, 132).channelsLastOut());
        Conv[] fallback = {new Conv(2, 4, 16, 8, 8, 3, Sampling.PLAIN, true), new Conv(1, 4, 8, 3, 3, 3, Sampling.UP, false),
                new Conv(2, 4, 16, 8, 7, 3, Sampling.DOWN, false)};
        for (Conv c : fallback) {
            float[][] d = c.data(c.co, false);
            emulator().resetStats();
            Compare.assertRelL2(c.cuda(bf16, d, null), c.cpu(d), BF16_OUTPUT, "float32 kernel, channel-last output " + c);
            Map<String, LaunchStats> ran = emulator().statsByKernel();
            assertTrue(ran.containsKey("conv2d_f32") && ran.containsKey("to_channels_last_bf16"), ran.keySet().toString());
        }
        Conv plain = new Conv(1, 12, 5, 5, 7, 1, Sampling.PLAIN, true);
        float[][] d = plain.data(3, false);
        Compare.assertRelL2(plain.cuda(bf16, d, null), plain.cpu(d), SAME_OPERANDS, "float32 kernel and output " + plain);
    }

    /**
     * The SD VAE's channel counts (at small pixel counts): correct, no bank conflicts, full sectors; prints the
     * figures kernels/NOTES.md quotes. Floor: input, weights and bias read once, output written once.
     */
    @ParameterizedTest(name = "{0}->{1} {3}x{4} k{5} {6}")
    @CsvSource({
        "512, 512, 1, 8, 8, 3, PLAIN",     // mid block / up_blocks.0 (32² at 256 px)
        "512, 512, 1, 4, 8, 3, UP",        // an upsampler: 512 channels, read through nearest x2
        "256, 128, 2, 8, 8, 3, PLAIN",     // up_blocks.3.resnets.0.conv1, two images
        "256, 128, 1, 12, 12, 1, PLAIN",   // its 1x1 shortcut
        "128, 128, 1, 16, 16, 3, PLAIN",   // up_blocks.3 (256² at 256 px)
        "128, 3, 1, 16, 16, 3, PLAIN",     // conv_out: the float32 NCHW image
        "128, 128, 1, 16, 16, 3, DOWN",    // the encoder's down_blocks.0 downsampler (256² -> 128² at 256 px)
        "512, 512, 1, 16, 16, 3, DOWN",    // down_blocks.2's (64² -> 32²)
    })
    void sdVaeChannelCountsAreCorrectAndEfficient(int ci, int co, int batch, int h, int w, int k, Sampling sampling) {
        Conv c = new Conv(batch, ci, co, h, w, k, sampling, sampling == Sampling.PLAIN);
        ConvPlan plan = ConvPlan.choose(batch, h, w, ci, co, k, sampling, 132);
        float[][] d = c.data(ci * co + h, true);
        emulator().resetStats();
        float[] got = c.cuda(bf16, d, plan);
        Compare.assertRelL2(got, c.cpu(d), plan.channelsLastOut() ? BF16_OUTPUT : SAME_OPERANDS, plan.toString());
        LaunchStats st = emulator().statsByKernel().get(plan.kernel());
        long floor = c.floorBytes(plan.channelsLastOut()) + (c.residual ? (plan.channelsLastOut() ? 2L : 4L) * c.out().numel() : 0);
        System.out.printf("%s: %s; traffic / floor %.2f%n", plan, st.efficiency(), st.trafficOverFloor(floor));
        assertEfficient(st, plan.toString(), plan.channelsLastOut());
    }

    /** Every channel-last tile at 256 -> 256 channels, 16x16 pixels, with a residual: the same checks, per tile. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("tiles")
    void everyTileIsEfficient(GemmPlan.Tile tile) {
        Conv c = new Conv(1, 256, 256, 16, 16, 3, Sampling.PLAIN, true);
        ConvPlan plan = c.plan(tile, true);
        float[][] d = c.data(7, true);
        emulator().resetStats();
        Compare.assertRelL2(c.cuda(bf16, d, plan), c.cpu(d), BF16_OUTPUT, plan.toString());
        LaunchStats st = emulator().statsByKernel().get(plan.kernel());
        System.out.printf("%s: %s; traffic / floor %.2f%n", plan, st.efficiency(), st.trafficOverFloor(c.floorBytes(true) + 2L * c.out().numel()));
        assertEfficient(st, plan.toString());
    }

    // ------------------------------------------------------------------------------------------------ memory-bound ops

    /**
     * GroupNorm (+ SiLU) on channel-last bf16: every element within one bf16 rounding of the CPU's float32 (which
     * accumulates in float64); no bank conflicts, full sectors in the statistics and normalisation passes (several
     * statistics blocks per image at 512 and 128 channels).
     */
    @ParameterizedTest(name = "{0} channels {1}x{2}, {3} groups")
    @CsvSource({"512, 8, 8, 32", "128, 16, 16, 32", "256, 12, 10, 32", "24, 9, 7, 3"})
    void groupNormIsOneRoundingFromTheCpuAndEfficient(int ch, int h, int w, int groups) {
        SplittableRandom rng = new SplittableRandom(ch + h);
        Shape s = Shape.of(2, ch, h, w);
        float[] x = values(rng, (int) s.numel(), 2, true), gamma = values(rng, ch, 0.3, false), beta = values(rng, ch, 0.2, false);
        for (int i = 0; i < ch; i++) gamma[i] += 1;
        for (boolean silu : new boolean[] {false, true}) {
            float[] expected;
            try (Tensor xc = cpu.upload(new HostTensor(s, x)); Tensor g = cpu.upload(new HostTensor(Shape.of(ch), gamma));
                 Tensor b = cpu.upload(new HostTensor(Shape.of(ch), beta)); Tensor out = cpu.alloc(s)) {
                cpu.groupNorm(out, xc, g, b, groups, 1e-6f, silu);
                expected = cpu.read(out);
            }
            emulator().resetStats();
            float[] got;
            try (Tensor xc = bf16.upload(new HostTensor(s, x)); Tensor g = bf16.upload(new HostTensor(Shape.of(ch), gamma));
                 Tensor b = bf16.upload(new HostTensor(Shape.of(ch), beta)); Tensor out = poisoned(bf16, s)) {
                bf16.groupNorm(out, xc, g, b, groups, 1e-6f, silu);
                got = bf16.read(out);
            }
            assertWithinOneRounding(got, expected, "groupNorm " + s + " silu=" + silu);
            Map<String, LaunchStats> ran = emulator().statsByKernel();
            for (String kernel : new String[] {"group_norm_nhwc_partials", "group_norm_nhwc_finalize", "group_norm_nhwc_apply"}) {
                LaunchStats st = ran.get(kernel);
                System.out.printf("%s %s silu=%s: %d blocks; %s%n", kernel, s, silu, st.blocks(), st.efficiency());
                if (!kernel.endsWith("finalize")) assertEfficient(st, kernel);   // finalize: per-group scraps
            }
        }
    }

    /**
     * The data-movement kernels on channel-last tensors made by an image op: tokensToChannels (exact for bf16 values,
     * one rounding with a residual), add (one rounding), then upsampling, token rows and back, exact functions of the
     * bf16 sum (the CPU applies them to the values read back); full sectors in each.
     */
    @Test
    void channelLastDataMovement() {
        int b = 2, c = 64, h = 5, w = 6, n = h * w;
        SplittableRandom rng = new SplittableRandom(17);
        float[] t1 = values(rng, b * n * c, 1, true), t2 = values(rng, b * n * c, 1, true);
        Shape img = Shape.of(b, c, h, w), up = Shape.of(b, c, 2 * h, 2 * w), rows = Shape.of(b * n, c);
        float[][] got = new float[6][], expected = new float[6][];
        emulator().resetStats();
        try (Tensor tok1 = bf16.upload(new HostTensor(rows, t1)); Tensor tok2 = bf16.upload(new HostTensor(rows, t2));
             Tensor x = poisoned(bf16, img); Tensor y = poisoned(bf16, img); Tensor sum = poisoned(bf16, img);
             Tensor big = poisoned(bf16, up); Tensor tokens = poisoned(bf16, rows); Tensor back = poisoned(bf16, img)) {
            bf16.tokensToChannels(x, tok1, null);          // channel-last from here on
            bf16.tokensToChannels(y, tok2, x);
            bf16.add(sum, x, y);
            bf16.upsampleNearest2x(big, sum);
            bf16.channelsToTokens(tokens, sum);
            bf16.tokensToChannels(back, tokens, null);
            got = new float[][] {bf16.read(x), bf16.read(y), bf16.read(sum), bf16.read(big), bf16.read(tokens), bf16.read(back)};
        }
        try (Tensor tok1 = cpu.upload(new HostTensor(rows, t1)); Tensor tok2 = cpu.upload(new HostTensor(rows, t2));
             Tensor x = cpu.alloc(img); Tensor y = cpu.alloc(img); Tensor sum = cpu.alloc(img); Tensor s16 = cpu.upload(new HostTensor(img, got[2]));
             Tensor big = cpu.alloc(up); Tensor tokens = cpu.alloc(rows); Tensor back = cpu.alloc(img)) {
            cpu.tokensToChannels(x, tok1, null);
            cpu.tokensToChannels(y, tok2, x);
            try (Tensor y16 = cpu.upload(new HostTensor(img, got[1]))) {
                cpu.add(sum, x, y16);                     // the sum of the bf16 operands the bf16 add saw
            }
            cpu.upsampleNearest2x(big, s16);
            cpu.channelsToTokens(tokens, s16);
            cpu.tokensToChannels(back, tokens, null);
            expected = new float[][] {cpu.read(x), cpu.read(y), cpu.read(sum), cpu.read(big), cpu.read(tokens), cpu.read(back)};
        }
        String[] names = {"tokensToChannels", "tokensToChannels +residual", "add", "upsampleNearest2x", "channelsToTokens", "back to channels"};
        for (int i = 0; i < names.length; i++) {
            if (i == 1 || i == 2) assertWithinOneRounding(got[i], expected[i], names[i]);
            else assertArrayEquals(expected[i], got[i], 0f, names[i]);
        }
        for (String k : new String[] {"tokens_to_channels_nhwc", "add_nhwc", "upsample_nearest2x_nhwc", "channels_to_tokens_nhwc"}) {
            LaunchStats st = emulator().statsByKernel().get(k);
            System.out.printf("%s: %s%n", k, st.efficiency());
            assertEfficient(st, k);
        }
    }
}
