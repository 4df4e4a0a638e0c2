package dev.ditj.weights;

import dev.ditj.DitjException;
import dev.ditj.io.RawTensor;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.Shape;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Int8RowsTest {
    @Test
    void everyWeightIsWithinHalfAStepOfItsRowsScale() {
        SplittableRandom rnd = new SplittableRandom(System.nanoTime());
        Shape shape = Shape.of(7, 3, 2, 2);   // a conv weight: rows are output channels
        float[] w = new float[(int) shape.numel()];
        for (int i = 0; i < w.length; i++) w[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-3, 2)));
        for (int i = 12; i < 24; i++) w[i] = 0;   // an all-zero row
        RawTensor[] q = Int8Rows.quantize(w, shape, "x.weight");
        assertEquals(DType.I8, q[0].dtype());
        assertEquals(shape, q[0].shape());
        assertEquals(Shape.of(7), q[1].shape());
        float[] scale = q[1].toFloats(), back = Int8Rows.dequantize(q[0], q[1], "x");
        for (int r = 0; r < 7; r++) {
            float max = 0;
            for (int i = 12 * r; i < 12 * (r + 1); i++) max = Math.max(max, Math.abs(w[i]));
            assertEquals(max / 127f, scale[r], 0f, "row " + r);
            for (int i = 12 * r; i < 12 * (r + 1); i++) {
                assertTrue(Math.abs(back[i] - w[i]) <= scale[r] * 0.5f * (1 + 1e-5f), "weight " + i + ": " + w[i] + " -> " + back[i]);
            }
        }
        for (int i = 12; i < 24; i++) assertEquals(0f, back[i], 0f);
        int sign = 0;
        for (int i = 0; i < w.length; i++) if (q[0].data().get(i) == 127 || q[0].data().get(i) == -127) sign++;
        assertTrue(sign >= 6, "each non-zero row's largest weight maps to ±127");
    }

    @Test
    void onlyLayerWeightsAreQuantised() {
        assertTrue(Int8Rows.quantizes("blocks.0.attn.qkv.weight", Shape.of(768, 256)));
        assertTrue(Int8Rows.quantizes("x_embedder.proj.weight", Shape.of(256, 4, 2, 2)));
        assertFalse(Int8Rows.quantizes("blocks.0.attn.qkv.bias", Shape.of(768)));
        assertFalse(Int8Rows.quantizes("decoder.conv_norm_out.weight", Shape.of(128)));
        assertFalse(Int8Rows.quantizes("pos_embed", Shape.of(1, 64, 256)));
    }

    @Test
    void nonFiniteWeightsAndBadScalesAreRefusedByName() {
        float[] w = {1, 2, Float.NaN, 4};
        DitjException e = assertThrows(DitjException.class, () -> Int8Rows.quantize(w, Shape.of(2, 2), "fc1.weight"));
        assertTrue(e.getMessage().contains("fc1.weight") && e.getMessage().contains("NaN"), e.getMessage());
        RawTensor[] q = Int8Rows.quantize(new float[] {1, 2, 3, 4}, Shape.of(2, 2), "w");
        RawTensor wrongRows = RawTensor.ofFloats(new float[] {1, 1, 1}, Shape.of(3), DType.F32);
        e = assertThrows(DitjException.class, () -> Int8Rows.dequantize(q[0], wrongRows, "f: tensor 'w'"));
        assertTrue(e.getMessage().contains("tensor 'w'") && e.getMessage().contains("[2]"), e.getMessage());
        RawTensor negative = RawTensor.ofFloats(new float[] {1, -1}, Shape.of(2), DType.F32);
        e = assertThrows(DitjException.class, () -> Int8Rows.dequantize(q[0], negative, "f: tensor 'w'"));
        assertTrue(e.getMessage().contains("row 1"), e.getMessage());
    }
}
