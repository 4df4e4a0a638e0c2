package dev.ditj.model;

import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Ops.Activation;
import dev.ditj.tensor.Ops.ConstantKind;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;

import java.util.ArrayList;
import java.util.List;

/**
 * The official DiT (facebookresearch/DiT models.py), written once against {@link Ops}. Weights are uploaded
 * to the backend when the model is built; {@link #forward} allocates nothing (it uses a {@link Workspace}).
 */
public final class Dit implements AutoCloseable {
    private static final float LAYER_NORM_EPS = 1e-6f;

    private final DitConfig config;
    private final Ops ops;
    private final String source;
    private final UploadedWeights uploaded;

    private final Tensor posEmbed, patchW, patchB, tMlp0W, tMlp0B, tMlp2W, tMlp2B, labelTable, freqs;
    private final Block[] blocks;
    private final Tensor finalAdaW, finalAdaB, finalW, finalB;

    private record Block(Tensor adaW, Tensor adaB, Tensor qkvW, Tensor qkvB, Tensor projW, Tensor projB,
                         Tensor fc1W, Tensor fc1B, Tensor fc2W, Tensor fc2B) {
    }

    public Dit(DitConfig config, WeightStore weights, Ops ops) {
        this.config = config;
        this.ops = ops;
        this.source = weights.file().toString();
        this.uploaded = new UploadedWeights(ops);
        int h = config.hiddenSize(), c = config.inChannels(), p = config.patchSize(), t = config.tokens();
        int f = DitConfig.FREQUENCY_EMBEDDING_SIZE, m = config.mlpHidden(), o = p * p * config.outChannels();
        posEmbed = load(weights, "pos_embed", 1, t, h);
        // The patch-embedding conv (kernel = stride = p) is a linear layer over flattened patches.
        patchW = constant(reshape(weights.tensor("x_embedder.proj.weight", h, c, p, p), h, c * p * p), ConstantKind.LINEAR_WEIGHT);
        patchB = load(weights, "x_embedder.proj.bias", h);
        tMlp0W = weight(weights, "t_embedder.mlp.0.weight", h, f);
        tMlp0B = load(weights, "t_embedder.mlp.0.bias", h);
        tMlp2W = weight(weights, "t_embedder.mlp.2.weight", h, h);
        tMlp2B = load(weights, "t_embedder.mlp.2.bias", h);
        labelTable = load(weights, "y_embedder.embedding_table.weight", config.numClasses() + 1, h);
        blocks = new Block[config.depth()];
        for (int i = 0; i < blocks.length; i++) {
            String b = "blocks." + i + ".";
            blocks[i] = new Block(
                    weight(weights, b + "adaLN_modulation.1.weight", 6 * h, h), load(weights, b + "adaLN_modulation.1.bias", 6 * h),
                    weight(weights, b + "attn.qkv.weight", 3 * h, h), load(weights, b + "attn.qkv.bias", 3 * h),
                    weight(weights, b + "attn.proj.weight", h, h), load(weights, b + "attn.proj.bias", h),
                    weight(weights, b + "mlp.fc1.weight", m, h), load(weights, b + "mlp.fc1.bias", m),
                    weight(weights, b + "mlp.fc2.weight", h, m), load(weights, b + "mlp.fc2.bias", h));
        }
        finalAdaW = weight(weights, "final_layer.adaLN_modulation.1.weight", 2 * h, h);
        finalAdaB = load(weights, "final_layer.adaLN_modulation.1.bias", 2 * h);
        finalW = weight(weights, "final_layer.linear.weight", o, h);
        finalB = load(weights, "final_layer.linear.bias", o);
        freqs = constant(new HostTensor(Shape.of(TimestepFrequencies.HALF), TimestepFrequencies.table()), ConstantKind.PLAIN);
    }

    public DitConfig config() {
        return config;
    }

    public Ops ops() {
        return ops;
    }

    private Tensor load(WeightStore weights, String name, int... shape) {
        return constant(weights.tensor(name, shape), ConstantKind.PLAIN);
    }

    /** A Linear layer's weight [out, in]. */
    private Tensor weight(WeightStore weights, String name, int... shape) {
        return constant(weights.tensor(name, shape), ConstantKind.LINEAR_WEIGHT);
    }

    private Tensor constant(HostTensor host, ConstantKind kind) {
        return uploaded.upload(host, kind);
    }

    private static HostTensor reshape(HostTensor t, int... dims) {
        return new HostTensor(t.shape().reshape(dims), t.data());
    }

    /** Bytes of activations a forward of {@code batch} samples needs: its {@link Workspace}, input and output. */
    public static long activationBytes(DitConfig c, int batch) {
        long rows = (long) batch * c.tokens(), h = c.hiddenSize(), pp = (long) c.patchSize() * c.patchSize();
        long workspace = rows * (c.inChannels() * pp + 7 * h + c.mlpHidden() + pp * c.outChannels())
                + batch * (DitConfig.FREQUENCY_EMBEDDING_SIZE + 12 * h);
        long io = (long) batch * (c.inChannels() + c.outChannels()) * c.inputSize() * c.inputSize();
        return (workspace + io) * Float.BYTES;
    }

