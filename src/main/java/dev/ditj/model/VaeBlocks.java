package dev.ditj.model;

import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Ops.Activation;
import dev.ditj.tensor.Ops.ConstantKind;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;

/**
 * What the VAE's encoder and decoder share (diffusers names): loading their convolutions, GroupNorms, ResNet blocks
 * and single-head attention blocks onto a backend, and running them on a {@link VaeWorkspace}.
 */
final class VaeBlocks implements AutoCloseable {
    static final float GROUP_NORM_EPS = 1e-6f;

    record Conv(Tensor w, Tensor b, int outChannels) {
    }

    record Norm(Tensor gamma, Tensor beta) {
    }

    record ResBlock(Norm norm1, Conv conv1, Norm norm2, Conv conv2, Conv shortcut) {
    }

    record Attention(Norm norm, Tensor qkvW, Tensor qkvB, Tensor outW, Tensor outB, int channels) {
    }

    final Ops ops;
    private final int groups;
    private final WeightStore weights;
    private final UploadedWeights uploaded;

    /** Reads from {@code weights} while the model is being built; {@link #close} frees everything uploaded. */
    VaeBlocks(Ops ops, int groups, WeightStore weights) {
        this.ops = ops;
        this.groups = groups;
        this.weights = weights;
        this.uploaded = new UploadedWeights(ops);
    }

    Tensor constant(HostTensor host, ConstantKind kind) {
        return uploaded.upload(host, kind);
    }

    Conv conv(String name, int out, int in, int k) {
        return new Conv(constant(weights.tensor(name + ".weight", out, in, k, k), ConstantKind.CONV_WEIGHT),
                constant(weights.tensor(name + ".bias", out), ConstantKind.PLAIN), out);
    }

    Norm norm(String name, int ch) {
        return new Norm(constant(weights.tensor(name + ".weight", ch), ConstantKind.PLAIN),
                constant(weights.tensor(name + ".bias", ch), ConstantKind.PLAIN));
    }

    ResBlock resBlock(String name, int in, int out) {
        return new ResBlock(norm(name + ".norm1", in), conv(name + ".conv1", out, in, 3),
                norm(name + ".norm2", out), conv(name + ".conv2", out, out, 3),
                in != out ? conv(name + ".conv_shortcut", out, in, 1) : null);
    }

    Attention attention(String name, int ch) {
        // q, k and v are stacked into one [3C, C] projection so the block reuses the transformer attention op.
        float[] qkvW = new float[3 * ch * ch];
        float[] qkvB = new float[3 * ch];
        String[] parts = {"to_q", "to_k", "to_v"};
        for (int i = 0; i < 3; i++) {
            System.arraycopy(weights.tensor(name + "." + parts[i] + ".weight", ch, ch).data(), 0, qkvW, i * ch * ch, ch * ch);
            System.arraycopy(weights.tensor(name + "." + parts[i] + ".bias", ch).data(), 0, qkvB, i * ch, ch);
        }
        return new Attention(norm(name + ".group_norm", ch),
                constant(new HostTensor(Shape.of(3 * ch, ch), qkvW), ConstantKind.LINEAR_WEIGHT),
                constant(new HostTensor(Shape.of(3 * ch), qkvB), ConstantKind.PLAIN),
                constant(weights.tensor(name + ".to_out.0.weight", ch, ch), ConstantKind.LINEAR_WEIGHT),
                constant(weights.tensor(name + ".to_out.0.bias", ch), ConstantKind.PLAIN), ch);
    }

    /** GroupNorm (+ SiLU) of x into a new slot; releases the input. */
    Tensor groupNormSilu(VaeWorkspace ws, Norm n, Tensor x, int h, int w) {
        Tensor y = ws.take(ws.batch, x.dim(1), h, w);
        ops.groupNorm(y, x, n.gamma, n.beta, groups, GROUP_NORM_EPS, true);
        ws.release(x);
        return y;
    }

    /** Convolution into a new slot; releases the input. */
    Tensor conv(VaeWorkspace ws, Conv c, Tensor x, int h, int w) {
        Tensor y = ws.take(ws.batch, c.outChannels, h, w);
        ops.conv2d(y, x, c.w, c.b, null);
        ws.release(x);
        return y;
    }

    /** ResnetBlock2D: conv2(SiLU(GN(conv1(SiLU(GN(x)))))) + shortcut(x); releases the input. */
    Tensor resBlock(VaeWorkspace ws, ResBlock r, Tensor x, int h, int w) {
        int b = ws.batch, in = x.dim(1), out = r.conv1.outChannels;
        Tensor t = ws.take(b, in, h, w);
        ops.groupNorm(t, x, r.norm1.gamma, r.norm1.beta, groups, GROUP_NORM_EPS, true);
        Tensor u = ws.take(b, out, h, w);
        ops.conv2d(u, t, r.conv1.w, r.conv1.b, null);
        ws.release(t);
        Tensor v = ws.take(b, out, h, w);
        ops.groupNorm(v, u, r.norm2.gamma, r.norm2.beta, groups, GROUP_NORM_EPS, true);
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
    Tensor attention(VaeWorkspace ws, Attention a, Tensor x, int h, int w) {
        int b = ws.batch, n = h * w, c = a.channels;
        Tensor normed = ws.take(b, c, n);
        ops.groupNorm(normed, ops.view(x, Shape.of(b, c, n)), a.norm.gamma, a.norm.beta, groups, GROUP_NORM_EPS, false);
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
