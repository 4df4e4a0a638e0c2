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

    /** "name [shape], ..." in order, blocks 1..27 left out (they repeat block 0). */
    static String outsideRepeatedBlocks(Map<String, int[]> tensors) {
        return tensors.entrySet().stream().filter(x -> !x.getKey().matches("blocks\\.([1-9]|[12][0-9])\\..*"))
                .map(x -> x.getKey() + " " + Arrays.toString(x.getValue())).collect(Collectors.joining(", "));
    }
}
