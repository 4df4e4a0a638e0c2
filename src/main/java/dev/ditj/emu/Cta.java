package dev.ditj.emu;

import dev.ditj.cuda.CudaException;

import java.util.Arrays;

/**
 * Runs blocks of a launch, one at a time (one Cta per worker thread, reused). A block's warps run round-robin:
 * each runs until all its lanes have exited or wait at a barrier; a barrier releases its lanes when the expected
 * number of threads has arrived. When no warp can run and some still wait, the block is deadlocked.
 *
 * <p>Also the memory system of the block: shared memory, the warps' local memory, and access to global and
 * constant memory, all bounds-checked.
 */
final class Cta {
    static final int S_GLOBAL = 0, S_SHARED = 1, S_LOCAL = 2, S_CONST = 3, S_GENERIC = 4, S_PARAM = 5;
    /** Poison for shared and local memory at launch: every float read before written is a NaN (0x7fffffff-ish). */
    static final byte POISON = (byte) 0xff;

    final LaunchStats stats = new LaunchStats();
    final MemoryModel mem = new MemoryModel(stats);
    Launch launch;
    EmuKernel kernel;
    byte[] shared = new byte[0];
    Warp[] warps = new Warp[0];
    int bx, by, bz;
    final int[] barArrived = new int[16], barExpected = new int[16], barRed = new int[16];
    long executed;
    // shared-memory race detection (optional): per 32-bit word, the warp and barrier epoch of the last write/read
    int[] raceWriter, raceReader;
    int epoch;
    // scratch space of warp-wide instructions (instructions are shared by the worker threads, so they keep none)
    final long[] scratch = new long[32];
    final float[][] mmaA = new float[16][16], mmaB = new float[16][8], mmaC = new float[16][8], mmaD = new float[16][8];
    int lastBarrier;

    void prepare(Launch l) {
        launch = l;
        kernel = l.kernel;
        if (shared.length != l.sharedBytes) shared = new byte[l.sharedBytes];
        if (warps.length != l.warps || warps.length > 0 && (warps[0].r.length != kernel.registers * 32
                || warps[0].localSize != kernel.localSize)) {
            warps = new Warp[l.warps];
            for (int i = 0; i < l.warps; i++) {
                warps[i] = new Warp(i, kernel.registers, kernel.localSize);
                warps[i].cta = this;
            }
        }
        for (Warp w : warps) {
            for (int i = 0; i < kernel.constSlots.length; i++) Arrays.fill(w.r, kernel.constSlots[i], kernel.constSlots[i] + 32, kernel.constValues[i]);
        }
        mem.prepare(l);
        if (l.raceCheck) {
            raceWriter = new int[(l.sharedBytes + 3) / 4];
            raceReader = new int[(l.sharedBytes + 3) / 4];
        }
    }

    void runBlock(long linear) {
        Launch l = launch;
        bx = (int) (linear % l.grid[0]);
        by = (int) (linear / l.grid[0] % l.grid[1]);
        bz = (int) (linear / ((long) l.grid[0] * l.grid[1]));
        Arrays.fill(shared, POISON);
        Arrays.fill(barArrived, 0);
        Arrays.fill(barRed, 0);
        if (l.raceCheck) {
            Arrays.fill(raceWriter, -1);
            Arrays.fill(raceReader, -1);
            epoch = 0;
        }
        executed = 0;
        for (Warp w : warps) {
            int live = Math.min(32, l.threads - w.id * 32);
            w.reset(live == 32 ? Warp.FULL : (1 << live) - 1);
            Arrays.fill(w.local, POISON);
            fillSpecials(w);
        }
        stats.blocks++;
        boolean progress = true;
        while (progress) {
            progress = false;
            for (Warp w : warps) {
                if (w.active != 0) {
                    run(w);
                    progress = true;
                }
            }
        }
        for (Warp w : warps) if (w.blocked != 0 || w.warpSync != 0) throw deadlock();
    }

