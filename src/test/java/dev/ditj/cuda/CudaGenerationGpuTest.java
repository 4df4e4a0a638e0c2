package dev.ditj.cuda;

import dev.ditj.RandomModels;
import dev.ditj.api.GenerationRequest;
import dev.ditj.api.GenerationResult;
import dev.ditj.api.Generator;
import dev.ditj.api.SamplerKind;
import dev.ditj.tensor.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Full size on a GPU: a DiT-XL/2 at 256 px and the SD VAE (random weights) generate an image through the CUDA
 * backend, and 200 generations in one process leave device memory flat.
 */
@Tag("gpu")
class CudaGenerationGpuTest {
    private static CudaOps ops;

    @BeforeAll
    static void setUp() {
        ops = Devices.gpu();
    }

    @AfterAll
    static void tearDown() {
        if (ops != null) ops.close();
    }

    @Test
    void xl2AndSdVaeGenerateWithFlatMemory(@TempDir Path tmp) {
        Path dit = RandomModels.ditFile(RandomModels.ditXl2(256), 1, DType.BF16, tmp.resolve("xl2.safetensors"));
        Path vae = RandomModels.vaeFile(RandomModels.sdVae(), 2, DType.BF16, tmp.resolve("vae.safetensors"));
        try (Generator g = Generator.load(dit, vae, ops)) {
            GenerationResult r = g.generate(GenerationRequest.builder(207, 360).seed(1).sampler(SamplerKind.DDIM)
                    .steps(10).build());
            assertEquals(256, r.width());
            assertTrue(r.png(0).length > 1000);
            GenerationRequest quick = GenerationRequest.builder(88).seed(2).sampler(SamplerKind.DDIM).steps(2).build();
            g.generate(quick);
            long pooled = ops.pooledBytes(), free = ops.device().memoryInfo()[0];
            for (int i = 0; i < 200; i++) g.generate(quick);
            assertEquals(pooled, ops.pooledBytes(), "the backend's device memory grew");
            long freeAfter = ops.device().memoryInfo()[0];
            assertTrue(Math.abs(free - freeAfter) < (64 << 20), "free device memory moved by " + (free - freeAfter) + " bytes");
            System.out.printf("200 generations: pooled %d MiB, free %d -> %d MiB%n", pooled >> 20, free >> 20, freeAfter >> 20);
        }
    }
}
