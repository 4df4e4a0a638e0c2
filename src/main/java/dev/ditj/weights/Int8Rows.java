package dev.ditj.weights;

import dev.ditj.DitjException;
import dev.ditj.io.RawTensor;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * 8-bit weight storage ({@code ditj convert --dtype int8}): the weight of a linear, convolution or embedding layer
 * is kept as int8 with one float32 scale per row (dim 0, an output channel), symmetric: {@code w ≈ q * scale},
 * {@code scale = max|row| / 127}, so each weight is off by at most half a step, 0.4 % of its row's largest. The
 * engine dequantises at load and computes as with any other file; storage is half of fp16's. Layout in the file:
 * tensor NAME as I8 beside NAME{@value #SCALE_SUFFIX} as F32 [rows].
 */
public final class Int8Rows {
    public static final String SCALE_SUFFIX = ".int8_scale";

    private Int8Rows() {
    }

    /** Whether an int8 conversion stores this tensor in 8 bits: layer weights; biases, norms and tables stay fp16. */
    public static boolean quantizes(String name, Shape shape) {
        return name.endsWith(".weight") && shape.rank() >= 2;
    }

    /** {int8 values, float32 scales [rows]} of {@code w} (row-major, {@code shape}); {@code name} for errors. */
    public static RawTensor[] quantize(float[] w, Shape shape, String name) {
        int rows = shape.dim(0);
        int cols = (int) shape.numelFrom(1);
        ByteBuffer q = ByteBuffer.allocate(w.length);
        ByteBuffer s = ByteBuffer.allocate(rows * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < rows; r++) {
            float max = 0;
            for (int i = r * cols; i < (r + 1) * cols; i++) {
                if (!Float.isFinite(w[i])) {
                    throw new DitjException("tensor '" + name + "' holds " + w[i] + " at index " + i
                            + ": int8 stores finite weights only");
                }
                max = Math.max(max, Math.abs(w[i]));
            }
            float scale = max / 127f;
            s.putFloat(r * Float.BYTES, scale);
            for (int i = r * cols; i < (r + 1) * cols; i++) {
                q.put(i, scale == 0 ? 0 : (byte) Math.max(-127, Math.min(127, Math.round(w[i] / scale))));
            }
        }
        return new RawTensor[] {new RawTensor(DType.I8, shape, q), new RawTensor(DType.F32, Shape.of(rows), s)};
    }

    /** The float32 weights of int8 {@code q} with per-row {@code scale}; {@code where} names the tensor for errors. */
    public static float[] dequantize(RawTensor q, RawTensor scale, String where) {
        int rows = q.shape().rank() == 0 ? 0 : q.shape().dim(0);
        if (q.shape().rank() < 2 || scale.dtype() != DType.F32 || scale.shape().rank() != 1 || scale.shape().dim(0) != rows) {
            throw new DitjException(where + ": int8 " + q.shape() + " needs F32 scales [" + rows + "]" + SCALE_SUFFIX
                    + ", got " + scale.dtype() + " " + scale.shape());
        }
        int cols = (int) q.shape().numelFrom(1);
        float[] s = scale.toFloats(), out = new float[(int) q.shape().numel()];
        ByteBuffer b = q.data();
        for (int r = 0; r < rows; r++) {
            if (!Float.isFinite(s[r]) || s[r] < 0) {
                throw new DitjException(where + ": row " + r + " has scale " + s[r] + " (expected finite and >= 0)");
            }
            for (int i = r * cols; i < (r + 1) * cols; i++) out[i] = b.get(i) * s[r];
        }
        return out;
    }
}