    private void fillSpecials(Warp w) {
        EmuKernel k = kernel;
        Launch l = launch;
        long[] r = w.r;
        for (int i = 0; i < k.specialSlots.length; i++) {
            int s = k.specialSlots[i], kind = k.specialKinds[i];
            for (int lane = 0; lane < 32; lane++) {
                int t = w.id * 32 + lane;
                long v = switch (kind) {
                    case EmuKernel.TID -> t % l.block[0];
                    case EmuKernel.TID + 1 -> t / l.block[0] % l.block[1];
                    case EmuKernel.TID + 2 -> t / (l.block[0] * l.block[1]);
                    case EmuKernel.NTID, EmuKernel.NTID + 1, EmuKernel.NTID + 2 -> l.block[kind - EmuKernel.NTID];
                    case EmuKernel.CTAID -> bx;
                    case EmuKernel.CTAID + 1 -> by;
                    case EmuKernel.CTAID + 2 -> bz;
                    case EmuKernel.NCTAID, EmuKernel.NCTAID + 1, EmuKernel.NCTAID + 2 -> l.grid[kind - EmuKernel.NCTAID];
                    case EmuKernel.LANEID -> lane;
                    case EmuKernel.WARPID -> w.id;
                    case EmuKernel.NWARPID -> l.warps;
                    case EmuKernel.LANEMASK_EQ -> 1L << lane;
                    case EmuKernel.LANEMASK_LT -> (1L << lane) - 1;
                    case EmuKernel.LANEMASK_LE -> (2L << lane) - 1;
                    case EmuKernel.LANEMASK_GT -> 0xffffffffL & ~((2L << lane) - 1);
                    case EmuKernel.LANEMASK_GE -> 0xffffffffL & ~((1L << lane) - 1);
                    case EmuKernel.DYN_SMEM -> l.dynamicShared;
                    case EmuKernel.TOTAL_SMEM -> l.sharedBytes;
                    case EmuKernel.NSMID -> EmulatedDevice.MULTIPROCESSORS;
                    default -> 0;
                };
                r[s + lane] = v;
            }
        }
    }

    // ------------------------------------------------------------------------------------------ execution

    private void run(Warp w) {
        Insn[] code = kernel.code;
        LaunchStats st = stats;
        long[] r = w.r;
        long[] byClass = st.warpInsns;
        w.regroup();
        Insn in = null;
        try {
            while (w.group != 0) {
                in = code[w.pc];
                int m = w.group;
                if (in.guard >= 0) {
                    int g = in.guard, pm = 0;
                    for (int a = m; a != 0; a &= a - 1) {
                        int lane = Integer.numberOfTrailingZeros(a);
                        if (r[g + lane] != 0) pm |= 1 << lane;
                    }
                    m = in.guardNeg ? m & ~pm : pm;
                }
                byClass[in.cls]++;
                st.threadInsns += Integer.bitCount(m);
                if (in.control()) {
                    in.control(this, w, m);
                } else {
                    if (m != 0) in.exec(w, m);
                    if (++w.pc >= w.minOther) w.regroup();
                }
                if (++executed > launch.maxWarpInstructionsPerBlock) {
                    throw new EmuFault("block did not finish within " + launch.maxWarpInstructionsPerBlock
                            + " warp-instructions (endless loop?)", Integer.numberOfTrailingZeros(w.group));
                }
            }
        } catch (EmuFault f) {
            throw fault(w, in, f.lane, f.getMessage(), null);
        } catch (CudaException e) {
            throw e;
        } catch (RuntimeException e) {
            throw fault(w, in, Integer.numberOfTrailingZeros(w.group), "internal emulator error: " + e, e);
        }
    }

    CudaException fault(Warp w, Insn in, int lane, String what, Throwable cause) {
        int t = w.id * 32 + Math.max(0, Math.min(31, lane));
        int[] b = launch.block;
        String thread = "(" + t % b[0] + "," + t / b[0] % b[1] + "," + t / (b[0] * b[1]) + ")";
        String where = in == null ? "" : " at PTX line " + in.line + " '" + in.text + "'";
        return new CudaException("kernel " + kernel.name + " (module " + kernel.module.name + "), block (" + bx + "," + by + ","
                + bz + "), thread " + thread + where + ": " + what, cause);
    }

    private CudaException deadlock() {
        StringBuilder waiting = new StringBuilder();
        int exited = 0, total = 0;
        int firstBar = -1, firstLine = 0;
        for (Warp w : warps) {
            int live = Math.min(32, launch.threads - w.id * 32);
            int liveMask = live == 32 ? Warp.FULL : (1 << live) - 1;
            exited += Integer.bitCount(w.exited & liveMask);
            total += live;
            for (int a = w.blocked | w.warpSync; a != 0; a &= a - 1) {
                int lane = Integer.numberOfTrailingZeros(a);
                if (firstBar < 0) {
                    firstBar = w.lanePc[lane];
                    firstLine = kernel.code[firstBar].line;
                }
            }
            if ((w.blocked | w.warpSync) != 0) {
                waiting.append(String.format(" warp %d lanes 0x%08x at line %d;", w.id, w.blocked | w.warpSync,
                        kernel.code[w.lanePc[Integer.numberOfTrailingZeros(w.blocked | w.warpSync)]].line));
            }
        }
        Insn bar = kernel.code[firstBar];
        String detail = bar instanceof ControlInsns.Bar
                ? String.format("barrier %d expects %d threads, %d arrived", lastBarrier, barExpected[lastBarrier], barArrived[lastBarrier])
                : "bar.warp.sync waits for lanes that never arrive";
        return new CudaException("kernel " + kernel.name + " (module " + kernel.module.name + "), block (" + bx + "," + by + ","
                + bz + "): barrier deadlock at PTX line " + firstLine + " '" + bar.text + "': " + detail + "; " + exited
                + " of " + total + " threads exited without reaching it; waiting:" + waiting);
    }

