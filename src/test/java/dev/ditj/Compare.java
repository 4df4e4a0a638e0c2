package dev.ditj;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Numerical comparisons for tests: relative L2 error against a reference. */
public final class Compare {
    private Compare() {
    }

    /** ||actual - expected||₂ / ||expected||₂, in float64. */
    public static double relL2(float[] actual, float[] expected) {
        assertEquals(expected.length, actual.length, "array lengths");
        double num = 0, den = 0;
        for (int i = 0; i < actual.length; i++) {
            double d = (double) actual[i] - expected[i];
            num += d * d;
            den += (double) expected[i] * expected[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-300));
    }

    /** Fails when the relative L2 error exceeds {@code tolerance} (NaN/inf in actual always fail). */
    public static double assertRelL2(float[] actual, float[] expected, double tolerance, String what) {
        for (int i = 0; i < actual.length; i++) {
            if (!Float.isFinite(actual[i])) fail(what + ": non-finite value " + actual[i] + " at " + i);
        }
        double e = relL2(actual, expected);
        if (!(e <= tolerance)) fail(String.format("%s: relative L2 error %.3g > %.1g", what, e, tolerance));
        System.out.printf("%s: relative L2 error %.3g (tolerance %.1g)%n", what, e, tolerance);
        return e;
    }

    /** Bytes equal, except at most {@code maxFraction} of them off by exactly one. */
    public static void assertPixels(byte[] actual, byte[] expected, double maxFraction, String what) {
        assertEquals(expected.length, actual.length, what + ": pixel count");
        int offByOne = 0;
        for (int i = 0; i < actual.length; i++) {
            int d = Math.abs((actual[i] & 0xff) - (expected[i] & 0xff));
            if (d > 1) fail(what + ": pixel " + i + " is " + (actual[i] & 0xff) + ", expected " + (expected[i] & 0xff));
            offByOne += d;
        }
        if (offByOne > maxFraction * actual.length) {
            fail(what + ": " + offByOne + " of " + actual.length + " pixels off by one (more than " + maxFraction * 100 + " %)");
        }
    }
}
