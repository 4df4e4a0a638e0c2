package dev.ditj.bench;

import dev.ditj.RandomModels;
import dev.ditj.cpu.CpuOps;
import dev.ditj.model.Dit;
import dev.ditj.model.DitConfig;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;

/** Scratch timing of one DiT forward (development aid; benchmarks of record are the JMH classes). */
public final class QuickTiming {
    public static void main(String[] args) {
        int image = args.length > 0 ? Integer.parseInt(args[0]) : 256, batch = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        DitConfig c = RandomModels.ditXl2(image);
        try (CpuOps cpu = new CpuOps(); WeightStore w = RandomModels.dit(c, 1)) {
            var wrapped = dev.ditj.tensor.OpProfiler.wrap(cpu);
            dev.ditj.tensor.Ops ops = wrapped.getKey();
            Dit dit = new Dit(c, w, ops);
            int s = c.inputSize();
            Tensor x = ops.upload(new HostTensor(Shape.of(batch, 4, s, s), new float[batch * 4 * s * s]));
            Tensor t = ops.upload(new HostTensor(Shape.of(batch), new float[batch]));
            Tensor y = ops.allocInts(Shape.of(batch));
            Tensor out = ops.alloc(Shape.of(batch, 8, s, s));
            Dit.Workspace ws = dit.workspace(batch);
            for (int i = 0; i < 5; i++) {
                long t0 = System.nanoTime();
                dit.forward(ws, x, t, y, out);
                System.out.printf("forward %.3f s%n", (System.nanoTime() - t0) / 1e9);
                if (i == 3) System.out.print(wrapped.getValue().report());
                wrapped.getValue().reset();
            }
        }
    }
}
