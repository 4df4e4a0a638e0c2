package dev.ditj.api;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.ditj.DitjException;
import dev.ditj.InvalidArgumentException;
import dev.ditj.image.Png;
import dev.ditj.io.AtomicWrite;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A folder holding one run's images as {@code 000000.png, 000001.png, ...} (image index, as the official
 * {@code sample_ddp.py} names them) and {@value #MANIFEST} describing the run. Opening a folder that already holds
 * the same run resumes it: the images present are kept (each was written atomically, so a present file is whole)
 * and only the missing ones are generated; a folder holding a different run, or other PNGs, is refused.
 */
public final class SampleFolder {
    public static final String MANIFEST = "ditj-run.json";
    /** Run fields that may differ when resuming: they do not change what the images are meant to be. */
    private static final Set<String> MAY_DIFFER = Set.of("backend", "ditj_version");

    private final Path dir;
    private final int total;
    private final JsonObject run;

    private SampleFolder(Path dir, int total, JsonObject run) {
        this.dir = dir;
        this.total = total;
        this.run = run;
    }

    /**
     * Checks that {@code dir} can hold the run described by {@code run} (created if missing, its parent must
     * exist); nothing is written until {@link #start()}.
     */
    public static SampleFolder open(Path dir, int total, JsonObject run) {
        Path parent = dir.toAbsolutePath().getParent();
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new InvalidArgumentException("outDir", "'" + dir + "' exists and is not a directory");
        }
        if (!Files.exists(dir) && (parent == null || !Files.isDirectory(parent))) {
            throw new InvalidArgumentException("outDir", "'" + dir + "': parent directory " + parent + " does not exist");
        }
        SampleFolder f = new SampleFolder(dir, total, run);
        f.checkRun();
        return f;
    }

    private void checkRun() {
        if (!Files.isDirectory(dir)) return;
        Path manifest = dir.resolve(MANIFEST);
        if (!Files.exists(manifest)) {
            try (Stream<Path> s = Files.list(dir)) {
                if (s.anyMatch(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png"))) {
                    throw new InvalidArgumentException("outDir", "'" + dir + "' holds PNG files but no " + MANIFEST
                            + " (not a ditj run): use an empty or new directory");
                }
            } catch (IOException e) {
                throw new DitjException(dir + ": cannot list: " + AtomicWrite.describe(e), e);
            }
            return;
        }
        JsonObject old;
        try {
            old = JsonParser.parseString(Files.readString(manifest, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException e) {
            throw new DitjException(manifest + ": cannot read: " + AtomicWrite.describe(e), e);
        } catch (JsonParseException | IllegalStateException e) {
            throw new DitjException(manifest + ": not a ditj run description (corrupt JSON)");
        }
        for (String key : union(old, run)) {
            if (MAY_DIFFER.contains(key)) continue;
            JsonElement a = old.get(key), b = run.get(key);
            if (a == null ? b != null : !a.equals(b)) {
                throw new InvalidArgumentException("outDir", "'" + dir + "' holds a run with " + key + " = "
                        + brief(a) + ", this run has " + brief(b) + ": resume with the same settings or use another directory");
            }
        }
    }

    private static Set<String> union(JsonObject a, JsonObject b) {
        Set<String> keys = new java.util.TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        return keys;
    }

    private static String brief(JsonElement e) {
        String s = e == null ? "(none)" : e.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

    /** Creates the folder and writes the run description. */
    public void start() {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new DitjException(dir + ": cannot create: " + AtomicWrite.describe(e), e);
        }
        AtomicWrite.write(dir.resolve(MANIFEST), run.toString().getBytes(StandardCharsets.UTF_8));
    }

    public Path dir() {
        return dir;
    }

    /** The file of image {@code index}. */
    public Path file(int index) {
        return dir.resolve(String.format(Locale.ROOT, "%06d.png", index));
    }

    /** Whether image {@code index} is already there. */
    public boolean has(int index) {
        return Files.isRegularFile(file(index));
    }

    /** The indices of the run's images not yet in the folder, ascending. */
    public int[] missing() {
        return java.util.stream.IntStream.range(0, total).filter(i -> !has(i)).toArray();
    }

    /** Writes image {@code index} (PNG bytes) atomically. */
    public void write(int index, byte[] png) {
        Png.writeEncoded(file(index), png);
    }

    /** Image {@code index}'s pixels as written. */
    public Png.Decoded read(int index) {
        Path f = file(index);
        try {
            return Png.decode(Files.readAllBytes(f));
        } catch (IOException e) {
            throw new DitjException(f + ": cannot read: " + AtomicWrite.describe(e), e);
        } catch (DitjException e) {
            throw new DitjException(f + ": " + e.getMessage(), e);
        }
    }
}
