package dev.ditj.emu;

/**
 * Floating-point instructions: fp32 and fp64 arithmetic with rounding modes, .ftz and .sat, the approximate
 * special-function instructions, f16/bf16 (scalar and x2) arithmetic, and cvt in all directions.
 *
 * <p>Approximate instructions (ex2, lg2, rcp.approx, rsqrt, sqrt.approx, sin, cos, tanh, div.approx/full) are
 * computed in double precision and rounded once, so they are at least as accurate as the hardware, whose documented
 * maximum errors are: ex2 2 ulp, lg2 2^-22.6 absolute near 1 (relative elsewhere), rcp/sqrt.approx 1 ulp, rsqrt
 * 2 ulp, sin/cos 2^-20.9 absolute in [-pi, pi], tanh 2^-10.987 relative, div.full 2 ulp. Kernel tests on a GPU
 * therefore compare these with a tolerance.
 */
final class FloatOps {
    private FloatOps() {
    }

    static double value(long raw, int kind) {
        return switch (kind) {
            case AluInsns.K_F32 -> Float.intBitsToFloat((int) raw);
            case AluInsns.K_F64 -> Double.longBitsToDouble(raw);
            case AluInsns.K_F16 -> Fp.halfToFloat((int) raw & 0xffff);
            case AluInsns.K_BF16 -> Fp.bf16ToFloat((int) raw & 0xffff);
            default -> throw new IllegalArgumentException();
        };
    }

    static double ftz(double x) {
        return Math.abs(x) < Float.MIN_NORMAL ? Math.copySign(0.0, x) : x;
    }

    static long bits(float f) {
        return Float.floatToRawIntBits(f);
    }

    static float f(long raw) {
        return Float.intBitsToFloat((int) raw);
    }

    static final int ADD = 0, SUB = 1, MUL = 2, FMA = 3, DIV = 4, DIV_APPROX = 5, MIN = 6, MAX = 7, ABS = 8, NEG = 9,
            SQRT = 10, SQRT_APPROX = 11, RSQRT = 12, RCP = 13, RCP_APPROX = 14, EX2 = 15, LG2 = 16, SIN = 17, COS = 18,
            TANH = 19, COPYSIGN = 20, MIN_NAN = 21, MAX_NAN = 22, TESTP_FINITE = 23, TESTP_INFINITE = 24,
            TESTP_NUMBER = 25, TESTP_NOTANUMBER = 26, TESTP_NORMAL = 27, TESTP_SUBNORMAL = 28;

