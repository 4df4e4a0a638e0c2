package dev.ditj.emu;

/**
 * Register-to-register instructions: integer and bit operations, fp32/fp64/half arithmetic, comparisons, selects,
 * moves and conversions. Each class walks the active lanes and applies a scalar function chosen at decode time.
 */
final class AluInsns {
    private AluInsns() {
    }

    /** Sign- or zero-extends the low {@code bits} of a register value. */
    static long ext(long v, int bits, boolean signed) {
        return switch (bits) {
            case 64 -> v;
            case 32 -> signed ? (int) v : v & 0xffffffffL;
            case 16 -> signed ? (short) v : v & 0xffffL;
            case 8 -> signed ? (byte) v : v & 0xffL;
            case 1 -> v & 1;
            default -> throw new IllegalArgumentException("width " + bits);
        };
    }

    // ------------------------------------------------------------------------------------------ integer

    static final int ADD = 0, SUB = 1, MUL_LO = 2, MUL_HI = 3, MUL_WIDE = 4, MAD_LO = 5, MAD_HI = 6, MAD_WIDE = 7,
            DIV = 8, REM = 9, MIN = 10, MAX = 11, ABS = 12, NEG = 13, AND = 14, OR = 15, XOR = 16, NOT = 17,
            CNOT = 18, SHL = 19, SHR = 20, POPC = 21, CLZ = 22, BREV = 23, BFIND = 24, BFIND_SHIFT = 25, BFE = 26,
            BFI = 27, PRMT = 28, SHF_L_WRAP = 29, SHF_L_CLAMP = 30, SHF_R_WRAP = 31, SHF_R_CLAMP = 32, LOP3 = 33,
            SAD = 34, MUL24_LO = 35, MAD24_LO = 36, ADD_SAT = 37, SUB_SAT = 38;

