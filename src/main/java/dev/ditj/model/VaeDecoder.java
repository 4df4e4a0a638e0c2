package dev.ditj.model;

import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Ops.Activation;
import dev.ditj.tensor.Ops.ConstantKind;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;

/**
 * The decode path of an SD-style AutoencoderKL (diffusers names): latent normalisation undone, post_quant_conv,
 * decoder (conv_in, mid block with single-head attention, up blocks of ResNet blocks — in VA-VAE's lowest level each
 * followed by the same single-head attention — with nearest ×2 upsampling, GroupNorm + SiLU, conv_out). Shaped entirely by {@link VaeConfig}, written once against {@link Ops}.
 */
public final class VaeDecoder implements AutoCloseable {
    private static final float GROUP_NORM_EPS = 1e-6f;

    private final VaeConfig config;
    private final Ops ops;
    private final String source;
    private final UploadedWeights uploaded;

    private final Conv postQuantConv, convIn, convOut;
    private final ResBlock midRes0, midRes1;
    private final Attention midAttention;
    private final UpBlock[] upBlocks;
    private final Norm normOut;

    private record Conv(Tensor w, Tensor b, int outChannels) {
    }

    private record Norm(Tensor gamma, Tensor beta) {
    }

    private record ResBlock(Norm norm1, Conv conv1, Norm norm2, Conv conv2, Conv shortcut) {
    }

    private record Attention(Norm norm, Tensor qkvW, Tensor qkvB, Tensor outW, Tensor outB, int channels) {
    }

    /** {@code attentions} is null, or one block per ResNet block (run after it). */
    private record UpBlock(ResBlock[] resnets, Attention[] attentions, Conv upsampler) {
    }

    public VaeDecoder(VaeConfig config, WeightStore weights, Ops ops) {
        this.config = config;
        this.ops = ops;
        this.source = weights.file().toString();
        this.uploaded = new UploadedWeights(ops);
        int[] boc = config.blockOutChannels();
        int levels = boc.length, top = boc[levels - 1], lc = config.latentChannels();
        postQuantConv = config.usePostQuantConv() ? conv(weights, "post_quant_conv", lc, lc, 1) : null;
        convIn = conv(weights, "decoder.conv_in", top, lc, 3);
        midRes0 = resBlock(weights, "decoder.mid_block.resnets.0", top, top);
        midAttention = config.midBlockAttention() ? attention(weights, "decoder.mid_block.attentions.0", top) : null;
        midRes1 = resBlock(weights, "decoder.mid_block.resnets.1", top, top);
        upBlocks = new UpBlock[levels];
        int in = top;
        for (int i = 0; i < levels; i++) {
            int out = boc[levels - 1 - i];
            ResBlock[] res = new ResBlock[config.layersPerBlock() + 1];
            Attention[] att = config.upBlockAttention()[i] ? new Attention[res.length] : null;
            for (int j = 0; j < res.length; j++) {
                res[j] = resBlock(weights, "decoder.up_blocks." + i + ".resnets." + j, j == 0 ? in : out, out);
                if (att != null) att[j] = attention(weights, "decoder.up_blocks." + i + ".attentions." + j, out);
            }
            Conv up = i < levels - 1 ? conv(weights, "decoder.up_blocks." + i + ".upsamplers.0.conv", out, out, 3) : null;
            upBlocks[i] = new UpBlock(res, att, up);
            in = out;
        }
        normOut = norm(weights, "decoder.conv_norm_out", boc[0]);
        convOut = conv(weights, "decoder.conv_out", config.outChannels(), boc[0], 3);
    }

    public VaeConfig config() {
        return config;
    }

    public Ops ops() {
        return ops;
    }

    private Tensor constant(HostTensor host) {
        return constant(host, ConstantKind.PLAIN);
    }

    private Tensor constant(HostTensor host, ConstantKind kind) {
        return uploaded.upload(host, kind);
    }

    private Conv conv(WeightStore w, String name, int out, int in, int k) {
        return new Conv(constant(w.tensor(name + ".weight", out, in, k, k), ConstantKind.CONV_WEIGHT),
                constant(w.tensor(name + ".bias", out)), out);
    }

    private Norm norm(WeightStore w, String name, int ch) {
        return new Norm(constant(w.tensor(name + ".weight", ch)), constant(w.tensor(name + ".bias", ch)));
    }

    private ResBlock resBlock(WeightStore w, String name, int in, int out) {
        return new ResBlock(norm(w, name + ".norm1", in), conv(w, name + ".conv1", out, in, 3),
                norm(w, name + ".norm2", out), conv(w, name + ".conv2", out, out, 3),
                in != out ? conv(w, name + ".conv_shortcut", out, in, 1) : null);
    }

