package dev.ditj.api;

import dev.ditj.DitjException;
import dev.ditj.InvalidArgumentException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.BiPredicate;
import java.util.stream.Collectors;

/**
 * The class names of a class-conditional model, and the lookup from what a user types ({@code 207},
 * {@code "golden retriever"}, {@code "Golden_Retr"}) to a class id. Immutable.
 *
 * <p>Each entry is one class: a comma-separated list of synonyms, the first being its {@link #name display name}
 * (the classic ImageNet {@code synset_words} format, e.g. {@code "lesser panda, red panda, panda, ..."}). Names
 * may repeat (ImageNet has two "crane" and two "maillot" classes); such names only resolve by id.
 *
 * <p>A model may also name {@link ClassGroup groups} of its classes (e.g. the 9 emoji categories of a model conditioned
 * on their 98 Unicode subgroups); {@link #select} finds a group or a class, {@link #resolve} classes only.
 */
public final class ClassLabels {
    private static final int MAX_SUGGESTIONS = 5;
    private static final int MAX_CANDIDATES = 10;

    /** Entries as given (trimmed); empty for {@link #numeric} labels. */
    private final List<String> entries;
    /** Per class: its synonyms as given, and the same normalized for matching. */
    private final List<List<String>> synonyms;
    private final List<List<String>> keys;
    private final int size;
    private final List<ClassGroup> groups;
    /** Per group: its synonyms normalized for matching. */
    private final List<List<String>> groupKeys;

    private ClassLabels(List<String> entries, int size, List<ClassGroup> groups) {
        this.entries = List.copyOf(entries);
        this.size = size;
        for (ClassGroup g : groups) {
            for (int id : g.classes()) {
                if (id < 0 || id >= size) {
                    throw new DitjException("class group '" + g.name() + "' lists class " + id + "; the model's classes are 0.."
                            + (size - 1));
                }
            }
        }
        this.groups = List.copyOf(groups);
        this.groupKeys = groups.stream().map(g -> g.synonyms().stream().map(ClassLabels::normalize).toList()).toList();
        List<List<String>> syn = new ArrayList<>();
        List<List<String>> norm = new ArrayList<>();
        for (int id = 0; id < this.entries.size(); id++) {
            List<String> s = splitSynonyms(this.entries.get(id));
            if (s.isEmpty()) {
                throw new DitjException("class " + id + " has an empty name");
            }
            syn.add(List.copyOf(s));
            norm.add(s.stream().map(ClassLabels::normalize).collect(Collectors.toUnmodifiableList()));
        }
        this.synonyms = List.copyOf(syn);
        this.keys = List.copyOf(norm);
    }

    /**
     * The 1000 ImageNet-1k classes in the standard index order (sorted WordNet ids, as DiT was trained). Data:
     * the classic ILSVRC2012 {@code synset_words.txt} (Caffe's aux data) with the WordNet ids stripped.
     */
    public static ClassLabels imagenet() {
        return ImageNetHolder.LABELS;
    }

    /** Labels from a model's own class names; each entry may list comma-separated synonyms. */
    public static ClassLabels of(List<String> names) {
        return of(names, List.of());
    }

    /** Labels from a model's own class names and named groups of those classes. */
    public static ClassLabels of(List<String> names, List<ClassGroup> groups) {
        if (names.isEmpty()) {
            throw new DitjException("class name list is empty");
        }
        return new ClassLabels(names.stream().map(String::strip).collect(Collectors.toList()), names.size(), groups);
    }

    /** Labels of a model without class names: only ids {@code 0..numClasses-1} resolve. */
    public static ClassLabels numeric(int numClasses) {
        if (numClasses <= 0) {
            throw new IllegalArgumentException("numClasses must be positive, got " + numClasses);
        }
        return new ClassLabels(List.of(), numClasses, List.of());
    }

    public int size() {
        return size;
    }

    /** The model's named groups of classes, in its order; empty if it has none. */
    public List<ClassGroup> groups() {
        return groups;
    }

    /** Whether the classes have names (false for {@link #numeric}). */
    public boolean hasNames() {
        return !entries.isEmpty();
    }

    /** Display name of a class: its first synonym, or its id as text if the labels have no names. */
    public String name(int id) {
        Objects.checkIndex(id, size);
        return hasNames() ? synonyms.get(id).get(0) : Integer.toString(id);
    }

    /** All synonyms of a class, as given. */
    public List<String> synonyms(int id) {
        Objects.checkIndex(id, size);
        return hasNames() ? synonyms.get(id) : List.of(Integer.toString(id));
    }

