package dev.ditj.cuda;

import dev.ditj.cpu.CpuOps;
import dev.ditj.ops.OpCases;
import dev.ditj.ops.OpHarness;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

/** Every kernel of the CUDA backend, our real PTX run by the emulator, against the CPU backend (small shapes). */
class CudaOpsEmuTest {
    private static CudaOps emu;
    private static CpuOps cpu;

    @BeforeAll
    static void setUp() {
        emu = Devices.emulated();
        cpu = new CpuOps();
    }

    @AfterAll
    static void tearDown() {
        if (emu != null) emu.close();
        cpu.close();
    }

    static List<OpCases.Case> cases() {
        return OpCases.all(OpCases.Size.SMALL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void kernelMatchesCpu(OpCases.Case c) {
        OpHarness.check(c, emu, cpu);
    }
}
