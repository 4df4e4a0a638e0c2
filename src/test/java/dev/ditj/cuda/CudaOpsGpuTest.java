package dev.ditj.cuda;

import dev.ditj.cpu.CpuOps;
import dev.ditj.ops.OpCases;
import dev.ditj.ops.OpHarness;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

/**
 * Every kernel of the CUDA backend on a real GPU against the CPU backend, at the small shapes and at the real shapes
 * of DiT-XL/2 (256 and 512 px) and the SD VAE (256 px). Tagged gpu (tools/device-check, mvn -Pgpu verify).
 */
@Tag("gpu")
class CudaOpsGpuTest {
    private static CudaOps gpu;
    private static CpuOps cpu;

    @BeforeAll
    static void setUp() {
        cpu = new CpuOps();
        gpu = Devices.gpu();
    }

    @AfterAll
    static void tearDown() {
        if (gpu != null) gpu.close();
        if (cpu != null) cpu.close();
    }

    static List<OpCases.Case> cases() {
        return Stream.concat(OpCases.all(OpCases.Size.SMALL).stream(), OpCases.all(OpCases.Size.REAL).stream()).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void kernelMatchesCpu(OpCases.Case c) {
        OpHarness.check(c, gpu, cpu);
    }
}
