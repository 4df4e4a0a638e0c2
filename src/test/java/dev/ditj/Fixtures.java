package dev.ditj;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The reference fixtures in {@code src/test/fixtures} (made by the official PyTorch code; their README.md says how).
 * Tests that need one fail, rather than skip, when it is missing: a silently skipped comparison proves nothing.
 */
public final class Fixtures {
    private Fixtures() {
    }

    /** {@code src/test/fixtures} under the project directory: system property {@code ditj.basedir} (set by the pom), else the working directory. */
    public static Path dir() {
        Path dir = Path.of(System.getProperty("ditj.basedir", System.getProperty("user.dir")), "src", "test", "fixtures")
                .toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) fail("reference fixtures folder " + dir + " not found (it is part of the repository)");
        return dir;
    }

    /** A file or folder in the fixtures folder; fails, naming it, if it does not exist. */
    public static Path file(String name) {
        Path p = dir().resolve(name);
        if (!Files.exists(p)) fail("fixture " + name + " not found in " + dir() + " (see its README.md)");
        return p;
    }
}
