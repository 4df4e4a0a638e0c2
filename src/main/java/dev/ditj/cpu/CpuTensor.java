package dev.ditj.cpu;

import dev.ditj.tensor.DType;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;

/** A CPU tensor: a Java array (float32 or int32) and a shape. Views share the array. */
final class CpuTensor implements Tensor {
    final Shape shape;
    final float[] f;
    final int[] i;
    /** Lazily built GEMM panels of a constant (weight) tensor; null for activations. */
    volatile Object packed;
    final boolean constant;

    CpuTensor(Shape shape, float[] f, int[] i, boolean constant) {
        this.shape = shape;
        this.f = f;
        this.i = i;
        this.constant = constant;
    }

    @Override
    public Shape shape() {
        return shape;
    }

    @Override
    public DType dtype() {
        return f != null ? DType.F32 : DType.I32;
    }

    @Override
    public void close() {
        // Memory belongs to the garbage collector.
    }

    @Override
    public String toString() {
        return "cpu:" + dtype() + shape;
    }
}
