package dev.ditj.io;

import dev.ditj.DitjException;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.FloatFormats;
import dev.ditj.tensor.Shape;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RawTensorTest {
    @Test
    void encodesAndDecodesFloats() {
        float[] v = {1f, -0.1f, 1f / 3, 65519f, 65520f, 1e-9f, Float.NaN, Float.NEGATIVE_INFINITY};
        RawTensor f32 = RawTensor.ofFloats(v, Shape.of(2, 4), DType.F32);
        assertArrayEquals(v, f32.toFloats());
        assertEquals(Float.floatToRawIntBits(-0.1f), f32.data().getInt(4), "little-endian");

        float[] half = RawTensor.ofFloats(v, Shape.of(8), DType.F16).toFloats();
        float[] bf = RawTensor.ofFloats(v, Shape.of(8), DType.BF16).toFloats();
        for (int i = 0; i < v.length; i++) {
            assertEquals(FloatFormats.halfToFloat(FloatFormats.floatToHalf(v[i])), half[i]);
            assertEquals(FloatFormats.bf16ToFloat(FloatFormats.floatToBf16(v[i])), bf[i]);
        }
        assertEquals(65504f, half[3]);
        assertEquals(Float.POSITIVE_INFINITY, half[4]);
        assertArrayEquals(new float[] {1.5f, -2f}, RawTensor.ofFloats(new float[] {1.5f, -2f}, Shape.of(2), DType.F64).toFloats());
        assertArrayEquals(new float[] {3f, -4f}, RawTensor.ofLongs(new long[] {3, -4}, Shape.of(2)).toFloats());
        assertArrayEquals(new float[] {255f}, RawTensor.ofBytes(new byte[] {-1}, Shape.of(1)).toFloats());
    }

    @Test
    void integers() {
        RawTensor l = RawTensor.ofLongs(new long[] {1, -2, 1L << 40}, Shape.of(3));
        assertArrayEquals(new long[] {1, -2, 1L << 40}, l.toLongs());
        DitjException e = assertThrows(DitjException.class, l::toInts);
        assertTrue(e.getMessage().contains("1099511627776"), e.getMessage());
        assertArrayEquals(new int[] {5, -6}, RawTensor.ofInts(new int[] {5, -6}, Shape.of(2)).toInts());
        assertArrayEquals(new long[] {0, 255}, RawTensor.ofBytes(new byte[] {0, -1}, Shape.of(2)).toLongs());
        RawTensor f = RawTensor.ofFloats(new float[] {1f}, Shape.of(1), DType.F32);
        assertTrue(assertThrows(DitjException.class, f::toLongs).getMessage().contains("F32"));
        assertThrows(DitjException.class, f::toInts);
    }

    @Test
    void validatesSizes() {
        assertThrows(IllegalArgumentException.class, () -> RawTensor.ofFloats(new float[3], Shape.of(2, 2), DType.F32));
        assertThrows(IllegalArgumentException.class, () -> RawTensor.ofFloats(new float[1], Shape.of(1), DType.I32));
        assertThrows(IllegalArgumentException.class, () -> RawTensor.ofLongs(new long[1], Shape.of(2)));
        assertThrows(IllegalArgumentException.class, () -> RawTensor.ofBytes(new byte[1], Shape.of(0)));
        assertThrows(IllegalArgumentException.class, () -> new RawTensor(DType.F32, Shape.of(2), ByteBuffer.allocate(7)));
        assertThrows(IllegalArgumentException.class, () -> new RawTensor(DType.F32, Shape.of(1 << 20, 1 << 10), ByteBuffer.allocate(0)));
    }

    @Test
    void dataIsAnIndependentLittleEndianView() {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN);
        b.position(8);
        b.putInt(8, 7); // big-endian 7 at the view's first element
        RawTensor t = new RawTensor(DType.I32, Shape.of(2), b);
        assertEquals(0, t.data().position());
        assertEquals(8, t.data().remaining());
        assertEquals(ByteOrder.LITTLE_ENDIAN, t.data().order());
        assertEquals(7 << 24, t.toInts()[0]);
        t.data().position(4).limit(5); // moving a returned view must not affect the tensor
        assertEquals(8, t.data().remaining());

        RawTensor a = RawTensor.ofLongs(new long[] {1, 2}, Shape.of(2));
        assertEquals(a, RawTensor.ofLongs(new long[] {1, 2}, Shape.of(2)));
        assertNotEquals(a, RawTensor.ofLongs(new long[] {1, 3}, Shape.of(2)));
        assertNotEquals(a, RawTensor.ofLongs(new long[] {1, 2}, Shape.of(2, 1)));
        assertEquals("RawTensor[I64 [2]]", a.toString());
    }
}
