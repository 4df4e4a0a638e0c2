package dev.ditj.cuda;

import dev.ditj.TestModels;
import dev.ditj.api.DitModel;
import dev.ditj.cpu.CpuOps;
import dev.ditj.emu.EmulatedDevice;
import dev.ditj.emu.LaunchStats;
import dev.ditj.emu.LaunchStats.Global;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Ops.Activation;
import dev.ditj.tensor.Ops.ActivationKind;
import dev.ditj.tensor.Precision;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The DiT step's fused paths on the emulator (issue 11): producers writing bf16 GEMM operands (against the CPU,
 * bound in {@link Bf16Producers}), the linear reading them without a conversion pass, the gated residual in the GEMM
 * epilogue, the launches of a whole BF16 DiT forward, and the efficiency counters of the memory-bound kernels.
 *
 * <p>Memory-bound kernels at DiT shapes (2 samples of 64 tokens, H = 1152; XL/2's latents): at least 90 % sector
 * efficiency on global loads and stores, traffic (sectors × 32, no cache modelled) at most 1.1 times the op's floor
 * (each input read once, each output written once), and, where a kernel has a 16-byte path, at least 384 bytes per
 * warp request on average (16-byte lanes; scalar lanes give 128). The LayerNorm passes the traffic bound only
 * because a block stages its sample's modulation once for 16 rows (one row per block: 1.5x for a bf16 output); the
 * gated residual only because a thread loads its gate once for 16 rows.
 */
class CudaFusedEmuTest {
    static final double MIN_SECTOR_EFFICIENCY = 0.9, MAX_TRAFFIC_OVER_FLOOR = 1.1;
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

    private static EmulatedDevice emulator() {
        return (EmulatedDevice) bf16.device();
    }

    static List<Bf16Producers.Case> producers() {
        return Bf16Producers.cases(Bf16Producers.Size.SMALL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("producers")
    void producerWritesTheBf16Operand(Bf16Producers.Case c) {
        Bf16Producers.check(c, bf16, cpu);
    }

    /** The producer table reaches the split-K reduction's bf16 output (the plan of its second linear). */
    @Test
    void producerTableCoversTheSplitKBf16Output() {
        assertTrue(GemmPlan.choose(3, 144, 1152, bf16.device().multiprocessors()).splits() > 1);
    }

    /** A bf16 linear input is read as it is: the same result, bit for bit, as float32 input holding the same values. */
    @Test
    void linearReadsABf16InputWithoutConversion() {
        int m = 50, k = 96, n = 72;
        float[] x = values(1, m * k), w = values(2, n * k);
        Tensor xb = bf16.alloc(Shape.of(m, k), ActivationKind.LINEAR_INPUT), outB = bf16.alloc(Shape.of(m, n));
        bf16.write(xb, x);
        float[] rounded = bf16.read(xb);
        assertFalse(java.util.Arrays.equals(x, rounded), "a bf16 linear input holds bf16 values");
        Tensor xf = bf16.upload(new HostTensor(Shape.of(m, k), rounded)), outF = bf16.alloc(Shape.of(m, n));
        Tensor wt = bf16.constant(new HostTensor(Shape.of(n, k), w), Ops.ConstantKind.LINEAR_WEIGHT);
        bf16.linear(outF, xf, wt, null, Activation.NONE);
        emulator().resetStats();
        bf16.linear(outB, xb, wt, null, Activation.NONE);
        assertFalse(emulator().statsByKernel().containsKey("convert_bf16_rows"), "no conversion pass for a bf16 input");
        assertArrayEquals(bf16.read(outF), bf16.read(outB), 0f);
        for (Tensor t : new Tensor[] {xb, outB, xf, outF, wt}) t.close();
    }

    /** linearGatedResidual on CUDA is one GEMM (its epilogue adds the gated residual): no residual kernel. */
    @Test
    void gatedResidualRunsInTheGemmEpilogue() {
        int b = 2, t = 16, k = 144, n = 144;
        Tensor x = bf16.upload(new HostTensor(Shape.of(b * t, n), values(3, b * t * n)));
        Tensor a = bf16.alloc(Shape.of(b * t, k), ActivationKind.LINEAR_INPUT);
        bf16.write(a, values(4, b * t * k));
        Tensor w = bf16.constant(new HostTensor(Shape.of(n, k), values(5, n * k)), Ops.ConstantKind.LINEAR_WEIGHT);
        Tensor mod = bf16.upload(new HostTensor(Shape.of(b, 6 * n), values(6, b * 6 * n)));
        emulator().resetStats();
        bf16.linearGatedResidual(x, a, w, null, mod, 5, t);
        Map<String, LaunchStats> launched = emulator().statsByKernel();
        assertTrue(launched.keySet().stream().allMatch(s -> s.startsWith("linear_bf16_") || s.startsWith("linear_splitk_reduce")),
                "only the GEMM (and its split-K reduction): " + launched.keySet());
        for (Tensor z : new Tensor[] {x, a, w, mod}) z.close();
    }

    /**
     * The launches of a BF16 DiT forward (dit_a: 2 blocks): one adaLN GEMM for every layer, 7 GEMMs per block plus
     * patch embedding, timestep MLP (2) and final layer; the only rounding passes are attention's (one per block)
     * and SiLU(c) into the adaLN operand; no separate residual, add or LayerNorm-to-float32 kernels.
     */
    @Test
    void ditForwardLaunches() {
        try (DitModel m = DitModel.load(TestModels.ditA(), bf16)) {
            int depth = m.config().depth();
            HostTensor x = TestModels.floats("dit_a_forward_x.npy");
            emulator().resetStats();
            m.forward(x, TestModels.ints("dit_a_forward_t.npy"), TestModels.ints("dit_a_forward_y.npy"));
            Map<String, LaunchStats> k = emulator().statsByKernel();
            long gemms = 0, all = 0;
            for (Map.Entry<String, LaunchStats> e : k.entrySet()) {
                all += e.getValue().launches();
                if (e.getKey().startsWith("linear_bf16_")) gemms += e.getValue().launches();
                System.out.printf("%-32s %d%n", e.getKey(), e.getValue().launches());
            }
            System.out.println("dit_a BF16 forward: " + all + " launches");
            assertEquals(4 * depth + 5, gemms, "GEMMs: 4 per block, patch embedding, timestep MLP (2), adaLN, final");
            assertEquals(depth + 1, k.get("convert_bf16_rows").launches(), "rounding passes: attention's and SiLU(c)");
            for (String absent : new String[] {"gated_residual_f32", "add_f32", "silu_f32", "modulated_layernorm_f32"}) {
                assertFalse(k.containsKey(absent), absent + " launched");
            }
            assertEquals(2 * depth + 1, k.get("modulated_layernorm_bf16").launches());
        }
    }

    private static float[] values(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (2 * r.nextDouble() - 1);
        return v;
    }

    // ------------------------------------------------------------------------------------------------ efficiency

    /** A memory-bound kernel run through its op: floor bytes, least average bytes per load / store request (0: any). */
    record Traffic(String kernel, long floor, int minLoad, int minStore, Consumer<CudaOps> run) {
        @Override
        public String toString() {
            return kernel;
        }
    }

    private static Tensor up(CudaOps ops, long seed, int... dims) {
        Shape s = Shape.of(dims);
        return ops.upload(new HostTensor(s, values(seed, s.size())));
    }

    static List<Traffic> memoryBound() {
        int b = 2, t = 64, h = 1152, lat = 32;
        long n = (long) b * t * h, latent = 2L * 4 * lat * lat, half = 2L * 8 * lat * lat;
        List<Traffic> c = new ArrayList<>();
        c.add(new Traffic("modulated_layernorm_f32", 8 * n + 8L * b * h, 384, 384, ops ->
                ops.modulatedLayerNorm(ops.alloc(Shape.of(b * t, h)), up(ops, 1, b * t, h), up(ops, 2, b, 6 * h), 0, 1, t, 1e-6f)));
        c.add(new Traffic("modulated_layernorm_bf16", 6 * n + 8L * b * h, 384, 192, ops ->
                ops.modulatedLayerNorm(ops.alloc(Shape.of(b * t, h), ActivationKind.LINEAR_INPUT), up(ops, 1, b * t, h),
                        up(ops, 2, b, 6 * h), 3, 4, t, 1e-6f)));
        c.add(new Traffic("gated_residual_f32", 12 * n + 4L * b * h, 384, 384, ops ->
                ops.gatedResidual(up(ops, 3, b * t, h), up(ops, 4, b * t, h), up(ops, 5, b, 6 * h), 2, t)));
        c.add(new Traffic("add_f32", 12 * n, 384, 384, ops -> ops.add(ops.alloc(Shape.of(n)), up(ops, 6, (int) n), up(ops, 7, (int) n))));
        c.add(new Traffic("silu_f32", 8 * n, 384, 384, ops -> ops.silu(ops.alloc(Shape.of(n)), up(ops, 8, (int) n))));
        c.add(new Traffic("add_token_table_f32", 8 * n + 4L * t * h, 384, 384, ops ->
                ops.addTokenTable(up(ops, 9, b * t, h), up(ops, 10, t, h), t)));
        c.add(new Traffic("cfg_combine_f32", 8 * half + 4 * half * 3 / 8, 384, 384, ops ->
                ops.cfgCombine(ops.alloc(Shape.of(2, 8, lat, lat)), up(ops, 11, 4, 8, lat, lat), 3, 4f)));
        c.add(new Traffic("ddim_step_f32", 16 * latent, 384, 384, ops ->
                ops.ddimStep(up(ops, 12, 2, 4, lat, lat), up(ops, 13, 2, 8, lat, lat), up(ops, 14, 2, 4, lat, lat),
                        new Ops.DdimCoefficients(1.1f, 0.45f, 0.95f, 0.2f, 0.3f, true))));
        c.add(new Traffic("ddpm_step_f32", 20 * latent, 384, 384, ops ->
                ops.ddpmStep(up(ops, 15, 2, 4, lat, lat), up(ops, 16, 2, 8, lat, lat), up(ops, 17, 2, 4, lat, lat),
                        new Ops.DdpmCoefficients(1.2f, 0.6f, 0.3f, 0.7f, -6f, -4f, true, -5f, true))));
        c.add(new Traffic("dpm_solver_step_f32", 20 * latent, 384, 384, ops ->
                ops.dpmSolverStep(up(ops, 18, 2, 4, lat, lat), up(ops, 19, 2, 4, lat, lat), ops.alloc(Shape.of(2, 4, lat, lat)),
                        up(ops, 20, 2, 4, lat, lat), new Ops.DpmSolverCoefficients(0.8f, 0.6f, 0.9f, -0.3f, true, 1.7f))));
        c.add(new Traffic("patchify_f32", 8 * latent, 0, 0, ops ->
                ops.patchify(ops.alloc(Shape.of(2 * 256, 16)), up(ops, 21, 2, 4, lat, lat), 2)));
        c.add(new Traffic("patchify_bf16", 6 * latent, 0, 0, ops ->
                ops.patchify(ops.alloc(Shape.of(2 * 256, 16), ActivationKind.LINEAR_INPUT), up(ops, 22, 2, 4, lat, lat), 2)));
        c.add(new Traffic("unpatchify_f32", 8 * half, 0, 0, ops ->
                ops.unpatchify(ops.alloc(Shape.of(2, 8, lat, lat)), up(ops, 23, 2 * 256, 32), 2, 8)));
        return c;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("memoryBound")
    void memoryBoundKernelMovesItsFloor(Traffic c) {
        emulator().resetStats();
        c.run.accept(bf16);
        bf16.synchronize();
        LaunchStats st = emulator().statsByKernel().get(c.kernel);
        assertTrue(st != null && st.launches() == 1, c.kernel + " launched once: " + emulator().statsByKernel().keySet());
        double ratio = st.trafficOverFloor(c.floor);
        System.out.printf("%s: %s; traffic / floor %.3f; bytes per request load %.0f store %.0f%n", c.kernel, st.efficiency(),
                ratio, perRequest(st, Global.LOAD), perRequest(st, Global.STORE));
        for (Global g : new Global[] {Global.LOAD, Global.STORE}) {
            assertTrue(st.sectorEfficiency(g) >= MIN_SECTOR_EFFICIENCY, g + " sector efficiency: " + st.efficiency());
        }
        assertTrue(ratio <= MAX_TRAFFIC_OVER_FLOOR, "traffic / floor " + ratio + ": " + st.efficiency());
        assertTrue(perRequest(st, Global.LOAD) >= c.minLoad, "16-byte loads: " + perRequest(st, Global.LOAD) + " B per request");
        assertTrue(perRequest(st, Global.STORE) >= c.minStore, "16-byte stores: " + perRequest(st, Global.STORE) + " B per request");
    }

    private static double perRequest(LaunchStats st, Global g) {
        return (double) st.bytesRequested(g) / st.requests(g);
    }
}
