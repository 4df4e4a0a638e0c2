package dev.ditj.image;

import dev.ditj.DitjException;
import org.lwjgl.stb.STBIWriteCallback;
import org.lwjgl.stb.STBImage;
import org.lwjgl.stb.STBImageWrite;
import org.lwjgl.system.MemoryUtil;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * PNG encoding and decoding through LWJGL's bindings to stb_image_write / stb_image. Pixels are interleaved HWC
 * bytes (see {@link Pixels}); 1 = gray, 2 = gray+alpha, 3 = RGB, 4 = RGBA channels.
 */
public final class Png {
    /** A decoded image: {@code pixels} holds {@code height * width * channels} HWC bytes. */
    public record Decoded(int width, int height, int channels, byte[] pixels) {
    }

    private Png() {
    }

    /** Encodes HWC pixels as a PNG file image. */
    public static byte[] encode(int width, int height, int channels, byte[] hwcPixels) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (channels < 1 || channels > 4) {
            throw new IllegalArgumentException("channels must be 1..4, got " + channels);
        }
        if (hwcPixels.length != (long) width * height * channels) {
            throw new IllegalArgumentException("expected " + width + "x" + height + "x" + channels + " = "
                    + (long) width * height * channels + " bytes, got " + hwcPixels.length);
        }
        // stb reads native memory; images can be megabytes, too big for a MemoryStack frame.
        ByteBuffer pixels = MemoryUtil.memAlloc(hwcPixels.length);
        ByteArrayOutputStream png = new ByteArrayOutputStream(hwcPixels.length / 2 + 1024);
        // The callback is a native closure: it must be freed explicitly, and copies stb's bytes out before
        // stb frees its buffer on return.
        STBIWriteCallback sink = STBIWriteCallback.create((context, data, size) -> {
            byte[] bytes = new byte[size];
            STBIWriteCallback.getData(data, size).get(0, bytes);
            png.write(bytes, 0, size);
        });
        try {
            pixels.put(0, hwcPixels);
            if (!STBImageWrite.stbi_write_png_to_func(sink, 0L, width, height, channels, pixels,
                    width * channels)) {
                throw new DitjException("PNG encoding of a " + width + "x" + height + " image failed");
            }
        } finally {
            sink.free();
            MemoryUtil.memFree(pixels);
        }
        return png.toByteArray();
    }

    /**
     * Writes a PNG atomically: the bytes go to a temporary file next to {@code file}, which is then renamed over
     * it, so readers never see a half-written image and nothing is left behind on failure.
     *
     * @throws DitjException if the directory does not exist or the file cannot be written
     */
    public static void write(Path file, int width, int height, int channels, byte[] pixels) {
        checkDirectory(file);
        writeEncoded(file, encode(width, height, channels, pixels)); // encoded before touching the disk
    }

    /** Writes already-encoded PNG bytes all-or-nothing, like {@link #write}. */
    public static void writeEncoded(Path file, byte[] png) {
        Path target = file.toAbsolutePath();
        Path dir = checkDirectory(file);
        // Not Files.createTempFile: that makes the file owner-only (0600) on POSIX, and the rename keeps that.
        Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current()
                .nextLong() & Long.MAX_VALUE) + ".tmp");
        try {
            Files.write(tmp, png, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new DitjException("cannot write " + file + ": " + reason(e), e);
        }
    }

    private static Path checkDirectory(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new DitjException("cannot write " + file + ": directory " + dir + " does not exist");
        }
        return dir;
    }

    /** "access denied", "directory not empty", ...: NIO's exception names say more than their messages. */
    private static String reason(IOException e) {
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        if (!(e instanceof FileSystemException) && e.getMessage() != null) {
            return e.getMessage();
        }
        return e.getClass().getSimpleName().replaceAll("Exception$", "")
                .replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(java.util.Locale.ROOT);
    }

    /** Decodes a PNG (or any format stb_image reads) keeping the file's own channel count. */
    public static Decoded decode(byte[] png) {
        ByteBuffer in = MemoryUtil.memAlloc(png.length);
        try {
            in.put(0, png);
            int[] w = new int[1];
            int[] h = new int[1];
            int[] c = new int[1];
            ByteBuffer pixels = STBImage.stbi_load_from_memory(in, w, h, c, 0);
            if (pixels == null) {
                throw new DitjException("cannot decode image: " + STBImage.stbi_failure_reason());
            }
            try {
                byte[] out = new byte[w[0] * h[0] * c[0]];
                pixels.get(0, out); // absolute: stbi_image_free frees at the buffer's *position*
                return new Decoded(w[0], h[0], c[0], out);
            } finally {
                STBImage.stbi_image_free(pixels);
            }
        } finally {
            MemoryUtil.memFree(in);
        }
    }
}
