package dev.ditj.cpu;

import dev.ditj.tensor.DType;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;

/**
 * A CPU tensor: a Java array (float32 or int32) and a shape; views share the array. A weight used by the GEMM may
 * instead be held only as its packed panels, off the Java heap ({@link #f} null).
 */
final class CpuTensor implements Tensor {
    final Shape shape;
    /** float32 data; null for int32 tensors and for weights held only packed. */
    final float[] f;
    final int[] i;
    /** GEMM panels of a constant (weight) tensor, packed at load or on first use; null for activations. */
    volatile Object packed;
    final boolean constant;

    CpuTensor(Shape shape, float[] f, int[] i, boolean constant) {
        this.shape = shape;
        this.f = f;
        this.i = i;
        this.constant = constant;
    }

    /** A weight held only as packed GEMM panels ({@link Gemm.PackedA} or {@link Gemm.PackedB}). */
    static CpuTensor packedWeight(Shape shape, Object packed) {
        CpuTensor t = new CpuTensor(shape, null, null, true);
        t.packed = packed;
        return t;
    }

    @Override
    public Shape shape() {
        return shape;
    }

    @Override
    public DType dtype() {
        return i != null ? DType.I32 : DType.F32;
    }

    @Override
    public void close() {
        // Memory belongs to the garbage collector (direct buffers included).
    }

    @Override
    public String toString() {
        return "cpu:" + dtype() + shape;
    }
}
