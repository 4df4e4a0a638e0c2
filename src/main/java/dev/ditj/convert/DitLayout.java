package dev.ditj.convert;

import dev.ditj.DitjException;
import dev.ditj.io.RawTensor;
import dev.ditj.model.DitConfig;
import dev.ditj.tensor.Shape;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The official DiT state dict (facebookresearch/DiT names, which ditj files keep): recognising it, inferring the
 * config from tensor shapes, and the exact list of expected tensors. LightningDiT's (hustvl/LightningDiT names) is
 * the same with its layers: RMSNorm weights ({@code norm1}, {@code norm2}, {@code final_layer.norm_final}), the
 * SwiGLU MLP ({@code mlp.w12}, {@code mlp.w3}) and the rotary tables ({@code feat_rope.freqs_cos/sin}, buffers
 * of its state dict).
 */
final class DitLayout {
    private DitLayout() {
    }

    /** Whether the keys hold any of LightningDiT's layers (the family then follows from the keys alone). */
    static boolean lightning(Map<String, RawTensor> t) {
        return t.containsKey("blocks.0.norm1.weight") || t.containsKey("blocks.0.mlp.w12.weight") || t.containsKey(ROPE_COS);
    }

    static boolean matches(Map<String, RawTensor> t) {
        return t.containsKey("x_embedder.proj.weight") && t.containsKey("blocks.0.attn.qkv.weight");
    }

    /** Heads of the released family, keyed by hidden size (heads cannot be read from the weights). */
    private static int officialHeads(int hidden) {
        switch (hidden) {
            case 384: return 6;
            case 768: return 12;
            case 1024: case 1152: return 16;
            default: return 0;
        }
    }

    /**
     * Infers the config. {@code numHeads} 0 means "from the official family"; other hidden sizes need it given.
     */
    static DitConfig inferConfig(Map<String, RawTensor> t, int numHeads, String file) {
        Shape patch = shapeOf(t, "x_embedder.proj.weight", file);
        if (patch.rank() != 4 || patch.dim(2) != patch.dim(3)) {
            throw new DitjException(file + ": tensor 'x_embedder.proj.weight' has shape " + patch + ", expected [H, C, p, p]");
        }
        int hidden = patch.dim(0), inChannels = patch.dim(1), p = patch.dim(2);
        int depth = 0;
        while (t.containsKey("blocks." + depth + ".attn.qkv.weight")) depth++;
        Shape pos = shapeOf(t, "pos_embed", file);
        int tokens = pos.rank() == 3 ? pos.dim(1) : -1;
        int grid = (int) Math.round(Math.sqrt(tokens));
        if (pos.rank() != 3 || grid * grid != tokens || pos.dim(2) != hidden) {
            throw new DitjException(file + ": tensor 'pos_embed' has shape " + pos + ", expected [1, G*G, " + hidden + "]");
        }
        int tableRows = shapeOf(t, "y_embedder.embedding_table.weight", file).dim(0);
        int finalRows = shapeOf(t, "final_layer.linear.weight", file).dim(0);
        int outChannels = finalRows / (p * p);
        if (outChannels * p * p != finalRows || outChannels != inChannels && outChannels != 2 * inChannels) {
            throw new DitjException(file + ": tensor 'final_layer.linear.weight' has " + finalRows
                    + " rows; expected p*p*C or p*p*2C = " + p * p * inChannels + " or " + p * p * 2 * inChannels);
        }
        boolean rms = t.containsKey("blocks.0.norm1.weight"), swiglu = t.containsKey("blocks.0.mlp.w12.weight");
        boolean rope = t.containsKey(ROPE_COS);
        // SwiGLU's width is int(2/3 · int(H · ratio)): the ratio that gives the stored width (4 in every release)
        int mlpHidden = swiglu ? shapeOf(t, "blocks.0.mlp.w12.weight", file).dim(0) / 2
                : shapeOf(t, "blocks.0.mlp.fc1.weight", file).dim(0);
        double ratio = !swiglu ? (double) mlpHidden / hidden
                : (int) (2.0 / 3 * (4 * hidden)) == mlpHidden ? 4 : Math.ceil(mlpHidden * 1.5) / hidden;
        // the rotary tables are [T, head dim]: they give the heads
        int ropeHeadDim = rope ? shapeOf(t, ROPE_COS, file).dim(-1) : 0;
        int heads = numHeads > 0 ? numHeads : rope && ropeHeadDim > 0 && hidden % ropeHeadDim == 0 ? hidden / ropeHeadDim
                : officialHeads(hidden);
        if (heads == 0) {
            throw new DitjException(file + ": the number of attention heads cannot be read from the weights for hidden "
                    + "size " + hidden + " (not an official DiT size); pass --num-heads");
        }
        if (hidden % heads != 0) {
            throw new DitjException(file + ": hidden size " + hidden + " is not divisible by --num-heads " + heads);
        }
        DitConfig c = new DitConfig(inChannels, grid * p, p, hidden, depth, heads, ratio, tableRows - 1,
                outChannels == 2 * inChannels, rms, swiglu, rope);
        if (c.mlpHidden() != mlpHidden) {
            throw new DitjException(file + ": tensor 'blocks.0.mlp.w12.weight' has " + 2 * mlpHidden + " rows; LightningDiT's "
                    + "SwiGLU has 2·int(2/3·int(H·mlp_ratio)) rows, which no mlp_ratio gives for H " + hidden);
        }
        return c;
    }