    private Attention attention(WeightStore w, String name, int ch) {
        // q, k and v are stacked into one [3C, C] projection so the block reuses the transformer attention op.
        float[] qkvW = new float[3 * ch * ch];
        float[] qkvB = new float[3 * ch];
        String[] parts = {"to_q", "to_k", "to_v"};
        for (int i = 0; i < 3; i++) {
            System.arraycopy(w.tensor(name + "." + parts[i] + ".weight", ch, ch).data(), 0, qkvW, i * ch * ch, ch * ch);
            System.arraycopy(w.tensor(name + "." + parts[i] + ".bias", ch).data(), 0, qkvB, i * ch, ch);
        }
        return new Attention(norm(w, name + ".group_norm", ch),
                constant(new HostTensor(Shape.of(3 * ch, ch), qkvW), ConstantKind.LINEAR_WEIGHT),
                constant(new HostTensor(Shape.of(3 * ch), qkvB)),
                constant(w.tensor(name + ".to_out.0.weight", ch, ch), ConstantKind.LINEAR_WEIGHT),
                constant(w.tensor(name + ".to_out.0.bias", ch)), ch);
    }

    /** Activation buffers for one batch size and latent size: four planned slots that layers take views of. */
    public final class Workspace implements AutoCloseable {
        final int batch, height, width;
        private final Tensor[] slots = new Tensor[4];
        private final IdentityHashMap<Tensor, Integer> taken = new IdentityHashMap<>();
        final Tensor tokens, qkv, attn, proj;

        Workspace(int batch, int height, int width) {
            this.batch = batch;
            this.height = height;
            this.width = width;
            ops.checkMemory(source, 0, workspaceBytes(config, batch, height, width));
            long biggest = biggestActivation(config, height, width), tokenElems = batch * attentionElements(config, height, width);
            for (int i = 0; i < slots.length; i++) slots[i] = ops.alloc(Shape.of(batch * biggest));
            // flat, sized for the largest attention site (tokens × channels); each block takes views of its shape
            tokens = ops.alloc(Shape.of(tokenElems));
            qkv = ops.alloc(Shape.of(3 * tokenElems));
            attn = ops.alloc(Shape.of(tokenElems));
            proj = ops.alloc(Shape.of(tokenElems));
        }

        /** A view of a free slot with the given shape; slots are few, so a leak shows up at once. */
        Tensor take(int... dims) {
            for (int i = 0; i < slots.length; i++) {
                if (!taken.containsValue(i)) {
                    Tensor v = ops.view(slots[i], Shape.of(dims));
                    taken.put(v, i);
                    return v;
                }
            }
            throw new IllegalStateException("VAE workspace: no free buffer");
        }

        void release(Tensor view) {
            if (taken.remove(view) == null) throw new IllegalStateException("VAE workspace: buffer not taken");
        }

        @Override
        public void close() {
            for (Tensor t : slots) t.close();
            tokens.close();
            qkv.close();
            attn.close();
            proj.close();
        }
    }

    public Workspace workspace(int batch, int latentHeight, int latentWidth) {
        return new Workspace(batch, latentHeight, latentWidth);
    }

    /** Elements of the largest activation of one image: what each of the workspace's slots must hold. */
    private static long biggestActivation(VaeConfig config, int height, int width) {
        int[] boc = config.blockOutChannels();
        int top = boc[boc.length - 1];
        long biggest = (long) top * height * width;
        int h = height, w = width;
        for (int i = 0; i < boc.length; i++) {
            int out = boc[boc.length - 1 - i];
            int in = i == 0 ? top : boc[boc.length - i];
            biggest = Math.max(biggest, (long) Math.max(in, out) * h * w);
            if (i < boc.length - 1) {
                h *= 2;
                w *= 2;
                biggest = Math.max(biggest, (long) out * h * w);
            }
        }
        return Math.max(biggest, (long) config.outChannels() * h * w);
    }

    /**
     * Tokens × channels of the largest attention site of one image: the mid block (latent resolution, top channels)
     * or an up block with attention (up block i runs at 2^i times the latent's size).
     */
    private static long attentionElements(VaeConfig config, int height, int width) {
        int[] boc = config.blockOutChannels();
        long n = (long) height * width, elems = n * boc[boc.length - 1];
        for (int i = 0; i < boc.length; i++) {
            if (config.upBlockAttention()[i]) elems = Math.max(elems, (n << (2 * i)) * boc[boc.length - 1 - i]);
        }
        return elems;
    }

    /** The bytes {@link #workspace} allocates for {@code batch} latents of {@code height × width}. */
    public static long workspaceBytes(VaeConfig config, int batch, int height, int width) {
        return 4L * batch * (4 * biggestActivation(config, height, width) + 6 * attentionElements(config, height, width));
    }

    /** Per-channel factors that turn a (normalised) latent into the decoder's input; see {@link VaeConfig}. */
    private float[][] latentAffine() {
        int c = config.latentChannels();
        float[] mul = new float[c], add = new float[c];
        for (int i = 0; i < c; i++) {
            mul[i] = config.latentsStd() == null ? 1f : (float) config.latentsStd()[i];
            add[i] = config.latentsMean() == null ? 0f : (float) config.latentsMean()[i];
        }
        return new float[][] {mul, add};
    }