    /** Display names of all classes, by id. */
    public List<String> names() {
        List<String> out = new ArrayList<>(size);
        for (int id = 0; id < size; id++) {
            out.add(name(id));
        }
        return List.copyOf(out);
    }

    /**
     * Resolves a class id or name. A decimal number is always an id and must be in {@code [0, size)}. A name is
     * matched case-insensitively, ignoring surrounding spaces and reading {@code _} and {@code -} as spaces, in
     * this order, the first step with any match deciding: exact display name, exact synonym, prefix of a synonym
     * ({@code "golden retr"}). More than one class matching at that step is an error listing them.
     *
     * @throws InvalidArgumentException if the id is out of range, or the name is ambiguous or unknown (with suggestions)
     */
    public int resolve(String idOrName) {
        String input = idOrName.strip();
        if (input.matches("[+-]?\\d+")) {
            return resolveId(input);
        }
        String q = normalize(input);
        if (q.isEmpty()) {
            throw new InvalidArgumentException("class", "is empty; give a class id in [0, " + size + ") or a class name");
        }
        if (!hasNames()) {
            throw new InvalidArgumentException("class", "'" + input + "' is unknown: this model has no class names; give a class id"
                    + " in [0, " + size + ")");
        }
        for (BiPredicate<String, Integer> step : steps(q)) {
            List<Integer> hits = matches(keys, step);
            if (hits.size() == 1) {
                return hits.get(0);
            }
            if (hits.size() > 1) {
                throw new InvalidArgumentException("class", "'" + input + "' is ambiguous: it matches " + describe(hits)
                        + "; use a longer name or the id");
            }
        }
        throw unknown(input, q);
    }

    /**
     * What a user asks for by id or name: a class (as a group of one) or one of the model's {@link #groups}. Names
     * match as in {@link #resolve}; at each step a group matching alone wins over classes ({@code "objects"} is the
     * group even where a class is called "Objects: tool"), so a class shadowed that way is still found by its id or
     * its own synonyms.
     *
     * @throws InvalidArgumentException as {@link #resolve}, or if several groups match at one step
     */
    public ClassGroup select(String idOrName) {
        String input = idOrName.strip();
        String q = normalize(input);
        if (!groups.isEmpty() && !q.isEmpty() && !input.matches("[+-]?\\d+")) {
            for (BiPredicate<String, Integer> step : steps(q)) {
                List<Integer> hits = matches(groupKeys, step);
                if (hits.size() == 1) {
                    return groups.get(hits.get(0));
                }
                if (hits.size() > 1) {
                    throw new InvalidArgumentException("class", "'" + input + "' is ambiguous: it matches the groups "
                            + hits.stream().map(g -> groups.get(g).name()).collect(Collectors.joining(", "))
                            + "; use a longer name");
                }
                if (!matches(keys, step).isEmpty()) {
                    break; // a class matches at this step: the class lookup below decides
                }
            }
        }
        int id = resolve(input);
        return ClassGroup.of(id, name(id));
    }

    /** {@link #select} for each element, in order. */
    public List<ClassGroup> selectAll(List<String> idsOrNames) {
        return idsOrNames.stream().map(this::select).toList();
    }

    /** {@link #resolve} for each element, in order. */
    public int[] resolveAll(List<String> idsOrNames) {
        int[] out = new int[idsOrNames.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = resolve(idsOrNames.get(i));
        }
        return out;
    }

    /** One line per class, {@code id  synonyms} with ids right-aligned, for {@code --list-classes}. */
    public String listing() {
        if (!hasNames()) {
            return "this model has no class names; classes are ids 0.." + (size - 1) + "\n";
        }
        String format = "%" + Integer.toString(size - 1).length() + "d  %s%n";
        StringBuilder sb = new StringBuilder();
        for (int id = 0; id < size; id++) {
            sb.append(String.format(Locale.ROOT, format, id, String.join(", ", synonyms.get(id))));
        }
        for (ClassGroup g : groups) {
            sb.append(String.format(Locale.ROOT, "group %s: %d classes (%s)%n", String.join(", ", g.synonyms()), g.size(),
                    Arrays.stream(g.classes()).mapToObj(Integer::toString).collect(Collectors.joining(" "))));
        }
        return sb.toString();
    }

    private int resolveId(String digits) {
        long id;
        try {
            id = Long.parseLong(digits);
        } catch (NumberFormatException e) { // more digits than a long holds
            id = -1;
        }
        if (id < 0 || id >= size) {
            throw new InvalidArgumentException("class", "id " + digits + " is out of range: valid ids are 0.." + (size - 1));
        }
        return (int) id;
    }

