package dev.ditj;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Locates the shared reference fixtures (made by the official PyTorch code, see their README.md). Tests that need
 * them fail, rather than skip, when they are missing: a silently skipped comparison proves nothing.
 */
public final class Fixtures {
    private Fixtures() {
    }

    /**
     * The fixture directory: system property {@code ditj.fixtures} (set by the pom) if it exists, else
     * {@code <ditj.basedir or cwd>/../shared/fixtures}, else {@code /work/shared/fixtures}.
     */
    public static Path dir() {
        List<Path> tried = new ArrayList<>();
        String prop = System.getProperty("ditj.fixtures");
        if (prop != null && !prop.isBlank()) tried.add(Path.of(prop));
        String base = System.getProperty("ditj.basedir", System.getProperty("user.dir"));
        tried.add(Path.of(base).resolve("../shared/fixtures"));
        tried.add(Path.of("/work/shared/fixtures"));
        for (Path p : tried) {
            if (Files.isDirectory(p)) return p.normalize();
        }
        return fail("reference fixtures not found (tried " + tried + "); set -Dditj.fixtures=<dir> "
                + "or generate them with make_fixtures.py (see the fixtures README.md)");
    }

    /** A file in the fixture directory; fails if it does not exist. */
    public static Path file(String name) {
        Path p = dir().resolve(name);
        if (!Files.exists(p)) fail("fixture " + name + " not found in " + dir());
        return p;
    }
}
