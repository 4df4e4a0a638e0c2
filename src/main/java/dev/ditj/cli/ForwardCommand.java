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
        description = "One DiT forward pass on given inputs (with --cfg-scale: the official forward_with_cfg).")
final class ForwardCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "M", description = "ditj DiT file")
    Path model;

    @Option(names = "--x", required = true, paramLabel = "X.npy", description = "latents [B, C, I, I]")
    Path x;

    @Option(names = "--t", required = true, paramLabel = "T.npy", description = "timesteps [B], 0..999")
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
            int[] ts = Npys.readInts(t, "t", b), ys = Npys.readInts(y, "y", b);
            HostTensor out = cfgScale == null ? m.forward(xs, ts, ys) : m.forwardWithCfg(xs, ts, ys, cfgScale);
            Npys.writeFloats(output, out);
            System.out.println("wrote " + output + " " + out.shape());
        }
        return 0;
    }
}
