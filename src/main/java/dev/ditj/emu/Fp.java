package dev.ditj.emu;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Floating-point semantics of the PTX ISA that Java does not give directly: directed rounding modes (.rz/.rm/.rp),
 * flush-to-zero, saturation, half precision (f16, bf16) and the integer conversions with their clamping.
 *
 * <p>Directed rounding works from an exact two-term result {@code hi + lo} (double-double, exact for sums, products
 * and fused multiply-adds of floats): the round-to-nearest float of {@code hi} is moved one ulp where the exact
 * value lies on the other side of it.
 */
final class Fp {
    static final int RN = 0, RZ = 1, RM = 2, RP = 3;

    private Fp() {
    }

    // ------------------------------------------------------------------------------------------ f32 rounding

    /** Rounds the exact value {@code hi + lo} (|lo| far below ulp(hi) as from TwoSum) to float in {@code mode}. */
    static float round(double hi, double lo, int mode) {
        float f = (float) hi;
        if (mode == RN) {
            // (float) hi can only be wrong when hi sits exactly halfway between two floats and lo breaks the tie.
            double d = hi - f;
            if (d != 0 && lo != 0 && Math.abs(d) == Math.ulp(f) / 2) {
                if ((d > 0) == (lo > 0)) f = d > 0 ? Math.nextUp(f) : Math.nextDown(f);
            }
            return f;
        }
        double resid = hi - f;          // exact; the sign says on which side of f the exact value lies
        if (resid == 0) resid = lo;
        return step(f, resid, mode);
    }

    /** Moves the round-to-nearest result {@code f} one ulp when the exact value (f + resid) lies the other way. */
    static float step(float f, double resid, int mode) {
        if (resid == 0 || Double.isNaN(resid) || Float.isNaN(f)) return f;
        switch (mode) {
            case RZ:
                if (f > 0 && resid < 0) return Math.nextDown(f);
                if (f < 0 && resid > 0) return Math.nextUp(f);
                return f;
            case RM:
                return resid < 0 ? Math.nextDown(f) : f;
            case RP:
                return resid > 0 ? Math.nextUp(f) : f;
            default:
                return f;
        }
    }

    static double step(double f, double resid, int mode) {
        if (resid == 0 || Double.isNaN(resid) || Double.isNaN(f)) return f;
        switch (mode) {
            case RZ:
                if (f > 0 && resid < 0) return Math.nextDown(f);
                if (f < 0 && resid > 0) return Math.nextUp(f);
                return f;
            case RM:
                return resid < 0 ? Math.nextDown(f) : f;
            case RP:
                return resid > 0 ? Math.nextUp(f) : f;
            default:
                return f;
        }
    }

    /** The error of a + b in double (TwoSum): s + err == a + b exactly. */
    static double twoSumErr(double a, double b, double s) {
        double bb = s - a;
        return (a - (s - bb)) + (b - bb);
    }

    static float add(float a, float b, int mode) {
        if (mode == RN) return a + b;
        double s = (double) a + b;
        if (Double.isInfinite(s) || Double.isNaN(s)) return (float) s;
        return round(s, twoSumErr(a, b, s), mode);
    }

    static float mul(float a, float b, int mode) {
        if (mode == RN) return a * b;
        return round((double) a * b, 0, mode);   // the product of two floats is exact in double
    }

    static float fma(float a, float b, float c, int mode) {
        if (mode == RN) return Math.fma(a, b, c);
        double p = (double) a * b;
        double s = p + c;
        if (Double.isInfinite(s) || Double.isNaN(s)) return (float) s;
        return round(s, twoSumErr(p, c, s), mode);
    }

    static float div(float a, float b, int mode) {
        if (mode == RN) return a / b;
        double q = (double) a / b;
        if (Double.isInfinite(q) || Double.isNaN(q) || q == 0) return (float) q;
        double r = Math.fma(-q, b, a);         // exact remainder: a/b - q has the sign of r/b
        return round(q, Math.signum(r) * Math.signum(b) * Double.MIN_VALUE, mode);
    }

    static float sqrt(float a, int mode) {
        double s = Math.sqrt(a);
        if (mode == RN) return (float) s;     // double sqrt rounded to float is correctly rounded
        if (Double.isNaN(s) || Double.isInfinite(s) || s == 0) return (float) s;
        double r = Math.fma(-s, s, a);
        return round(s, Math.signum(r) * Double.MIN_VALUE, mode);
    }

