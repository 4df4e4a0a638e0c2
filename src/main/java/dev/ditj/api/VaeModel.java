package dev.ditj.api;

import dev.ditj.DitjException;
import dev.ditj.model.LatentDistribution;
import dev.ditj.model.VaeConfig;
import dev.ditj.model.VaeDecoder;
import dev.ditj.model.VaeEncoder;
import dev.ditj.model.VaeWorkspace;
import dev.ditj.sampling.NoiseSource;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.ModelFiles;
import dev.ditj.weights.WeightStore;

import java.nio.file.Path;

/** An SD-style VAE (its decoder, its encoder, or both, as the file holds) loaded onto a backend. Calls are serialized. */
public final class VaeModel implements AutoCloseable {
    private final VaeConfig config;
    private final VaeDecoder decoder;
    private final VaeEncoder encoder;
    private final Path file;
    private final String sourceSha256;

    /** What {@link #encode} gives: the latent in the DiT's space and the distribution it was taken from. */
    public record Encoded(HostTensor latent, LatentDistribution distribution) {
    }

    private VaeModel(VaeConfig config, VaeDecoder decoder, VaeEncoder encoder, Path file, String sourceSha256) {
        this.config = config;
        this.decoder = decoder;
        this.encoder = encoder;
        this.file = file;
        this.sourceSha256 = sourceSha256;
    }

    /** Loads a ditj VAE file; fails first, with a {@link DitjException}, if the backend has no room for the weights. */
    public static VaeModel load(Path file, Ops ops) {
        try (WeightStore w = WeightStore.open(file)) {
            w.requireKind(ModelFiles.KIND_VAE);
            ops.checkMemory(file.toString(), w.floatBytes(), w.loadingBytes());
            VaeConfig c = w.vaeConfig();
            VaeEncoder e = w.hasVaePart(ModelFiles.VAE_ENCODER) ? new VaeEncoder(c, w, ops) : null;
            VaeDecoder d = null;
            try {
                d = w.hasVaePart(ModelFiles.VAE_DECODER) ? new VaeDecoder(c, w, ops) : null;
                w.checkAllUsed();
            } catch (RuntimeException ex) {
                if (e != null) e.close();
                if (d != null) d.close();
                throw ex;
            }
            return new VaeModel(c, d, e, file, w.metadata().get(ModelFiles.SOURCE_SHA256_KEY));
        }
    }

    public VaeConfig config() {
        return config;
    }

    public boolean hasEncoder() {
        return encoder != null;
    }

    public boolean hasDecoder() {
        return decoder != null;
    }

    /** {@code image [B, 3, H·f, W·f]} in about [-1, 1] from a (normalised) latent {@code [B, C, H, W]}. */
    public synchronized HostTensor decode(HostTensor latent) {
        int[] d = latent.shape().dims();
        if (d.length != 4 || d[1] != config.latentChannels()) {
            throw new DitjException("latent has shape " + latent.shape() + ", expected [B, " + config.latentChannels() + ", H, W]");
        }
        try (Tensor z = requireDecoder().ops().upload(latent)) {
            return decode(z);
        }
    }

    /** Decodes a latent already on the backend. */
    synchronized HostTensor decode(Tensor latent) {
        Ops ops = requireDecoder().ops();
        int b = latent.dim(0), h = latent.dim(2), w = latent.dim(3), f = config.downsamplingFactor();
        try (VaeWorkspace ws = decoder.workspace(b, h, w);
             Tensor image = ops.alloc(Shape.of(b, config.outChannels(), h * f, w * f))) {
            decoder.decode(ws, latent, image);
            return new HostTensor(image.shape(), ops.read(image));
        }
    }

    /**
     * Encodes {@code image [B, 3, H, W]} (values in [-1, 1], H and W multiples of the downsampling factor): the
     * latent {@code [B, C, H/f, W/f]} is the distribution's mean, or with a non-null {@code noise} a sample of it
     * ({@code mean + std · ε}, ε from the noise source's initial draw), normalised into the DiT's space (what
     * {@link #decode} takes back).
     */
    public synchronized Encoded encode(HostTensor image, NoiseSource noise) {
        int[] d = image.shape().dims();
        int f = config.downsamplingFactor();
        if (d.length != 4 || d[1] != config.outChannels()) {
            throw new DitjException("image has shape " + image.shape() + ", expected [B, " + config.outChannels() + ", H, W]");
        }
        if (d[2] % f != 0 || d[3] % f != 0 || d[2] == 0 || d[3] == 0) {
            throw new DitjException("image is " + d[3] + "x" + d[2] + "; this VAE takes sizes that are positive multiples of "
                    + f + " (e.g. " + 32 * f + "x" + 32 * f + ")");
        }
        VaeEncoder enc = requireEncoder();
        Ops ops = enc.ops();
        int b = d[0], h = d[2] / f, w = d[3] / f;
        HostTensor moments;
        try (Tensor x = ops.upload(image); VaeWorkspace ws = enc.workspace(b, d[2], d[3]);
             Tensor m = ops.alloc(Shape.of(b, 2 * config.latentChannels(), h, w))) {
            enc.encode(ws, x, m);
            moments = new HostTensor(m.shape(), ops.read(m));
        }
        LatentDistribution dist = LatentDistribution.fromMoments(moments);
        HostTensor z = dist.mean();
        if (noise != null) {
            int per = config.latentChannels() * h * w;
            float[] eps = new float[b * per];
            noise.initial(eps, b, per);
            z = dist.sample(eps);
        }
        return new Encoded(LatentDistribution.normalise(z, config), dist);
    }

    private VaeDecoder requireDecoder() {
        if (decoder == null) throw new DitjException(file + ": this VAE file holds no decoder (encoder only)");
        return decoder;
    }

    /** The encoder; refused with a one-line reason when the file holds none. */
    VaeEncoder requireEncoder() {
        if (encoder == null) {
            throw new DitjException(file + ": this VAE file holds no encoder (decoder only); convert a VAE checkpoint "
                    + "that has the encoder's weights to encode images");
        }
        return encoder;
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
        if (decoder != null) decoder.close();
        if (encoder != null) encoder.close();
    }
}
