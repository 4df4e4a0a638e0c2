package dev.ditj;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** The fixtures folder holds exactly the files its SHA256SUMS lists, unchanged (README.md says where each came from). */
class FixturesTest {
    @Test
    void everyListedFileIsThereUnchangedAndNothingElse() throws IOException, NoSuchAlgorithmException {
        Path dir = Fixtures.dir();
        Set<String> listed = new TreeSet<>();
        for (String line : Files.readAllLines(Fixtures.file("SHA256SUMS"))) {
            String[] f = line.split(" {2}", 2);   // sha256sum's "<hex>  <name>"
            if (f.length != 2 || f[0].length() != 64) fail("SHA256SUMS: malformed line '" + line + "'");
            byte[] data = Files.readAllBytes(Fixtures.file(f[1]));
            String actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
            assertEquals(f[0], actual, "SHA-256 of fixture " + f[1]);
            listed.add(f[1]);
        }
        Set<String> present = new TreeSet<>();
        try (Stream<Path> files = Files.walk(dir)) {
            files.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString().replace('\\', '/'))
                    .filter(n -> !n.equals("README.md") && !n.equals("SHA256SUMS")).forEach(present::add);
        }
        present.removeAll(listed);
        assertEquals(Set.of(), present, "fixtures not listed in SHA256SUMS (add them, with their provenance in README.md)");
    }
}
