package dev.ditj.model;

import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Ops.Activation;
import dev.ditj.tensor.Ops.ActivationKind;
import dev.ditj.tensor.Ops.ConstantKind;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;

import java.util.ArrayList;
import java.util.List;

/**
 * The official DiT (facebookresearch/DiT models.py), written once against {@link Ops}; with
 * {@link DitConfig#lightning} LightningDiT's variant of it (hustvl/LightningDiT models/lightningdit.py): RMSNorm
 * with a weight before each adaLN modulation, a SwiGLU MLP, and 2-D rotary embeddings on q and k, each where the
 * config says. Weights are uploaded
 * to the backend when the model is built; {@link #forward} allocates nothing itself (it uses a {@link Workspace};
 * a backend that does not fuse {@link Ops#linearGatedResidual} takes a temporary there).
 *
 * <p>Every adaLN modulation depends only on the conditioning c, so the blocks' and the final layer's adaLN weights
 * are stacked at load time into one linear layer {@code [(6·depth + 2)·H, H]}: one GEMM per forward makes all the
 * modulations (block i reads chunks 6i..6i+5, the final layer 6·depth and 6·depth + 1) instead of depth + 1 small
 * GEMMs. The block outputs (attention projection, fc2) add their gated residual in the same op
 * ({@link Ops#linearGatedResidual}); buffers read only by a linear layer are {@link ActivationKind#LINEAR_INPUT}.
 */
public final class Dit implements AutoCloseable {
    /** The eps of DiT's LayerNorms and of LightningDiT's RMSNorms alike. */
    private static final float NORM_EPS = 1e-6f;

    private final DitConfig config;
    private final Ops ops;
    private final String source;
    private final UploadedWeights uploaded;

    private final Tensor posEmbed, patchW, patchB, tMlp0W, tMlp0B, tMlp2W, tMlp2B, labelTable, freqs;
    /** Every adaLN layer's weight and bias stacked: blocks first (6 chunks each), then the final layer (2). */
    private final Tensor adaW, adaB;
    private final Block[] blocks;
    private final Tensor finalW, finalB;

    /** The rotary tables [T, head dim] (null without rotary embedding) and the final RMSNorm's weight (or null). */
    private final Tensor ropeCos, ropeSin, finalNormW;

