package dev.ditj.emu;

import dev.ditj.emu.LaunchStats.Global;
import dev.ditj.emu.LaunchStats.Shared;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.ditj.emu.KernelRig.dim;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The efficiency counters against access patterns whose costs are known exactly (kernels/tests/emu_counters.cu):
 * every expected number below is worked out by hand from the cost model in {@link MemoryModel}.
 */
class EfficiencyCountersTest {
    private static EmulatedDevice device;
    private static KernelRig rig;

    @BeforeAll
    static void setUp() {
        device = new EmulatedDevice(2, 1 << 24).efficiencyCounters(true);
        rig = new KernelRig(device);
    }

    @AfterAll
    static void tearDown() {
        rig.close();
        KernelRig.forget(device);
        device.close();
    }

    /** Two warps; per warp one 32-bit store and one load: wavefronts per request = the conflict degree. */
    @ParameterizedTest(name = "stride {0}: {1} wavefronts per request")
    @CsvSource({"1, 1", "2, 2", "32, 32", "0, 1"})
    void sharedWordAccesses(int stride, int perRequest) {
        rig.launch("emu_counters", "shared_stride", dim(1), dim(64), 0, rig.alloc(64 * 4), stride);
        LaunchStats s = device.lastLaunch();
        for (Shared k : new Shared[] {Shared.STORE, Shared.LOAD}) {
            assertEquals(2, s.requests(k), k + " requests");
            assertEquals(2L * perRequest, s.wavefronts(k), k + " wavefronts: " + s.efficiency());
            assertEquals(2, s.idealWavefronts(k), k + " ideal");
            assertEquals(2L * (perRequest - 1), s.bankConflicts(k), k + " conflicts");
        }
        assertEquals(4L * (perRequest - 1), s.bankConflicts());
        assertEquals(perRequest == 1 ? 0 : 2, s.bankConflictsByInstruction().size(), s.bankConflictsByInstruction().toString());
    }

    /**
     * 64-bit accesses go in 2 phases of 16 lanes, 128-bit ones in 4 phases of 8: per warp and direction, float2 +
     * float4 ideally take 2 + 4 wavefronts; at stride 2 each phase spans 256 bytes, a 2-way conflict.
     */
    @ParameterizedTest(name = "stride {0}")
    @CsvSource({"1, 12", "2, 24"})
    void sharedVectorAccesses(int stride, int wavefronts) {
        rig.launch("emu_counters", "shared_vector", dim(1), dim(64), 0, rig.alloc(64 * 4), stride);
        LaunchStats s = device.lastLaunch();
        for (Shared k : new Shared[] {Shared.STORE, Shared.LOAD}) {
            assertEquals(4, s.requests(k), k + " requests");
            assertEquals(12, s.idealWavefronts(k), k + " ideal");
            assertEquals(wavefronts, s.wavefronts(k), k + " wavefronts: " + s.efficiency());
        }
    }

    /**
     * One warp copies a 32-row tile with 4 cp.async (16 bytes per lane) and reads four 8x8 matrices with one
     * ldmatrix.x4: 64-byte rows conflict 4-way in ldmatrix unless swizzled; 128-byte rows also conflict 2-way in
     * the copies (two rows of 64 bytes per 8-lane phase land in the same banks) and 8-way in ldmatrix.
     */
    @ParameterizedTest(name = "rows of {0} bytes, swizzle {1}")
    @CsvSource({"64, 0, 16, 16", "64, 1, 16, 4", "128, 0, 32, 32"})
    void cpAsyncAndLdmatrix(int rowBytes, int swizzle, int copyWavefronts, int ldmatrixWavefronts) {
        int[] in = new int[4 * 32 * 4];
        for (int i = 0; i < in.length; i++) in[i] = i;
        rig.launch("emu_counters", "tile_copy_ldmatrix", dim(1), dim(32), 0, rig.alloc(32 * 16), rig.ints(in), rowBytes, swizzle);
        LaunchStats s = device.lastLaunch();
        assertEquals(4, s.requests(Shared.CP_ASYNC));
        assertEquals(16, s.idealWavefronts(Shared.CP_ASYNC));
        assertEquals(copyWavefronts, s.wavefronts(Shared.CP_ASYNC), s.efficiency());
        assertEquals(1, s.requests(Shared.LDMATRIX));
        assertEquals(4, s.idealWavefronts(Shared.LDMATRIX));
        assertEquals(ldmatrixWavefronts, s.wavefronts(Shared.LDMATRIX), s.efficiency());
        // the copies' global side: 4 × 512 contiguous bytes = 64 sectors, all used
        assertEquals(4, s.requests(Global.CP_ASYNC));
        assertEquals(2048, s.bytesRequested(Global.CP_ASYNC));
        assertEquals(64, s.sectors(Global.CP_ASYNC));
        assertEquals(1.0, s.sectorEfficiency(Global.CP_ASYNC));
        // out[lane * 4 + j] as 4 scalar stores: lanes 16 bytes apart, 2 per sector: 16 sectors for 128 bytes each
        assertEquals(4, s.requests(Global.STORE));
        assertEquals(64, s.sectors(Global.STORE));
        assertEquals(0.25, s.sectorEfficiency(Global.STORE));
        assertEquals(32L * (64 + 64), s.globalTrafficBytes());
    }

