package dev.ditj.cpu;

import dev.ditj.tensor.Ops.Activation;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** {@link RowKernels} on the Vector API (exp is the JDK's vectorized, SVML-backed EXP where available). */
final class VectorRowKernels implements RowKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Tails shorter than a vector. */
    private static final RowKernels TAIL = new RowKernels.Scalar();

    @Override
    public void biasActivation(float[] row, int off, int n, float[] bias, int biasOff, Activation act) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector v = FloatVector.fromArray(S, row, off + i);
            if (bias != null) v = v.add(FloatVector.fromArray(S, bias, biasOff + i));
            activate(v, act).intoArray(row, off + i);
        }
        TAIL.biasActivation(row, off + i, n - i, bias, biasOff + i, act);
    }

    @Override
    public void affineActivation(float[] src, int srcOff, float[] dst, int dstOff, int n, float mul, float add,
                                 Activation act) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector v = FloatVector.fromArray(S, src, srcOff + i).mul(mul).add(add);
            activate(v, act).intoArray(dst, dstOff + i);
        }
        TAIL.affineActivation(src, srcOff + i, dst, dstOff + i, n - i, mul, add, act);
    }

    private static FloatVector activate(FloatVector v, Activation act) {
        if (act == Activation.GELU_TANH) {
            FloatVector inner = v.mul(v).mul(0.044715f).mul(v).add(v).mul(-GELU_K);
            return v.div(inner.lanewise(VectorOperators.EXP).add(1f));
        }
        if (act == Activation.SILU) return v.div(v.neg().lanewise(VectorOperators.EXP).add(1f));
        return v;
    }

    @Override
    public void addScalarAndRow(float[] row, int off, int n, float add, float[] residual, int rOff) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector v = FloatVector.fromArray(S, row, off + i).add(add);
            if (residual != null) v = v.add(FloatVector.fromArray(S, residual, rOff + i));
            v.intoArray(row, off + i);
        }
        TAIL.addScalarAndRow(row, off + i, n - i, add, residual, rOff + i);
    }

    @Override
    public float scaledExp(float[] x, int off, int n, float scale, float max) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector e = FloatVector.fromArray(S, x, off + i).mul(scale).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(x, off + i);
            acc = acc.add(e);
        }
        return acc.reduceLanes(VectorOperators.ADD) + TAIL.scaledExp(x, off + i, n - i, scale, max);
    }

    @Override
    public void scale(float[] x, int off, int n, float factor) {
        int i = 0;
        for (; i <= n - L; i += L) FloatVector.fromArray(S, x, off + i).mul(factor).intoArray(x, off + i);
        TAIL.scale(x, off + i, n - i, factor);
    }

    @Override
    public float scaledMax(float[] x, int off, int n, float scale) {
        FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i <= n - L; i += L) m = m.max(FloatVector.fromArray(S, x, off + i).mul(scale));
        return Math.max(m.reduceLanes(VectorOperators.MAX), TAIL.scaledMax(x, off + i, n - i, scale));
    }
}