    /** The synonyms of an entry ({@code "lesser panda, red panda"}): comma-separated, stripped, blanks dropped. */
    static List<String> splitSynonyms(String entry) {
        return Arrays.stream(entry.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    /**
     * The matching steps for a normalized query, in order: exact display name, exact synonym, prefix of a synonym
     * (tests of {@code (key, synonymIndex)}).
     */
    private static List<BiPredicate<String, Integer>> steps(String q) {
        return List.of((key, index) -> index == 0 && key.equals(q),
                (key, index) -> key.equals(q),
                (key, index) -> key.startsWith(q));
    }

    /** Indices of the entries (classes or groups) with a key accepted by {@code test(key, synonymIndex)}. */
    private static List<Integer> matches(List<List<String>> entryKeys, BiPredicate<String, Integer> test) {
        List<Integer> hits = new ArrayList<>();
        for (int id = 0; id < entryKeys.size(); id++) {
            List<String> k = entryKeys.get(id);
            for (int i = 0; i < k.size(); i++) {
                if (test.test(k.get(i), i)) {
                    hits.add(id);
                    break;
                }
            }
        }
        return hits;
    }

    private String describe(List<Integer> hits) {
        String shown = hits.stream().limit(MAX_CANDIDATES)
                .map(id -> name(id) + " (" + id + ")")
                .collect(Collectors.joining(", "));
        int more = hits.size() - MAX_CANDIDATES;
        return more > 0 ? shown + " and " + more + " more" : shown;
    }

    /** The error for a name nothing matched, suggesting the closest synonyms. */
    private InvalidArgumentException unknown(String input, String q) {
        record Candidate(int id, String synonym, int score, int lengthDiff) {
        }
        // A synonym containing the query (or contained in it) ranks first; otherwise edit distance, if small.
        // Groups take part as ids -1, -2, ... (shown as groups), ahead of classes at equal scores.
        int maxDistance = Math.max(2, (q.length() + 2) / 3);
        List<Candidate> candidates = new ArrayList<>();
        for (int id = -groups.size(); id < size; id++) {
            Candidate best = null;
            List<String> idKeys = id < 0 ? groupKeys.get(-1 - id) : keys.get(id);
            List<String> idSynonyms = id < 0 ? groups.get(-1 - id).synonyms() : synonyms.get(id);
            for (int i = 0; i < idKeys.size(); i++) {
                String key = idKeys.get(i);
                int score = key.contains(q) || q.contains(key) ? 0 : levenshtein(q, key);
                Candidate c = new Candidate(id, idSynonyms.get(i), score, Math.abs(key.length() - q.length()));
                if (score <= maxDistance && (best == null || c.score < best.score
                        || c.score == best.score && c.lengthDiff < best.lengthDiff)) {
                    best = c;
                }
            }
            if (best != null) {
                candidates.add(best);
            }
        }
        String hint = "--list-classes shows all " + size + " classes";
        if (candidates.isEmpty()) {
            return new InvalidArgumentException("class", "'" + input + "' is unknown; " + hint);
        }
        String suggestions = candidates.stream()
                .sorted(Comparator.comparingInt(Candidate::score).thenComparingInt(Candidate::lengthDiff)
                        .thenComparingInt(Candidate::id))
                .limit(MAX_SUGGESTIONS)
                .map(c -> c.synonym + (c.id < 0 ? " (group)" : " (" + c.id + ")"))
                .collect(Collectors.joining(", "));
        return new InvalidArgumentException("class", "'" + input + "' is unknown; did you mean: " + suggestions + "? (" + hint + ")");
    }

    /** Lower case, {@code _}/{@code -} as spaces, runs of spaces collapsed, trimmed. */
    static String normalize(String s) {
        return s.toLowerCase(Locale.ROOT).replaceAll("[_\\-\\s]+", " ").strip();
    }

    static int levenshtein(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(substitute, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** Loaded on first use only. */
    private static final class ImageNetHolder {
        static final ClassLabels LABELS = load("imagenet-classes.txt", 1000);

        private static ClassLabels load(String resource, int expected) {
            try (InputStream in = ClassLabels.class.getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("resource " + resource + " is missing from the build");
                }
                List<String> lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).lines()
                        .filter(line -> !line.isBlank()).collect(Collectors.toList());
                if (lines.size() != expected) {
                    throw new IllegalStateException(resource + " has " + lines.size() + " classes, not " + expected);
                }
                return of(lines);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
