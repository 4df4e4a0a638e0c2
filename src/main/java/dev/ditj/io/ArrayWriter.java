package dev.ditj.io;

import dev.ditj.tensor.DType;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Streams one array whose shape is known up front into a {@code .npy} file, or into an {@code .npz} as the entry
 * {@code NAME.npy} (what {@code numpy.savez(file, NAME=array)} makes; the entry is deflate-coded at level 0, which
 * {@code numpy.load} reads like savez's stored entries, and switches to ZIP64 past 4 GB as numpy does), so arrays
 * larger than memory can be written piece by piece. All or nothing: until {@link #commit()} the data sits in a
 * temporary file, which {@link #close()} removes.
 */
public final class ArrayWriter implements AutoCloseable {
    private final Path file;
    private final AtomicWrite target;
    private final ZipOutputStream zip;
    private final OutputStream out;
    private final long expected;
    private long written;

    private ArrayWriter(Path file, String entry, DType dtype, int[] dims) {
        this.file = file;
        long n = dtype.bytes;
        for (int d : dims) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(dims));
            n = Math.multiplyExact(n, d);
        }
        this.expected = n;
        byte[] header = Npy.header(file.toString(), dtype, dims);
        target = AtomicWrite.open(file);
        try {
            OutputStream raw = new BufferedOutputStream(Channels.newOutputStream(target.channel()), 1 << 20);
            if (entry != null) {
                zip = new ZipOutputStream(raw);
                zip.setLevel(Deflater.NO_COMPRESSION);
                zip.putNextEntry(new ZipEntry(entry + ".npy"));
                out = zip;
            } else {
                zip = null;
                out = raw;
            }
            out.write(header);
        } catch (IOException e) {
            target.close();
            throw failure(e);
        }
    }

    /** A {@code .npy} of {@code dims}. */
    public static ArrayWriter npy(Path file, DType dtype, int... dims) {
        return new ArrayWriter(file, null, dtype, dims);
    }

    /** An {@code .npz} holding one array {@code name} of {@code dims}. */
    public static ArrayWriter npz(Path file, String name, DType dtype, int... dims) {
        return new ArrayWriter(file, name, dtype, dims);
    }

    /** Appends raw little-endian element bytes in C order. */
    public void append(byte[] bytes) {
        append(bytes, 0, bytes.length);
    }

    public void append(byte[] bytes, int offset, int length) {
        if (written + length > expected) {
            throw new IllegalStateException(file + ": more data than the declared shape holds (" + expected + " bytes)");
        }
        try {
            out.write(bytes, offset, length);
        } catch (IOException e) {
            throw failure(e);
        }
        written += length;
    }

    /** Appends float32 values. */
    public void append(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        append(b.array());
    }

    /** Finishes the file and moves it into place; the data must fill the declared shape exactly. */
    public void commit() {
        if (written != expected) {
            throw new IllegalStateException(file + ": " + written + " of " + expected + " bytes written");
        }
        try {
            if (zip != null) {
                zip.closeEntry();
                zip.finish();
            }
            out.flush();
        } catch (IOException e) {
            throw failure(e);
        }
        target.commit();
    }

    private CheckpointException failure(IOException e) {
        return new CheckpointException(file + ": cannot write: " + AtomicWrite.describe(e), e);
    }

    /** Removes the partial file unless {@link #commit()} succeeded. */
    @Override
    public void close() {
        target.close();
    }
}
