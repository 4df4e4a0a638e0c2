package dev.ditj.image;

import dev.ditj.DitjException;
import dev.ditj.io.AtomicWrite;
import org.lwjgl.stb.STBIWriteCallback;
import org.lwjgl.stb.STBImage;
import org.lwjgl.stb.STBImageWrite;
import org.lwjgl.system.MemoryUtil;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * PNG encoding and decoding through LWJGL's bindings to stb_image_write / stb_image. Pixels are interleaved HWC
 * bytes (see {@link Pixels}); 1 = gray, 2 = gray+alpha, 3 = RGB, 4 = RGBA channels.
 */
public final class Png {
    /** A decoded image: {@code pixels} holds {@code height * width * channels} HWC bytes. */
    public record Decoded(int width, int height, int channels, byte[] pixels) {
    }

    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    private static final int IHDR_LENGTH = 13;

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
        AtomicWrite.write(file, png);
    }

    private static void checkDirectory(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new DitjException("cannot write " + file + ": directory " + dir + " does not exist");
        }
    }

    /**
     * The PNG with text entries added after its header, as {@code tEXt} chunks (Latin-1 text) or {@code iTXt}
     * (UTF-8) where the text needs it: how Stable Diffusion front ends record generation parameters.
     */
    public static byte[] withText(byte[] png, Map<String, String> entries) {
        int afterHeader = SIGNATURE.length + 8 + IHDR_LENGTH + 4;
        if (!isPng(png) || png.length < afterHeader) throw new IllegalArgumentException("not a PNG");
        ByteArrayOutputStream out = new ByteArrayOutputStream(png.length + 256);
        out.write(png, 0, afterHeader);
        for (Map.Entry<String, String> e : entries.entrySet()) {
            String key = e.getKey();
            if (key.isEmpty() || key.length() > 79 || !StandardCharsets.ISO_8859_1.newEncoder().canEncode(key)) {
                throw new IllegalArgumentException("PNG text keyword must be 1-79 Latin-1 characters: " + key);
            }
            byte[] k = key.getBytes(StandardCharsets.ISO_8859_1);
            boolean latin1 = StandardCharsets.ISO_8859_1.newEncoder().canEncode(e.getValue());
            ByteArrayOutputStream data = new ByteArrayOutputStream();
            data.writeBytes(k);
            data.write(0);
            if (!latin1) {
                data.writeBytes(new byte[] {0, 0, 0, 0}); // uncompressed, no language tag, no translated keyword
            }
            data.writeBytes(e.getValue().getBytes(latin1 ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8));
            writeChunk(out, latin1 ? "tEXt" : "iTXt", data.toByteArray());
        }
        out.write(png, afterHeader, png.length - afterHeader);
        return out.toByteArray();
    }

    /** The {@code tEXt}/{@code iTXt} entries of a PNG, in file order (empty if it has none). */
    public static Map<String, String> readText(byte[] png) {
        if (!isPng(png)) throw new DitjException("not a PNG file");
        Map<String, String> text = new LinkedHashMap<>();
        ByteBuffer b = ByteBuffer.wrap(png);
        int pos = SIGNATURE.length;
        while (pos + 12 <= png.length) {
            long length = b.getInt(pos) & 0xffffffffL;
            if (length > png.length - pos - 12) throw new DitjException("truncated PNG chunk at byte " + pos);
            String type = new String(png, pos + 4, 4, StandardCharsets.ISO_8859_1);
            int data = pos + 8, end = data + (int) length;
            if (type.equals("tEXt") || type.equals("iTXt")) {
                int zero = data;
                while (zero < end && png[zero] != 0) zero++;
                String key = new String(png, data, zero - data, StandardCharsets.ISO_8859_1);
                if (type.equals("tEXt")) {
                    text.put(key, new String(png, Math.min(zero + 1, end), Math.max(0, end - zero - 1),
                            StandardCharsets.ISO_8859_1));
                } else if (zero + 2 < end && png[zero + 1] == 0) { // compressed iTXt entries are not ours: skipped
                    int p = zero + 3;
                    for (int nulls = 0; p < end && nulls < 2; p++) if (png[p] == 0) nulls++;
                    text.put(key, new String(png, p, end - p, StandardCharsets.UTF_8));
                }
            }
            if (type.equals("IEND")) break;
            pos = end + 4;
        }
        return text;
    }

    private static boolean isPng(byte[] data) {
        return data.length >= SIGNATURE.length && Arrays.equals(data, 0, SIGNATURE.length, SIGNATURE, 0, SIGNATURE.length);
    }

    private static void writeChunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.ISO_8859_1);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        ByteBuffer head = ByteBuffer.allocate(8).putInt(data.length).put(t);
        out.writeBytes(head.array());
        out.writeBytes(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    /**
     * Reads a PNG file as 8-bit RGB: gray is replicated, an alpha channel composited on white
     * ({@link Pixels#onWhite}). Anything that is not a PNG is refused, naming the file.
     */
    public static Decoded readRgb(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (java.io.IOException e) {
            throw new DitjException(file + ": cannot read: " + AtomicWrite.describe(e), e);
        }
        if (bytes.length < SIGNATURE.length || !Arrays.equals(bytes, 0, SIGNATURE.length, SIGNATURE, 0, SIGNATURE.length)) {
            throw new DitjException(file + ": not a PNG file (images are read from 8-bit PNGs)");
        }
        Decoded d;
        try {
            d = decode(bytes);
        } catch (DitjException e) {
            throw new DitjException(file + ": " + e.getMessage(), e);
        }
        return new Decoded(d.width(), d.height(), 3, Pixels.onWhite(d.pixels(), d.channels()));
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
