package dev.ditj.emu;

import java.util.Arrays;

/**
 * One warp's state: the register file ([register][lane]), a pc per lane, and which lanes can run. The lanes at the
 * lowest pc form the current group and step together ({@link #pc}, {@link #group}); {@link #minOther} is the
 * lowest pc of the other runnable lanes, so a group that reaches it merges with them. Divergent branches thus
 * reconverge where the paths meet, with no reconvergence stack.
 */
final class Warp {
    static final int FULL = -1;

    final long[] r;
    final int[] lanePc = new int[32];
    /** Barrier id each blocked lane waits on. */
    final int[] barOf = new int[32];
    final int id;
    int pc, group, minOther = Integer.MAX_VALUE;
    /** Lanes that can run (not exited, not waiting at a barrier). */
    int active;
    /** Lanes waiting at a CTA barrier, at a bar.warp.sync, and lanes that exited. */
    int blocked, warpSync, exited;
    int warpSyncMask;

    byte[] local;
    int localSize;
    GlobalMemory.Alloc cache;   // the allocation the last global access hit
    Cta cta;

    // cp.async copies in flight: issued by a lane, completed at wait_group/wait_all
    int cpCount, cpOpenGroup;
    int[] cpLane = new int[64], cpDst = new int[64], cpSize = new int[64], cpSrcSize = new int[64], cpGroup = new int[64];
    long[] cpSrc = new long[64];

    Warp(int id, int registers, int localSize) {
        this.id = id;
        this.r = new long[registers * 32];
        this.localSize = localSize;
        this.local = new byte[localSize * 32];
    }

    void reset(int liveLanes) {
        Arrays.fill(lanePc, 0);
        pc = 0;
        active = liveLanes;
        group = 0;
        blocked = 0;
        warpSync = 0;
        exited = ~liveLanes;
        minOther = Integer.MAX_VALUE;
        cpCount = 0;
        cpOpenGroup = 0;
        cache = null;
    }

    /** Recomputes the current group: the runnable lanes at the lowest pc. */
    void regroup() {
        for (int g = group; g != 0; g &= g - 1) lanePc[Integer.numberOfTrailingZeros(g)] = pc;
        int min = Integer.MAX_VALUE, mask = 0, other = Integer.MAX_VALUE;
        for (int a = active; a != 0; a &= a - 1) {
            int l = Integer.numberOfTrailingZeros(a);
            int p = lanePc[l];
            if (p < min) {
                other = Math.min(other, min);
                min = p;
                mask = 1 << l;
            } else if (p == min) {
                mask |= 1 << l;
            } else {
                other = Math.min(other, p);
            }
        }
        pc = min;
        group = mask;
        minOther = other;
    }

    /** Moves the lanes of {@code taken} to {@code target} and the rest of the group to the next instruction. */
    void branch(int taken, int target) {
        int rest = group & ~taken;
        if (rest == 0) {
            pc = target;
            if (pc >= minOther) regroup();
        } else if (taken == 0) {
            if (++pc >= minOther) regroup();
        } else {
            for (int g = taken; g != 0; g &= g - 1) lanePc[Integer.numberOfTrailingZeros(g)] = target;
            for (int g = rest; g != 0; g &= g - 1) lanePc[Integer.numberOfTrailingZeros(g)] = pc + 1;
            group = 0;
            regroup();
        }
    }

    /** Takes {@code lanes} of the group out of execution (exit, barrier wait); the others go on to pc + 1. */
    void park(int lanes) {
        for (int g = lanes; g != 0; g &= g - 1) lanePc[Integer.numberOfTrailingZeros(g)] = pc;
        active &= ~lanes;
        group &= ~lanes;
        if (group != 0) pc++;
        regroup();
    }

    void addCopy(int lane, int dst, long src, int size, int srcSize) {
        if (cpCount == cpLane.length) {
            int n = cpCount * 2;
            cpLane = Arrays.copyOf(cpLane, n);
            cpDst = Arrays.copyOf(cpDst, n);
            cpSize = Arrays.copyOf(cpSize, n);
            cpSrcSize = Arrays.copyOf(cpSrcSize, n);
            cpGroup = Arrays.copyOf(cpGroup, n);
            cpSrc = Arrays.copyOf(cpSrc, n);
        }
        cpLane[cpCount] = lane;
        cpDst[cpCount] = dst;
        cpSrc[cpCount] = src;
        cpSize[cpCount] = size;
        cpSrcSize[cpCount] = srcSize;
        cpGroup[cpCount] = cpOpenGroup;
        cpCount++;
    }
}