    // ------------------------------------------------------------------------------------------ f64 rounding

    static double add(double a, double b, int mode) {
        double s = a + b;
        if (mode == RN || Double.isInfinite(s) || Double.isNaN(s)) return s;
        return step(s, twoSumErr(a, b, s), mode);
    }

    static double mul(double a, double b, int mode) {
        double p = a * b;
        if (mode == RN || Double.isInfinite(p) || Double.isNaN(p)) return p;
        return step(p, Math.fma(a, b, -p), mode);
    }

    static double div(double a, double b, int mode) {
        double q = a / b;
        if (mode == RN || Double.isInfinite(q) || Double.isNaN(q) || q == 0) return q;
        return step(q, Math.signum(Math.fma(-q, b, a)) * Math.signum(b), mode);
    }

    static double sqrt(double a, int mode) {
        double s = Math.sqrt(a);
        if (mode == RN || Double.isInfinite(s) || Double.isNaN(s) || s == 0) return s;
        return step(s, Math.fma(-s, s, a), mode);
    }

    static double fma(double a, double b, double c, int mode) {
        double r = Math.fma(a, b, c);
        if (mode == RN || Double.isInfinite(r) || Double.isNaN(r)
                || Double.isInfinite(a) || Double.isInfinite(b) || Double.isInfinite(c)) return r;
        // Rare (directed-rounding double fma): the residual's sign from exact decimal arithmetic.
        BigDecimal exact = new BigDecimal(a).multiply(new BigDecimal(b)).add(new BigDecimal(c));
        return step(r, exact.compareTo(new BigDecimal(r)), mode);
    }

    /** Rounds a double to float in {@code mode} (cvt.rX.f32.f64). */
    static float toFloat(double d, int mode) {
        return round(d, 0, mode);
    }

    // ------------------------------------------------------------------------------------------ ftz / sat

    static float ftz(float f) {
        return Math.abs(f) < Float.MIN_NORMAL ? Math.copySign(0f, f) : f;
    }

    /** .sat: clamp to [0, 1], NaN to +0. */
    static float sat(float f) {
        return f > 0 ? (f < 1 ? f : 1f) : 0f;
    }

    static double sat(double f) {
        return f > 0 ? (f < 1 ? f : 1.0) : 0.0;
    }

    /** min/max as PTX defines them: a NaN operand yields the other one; -0 orders below +0. */
    static float min(float a, float b) {
        if (Float.isNaN(a)) return Float.isNaN(b) ? Float.NaN : b;
        if (Float.isNaN(b)) return a;
        return Math.min(a, b);
    }

    static float max(float a, float b) {
        if (Float.isNaN(a)) return Float.isNaN(b) ? Float.NaN : b;
        if (Float.isNaN(b)) return a;
        return Math.max(a, b);
    }

    static double min(double a, double b) {
        if (Double.isNaN(a)) return b;
        if (Double.isNaN(b)) return a;
        return Math.min(a, b);
    }

    static double max(double a, double b) {
        if (Double.isNaN(a)) return b;
        if (Double.isNaN(b)) return a;
        return Math.max(a, b);
    }

    // ------------------------------------------------------------------------------------------ half precision

    /** IEEE binary16 bits to float (exact). */
    static float halfToFloat(int h) {
        int s = (h >>> 15) & 1, e = (h >>> 10) & 0x1f, m = h & 0x3ff;
        float v;
        if (e == 0x1f) v = m == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        else if (e == 0) v = m * 0x1p-24f;
        else v = Float.intBitsToFloat(((e + 112) << 23) | (m << 13));
        return s != 0 ? -v : v;
    }