    static final String ROPE_COS = "feat_rope.freqs_cos", ROPE_SIN = "feat_rope.freqs_sin";

    /** Every tensor of a DiT with this config, in state_dict order, with its shape. */
    static Map<String, int[]> expected(DitConfig c) {
        int h = c.hiddenSize(), p = c.patchSize(), m = c.mlpHidden(), f = DitConfig.FREQUENCY_EMBEDDING_SIZE;
        Map<String, int[]> e = new LinkedHashMap<>();
        e.put("pos_embed", new int[] {1, c.tokens(), h});
        e.put("x_embedder.proj.weight", new int[] {h, c.inChannels(), p, p});
        e.put("x_embedder.proj.bias", new int[] {h});
        e.put("t_embedder.mlp.0.weight", new int[] {h, f});
        e.put("t_embedder.mlp.0.bias", new int[] {h});
        e.put("t_embedder.mlp.2.weight", new int[] {h, h});
        e.put("t_embedder.mlp.2.bias", new int[] {h});
        e.put("y_embedder.embedding_table.weight", new int[] {c.numClasses() + 1, h});
        if (c.rope()) {
            e.put(ROPE_COS, new int[] {c.tokens(), c.headDim()});
            e.put(ROPE_SIN, new int[] {c.tokens(), c.headDim()});
        }
        for (int i = 0; i < c.depth(); i++) {
            String b = "blocks." + i + ".";
            if (c.rmsNorm()) {
                e.put(b + "norm1.weight", new int[] {h});
                e.put(b + "norm2.weight", new int[] {h});
            }
            e.put(b + "attn.qkv.weight", new int[] {3 * h, h});
            e.put(b + "attn.qkv.bias", new int[] {3 * h});
            e.put(b + "attn.proj.weight", new int[] {h, h});
            e.put(b + "attn.proj.bias", new int[] {h});
            String up = c.swiglu() ? "mlp.w12." : "mlp.fc1.", down = c.swiglu() ? "mlp.w3." : "mlp.fc2.";
            int u = c.swiglu() ? 2 * m : m;
            e.put(b + up + "weight", new int[] {u, h});
            e.put(b + up + "bias", new int[] {u});
            e.put(b + down + "weight", new int[] {h, m});
            e.put(b + down + "bias", new int[] {h});
            e.put(b + "adaLN_modulation.1.weight", new int[] {6 * h, h});
            e.put(b + "adaLN_modulation.1.bias", new int[] {6 * h});
        }
        int o = p * p * c.outChannels();
        if (c.rmsNorm()) e.put("final_layer.norm_final.weight", new int[] {h});
        e.put("final_layer.linear.weight", new int[] {o, h});
        e.put("final_layer.linear.bias", new int[] {o});
        e.put("final_layer.adaLN_modulation.1.weight", new int[] {2 * h, h});
        e.put("final_layer.adaLN_modulation.1.bias", new int[] {2 * h});
        return e;
    }

    private static Shape shapeOf(Map<String, RawTensor> t, String name, String file) {
        RawTensor r = t.get(name);
        if (r == null) throw new DitjException(file + ": missing tensor '" + name + "'");
        return r.shape();
    }
}
