package dev.ditj.emu;

import java.util.Map;
import java.util.TreeMap;

/**
 * Counters of one launch (or the sum of several): executed instructions by class, thread-instructions, global
 * traffic, and the efficiency figures that decide a kernel's speed on the real chip, computed exactly from the
 * emulated addresses (see {@link MemoryModel} for the cost model): shared-memory wavefronts and bank conflicts per
 * kind of access, global-memory sectors against requested bytes, tensor-core share of the instructions.
 * Benchmarks read them to judge a kernel when no GPU is at hand; tests assert them.
 */
public final class LaunchStats {
    static final String[] CLASS_NAMES = {"int", "fp32", "fp64", "half", "cvt", "mov", "ld.global", "st.global",
            "ld.shared", "st.shared", "local", "atomic", "warp", "mma", "control", "sync", "sfu", "param", "cp.async"};

    /** Kinds of warp-level shared-memory requests. */
    public enum Shared { LOAD, STORE, LDMATRIX, CP_ASYNC }

    /** Kinds of warp-level global-memory requests (CP_ASYNC: the global source side). */
    public enum Global { LOAD, STORE, CP_ASYNC }

    static final int SH_LOAD = 0, SH_STORE = 1, SH_LDMATRIX = 2, SH_CP_ASYNC = 3, GL_LOAD = 0, GL_STORE = 1, GL_CP_ASYNC = 2;

    final long[] warpInsns = new long[Insn.C_COUNT];
    long threadInsns;
    long globalBytesLoaded, globalBytesStored;
    long sharedLoads, sharedStores;
    final long[] sharedRequests = new long[4], sharedWavefronts = new long[4], sharedIdeal = new long[4];
    final long[] globalRequests = new long[3], globalBytesRequested = new long[3], globalSectors = new long[3];
    /** Extra shared wavefronts by instruction ("kernel line N 'text'"), for finding the conflicting access. */
    final Map<String, Long> conflictsAt = new TreeMap<>();
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

    /** mma.sync warp-instructions over all issued warp-instructions. */
    public double tensorShare() {
        long all = warpInstructions();
        return all == 0 ? 0 : (double) warpInsns[Insn.C_MMA] / all;
    }

    /** Bytes loaded by threads (each active lane counts its own bytes, repeated addresses included). */
    public long globalBytesLoaded() {
        return globalBytesLoaded;
    }

    public long globalBytesStored() {
        return globalBytesStored;
    }

    /** Thread-level shared-memory loads and stores (32-bit words for cp.async and ldmatrix). */
    public long sharedAccesses() {
        return sharedLoads + sharedStores;
    }

    /** Warp-level shared requests of one kind. */
    public long requests(Shared kind) {
        return sharedRequests[kind.ordinal()];
    }

    /** Wavefronts the shared requests of one kind took. */
    public long wavefronts(Shared kind) {
        return sharedWavefronts[kind.ordinal()];
    }

    /** Wavefronts they would take without bank conflicts (one per phase with active lanes). */
    public long idealWavefronts(Shared kind) {
        return sharedIdeal[kind.ordinal()];
    }

    /** Extra wavefronts from bank conflicts: wavefronts − ideal. */
    public long bankConflicts(Shared kind) {
        return sharedWavefronts[kind.ordinal()] - sharedIdeal[kind.ordinal()];
    }

    /** Extra wavefronts of every kind of shared request. */
    public long bankConflicts() {
        long s = 0;
        for (Shared k : Shared.values()) s += bankConflicts(k);
        return s;
    }

    /** Extra wavefronts by instruction ("kernel line N 'ptx text'" → count), conflicting instructions only. */
    public Map<String, Long> bankConflictsByInstruction() {
        return new TreeMap<>(conflictsAt);
    }

    /** Warp-level global requests of one kind. */
    public long requests(Global kind) {
        return globalRequests[kind.ordinal()];
    }

    /** Distinct bytes the active lanes asked for. */
    public long bytesRequested(Global kind) {
        return globalBytesRequested[kind.ordinal()];
    }