    /** Float to binary16 bits in {@code mode}; overflow gives inf or the largest finite value as the mode says. */
    static int floatToHalf(float f, int mode) {
        if (Float.isNaN(f)) return 0x7fff;
        int sign = f < 0 || (f == 0 && 1 / f < 0) ? 0x8000 : 0;
        double a = Math.abs((double) f);
        if (Double.isInfinite(a)) return sign | 0x7c00;
        double q = a >= 0x1p-14 ? Math.scalb(1.0, Math.getExponent(a) - 10) : 0x1p-24;
        double n = a / q;                                  // exact: scaling by a power of two
        boolean neg = sign != 0;
        double r = switch (mode) {
            case RZ -> Math.floor(n);
            case RM -> neg ? Math.ceil(n) : Math.floor(n);
            case RP -> neg ? Math.floor(n) : Math.ceil(n);
            default -> Math.rint(n);
        };
        double v = r * q;
        if (v > 65504) {
            boolean toInf = mode == RN || (mode == RP && !neg) || (mode == RM && neg);
            return sign | (toInf ? 0x7c00 : 0x7bff);
        }
        if (v < 0x1p-14) return sign | (int) (v / 0x1p-24);
        int e = Math.getExponent(v);
        int m = (int) (v / Math.scalb(1.0, e - 10)) - 1024;
        return sign | ((e + 15) << 10) | m;
    }

    static float bf16ToFloat(int b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }

    static int floatToBf16(float f, int mode) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return 0x7fff;
        boolean neg = bits < 0;
        int lower = bits & 0xffff;
        int t = bits >>> 16;
        switch (mode) {
            case RN:
                return (bits + 0x7fff + (t & 1)) >>> 16;
            case RZ:
                return t;
            case RM:
                return neg && lower != 0 ? t + 1 : t;   // magnitude up for negatives
            case RP:
                return !neg && lower != 0 && (t & 0x7fff) != 0x7f80 ? t + 1 : t;
            default:
                throw new IllegalArgumentException();
        }
    }

    // ------------------------------------------------------------------------------------------ float -> integer

    /** Rounds to an integral value in {@code mode} (the .rni/.rzi/.rmi/.rpi of cvt). */
    static double roundInt(double d, int mode) {
        return switch (mode) {
            case RZ -> d < 0 ? Math.ceil(d) : Math.floor(d);
            case RM -> Math.floor(d);
            case RP -> Math.ceil(d);
            default -> Math.rint(d);
        };
    }

    /** Float to integer of {@code bits} width, signed or not: rounded, clamped to the range, NaN to 0 (as PTX). */
    static long toInt(double d, int mode, int bits, boolean signed) {
        if (Double.isNaN(d)) return 0;
        double r = roundInt(d, mode);
        if (bits == 64) {
            if (signed) return (long) r;                              // Java's cast clamps like PTX
            if (r <= 0) return 0;
            if (r >= 0x1p64) return -1L;
            return r >= 0x1p63 ? (long) (r - 0x1p63) ^ Long.MIN_VALUE : (long) r;
        }
        long lo = signed ? -(1L << (bits - 1)) : 0, hi = signed ? (1L << (bits - 1)) - 1 : (1L << bits) - 1;
        if (r < lo) return lo;
        if (r > hi) return hi;
        return (long) r;
    }

    /** Integer (signed or unsigned 64-bit pattern) to float in {@code mode}. */
    static float intToFloat(long v, boolean unsigned, int mode) {
        if (!unsigned || v >= 0) {
            float f = (float) v;
            if (mode == RN || Math.abs(v) < (1L << 53)) return mode == RN ? f : round((double) v, 0, mode);
            return step(f, cmp(BigInteger.valueOf(v), f), mode);
        }
        BigInteger u = BigInteger.valueOf(v).add(BigInteger.ONE.shiftLeft(64));
        float f = new BigDecimal(u).round(new MathContext(24, RoundingMode.HALF_EVEN)).floatValue();
        return mode == RN ? f : step(f, cmp(u, f), mode);
    }

    static double intToDouble(long v, boolean unsigned, int mode) {
        BigInteger u = BigInteger.valueOf(v);
        if (unsigned && v < 0) u = u.add(BigInteger.ONE.shiftLeft(64));
        else if (Math.abs(v) < (1L << 53)) return v;
        double d = new BigDecimal(u).round(new MathContext(53, RoundingMode.HALF_EVEN)).doubleValue();
        return mode == RN ? d : step(d, new BigDecimal(u).compareTo(new BigDecimal(d)), mode);
    }

    private static int cmp(BigInteger exact, float f) {
        return new BigDecimal(exact).compareTo(new BigDecimal(f));
    }

    /** Double to float in a directed mode with the exact residual. */
    static float doubleToFloat(double d, int mode) {
        if (mode == RN) return (float) d;
        float f = (float) d;
        if (Float.isInfinite(f) && !Double.isInfinite(d)) return step(f, -Math.signum(f), mode);
        return step(f, d - f, mode);
    }
}
