package dev.ditj.image;

import dev.ditj.DitjException;
import org.lwjgl.stb.STBImageResize;
import org.lwjgl.system.MemoryUtil;

import java.nio.ByteBuffer;

/** Pictures brought to a model's square size: the centred square crop, scaled with stb_image_resize. */
public final class Resize {
    private Resize() {
    }

    /**
     * The centred {@code min(w, h)}² square of 8-bit RGB HWC {@code pixels}, scaled to {@code side × side}: in linear
     * light ({@code srgb}, for pictures) or on the stored values (masks, whose levels are thresholds, not light).
     */
    public static byte[] centreSquare(byte[] pixels, int width, int height, int side, boolean srgb) {
        int crop = Math.min(width, height), x0 = (width - crop) / 2, y0 = (height - crop) / 2;
        ByteBuffer in = MemoryUtil.memAlloc(pixels.length);
        ByteBuffer out = MemoryUtil.memAlloc(Math.multiplyExact(3 * side, side));
        try {
            in.put(0, pixels);
            // the crop is a window of the input: its first pixel, with the input's row stride
            ByteBuffer window = MemoryUtil.memSlice(in, 3 * (y0 * width + x0), in.capacity() - 3 * (y0 * width + x0));
            ByteBuffer done = srgb
                    ? STBImageResize.stbir_resize_uint8_srgb(window, crop, crop, 3 * width, out, side, side, 3 * side,
                            STBImageResize.STBIR_RGB)
                    : STBImageResize.stbir_resize_uint8_linear(window, crop, crop, 3 * width, out, side, side, 3 * side,
                            STBImageResize.STBIR_RGB);
            if (done == null) throw new DitjException("stb_image_resize could not scale a " + crop + "x" + crop + " picture to " + side);
            byte[] result = new byte[3 * side * side];
            out.get(0, result);
            return result;
        } finally {
            MemoryUtil.memFree(in);
            MemoryUtil.memFree(out);
        }
    }
}
