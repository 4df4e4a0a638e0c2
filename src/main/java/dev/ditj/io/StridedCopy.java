package dev.ditj.io;

import dev.ditj.tensor.DType;
import dev.ditj.tensor.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Turns a (storage, offset, size, stride) view into a dense C-order tensor. */
final class StridedCopy {
    private StridedCopy() {
    }

    /**
     * The view as a dense tensor. Contiguous views share the storage's buffer (no copy; possibly a memory mapping);
     * any other view is gathered into a new heap buffer of at most {@code maxCopyBytes}. {@code what} prefixes error
     * messages.
     */
    static RawTensor view(ByteBuffer storage, DType dtype, long storageNumel, long offset, long[] size, long[] stride,
                          long maxCopyBytes, String what) {
        if (size.length != stride.length) {
            throw new CheckpointException(what + ": size has " + size.length + " dims but stride has " + stride.length);
        }
        Shape shape;
        long numel;
        try {
            shape = Shape.of(size);
            numel = shape.numel();
            RawTensor.byteSize(dtype, shape);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new CheckpointException(what + ": unsupported tensor size " + java.util.Arrays.toString(size) + ": " + e.getMessage(), e);
        }
        if (offset < 0) throw new CheckpointException(what + ": negative storage offset " + offset);
        int elem = dtype.bytes;
        if (numel == 0) return new RawTensor(dtype, shape, ByteBuffer.allocate(0));
        // Bounds: the last element addressed must lie inside the storage.
        long last = offset;
        for (int d = 0; d < size.length; d++) {
            if (stride[d] < 0) throw new CheckpointException(what + ": negative stride " + stride[d]);
            try {
                last = Math.addExact(last, Math.multiplyExact(size[d] - 1, stride[d]));
            } catch (ArithmeticException e) { // far outside any storage
                last = Long.MAX_VALUE;
            }
        }
        if (last >= storageNumel) {
            throw new CheckpointException(what + ": view (offset " + offset + ", size " + java.util.Arrays.toString(size)
                    + ", stride " + java.util.Arrays.toString(stride) + ") reaches element " + last
                    + " of a storage of " + storageNumel + " elements");
        }
        if (isContiguous(size, stride)) {
            ByteBuffer slice = storage.slice((int) (offset * elem), (int) (numel * elem));
            return new RawTensor(dtype, shape, slice);
        }
        if (numel * elem > maxCopyBytes) {
            throw new CheckpointException(what + ": strided view (size " + java.util.Arrays.toString(size) + ", stride "
                    + java.util.Arrays.toString(stride) + ") needs a " + numel * elem + "-byte copy, more than the file "
                    + "allows (copies of views may total twice the file size); save contiguous tensors");
        }
        ByteBuffer out = ByteBuffer.allocate((int) (numel * elem)).order(ByteOrder.LITTLE_ENDIAN);
        int rank = size.length;
        long[] idx = new long[rank]; // odometer over all dims but the last
        long rowLen = size[rank - 1];
        long lastStride = stride[rank - 1];
        long base = offset;
        byte[] run = lastStride == 1 ? new byte[(int) (rowLen * elem)] : null;
        while (true) {
            if (run != null) {
                storage.get((int) (base * elem), run);
                out.put(run);
            } else {
                for (long j = 0; j < rowLen; j++) {
                    int src = (int) ((base + j * lastStride) * elem);
                    for (int b = 0; b < elem; b++) out.put(storage.get(src + b));
                }
            }
            int d = rank - 2;
            while (d >= 0 && ++idx[d] == size[d]) {
                base -= (size[d] - 1) * stride[d];
                idx[d] = 0;
                d--;
            }
            if (d < 0) break;
            base += stride[d];
        }
        return new RawTensor(dtype, shape, out.flip());
    }

    /** C-order strides (dims of size 1 may have any stride, as in torch's is_contiguous). */
    static boolean isContiguous(long[] size, long[] stride) {
        long expected = 1;
        for (int d = size.length - 1; d >= 0; d--) {
            if (size[d] != 1 && stride[d] != expected) return false;
            expected *= size[d];
        }
        return true;
    }

    /** A copy with every {@code elem}-byte element reversed (big-endian storage to little-endian). */
    static ByteBuffer byteSwapped(ByteBuffer src, int elem) {
        int n = src.remaining();
        ByteBuffer out = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        int base = src.position();
        for (int i = 0; i < n; i += elem) {
            for (int b = 0; b < elem; b++) out.put(i + b, src.get(base + i + elem - 1 - b));
        }
        return out;
    }
}
