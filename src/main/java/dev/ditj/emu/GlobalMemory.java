package dev.ditj.emu;

import dev.ditj.cuda.CudaException;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The emulated device's global memory: each allocation is its own byte array at a 256-byte aligned device address.
 * Addresses are never reused and allocations are separated by an unmapped gap, so an access past the end of one
 * buffer (or after a free) is caught instead of landing in a neighbour.
 */
final class GlobalMemory {
    /** Generic-address windows of the other state spaces (each 4 GiB); global allocations start at GLOBAL_BASE. */
    static final long SHARED_WINDOW = 0x0000_1000_0000_0000L, LOCAL_WINDOW = 0x0000_2000_0000_0000L,
            CONST_WINDOW = 0x0000_3000_0000_0000L, WINDOW_SIZE = 1L << 32, GLOBAL_BASE = 0x0000_7000_0000_0000L;
    private static final long GAP = 64 * 1024;

    static final VarHandle I16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle I32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle I64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /** One allocation: [base, end). */
    static final class Alloc {
        final long base, end;
        final byte[] data;
        final String label;

        Alloc(long base, byte[] data, String label) {
            this.base = base;
            this.end = base + data.length;
            this.data = data;
            this.label = label;
        }
    }

    private final long capacity;
    private long used, next = GLOBAL_BASE;
    private volatile Alloc[] live = new Alloc[0];        // sorted by base; replaced on every change
    private final java.util.List<Alloc> freed = new java.util.ArrayList<>();

    GlobalMemory(long capacity) {
        this.capacity = capacity;
    }

    synchronized long alloc(long bytes, String label) {
        if (bytes < 0) throw new CudaException("alloc: negative size " + bytes);
        if (bytes > Integer.MAX_VALUE - 64) {
            throw new CudaException("out of device memory: needed " + bytes + " bytes in one allocation; the emulated device "
                    + "allocates at most " + (Integer.MAX_VALUE - 64) + " bytes at once");
        }
        if (used + bytes > capacity) {
            throw new CudaException("out of device memory: needed " + bytes + " bytes, " + (capacity - used) + " free of " + capacity);
        }
        Alloc a = new Alloc(next, new byte[(int) Math.max(bytes, 0)], label);
        next += (Math.max(bytes, 1) + GAP + 255) & ~255L;
        used += bytes;
        Alloc[] l = Arrays.copyOf(live, live.length + 1);
        l[l.length - 1] = a;                              // addresses only grow: stays sorted
        live = l;
        return a.base;
    }

    synchronized void free(long pointer) {
        Alloc[] l = live;
        int i = indexOf(l, pointer);
        if (i < 0 || l[i].base != pointer) {
            throw new CudaException("free: 0x" + Long.toHexString(pointer) + " is not the start of a live allocation" + near(pointer));
        }
        used -= l[i].data.length;
        freed.add(l[i]);
        if (freed.size() > 256) freed.remove(0);
        Alloc[] n = new Alloc[l.length - 1];
        System.arraycopy(l, 0, n, 0, i);
        System.arraycopy(l, i + 1, n, i, l.length - i - 1);
        live = n;
    }

    long used() {
        return used;
    }

    long capacity() {
        return capacity;
    }

    private static int indexOf(Alloc[] l, long addr) {
        int lo = 0, hi = l.length - 1, found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (l[mid].base <= addr) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found;
    }

    /** The allocation holding [addr, addr + size), or null. */
    Alloc find(long addr, long size) {
        Alloc[] l = live;
        int i = indexOf(l, addr);
        if (i < 0) return null;
        Alloc a = l[i];
        return addr + size <= a.end && addr >= a.base ? a : null;
    }

    /** For error messages: the nearest allocation (or a freed one that held the address). */
    String near(long addr) {
        Alloc[] l = live;
        for (Alloc f : freed) {
            if (addr >= f.base && addr < f.end) {
                return "; it was in " + f.label + " [0x" + Long.toHexString(f.base) + ", +" + f.data.length + ") which has been freed";
            }
        }
        Alloc best = null;
        long dist = Long.MAX_VALUE;
        for (Alloc a : l) {
            long d = addr < a.base ? a.base - addr : addr >= a.end ? addr - a.end + 1 : 0;
            if (d < dist) {
                dist = d;
                best = a;
            }
        }
        if (best == null) return "; no allocation is live";
        String where = addr < best.base ? (best.base - addr) + " bytes before" : (addr - best.end) + " bytes past the end of";
        return "; nearest allocation: " + best.label + " [0x" + Long.toHexString(best.base) + ", +" + best.data.length + "), "
                + where + " it";
    }

    Alloc require(long addr, long size, String op) {
        Alloc a = find(addr, size);
        if (a == null) {
            throw new CudaException(op + ": [0x" + Long.toHexString(addr) + ", +" + size + ") is not inside one allocation" + near(addr));
        }
        return a;
    }
}