    /** A barrier arrival of {@code n} threads; releases the barrier's waiters when complete. */
    void arrive(int id, int n, int expected, int redValue) {
        if (barArrived[id] == 0) barExpected[id] = expected;
        else if (barExpected[id] != expected) {
            throw new EmuFault("barrier " + id + " used with thread counts " + barExpected[id] + " and " + expected, 0);
        }
        barArrived[id] += n;
        barRed[id] += redValue;
        if (barArrived[id] >= expected) {
            int red = barRed[id];
            barArrived[id] = 0;
            barRed[id] = 0;
            epoch++;
            for (Warp w : warps) {
                for (int a = w.blocked; a != 0; a &= a - 1) {
                    int lane = Integer.numberOfTrailingZeros(a);
                    if (w.barOf[lane] != id) continue;
                    Insn in = kernel.code[w.lanePc[lane]];
                    if (in instanceof ControlInsns.Bar b) b.release(w, lane, red);
                    w.blocked &= ~(1 << lane);
                    w.active |= 1 << lane;
                    w.lanePc[lane]++;
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------ memory

    long load(Warp w, int lane, int space, long addr, int size) {
        switch (space) {
            case S_GLOBAL: {
                GlobalMemory.Alloc a = global(w, lane, addr, size, "load");
                stats.globalBytesLoaded += size;
                return read(a.data, (int) (addr - a.base), size);
            }
            case S_SHARED: {
                int off = sharedOffset(lane, addr, size, "load");
                stats.sharedLoads++;
                if (launch.raceCheck) raceRead(w, lane, off, size);
                return read(shared, off, size);
            }
            case S_LOCAL:
                return read(w.local, localOffset(w, lane, addr, size, "load"), size);
            case S_CONST: {
                byte[] c = kernel.module.constBank;
                if (addr < 0 || addr + size > c.length) {
                    throw new EmuFault("constant load [0x" + Long.toHexString(addr) + ", +" + size + ") outside the module's "
                            + c.length + " bytes of .const data", lane);
                }
                return read(c, (int) addr, size);
            }
            case S_PARAM: {
                byte[] p = launch.params;
                if (addr < 0 || addr + size > p.length) throw new EmuFault("parameter load outside the parameters", lane);
                return read(p, (int) addr, size);
            }
            default:
                return load(w, lane, generic(addr), addr - windowBase(addr), size);
        }
    }

    void store(Warp w, int lane, int space, long addr, int size, long v) {
        switch (space) {
            case S_GLOBAL: {
                GlobalMemory.Alloc a = global(w, lane, addr, size, "store");
                stats.globalBytesStored += size;
                write(a.data, (int) (addr - a.base), size, v);
                return;
            }
            case S_SHARED: {
                int off = sharedOffset(lane, addr, size, "store");
                stats.sharedStores++;
                if (launch.raceCheck) raceWrite(w, lane, off, size);
                write(shared, off, size, v);
                return;
            }
            case S_LOCAL:
                write(w.local, localOffset(w, lane, addr, size, "store"), size, v);
                return;
            case S_CONST:
            case S_PARAM:
                throw new EmuFault("store to a read-only state space", lane);
            default:
                store(w, lane, generic(addr), addr - windowBase(addr), size, v);
        }
    }

    static int generic(long addr) {
        long win = addr & ~(GlobalMemory.WINDOW_SIZE - 1);
        if (win == GlobalMemory.SHARED_WINDOW) return S_SHARED;
        if (win == GlobalMemory.LOCAL_WINDOW) return S_LOCAL;
        if (win == GlobalMemory.CONST_WINDOW) return S_CONST;
        return S_GLOBAL;
    }

    static long windowBase(long addr) {
        int s = generic(addr);
        return s == S_GLOBAL ? 0 : addr & ~(GlobalMemory.WINDOW_SIZE - 1);
    }

    GlobalMemory.Alloc global(Warp w, int lane, long addr, int size, String op) {
        GlobalMemory.Alloc a = w.cache;
        if (a != null && addr >= a.base && addr + size <= a.end) {
            if ((addr & (size - 1)) != 0) throw misaligned(lane, addr, size, op);
            return a;
        }
        a = launch.memory.find(addr, size);
        if (a == null) {
            throw new EmuFault("out-of-bounds global " + op + " of " + size + " bytes at address 0x" + Long.toHexString(addr)
                    + launch.memory.near(addr), lane);
        }
        if ((addr & (size - 1)) != 0) throw misaligned(lane, addr, size, op);
        w.cache = a;
        return a;
    }

    private static EmuFault misaligned(int lane, long addr, int size, String op) {
        return new EmuFault("misaligned " + op + ": address 0x" + Long.toHexString(addr) + " is not a multiple of " + size, lane);
    }

    int sharedOffset(int lane, long addr, int size, String op) {
        if (addr < 0 || addr + size > shared.length) {
            throw new EmuFault("out-of-bounds shared " + op + " of " + size + " bytes at shared address 0x" + Long.toHexString(addr)
                    + " (the block has " + shared.length + " bytes of shared memory: " + kernel.staticShared + " static + "
                    + launch.dynamicShared + " dynamic" + (addr >= 0 && addr < shared.length + 4096 ? "; nearest: "
                    + kernel.sharedName(Math.min(addr, shared.length - 1)) : "") + ")", lane);
        }
        if ((addr & (size - 1)) != 0) throw misaligned(lane, addr, size, op);
        return (int) addr;
    }

    int localOffset(Warp w, int lane, long addr, int size, String op) {
        if (addr < 0 || addr + size > w.localSize) {
            throw new EmuFault("out-of-bounds local " + op + " of " + size + " bytes at local address 0x" + Long.toHexString(addr)
                    + " (the thread's local depot has " + w.localSize + " bytes)", lane);
        }
        return lane * w.localSize + (int) addr;
    }

    static long read(byte[] d, int i, int size) {
        return switch (size) {
            case 4 -> (int) GlobalMemory.I32.get(d, i) & 0xffffffffL;
            case 8 -> (long) GlobalMemory.I64.get(d, i);
            case 2 -> (short) GlobalMemory.I16.get(d, i) & 0xffffL;
            default -> d[i] & 0xffL;
        };
    }

    static void write(byte[] d, int i, int size, long v) {
        switch (size) {
            case 4 -> GlobalMemory.I32.set(d, i, (int) v);
            case 8 -> GlobalMemory.I64.set(d, i, v);
            case 2 -> GlobalMemory.I16.set(d, i, (short) v);
            default -> d[i] = (byte) v;
        }
    }

    private void raceRead(Warp w, int lane, int off, int size) {
        for (int word = off >> 2; word <= (off + size - 1) >> 2; word++) {
            int wr = raceWriter[word];
            if (wr >= 0 && (wr >>> 8) == epoch && (wr & 0xff) != w.id) {
                throw new EmuFault("shared-memory race: warp " + w.id + " reads shared address 0x" + Integer.toHexString(word * 4)
                        + " (" + kernel.sharedName(word * 4L) + ") written by warp " + (wr & 0xff) + " since the last barrier", lane);
            }
            int rd = raceReader[word];
            raceReader[word] = rd >= 0 && (rd >>> 8) == epoch && (rd & 0xff) != w.id ? (epoch << 8) | 0xff : (epoch << 8) | w.id;
        }
    }

    private void raceWrite(Warp w, int lane, int off, int size) {
        for (int word = off >> 2; word <= (off + size - 1) >> 2; word++) {
            int wr = raceWriter[word], rd = raceReader[word];
            boolean otherWrite = wr >= 0 && (wr >>> 8) == epoch && (wr & 0xff) != w.id;
            boolean otherRead = rd >= 0 && (rd >>> 8) == epoch && (rd & 0xff) != w.id;
            if (otherWrite || otherRead) {
                throw new EmuFault("shared-memory race: warp " + w.id + " writes shared address 0x" + Integer.toHexString(word * 4)
                        + " (" + kernel.sharedName(word * 4L) + ") " + (otherWrite ? "written" : "read") + " by warp "
                        + ((otherWrite ? wr : rd) & 0xff) + " since the last barrier", lane);
            }
            raceWriter[word] = (epoch << 8) | w.id;
        }
    }
}
