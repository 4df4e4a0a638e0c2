package dev.ditj.emu;

import dev.ditj.cuda.CudaException;
import dev.ditj.cuda.Device;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static dev.ditj.emu.KernelRig.dim;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What only the emulator does: load-time rejection, race and endless-loop checks, counters, determinism. */
class EmulatorTest {
    private static final String HEADER = ".version 8.0\n.target sm_80\n.address_size 64\n\n";

    private static void assertMentions(String message, String... parts) {
        for (String p : parts) assertTrue(message.contains(p), "missing '" + p + "' in: " + message);
    }

    @Test
    void unsupportedInstructionIsReportedAtLoadWithItsLine() {
        String ptx = HEADER + """
                .visible .entry uses_wgmma(.param .u64 p)
                {
                \t.reg .b64 %rd<2>;
                \tld.param.u64 %rd1, [p];
                \twgmma.fence.sync.aligned;
                \tret;
                }
                """;
        try (EmulatedDevice d = new EmulatedDevice(1, 1 << 20)) {
            CudaException e = assertThrows(CudaException.class, () -> d.load("hand.ptx", ptx));
            assertMentions(e.getMessage(), "hand.ptx", "uses_wgmma", "line 9", "unsupported instruction 'wgmma.fence.sync.aligned'",
                    "unknown opcode 'wgmma'");
        }
    }

    @Test
    void unsupportedFormsAreReportedToo() {
        try (EmulatedDevice d = new EmulatedDevice(1, 1 << 20)) {
            String call = HEADER + ".visible .entry k()\n{\n\tcall.uni foo, ();\n\tret;\n}\n";
            assertMentions(assertThrows(CudaException.class, () -> d.load("call.ptx", call)).getMessage(), "line 7", "foo",
                    "no .func");
            String recursive = HEADER + ".func f()\n{\n\tcall.uni f, ();\n\tret;\n}\n"
                    + ".visible .entry k()\n{\n\tcall.uni f, ();\n\tret;\n}\n";
            assertMentions(assertThrows(CudaException.class, () -> d.load("rec.ptx", recursive)).getMessage(), "recursive");
            String carry = HEADER + ".visible .entry k()\n{\n\t.reg .f32 %f<3>;\n\tadd.cc.f32 %f1, %f1, %f2;\n\tret;\n}\n";
            assertMentions(assertThrows(CudaException.class, () -> d.load("cc.ptx", carry)).getMessage(), "line 8", "carry");
            String undeclared = HEADER + ".visible .entry k()\n{\n\tmov.u32 %r1, 0;\n\tret;\n}\n";
            assertMentions(assertThrows(CudaException.class, () -> d.load("reg.ptx", undeclared)).getMessage(),
                    "register %r1 is not declared");
            String directive = HEADER + ".visible .entry k()\n{\n\t.surfref s;\n\tret;\n}\n";
            assertMentions(assertThrows(CudaException.class, () -> d.load("dir.ptx", directive)).getMessage(), "line 7",
                    "unsupported directive");
        }
    }

    @Test
    void localSharedAndAlignmentErrors() {
        String ptx = HEADER + """
                .visible .entry faults(.param .u64 p, .param .u32 which)
                {
                \t.local .align 4 .b8 depot[16];
                \t.shared .align 4 .b8 tile[64];
                \t.reg .pred %p<4>;
                \t.reg .b32 %r<4>;
                \t.reg .b64 %rd<4>;
                \tld.param.u64 %rd1, [p];
                \tld.param.u32 %r1, [which];
                \tmov.u32 %r2, %tid.x;
                \tsetp.eq.u32 %p1, %r1, 0;
                \t@%p1 st.local.u32 [depot+16], %r2;
                \tsetp.eq.u32 %p2, %r1, 1;
                \t@%p2 st.global.u32 [%rd1+2], %r2;
                \tsetp.eq.u32 %p3, %r1, 2;
                \t@%p3 st.shared.u32 [tile+64], %r2;
                \tret;
                }
                """;
        try (EmulatedDevice d = new EmulatedDevice(1, 1 << 20)) {
            Device.Kernel k = d.load("faults.ptx", ptx).kernel("faults");
            long buf = d.alloc(64);
            String[][] expected = {
                    {"line 16", "out-of-bounds local store of 4 bytes at local address 0x10", "local depot has 16 bytes"},
                    {"line 18", "misaligned store: address 0x", "is not a multiple of 4"},
                    {"line 20", "out-of-bounds shared store of 4 bytes at shared address 0x40", "64 bytes of shared memory"}};
            for (int which = 0; which < 3; which++) {
                int w = which;
                CudaException e = assertThrows(CudaException.class, () -> d.launch(k, dim(1), dim(32), 0, buf, w));
                assertMentions(e.getMessage(), expected[which]);
                assertMentions(e.getMessage(), "kernel faults", "thread (0,0,0)");
            }
        }
    }

    @Test
    void everyTestAndProductionKernelLoads() {
        try (EmulatedDevice d = new EmulatedDevice(1, 1 << 24)) {
            for (String m : new String[] {"emu_int", "emu_float", "emu_convert", "emu_control", "emu_shared", "emu_warp",
                    "emu_atomic", "emu_mma", "emu_errors", "/dev/ditj/kernels/elementwise.ptx"}) {
                d.load(m, KernelRig.ptx(m));
            }
        }
    }

