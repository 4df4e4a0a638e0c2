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
public final class AtomicWrite implements AutoCloseable {
    private final Path file, target;
    private final FileChannel channel;
    private Path tmp;

    /** Writes a file's content in one go. */
    public interface Body {
        void write(FileChannel out) throws IOException;
    }

    private AtomicWrite(Path file, Path target, Path tmp, FileChannel channel) {
        this.file = file;
        this.target = target;
        this.tmp = tmp;
        this.channel = channel;
    }

    /**
     * Starts writing {@code file}: write to {@link #channel()}, then {@link #commit()}; closing without a commit
     * deletes what was written (use try-with-resources, so an error or interruption leaves nothing behind).
     */
    public static AtomicWrite open(Path file) {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new CheckpointException(file + ": cannot write: directory " + dir + " does not exist");
        }
        if (Files.isDirectory(target)) throw new CheckpointException(file + ": cannot write: is a directory");
        try {
            // Not Files.createTempFile: it creates mode 0600 files, and the result should get the usual umask
            // permissions like any other file the user writes.
            for (int attempt = 0; ; attempt++) {
                Path tmp = dir.resolve("." + target.getFileName() + "."
                        + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
                try {
                    return new AtomicWrite(file, target, tmp,
                            FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                                    StandardOpenOption.READ));
                } catch (FileAlreadyExistsException e) {
                    if (attempt >= 10) throw e;
                }
            }
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot write: " + describe(e), e);
        }
    }

    /** Writes {@code file} from {@code body}, all or nothing. */
    public static void write(Path file, Body body) {
        try (AtomicWrite w = open(file)) {
            try {
                body.write(w.channel());
            } catch (IOException e) {
                throw new CheckpointException(file + ": cannot write: " + describe(e), e);
            }
            w.commit();
        }
    }

    /** Writes {@code bytes} as {@code file}, all or nothing. */
    public static void write(Path file, byte[] bytes) {
        write(file, out -> writeFully(out, ByteBuffer.wrap(bytes)));
    }

    /** Where the content goes (a temporary file until {@link #commit()}); readable and seekable. */
    public FileChannel channel() {
        return channel;
    }

    /** Flushes the content to disk and renames it over the target. */
    public void commit() {
        try {
            channel.force(true);
            channel.close();
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot write: " + describe(e), e);
        }
    }

    /** Deletes the temporary file unless {@link #commit()} succeeded. */
    @Override
    public void close() {
        if (tmp == null) return;
        try {
            channel.close();
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // the original error matters more; a stray hidden .tmp file is all that remains
        }
        tmp = null;
    }

    public static void writeFully(FileChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) out.write(buf);
    }

    /** A short reason for an I/O error, without the temporary file names that FileSystemException messages carry. */
    public static String describe(IOException e) {
        if (e instanceof NoSuchFileException) return "no such file or directory";
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof FileSystemException fse && fse.getReason() != null) return fse.getReason();
        String what = e.getClass().getSimpleName();
        return e.getMessage() == null ? what : what + ": " + e.getMessage();
    }
}
