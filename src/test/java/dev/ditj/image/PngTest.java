package dev.ditj.image;

import dev.ditj.DitjException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PngTest {
    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static void roundTrip(int w, int h, int c) {
        byte[] pixels = random(w * h * c, 31L * w + c);
        byte[] png = Png.encode(w, h, c, pixels);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'},
                java.util.Arrays.copyOf(png, 8), "PNG signature");
        Png.Decoded d = Png.decode(png);
        assertEquals(w, d.width());
        assertEquals(h, d.height());
        assertEquals(c, d.channels());
        assertArrayEquals(pixels, d.pixels());
    }

    @Test
    void roundTripIsExact() {
        roundTrip(37, 23, 3);
        roundTrip(16, 9, 4);
        roundTrip(5, 7, 1);
        roundTrip(1, 1, 3);
        roundTrip(518, 260, 3); // larger than a MemoryStack frame
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    @Test
    void writeReplacesAtomically(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("out.png");
        Files.writeString(file, "old");
        byte[] pixels = random(4 * 3 * 3, 1);
        Png.write(file, 4, 3, 3, pixels);
        assertEquals(List.of(file), list(dir));
        assertArrayEquals(pixels, Png.decode(Files.readAllBytes(file)).pixels());
    }

    @Test
    void failedWriteLeavesNothingBehind(@TempDir Path dir) throws IOException {
        // A non-empty directory where the file should go: the final rename fails after the temp file exists.
        Path blocker = dir.resolve("out.png");
        Files.createDirectory(blocker);
        Files.writeString(blocker.resolve("keep"), "x");
        DitjException e = assertThrows(DitjException.class, () -> Png.write(blocker, 2, 2, 3, new byte[12]));
        assertTrue(e.getMessage().contains("out.png"), e.getMessage());
        assertEquals(List.of(blocker), list(dir));

        // Bad pixels: encoding fails before anything touches the disk.
        Path file = dir.resolve("b.png");
        assertThrows(IllegalArgumentException.class, () -> Png.write(file, 2, 2, 3, new byte[11]));
        assertEquals(List.of(blocker), list(dir));
    }

    @Test
    void missingDirectoryIsNamed(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-dir");
        DitjException e = assertThrows(DitjException.class,
                () -> Png.write(missing.resolve("x.png"), 1, 1, 3, new byte[3]));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }

    @Test
    void garbageDoesNotDecode() {
        assertThrows(DitjException.class, () -> Png.decode(new byte[] {1, 2, 3, 4}));
    }
}
