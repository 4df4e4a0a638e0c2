package dev.ditj.api;

import dev.ditj.DitjException;
import dev.ditj.model.VaeConfig;
import dev.ditj.model.VaeDecoder;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.ModelFiles;
import dev.ditj.weights.WeightStore;

import java.nio.file.Path;

/** An SD-style VAE decoder loaded onto a backend. Decodes are serialized. */
public final class VaeModel implements AutoCloseable {
    private final VaeDecoder decoder;
    private final Path file;
    private final String sourceSha256;

    private VaeModel(VaeDecoder decoder, Path file, String sourceSha256) {
        this.decoder = decoder;
        this.file = file;
        this.sourceSha256 = sourceSha256;
    }

    /** Loads a ditj VAE file; fails first, with a {@link DitjException}, if the backend has no room for the weights. */
    public static VaeModel load(Path file, Ops ops) {
        try (WeightStore w = WeightStore.open(file)) {
            w.requireKind(ModelFiles.KIND_VAE);
            ops.checkMemory(file.toString(), w.floatBytes(), w.loadingBytes());
            VaeDecoder d = new VaeDecoder(w.vaeConfig(), w, ops);
            w.checkAllUsed();
            return new VaeModel(d, file, w.metadata().get(ModelFiles.SOURCE_SHA256_KEY));
        }
    }

    public VaeConfig config() {
        return decoder.config();
    }

    VaeDecoder decoder() {
        return decoder;
    }

    /** {@code image [B, 3, H·f, W·f]} in about [-1, 1] from a (normalised) latent {@code [B, C, H, W]}. */
    public synchronized HostTensor decode(HostTensor latent) {
        Ops ops = decoder.ops();
        int[] d = latent.shape().dims();
        if (d.length != 4 || d[1] != config().latentChannels()) {
            throw new DitjException("latent has shape " + latent.shape() + ", expected [B, " + config().latentChannels() + ", H, W]");
        }
        try (Tensor z = ops.upload(latent)) {
            return decode(z);
        }
    }

    /** Decodes a latent already on the backend. */
    synchronized HostTensor decode(Tensor latent) {
        Ops ops = decoder.ops();
        int b = latent.dim(0), h = latent.dim(2), w = latent.dim(3), f = config().downsamplingFactor();
        try (VaeDecoder.Workspace ws = decoder.workspace(b, h, w);
             Tensor image = ops.alloc(Shape.of(b, config().outChannels(), h * f, w * f))) {
            decoder.decode(ws, latent, image);
            return new HostTensor(image.shape(), ops.read(image));
        }
    }

    public Path file() {
        return file;
    }

    /** The SHA-256 of the checkpoint this file was converted from (its provenance metadata), or null. */
    public String sourceSha256() {
        return sourceSha256;
    }

    @Override
    public void close() {
        decoder.close();
    }
}
