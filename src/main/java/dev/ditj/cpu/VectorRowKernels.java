package dev.ditj.cpu;

import dev.ditj.tensor.Ops.Activation;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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
            // the same operation order as the scalar RowKernels.gelu: ((v·v)·0.044715)·v + v
            FloatVector inner = v.mul(v).mul(0.044715f).mul(v).add(v).mul(-GELU_K);
            return v.div(exp(inner).add(1f));
        }
        if (act == Activation.SILU) return v.div(exp(v.neg()).add(1f));
        return v;
    }

    /** {@link RowKernels#exp} lane-wise, with the same operations in the same order. */
    static FloatVector exp(FloatVector x) {
        FloatVector c = x.min(EXP_MAX).max(EXP_MIN);
        FloatVector n = c.mul(LOG2E).add(ROUNDER).sub(ROUNDER);
        FloatVector r = n.neg().fma(FloatVector.broadcast(S, LN2_HI), c);
        r = n.neg().fma(FloatVector.broadcast(S, LN2_LO), r);
        FloatVector p = FloatVector.broadcast(S, 1.0f / 5040);
        p = p.fma(r, FloatVector.broadcast(S, 1.0f / 720));
        p = p.fma(r, FloatVector.broadcast(S, 1.0f / 120));
        p = p.fma(r, FloatVector.broadcast(S, 1.0f / 24));
        p = p.fma(r, FloatVector.broadcast(S, 1.0f / 6));
        p = p.fma(r, FloatVector.broadcast(S, 0.5f));
        p = p.fma(r, FloatVector.broadcast(S, 1.0f));
        p = p.fma(r, FloatVector.broadcast(S, 1.0f));
        IntVector ni = (IntVector) n.convert(VectorOperators.F2I, 0);
        IntVector n1 = ni.div(2), n2 = ni.sub(n1);
        FloatVector s1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector y = p.mul(s1).mul(s2);
        return y.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_MAX))
                .blend(0f, x.compare(VectorOperators.LT, EXP_MIN));
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
            FloatVector e = exp(FloatVector.fromArray(S, x, off + i).mul(scale).sub(max));
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
