package dev.ditj.cpu;

import dev.ditj.tensor.Ops.Activation;

/**
 * Row-wise float kernels that dominate once the GEMM is fast: bias + activation epilogues and the softmax's
 * exponentials. The Vector API version is used when the incubator module is present; both evaluate the same
 * formulas in float32 (GELU-tanh as {@code v / (1 + exp(-2·√(2/π)·(v + 0.044715·v³)))}, which is
 * {@code 0.5·v·(1 + tanh(...))} rewritten with one exp).
 */
interface RowKernels {
    RowKernels BEST = best();

    /** {@code row[i] = act(row[i] + bias[biasOff + i])} for i < n; bias may be null. */
    void biasActivation(float[] row, int off, int n, float[] bias, int biasOff, Activation act);

    /** {@code dst[i] = act(src[i]·mul + add)} for i < n (src and dst may be the same array). */
    void affineActivation(float[] src, int srcOff, float[] dst, int dstOff, int n, float mul, float add, Activation act);

    /** {@code row[off + i] += add (+ residual[rOff + i] when residual is not null)} for i < n. */
    void addScalarAndRow(float[] row, int off, int n, float add, float[] residual, int rOff);

    /** {@code x[i] = exp(x[i]·scale - max)} for i < n; returns the sum of the results. */
    float scaledExp(float[] x, int off, int n, float scale, float max);

    /** {@code x[i] *= factor}. */
    void scale(float[] x, int off, int n, float factor);

    /** max over {@code x[i]·scale}. */
    float scaledMax(float[] x, int off, int n, float scale);

    float GELU_K = (float) (2 * Math.sqrt(2 / Math.PI));

    static float gelu(float v) {
        return v / (1f + exp((v * v * 0.044715f * v + v) * -GELU_K)); // the vector kernel's operation order
    }

    static float silu(float v) {
        return v / (1f + exp(-v));
    }

    // exp in float32 from IEEE operations only, evaluated identically by the vector and scalar kernels in every JIT
    // tier (the JDK's vector EXP differs by an ulp between its intrinsic and its fallback, which made results
    // depend on warm-up). exp(x) = 2^n · e^r with n = round(x·log2 e), r = x - n·ln 2 (two-part ln 2), e^r by a
    // degree-7 Taylor polynomial (|r| <= 0.347: truncation error < 1e-8); about 1 ulp from the exact value.
    float LOG2E = 1.44269504f;
    float LN2_HI = 0.693145752f;
    float LN2_LO = 1.42860677e-6f;
    /** 1.5·2^23: adding and subtracting it rounds a float to the nearest integer (ties to even). */
    float ROUNDER = 12582912f;
    float EXP_MAX = 88.72283f;
    float EXP_MIN = -104f;

    static float exp(float x) {
        float c = Math.max(Math.min(x, EXP_MAX), EXP_MIN);
        float n = (c * LOG2E + ROUNDER) - ROUNDER;
        float r = Math.fma(-n, LN2_HI, c);
        r = Math.fma(-n, LN2_LO, r);
        float p = 1.0f / 5040;
        p = Math.fma(p, r, 1.0f / 720);
        p = Math.fma(p, r, 1.0f / 120);
        p = Math.fma(p, r, 1.0f / 24);
        p = Math.fma(p, r, 1.0f / 6);
        p = Math.fma(p, r, 0.5f);
        p = Math.fma(p, r, 1.0f);
        p = Math.fma(p, r, 1.0f);
        // 2^n in two factors so n in [-150, 128] stays within the float exponent range
        int ni = (int) n, n1 = ni / 2, n2 = ni - n1;
        float y = p * Float.intBitsToFloat((n1 + 127) << 23) * Float.intBitsToFloat((n2 + 127) << 23);
        return x > EXP_MAX ? Float.POSITIVE_INFINITY : x < EXP_MIN ? 0f : y;
    }

    private static RowKernels best() {
        if (!Boolean.getBoolean("ditj.cpu.scalar") && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            try {
                return (RowKernels) Class.forName("dev.ditj.cpu.VectorRowKernels").getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError e) {
                // fall back to scalar
            }
        }
        return new Scalar();
    }

    /** Plain loops; also the reference the vector version is tested against. */
    final class Scalar implements RowKernels {
        @Override
        public void biasActivation(float[] row, int off, int n, float[] bias, int biasOff, Activation act) {
            for (int i = 0; i < n; i++) {
                float v = bias == null ? row[off + i] : row[off + i] + bias[biasOff + i];
                row[off + i] = act == Activation.GELU_TANH ? gelu(v) : act == Activation.SILU ? silu(v) : v;
            }
        }

        @Override
        public void affineActivation(float[] src, int srcOff, float[] dst, int dstOff, int n, float mul, float add,
                                     Activation act) {
            for (int i = 0; i < n; i++) {
                float v = src[srcOff + i] * mul + add;
                dst[dstOff + i] = act == Activation.GELU_TANH ? gelu(v) : act == Activation.SILU ? silu(v) : v;
            }
        }

        @Override
        public void addScalarAndRow(float[] row, int off, int n, float add, float[] residual, int rOff) {
            for (int i = 0; i < n; i++) row[off + i] = residual == null ? row[off + i] + add : row[off + i] + add + residual[rOff + i];
        }

        @Override
        public float scaledExp(float[] x, int off, int n, float scale, float max) {
            float sum = 0;
            for (int i = 0; i < n; i++) {
                float e = exp(x[off + i] * scale - max);
                x[off + i] = e;
                sum += e;
            }
            return sum;
        }

        @Override
        public void scale(float[] x, int off, int n, float factor) {
            for (int i = 0; i < n; i++) x[off + i] *= factor;
        }

        @Override
        public float scaledMax(float[] x, int off, int n, float scale) {
            float m = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) m = Math.max(m, x[off + i] * scale);
            return m;
        }
    }
}
