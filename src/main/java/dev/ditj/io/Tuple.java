package dev.ditj.io;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A Python tuple read from a pickle (a list stays a {@link List}, so the two can be told apart, e.g. AdamW's
 * {@code betas}). Immutable; elements may be null (Python {@code None}).
 */
public record Tuple(List<Object> items) {
    public Tuple {
        items = Collections.unmodifiableList(new ArrayList<>(items));
    }

    public static Tuple of(Object... items) {
        return new Tuple(java.util.Arrays.asList(items));
    }

    public int size() {
        return items.size();
    }

    public Object get(int i) {
        return items.get(i);
    }

    @Override
    public String toString() {
        String inner = items.stream().map(String::valueOf).collect(Collectors.joining(", "));
        return "(" + inner + (items.size() == 1 ? ",)" : ")");
    }
}
