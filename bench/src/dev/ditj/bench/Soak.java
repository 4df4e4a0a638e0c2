package dev.ditj.bench;

import dev.ditj.DitjException;
import dev.ditj.api.Backend;
import dev.ditj.api.GenerationRequest;
import dev.ditj.api.Generator;
import dev.ditj.api.SamplerKind;
import dev.ditj.sampling.StepListener;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Long-running checks on one {@link Generator} with the bundled model ({@code tools/soak}): many generations in one
 * process with the Java heap (after GC) and the resident set sampled — both must stay flat (tools/soak fixes the heap's
 * size, so the resident set measures what lives outside it); eight threads sharing
 * the generator must produce exactly the images of the same requests run one by one; a generation interrupted
 * mid-run must leave the generator usable. Prints a table and exits 1 if a check fails.
 *
 * <p>Arguments: {@code [generations (1000)] [backend (cpu)] [steps (10)]}.
 */
public final class Soak {
    private Soak() {
    }

    public static void main(String[] args) throws Exception {
        int generations = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        Backend backend = args.length > 1 ? Backend.parse(args[1]) : Backend.CPU;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        Path weights = Path.of(System.getProperty("ditj.home", ".")).resolve("weights");
        boolean ok = true;
        try (Generator g = Generator.load(weights.resolve("emoji-dit.safetensors"),
                weights.resolve("emoji-vae.safetensors"), backend)) {
            int classes = g.classLabels().size();
            System.out.printf("soak: %d generations of 1 image, DDIM %d steps, %s backend%n", generations, steps,
                    g.backendName());
            System.out.println("| generations | heap after GC (MB) | resident (MB) | s/generation |");
            System.out.println("|---|---|---|---|");
            List<long[]> samples = new ArrayList<>();
            long t0 = System.nanoTime(), last = t0;
            int every = Math.max(1, generations / 10);
            for (int i = 1; i <= generations; i++) {
                g.generate(request(i, i % classes, steps));
                if (i % every == 0 || i == 1) {
                    long now = System.nanoTime();
                    long[] s = {i, heapAfterGc(), residentBytes()};
                    samples.add(s);
                    System.out.printf(Locale.ROOT, "| %d | %.1f | %.1f | %.3f |%n", i, s[1] / 1e6, s[2] / 1e6,
                            (now - last) / 1e9 / (i == 1 ? 1 : every));
                    last = now;
                }
            }
            // flat: the last samples within 10 % (+ 32 MB of allocator slack) of the first one after warm-up
            long[] warm = samples.get(Math.min(1, samples.size() - 1)), end = samples.get(samples.size() - 1);
            boolean heapFlat = end[1] <= warm[1] * 1.1 + (32 << 20);
            boolean rssFlat = end[2] <= warm[2] * 1.1 + (32 << 20);
            System.out.printf(Locale.ROOT, "heap %s (%.1f -> %.1f MB), resident %s (%.1f -> %.1f MB), %.1f s in all%n",
                    heapFlat ? "flat" : "GROWS", warm[1] / 1e6, end[1] / 1e6, rssFlat ? "flat" : "GROWS",
                    warm[2] / 1e6, end[2] / 1e6, (System.nanoTime() - t0) / 1e9);
            ok &= heapFlat && rssFlat;
            ok &= threadsAgree(g, classes, steps);
            ok &= interruptible(g, steps);
        }
        System.out.println(ok ? "soak: all checks passed" : "soak: FAILED");
        System.exit(ok ? 0 : 1);
    }

    private static GenerationRequest request(long seed, int classId, int steps) {
        return GenerationRequest.builder(classId).seed(seed).sampler(SamplerKind.DDIM).steps(steps).build();
    }

    private static boolean threadsAgree(Generator g, int classes, int steps) throws Exception {
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < 64; i++) requests.add(request(10_000 + i, i % classes, steps));
        List<float[]> sequential = new ArrayList<>();
        for (GenerationRequest r : requests) sequential.add(g.generate(r).images().data());
        ExecutorService pool = Executors.newFixedThreadPool(8);
        int mismatches = 0;
        try {
            List<Future<float[]>> results = new ArrayList<>();
            for (GenerationRequest r : requests) results.add(pool.submit(() -> g.generate(r).images().data()));
            for (int i = 0; i < requests.size(); i++) {
                if (!Arrays.equals(sequential.get(i), results.get(i).get())) mismatches++;
            }
        } finally {
            pool.shutdownNow();
        }
        System.out.printf("8 threads, %d requests on one generator: %s%n", requests.size(),
                mismatches == 0 ? "bit-identical to one by one" : mismatches + " DIFFER");
        return mismatches == 0;
    }

    private static boolean interruptible(Generator g, int steps) {
        GenerationRequest r = request(7, 0, steps);
        float[] expected = g.generate(r).images().data();
        boolean stopped = false;
        StepListener interrupt = (done, total) -> {
            if (done == total / 2) Thread.currentThread().interrupt();
        };
        try {
            g.generate(r, interrupt);
        } catch (DitjException e) {
            stopped = e.getMessage().contains("interrupted");
        }
        boolean cleared = Thread.interrupted();
        boolean same = Arrays.equals(expected, g.generate(r).images().data());
        System.out.printf("interrupted mid-run: %s; next generation %s%n", stopped && cleared ? "stopped" : "NOT STOPPED",
                same ? "identical" : "DIFFERS");
        return stopped && cleared && same;
    }

    private static long heapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) System.gc();
        return rt.totalMemory() - rt.freeMemory();
    }

    /** VmRSS from /proc (Linux); 0 elsewhere. */
    private static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }
}