    @Test
    void sharedMemoryRaceIsReportedWhenCheckOn() {
        try (EmulatedDevice d = new EmulatedDevice(1, 1 << 20); KernelRig r = new KernelRig(d)) {
            long out = r.alloc(64 * 4);
            r.launch("emu_errors", "shared_race", dim(1), dim(64), 0, out);   // check off: runs (reading poison)
            d.raceCheck(true);
            CudaException e = assertThrows(CudaException.class, () -> r.launch("emu_errors", "shared_race", dim(1), dim(64), 0, out));
            assertMentions(e.getMessage(), "shared_race", "shared-memory race", "warp 1 writes", "read by warp 0", "since the last barrier");
            // correct code passes: barriers between the phases, atomics (not races)
            r.launch("emu_shared", "block_sum", dim(2), dim(256), 0, r.alloc(8), r.floats(new float[512]), 512);
            r.launch("emu_atomic", "histogram", dim(2), dim(128), 0, r.ints(new int[16]), r.ints(new int[1000]), 1000);
            KernelCases.sgemm(r, 70, 70, 40);
            KernelRig.forget(d);
        }
    }

    @Test
    void warpCollectivesInADivergedWarpAreErrors() {
        try (EmulatedDevice d = new EmulatedDevice(1, 1 << 20); KernelRig r = new KernelRig(d)) {
            CudaException e = assertThrows(CudaException.class,
                    () -> r.launch("emu_errors", "diverged_shuffle", dim(1), dim(32), 0, r.alloc(128)));
            assertMentions(e.getMessage(), "diverged_shuffle", "shfl.sync with member mask 0xffffffff executed by lanes 0x0000ffff");
            KernelRig.forget(d);
        }
    }

    @Test
    void endlessLoopsAreCutOff() {
        try (EmulatedDevice d = new EmulatedDevice(1, 1 << 20); KernelRig r = new KernelRig(d)) {
            d.maxWarpInstructionsPerBlock(500);
            int[] start = new int[32];
            Arrays.fill(start, 27);   // 111 steps
            CudaException e = assertThrows(CudaException.class,
                    () -> r.launch("emu_control", "collatz", dim(1), dim(32), 0, r.alloc(128), r.ints(start), 32));
            assertMentions(e.getMessage(), "collatz", "did not finish within 500 warp-instructions");
            KernelRig.forget(d);
        }
    }

    @Test
    void countersCountTrafficAndInstructions() {
        try (EmulatedDevice d = new EmulatedDevice(2, 1 << 24); KernelRig r = new KernelRig(d)) {
            int n = 1000;
            long x = r.floats(new float[n]);
            r.launch("/dev/ditj/kernels/elementwise.ptx", "add_f32", dim(4), dim(256), 0, r.alloc(4 * n), x, x, (long) n);
            LaunchStats s = d.lastLaunch();
            assertEquals(8L * n, s.globalBytesLoaded());
            assertEquals(4L * n, s.globalBytesStored());
            assertEquals(4, s.blocks());
            assertTrue(s.threadInstructions() > 10L * n, s.toString());
            assertEquals(0, s.warpInstructions("mma"));
            d.resetStats();
            KernelCases.gemm(r, 128, 64, 96);
            s = d.stats();
            assertEquals(8 * 8 * 6, s.warpInstructions("mma"), "one mma.sync per 16x8x16 tile: " + s);
            assertTrue(s.sharedAccesses() > 0 && s.warpInstructions("cp.async") > 0, s.toString());
            KernelRig.forget(d);
        }
    }

    @Test
    void resultsDoNotDependOnWorkerCount() {
        float[][] gemm = new float[2][];
        int[][] tickets = new int[2][];
        int w = 0;
        for (int threads : new int[] {1, 3}) {
            try (EmulatedDevice d = new EmulatedDevice(threads, 1 << 24); KernelRig r = new KernelRig(d)) {
                short[] a = new short[128 * 64], b = new short[64 * 64];
                for (int i = 0; i < a.length; i++) a[i] = (short) (0x3f80 + (i * 37 % 200) - 100);
                for (int i = 0; i < b.length; i++) b[i] = (short) (0x3f80 + (i * 11 % 150) - 75);
                long c = r.alloc(128 * 64 * 4);
                r.launch("emu_mma", "gemm_bf16_mma", dim(2, 2, 1), dim(128), 0, c, r.shorts(a), r.shorts(b), 128, 64, 64);
                gemm[w] = r.readFloats(c, 128 * 64);
                int[] in = new int[500];
                for (int i = 0; i < in.length; i++) in[i] = i * 7919 % 1000;
                long t = r.alloc(4 * 500);
                r.launch("emu_atomic", "atomics", dim(4), dim(128), 0, r.ints(new int[12]), t, r.ints(in), 500);
                tickets[w] = r.readInts(t, 500);
                KernelRig.forget(d);
            }
            w++;
        }
        assertArrayEquals(gemm[0], gemm[1], 0f);
        assertArrayEquals(tickets[0], tickets[1], "kernels with order-dependent atomics run their blocks in order");
    }

    @Test
    void memoryErrorsNameTheAllocation() {
        try (EmulatedDevice d = new EmulatedDevice(1, 1000)) {
            CudaException e = assertThrows(CudaException.class, () -> d.alloc(2000));
            assertMentions(e.getMessage(), "out of device memory: needed 2000 bytes, 1000 free of 1000");
            long p = d.alloc(100);
            e = assertThrows(CudaException.class, () -> d.copyToDevice(p + 64, java.nio.ByteBuffer.allocate(64)));
            assertMentions(e.getMessage(), "copyToDevice", "not inside one allocation", "nearest allocation");
            d.free(p);
            e = assertThrows(CudaException.class, () -> d.memset32(p, 0, 1));
            assertMentions(e.getMessage(), "has been freed");
            assertEquals(1000, d.memoryInfo()[0]);
        }
    }

    @Test
    void nameSaysEmulated() {
        try (Device d = new EmulatedDevice(1, 1 << 20)) {
            assertTrue(d.name().startsWith("emulated device"));
        }
    }
}
