package dev.ditj.convert;

import java.util.Arrays;
import java.util.Map;
import java.util.stream.Collectors;

/** Summaries of a state dict's expected tensors, to compare with what the official model classes build. */
final class StateDicts {
    private StateDicts() {
    }

    /** The values of all tensors. */
    static long values(Map<String, int[]> tensors) {
        return tensors.values().stream().mapToLong(s -> Arrays.stream(s).asLongStream().reduce(1, (a, b) -> a * b)).sum();
    }

    /**
     * What {@link #outsideRepeatedBlocks} gives for the official SiT-XL/2 (DiT's network; measured from SiT's and
     * REPA's model classes), whose final head has {@code head} rows: 32 for SiT (learned-sigma half included), 16 for
     * REPA.
     */
    static String sitXl2OutsideRepeatedBlocks(int head) {
        return "pos_embed [1, 256, 1152], x_embedder.proj.weight [1152, 4, 2, 2], x_embedder.proj.bias [1152], "
                + "t_embedder.mlp.0.weight [1152, 256], t_embedder.mlp.0.bias [1152], "
                + "t_embedder.mlp.2.weight [1152, 1152], t_embedder.mlp.2.bias [1152], "
                + "y_embedder.embedding_table.weight [1001, 1152], blocks.0.attn.qkv.weight [3456, 1152], "
                + "blocks.0.attn.qkv.bias [3456], blocks.0.attn.proj.weight [1152, 1152], "
                + "blocks.0.attn.proj.bias [1152], blocks.0.mlp.fc1.weight [4608, 1152], blocks.0.mlp.fc1.bias [4608], "
                + "blocks.0.mlp.fc2.weight [1152, 4608], blocks.0.mlp.fc2.bias [1152], "
                + "blocks.0.adaLN_modulation.1.weight [6912, 1152], blocks.0.adaLN_modulation.1.bias [6912], "
                + "final_layer.linear.weight [" + head + ", 1152], final_layer.linear.bias [" + head + "], "
                + "final_layer.adaLN_modulation.1.weight [2304, 1152], final_layer.adaLN_modulation.1.bias [2304]";
    }

    /** "name [shape], ..." in order, blocks 1..27 left out (they repeat block 0). */
    static String outsideRepeatedBlocks(Map<String, int[]> tensors) {
        return tensors.entrySet().stream().filter(x -> !x.getKey().matches("blocks\\.([1-9]|[12][0-9])\\..*"))
                .map(x -> x.getKey() + " " + Arrays.toString(x.getValue())).collect(Collectors.joining(", "));
    }
}