    /** Activation buffers for one batch size, reused by every forward of that size. */
    public final class Workspace implements AutoCloseable {
        final int batch;
        final Tensor patches, tokens, normed, qkv, attn, branch, hidden, tFreq, tHidden, labelEmb, cond, condSilu, mod,
                finalMod, finalOut;
        private final List<Tensor> all = new ArrayList<>();

        Workspace(int batch) {
            this.batch = batch;
            ops.checkMemory(source, 0, activationBytes(config, batch));
            int rows = batch * config.tokens(), h = config.hiddenSize(), p = config.patchSize();
            patches = add(rows, config.inChannels() * p * p);
            tokens = add(rows, h);
            normed = add(rows, h);
            qkv = add(rows, 3 * h);
            attn = add(rows, h);
            branch = add(rows, h);
            hidden = add(rows, config.mlpHidden());
            tFreq = add(batch, DitConfig.FREQUENCY_EMBEDDING_SIZE);
            tHidden = add(batch, h);
            labelEmb = add(batch, h);
            cond = add(batch, h);
            condSilu = add(batch, h);
            mod = add(batch, 6 * h);
            finalMod = add(batch, 2 * h);
            finalOut = add(rows, p * p * config.outChannels());
        }

        private Tensor add(int... dims) {
            Tensor t = ops.alloc(Shape.of(dims));
            all.add(t);
            return t;
        }

        public int batch() {
            return batch;
        }

        @Override
        public void close() {
            all.forEach(Tensor::close);
            all.clear();
        }
    }

    public Workspace workspace(int batch) {
        return new Workspace(batch);
    }

    /**
     * {@code out [B, Co, I, I] = DiT(x [B, C, I, I], t [B] float timesteps 0..999, y [B] int labels)}.
     */
    public void forward(Workspace ws, Tensor x, Tensor t, Tensor y, Tensor out) {
        int tokens = config.tokens(), heads = config.numHeads();
        float scale = (float) (1.0 / Math.sqrt(config.headDim()));

        ops.patchify(ws.patches, x, config.patchSize());
        ops.linear(ws.tokens, ws.patches, patchW, patchB, Activation.NONE);
        ops.addTokenTable(ws.tokens, posEmbed, tokens);

        // c = t_embedder(t) + y_embedder(y); every adaLN layer reads SiLU(c).
        ops.timestepFrequencies(ws.tFreq, t, freqs);
        ops.linear(ws.tHidden, ws.tFreq, tMlp0W, tMlp0B, Activation.SILU);
        ops.linear(ws.cond, ws.tHidden, tMlp2W, tMlp2B, Activation.NONE);
        ops.embeddingLookup(ws.labelEmb, labelTable, y);
        ops.add(ws.cond, ws.cond, ws.labelEmb);
        ops.silu(ws.condSilu, ws.cond);

        for (Block b : blocks) {
            // mod chunks: 0 shift_msa, 1 scale_msa, 2 gate_msa, 3 shift_mlp, 4 scale_mlp, 5 gate_mlp
            ops.linear(ws.mod, ws.condSilu, b.adaW, b.adaB, Activation.NONE);
            ops.modulatedLayerNorm(ws.normed, ws.tokens, ws.mod, 0, 1, tokens, LAYER_NORM_EPS);
            ops.linear(ws.qkv, ws.normed, b.qkvW, b.qkvB, Activation.NONE);
            ops.attention(ws.attn, ws.qkv, ws.batch, tokens, heads, scale);
            ops.linear(ws.branch, ws.attn, b.projW, b.projB, Activation.NONE);
            ops.gatedResidual(ws.tokens, ws.branch, ws.mod, 2, tokens);

            ops.modulatedLayerNorm(ws.normed, ws.tokens, ws.mod, 3, 4, tokens, LAYER_NORM_EPS);
            ops.linear(ws.hidden, ws.normed, b.fc1W, b.fc1B, Activation.GELU_TANH);
            ops.linear(ws.branch, ws.hidden, b.fc2W, b.fc2B, Activation.NONE);
            ops.gatedResidual(ws.tokens, ws.branch, ws.mod, 5, tokens);
        }

        // final layer: chunks 0 shift, 1 scale
        ops.linear(ws.finalMod, ws.condSilu, finalAdaW, finalAdaB, Activation.NONE);
        ops.modulatedLayerNorm(ws.normed, ws.tokens, ws.finalMod, 0, 1, tokens, LAYER_NORM_EPS);
        ops.linear(ws.finalOut, ws.normed, finalW, finalB, Activation.NONE);
        ops.unpatchify(out, ws.finalOut, config.patchSize(), config.outChannels());
    }

    @Override
    public void close() {
        uploaded.close();
    }
}
