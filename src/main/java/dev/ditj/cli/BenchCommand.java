package dev.ditj.cli;

import com.google.gson.JsonObject;
import dev.ditj.DitjException;
import dev.ditj.api.DitModel;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time DiT forward passes on this machine (random inputs; the numbers tools/compare-cpu puts "
                + "beside PyTorch's).")
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "M", description = "ditj DiT file")
    Path model;

    @Option(names = "--batch", defaultValue = "2", paramLabel = "B", description = "batch size (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--repeat", defaultValue = "5", paramLabel = "N", description = "timed forwards (default: ${DEFAULT-VALUE})")
    int repeat;

    @Option(names = "--warmup", defaultValue = "2", paramLabel = "N", description = "untimed forwards first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--json", paramLabel = "FILE", description = "append a JSON line with the result")
    Path json;

    @Mixin
    BackendOption backend;

    @Override
    public Integer call() {
        if (repeat < 1) throw new DitjException("--repeat must be at least 1");
        try (Ops ops = backend.open(); DitModel m = DitModel.load(model, ops)) {
            var c = m.config();
            int s = c.inputSize();
            float[] x = new float[batch * c.inChannels() * s * s];
            Random r = new Random(0);
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            HostTensor xs = new HostTensor(Shape.of(batch, c.inChannels(), s, s), x);
            int[] t = new int[batch], y = new int[batch];
            for (int i = 0; i < batch; i++) {
                t[i] = batch == 1 ? 500 : i * 999 / (batch - 1);
                y[i] = i == batch - 1 ? c.numClasses() : i % c.numClasses();
            }
            float[] times = new float[batch]; // a SiT's: the same spread over [0, 1]
            for (int i = 0; i < batch; i++) times[i] = t[i] / 999f;
            Runnable forward = m.family().isFlow() ? () -> m.velocity(xs, times, y) : () -> m.forward(xs, t, y);
            for (int i = 0; i < warmup; i++) forward.run();
            double[] sec = new double[repeat];
            for (int i = 0; i < repeat; i++) {
                long t0 = System.nanoTime();
                forward.run();
                sec[i] = (System.nanoTime() - t0) / 1e9;
            }
            double[] sorted = sec.clone();
            Arrays.sort(sorted);
            double min = sorted[0], median = sorted[repeat / 2];
            System.out.printf(Locale.ROOT, "%s batch %d on %s: min %.3f s, median %.3f s per forward (runs %s)%n",
                    m.name(), batch, ops.name(), min, median, Arrays.toString(sec));
            if (json != null) {
                JsonObject o = new JsonObject();
                o.addProperty("engine", "ditj");
                o.addProperty("model", m.name());
                o.addProperty("batch", batch);
                o.addProperty("backend", ops.name());
                o.addProperty("threads", Runtime.getRuntime().availableProcessors());
                o.addProperty("seconds_min", min);
                o.addProperty("seconds_median", median);
                try {
                    Files.writeString(json, o + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                } catch (IOException e) {
                    throw new DitjException("cannot write " + json + ": " + e.getMessage());
                }
            }
        }
        return 0;
    }
}
