package dev.ditj.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a file all-or-nothing: the content goes to a temporary file next to the target, which is renamed over the
 * target only once complete. On any failure the temporary file is deleted, so a reader never sees a half-written
 * file and a failed write leaves nothing new at the target path (an existing file there stays untouched).
 */
final class AtomicWrite {
    private AtomicWrite() {
    }

    interface Body {
        void write(FileChannel out) throws IOException;
    }

    static void write(Path file, Body body) {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Path tmp = null;
        if (dir == null || !Files.isDirectory(dir)) {
            throw new CheckpointException(file + ": cannot write: directory " + dir + " does not exist");
        }
        try {
            // Not Files.createTempFile: it creates mode 0600 files, and the result should get the usual umask
            // permissions like any other file the user writes.
            FileChannel ch = null;
            for (int attempt = 0; ch == null; attempt++) {
                tmp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
                try {
                    ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                } catch (FileAlreadyExistsException e) {
                    tmp = null;
                    if (attempt >= 10) throw e;
                }
            }
            try (FileChannel out = ch) {
                body.write(out);
                out.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot write: " + describe(e), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the original error matters more; a stray hidden .tmp file is all that remains
                }
            }
        }
    }

    static void writeFully(FileChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) out.write(buf);
    }

    /** A short reason for an I/O error, without the temporary file names that FileSystemException messages carry. */
    static String describe(IOException e) {
        if (e instanceof NoSuchFileException) return "no such file or directory";
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof FileSystemException fse && fse.getReason() != null) return fse.getReason();
        String what = e.getClass().getSimpleName();
        return e.getMessage() == null ? what : what + ": " + e.getMessage();
    }
}
