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
 * The tensor-core attention on a real GPU against the CPU backend, with bf16-valued q, k, v (bound as in
 * CudaAttentionBf16EmuTest), at the emulator's shapes and the real ones: DiT-XL/2 at 256 and 512 px (16 heads of 72,
 * batch 2), head dim 64, and the VAE's 512-wide head over 1024 tokens. Tagged gpu.
 */
@Tag("gpu")
class CudaAttentionBf16GpuTest {
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
        return Stream.concat(OpCases.attentionBf16(OpCases.Size.SMALL).stream(), OpCases.attentionBf16(OpCases.Size.REAL).stream()).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void attentionMatchesCpu(OpCases.Case c) {
        OpHarness.check(c, gpu, cpu);
    }
}
