package dev.ditj.image;

import dev.ditj.DitjException;

import java.util.List;

/**
 * Decoded image tensors to 8-bit pixels, exactly as the official DiT {@code sample.py} writes them through
 * torchvision's {@code save_image(x, normalize=True, value_range=(-1, 1))} (spec: sampling.md A.11, pitfall 13).
 *
 * <p>Pixel buffers here are interleaved HWC bytes (row-major, {@code channels} bytes per pixel), the layout PNG
 * encoders take. Channels: 1 = gray, 3 = RGB, 4 = RGBA (passed through in that order).
 */
public final class Pixels {
    /** torchvision {@code make_grid} defaults used by sample.py. */
    public static final int GRID_PADDING = 2;

    private Pixels() {
    }

    /**
     * Converts one CHW float image (values nominally in [-1, 1]) starting at {@code offset} to HWC uint8.
     *
     * <p>Per element, in float32 and in this order (anything else changes some bytes): {@code x = clamp(x, -1, 1)};
     * {@code x = (x + 1) / 2}; {@code v = x * 255 + 0.5}; {@code clamp(v, 0, 255)}; truncate toward zero. This is
     * torchvision's mapping, not diffusers' round-half-even one.
     *
     * @throws DitjException if any value is NaN (a diverged model must not produce a plausible-looking image)
     */
    public static byte[] toRgb8(float[] chw, int offset, int channels, int height, int width) {
        checkChannels(channels);
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + height + "x" + width);
        }
        int plane = height * width;
        if (offset < 0 || (long) offset + (long) channels * plane > chw.length) {
            throw new IllegalArgumentException("image " + channels + "x" + height + "x" + width + " at offset "
                    + offset + " does not fit in an array of length " + chw.length);
        }
        byte[] out = new byte[channels * plane];
        for (int c = 0; c < channels; c++) {
            int src = offset + c * plane;
            for (int p = 0; p < plane; p++) {
                float x = chw[src + p];
                if (Float.isNaN(x)) {
                    throw new DitjException("decoded image contains NaN (channel " + c + ", row " + p / width
                            + ", column " + p % width + "); the model or sampler diverged");
                }
                out[p * channels + c] = (byte) quantize(x);
            }
        }
        return out;
    }

    /**
     * HWC pixels of 1 to 4 channels (gray, gray+alpha, RGB, RGBA) as RGB: gray replicated; alpha composited on
     * white in float32 and rounded half to even, {@code rint((c·a + 1 - a)·255)} with c and a in [0, 1] (how
     * tools/emoji/data.py flattens the emoji the bundled models were trained on).
     */
    public static byte[] onWhite(byte[] hwc, int channels) {
        if (channels < 1 || channels > 4) throw new IllegalArgumentException("1 to 4 channels, got " + channels);
        int n = hwc.length / channels;
        boolean alpha = channels == 2 || channels == 4;
        byte[] out = new byte[3 * n];
        for (int p = 0; p < n; p++) {
            float a = alpha ? (hwc[p * channels + channels - 1] & 0xff) / 255f : 1f;
            for (int c = 0; c < 3; c++) {
                int v = hwc[p * channels + (channels < 3 ? 0 : c)] & 0xff;
                out[3 * p + c] = (byte) (alpha ? (int) Math.rint(((v / 255f) * a + (1f - a)) * 255f) : v);
            }
        }
        return out;
    }

    /**
     * 8-bit RGB HWC pixels as a CHW float image in [-1, 1]: {@code x / 127.5 - 1}, as diffusers' VaeImageProcessor
     * reads images ({@code 2·(x / 255) - 1}, the same up to float rounding), written at {@code offset} of {@code out}.
     */
    public static void fromRgb8(byte[] hwc, int height, int width, float[] out, int offset) {
        int plane = height * width;
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) out[offset + c * plane + p] = (float) ((hwc[3 * p + c] & 0xff) / 127.5 - 1);
        }
    }

    /**
     * 8-bit RGB HWC pixels as gray levels in [0, 1], {@code L / 255} with L from PIL's {@code convert("L")} (ITU-R
     * 601-2 luma in 16-bit fixed point, rounded), as diffusers' mask processor reads a mask.
     */
    public static float[] grayLevels(byte[] hwc, int height, int width) {
        float[] out = new float[height * width];
        for (int p = 0; p < out.length; p++) {
            int r = hwc[3 * p] & 0xff, g = hwc[3 * p + 1] & 0xff, b = hwc[3 * p + 2] & 0xff;
            out[p] = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) / 255f;
        }
        return out;
    }

    /** The save_image mapping of one non-NaN value to 0..255 (see {@link #toRgb8}). */
    static int quantize(float x) {
        x = Math.max(-1f, Math.min(1f, x));
        x = (x + 1f) / 2f;
        float v = x * 255f + 0.5f; // Java float arithmetic rounds each operation: no fused multiply-add
        v = Math.max(0f, Math.min(255f, v));
        return (int) v; // truncation toward zero; v >= 0 so this is floor
    }

    /**
     * Lays images out like torchvision {@code make_grid(padding=2, pad_value=0)}: {@code min(nrow, n)} columns,
     * filled row by row, every image framed by 2 zero pixels. A single image is returned as is (same array, no
     * padding), as make_grid does. Use {@link #gridWidth} and {@link #gridHeight} for the result's size.
     *
     * @param images HWC images, each {@code height * width * channels} bytes
     */
    public static byte[] grid(List<byte[]> images, int height, int width, int channels, int nrow) {
        checkChannels(channels);
        int n = images.size();
        if (n == 0) {
            throw new IllegalArgumentException("no images to lay out");
        }
        if (nrow <= 0) {
            throw new IllegalArgumentException("nrow must be positive, got " + nrow);
        }
        int imageBytes = height * width * channels;
        for (int k = 0; k < n; k++) {
            if (images.get(k).length != imageBytes) {
                throw new IllegalArgumentException("image " + k + " has " + images.get(k).length
                        + " bytes, expected " + height + "x" + width + "x" + channels + " = " + imageBytes);
            }
        }
        if (n == 1) {
            return images.get(0);
        }
        int xmaps = Math.min(nrow, n);
        int gridW = gridWidth(n, width, nrow);
        byte[] canvas = new byte[gridHeight(n, height, nrow) * gridW * channels]; // zero = pad value
        int rowBytes = width * channels;
        for (int k = 0; k < n; k++) {
            int top = (k / xmaps) * (height + GRID_PADDING) + GRID_PADDING;
            int left = (k % xmaps) * (width + GRID_PADDING) + GRID_PADDING;
            byte[] img = images.get(k);
            for (int y = 0; y < height; y++) {
                System.arraycopy(img, y * rowBytes, canvas, ((top + y) * gridW + left) * channels, rowBytes);
            }
        }
        return canvas;
    }

    /** Width in pixels of {@link #grid} for {@code n} images of width {@code width}. */
    public static int gridWidth(int n, int width, int nrow) {
        if (n == 1) {
            return width;
        }
        int xmaps = Math.min(nrow, n);
        return xmaps * (width + GRID_PADDING) + GRID_PADDING;
    }

    /** Height in pixels of {@link #grid} for {@code n} images of height {@code height}. */
    public static int gridHeight(int n, int height, int nrow) {
        if (n == 1) {
            return height;
        }
        int xmaps = Math.min(nrow, n);
        int ymaps = (n + xmaps - 1) / xmaps;
        return ymaps * (height + GRID_PADDING) + GRID_PADDING;
    }

    private static void checkChannels(int channels) {
        if (channels != 1 && channels != 3 && channels != 4) {
            throw new IllegalArgumentException("channels must be 1, 3 or 4, got " + channels);
        }
    }
}
