package dev.ditj.cli;

import dev.ditj.DitjException;
import dev.ditj.api.VaeModel;
import dev.ditj.image.Pixels;
import dev.ditj.image.Png;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "reconstruct", mixinStandardHelpOptions = true,
        description = "Encode a PNG with a VAE (the distribution's mean), decode it back, write the result and print "
                + "its PSNR against the input.")
final class ReconstructCommand implements Callable<Integer> {
    @Option(names = "--vae", required = true, paramLabel = "V", description = "ditj VAE file holding encoder and decoder")
    Path vae;

    @Parameters(index = "0", paramLabel = "IN.png", description = "the image (RGB; alpha composited on white)")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.png", description = "the reconstruction")
    Path output;

    @Mixin
    BackendOption backend;

    @Override
    public Integer call() {
        Png.Decoded in = Png.readRgb(input);
        int h = in.height(), w = in.width();
        float[] data = new float[3 * h * w];
        Pixels.fromRgb8(in.pixels(), h, w, data, 0);
        HostTensor x = new HostTensor(Shape.of(1, 3, h, w), data);
        try (Ops ops = backend.open(); VaeModel m = VaeModel.load(vae, ops)) {
            EncodeCommand.checkSize(m, input, x);
            if (!m.hasDecoder()) throw new DitjException(vae + ": this VAE file holds no decoder (encoder only)");
            HostTensor out = m.decode(m.encode(x, null).latent());
            byte[] rgb = Pixels.toRgb8(out.data(), 0, 3, h, w);
            Png.write(output, w, h, 3, rgb);
            System.out.printf(Locale.ROOT, "wrote %s; PSNR %.2f dB%n", output, psnr(in.pixels(), rgb));
        }
        return 0;
    }

    /** PSNR of two 8-bit images: {@code 10·log10(255² / MSE)} (infinite when equal). */
    static double psnr(byte[] a, byte[] b) {
        double se = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (a[i] & 0xff) - (b[i] & 0xff);
            se += d * d;
        }
        return 10 * Math.log10(255.0 * 255.0 / (se / a.length));
    }
}
