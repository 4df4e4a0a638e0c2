package dev.ditj;

import dev.ditj.convert.Converter;
import dev.ditj.io.Npy;
import dev.ditj.io.RawTensor;
import dev.ditj.io.SafeTensors;
import dev.ditj.model.Dit;
import dev.ditj.tensor.Ops;
import dev.ditj.weights.WeightStore;
import dev.ditj.weights.ModelFiles;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.HostTensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The fixture checkpoints converted once per test JVM into a temporary directory. */
public final class TestModels {
    private static final ConcurrentHashMap<String, Path> CONVERTED = new ConcurrentHashMap<>();
    private static Path dir;

    private TestModels() {
    }

    private static synchronized Path dir() {
        if (dir == null) {
            try {
                dir = Files.createTempDirectory("ditj-models");
                dir.toFile().deleteOnExit();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return dir;
    }

    private static Path convert(String key, Path input, Converter.Options options) {
        return CONVERTED.computeIfAbsent(key, k -> {
            Path out = dir().resolve(k + ".safetensors");
            Converter.convert(input, out, options);
            out.toFile().deleteOnExit();
            return out;
        });
    }

    /**
     * A copy of a ditj VAE file as ditj wrote it before it kept encoders: the encoder's tensors and the
     * {@code ditj.vae_parts} key gone, everything else as it was.
     */
    public static Path decoderOnly(Path vae) {
        return CONVERTED.computeIfAbsent("decoder-only " + vae.toAbsolutePath(), k -> {
            Path out = dir().resolve("decoder-only-" + CONVERTED.size() + ".safetensors");
            try (SafeTensors.Reader r = SafeTensors.open(vae)) {
                Map<String, RawTensor> kept = new LinkedHashMap<>();
                for (String n : r.names()) {
                    if (!n.startsWith("encoder.") && !n.startsWith("quant_conv.")) kept.put(n, r.get(n));
                }
                Map<String, String> metadata = new LinkedHashMap<>(r.metadata());
                metadata.remove(ModelFiles.VAE_PARTS_KEY);
                SafeTensors.write(out, kept, metadata);
            }
            out.toFile().deleteOnExit();
            return out;
        });
    }

    /** dit_a: 2 blocks, hidden 144, 2 heads (head dim 72), patch 2, 8×8 latent, 10 classes, learned sigma. */
    public static Path ditA() {
        return convert("dit_a", Fixtures.file("dit_a.pt"), new Converter.Options(DType.F32, 2, null, null));
    }

    /** dit_a loaded on {@code ops} (its weights copied in; the file is closed again). */
    public static Dit ditA(Ops ops) {
        try (WeightStore w = WeightStore.open(ditA())) {
            return new Dit(w.ditConfig(), w, ops);
        }
    }

    /**
     * A guide for dit_a (autoguidance): dit_a's file with every block's attention and MLP weights scaled by 0.7 and
     * its class table by 0.5 (a model of the same classes and latents that predicts worse), metadata kept.
     */
    public static Path ditAGuide() {
        return CONVERTED.computeIfAbsent("dit_a guide", k -> {
            Path out = dir().resolve("dit_a_guide.safetensors");
            try (SafeTensors.Reader r = SafeTensors.open(ditA())) {
                Map<String, RawTensor> tensors = new LinkedHashMap<>();
                for (String n : r.names()) {
                    RawTensor t = r.get(n);
                    float f = n.startsWith("blocks.") && (n.contains(".attn.") || n.contains(".mlp.")) ? 0.7f
                            : n.startsWith("y_embedder.") ? 0.5f : 1f;
                    if (f != 1f) {
                        float[] v = t.toFloats();
                        for (int i = 0; i < v.length; i++) v[i] *= f;
                        t = RawTensor.ofFloats(v, t.shape(), t.dtype());
                    }
                    tensors.put(n, t);
                }
                SafeTensors.write(out, tensors, r.metadata());
            }
            out.toFile().deleteOnExit();
            return out;
        });
    }

    /** dit_b: 1 block, hidden 96, 4 heads, patch 4, 16×16 latent, 1000 classes, no learned sigma. */
    public static Path ditB() {
        return convert("dit_b", Fixtures.file("dit_b.pt"), new Converter.Options(DType.F32, 4, null, null));
    }

    /**
     * sit_t: SiT (DiT's network, velocity) with 1 block, hidden 16, 2 heads, patch 2, 8×8 latent, 10 classes,
     * learned-sigma head; the EMA weights of its training checkpoint (a SiT by its training arguments).
     */
    public static Path sitT() {
        return convert("sit_t", Fixtures.file("sit_t_train.pt"), new Converter.Options(DType.F32, 2, null, null));
    }

    /**
     * repa_t: REPA's SiT (no learned sigma) with 1 block, hidden 8, 1 head, patch 2, 8×8 latent, 10 classes; the EMA
     * weights of its training checkpoint, the projector head dropped (a REPA by its projector keys).
     */
    public static Path repaT() {
        return convert("repa_t", Fixtures.file("repa_t_train.pt"), new Converter.Options(DType.F32, 1, null, null));
    }

    /**
     * lightningdit_t: LightningDiT (RMSNorm, SwiGLU, rotary embedding) with 1 block, hidden 16, 2 heads, patch 1,
     * 4×4×32 latents, 10 classes; its plain state dict (a LightningDiT by its keys, the heads by its rotary tables).
     */
    public static Path lightningditT() {
        return convert("lightningdit_t", Fixtures.file("lightningdit_t.pt"), new Converter.Options(DType.F32, 0, null, null));
    }

    /** vae_tiny from its diffusers folder: SD's decoder layout with block channels 8, 8, 16, 16 and 4 GroupNorm groups. */
    public static Path vaeTiny() {
        return convert("vae_tiny", Fixtures.file("vae_tiny_diffusers"), Converter.Options.defaults());
    }

    /**
     * vavae_t: VA-VAE's decoder (LDM names, Lightning-style {"state_dict": ...} with encoder, loss and foundation-model
     * entries) at channels 4, 4, 8, 8, 16 with 2 GroupNorm groups (given by {@link #vavaeTinyConfig}), 3 ResNet blocks
     * per level, attention after each at the lowest level; 32 latent channels; with its latents_stats.pt.
     */
    public static Path vavaeTiny() {
        return convert("vavae_t", Fixtures.file("vavae_t.pt"), new Converter.Options(DType.F32, 0, vavaeTinyConfig(),
                null, null, null, Fixtures.file("vavae_t_latents_stats.pt")));
    }

    /** vavae_t's architecture as a diffusers-style config: the group count (2) is what the shapes cannot tell. */
    public static synchronized Path vavaeTinyConfig() {
        Path p = dir().resolve("vavae_t_config.json");
        if (!Files.exists(p)) {
            try {
                Files.writeString(p, "{\"latent_channels\": 32, \"block_out_channels\": [4, 4, 8, 8, 16], "
                        + "\"layers_per_block\": 2, \"norm_num_groups\": 2, \"up_block_types\": [\"AttnUpDecoderBlock2D\", "
                        + "\"UpDecoderBlock2D\", \"UpDecoderBlock2D\", \"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]}");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            p.toFile().deleteOnExit();
        }
        return p;
    }

    /** The tiny VAE's config (its LDM files need it: shapes do not tell the group count). */
    public static Path vaeTinyConfig() {
        return Fixtures.file("vae_tiny_diffusers/config.json");
    }

    public static HostTensor floats(String fixture) {
        RawTensor t = Npy.read(Fixtures.file(fixture));
        return new HostTensor(t.shape(), t.toFloats());
    }

    public static int[] ints(String fixture) {
        return Npy.read(Fixtures.file(fixture)).toInts();
    }

    public static byte[] bytes(String fixture) {
        RawTensor t = Npy.read(Fixtures.file(fixture));
        byte[] b = new byte[t.data().remaining()];
        t.data().duplicate().get(b);
        return b;
    }

    /** {@code pixels} (uint8 [N, H, W, 3]) read as the VAE encoder's input: [N, 3, H, W] in [-1, 1]. */
    public static HostTensor encoderInput(String pixels) {
        RawTensor t = Npy.read(Fixtures.file(pixels));
        int[] d = t.shape().dims();
        byte[] px = bytes(pixels);
        int per = 3 * d[1] * d[2];
        float[] x = new float[d[0] * per];
        for (int i = 0; i < d[0]; i++) {
            dev.ditj.image.Pixels.fromRgb8(java.util.Arrays.copyOfRange(px, i * per, (i + 1) * per), d[1], d[2], x, i * per);
        }
        return new HostTensor(dev.ditj.tensor.Shape.of(d[0], 3, d[1], d[2]), x);
    }
}