    /** fp32 instruction. */
    static final class F32 extends Insn {
        int op, mode, d, a, b = -1, c = -1;
        boolean ftz, sat;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            int op = this.op, d = this.d, a = this.a, b = this.b, c = this.c;
            if (!ftz && !sat && mode == Fp.RN) {   // the common forms get their own loops
                switch (op) {
                    case ADD:
                        for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = bits(f(r[a + l]) + f(r[b + l]));
                        return;
                    case MUL:
                        for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = bits(f(r[a + l]) * f(r[b + l]));
                        return;
                    case FMA:
                        for (int l = 0; l < 32; l++) {
                            if ((m >>> l & 1) != 0) r[d + l] = bits(Math.fma(f(r[a + l]), f(r[b + l]), f(r[c + l])));
                        }
                        return;
                    default:
                }
            }
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                float x = f(r[a + l]), y = b >= 0 ? f(r[b + l]) : 0, z = c >= 0 ? f(r[c + l]) : 0;
                if (ftz) {
                    x = Fp.ftz(x);
                    y = Fp.ftz(y);
                    z = Fp.ftz(z);
                }
                if (op >= TESTP_FINITE) {
                    r[d + l] = testp(op, x) ? 1 : 0;
                    continue;
                }
                float v = apply(op, mode, x, y, z);
                if (ftz) v = Fp.ftz(v);
                if (sat) v = Fp.sat(v);
                r[d + l] = bits(v);
            }
        }

        static boolean testp(int op, float x) {
            return switch (op) {
                case TESTP_FINITE -> Float.isFinite(x);
                case TESTP_INFINITE -> Float.isInfinite(x);
                case TESTP_NUMBER -> !Float.isNaN(x);
                case TESTP_NOTANUMBER -> Float.isNaN(x);
                case TESTP_NORMAL -> Float.isFinite(x) && Math.abs(x) >= Float.MIN_NORMAL;
                default -> x != 0 && Math.abs(x) < Float.MIN_NORMAL;
            };
        }

        static float apply(int op, int mode, float x, float y, float z) {
            switch (op) {
                case ADD: return Fp.add(x, y, mode);
                case SUB: return Fp.add(x, -y, mode);
                case MUL: return Fp.mul(x, y, mode);
                case FMA: return Fp.fma(x, y, z, mode);
                case DIV: return Fp.div(x, y, mode);
                case DIV_APPROX: return (float) ((double) x / y);
                case MIN: return Fp.min(x, y);
                case MAX: return Fp.max(x, y);
                case MIN_NAN: return Float.isNaN(x) || Float.isNaN(y) ? Float.NaN : Math.min(x, y);
                case MAX_NAN: return Float.isNaN(x) || Float.isNaN(y) ? Float.NaN : Math.max(x, y);
                case ABS: return Math.abs(x);
                case NEG: return -x;
                case SQRT: return Fp.sqrt(x, mode);
                case SQRT_APPROX: return (float) Math.sqrt(x);
                case RSQRT: return (float) (1 / Math.sqrt(x));
                case RCP: return Fp.div(1f, x, mode);
                case RCP_APPROX: return (float) (1.0 / x);
                case EX2: return (float) Math.pow(2, x);
                case LG2: return (float) (Math.log(x) / Math.log(2));
                case SIN: return (float) Math.sin(x);
                case COS: return (float) Math.cos(x);
                case TANH: return (float) Math.tanh(x);
                case COPYSIGN: return Math.copySign(y, x);    // copysign d, a, b: b's magnitude, a's sign
                default: throw new IllegalStateException("f32 op " + op);
            }
        }
    }

    /** fp64 instruction. */
    static final class F64 extends Insn {
        int op, mode, d, a, b = -1, c = -1;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                double x = Double.longBitsToDouble(r[a + l]);
                double y = b >= 0 ? Double.longBitsToDouble(r[b + l]) : 0;
                double z = c >= 0 ? Double.longBitsToDouble(r[c + l]) : 0;
                if (op >= TESTP_FINITE) {
                    r[d + l] = testp(op, x) ? 1 : 0;
                    continue;
                }
                r[d + l] = Double.doubleToRawLongBits(apply(op, mode, x, y, z));
            }
        }

        static boolean testp(int op, double x) {
            return switch (op) {
                case TESTP_FINITE -> Double.isFinite(x);
                case TESTP_INFINITE -> Double.isInfinite(x);
                case TESTP_NUMBER -> !Double.isNaN(x);
                case TESTP_NOTANUMBER -> Double.isNaN(x);
                case TESTP_NORMAL -> Double.isFinite(x) && Math.abs(x) >= Double.MIN_NORMAL;
                default -> x != 0 && Math.abs(x) < Double.MIN_NORMAL;
            };
        }

        static double apply(int op, int mode, double x, double y, double z) {
            switch (op) {
                case ADD: return Fp.add(x, y, mode);
                case SUB: return Fp.add(x, -y, mode);
                case MUL: return Fp.mul(x, y, mode);
                case FMA: return Fp.fma(x, y, z, mode);
                case DIV: return Fp.div(x, y, mode);
                case MIN: return Fp.min(x, y);
                case MAX: return Fp.max(x, y);
                case ABS: return Math.abs(x);
                case NEG: return -x;
                case SQRT: return Fp.sqrt(x, mode);
                case RSQRT: return 1 / Math.sqrt(x);
                case RCP: return Fp.div(1.0, x, mode);
                case RCP_APPROX: return 1 / x;
                case COPYSIGN: return Math.copySign(y, x);
                default: throw new IllegalStateException("f64 op " + op);
            }
        }
    }

    /** f16 / bf16 arithmetic, scalar or x2: computed in float (exact for these widths) and rounded to nearest even. */
    static final class Half extends Insn {
        int op, d, a, b = -1, c = -1;
        boolean bf16, x2, ftz, sat;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                long x = r[a + l], y = b >= 0 ? r[b + l] : 0, z = c >= 0 ? r[c + l] : 0;
                long lo = one(x & 0xffff, y & 0xffff, z & 0xffff);
                if (x2) lo |= one(x >>> 16 & 0xffff, y >>> 16 & 0xffff, z >>> 16 & 0xffff) << 16;
                r[d + l] = lo;
            }
        }

        private long one(long x, long y, long z) {
            float a = dec(x), b = dec(y), c = dec(z);
            if (op == NEG) return x ^ 0x8000;
            if (op == ABS) return x & 0x7fff;
            float v;
            if (op == FMA) {
                v = (float) Math.fma((double) a, b, c);   // product exact in double; one more rounding below
            } else {
                v = F32.apply(op, Fp.RN, a, b, 0);
            }
            if (sat) v = Fp.sat(v);
            int h = bf16 ? Fp.floatToBf16(v, Fp.RN) : Fp.floatToHalf(v, Fp.RN);
            if (ftz && !bf16 && (h & 0x7c00) == 0) h &= 0x8000;
            return h;
        }

        private float dec(long h) {
            float f = bf16 ? Fp.bf16ToFloat((int) h) : Fp.halfToFloat((int) h);
            return ftz && !bf16 ? Fp.ftz(f) : f;
        }
    }

    // ------------------------------------------------------------------------------------------ cvt

    /** Value types of cvt. */
    static final int T_INT = 0, T_F32 = 1, T_F64 = 2, T_F16 = 3, T_BF16 = 4;

    static final class Cvt extends Insn {
        int d, a, b = -1;
        int dType, dBits, aType, aBits;
        boolean dSigned, aSigned, sat, ftz, intRound, pack2;
        int mode;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                if (pack2) {   // cvt.rn.f16x2.f32 d, a, b: a to the upper half, b to the lower
                    long hi = toHalfish(f(r[a + l])), lo = toHalfish(f(r[b + l]));
                    r[d + l] = (hi << 16) | lo;
                } else {
                    r[d + l] = convert(r[a + l]);
                }
            }
        }

        private long toHalfish(float v) {
            if (sat) v = Fp.sat(v);
            return dType == T_BF16 ? Fp.floatToBf16(v, mode) : Fp.floatToHalf(v, mode);
        }

        long convert(long raw) {
            if (aType == T_INT) {
                long v = AluInsns.ext(raw, aBits, aSigned);
                switch (dType) {
                    case T_INT: {
                        if (sat) {
                            long lo = dSigned ? -(1L << (dBits - 1)) : 0, hi = dSigned ? (1L << (dBits - 1)) - 1 : dBits == 64 ? -1 : (1L << dBits) - 1;
                            if (dBits == 64) {
                                if (!dSigned && aSigned && v < 0) v = 0;
                                else if (dSigned && !aSigned && aBits == 64 && v < 0) v = Long.MAX_VALUE;
                            } else if (!aSigned && aBits == 64 && v < 0) {
                                v = hi;
                            } else {
                                v = Math.max(lo, Math.min(hi, v));
                            }
                        }
                        return AluInsns.ext(v, dBits, dSigned);
                    }
                    case T_F32: {
                        float f = Fp.intToFloat(v, !aSigned && aBits == 64, mode);
                        if (sat) f = Fp.sat(f);
                        return bits(f);
                    }
                    case T_F64:
                        return Double.doubleToRawLongBits(Fp.intToDouble(v, !aSigned && aBits == 64, mode));
                    case T_F16:
                        return Fp.floatToHalf(Fp.intToFloat(v, !aSigned && aBits == 64, mode), mode);
                    default:
                        return Fp.floatToBf16(Fp.intToFloat(v, !aSigned && aBits == 64, mode), mode);
                }
            }
            double x = switch (aType) {
                case T_F32 -> f(raw);
                case T_F64 -> Double.longBitsToDouble(raw);
                case T_F16 -> Fp.halfToFloat((int) raw & 0xffff);
                default -> Fp.bf16ToFloat((int) raw & 0xffff);
            };
            if (ftz && aType == T_F32) x = ftz(x);
            switch (dType) {
                case T_INT:
                    return AluInsns.ext(Fp.toInt(x, mode, dBits, dSigned), dBits, dSigned);
                case T_F32: {
                    float v;
                    if (intRound) v = (float) Fp.roundInt(x, mode);
                    else v = aType == T_F64 ? Fp.doubleToFloat(x, mode) : (float) x;
                    if (ftz) v = Fp.ftz(v);
                    if (sat) v = Fp.sat(v);
                    return bits(v);
                }
                case T_F64: {
                    double v = intRound ? Fp.roundInt(x, mode) : x;
                    if (sat) v = Fp.sat(v);
                    return Double.doubleToRawLongBits(v);
                }
                case T_F16: {
                    float v = aType == T_F64 ? Fp.doubleToFloat(x, mode) : (float) x;
                    if (intRound) v = (float) Fp.roundInt(v, mode);
                    if (sat) v = Fp.sat(v);
                    return Fp.floatToHalf(v, intRound ? Fp.RN : mode);
                }
                default: {
                    float v = aType == T_F64 ? Fp.doubleToFloat(x, mode) : (float) x;
                    if (intRound) v = (float) Fp.roundInt(v, mode);
                    if (sat) v = Fp.sat(v);
                    return Fp.floatToBf16(v, intRound ? Fp.RN : mode);
                }
            }
        }
    }
}
