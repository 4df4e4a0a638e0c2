package dev.ditj.cpu;

import dev.ditj.tensor.Ops.Activation;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The row kernels: exp accurate to 1 ulp, and vector and scalar versions bit-identical (results do not depend on
 *  vector width, tail position or JIT tier). */
class RowKernelsTest {
    @Test
    void expIsWithinOneUlp() {
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 200_000; i++) {
            float x = (float) (r.nextDouble() * 191 - 103);
            double exact = Math.exp(x);
            float e = RowKernels.exp(x);
            if (exact >= Float.MIN_NORMAL) {
                assertTrue(Math.abs(e - exact) <= Math.ulp((float) exact), "exp(" + x + ") = " + e + ", exact " + exact);
            }
        }
        assertEquals(Float.POSITIVE_INFINITY, RowKernels.exp(89f));
        assertEquals(0f, RowKernels.exp(-120f));
        assertEquals(1f, RowKernels.exp(0f));
    }

    @Test
    void vectorAndScalarKernelsAgreeBitForBit() {
        RowKernels scalar = new RowKernels.Scalar();
        RowKernels best = RowKernels.BEST;
        SplittableRandom r = new SplittableRandom(2);
        for (Activation act : Activation.values()) {
            float[] a = new float[1037], b = new float[1037];
            for (int i = 0; i < a.length; i++) a[i] = b[i] = (float) (r.nextGaussian() * 6);
            float[] bias = new float[1037];
            for (int i = 0; i < bias.length; i++) bias[i] = (float) r.nextGaussian();
            scalar.biasActivation(a, 3, 1030, bias, 5, act);
            best.biasActivation(b, 3, 1030, bias, 5, act);
            assertArrayEquals(a, b, 0f, act.toString());
        }
        float[] a = new float[777], b = new float[777];
        for (int i = 0; i < a.length; i++) a[i] = b[i] = (float) (r.nextGaussian() * 10);
        float sa = scalar.scaledExp(a, 0, 777, 0.3f, 5f), sb = best.scaledExp(b, 0, 777, 0.3f, 5f);
        assertArrayEquals(a, b, 0f, "scaledExp values");
        assertEquals(sa, sb, Math.abs(sa) * 1e-6, "sums (summation order may differ)");
    }
}
