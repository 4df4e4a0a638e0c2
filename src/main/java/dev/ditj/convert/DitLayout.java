package dev.ditj.convert;

import dev.ditj.DitjException;
import dev.ditj.io.RawTensor;
import dev.ditj.model.DitConfig;
import dev.ditj.tensor.Shape;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The official DiT state dict (facebookresearch/DiT names, which ditj files keep): recognising it, inferring the
 * config from tensor shapes, and the exact list of expected tensors.
 */
final class DitLayout {
    private DitLayout() {
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
        int mlpHidden = shapeOf(t, "blocks.0.mlp.fc1.weight", file).dim(0);
        int heads = numHeads > 0 ? numHeads : officialHeads(hidden);
        if (heads == 0) {
            throw new DitjException(file + ": the number of attention heads cannot be read from the weights for hidden "
                    + "size " + hidden + " (not an official DiT size); pass --num-heads");
        }
        if (hidden % heads != 0) {
            throw new DitjException(file + ": hidden size " + hidden + " is not divisible by --num-heads " + heads);
        }
        return new DitConfig(inChannels, grid * p, p, hidden, depth, heads, (double) mlpHidden / hidden,
                tableRows - 1, outChannels == 2 * inChannels);
    }

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
        for (int i = 0; i < c.depth(); i++) {
            String b = "blocks." + i + ".";
            e.put(b + "attn.qkv.weight", new int[] {3 * h, h});
            e.put(b + "attn.qkv.bias", new int[] {3 * h});
            e.put(b + "attn.proj.weight", new int[] {h, h});
            e.put(b + "attn.proj.bias", new int[] {h});
            e.put(b + "mlp.fc1.weight", new int[] {m, h});
            e.put(b + "mlp.fc1.bias", new int[] {m});
            e.put(b + "mlp.fc2.weight", new int[] {h, m});
            e.put(b + "mlp.fc2.bias", new int[] {h});
            e.put(b + "adaLN_modulation.1.weight", new int[] {6 * h, h});
            e.put(b + "adaLN_modulation.1.bias", new int[] {6 * h});
        }
        int o = p * p * c.outChannels();
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
