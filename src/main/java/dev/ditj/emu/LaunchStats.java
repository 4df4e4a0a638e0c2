package dev.ditj.emu;

/**
 * Counters of one launch (or the sum of several): executed instructions by class, thread-instructions, global
 * traffic, shared-memory accesses and an estimate of bank conflicts. Benchmarks read them to estimate a kernel's
 * arithmetic intensity when no GPU is at hand.
 */
public final class LaunchStats {
    static final String[] CLASS_NAMES = {"int", "fp32", "fp64", "half", "cvt", "mov", "ld.global", "st.global",
            "ld.shared", "st.shared", "local", "atomic", "warp", "mma", "control", "sync", "sfu", "param", "cp.async"};

    final long[] warpInsns = new long[Insn.C_COUNT];
    long threadInsns;
    long globalBytesLoaded, globalBytesStored;
    long sharedLoads, sharedStores, sharedBankConflicts;
    long blocks, launches, nanos;

    /** Warp-instructions of class {@code name} (see {@link #classes()}). */
    public long warpInstructions(String name) {
        for (int i = 0; i < CLASS_NAMES.length; i++) if (CLASS_NAMES[i].equals(name)) return warpInsns[i];
        throw new IllegalArgumentException("no instruction class " + name);
    }

    public static String[] classes() {
        return CLASS_NAMES.clone();
    }

    public long warpInstructions() {
        long s = 0;
        for (long v : warpInsns) s += v;
        return s;
    }

    /** Instructions executed by threads: each warp-instruction counts its active lanes. */
    public long threadInstructions() {
        return threadInsns;
    }

    public long globalBytesLoaded() {
        return globalBytesLoaded;
    }

    public long globalBytesStored() {
        return globalBytesStored;
    }

    /** Thread-level shared-memory loads and stores. */
    public long sharedAccesses() {
        return sharedLoads + sharedStores;
    }

    /** Extra shared-memory wavefronts from bank conflicts (estimate: 32-bit words per bank per warp access). */
    public long sharedBankConflicts() {
        return sharedBankConflicts;
    }

    public long blocks() {
        return blocks;
    }

    public long launches() {
        return launches;
    }

    /** Wall time spent executing, in nanoseconds. */
    public long nanos() {
        return nanos;
    }

    void add(LaunchStats o) {
        for (int i = 0; i < warpInsns.length; i++) warpInsns[i] += o.warpInsns[i];
        threadInsns += o.threadInsns;
        globalBytesLoaded += o.globalBytesLoaded;
        globalBytesStored += o.globalBytesStored;
        sharedLoads += o.sharedLoads;
        sharedStores += o.sharedStores;
        sharedBankConflicts += o.sharedBankConflicts;
        blocks += o.blocks;
        launches += o.launches;
        nanos += o.nanos;
    }

    void reset() {
        java.util.Arrays.fill(warpInsns, 0);
        threadInsns = globalBytesLoaded = globalBytesStored = sharedLoads = sharedStores = sharedBankConflicts = 0;
        blocks = launches = nanos = 0;
    }

    public LaunchStats copy() {
        LaunchStats s = new LaunchStats();
        s.add(this);
        return s;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%d launches, %d blocks, %d thread-instructions (%d warp-instructions), %.1f ms",
                launches, blocks, threadInsns, warpInstructions(), nanos / 1e6));
        b.append(String.format("; global %d B loaded, %d B stored; shared %d loads, %d stores, ~%d bank conflicts; by class:",
                globalBytesLoaded, globalBytesStored, sharedLoads, sharedStores, sharedBankConflicts));
        for (int i = 0; i < CLASS_NAMES.length; i++) if (warpInsns[i] != 0) b.append(' ').append(CLASS_NAMES[i]).append('=').append(warpInsns[i]);
        return b.toString();
    }
}
