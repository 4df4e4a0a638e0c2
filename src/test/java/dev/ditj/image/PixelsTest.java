package dev.ditj.image;

import dev.ditj.DitjException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PixelsTest {
    private static int q(float x) {
        return Pixels.toRgb8(new float[] {x}, 0, 1, 1, 1)[0] & 0xff;
    }

    private static float bits(int b) {
        return Float.intBitsToFloat(b);
    }

    @Test
    void endpointsAndMidpoint() {
        assertEquals(0, q(-1f));
        assertEquals(255, q(1f));
        assertEquals(128, q(0f)); // 0.5 * 255 + 0.5 = 128.0 exactly
        assertEquals(128, q(-0f));
        assertEquals(64, q(-0.5f));
        assertEquals(191, q(0.5f));
    }

    @Test
    void clampsBeyondRange() {
        assertEquals(0, q(-1.5f));
        assertEquals(0, q(-1e30f));
        assertEquals(0, q(Float.NEGATIVE_INFINITY));
        assertEquals(255, q(1.0000001f));
        assertEquals(255, q(7f));
        assertEquals(255, q(Float.POSITIVE_INFINITY));
    }

    @Test
    void truncatesJustBelowEachBoundary() {
        // Consecutive floats on either side of a step: v = 127.99999 truncates to 127, v = 128.0 gives 128.
        assertEquals(127, q(bits(0xb3000001)));
        assertEquals(128, q(bits(0xb3000000)));
        assertEquals(128, q(bits(0x3c008040))); // v = 128.99998
        assertEquals(129, q(bits(0x3c008041)));
        assertEquals(254, q(bits(0x3f7efefd)));
        assertEquals(255, q(bits(0x3f7efefe)));
        assertEquals(0, q(bits(0xbf7eff00)));
    }

    @Test
    void followsFloat32OperationOrder() {
        // In exact arithmetic (x + 1) / 2 * 255 + 0.5 is 0.99999.. here (byte 0); float32 rounding of each step
        // in torchvision's order gives 1.0 (byte 1). Likewise 64 vs 65 below.
        assertEquals(1, q(bits(0xbf7efeff)));
        assertEquals(65, q(bits(0xbefcfcfd)));
    }

    @Test
    void nanIsAnError() {
        float[] img = new float[3 * 2 * 2];
        img[7] = Float.NaN;
        DitjException e = assertThrows(DitjException.class, () -> Pixels.toRgb8(img, 0, 3, 2, 2));
        assertTrue(e.getMessage().startsWith("decoded image contains NaN"), e.getMessage());
    }

    @Test
    void chwToInterleavedHwcWithOffset() {
        // Two 3x1x2 images back to back; convert the second. Channel planes: R = {-1, 1}, G = {0, 0}, B = {1, -1}.
        float[] batch = new float[12];
        float[] second = {-1f, 1f, 0f, 0f, 1f, -1f};
        System.arraycopy(second, 0, batch, 6, 6);
        byte[] rgb = Pixels.toRgb8(batch, 6, 3, 1, 2);
        assertArrayEquals(new byte[] {0, (byte) 128, (byte) 255, (byte) 255, (byte) 128, 0}, rgb);

        byte[] rgba = Pixels.toRgb8(new float[] {-1f, 1f, 0f, 1f}, 0, 4, 1, 1);
        assertArrayEquals(new byte[] {0, (byte) 255, (byte) 128, (byte) 255}, rgba);
        assertThrows(IllegalArgumentException.class, () -> Pixels.toRgb8(batch, 7, 3, 1, 2));
    }

    /** Images whose every byte is distinct per image: value = 10 * (k + 1) + pixel. */
    private static List<byte[]> images(int n, int h, int w, int c) {
        List<byte[]> out = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            byte[] img = new byte[h * w * c];
            for (int i = 0; i < img.length; i++) {
                img[i] = (byte) (10 * (k + 1) + i % 10);
            }
            out.add(img);
        }
        return out;
    }

    /** Checks every canvas byte against the make_grid formula: inside cell k it is image k, else pad 0. */
    private static void assertLayout(List<byte[]> imgs, byte[] canvas, int h, int w, int c, int nrow) {
        int n = imgs.size();
        int xmaps = Math.min(nrow, n);
        int gw = Pixels.gridWidth(n, w, nrow);
        int gh = Pixels.gridHeight(n, h, nrow);
        assertEquals(gh * gw * c, canvas.length);
        for (int y = 0; y < gh; y++) {
            for (int x = 0; x < gw; x++) {
                int row = (y - 2) / (h + 2);
                int col = (x - 2) / (w + 2);
                int iy = (y - 2) % (h + 2);
                int ix = (x - 2) % (w + 2);
                int k = row * xmaps + col;
                boolean inside = y >= 2 && x >= 2 && iy < h && ix < w && col < xmaps && k < n;
                for (int ch = 0; ch < c; ch++) {
                    byte expected = inside ? imgs.get(k)[(iy * w + ix) * c + ch] : 0;
                    assertEquals(expected, canvas[(y * gw + x) * c + ch], "at y=" + y + " x=" + x + " c=" + ch);
                }
            }
        }
    }

    @Test
    void singleImageIsUnpadded() {
        List<byte[]> one = images(1, 3, 4, 3);
        assertSame(one.get(0), Pixels.grid(one, 3, 4, 3, 8));
        assertEquals(4, Pixels.gridWidth(1, 4, 8));
        assertEquals(3, Pixels.gridHeight(1, 3, 8));
    }

    @Test
    void threeImagesTwoPerRow() {
        List<byte[]> imgs = images(3, 3, 4, 3);
        byte[] canvas = Pixels.grid(imgs, 3, 4, 3, 2);
        assertEquals(2 * (4 + 2) + 2, Pixels.gridWidth(3, 4, 2));
        assertEquals(2 * (3 + 2) + 2, Pixels.gridHeight(3, 3, 2));
        assertLayout(imgs, canvas, 3, 4, 3, 2);
        // Second row, first cell starts at (y, x) = (1 * 5 + 2, 2).
        int gw = Pixels.gridWidth(3, 4, 2);
        assertEquals(imgs.get(2)[0], canvas[(7 * gw + 2) * 3]);
    }

    @Test
    void eightImagesFourPerRow() {
        // torchvision's example: 8 images of 256x256, nrow 4 -> 3 x 518 x 1034.
        assertEquals(1034, Pixels.gridWidth(8, 256, 4));
        assertEquals(518, Pixels.gridHeight(8, 256, 4));
        List<byte[]> imgs = images(8, 2, 3, 4);
        assertLayout(imgs, Pixels.grid(imgs, 2, 3, 4, 4), 2, 3, 4, 4);
    }

    @Test
    void nrowLargerThanBatchUsesOneRow() {
        assertEquals(3 * (5 + 2) + 2, Pixels.gridWidth(3, 5, 8));
        List<byte[]> imgs = images(3, 2, 5, 1);
        assertLayout(imgs, Pixels.grid(imgs, 2, 5, 1, 8), 2, 5, 1, 8);
    }
}