    /** Two warps load in[t * stride + offset]: requested bytes against the 32-byte sectors touched. */
    @ParameterizedTest(name = "stride {0} offset {1}: {3} sectors")
    @CsvSource({"1, 0, 256, 8", "1, 1, 256, 10", "2, 0, 256, 16", "8, 0, 256, 64", "0, 0, 8, 2"})
    void globalLoads(int stride, int offset, long bytes, long sectors) {
        rig.launch("emu_counters", "global_stride", dim(1), dim(64), 0, rig.alloc(64 * 4), rig.floats(new float[1024]),
                stride, offset);
        LaunchStats s = device.lastLaunch();
        assertEquals(2, s.requests(Global.LOAD));
        assertEquals(bytes, s.bytesRequested(Global.LOAD));
        assertEquals(sectors, s.sectors(Global.LOAD), s.efficiency());
        assertEquals((double) bytes / (32 * sectors), s.sectorEfficiency(Global.LOAD));
        assertEquals(8, s.sectors(Global.STORE));
        assertEquals(1.0, s.sectorEfficiency(Global.STORE));
        assertEquals(32 * (sectors + 8), s.globalTrafficBytes());
        assertEquals(2.0, s.trafficOverFloor(16 * (sectors + 8)));
    }

    /** The counters, like the results, are the same whatever the number of worker threads. */
    @Test
    void countsDoNotDependOnWorkerCount() {
        String[] seen = new String[2];
        float[][] results = new float[2][];
        for (int i = 0; i < 2; i++) {
            try (EmulatedDevice d = new EmulatedDevice(1 + 2 * i, 1 << 24).efficiencyCounters(true); KernelRig r = new KernelRig(d)) {
                short[] a = new short[128 * 64], b = new short[64 * 64];
                for (int j = 0; j < a.length; j++) a[j] = (short) (0x3f80 + j % 61);
                for (int j = 0; j < b.length; j++) b[j] = (short) (0x3f80 - j % 53);
                long c = r.alloc(128 * 64 * 4);
                r.launch("emu_mma", "gemm_bf16_mma", dim(2, 2, 1), dim(128), 0, c, r.shorts(a), r.shorts(b), 128, 64, 64);
                results[i] = r.readFloats(c, 128 * 64);
                LaunchStats s = d.lastLaunch();
                seen[i] = s.efficiency() + " " + s.bankConflictsByInstruction() + " " + s.warpInstructions();
                KernelRig.forget(d);
            }
        }
        assertEquals(seen[0], seen[1]);
        org.junit.jupiter.api.Assertions.assertArrayEquals(results[0], results[1], 0f);
    }

    @Test
    void countersAreOffByDefaultAndSummedPerKernel() {
        try (EmulatedDevice d = new EmulatedDevice(1, 1 << 20); KernelRig r = new KernelRig(d)) {
            r.launch("emu_counters", "shared_stride", dim(1), dim(64), 0, r.alloc(64 * 4), 32);
            LaunchStats off = d.lastLaunch();
            assertEquals(0, off.requests(Shared.STORE));
            assertTrue(off.warpInstructions("st.shared") > 0);
            d.efficiencyCounters(true);
            for (int i = 0; i < 3; i++) r.launch("emu_counters", "shared_stride", dim(1), dim(64), 0, r.alloc(64 * 4), 32);
            LaunchStats sum = d.statsByKernel().get("shared_stride");
            assertEquals(4, sum.launches());
            assertEquals(3 * 2 * 31L, sum.bankConflicts(Shared.STORE));
            KernelRig.forget(d);
        }
    }
}