    /** fc1/fc2 are SwiGLU's w12/w3 in a LightningDiT; the norm weights are null with LayerNorm. */
    private record Block(Tensor norm1W, Tensor qkvW, Tensor qkvB, Tensor projW, Tensor projB, Tensor norm2W, Tensor fc1W,
                         Tensor fc1B, Tensor fc2W, Tensor fc2B) {
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
        int depth = config.depth();
        String[] ada = new String[depth + 1];
        for (int i = 0; i < depth; i++) ada[i] = "blocks." + i + ".adaLN_modulation.1.";
        ada[depth] = "final_layer.adaLN_modulation.1.";
        int adaRows = modulationChunks(config) * h;
        float[] adaWeight = new float[Math.multiplyExact(adaRows, h)], adaBias = new float[adaRows];
        for (int i = 0, row = 0; i <= depth; i++) {     // one layer at a time: only the stack and one layer in memory
            int rows = (i < depth ? 6 : 2) * h;
            System.arraycopy(weights.tensor(ada[i] + "weight", rows, h).data(), 0, adaWeight, row * h, rows * h);
            System.arraycopy(weights.tensor(ada[i] + "bias", rows).data(), 0, adaBias, row, rows);
            row += rows;
        }
        adaW = constant(new HostTensor(Shape.of(adaRows, h), adaWeight), ConstantKind.LINEAR_WEIGHT);
        adaB = constant(new HostTensor(Shape.of(adaRows), adaBias), ConstantKind.PLAIN);
        blocks = new Block[depth];
        boolean rms = config.rmsNorm();
        String up = config.swiglu() ? "mlp.w12." : "mlp.fc1.", down = config.swiglu() ? "mlp.w3." : "mlp.fc2.";
        int u = config.swiglu() ? 2 * m : m;
        for (int i = 0; i < blocks.length; i++) {
            String b = "blocks." + i + ".";
            blocks[i] = new Block(rms ? load(weights, b + "norm1.weight", h) : null,
                    weight(weights, b + "attn.qkv.weight", 3 * h, h), load(weights, b + "attn.qkv.bias", 3 * h),
                    weight(weights, b + "attn.proj.weight", h, h), load(weights, b + "attn.proj.bias", h),
                    rms ? load(weights, b + "norm2.weight", h) : null,
                    weight(weights, b + up + "weight", u, h), load(weights, b + up + "bias", u),
                    weight(weights, b + down + "weight", h, m), load(weights, b + down + "bias", h));
        }
        finalNormW = rms ? load(weights, "final_layer.norm_final.weight", h) : null;
        ropeCos = config.rope() ? load(weights, "feat_rope.freqs_cos", t, config.headDim()) : null;
        ropeSin = config.rope() ? load(weights, "feat_rope.freqs_sin", t, config.headDim()) : null;
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

    /** Chunks of H values in the stacked modulation: 6 per block (shift, scale, gate of attention and MLP), 2 final. */
    static int modulationChunks(DitConfig config) {
        return 6 * config.depth() + 2;
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

    /**
     * Java heap that loading takes at a time: the float32 stack of every adaLN layer (902 MB at XL/2) beside the
     * weight store's own copies.
     */
    public static long loadingBytes(DitConfig c, WeightStore weights) {
        long h = c.hiddenSize();
        return weights.loadingBytes() + 4L * modulationChunks(c) * h * (h + 1);
    }

    /** Activation buffers for one batch size, reused by every forward of that size. */
    public final class Workspace implements AutoCloseable {
        final int batch;
        final Tensor patches, tokens, normed, qkv, attn, hidden, tFreq, tHidden, cond, condSilu, mod, finalOut;
        /** SwiGLU's two halves [rows, 2·mlpHidden] (null without SwiGLU). */
        final Tensor gateUp;
        private final List<Tensor> all = new ArrayList<>();

        Workspace(int batch) {
            this.batch = batch;
            ops.checkMemory(source, 0, workspaceBytes(config, batch));
            int rows = batch * config.tokens(), h = config.hiddenSize(), p = config.patchSize();
            ActivationKind plain = ActivationKind.PLAIN, gemmInput = ActivationKind.LINEAR_INPUT;
            patches = add(gemmInput, rows, config.inChannels() * p * p);
            tokens = add(plain, rows, h);
            normed = add(gemmInput, rows, h);
            qkv = add(plain, rows, 3 * h);
            attn = add(gemmInput, rows, h);
            hidden = add(gemmInput, rows, config.mlpHidden());
            gateUp = config.swiglu() ? add(plain, rows, 2 * config.mlpHidden()) : null;
            tFreq = add(gemmInput, batch, DitConfig.FREQUENCY_EMBEDDING_SIZE);
            tHidden = add(gemmInput, batch, h);
            cond = add(plain, batch, h);
            condSilu = add(gemmInput, batch, h);
            mod = add(plain, batch, modulationChunks(config) * h);
            finalOut = add(plain, rows, p * p * config.outChannels());
        }

        private Tensor add(ActivationKind kind, int... dims) {
            Tensor t = ops.alloc(Shape.of(dims), kind);
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

    /** The bytes {@link #workspace(int)} allocates for {@code batch} samples at most (all activations float32). */
    public static long workspaceBytes(DitConfig config, int batch) {
        long rows = (long) batch * config.tokens();
        int h = config.hiddenSize(), p = config.patchSize();
        long perRow = (long) config.inChannels() * p * p + 6L * h + (config.swiglu() ? 3L : 1L) * config.mlpHidden()
                + (long) p * p * config.outChannels();
        long perSample = DitConfig.FREQUENCY_EMBEDDING_SIZE + 3L * h + (long) modulationChunks(config) * h;
        return 4 * (rows * perRow + batch * perSample);
    }

    /**
     * {@code out [B, Co, I, I] = DiT(x [B, C, I, I], t [B] float timesteps 0..999 (flow models: times), y [B] int labels)}.
     */
    public void forward(Workspace ws, Tensor x, Tensor t, Tensor y, Tensor out) {
        int tokens = config.tokens(), heads = config.numHeads();
        float scale = (float) (1.0 / Math.sqrt(config.headDim()));

        ops.patchify(ws.patches, x, config.patchSize());
        ops.linear(ws.tokens, ws.patches, patchW, patchB, Activation.NONE);
        ops.addTokenTable(ws.tokens, posEmbed, tokens);

        // c = y_embedder(y) + t_embedder(t) (the second MLP layer adds onto the label rows); adaLN reads SiLU(c).
        ops.timestepFrequencies(ws.tFreq, t, freqs);
        ops.linear(ws.tHidden, ws.tFreq, tMlp0W, tMlp0B, Activation.SILU);
        ops.embeddingLookup(ws.cond, labelTable, y);
        ops.linearGatedResidual(ws.cond, ws.tHidden, tMlp2W, tMlp2B, null, 0, 1);
        ops.silu(ws.condSilu, ws.cond);
        ops.linear(ws.mod, ws.condSilu, adaW, adaB, Activation.NONE);

        for (int i = 0; i < blocks.length; i++) {
            Block b = blocks[i];
            // block i's chunks from 6i: 0 shift_msa, 1 scale_msa, 2 gate_msa, 3 shift_mlp, 4 scale_mlp, 5 gate_mlp
            int c = 6 * i;
            norm(ws, b.norm1W, c, c + 1);
            if (ropeCos != null) {
                ops.linear(ws.qkv, ws.normed, b.qkvW, b.qkvB, Activation.NONE);
                ops.rotaryQk(ws.qkv, ropeCos, ropeSin, tokens, heads);
                ops.attention(ws.attn, ws.qkv, ws.batch, tokens, heads, scale);
            } else {
                ops.selfAttention(ws.attn, ws.normed, b.qkvW, b.qkvB, ws.qkv, ws.batch, tokens, heads, scale);
            }
            ops.linearGatedResidual(ws.tokens, ws.attn, b.projW, b.projB, ws.mod, c + 2, tokens);

            norm(ws, b.norm2W, c + 3, c + 4);
            if (ws.gateUp != null) {
                ops.linear(ws.gateUp, ws.normed, b.fc1W, b.fc1B, Activation.NONE);
                ops.swiglu(ws.hidden, ws.gateUp);
            } else {
                ops.linear(ws.hidden, ws.normed, b.fc1W, b.fc1B, Activation.GELU_TANH);
            }
            ops.linearGatedResidual(ws.tokens, ws.hidden, b.fc2W, b.fc2B, ws.mod, c + 5, tokens);
        }

        // final layer: chunks 6·depth shift, 6·depth + 1 scale
        int f = 6 * blocks.length;
        norm(ws, finalNormW, f, f + 1);
        ops.linear(ws.finalOut, ws.normed, finalW, finalB, Activation.NONE);
        ops.unpatchify(out, ws.finalOut, config.patchSize(), config.outChannels());
    }

    /** {@code ws.normed} = the modulated norm of the residual stream: RMSNorm with {@code weight}, else LayerNorm. */
    private void norm(Workspace ws, Tensor weight, int shiftChunk, int scaleChunk) {
        if (weight != null) ops.modulatedRmsNorm(ws.normed, ws.tokens, weight, ws.mod, shiftChunk, scaleChunk, config.tokens(), NORM_EPS);
        else ops.modulatedLayerNorm(ws.normed, ws.tokens, ws.mod, shiftChunk, scaleChunk, config.tokens(), NORM_EPS);
    }

    @Override
    public void close() {
        uploaded.close();
    }
}