    /** 32-byte sectors the requests touched. */
    public long sectors(Global kind) {
        return globalSectors[kind.ordinal()];
    }

    /** Requested bytes over sectors × 32 (1 = every byte fetched was asked for); NaN without requests. */
    public double sectorEfficiency(Global kind) {
        long s = globalSectors[kind.ordinal()];
        return s == 0 ? Double.NaN : (double) globalBytesRequested[kind.ordinal()] / (32.0 * s);
    }

    /** Bytes moved between the SMs and L2: sectors × 32 over loads, stores and cp.async (no cache modelled). */
    public long globalTrafficBytes() {
        long s = 0;
        for (long v : globalSectors) s += v;
        return 32 * s;
    }

    /** {@link #globalTrafficBytes()} over the least traffic the operation needs (its floor, given by the caller). */
    public double trafficOverFloor(long floorBytes) {
        return (double) globalTrafficBytes() / floorBytes;
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
        for (int i = 0; i < 4; i++) {
            sharedRequests[i] += o.sharedRequests[i];
            sharedWavefronts[i] += o.sharedWavefronts[i];
            sharedIdeal[i] += o.sharedIdeal[i];
        }
        for (int i = 0; i < 3; i++) {
            globalRequests[i] += o.globalRequests[i];
            globalBytesRequested[i] += o.globalBytesRequested[i];
            globalSectors[i] += o.globalSectors[i];
        }
        o.conflictsAt.forEach((k, v) -> conflictsAt.merge(k, v, Long::sum));
        blocks += o.blocks;
        launches += o.launches;
        nanos += o.nanos;
    }

    void reset() {
        java.util.Arrays.fill(warpInsns, 0);
        threadInsns = globalBytesLoaded = globalBytesStored = sharedLoads = sharedStores = 0;
        for (long[] a : new long[][] {sharedRequests, sharedWavefronts, sharedIdeal, globalRequests, globalBytesRequested, globalSectors}) {
            java.util.Arrays.fill(a, 0);
        }
        conflictsAt.clear();
        blocks = launches = nanos = 0;
    }

    public LaunchStats copy() {
        LaunchStats s = new LaunchStats();
        s.add(this);
        return s;
    }

    /** Whether the efficiency counters were on (any request counted). */
    boolean counted() {
        for (long v : sharedRequests) if (v != 0) return true;
        for (long v : globalRequests) if (v != 0) return true;
        return false;
    }

    /** The efficiency figures in one line: bank conflicts, sector efficiency, traffic, tensor-core share. */
    public String efficiency() {
        StringBuilder b = new StringBuilder("shared");
        for (Shared k : Shared.values()) {
            if (requests(k) == 0) continue;
            b.append(String.format(" %s %d req %d/%d wavefronts (+%d)", k.name().toLowerCase(), requests(k), wavefronts(k),
                    idealWavefronts(k), bankConflicts(k)));
        }
        b.append("; global");
        for (Global k : Global.values()) {
            if (requests(k) == 0) continue;
            b.append(String.format(" %s %d req %d B in %d sectors (%.1f %%)", k.name().toLowerCase(), requests(k),
                    bytesRequested(k), sectors(k), 100 * sectorEfficiency(k)));
        }
        return b.append(String.format("; traffic %d B; mma %.1f %% of warp-instructions", globalTrafficBytes(), 100 * tensorShare()))
                .toString();
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%d launches, %d blocks, %d thread-instructions (%d warp-instructions), %.1f ms",
                launches, blocks, threadInsns, warpInstructions(), nanos / 1e6));
        b.append(String.format("; global %d B loaded, %d B stored; shared %d loads, %d stores", globalBytesLoaded,
                globalBytesStored, sharedLoads, sharedStores));
        if (counted()) b.append("; ").append(efficiency());
        b.append("; by class:");
        for (int i = 0; i < CLASS_NAMES.length; i++) if (warpInsns[i] != 0) b.append(' ').append(CLASS_NAMES[i]).append('=').append(warpInsns[i]);
        return b.toString();
    }
}
