package dev.ditj.cuda;

import dev.ditj.cpu.CpuOps;
import dev.ditj.ops.OpCases;
import dev.ditj.ops.OpHarness;
import dev.ditj.tensor.Precision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

/**
 * The bf16 tensor-core linear on a real GPU against the CPU backend, with bf16-valued inputs (so the float32
 * tolerance holds, see CudaBf16EmuTest), at the small shapes and the real DiT-XL/2 shapes. Tagged gpu.
 */
@Tag("gpu")
class CudaBf16GpuTest {
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

    static List<OpCases.Case> cases() {
        return Stream.concat(OpCases.linear(OpCases.Size.SMALL, true).stream(), OpCases.linear(OpCases.Size.REAL, true).stream()).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void linearMatchesCpu(OpCases.Case c) {
        OpHarness.check(c, gpu, cpu);
    }
}