    /** add/sub/mad with carry-out (.cc) and/or carry-in (addc/subc/madc); sub's flag is the borrow. */
    static final class Carry extends Insn {
        static final int ADD = 0, SUB = 1, MAD_LO = 2, MAD_HI = 3;
        int kind, bits, d, a, b, c = -1, cf;
        boolean carryIn, carryOut;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                long x = r[a + l], y = r[b + l], cin = carryIn ? r[cf + l] & 1 : 0;
                long res, cout;
                if (bits == 32) {
                    long ux = x & 0xffffffffL, uy = y & 0xffffffffL;
                    long wide = switch (kind) {
                        case ADD -> ux + uy + cin;
                        case SUB -> ux - uy - cin;
                        case MAD_LO -> ((ux * uy) & 0xffffffffL) + (r[c + l] & 0xffffffffL) + cin;
                        default -> ((ux * uy) >>> 32) + (r[c + l] & 0xffffffffL) + cin;
                    };
                    res = (int) wide;
                    cout = kind == SUB ? (wide < 0 ? 1 : 0) : (wide >>> 32) & 1;
                } else {
                    long addend = switch (kind) {
                        case ADD, SUB -> y;
                        case MAD_LO -> x * y;
                        default -> Math.multiplyHigh(x, y) + ((x >> 63) & y) + ((y >> 63) & x); // unsigned high word
                    };
                    if (kind == MAD_LO || kind == MAD_HI) {
                        long base = addend, z = r[c + l];
                        long s1 = base + z;
                        long c1 = Long.compareUnsigned(s1, base) < 0 ? 1 : 0;
                        res = s1 + cin;
                        cout = c1 | (Long.compareUnsigned(res, s1) < 0 ? 1 : 0);
                    } else if (kind == ADD) {
                        long s1 = x + y;
                        long c1 = Long.compareUnsigned(s1, x) < 0 ? 1 : 0;
                        res = s1 + cin;
                        cout = c1 | (Long.compareUnsigned(res, s1) < 0 ? 1 : 0);
                    } else {
                        long s1 = x - y;
                        long b1 = Long.compareUnsigned(x, y) < 0 ? 1 : 0;
                        res = s1 - cin;
                        cout = b1 | (Long.compareUnsigned(s1, cin) < 0 ? 1 : 0);
                    }
                }
                r[d + l] = res;
                if (carryOut) r[cf + l] = cout;
            }
        }
    }

    static final class IntOp extends Insn {
        int op, bits, d, a = -1, b = -1, c = -1, e = -1;
        boolean signed;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            int op = this.op, bits = this.bits, d = this.d, a = this.a, b = this.b, c = this.c;
            boolean s = signed;
            if (bits == 32 && fast32(r, m, op, d, a, b, c, s)) return;      // the common forms get their own loops
            if (bits == 64 && fast64(r, m, op, d, a, b, c, s)) return;
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                long x = r[a + l], y = b >= 0 ? r[b + l] : 0, z = c >= 0 ? r[c + l] : 0;
                r[d + l] = op == BFI ? bfi(x, y, z, r[e + l], bits) : apply(op, bits, s, x, y, z);
            }
        }

        private static boolean fast32(long[] r, int m, int op, int d, int a, int b, int c, boolean s) {
            switch (op) {
                case ADD -> { for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = (int) r[a + l] + (int) r[b + l]; }
                case SUB -> { for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = (int) r[a + l] - (int) r[b + l]; }
                case MUL_LO -> { for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = (int) r[a + l] * (int) r[b + l]; }
                case MAD_LO -> { for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = (int) r[a + l] * (int) r[b + l] + (int) r[c + l]; }
                case AND -> { for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = (int) (r[a + l] & r[b + l]); }
                case OR -> { for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = (int) (r[a + l] | r[b + l]); }
                case XOR -> { for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = (int) (r[a + l] ^ r[b + l]); }
                case MUL_WIDE -> {
                    if (s) for (int l = 0; l < 32; l++) { if ((m >>> l & 1) != 0) r[d + l] = (long) (int) r[a + l] * (int) r[b + l]; }
                    else for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = (r[a + l] & 0xffffffffL) * (r[b + l] & 0xffffffffL);
                }
                case SHL, SHR -> {
                    for (int l = 0; l < 32; l++) {
                        if ((m >>> l & 1) == 0) continue;
                        long n = r[b + l] & 0xffffffffL;
                        int x = (int) r[a + l];
                        r[d + l] = n >= 32 ? (op == SHR && s && x < 0 ? -1 : 0) : op == SHL ? x << n : s ? x >> n : x >>> n;
                    }
                }
                default -> {
                    return false;
                }
            }
            return true;
        }

        private static boolean fast64(long[] r, int m, int op, int d, int a, int b, int c, boolean s) {
            switch (op) {
                case ADD -> { for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = r[a + l] + r[b + l]; }
                case SUB -> { for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = r[a + l] - r[b + l]; }
                case MUL_LO -> { for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = r[a + l] * r[b + l]; }
                case AND -> { for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = r[a + l] & r[b + l]; }
                case OR -> { for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = r[a + l] | r[b + l]; }
                case XOR -> { for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = r[a + l] ^ r[b + l]; }
                case SHL, SHR -> {
                    for (int l = 0; l < 32; l++) {
                        if ((m >>> l & 1) == 0) continue;
                        long n = r[b + l] & 0xffffffffL, x = r[a + l];
                        r[d + l] = n >= 64 ? (op == SHR && s && x < 0 ? -1 : 0) : op == SHL ? x << n : s ? x >> n : x >>> n;
                    }
                }
                default -> {
                    return false;
                }
            }
            return true;
        }

        static long apply(int op, int bits, boolean s, long ra, long rb, long rc) {
            long x = ext(ra, bits, s), y = ext(rb, bits, s);
            switch (op) {
                case ADD: return norm(x + y, bits);
                case SUB: return norm(x - y, bits);
                case ADD_SAT: return Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, x + y));
                case SUB_SAT: return Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, x - y));
                case MUL_LO: return norm(x * y, bits);
                case MUL_HI: return norm(mulHi(x, y, bits, s), bits);
                case MUL_WIDE: return norm(x * y, bits * 2);
                case MAD_LO: return norm(x * y + rc, bits);
                case MAD_HI: return norm(mulHi(x, y, bits, s) + ext(rc, bits, s), bits);
                case MAD_WIDE: return norm(x * y + rc, bits * 2);
                case MUL24_LO:
                case MAD24_LO: {
                    long x24 = s ? x << 40 >> 40 : x & 0xffffff, y24 = s ? y << 40 >> 40 : y & 0xffffff;
                    return norm(x24 * y24 + (op == MAD24_LO ? rc : 0), 32);
                }
                case DIV:
                    if (y == 0) return norm(-1, bits);
                    if (bits == 64 && !s) return Long.divideUnsigned(x, y);
                    return norm(x / y, bits);
                case REM:
                    if (y == 0) return norm(x, bits);
                    if (bits == 64 && !s) return Long.remainderUnsigned(x, y);
                    return norm(x % y, bits);
                case MIN: return norm(bits == 64 && !s ? (Long.compareUnsigned(x, y) <= 0 ? x : y) : Math.min(x, y), bits);
                case MAX: return norm(bits == 64 && !s ? (Long.compareUnsigned(x, y) >= 0 ? x : y) : Math.max(x, y), bits);
                case ABS: return norm(Math.abs(x), bits);
                case NEG: return norm(-x, bits);
                case AND: return x & y;
                case OR: return x | y;
                case XOR: return x ^ y;
                case NOT: return bits == 1 ? x ^ 1 : norm(~x, bits);
                case CNOT: return x == 0 ? 1 : 0;
                case SHL: {
                    long n = rb & 0xffffffffL;
                    return n >= bits ? 0 : norm(x << n, bits);
                }
                case SHR: {
                    long n = rb & 0xffffffffL;
                    if (n >= bits) return s && x < 0 ? -1 : 0;
                    return norm(s ? x >> n : x >>> n, bits);
                }
                case POPC: return bits == 64 ? Long.bitCount(x) : Integer.bitCount((int) x);
                case CLZ: return bits == 64 ? Long.numberOfLeadingZeros(x) : Integer.numberOfLeadingZeros((int) x);
                case BREV: return bits == 64 ? Long.reverse(x) : Integer.reverse((int) x);
                case BFIND:
                case BFIND_SHIFT: {
                    long v = s && x < 0 ? ~x : x;
                    if (bits == 32) v &= 0xffffffffL;
                    if (v == 0) return 0xffffffffL;
                    int pos = 63 - Long.numberOfLeadingZeros(v);
                    return op == BFIND ? pos : bits - 1 - pos;
                }
                case BFE: return bfe(x, (int) (rb & 0xff), (int) (rc & 0xff), bits, s);
                case PRMT: return prmt((int) ra, (int) rb, (int) rc);
                case SHF_L_WRAP:
                case SHF_L_CLAMP:
                case SHF_R_WRAP:
                case SHF_R_CLAMP: {
                    long n = rc & 0xffffffffL;
                    n = op == SHF_L_WRAP || op == SHF_R_WRAP ? n & 31 : Math.min(n, 32);
                    long pair = (rb << 32) | (ra & 0xffffffffL);
                    return op <= SHF_L_CLAMP ? (int) ((pair << n) >>> 32) : (int) (pair >>> n);
                }
                case SAD: return norm(Math.abs(x - y) + ext(rc, bits, s), bits);
                default: throw new IllegalStateException("int op " + op);
            }
        }

        static long mulHi(long x, long y, int bits, boolean s) {
            if (bits == 64) {
                long h = Math.multiplyHigh(x, y);
                return s ? h : h + ((x >> 63) & y) + ((y >> 63) & x);
            }
            return (x * y) >> bits;
        }

        static long bfe(long a, int pos, int len, int bits, boolean s) {
            if (len == 0) return 0;
            int msb = bits - 1;
            long sbit = s ? (a >>> Math.min(pos + len - 1, msb)) & 1 : 0;
            long d = 0;
            for (int i = 0; i <= msb; i++) {
                long bit = i < len && pos + i <= msb ? (a >>> (pos + i)) & 1 : sbit;
                d |= bit << i;
            }
            return norm(d, bits);
        }

        static long bfi(long f, long b, long posv, long lenv, int bits) {
            int pos = (int) (posv & 0xff), len = (int) (lenv & 0xff);
            long d = b;
            for (int i = 0; i < len && pos + i < bits; i++) {
                long bit = (f >>> i) & 1;
                d = (d & ~(1L << (pos + i))) | (bit << (pos + i));
            }
            return norm(d, bits);
        }

        static int prmt(int a, int b, int c) {
            long bytes = ((long) b << 32) | (a & 0xffffffffL);
            int d = 0;
            for (int i = 0; i < 4; i++) {
                int sel = (c >>> (4 * i)) & 0xf;
                int v = (int) (bytes >>> (8 * (sel & 7))) & 0xff;
                if ((sel & 8) != 0) v = (v & 0x80) != 0 ? 0xff : 0;
                d |= v << (8 * i);
            }
            return d;
        }

        static int lop3(int a, int b, int c, int lut) {
            int d = 0;
            for (int i = 0; i < 8; i++) {
                if ((lut >>> i & 1) == 0) continue;
                d |= ((i & 4) != 0 ? a : ~a) & ((i & 2) != 0 ? b : ~b) & ((i & 1) != 0 ? c : ~c);
            }
            return d;
        }

        static long norm(long v, int bits) {
            return switch (bits) {
                case 64 -> v;
                case 32 -> (int) v;
                case 16 -> (short) v;
                case 8 -> (byte) v;
                default -> v & 1;
            };
        }
    }

    /** lop3.b32 with its immediate truth table. */
    static final class Lop3 extends Insn {
        int d, a, b, c, lut;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) != 0) r[d + l] = IntOp.lop3((int) r[a + l], (int) r[b + l], (int) r[c + l], lut);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ moves

    static final class Mov extends Insn {
        int d, a;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            int d = this.d, a = this.a;
            if (m == Warp.FULL) System.arraycopy(r, a, r, d, 32);
            else for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = r[a + l];
        }
    }

    /** mov.bN d, {a, b, ...}: packs the parts, the first in the low bits. */
    static final class Pack extends Insn {
        int d, part;
        int[] srcs;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            long mask = part == 64 ? -1 : (1L << part) - 1;
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                long v = 0;
                for (int i = 0; i < srcs.length; i++) v |= (r[srcs[i] + l] & mask) << (part * i);
                r[d + l] = v;
            }
        }
    }

    /** mov.bN {a, b, ...}, s: splits, the low bits into the first. */
    static final class Unpack extends Insn {
        int a, part;
        int[] dsts;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            long mask = part == 64 ? -1 : (1L << part) - 1;
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                long v = r[a + l];
                for (int i = 0; i < dsts.length; i++) if (dsts[i] >= 0) r[dsts[i] + l] = (v >>> (part * i)) & mask;
            }
        }
    }

    /** selp.T d, a, b, c: d = c ? a : b. */
    static final class Selp extends Insn {
        int d, a, b, c;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = r[c + l] != 0 ? r[a + l] : r[b + l];
        }
    }

    // ------------------------------------------------------------------------------------------ comparisons

    static final int EQ = 0, NE = 1, LT = 2, LE = 3, GT = 4, GE = 5, EQU = 6, NEU = 7, LTU = 8, LEU = 9, GTU = 10,
            GEU = 11, NUM = 12, NAN = 13;
    /** Kinds of compared values. */
    static final int K_INT = 0, K_F32 = 1, K_F64 = 2, K_F16 = 3, K_BF16 = 4;

    static final class Setp extends Insn {
        int cmp, kind, bits, p, q = -1, c = -1, boolOp = -1, a, b;
        boolean signed, cNeg, ftz;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                boolean t = test(r[a + l], r[b + l]);
                boolean u = !t;
                if (c >= 0) {
                    boolean cv = (r[c + l] != 0) != cNeg;
                    t = combine(t, cv);
                    u = combine(u, cv);
                }
                r[p + l] = t ? 1 : 0;
                if (q >= 0) r[q + l] = u ? 1 : 0;
            }
        }

        private boolean combine(boolean x, boolean y) {
            return switch (boolOp) {
                case AND -> x & y;
                case OR -> x | y;
                default -> x ^ y;
            };
        }

        boolean test(long ra, long rb) {
            if (kind == K_INT) {
                long x = ext(ra, bits, signed), y = ext(rb, bits, signed);
                int c = bits == 64 && !signed ? Long.compareUnsigned(x, y) : Long.compare(x, y);
                return switch (cmp) {
                    case EQ -> c == 0;
                    case NE -> c != 0;
                    case LT -> c < 0;
                    case LE -> c <= 0;
                    case GT -> c > 0;
                    default -> c >= 0;
                };
            }
            double x = FloatOps.value(ra, kind), y = FloatOps.value(rb, kind);
            if (ftz) {
                x = FloatOps.ftz(x);
                y = FloatOps.ftz(y);
            }
            boolean nan = Double.isNaN(x) || Double.isNaN(y);
            return switch (cmp) {
                case EQ -> x == y;
                case NE -> !nan && x != y;
                case LT -> x < y;
                case LE -> x <= y;
                case GT -> x > y;
                case GE -> x >= y;
                case EQU -> nan || x == y;
                case NEU -> nan || x != y;
                case LTU -> nan || x < y;
                case LEU -> nan || x <= y;
                case GTU -> nan || x > y;
                case GEU -> nan || x >= y;
                case NUM -> !nan;
                default -> nan;
            };
        }
    }
}
