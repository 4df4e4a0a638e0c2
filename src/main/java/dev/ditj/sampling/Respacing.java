package dev.ditj.sampling;

import dev.ditj.InvalidArgumentException;

import java.util.Arrays;
import java.util.TreeSet;

/**
 * Which of the original diffusion steps a shorter sampler keeps: DiT's {@code space_timesteps}. A spec is either
 * {@code "ddimN"} (the smallest stride s with exactly N steps in {@code range(0, T, s)}) or comma-separated
 * section counts (e.g. {@code "250"} or {@code "10,15,20"}), each section spread evenly with Python's
 * round-half-to-even over an accumulated float stride.
 */
public final class Respacing {
    private Respacing() {
    }

    /** The kept original steps, ascending. */
    public static int[] keptSteps(int numTimesteps, String spec) {
        String s = spec.trim();
        if (s.isEmpty()) {
            int[] all = new int[numTimesteps];
            Arrays.setAll(all, i -> i);
            return all;
        }
        TreeSet<Integer> kept = new TreeSet<>();
        if (s.startsWith("ddim")) {
            int wanted = parseCount(s.substring(4), spec);
            for (int stride = 1; stride < numTimesteps; stride++) {
                if ((numTimesteps + stride - 1) / stride == wanted) {
                    for (int t = 0; t < numTimesteps; t += stride) kept.add(t);
                    return toArray(kept);
                }
            }
            throw new InvalidArgumentException("respacing", "'" + spec + "' asks for " + wanted
                    + " steps, which no integer stride over " + numTimesteps + " steps gives");
        }
        String[] parts = s.split(",");
        int[] counts = new int[parts.length];
        for (int i = 0; i < parts.length; i++) counts[i] = parseCount(parts[i].trim(), spec);
        int sizePer = numTimesteps / counts.length, extra = numTimesteps % counts.length, start = 0;
        for (int i = 0; i < counts.length; i++) {
            int size = sizePer + (i < extra ? 1 : 0);
            if (size < counts[i]) {
                throw new InvalidArgumentException("respacing", "'" + spec + "' asks for " + counts[i]
                        + " steps from a section of " + size + " (at most " + size + ")");
            }
            double stride = counts[i] <= 1 ? 1 : (double) (size - 1) / (counts[i] - 1);
            double cur = 0.0;
            for (int j = 0; j < counts[i]; j++) {
                kept.add(start + (int) Math.rint(cur)); // rint = round half to even, like Python's round()
                cur += stride;
            }
            start += size;
        }
        return toArray(kept);
    }

    private static int parseCount(String s, String spec) {
        try {
            int n = Integer.parseInt(s);
            if (n <= 0) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw new InvalidArgumentException("respacing", "'" + spec + "' is not a respacing: expected e.g. 250, ddim50 or 10,15,20");
        }
    }

    private static int[] toArray(TreeSet<Integer> set) {
        return set.stream().mapToInt(Integer::intValue).toArray();
    }
}
