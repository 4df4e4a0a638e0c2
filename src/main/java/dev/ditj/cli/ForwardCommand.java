package dev.ditj.cli;

import dev.ditj.api.DitModel;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "forward", mixinStandardHelpOptions = true,
        description = "One DiT or SiT forward pass on given inputs (with --cfg-scale: the official forward_with_cfg). "
                + "A SiT's output is its velocity (the learned-sigma half dropped, as SiT's forward does).")
final class ForwardCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "M", description = "ditj DiT file")
    Path model;

    @Option(names = "--x", required = true, paramLabel = "X.npy", description = "latents [B, C, I, I]")
    Path x;

    @Option(names = "--t", required = true, paramLabel = "T.npy",
            description = "timesteps [B]: integers 0..999 for a DiT, float32 times in [0, 1] (0 = noise) for a SiT")
    Path t;

    @Option(names = "--y", required = true, paramLabel = "Y.npy", description = "class labels [B] (num_classes = null)")
    Path y;

    @Option(names = "--cfg-scale", paramLabel = "S", description = "guidance scale: batch = [cond half; uncond half]")
    Float cfgScale;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.npy")
    Path output;

    @Mixin
    BackendOption backend;

    @Override
    public Integer call() {
        try (Ops ops = backend.open(); DitModel m = DitModel.load(model, ops)) {
            var c = m.config();
            HostTensor xs = Npys.readFloats(x, "x", -1, c.inChannels(), c.inputSize(), c.inputSize());
            int b = xs.shape().dim(0);
            int[] ys = Npys.readInts(y, "y", b);
            HostTensor out;
            if (m.family().isFlow()) {
                float[] ts = Npys.readFloatVector(t, "t (" + m.family().displayName + " times in [0, 1])", b);
                out = cfgScale == null ? m.velocity(xs, ts, ys) : m.velocityWithCfg(xs, ts, ys, cfgScale);
            } else {
                int[] ts = Npys.readInts(t, "t", b);
                out = cfgScale == null ? m.forward(xs, ts, ys) : m.forwardWithCfg(xs, ts, ys, cfgScale);
            }
            Npys.writeFloats(output, out);
            System.out.println("wrote " + output + " " + out.shape());
        }
        return 0;
    }
}
