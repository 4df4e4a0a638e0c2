package dev.ditj.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class AtomicWriteTest {
    @TempDir
    Path tmp;

    @Test
    void failureHalfwayLeavesNothing() throws IOException {
        Path target = tmp.resolve("f.bin");
        assertThrows(CheckpointException.class, () -> AtomicWrite.write(target, out -> {
            AtomicWrite.writeFully(out, ByteBuffer.wrap(new byte[1000]));
            throw new CheckpointException("f.bin: tensor 'x' is broken");
        }));
        assertThrows(CheckpointException.class, () -> AtomicWrite.write(target, out -> {
            AtomicWrite.writeFully(out, ByteBuffer.wrap(new byte[10]));
            throw new IOException("disk full");
        }));
        try (var s = Files.list(tmp)) {
            assertEquals(List.of(), s.toList());
        }
    }

    @Test
    void replacesAtomicallyAndKeepsOldContentOnFailure() throws IOException {
        Path target = tmp.resolve("f.bin");
        AtomicWrite.write(target, out -> AtomicWrite.writeFully(out, ByteBuffer.wrap(new byte[] {1, 2})));
        AtomicWrite.write(target, out -> AtomicWrite.writeFully(out, ByteBuffer.wrap(new byte[] {3})));
        assertArrayEquals(new byte[] {3}, Files.readAllBytes(target));
        assertThrows(CheckpointException.class, () -> AtomicWrite.write(target, out -> {
            throw new IOException("boom");
        }));
        assertArrayEquals(new byte[] {3}, Files.readAllBytes(target));
        try (var s = Files.list(tmp)) {
            assertEquals(1, s.count());
        }
    }

    @Test
    void resultGetsOrdinaryPermissions() throws IOException {
        Path target = tmp.resolve("f.bin");
        AtomicWrite.write(target, out -> AtomicWrite.writeFully(out, ByteBuffer.wrap(new byte[] {1})));
        Path plain = Files.createFile(tmp.resolve("plain.bin"));
        Set<PosixFilePermission> expected = Files.getPosixFilePermissions(plain);
        assertEquals(PosixFilePermissions.toString(expected), PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
    }

    @Test
    void readOnlyDirectory() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("ro"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            assumeFalse(Files.isWritable(dir), "running as root: permissions do not stop writes");
            Path target = dir.resolve("f.npy");
            assertThrows(CheckpointException.class, () -> Npy.write(target,
                    RawTensor.ofLongs(new long[] {1}, dev.ditj.tensor.Shape.of(1))));
            assertThrows(CheckpointException.class, () -> SafeTensors.write(dir.resolve("f.safetensors"),
                    java.util.Map.of("a", RawTensor.ofLongs(new long[] {1}, dev.ditj.tensor.Shape.of(1))), null));
            try (var s = Files.list(dir)) {
                assertFalse(s.findAny().isPresent());
            }
        } finally {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }
}
