package dev.ditj.cli;

import dev.ditj.DitjException;
import dev.ditj.api.VaeModel;
import dev.ditj.image.Pixels;
import dev.ditj.image.Png;
import dev.ditj.sampling.NoiseSource;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "encode", mixinStandardHelpOptions = true,
        description = "Encode PNG images with a VAE's encoder into the DiT's latent space (what decode takes back).")
final class EncodeCommand implements Callable<Integer> {
    @Option(names = "--vae", required = true, paramLabel = "V", description = "ditj VAE file holding the encoder")
    Path vae;

    @Parameters(arity = "1..*", paramLabel = "IMAGE.png", description = "images of one size, a multiple of the VAE's "
            + "downsampling factor; RGB (alpha composited on white, gray replicated)")
    List<Path> images;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "Z.npy",
            description = "latents [N, C, h, w]: the distribution's mean (or a sample), normalised as the VAE file says")
    Path output;

    @Option(names = "--moments", paramLabel = "M.npy",
            description = "also write the raw [mean, logvar] [N, 2C, h, w] (logvar clamped to [-30, 20])")
    Path moments;

    @Option(names = "--sample", description = "a sample mean + std * eps instead of the mean (needs --seed)")
    boolean sample;

    @Option(names = "--seed", paramLabel = "N", description = "seed of the noise eps of --sample")
    Long seed;

    @Mixin
    BackendOption backend;

    @Override
    public Integer call() {
        if (sample && seed == null) throw new UsageException("--sample needs --seed N");
        if (!sample && seed != null) throw new UsageException("--seed applies to --sample only");
        HostTensor x = readImages(images);
        try (Ops ops = backend.open(); VaeModel m = VaeModel.load(vae, ops)) {
            checkSize(m, images.get(0), x);
            VaeModel.Encoded e = m.encode(x, sample ? NoiseSource.seeded(seed) : null);
            Npys.writeFloats(output, e.latent());
            if (moments != null) Npys.writeFloats(moments, e.distribution().moments());
            System.out.println("wrote " + output + " " + e.latent().shape()
                    + (moments != null ? " and " + moments + " " + e.distribution().moments().shape() : ""));
        }
        return 0;
    }

    /** PNGs of one size as {@code [N, 3, H, W]} in [-1, 1]. */
    static HostTensor readImages(List<Path> files) {
        Png.Decoded first = null;
        float[] data = null;
        for (int i = 0; i < files.size(); i++) {
            Png.Decoded d = Png.readRgb(files.get(i));
            if (first == null) {
                first = d;
                data = new float[Math.multiplyExact(files.size(), 3 * d.width() * d.height())];
            } else if (d.width() != first.width() || d.height() != first.height()) {
                throw new DitjException(files.get(i) + ": image is " + d.width() + "x" + d.height() + ", but "
                        + files.get(0) + " is " + first.width() + "x" + first.height() + "; encode images of one size");
            }
            Pixels.fromRgb8(d.pixels(), d.height(), d.width(), data, i * 3 * d.width() * d.height());
        }
        return new HostTensor(Shape.of(files.size(), 3, first.height(), first.width()), data);
    }

    /** Refuses a size the VAE cannot take, naming the sizes it can (before any work). */
    static void checkSize(VaeModel m, Path file, HostTensor x) {
        int f = m.config().downsamplingFactor(), h = x.shape().dim(2), w = x.shape().dim(3);
        if (h % f != 0 || w % f != 0) {
            throw new DitjException(file + ": image is " + w + "x" + h + "; this VAE takes widths and heights that are "
                    + "multiples of " + f + " (nearest: " + Math.max(f, w / f * f) + "x" + Math.max(f, h / f * f) + ")");
        }
    }
}
