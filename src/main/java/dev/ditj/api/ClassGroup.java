package dev.ditj.api;

import dev.ditj.DitjException;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A named set of a model's classes that a request can ask for as a whole, e.g. the category "Objects" of an emoji
 * model conditioned on its 18 subgroups (book-paper, tool, ...): each image of such a request draws one member class,
 * with probability proportional to its weight (tools/train/dit.py --subgroups weighs each subgroup by its training
 * images, so a category's images come out in the mix the model was trained on). A single class is a group of one.
 *
 * @param entry   comma-separated synonyms, the first being the display name (as {@link ClassLabels} entries)
 * @param classes member class ids, at least one, distinct
 * @param weights relative draw weights, one per member, finite and positive
 */
public record ClassGroup(String entry, int[] classes, double[] weights) {
    public ClassGroup {
        if (entry == null || ClassLabels.splitSynonyms(entry).isEmpty()) {
            throw new DitjException("class group has an empty name");
        }
        if (classes.length == 0) throw new DitjException("class group '" + entry + "' has no classes");
        if (weights.length != classes.length) {
            throw new DitjException("class group '" + entry + "' has " + classes.length + " classes but "
                    + weights.length + " weights");
        }
        if (Arrays.stream(classes).distinct().count() != classes.length) {
            throw new DitjException("class group '" + entry + "' lists a class twice");
        }
        for (double w : weights) {
            if (!(w > 0) || !Double.isFinite(w)) {
                throw new DitjException("class group '" + entry + "' has weight " + w + "; weights must be positive");
            }
        }
        entry = entry.strip();
        classes = classes.clone();
        weights = weights.clone();
    }

    /** The group of one class (weight 1), named as the class. */
    public static ClassGroup of(int id, String name) {
        return new ClassGroup(name, new int[] {id}, new double[] {1});
    }

    /** Display name: the first synonym. */
    public String name() {
        return synonyms().get(0);
    }

    public List<String> synonyms() {
        return ClassLabels.splitSynonyms(entry);
    }

    public int size() {
        return classes.length;
    }

    @Override
    public int[] classes() {
        return classes.clone();
    }

    @Override
    public double[] weights() {
        return weights.clone();
    }

    /**
     * The member class of image {@code index} of a request with noise seed {@code seed}: a fixed function of the two,
     * so a seed reproduces its images' classes, and a resumed run draws what the first run drew.
     */
    public int draw(long seed, long index) {
        if (classes.length == 1) return classes[0];
        double total = 0;
        for (double w : weights) total += w;
        // SplittableRandom mixes its seed (a 64-bit finaliser), so neighbouring indices draw independently
        double u = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (index + 1))).nextDouble() * total;
        for (int i = 0; i < classes.length; i++) {
            u -= weights[i];
            if (u < 0) return classes[i];
        }
        return classes[classes.length - 1]; // rounding at the top end
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClassGroup g && entry.equals(g.entry) && Arrays.equals(classes, g.classes)
                && Arrays.equals(weights, g.weights);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * entry.hashCode() + Arrays.hashCode(classes)) + Arrays.hashCode(weights);
    }

    @Override
    public String toString() {
        return name() + " " + Arrays.toString(classes);
    }
}
