package dev.ditj.cli;

import dev.ditj.api.VaeModel;
import dev.ditj.image.Pixels;
import dev.ditj.image.Png;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "decode", mixinStandardHelpOptions = true,
        description = "Decode latents with a VAE: vae.decode(z / scaling_factor) (and the file's latent normalisation).")
final class DecodeCommand implements Callable<Integer> {
    @Option(names = "--vae", required = true, paramLabel = "V", description = "ditj VAE file")
    Path vae;

    @Option(names = "--latent", required = true, paramLabel = "Z.npy", description = "latents [B, C, H, W]")
    Path latent;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.npy", description = "decoded images [B, 3, H*f, W*f]")
    Path output;

    @Option(names = "--pixels", paramLabel = "P.npy", description = "also write uint8 pixels [B, H, W, 3]")
    Path pixels;

    @Option(names = "--png", paramLabel = "OUT.png", description = "also write the images as one PNG grid")
    Path png;

    @Mixin
    BackendOption backend;

    @Override
    public Integer call() {
        try (Ops ops = backend.open(); VaeModel m = VaeModel.load(vae, ops)) {
            HostTensor z = Npys.readFloats(latent, "latent", -1, m.config().latentChannels(), -1, -1);
            HostTensor img = m.decode(z);
            Npys.writeFloats(output, img);
            int b = img.shape().dim(0), c = img.shape().dim(1), h = img.shape().dim(2), w = img.shape().dim(3);
            List<byte[]> images = new ArrayList<>();
            for (int i = 0; i < b; i++) images.add(Pixels.toRgb8(img.data(), i * c * h * w, c, h, w));
            if (pixels != null) {
                byte[] all = new byte[b * h * w * c];
                for (int i = 0; i < b; i++) System.arraycopy(images.get(i), 0, all, i * h * w * c, h * w * c);
                Npys.writeBytes(pixels, all, b, h, w, c);
            }
            if (png != null) {
                int cols = 4;
                Png.write(png, Pixels.gridWidth(b, w, cols), Pixels.gridHeight(b, h, cols), c,
                        Pixels.grid(images, h, w, c, cols));
            }
            System.out.println("wrote " + output + " " + img.shape());
        }
        return 0;
    }
}
