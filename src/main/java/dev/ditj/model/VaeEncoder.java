package dev.ditj.model;

import dev.ditj.model.VaeBlocks.Attention;
import dev.ditj.model.VaeBlocks.Conv;
import dev.ditj.model.VaeBlocks.Norm;
import dev.ditj.model.VaeBlocks.ResBlock;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;

/**
 * The encode path of an SD-style AutoencoderKL (diffusers names): encoder (conv_in, down blocks of ResNet blocks —
 * in VA-VAE's lowest level each followed by single-head attention — with the stride-2 downsampling convolution on all
 * but the last level, mid block with attention, GroupNorm + SiLU, conv_out to 2·latent channels), then quant_conv.
 * Its output is the diagonal Gaussian's raw moments [mean, logvar]; {@link LatentDistribution} does the rest.
 * Shaped entirely by {@link VaeConfig}, written once against {@link Ops}.
 */
public final class VaeEncoder implements AutoCloseable {
    private final VaeConfig config;
    private final Ops ops;
    private final String source;
    private final VaeBlocks blocks;

    private final Conv convIn, convOut, quantConv;
    private final DownBlock[] downBlocks;
    private final ResBlock midRes0, midRes1;
    private final Attention midAttention;
    private final Norm normOut;

    /** {@code attentions} is null, or one block per ResNet block (run after it). */
    private record DownBlock(ResBlock[] resnets, Attention[] attentions, Conv downsampler) {
    }

    public VaeEncoder(VaeConfig config, WeightStore weights, Ops ops) {
        this.config = config;
        this.ops = ops;
        this.source = weights.file().toString();
        VaeBlocks k = this.blocks = new VaeBlocks(ops, config.normNumGroups(), weights);
        int[] boc = config.blockOutChannels();
        int levels = boc.length, top = boc[levels - 1], moments = 2 * config.latentChannels();
        convIn = k.conv("encoder.conv_in", boc[0], config.outChannels(), 3);
        downBlocks = new DownBlock[levels];
        int in = boc[0];
        for (int i = 0; i < levels; i++) {
            int out = boc[i];
            ResBlock[] res = new ResBlock[config.layersPerBlock()];
            Attention[] att = config.downBlockAttention(i) ? new Attention[res.length] : null;
            for (int j = 0; j < res.length; j++) {
                res[j] = k.resBlock("encoder.down_blocks." + i + ".resnets." + j, j == 0 ? in : out, out);
                if (att != null) att[j] = k.attention("encoder.down_blocks." + i + ".attentions." + j, out);
            }
            Conv down = i < levels - 1 ? k.conv("encoder.down_blocks." + i + ".downsamplers.0.conv", out, out, 3) : null;
            downBlocks[i] = new DownBlock(res, att, down);
            in = out;
        }
        midRes0 = k.resBlock("encoder.mid_block.resnets.0", top, top);
        midAttention = config.midBlockAttention() ? k.attention("encoder.mid_block.attentions.0", top) : null;
        midRes1 = k.resBlock("encoder.mid_block.resnets.1", top, top);
        normOut = k.norm("encoder.conv_norm_out", top);
        convOut = k.conv("encoder.conv_out", moments, top, 3);
        quantConv = config.usePostQuantConv() ? k.conv("quant_conv", moments, moments, 1) : null;
    }

    public VaeConfig config() {
        return config;
    }

    public Ops ops() {
        return ops;
    }

    /** Activation buffers for {@code batch} images of {@code height × width} (multiples of the downsampling factor). */
    public VaeWorkspace workspace(int batch, int height, int width) {
        return new VaeWorkspace(ops, source, batch, height, width, biggestActivation(config, height, width),
                attentionElements(config, height, width));
    }

    /** The bytes {@link #workspace} allocates for {@code batch} images of {@code height × width}. */
    public static long workspaceBytes(VaeConfig config, int batch, int height, int width) {
        return VaeWorkspace.bytes(batch, biggestActivation(config, height, width), attentionElements(config, height, width));
    }

    /** Elements of the largest activation of one image (down level i runs at 1/2^i of the image's size). */
    private static long biggestActivation(VaeConfig config, int height, int width) {
        int[] boc = config.blockOutChannels();
        long biggest = 0, n = (long) height * width;
        for (int i = 0; i < boc.length; i++) {
            biggest = Math.max(biggest, (n >> (2 * i)) * Math.max(boc[i], i == 0 ? boc[0] : boc[i - 1]));
        }
        return Math.max(biggest, (n >> (2 * (boc.length - 1))) * 2L * config.latentChannels());
    }

    /** Tokens × channels of the largest attention site of one image: the mid block or a down level with attention. */
    private static long attentionElements(VaeConfig config, int height, int width) {
        int[] boc = config.blockOutChannels();
        long n = (long) height * width, elems = (n >> (2 * (boc.length - 1))) * boc[boc.length - 1];
        for (int i = 0; i < boc.length; i++) {
            if (config.downBlockAttention(i)) elems = Math.max(elems, (n >> (2 * i)) * boc[i]);
        }
        return elems;
    }

    /**
     * {@code moments [B, 2·latentChannels, H/f, W/f] = quant_conv(encoder(image [B, out, H, W]))}: the raw mean and
     * log-variance (not yet clamped) concatenated on channels, as diffusers' DiagonalGaussianDistribution receives them.
     */
    public void encode(VaeWorkspace ws, Tensor image, Tensor moments) {
        int b = ws.batch, h = ws.height, w = ws.width;
        Tensor x = ws.take(b, convIn.outChannels(), h, w);
        ops.conv2d(x, image, convIn.w(), convIn.b(), null);
        for (DownBlock down : downBlocks) {
            for (int j = 0; j < down.resnets.length; j++) {
                x = blocks.resBlock(ws, down.resnets[j], x, h, w);
                if (down.attentions != null) x = blocks.attention(ws, down.attentions[j], x, h, w);
            }
            if (down.downsampler != null) {
                h /= 2;
                w /= 2;
                Tensor y = ws.take(b, down.downsampler.outChannels(), h, w);
                ops.downsampleConv2d(y, x, down.downsampler.w(), down.downsampler.b());
                ws.release(x);
                x = y;
            }
        }
        x = blocks.resBlock(ws, midRes0, x, h, w);
        if (midAttention != null) x = blocks.attention(ws, midAttention, x, h, w);
        x = blocks.resBlock(ws, midRes1, x, h, w);
        x = blocks.groupNormSilu(ws, normOut, x, h, w);
        if (quantConv == null) {
            ops.conv2d(moments, x, convOut.w(), convOut.b(), null);
        } else {
            x = blocks.conv(ws, convOut, x, h, w);
            ops.conv2d(moments, x, quantConv.w(), quantConv.b(), null);
        }
        ws.release(x);
    }

    @Override
    public void close() {
        blocks.close();
    }
}
