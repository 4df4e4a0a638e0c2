package dev.ditj.cuda;

import dev.ditj.Compare;
import dev.ditj.TestModels;
import dev.ditj.api.VaeModel;
import dev.ditj.cpu.CpuOps;
import dev.ditj.ops.OpCases;
import dev.ditj.ops.OpHarness;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Precision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

/**
 * The VAE's bf16 image ops on a real GPU against the CPU backend with bf16-valued inputs (bounds as in
 * CudaConvEmuTest): the op table's image rows at small and real SD VAE shapes (256 px: 4 to 512 channels, 32² to
 * 256², 32 groups), every convolution tile at a real shape, and the fixture VAE's decode in BF16. Tagged gpu.
 */
@Tag("gpu")
class CudaConvGpuTest {
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
        return Stream.concat(OpCases.image(OpCases.Size.SMALL, true, 1).stream(), OpCases.image(OpCases.Size.REAL, true, 1).stream())
                .toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void imageOpsMatchCpu(OpCases.Case c) {
        OpHarness.check(c, gpu, cpu);
    }

    /**
     * Every tile, forced, on SD VAE layers: 512 channels at 64² read through the upsampling, 256 -> 128 at 128², the
     * encoder's first downsampler (128 channels, 256² -> 128²).
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"T128x128", "T128x64", "T64x64"})
    void everyTileAtRealShapes(GemmPlan.Tile tile) {
        CudaConvEmuTest.Conv[] convs = {new CudaConvEmuTest.Conv(1, 512, 512, 32, 32, 3, ConvPlan.Sampling.UP, true),
                new CudaConvEmuTest.Conv(1, 256, 128, 128, 128, 3, ConvPlan.Sampling.PLAIN, true),
                new CudaConvEmuTest.Conv(1, 128, 128, 256, 256, 3, ConvPlan.Sampling.DOWN, false)};
        for (CudaConvEmuTest.Conv c : convs) {
            float[][] d = c.data(tile.ordinal(), true);
            ConvPlan plan = c.plan(tile, true);
            Compare.assertRelL2(c.cuda(gpu, d, plan), c.cpu(cpu, d), OpCases.BF16_OUTPUT, plan.toString());
        }
    }

    @Test
    void vaeDecodeInBf16() {
        try (VaeModel v = VaeModel.load(TestModels.vaeTiny(), gpu)) {
            HostTensor out = v.decode(TestModels.floats("vae_decode_z.npy"));
            Compare.assertRelL2(out.data(), TestModels.floats("vae_decode_out.npy").data(), CudaBf16FixtureEmuTest.VAE_BOUND,
                    "bf16 vae decode on " + gpu.device().name());
        }
    }
}
