package dev.ditj.io;

import dev.ditj.DitjException;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.FloatFormats;
import dev.ditj.tensor.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * A tensor as stored in a file: dense, C-order, little-endian bytes. The buffer may be a read-only memory mapping
 * of the file (safetensors, contiguous torch storages), so treat it as read-only.
 *
 * <p>{@link #data()} always returns a fresh view positioned at 0, little-endian, with {@code remaining() ==
 * numel * dtype.bytes}; moving its position does not affect the tensor. {@code equals} compares dtype, shape and
 * the bytes.
 */
public record RawTensor(DType dtype, Shape shape, ByteBuffer data) {
    public RawTensor {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(data, "data");
        long expected = byteSize(dtype, shape);
        if (data.remaining() != expected) {
            throw new IllegalArgumentException(dtype + " tensor of shape " + shape + " needs " + expected
                    + " bytes, buffer has " + data.remaining());
        }
        data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Bytes needed for a dense tensor; fails for tensors that a single Java buffer cannot hold (over 2 GiB). */
    static long byteSize(DType dtype, Shape shape) {
        long bytes = Math.multiplyExact(shape.numel(), (long) dtype.bytes);
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(dtype + " tensor of shape " + shape + " is " + bytes
                    + " bytes: tensors over 2 GiB are not supported");
        }
        return bytes;
    }

    @Override
    public ByteBuffer data() {
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    public long numel() {
        return shape.numel();
    }

    /** Converts to float32 (from any float or integer dtype; float64 and large integers are rounded). */
    public float[] toFloats() {
        int n = shape.size();
        float[] out = new float[n];
        ByteBuffer b = data;
        switch (dtype) {
            case F32 -> b.asFloatBuffer().get(out);
            case F16 -> { for (int i = 0; i < n; i++) out[i] = FloatFormats.halfToFloat(b.getShort(2 * i)); }
            case BF16 -> { for (int i = 0; i < n; i++) out[i] = FloatFormats.bf16ToFloat(b.getShort(2 * i)); }
            case F64 -> { for (int i = 0; i < n; i++) out[i] = (float) b.getDouble(8 * i); }
            default -> { long[] v = toLongs(); for (int i = 0; i < n; i++) out[i] = v[i]; }
        }
        return out;
    }

    /** Integer dtypes only (I64, I32, I16, I8, U8, BOOL as 0/1); float tensors are refused, not truncated. */
    public long[] toLongs() {
        int n = shape.size();
        long[] out = new long[n];
        ByteBuffer b = data;
        switch (dtype) {
            case I64 -> b.asLongBuffer().get(out);
            case I32 -> { for (int i = 0; i < n; i++) out[i] = b.getInt(4 * i); }
            case I16 -> { for (int i = 0; i < n; i++) out[i] = b.getShort(2 * i); }
            case I8 -> { for (int i = 0; i < n; i++) out[i] = b.get(i); }
            case U8 -> { for (int i = 0; i < n; i++) out[i] = b.get(i) & 0xff; }
            case BOOL -> { for (int i = 0; i < n; i++) out[i] = b.get(i) != 0 ? 1 : 0; }
            default -> throw new DitjException("cannot read a " + dtype + " tensor " + shape
                    + " as integers (expected an integer dtype)");
        }
        return out;
    }

    /** Like {@link #toLongs()}, failing if a value does not fit in an int. */
    public int[] toInts() {
        long[] v = toLongs();
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            if ((int) v[i] != v[i]) {
                throw new DitjException("value " + v[i] + " at index " + i + " of " + dtype + " tensor " + shape
                        + " does not fit in an int");
            }
            out[i] = (int) v[i];
        }
        return out;
    }

    /** Encodes float32 values as F32, F16 or BF16 (rounding to nearest even), or F64. */
    public static RawTensor ofFloats(float[] values, Shape shape, DType storeAs) {
        checkCount(values.length, shape);
        ByteBuffer b = allocate(storeAs, shape);
        switch (storeAs) {
            case F32 -> b.asFloatBuffer().put(values);
            case F16 -> { for (int i = 0; i < values.length; i++) b.putShort(2 * i, FloatFormats.floatToHalf(values[i])); }
            case BF16 -> { for (int i = 0; i < values.length; i++) b.putShort(2 * i, FloatFormats.floatToBf16(values[i])); }
            case F64 -> { for (int i = 0; i < values.length; i++) b.putDouble(8 * i, values[i]); }
            default -> throw new IllegalArgumentException("ofFloats stores F32, F16, BF16 or F64, not " + storeAs);
        }
        return new RawTensor(storeAs, shape, b);
    }

    public static RawTensor ofLongs(long[] values, Shape shape) {
        checkCount(values.length, shape);
        ByteBuffer b = allocate(DType.I64, shape);
        b.asLongBuffer().put(values);
        return new RawTensor(DType.I64, shape, b);
    }

    public static RawTensor ofInts(int[] values, Shape shape) {
        checkCount(values.length, shape);
        ByteBuffer b = allocate(DType.I32, shape);
        b.asIntBuffer().put(values);
        return new RawTensor(DType.I32, shape, b);
    }

    /** Unsigned bytes (U8), e.g. image pixels. */
    public static RawTensor ofBytes(byte[] values, Shape shape) {
        checkCount(values.length, shape);
        return new RawTensor(DType.U8, shape, ByteBuffer.wrap(values.clone()));
    }

    private static void checkCount(int length, Shape shape) {
        if (length != shape.numel()) {
            throw new IllegalArgumentException(length + " values do not match shape " + shape + " (" + shape.numel()
                    + " elements)");
        }
    }

    private static ByteBuffer allocate(DType dtype, Shape shape) {
        return ByteBuffer.allocate((int) byteSize(dtype, shape)).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public String toString() {
        return "RawTensor[" + dtype + " " + shape + "]";
    }
}