    /** {@code image [B, out, H·f, W·f] = decode(latent [B, latentChannels, H, W])}, normalisation included. */
    public void decode(Workspace ws, Tensor latent, Tensor image) {
        int b = ws.batch, h = ws.height, w = ws.width;
        float[][] affine = latentAffine();
        Tensor x = ws.take(b, config.latentChannels(), h, w);
        ops.channelAffine(x, latent, affine[0], (float) config.scalingFactor(), affine[1]);
        if (postQuantConv != null) x = conv(ws, postQuantConv, x, h, w);
        x = conv(ws, convIn, x, h, w);
        x = resBlock(ws, midRes0, x, h, w);
        if (midAttention != null) x = attention(ws, midAttention, x, h, w);
        x = resBlock(ws, midRes1, x, h, w);
        for (UpBlock up : upBlocks) {
            for (int j = 0; j < up.resnets.length; j++) {
                x = resBlock(ws, up.resnets[j], x, h, w);
                if (up.attentions != null) x = attention(ws, up.attentions[j], x, h, w);
            }
            if (up.upsampler != null) {
                Tensor big = ws.take(b, x.dim(1), 2 * h, 2 * w), y = ws.take(b, up.upsampler.outChannels, 2 * h, 2 * w);
                ops.upsampleConv2d(y, x, up.upsampler.w, up.upsampler.b, big);
                ws.release(big);
                ws.release(x);
                h *= 2;
                w *= 2;
                x = y;
            }
        }
        Tensor n = ws.take(b, x.dim(1), h, w);
        ops.groupNorm(n, x, normOut.gamma, normOut.beta, config.normNumGroups(), GROUP_NORM_EPS, true);
        ws.release(x);
        ops.conv2d(image, n, convOut.w, convOut.b, null);
        ws.release(n);
    }

    /** Convolution into a new slot; releases the input. */
    private Tensor conv(Workspace ws, Conv c, Tensor x, int h, int w) {
        Tensor y = ws.take(ws.batch, c.outChannels, h, w);
        ops.conv2d(y, x, c.w, c.b, null);
        ws.release(x);
        return y;
    }

    /** ResnetBlock2D: conv2(SiLU(GN(conv1(SiLU(GN(x)))))) + shortcut(x); releases the input. */
    private Tensor resBlock(Workspace ws, ResBlock r, Tensor x, int h, int w) {
        int b = ws.batch, in = x.dim(1), out = r.conv1.outChannels;
        Tensor t = ws.take(b, in, h, w);
        ops.groupNorm(t, x, r.norm1.gamma, r.norm1.beta, config.normNumGroups(), GROUP_NORM_EPS, true);
        Tensor u = ws.take(b, out, h, w);
        ops.conv2d(u, t, r.conv1.w, r.conv1.b, null);
        ws.release(t);
        Tensor v = ws.take(b, out, h, w);
        ops.groupNorm(v, u, r.norm2.gamma, r.norm2.beta, config.normNumGroups(), GROUP_NORM_EPS, true);
        Tensor residual = x;
        if (r.shortcut != null) {
            residual = ws.take(b, out, h, w);
            ops.conv2d(residual, x, r.shortcut.w, r.shortcut.b, null);
            ws.release(x);
        }
        ops.conv2d(u, v, r.conv2.w, r.conv2.b, residual);
        ws.release(v);
        ws.release(residual);
        return u;
    }

    /** Attention block: x + proj(attention(qkv(GN(x)) as tokens)), single head over all channels; releases x. */
    private Tensor attention(Workspace ws, Attention a, Tensor x, int h, int w) {
        int b = ws.batch, n = h * w, c = a.channels;
        Tensor normed = ws.take(b, c, n);
        ops.groupNorm(normed, ops.view(x, Shape.of(b, c, n)), a.norm.gamma, a.norm.beta,
                config.normNumGroups(), GROUP_NORM_EPS, false);
        Tensor tokens = ops.view(ws.tokens, Shape.of(b * n, c)), attn = ops.view(ws.attn, Shape.of(b * n, c));
        Tensor proj = ops.view(ws.proj, Shape.of(b * n, c));
        ops.channelsToTokens(tokens, normed);
        ws.release(normed);
        ops.selfAttention(attn, tokens, a.qkvW, a.qkvB, ops.view(ws.qkv, Shape.of(b * n, 3 * c)), b, n, 1,
                (float) (1.0 / Math.sqrt(c)));
        ops.linear(proj, attn, a.outW, a.outB, Activation.NONE);
        Tensor y = ws.take(b, c, h, w);
        ops.tokensToChannels(ops.view(y, Shape.of(b, c, n)), proj, ops.view(x, Shape.of(b, c, n)));
        ws.release(x);
        return y;
    }

    @Override
    public void close() {
        uploaded.close();
    }
}
