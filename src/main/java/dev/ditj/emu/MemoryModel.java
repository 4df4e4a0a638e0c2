package dev.ditj.emu;

import java.util.Arrays;

/**
 * What each warp-level memory instruction costs on the real chip (Ampere/Hopper), counted exactly from the lane
 * addresses the emulator computes anyway; one per {@link Cta}, adding into its {@link LaunchStats}.
 *
 * <h2>Shared memory: wavefronts</h2>
 * 32 banks of 4 bytes; byte address a is in word a/4 and bank (a/4) mod 32. A request is split into phases of
 * 128 bytes' worth of lanes (CUDA C Programming Guide, compute capability 5.x+ shared memory): accesses of at most
 * 4 bytes per lane form one phase of 32 lanes, 8-byte accesses two phases (lanes 0–15, 16–31), 16-byte accesses
 * four phases of 8 lanes. {@code ldmatrix} is one phase per 8x8 matrix (its 8 row addresses of 16 bytes each,
 * lanes 8i..8i+7 for matrix i); the shared side of {@code cp.async} is counted like a store of its copy size. A
 * phase costs as many wavefronts as the largest number of distinct words any one bank holds among the words its
 * active lanes touch (lanes reading the same word share it: broadcast); a phase without active lanes costs none.
 * Ideal = the number of phases with active lanes; extra wavefronts (bank conflicts) = wavefronts − ideal.
 * Shared atomics are not counted.
 *
 * <h2>Global memory: sectors</h2>
 * Per warp-level global access (ld, st, the source side of cp.async; generic addresses that land in global
 * memory): the bytes requested by the active lanes (distinct addresses only: lanes loading the same element are
 * served once) against the 32-byte sectors those bytes lie in. Every access is naturally aligned and at most
 * 16 bytes, so each lane touches one sector. Caches are not modelled: sectors × 32 is the traffic between the SM
 * and L2 (an upper bound on DRAM traffic). cp.async lanes copying 0 source bytes (zero fill) touch no sector.
 * Global atomics are not counted.
 */
final class MemoryModel {
    private final LaunchStats stats;
    /** Addresses (shared offsets or global addresses) and byte counts of the lanes of the request being counted. */
    final long[] addr = new long[32];
    final int[] len = new int[32];
    private final int[] groupUnits = new int[32 * 32], groupLen = new int[32];
    private final long[] keys = new long[32];
    /** Extra shared wavefronts per instruction index of the running kernel. */
    long[] extraAt = new long[0];
    boolean on;

    MemoryModel(LaunchStats stats) {
        this.stats = stats;
    }

    void prepare(Launch l) {
        on = l.counters;
        int n = l.kernel.code.length;
        if (extraAt.length != n) extraAt = new long[n];
        else Arrays.fill(extraAt, 0);
    }

    /** An ld or st of {@code bytes} per lane (vector width included) at {@code r[base + lane] + off}. */
    void access(boolean store, int space, long[] r, int base, long off, int mask, int bytes, int pc) {
        if (!on || mask == 0) return;
        int sh = store ? LaunchStats.SH_STORE : LaunchStats.SH_LOAD, gl = store ? LaunchStats.GL_STORE : LaunchStats.GL_LOAD;
        if (base < 0) {                       // one address for every lane
            Arrays.fill(addr, off);
            r = addr;
            base = 0;
            off = 0;
        }
        switch (space) {
            case Cta.S_SHARED -> shared(sh, r, base, off, mask, bytes, pc);
            case Cta.S_GLOBAL -> global(gl, r, base, off, mask, bytes);
            case Cta.S_GENERIC -> {
                int shMask = 0, glMask = 0;
                for (int a = mask; a != 0; a &= a - 1) {
                    int l = Integer.numberOfTrailingZeros(a);
                    long x = r[base + l] + off;
                    int s = Cta.generic(x);
                    if (s == Cta.S_SHARED) {
                        shMask |= 1 << l;
                        addr[l] = x - GlobalMemory.SHARED_WINDOW;
                    } else if (s == Cta.S_GLOBAL) {
                        glMask |= 1 << l;
                        addr[l] = x;
                    }
                }
                if (shMask != 0) shared(sh, addr, 0, 0, shMask, bytes, pc);
                if (glMask != 0) global(gl, addr, 0, 0, glMask, bytes);
            }
            default -> {
            }
        }
    }

