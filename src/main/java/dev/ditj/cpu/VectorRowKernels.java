package dev.ditj.cpu;

import dev.ditj.tensor.Ops.Activation;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** {@link RowKernels} on the Vector API (exp is the JDK's vectorized, SVML-backed EXP where available). */
final class VectorRowKernels implements RowKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    @Override
    public void biasActivation(float[] row, int off, int n, float[] bias, int biasOff, Activation act) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector v = FloatVector.fromArray(S, row, off + i);
            if (bias != null) v = v.add(FloatVector.fromArray(S, bias, biasOff + i));
            activate(v, act).intoArray(row, off + i);
        }
        for (; i < n; i++) {
            float v = bias == null ? row[off + i] : row[off + i] + bias[biasOff + i];
            row[off + i] = act == Activation.GELU_TANH ? RowKernels.gelu(v) : act == Activation.SILU ? RowKernels.silu(v) : v;
        }
    }

    @Override
    public void affineActivation(float[] src, int srcOff, float[] dst, int dstOff, int n, float mul, float add,
                                 Activation act) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector v = FloatVector.fromArray(S, src, srcOff + i).mul(mul).add(add);
            activate(v, act).intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            float v = src[srcOff + i] * mul + add;
            dst[dstOff + i] = act == Activation.GELU_TANH ? RowKernels.gelu(v) : act == Activation.SILU ? RowKernels.silu(v) : v;
        }
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
        for (; i < n; i++) row[off + i] = residual == null ? row[off + i] + add : row[off + i] + add + residual[rOff + i];
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
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float e = (float) Math.exp(x[off + i] * scale - max);
            x[off + i] = e;
            sum += e;
        }
        return sum;
    }

    @Override
    public void scale(float[] x, int off, int n, float factor) {
        int i = 0;
        for (; i <= n - L; i += L) FloatVector.fromArray(S, x, off + i).mul(factor).intoArray(x, off + i);
        for (; i < n; i++) x[off + i] *= factor;
    }

    @Override
    public float scaledMax(float[] x, int off, int n, float scale) {
        FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i <= n - L; i += L) m = m.max(FloatVector.fromArray(S, x, off + i).mul(scale));
        float r = m.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) r = Math.max(r, x[off + i] * scale);
        return r;
    }
}
