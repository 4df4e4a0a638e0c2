package dev.ditj.emu;

/**
 * Warp collectives: shfl, vote, redux, activemask and mma.sync. They read all 32 lanes at once and fail when the
 * executing lanes differ from the member mask (a diverged warp: undefined on hardware).
 */
final class WarpInsns {
    private WarpInsns() {
    }

    static int memberMask(Warp w, int slot, int m, String what) {
        int mm = (int) w.r[slot + Integer.numberOfTrailingZeros(m)];
        if (mm != m) {
            throw new EmuFault(String.format("%s with member mask 0x%08x executed by lanes 0x%08x (warp diverged or lanes exited)",
                    what, mm, m), Integer.numberOfTrailingZeros(m ^ mm) & 31);
        }
        return mm;
    }

    static final int UP = 0, DOWN = 1, BFLY = 2, IDX = 3;

    /** shfl.sync.mode.b32 d{|p}, a, b, c, membermask (PTX ISA pseudo-code). */
    static final class Shfl extends Insn {
        int mode, d, p = -1, a, b, c, mask;

        @Override
        void exec(Warp w, int m) {
            memberMask(w, mask, m, "shfl.sync");
            long[] r = w.r;
            long[] src = w.cta.scratch;
            System.arraycopy(r, a, src, 0, 32);
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                int bv = (int) r[b + l] & 31, cv = (int) r[c + l];
                int seg = (cv >>> 8) & 31, clamp = cv & 31;
                int maxLane = (l & seg) | (clamp & ~seg), minLane = l & seg;
                int j;
                boolean ok;
                switch (mode) {
                    case UP -> {
                        j = l - bv;
                        ok = j >= maxLane;
                    }
                    case DOWN -> {
                        j = l + bv;
                        ok = j <= maxLane;
                    }
                    case BFLY -> {
                        j = l ^ bv;
                        ok = j <= maxLane;
                    }
                    default -> {
                        j = minLane | (bv & ~seg);
                        ok = j <= maxLane;
                    }
                }
                if (!ok) j = l;
                if ((m >>> j & 1) == 0) throw new EmuFault("shfl.sync reads lane " + j + ", which is not active", l);
                r[d + l] = src[j];
                if (p >= 0) r[p + l] = ok ? 1 : 0;
            }
        }
    }

    static final int ALL = 0, ANY = 1, UNI = 2, BALLOT = 3;

    static final class Vote extends Insn {
        int mode, d, a, mask;
        boolean aNeg;

        @Override
        void exec(Warp w, int m) {
            memberMask(w, mask, m, "vote.sync");
            long[] r = w.r;
            int ballot = 0;
            for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0 && (r[a + l] != 0) != aNeg) ballot |= 1 << l;
            long v = switch (mode) {
                case ALL -> ballot == m ? 1 : 0;
                case ANY -> ballot != 0 ? 1 : 0;
                case UNI -> ballot == 0 || ballot == m ? 1 : 0;
                default -> ballot & 0xffffffffL;
            };
            for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = v;
        }
    }

    static final int R_ADD = 0, R_MIN = 1, R_MAX = 2, R_AND = 3, R_OR = 4, R_XOR = 5;

    static final class Redux extends Insn {
        int op, d, a, mask;
        boolean signed;

        @Override
        void exec(Warp w, int m) {
            memberMask(w, mask, m, "redux.sync");
            long[] r = w.r;
            long acc = 0;
            boolean first = true;
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                long x = AluInsns.ext(r[a + l], 32, signed);
                if (first) {
                    acc = x;
                    first = false;
                    continue;
                }
                acc = switch (op) {
                    case R_ADD -> acc + x;
                    case R_MIN -> Math.min(acc, x);
                    case R_MAX -> Math.max(acc, x);
                    case R_AND -> acc & x;
                    case R_OR -> acc | x;
                    default -> acc ^ x;
                };
            }
            long v = (int) acc;
            for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = v;
        }
    }

    static final class ActiveMask extends Insn {
        int d;

        @Override
        void exec(Warp w, int m) {
            for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) w.r[d + l] = w.group & 0xffffffffL;
        }
    }

    /**
     * mma.sync.aligned.m16n8kK.row.col with f16/bf16 (k8, k16) or tf32 (k4, k8) inputs and f32 or f16
     * accumulators, fragments laid out as in the PTX ISA (groupID = lane/4, threadID_in_group = lane%4). Products
     * are exact and summed with C in double, then rounded once: hardware sums with its own order and truncation, so
     * results agree to about 1e-6 relative, not bit for bit.
     */
    static final class Mma extends Insn {
        int k;
        int aKind, cKind, dKind;      // AluInsns.K_F16 / K_BF16 / K_F32 (tf32 inputs are K_F32)
        int[] d, a, b, c;

        @Override
        void exec(Warp w, int m) {
            if (m != Warp.FULL) throw new EmuFault(String.format("mma.sync needs the whole converged warp, lanes active: 0x%08x", m), 0);
            long[] r = w.r;
            float[][] A = w.cta.mmaA, B = w.cta.mmaB, C = w.cta.mmaC, D = w.cta.mmaD;
            boolean tf32 = aKind == AluInsns.K_F32;
            for (int l = 0; l < 32; l++) {
                int g = l >> 2, t = l & 3;
                if (!tf32) {
                    for (int i = 0; i < a.length; i++) {       // a_i pairs: rows g / g+8, columns 2t (+8 for regs 2,3)
                        long v = r[a[i] + l];
                        int row = g + ((i & 1) != 0 ? 8 : 0), col = 2 * t + (i >= 2 ? 8 : 0);
                        A[row][col] = half(v, aKind);
                        A[row][col + 1] = half(v >>> 16, aKind);
                    }
                    for (int i = 0; i < b.length; i++) {       // b_i pairs: rows (k) 2t (+8 for reg 1), column g
                        long v = r[b[i] + l];
                        int row = 2 * t + (i >= 1 ? 8 : 0);
                        B[row][g] = half(v, aKind);
                        B[row + 1][g] = half(v >>> 16, aKind);
                    }
                } else {
                    for (int i = 0; i < a.length; i++) {       // tf32: a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4)
                        A[g + ((i & 1) != 0 ? 8 : 0)][t + (i >= 2 ? 4 : 0)] = tf32(r[a[i] + l]);
                    }
                    for (int i = 0; i < b.length; i++) B[t + 4 * i][g] = tf32(r[b[i] + l]);
                }
                if (cKind == AluInsns.K_F32) {
                    for (int i = 0; i < 4; i++) C[g + (i >= 2 ? 8 : 0)][2 * t + (i & 1)] = Float.intBitsToFloat((int) r[c[i] + l]);
                } else {
                    for (int i = 0; i < 2; i++) {
                        long v = r[c[i] + l];
                        C[g + 8 * i][2 * t] = Fp.halfToFloat((int) v & 0xffff);
                        C[g + 8 * i][2 * t + 1] = Fp.halfToFloat((int) (v >>> 16) & 0xffff);
                    }
                }
            }
            // D = A·B + C: eight independent accumulators per row keep the multiply-adds from waiting on each other
            for (int i = 0; i < 16; i++) {
                float[] ai = A[i], ci = C[i];
                double s0 = ci[0], s1 = ci[1], s2 = ci[2], s3 = ci[3], s4 = ci[4], s5 = ci[5], s6 = ci[6], s7 = ci[7];
                for (int kk = 0; kk < k; kk++) {
                    double x = ai[kk];
                    float[] bk = B[kk];
                    s0 += x * bk[0];
                    s1 += x * bk[1];
                    s2 += x * bk[2];
                    s3 += x * bk[3];
                    s4 += x * bk[4];
                    s5 += x * bk[5];
                    s6 += x * bk[6];
                    s7 += x * bk[7];
                }
                float[] di = D[i];
                di[0] = (float) s0;
                di[1] = (float) s1;
                di[2] = (float) s2;
                di[3] = (float) s3;
                di[4] = (float) s4;
                di[5] = (float) s5;
                di[6] = (float) s6;
                di[7] = (float) s7;
            }
            for (int l = 0; l < 32; l++) {
                int g = l >> 2, t = l & 3;
                if (dKind == AluInsns.K_F32) {
                    for (int i = 0; i < 4; i++) r[d[i] + l] = Float.floatToRawIntBits(D[g + (i >= 2 ? 8 : 0)][2 * t + (i & 1)]);
                } else {
                    for (int i = 0; i < 2; i++) {
                        r[d[i] + l] = Fp.floatToHalf(D[g + 8 * i][2 * t], Fp.RN) | (long) Fp.floatToHalf(D[g + 8 * i][2 * t + 1], Fp.RN) << 16;
                    }
                }
            }
        }

        private static float half(long v, int kind) {
            int h = (int) v & 0xffff;
            return kind == AluInsns.K_BF16 ? Fp.bf16ToFloat(h) : Fp.halfToFloat(h);
        }

        private static float tf32(long v) {
            return Float.intBitsToFloat((int) v & 0xffffe000);   // tensor cores read the upper 19 bits
        }
    }
}
