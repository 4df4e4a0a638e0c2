package dev.ditj.api;

import dev.ditj.DitjException;
import dev.ditj.TestModels;
import dev.ditj.sampling.StepListener;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A generator shared by threads, interrupted mid-run, and fed micro-batches through the API. */
class GeneratorRobustnessTest {
    private static GenerationRequest request(int seed, int... classes) {
        return GenerationRequest.builder(classes).seed(seed).sampler(SamplerKind.DDIM).steps(4).build();
    }

    @Test
    void anInterruptedGenerationLeavesTheGeneratorUsable() {
        try (Generator g = Generator.load(TestModels.ditA(), TestModels.vaeTiny(), Backend.CPU)) {
            GenerationRequest r = request(3, 2, 7, 9);
            float[] expected = g.generate(r).images().data();
            StepListener interruptAtStep2 = (done, total) -> {
                if (done == 2 * 3) Thread.currentThread().interrupt();
            };
            DitjException e = assertThrows(DitjException.class, () -> g.generate(r, interruptAtStep2));
            assertTrue(e.getMessage().contains("interrupted"), e.getMessage());
            assertTrue(Thread.interrupted(), "the interrupt stays visible to the caller (and is cleared here)");
            assertArrayEquals(expected, g.generate(r).images().data(), 0f, "same images after the interruption");
        }
    }

    @Test
    void streamedBatchesArriveInOrderAndMatchOneBatch() {
        try (Generator g = Generator.load(TestModels.ditA(), TestModels.vaeTiny(), Backend.CPU)) {
            GenerationRequest r = request(5, 1, 2, 3, 4, 5);
            float[] whole = g.generate(r).images().data();
            List<Integer> firsts = new ArrayList<>();
            float[] streamed = new float[whole.length];
            int per = whole.length / 5;
            g.generate(r, 2, (first, batch) -> {
                firsts.add(first);
                System.arraycopy(batch.images().data(), 0, streamed, first * per, batch.count() * per);
                for (int i = 0; i < batch.count(); i++) assertEquals(first + i, batch.imageIndex(i));
            }, StepListener.NONE);
            assertEquals(List.of(0, 2, 4), firsts);
            assertArrayEquals(whole, streamed, 0f);
        }
    }

    /** Eight threads sharing one generator get exactly the images of the same requests run one by one. */
    @Test
    @Tag("long")
    void eightThreadsShareOneGenerator() throws Exception {
        try (Generator g = Generator.load(TestModels.ditA(), TestModels.vaeTiny(), Backend.CPU)) {
            List<GenerationRequest> requests = new ArrayList<>();
            for (int i = 0; i < 32; i++) requests.add(request(100 + i, i % 10, (i * 7) % 10));
            List<float[]> sequential = new ArrayList<>();
            for (GenerationRequest r : requests) sequential.add(g.generate(r).images().data());
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<float[]>> results = new ArrayList<>();
                for (GenerationRequest r : requests) {
                    results.add(pool.submit(() -> {
                        start.await();
                        return g.generate(r).images().data();
                    }));
                }
                start.countDown();
                for (int i = 0; i < requests.size(); i++) {
                    assertArrayEquals(sequential.get(i), results.get(i).get(), 0f, "request " + i);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
