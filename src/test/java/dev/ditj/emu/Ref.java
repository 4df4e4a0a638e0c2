package dev.ditj.emu;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Arrays;

/**
 * Reference arithmetic for the kernel tests, written independently of the emulator: exact values with BigDecimal and
 * rounding by searching the neighbouring floats; half and bfloat16 rounding by searching a table of every value.
 */
final class Ref {
    enum Mode { RN, RZ, RD, RU }

    private Ref() {
    }

    static BigDecimal big(double d) {
        return new BigDecimal(d);
    }

    /** The float nearest {@code exact} in {@code mode} (ties to even). */
    static float toFloat(BigDecimal exact, Mode mode) {
        BigDecimal max = big(Float.MAX_VALUE), halfUlp = big(Math.ulp(Float.MAX_VALUE)).divide(BigDecimal.valueOf(2));
        if (exact.abs().compareTo(max) > 0) {     // beyond the largest finite float
            boolean neg = exact.signum() < 0;
            boolean toInf = switch (mode) {
                case RZ -> false;
                case RU -> !neg;
                case RD -> neg;
                default -> exact.abs().compareTo(max.add(halfUlp)) >= 0;
            };
            float v = toInf ? Float.POSITIVE_INFINITY : Float.MAX_VALUE;
            return neg ? -v : v;
        }
        float lo = (float) exact.doubleValue();
        if (Float.isInfinite(lo)) lo = Math.copySign(Float.MAX_VALUE, lo);
        while (big(lo).compareTo(exact) > 0) lo = Math.nextDown(lo);
        while (Float.isFinite(Math.nextUp(lo)) && big(Math.nextUp(lo)).compareTo(exact) <= 0) lo = Math.nextUp(lo);
        // lo = largest float <= exact, hi = the next one up
        float hi = Math.nextUp(lo);
        if (big(lo).compareTo(exact) == 0) return lo;
        switch (mode) {
            case RD: return lo;
            case RU: return hi;
            case RZ: return exact.signum() >= 0 ? lo : hi;
            default: {
                int c = exact.subtract(big(lo)).compareTo(big(hi).subtract(exact));
                if (c < 0) return lo;
                if (c > 0) return hi;
                return (Float.floatToRawIntBits(lo) & 1) == 0 ? lo : hi;
            }
        }
    }

    static double toDouble(BigDecimal exact, Mode mode) {
        double lo = exact.doubleValue();
        while (big(lo).compareTo(exact) > 0) lo = Math.nextDown(lo);
        while (big(Math.nextUp(lo)).compareTo(exact) <= 0) lo = Math.nextUp(lo);
        double hi = Math.nextUp(lo);
        if (big(lo).compareTo(exact) == 0) return lo;
        switch (mode) {
            case RD: return lo;
            case RU: return hi;
            case RZ: return exact.signum() >= 0 ? lo : hi;
            default: {
                int c = exact.subtract(big(lo)).compareTo(big(hi).subtract(exact));
                if (c < 0) return lo;
                if (c > 0) return hi;
                return (Double.doubleToRawLongBits(lo) & 1) == 0 ? lo : hi;
            }
        }
    }

    static float f(double exactDouble, Mode mode) {
        return toFloat(big(exactDouble), mode);
    }

    static BigDecimal bigInt(long v, boolean unsigned) {
        BigInteger b = BigInteger.valueOf(v);
        if (unsigned && v < 0) b = b.add(BigInteger.ONE.shiftLeft(64));
        return new BigDecimal(b);
    }

    // ------------------------------------------------------------------------------------------ 16-bit floats

    private static final double[] HALF_VALUES, BF16_VALUES;
    private static final int[] HALF_BITS, BF16_BITS;

    static {
        double[][] v = new double[2][];
        int[][] b = new int[2][];
        for (int kind = 0; kind < 2; kind++) {
            double[] vals = new double[65536];
            int[] bits = new int[65536];
            int n = 0;
            for (int h = 0; h < 65536; h++) {
                double d = kind == 0 ? decodeHalf(h) : Float.intBitsToFloat(h << 16);
                if (Double.isNaN(d) || Double.isInfinite(d) || (d == 0 && h != 0)) continue;  // keep +0 only
                vals[n] = d;
                bits[n++] = h;
            }
            Integer[] idx = new Integer[n];
            for (int i = 0; i < n; i++) idx[i] = i;
            double[] vv = vals;
            Arrays.sort(idx, (x, y) -> Double.compare(vv[x], vv[y]));
            v[kind] = new double[n];
            b[kind] = new int[n];
            for (int i = 0; i < n; i++) {
                v[kind][i] = vals[idx[i]];
                b[kind][i] = bits[idx[i]];
            }
        }
        HALF_VALUES = v[0];
        HALF_BITS = b[0];
        BF16_VALUES = v[1];
        BF16_BITS = b[1];
    }

    /** binary16 decoding straight from the definition. */
    static double decodeHalf(int h) {
        int s = h >> 15 & 1, e = h >> 10 & 31, m = h & 1023;
        double v = e == 31 ? (m == 0 ? Double.POSITIVE_INFINITY : Double.NaN) : e == 0 ? m * Math.pow(2, -24) : (1 + m / 1024.0) * Math.pow(2, e - 15);
        return s == 1 ? -v : v;
    }

    static int half(double x, Mode mode) {
        return round16(x, mode, HALF_VALUES, HALF_BITS, 0x7c00);
    }

    static int bf16(double x, Mode mode) {
        return round16(x, mode, BF16_VALUES, BF16_BITS, 0x7f80);
    }

    private static int round16(double x, Mode mode, double[] vals, int[] bits, int inf) {
        if (Double.isNaN(x)) return 0x7fff;
        int sign = x < 0 || (x == 0 && 1 / x < 0) ? 0x8000 : 0;
        double a = Math.abs(x);
        if (Double.isInfinite(a)) return sign | inf;
        Mode m = mode;
        if (sign != 0 && mode == Mode.RD) m = Mode.RU;
        else if (sign != 0 && mode == Mode.RU) m = Mode.RD;
        if (m == Mode.RZ) m = Mode.RD;
        int n = vals.length;
        double max = vals[n - 1];
        int i = Arrays.binarySearch(vals, a);
        if (i >= 0) return sign | bits[i];
        int lo = -i - 2;                       // vals[lo] < a < vals[lo + 1]
        if (lo == n - 1) {
            double next = max + (max - vals[n - 2]);   // the value that infinity replaces
            return switch (m) {
                case RD -> sign | bits[n - 1];
                case RU -> sign | inf;
                default -> a >= (max + next) / 2 ? sign | inf : sign | bits[n - 1];
            };
        }
        double l = vals[lo], h = vals[lo + 1];
        return switch (m) {
            case RD -> sign | bits[lo];
            case RU -> sign | bits[lo + 1];
            default -> {
                BigDecimal dl = big(a).subtract(big(l)), dh = big(h).subtract(big(a));
                int c = dl.compareTo(dh);
                yield sign | (c < 0 ? bits[lo] : c > 0 ? bits[lo + 1] : (bits[lo] & 1) == 0 ? bits[lo] : bits[lo + 1]);
            }
        };
    }
}
