package dev.ditj.bench;

import dev.ditj.RandomModels;
import dev.ditj.cpu.CpuOps;
import dev.ditj.model.VaeConfig;
import dev.ditj.model.VaeDecoder;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.OpProfiler;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;

/** Scratch timing of one SD VAE decode with a per-op profile (development aid). */
public final class QuickVaeTiming {
    public static void main(String[] args) {
        int image = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        VaeConfig c = RandomModels.sdVae();
        try (CpuOps cpu = new CpuOps(); WeightStore w = RandomModels.vae(c, 1)) {
            var wrapped = OpProfiler.wrap(cpu);
            Ops ops = wrapped.getKey();
            VaeDecoder vae = new VaeDecoder(c, w, ops);
            int s = image / 8;
            Tensor z = ops.upload(new HostTensor(Shape.of(1, 4, s, s), new float[4 * s * s]));
            Tensor img = ops.alloc(Shape.of(1, 3, image, image));
            VaeDecoder.Workspace ws = vae.workspace(1, s, s);
            for (int i = 0; i < 4; i++) {
                wrapped.getValue().reset();
                long t0 = System.nanoTime();
                vae.decode(ws, z, img);
                System.out.printf("decode %.3f s%n", (System.nanoTime() - t0) / 1e9);
            }
            System.out.print(wrapped.getValue().report());
        }
    }
}