    /**
     * One warp-level shared request of {@code kind}: lanes of {@code mask} at shared offsets {@code r[base + lane] + off},
     * {@code bytes} each (16 for an ldmatrix row). Counted in units of the lane's access (a word for up to 4 bytes,
     * else the aligned 8 or 16 bytes): a unit's words share its conflicts, so the distinct words in a bank are the
     * distinct units in its group of 32, 16 or 8 groups.
     */
    void shared(int kind, long[] r, int base, long off, int mask, int bytes, int pc) {
        int shift = bytes <= 4 ? 2 : bytes == 8 ? 3 : 4, lanesPerPhase = 128 >> shift;
        int waves = 0, ideal = 0;
        for (int p = 0; p < 32; p += lanesPerPhase) {
            int pm = lanesPerPhase == 32 ? mask : mask & (((1 << lanesPerPhase) - 1) << p);
            if (pm == 0) continue;
            ideal++;
            waves += phase(r, base, off, pm, shift, lanesPerPhase - 1);
        }
        stats.sharedRequests[kind]++;
        stats.sharedWavefronts[kind] += waves;
        stats.sharedIdeal[kind] += ideal;
        if (waves != ideal) extraAt[pc] += waves - ideal;
    }

    /**
     * Wavefronts of one phase: the most distinct units in one bank group. Each group keeps the list of its units;
     * the lists stay short unless the phase conflicts many ways.
     */
    private int phase(long[] r, int base, long off, int pm, int shift, int groupMask) {
        int used = 0, worst = 1;
        for (int a = pm; a != 0; a &= a - 1) {
            int u = (int) ((r[base + Integer.numberOfTrailingZeros(a)] + off) >>> shift), g = u & groupMask, b = g << 5;
            if ((used >>> g & 1) == 0) {
                used |= 1 << g;
                groupUnits[b] = u;
                groupLen[g] = 1;
                continue;
            }
            int n = groupLen[g], i = 0;
            while (i < n && groupUnits[b + i] != u) i++;
            if (i == n) {
                groupUnits[b + n] = u;
                groupLen[g] = ++n;
                worst = Math.max(worst, n);
            }
        }
        return worst;
    }

    /**
     * One warp-level global request of {@code kind}: lanes of {@code mask} at {@code r[base + lane] + off}, {@code bytes}
     * each, or {@code len[lane]} each when {@code bytes < 0} (cp.async with a source size).
     */
    void global(int kind, long[] r, int base, long off, int mask, int bytes) {
        int n = 0;
        boolean sorted = true;
        long prev = Long.MIN_VALUE;
        for (int a = mask; a != 0; a &= a - 1) {
            int l = Integer.numberOfTrailingZeros(a);
            int b = bytes >= 0 ? bytes : len[l];
            if (b == 0) continue;
            long k = (r[base + l] + off) << 5 | b;       // addresses are below 2^48; b <= 16 fits in 5 bits
            if (k < prev) sorted = false;
            keys[n++] = prev = k;
        }
        stats.globalRequests[kind]++;
        if (n == 0) return;
        if (!sorted) Arrays.sort(keys, 0, n);
        long requested = 0, sectors = 0, lastAddr = -1, lastSector = -1;
        for (int i = 0; i < n; i++) {
            long a = keys[i] >>> 5;
            if (a == lastAddr) continue;
            lastAddr = a;
            requested += keys[i] & 31;
            if (a >>> 5 != lastSector) {
                lastSector = a >>> 5;
                sectors++;
            }
        }
        stats.globalBytesRequested[kind] += requested;
        stats.globalSectors[kind] += sectors;
    }
}
