package dev.ditj.api;

import dev.ditj.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's Java API example, run on the fixture models, and the generator's thread safety. */
class ApiExampleTest {
    @Test
    void readmeExampleRuns(@TempDir Path tmp) throws Exception {
        try (Generator g = Generator.load(TestModels.ditA(), TestModels.vaeTiny(), Backend.AUTO)) {   // load once
            GenerationRequest req = GenerationRequest.builder(3, 7)
                    .seed(42).sampler(SamplerKind.DPMPP2M).steps(25).cfgScale(4f).build();
            int[] progress = new int[2];
            GenerationResult r = g.generate(req, (done, total) -> {
                progress[0] = done;
                progress[1] = total;
            });
            Files.write(tmp.resolve("grid.png"), r.gridPng());
            assertEquals(2 * 25, progress[0]); // image-steps: 2 images × 25 steps
            assertEquals(2 * 25, progress[1]);
            assertEquals(2, r.count());
            assertEquals(64, r.width());
            assertTrue(Files.size(tmp.resolve("grid.png")) > 1000);
        }
    }

    @Test
    void sameSeedSameImagesAlsoFromConcurrentCalls() throws Exception {
        try (Generator g = Generator.load(TestModels.ditA(), TestModels.vaeTiny(), Backend.CPU)) {
            GenerationRequest req = GenerationRequest.builder(1).seed(7).sampler(SamplerKind.DDIM).steps(5).build();
            float[] expected = g.generate(req).images().data();
            ExecutorService pool = Executors.newFixedThreadPool(3);
            try {
                java.util.List<Future<float[]>> f = new java.util.ArrayList<>();
                for (int i = 0; i < 3; i++) f.add(pool.submit(() -> g.generate(req).images().data()));
                for (Future<float[]> x : f) assertArrayEquals(expected, x.get(), 0f);
            } finally {
                pool.shutdown();
            }
            // an image's noise does not depend on the rest of the batch
            float[] pair = g.generate(GenerationRequest.builder(1, 4).seed(7).sampler(SamplerKind.DDIM).steps(5).build())
                    .images().data();
            float[] first = java.util.Arrays.copyOf(pair, expected.length);
            assertArrayEquals(expected, first, 1e-5f);
        }
    }
}
