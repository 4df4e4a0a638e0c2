package dev.ditj.model;

import dev.ditj.model.VaeBlocks.Attention;
import dev.ditj.model.VaeBlocks.Conv;
import dev.ditj.model.VaeBlocks.Norm;
import dev.ditj.model.VaeBlocks.ResBlock;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;

/**
 * The decode path of an SD-style AutoencoderKL (diffusers names): latent normalisation undone, post_quant_conv,
 * decoder (conv_in, mid block with single-head attention, up blocks of ResNet blocks — in VA-VAE's lowest level each
 * followed by the same single-head attention — with nearest ×2 upsampling, GroupNorm + SiLU, conv_out). Shaped entirely by {@link VaeConfig}, written once against {@link Ops}.
 */
public final class VaeDecoder implements AutoCloseable {
    private final VaeConfig config;
    private final Ops ops;
    private final String source;
    private final VaeBlocks blocks;

    private final Conv postQuantConv, convIn, convOut;
    private final ResBlock midRes0, midRes1;
    private final Attention midAttention;
    private final UpBlock[] upBlocks;
    private final Norm normOut;

    /** {@code attentions} is null, or one block per ResNet block (run after it). */
    private record UpBlock(ResBlock[] resnets, Attention[] attentions, Conv upsampler) {
    }

    public VaeDecoder(VaeConfig config, WeightStore weights, Ops ops) {
        this.config = config;
        this.ops = ops;
        this.source = weights.file().toString();
        VaeBlocks k = this.blocks = new VaeBlocks(ops, config.normNumGroups(), weights);
        int[] boc = config.blockOutChannels();
        int levels = boc.length, top = boc[levels - 1], lc = config.latentChannels();
        postQuantConv = config.usePostQuantConv() ? k.conv("post_quant_conv", lc, lc, 1) : null;
        convIn = k.conv("decoder.conv_in", top, lc, 3);
        midRes0 = k.resBlock("decoder.mid_block.resnets.0", top, top);
        midAttention = config.midBlockAttention() ? k.attention("decoder.mid_block.attentions.0", top) : null;
        midRes1 = k.resBlock("decoder.mid_block.resnets.1", top, top);
        upBlocks = new UpBlock[levels];
        int in = top;
        for (int i = 0; i < levels; i++) {
            int out = boc[levels - 1 - i];
            ResBlock[] res = new ResBlock[config.layersPerBlock() + 1];
            Attention[] att = config.upBlockAttention()[i] ? new Attention[res.length] : null;
            for (int j = 0; j < res.length; j++) {
                res[j] = k.resBlock("decoder.up_blocks." + i + ".resnets." + j, j == 0 ? in : out, out);
                if (att != null) att[j] = k.attention("decoder.up_blocks." + i + ".attentions." + j, out);
            }
            Conv up = i < levels - 1 ? k.conv("decoder.up_blocks." + i + ".upsamplers.0.conv", out, out, 3) : null;
            upBlocks[i] = new UpBlock(res, att, up);
            in = out;
        }
        normOut = k.norm("decoder.conv_norm_out", boc[0]);
        convOut = k.conv("decoder.conv_out", config.outChannels(), boc[0], 3);
    }

    public VaeConfig config() {
        return config;
    }

    public Ops ops() {
        return ops;
    }

    /** Activation buffers for {@code batch} latents of {@code latentHeight × latentWidth}. */
    public VaeWorkspace workspace(int batch, int latentHeight, int latentWidth) {
        return new VaeWorkspace(ops, source, batch, latentHeight, latentWidth,
                biggestActivation(config, latentHeight, latentWidth), attentionElements(config, latentHeight, latentWidth));
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
        return VaeWorkspace.bytes(batch, biggestActivation(config, height, width), attentionElements(config, height, width));
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
    public void decode(VaeWorkspace ws, Tensor latent, Tensor image) {
        int b = ws.batch, h = ws.height, w = ws.width;
        float[][] affine = latentAffine();
        Tensor x = ws.take(b, config.latentChannels(), h, w);
        ops.channelAffine(x, latent, affine[0], (float) config.scalingFactor(), affine[1]);
        if (postQuantConv != null) x = blocks.conv(ws, postQuantConv, x, h, w);
        x = blocks.conv(ws, convIn, x, h, w);
        x = blocks.resBlock(ws, midRes0, x, h, w);
        if (midAttention != null) x = blocks.attention(ws, midAttention, x, h, w);
        x = blocks.resBlock(ws, midRes1, x, h, w);
        for (UpBlock up : upBlocks) {
            for (int j = 0; j < up.resnets.length; j++) {
                x = blocks.resBlock(ws, up.resnets[j], x, h, w);
                if (up.attentions != null) x = blocks.attention(ws, up.attentions[j], x, h, w);
            }
            if (up.upsampler != null) {
                Tensor big = ws.take(b, x.dim(1), 2 * h, 2 * w), y = ws.take(b, up.upsampler.outChannels(), 2 * h, 2 * w);
                ops.upsampleConv2d(y, x, up.upsampler.w(), up.upsampler.b(), big);
                ws.release(big);
                ws.release(x);
                h *= 2;
                w *= 2;
                x = y;
            }
        }
        Tensor n = blocks.groupNormSilu(ws, normOut, x, h, w);
        ops.conv2d(image, n, convOut.w(), convOut.b(), null);
        ws.release(n);
    }

    @Override
    public void close() {
        blocks.close();
    }
}
