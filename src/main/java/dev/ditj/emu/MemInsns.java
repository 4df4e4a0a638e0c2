package dev.ditj.emu;

import java.lang.invoke.VarHandle;

/** Loads, stores, atomics, address conversion, cp.async and ldmatrix. Addresses are base slot + constant offset. */
final class MemInsns {
    private MemInsns() {
    }

    /** ld{.space}{.vN}.T: up to 4 consecutive elements of {@code size} bytes. */
    static final class Ld extends Insn {
        int space, size, base = -1;
        long off;
        boolean signed;
        int[] dsts;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            Cta cta = w.cta;
            int n = dsts.length;
            cta.mem.access(false, space, r, base, off, m, size * n, w.pc);
            if (size == 4 && base >= 0 && (space == Cta.S_GLOBAL || space == Cta.S_SHARED) && !cta.launch.raceCheck) {
                words(w, cta, r, m);
                return;
            }
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                long addr = (base >= 0 ? r[base + l] : 0) + off;
                if (n > 1 && (addr & ((long) size * n - 1)) != 0) {
                    throw new EmuFault("misaligned vector load at 0x" + Long.toHexString(addr), l);
                }
                for (int i = 0; i < n; i++) {
                    long v = cta.load(w, l, space, addr + (long) i * size, size);
                    if (dsts[i] >= 0) r[dsts[i] + l] = signed ? AluInsns.ext(v, size * 8, true) : v;
                }
            }
        }

        /** The commonest loads (32-bit words, scalar or vector, global or shared), checked and read inline. */
        private void words(Warp w, Cta cta, long[] r, int m) {
            int n = dsts.length, bytes = 4 * n;
            boolean shared = space == Cta.S_SHARED;
            byte[] sh = cta.shared;
            GlobalMemory.Alloc a = w.cache;
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                long addr = r[base + l] + off;
                byte[] data;
                int i;
                if (shared) {
                    if (addr < 0 || addr + bytes > sh.length || (addr & (bytes - 1)) != 0) cta.sharedOffset(l, addr, bytes, "load");
                    data = sh;
                    i = (int) addr;
                } else {
                    if (a == null || addr < a.base || addr + bytes > a.end || (addr & (bytes - 1)) != 0) a = cta.global(w, l, addr, bytes, "load");
                    data = a.data;
                    i = (int) (addr - a.base);
                }
                for (int k = 0; k < n; k++) {
                    int v = (int) GlobalMemory.I32.get(data, i + 4 * k);
                    if (dsts[k] >= 0) r[dsts[k] + l] = signed ? v : v & 0xffffffffL;
                }
            }
            if (shared) cta.stats.sharedLoads += (long) n * Integer.bitCount(m);
            else cta.stats.globalBytesLoaded += (long) bytes * Integer.bitCount(m);
        }
    }

    /** ld.param of a scalar: the same value for every lane. */
    static final class LdParam extends Insn {
        int d, size;
        int off;
        boolean signed;

        @Override
        void exec(Warp w, int m) {
            long v = Cta.read(w.cta.launch.params, off, size);
            if (signed) v = AluInsns.ext(v, size * 8, true);
            long[] r = w.r;
            for (int l = 0; l < 32; l++) if ((m >>> l & 1) != 0) r[d + l] = v;
        }
    }

    static final class St extends Insn {
        int space, size, base = -1;
        long off;
        int[] srcs;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            Cta cta = w.cta;
            int n = srcs.length;
            cta.mem.access(true, space, r, base, off, m, size * n, w.pc);
            if (size == 4 && base >= 0 && (space == Cta.S_GLOBAL || space == Cta.S_SHARED) && !cta.launch.raceCheck) {
                words(w, cta, r, m);
                return;
            }
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                long addr = (base >= 0 ? r[base + l] : 0) + off;
                if (n > 1 && (addr & ((long) size * n - 1)) != 0) {
                    throw new EmuFault("misaligned vector store at 0x" + Long.toHexString(addr), l);
                }
                for (int i = 0; i < n; i++) cta.store(w, l, space, addr + (long) i * size, size, r[srcs[i] + l]);
            }
        }

        /** The commonest stores (32-bit words, scalar or vector, global or shared), checked and written inline. */
        private void words(Warp w, Cta cta, long[] r, int m) {
            int n = srcs.length, bytes = 4 * n;
            boolean shared = space == Cta.S_SHARED;
            byte[] sh = cta.shared;
            GlobalMemory.Alloc a = w.cache;
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                long addr = r[base + l] + off;
                byte[] data;
                int i;
                if (shared) {
                    if (addr < 0 || addr + bytes > sh.length || (addr & (bytes - 1)) != 0) cta.sharedOffset(l, addr, bytes, "store");
                    data = sh;
                    i = (int) addr;
                } else {
                    if (a == null || addr < a.base || addr + bytes > a.end || (addr & (bytes - 1)) != 0) a = cta.global(w, l, addr, bytes, "store");
                    data = a.data;
                    i = (int) (addr - a.base);
                }
                for (int k = 0; k < n; k++) GlobalMemory.I32.set(data, i + 4 * k, (int) r[srcs[k] + l]);
            }
            if (shared) cta.stats.sharedStores += (long) n * Integer.bitCount(m);
            else cta.stats.globalBytesStored += (long) bytes * Integer.bitCount(m);
        }
    }

    /** cvta{.to}.space: between generic addresses and state-space addresses. */
    static final class Cvta extends Insn {
        int d, a;
        long delta;
        boolean to32;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                long v = r[a + l] + delta;
                r[d + l] = to32 ? v & 0xffffffffL : v;
            }
        }
    }

    static final int A_ADD = 0, A_MIN = 1, A_MAX = 2, A_AND = 3, A_OR = 4, A_XOR = 5, A_EXCH = 6, A_CAS = 7, A_INC = 8,
            A_DEC = 9;

    /**
     * atom / red: lanes in order, each a read-modify-write. Global atomics use atomic VarHandle operations because
     * blocks run in parallel; shared and local memory belong to one block and need none.
     */
    static final class Atom extends Insn {
        int space, op, size, base = -1, d = -1, b, c = -1;
        long off;
        int kind;           // AluInsns.K_INT / K_F32 / K_F64
        boolean signed;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            Cta cta = w.cta;
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                long addr = (base >= 0 ? r[base + l] : 0) + off;
                int sp = space == Cta.S_GENERIC ? Cta.generic(addr) : space;
                if (space == Cta.S_GENERIC) addr -= Cta.windowBase(addr);
                long old;
                long y = r[b + l], z = c >= 0 ? r[c + l] : 0;
                if (sp == Cta.S_GLOBAL) {
                    GlobalMemory.Alloc a = cta.global(w, l, addr, size, "atomic");
                    int i = (int) (addr - a.base);
                    VarHandle h = size == 8 ? GlobalMemory.I64 : GlobalMemory.I32;
                    while (true) {
                        old = size == 8 ? (long) h.getVolatile(a.data, i) : (int) h.getVolatile(a.data, i) & 0xffffffffL;
                        long nv = combine(old, y, z);
                        boolean ok = size == 8 ? h.compareAndSet(a.data, i, old, nv) : h.compareAndSet(a.data, i, (int) old, (int) nv);
                        if (ok) break;
                    }
                    cta.stats.globalBytesLoaded += size;
                    cta.stats.globalBytesStored += size;
                } else if (sp == Cta.S_SHARED) {   // atomics are not races: straight to the array
                    int i = cta.sharedOffset(l, addr, size, "atomic");
                    old = Cta.read(cta.shared, i, size);
                    Cta.write(cta.shared, i, size, combine(old, y, z));
                    cta.stats.sharedLoads++;
                    cta.stats.sharedStores++;
                } else {
                    old = cta.load(w, l, sp, addr, size);
                    cta.store(w, l, sp, addr, size, combine(old, y, z));
                }
                if (d >= 0) r[d + l] = signed ? AluInsns.ext(old, size * 8, true) : old;
            }
        }

        long combine(long old, long y, long z) {
            int bits = size * 8;
            if (kind == AluInsns.K_F32) {
                float o = Float.intBitsToFloat((int) old), v = Float.intBitsToFloat((int) y);
                float res = switch (op) {
                    case A_ADD -> o + v;
                    case A_MIN -> Fp.min(o, v);
                    case A_MAX -> Fp.max(o, v);
                    default -> Float.intBitsToFloat((int) y);
                };
                return op == A_EXCH ? y : Float.floatToRawIntBits(res) & 0xffffffffL;
            }
            if (kind == AluInsns.K_F64) {
                double o = Double.longBitsToDouble(old), v = Double.longBitsToDouble(y);
                return op == A_EXCH ? y : Double.doubleToRawLongBits(switch (op) {
                    case A_ADD -> o + v;
                    case A_MIN -> Fp.min(o, v);
                    default -> Fp.max(o, v);
                });
            }
            long x = AluInsns.ext(old, bits, signed), v = AluInsns.ext(y, bits, signed);
            long res = switch (op) {
                case A_ADD -> x + v;
                case A_MIN -> bits == 64 && !signed ? (Long.compareUnsigned(x, v) <= 0 ? x : v) : Math.min(x, v);
                case A_MAX -> bits == 64 && !signed ? (Long.compareUnsigned(x, v) >= 0 ? x : v) : Math.max(x, v);
                case A_AND -> x & v;
                case A_OR -> x | v;
                case A_XOR -> x ^ v;
                case A_EXCH -> v;
                case A_CAS -> x == v ? z : x;
                case A_INC -> x >= v ? 0 : x + 1;                      // unsigned: wraps to 0 past the bound
                default -> x == 0 || x > v ? v : x - 1;                // A_DEC
            };
            return bits == 64 ? res : res & 0xffffffffL;
        }
    }

    /** cp.async.ca/cg.shared.global [dst], [src], size{, src-size}: queued, lands at wait_group / wait_all. */
    static final class CpAsync extends Insn {
        int dBase, sBase, size, srcSize = -1;
        long dOff, sOff;

        @Override
        void exec(Warp w, int m) {
            long[] r = w.r;
            Cta cta = w.cta;
            MemoryModel mem = cta.mem;
            for (int l = 0; l < 32; l++) {
                if ((m >>> l & 1) == 0) continue;
                long dst = r[dBase + l] + dOff, src = r[sBase + l] + sOff;
                int n = srcSize < 0 ? size : (int) Math.min(size, r[srcSize + l] & 0xffffffffL);
                cta.sharedOffset(l, dst, size, "cp.async destination");     // checked at issue: the error names this line
                if (n > 0) cta.global(w, l, src, n, "cp.async source");
                if ((src & (size - 1)) != 0) throw new EmuFault("misaligned cp.async source 0x" + Long.toHexString(src), l);
                w.addCopy(l, (int) dst, src, size, n);
                mem.addr[l] = src;
                mem.len[l] = n;
            }
            if (mem.on && m != 0) {   // costs are those of issue: where the copies land is known here
                mem.global(LaunchStats.GL_CP_ASYNC, mem.addr, 0, 0, m, -1);
                for (int a = m; a != 0; a &= a - 1) {
                    int l = Integer.numberOfTrailingZeros(a);
                    mem.addr[l] = r[dBase + l] + dOff;
                }
                mem.shared(LaunchStats.SH_CP_ASYNC, mem.addr, 0, 0, m, size, w.pc);
            }
        }
    }

    static final class CpCommit extends Insn {
        @Override
        void exec(Warp w, int m) {
            w.cpOpenGroup++;
        }
    }

    /** cp.async.wait_group N (all but the N most recent committed groups complete) or wait_all (everything). */
    static final class CpWait extends Insn {
        int n = -1;   // -1: wait_all

        @Override
        void exec(Warp w, int m) {
            int limit = n < 0 ? Integer.MAX_VALUE : w.cpOpenGroup - n;    // groups numbered below limit complete
            Cta cta = w.cta;
            int keep = 0;
            for (int i = 0; i < w.cpCount; i++) {
                if (w.cpGroup[i] < limit && (m >>> w.cpLane[i] & 1) != 0) {
                    int lane = w.cpLane[i], n = w.cpSrcSize[i], size = w.cpSize[i], dst = w.cpDst[i];
                    if (n > 0) {   // bounds were checked at issue
                        GlobalMemory.Alloc a = cta.global(w, lane, w.cpSrc[i], n, "cp.async source");
                        System.arraycopy(a.data, (int) (w.cpSrc[i] - a.base), cta.shared, dst, n);
                        cta.stats.globalBytesLoaded += n;
                    }
                    java.util.Arrays.fill(cta.shared, dst + n, dst + size, (byte) 0);   // src-size < cp-size: zero fill
                    cta.stats.sharedStores += (size + 3) / 4;
                } else {
                    w.cpLane[keep] = w.cpLane[i];
                    w.cpDst[keep] = w.cpDst[i];
                    w.cpSrc[keep] = w.cpSrc[i];
                    w.cpSize[keep] = w.cpSize[i];
                    w.cpSrcSize[keep] = w.cpSrcSize[i];
                    w.cpGroup[keep] = w.cpGroup[i];
                    keep++;
                }
            }
            w.cpCount = keep;
            if (n < 0) w.cpOpenGroup++;   // wait_all also commits the open group
        }
    }

    /**
     * ldmatrix.sync.aligned.m8n8.xN{.trans}.shared.b16: lanes 8i..8i+7 give the row addresses of matrix i (16 bytes
     * each); lane l receives, in register i, row l/4 and columns 2(l%4), 2(l%4)+1 of matrix i (transposed with .trans).
     */
    static final class LdMatrix extends Insn {
        int base, num, space;
        long off;
        boolean trans;
        int[] dsts;

        @Override
        void exec(Warp w, int m) {
            if (m != Warp.FULL) throw new EmuFault(String.format("ldmatrix needs the whole converged warp, lanes active: 0x%08x", m), 0);
            long[] r = w.r;
            Cta cta = w.cta;
            long[] rows = cta.scratch;
            for (int j = 0; j < num * 8; j++) {
                long a = r[base + j] + off;
                if (space == Cta.S_GENERIC) {
                    if (Cta.generic(a) != Cta.S_SHARED) throw new EmuFault("ldmatrix address 0x" + Long.toHexString(a) + " is not shared memory", j);
                    a -= GlobalMemory.SHARED_WINDOW;
                }
                if ((a & 15) != 0) throw new EmuFault("ldmatrix row address 0x" + Long.toHexString(a) + " is not 16-byte aligned", j);
                cta.sharedOffset(j, a, 16, "ldmatrix");
                rows[j] = a;
            }
            cta.stats.sharedLoads += num * 8;
            if (cta.mem.on) {
                cta.mem.shared(LaunchStats.SH_LDMATRIX, rows, 0, 0, num == 4 ? Warp.FULL : (1 << (num * 8)) - 1, 16, w.pc);
            }
            for (int i = 0; i < num; i++) {
                for (int l = 0; l < 32; l++) {
                    long v;
                    if (!trans) {
                        v = Cta.read(cta.shared, (int) rows[8 * i + l / 4] + 4 * (l % 4), 4);
                    } else {
                        long lo = Cta.read(cta.shared, (int) rows[8 * i + 2 * (l % 4)] + 2 * (l / 4), 2);
                        long hi = Cta.read(cta.shared, (int) rows[8 * i + 2 * (l % 4) + 1] + 2 * (l / 4), 2);
                        v = lo | hi << 16;
                    }
                    r[dsts[i] + l] = v;
                }
            }
        }
    }
}
