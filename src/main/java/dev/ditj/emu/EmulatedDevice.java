package dev.ditj.emu;

import dev.ditj.cuda.CudaException;
import dev.ditj.cuda.Device;
import dev.ditj.cuda.KernelArgs;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The emulated CUDA device: executes the PTX that nvcc emits, in Java, deterministically. Work runs synchronously
 * in issue order; the blocks of a grid run in parallel on a pool of worker threads (in block order when the kernel
 * has global atomics whose result depends on the order). Every launch is checked: arguments against the kernel's
 * parameters, every memory access against its allocation, barriers for deadlock, optionally shared memory for races
 * between barriers; failures are {@link CudaException}s naming kernel, block, thread and PTX line.
 *
 * <p>{@link #stats()} counts executed instructions and memory traffic (see {@link LaunchStats}).
 *
 * <p>Registers are not cleared between blocks (that would cost more than many small blocks take to run): a kernel
 * that reads a register before writing it sees a value left by an earlier block, as on hardware.
 */
public final class EmulatedDevice implements Device {
    /** Default global memory: a quarter of the Java heap (the emulator's memory is heap memory). */
    private static final long DEFAULT_MEMORY = Runtime.getRuntime().maxMemory() / 4;
    private static final int MAX_SHARED = 227 * 1024, MAX_THREADS = 1024;
    /** Multiprocessors the emulated device reports (an H100 SXM's). */
    static final int MULTIPROCESSORS = 132;

    private final GlobalMemory memory;
    private final int threads;
    private final ExecutorService pool;
    private final Cta[] ctas;
    private boolean raceCheck;
    private boolean counters;
    private long maxWarpInstructionsPerBlock = 500_000_000L;   // tens of seconds: far beyond any real block
    private final LaunchStats total = new LaunchStats();
    private LaunchStats last = new LaunchStats();
    private final Map<String, LaunchStats> byKernel = new TreeMap<>();
    private List<Runnable> capture;
    private boolean closed;

    /** A device with one worker per available processor and a quarter of the heap as global memory. */
    public EmulatedDevice() {
        this(Runtime.getRuntime().availableProcessors(), DEFAULT_MEMORY);
    }

    public EmulatedDevice(int threads, long memoryBytes) {
        if (threads < 1) throw new IllegalArgumentException("threads " + threads);
        this.threads = threads;
        this.memory = new GlobalMemory(memoryBytes);
        this.ctas = new Cta[threads];
        for (int i = 0; i < threads; i++) ctas[i] = new Cta();
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(r, "ditj-emu");
            t.setDaemon(true);
            return t;
        });
    }

    /** Turns the shared-memory race check on or off (off by default: it slows shared accesses). */
    public EmulatedDevice raceCheck(boolean on) {
        this.raceCheck = on;
        return this;
    }

    /**
     * Turns the efficiency counters (shared-memory wavefronts, global sectors; see {@link LaunchStats}) on or off.
     * Off by default: on, they cost about a fifth more emulation time on shared-memory-heavy SIMT kernels (a few
     * per cent on tensor-core kernels, where mma dominates).
     */
    public EmulatedDevice efficiencyCounters(boolean on) {
        this.counters = on;
        return this;
    }

    /** A block running longer than this many warp-instructions is reported as an endless loop. */
    public EmulatedDevice maxWarpInstructionsPerBlock(long n) {
        this.maxWarpInstructionsPerBlock = n;
        return this;
    }

    @Override
    public String name() {
        return "emulated device (ditj PTX emulator, " + threads + " thread" + (threads == 1 ? "" : "s") + ")";
    }

    /** As many as an H100 SXM has (also what {@code %nsmid} reads), so work is tiled as for the real chip. */
    @Override
    public int multiprocessors() {
        return MULTIPROCESSORS;
    }

    @Override
    public Module load(String name, String ptx) {
        open();
        return Decoder.load(name, ptx, memory);
    }

    // ------------------------------------------------------------------------------------------------ memory

    @Override
    public long alloc(long bytes) {
        open();
        if (capture != null) throw new CudaException("alloc during graph capture");
        return memory.alloc(bytes, "allocation of " + bytes + " bytes");
    }

    @Override
    public void free(long pointer) {
        open();
        if (capture != null) throw new CudaException("free during graph capture");
        memory.free(pointer);
    }

    @Override
    public void copyToDevice(long dst, ByteBuffer src) {
        ByteBuffer s = src.duplicate();
        issue(() -> {
            GlobalMemory.Alloc a = memory.require(dst, s.remaining(), "copyToDevice");
            s.duplicate().get(a.data, (int) (dst - a.base), s.remaining());
        });
    }

    @Override
    public void copyToHost(ByteBuffer dst, long src) {
        ByteBuffer d = dst.duplicate();
        issue(() -> {
            GlobalMemory.Alloc a = memory.require(src, d.remaining(), "copyToHost");
            d.duplicate().put(a.data, (int) (src - a.base), d.remaining());
        });
    }

    @Override
    public void copyOnDevice(long dst, long src, long bytes) {
        issue(() -> {
            GlobalMemory.Alloc s = memory.require(src, bytes, "copyOnDevice source");
            GlobalMemory.Alloc d = memory.require(dst, bytes, "copyOnDevice destination");
            System.arraycopy(s.data, (int) (src - s.base), d.data, (int) (dst - d.base), (int) bytes);
        });
    }

    @Override
    public void memset32(long pointer, int value, long count) {
        issue(() -> {
            if ((pointer & 3) != 0) throw new CudaException("memset32: pointer 0x" + Long.toHexString(pointer) + " is not 4-byte aligned");
            GlobalMemory.Alloc a = memory.require(pointer, count * 4, "memset32");
            int off = (int) (pointer - a.base);
            for (long i = 0; i < count; i++) GlobalMemory.I32.set(a.data, off + (int) (4 * i), value);
        });
    }

    @Override
    public long[] memoryInfo() {
        return new long[] {memory.capacity() - memory.used(), memory.capacity()};
    }

    // ------------------------------------------------------------------------------------------------ execution

    @Override
    public void launch(Kernel kernel, int[] grid, int[] block, int sharedBytes, Object... args) {
        open();
        if (!(kernel instanceof EmuKernel k)) throw new CudaException("launch: kernel " + kernel.name() + " was not loaded by this device");
        checkShape(k, grid, block, sharedBytes);
        List<KernelArgs.Param> params = new ArrayList<>();
        for (Ptx.Param p : k.params) params.add(new KernelArgs.Param(p.name(), p.type(), p.size()));
        KernelArgs.check(k.name, params, args);
        byte[] packed = pack(k, args);
        int[] g = grid.clone(), b = block.clone();
        issue(() -> run(new Launch(k, packed, g, b, sharedBytes, memory, raceCheck, counters, maxWarpInstructionsPerBlock)));
    }

    private static byte[] pack(EmuKernel k, Object[] args) {
        byte[] out = new byte[k.paramBytes];
        for (int i = 0; i < args.length; i++) {
            Ptx.Param p = k.params.get(i);
            long v = args[i] instanceof Float f ? Float.floatToRawIntBits(f)
                    : args[i] instanceof Double d ? Double.doubleToRawLongBits(d) : ((Number) args[i]).longValue();
            Cta.write(out, p.offset(), Math.min(8, p.size()), v);
        }
        return out;
    }

    private static void checkShape(EmuKernel k, int[] grid, int[] block, int sharedBytes) {
        if (grid.length != 3 || block.length != 3) throw new CudaException("launch of " + k.name + ": grid and block need 3 entries");
        long threads = (long) block[0] * block[1] * block[2];
        if (block[0] < 1 || block[1] < 1 || block[2] < 1 || threads > MAX_THREADS || block[2] > 64) {
            throw new CudaException("launch of " + k.name + ": invalid block " + block[0] + "x" + block[1] + "x" + block[2]
                    + " (at most " + MAX_THREADS + " threads, z at most 64)");
        }
        if (grid[0] < 1 || grid[1] < 1 || grid[2] < 1 || grid[1] > 65535 || grid[2] > 65535) {
            throw new CudaException("launch of " + k.name + ": invalid grid " + grid[0] + "x" + grid[1] + "x" + grid[2]);
        }
        if (sharedBytes < 0 || k.staticShared + (long) sharedBytes > MAX_SHARED) {
            throw new CudaException("launch of " + k.name + ": " + k.staticShared + " bytes of static + " + sharedBytes
                    + " bytes of dynamic shared memory exceed the " + MAX_SHARED + " bytes of a block");
        }
    }

    private synchronized void run(Launch l) {   // one launch at a time: the workers' Ctas are shared
        long t0 = System.nanoTime();
        long blocks = l.blocks();
        AtomicLong next = new AtomicLong();
        int workers = l.kernel.sequentialBlocks ? 1 : (int) Math.min(threads, blocks);
        CudaException[] errors = new CudaException[workers];
        long[] errorBlock = new long[workers];
        Runnable[] tasks = new Runnable[workers];
        for (int i = 0; i < workers; i++) {
            int wi = i;
            tasks[i] = () -> {
                Cta cta = ctas[wi];
                cta.prepare(l);
                for (long b; (b = next.getAndIncrement()) < blocks; ) {
                    try {
                        cta.runBlock(b);
                    } catch (CudaException e) {
                        errors[wi] = e;
                        errorBlock[wi] = b;
                        next.set(blocks);          // stop handing out blocks
                        return;
                    }
                }
            };
        }
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 1; i < workers; i++) futures.add(pool.submit(tasks[i]));
        tasks[0].run();
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (Exception e) {
                throw new CudaException("emulator worker failed: " + e, e);
            }
        }
        LaunchStats s = new LaunchStats();
        Insn[] code = l.kernel.code;
        long[] extra = new long[code.length];
        for (int i = 0; i < workers; i++) {
            s.add(ctas[i].stats);
            ctas[i].stats.reset();
            long[] e = ctas[i].mem.extraAt;
            for (int pc = 0; pc < e.length; pc++) extra[pc] += e[pc];
        }
        for (int pc = 0; pc < extra.length; pc++) {
            if (extra[pc] != 0) s.conflictsAt.merge(l.kernel.name + " line " + code[pc].line + " '" + code[pc].text + "'", extra[pc], Long::sum);
        }
        s.launches = 1;
        s.nanos = System.nanoTime() - t0;
        last = s;
        synchronized (total) {
            total.add(s);
            byKernel.computeIfAbsent(l.kernel.name, n -> new LaunchStats()).add(s);
        }
        CudaException first = null;
        long firstBlock = Long.MAX_VALUE;
        for (int i = 0; i < workers; i++) {
            if (errors[i] != null && errorBlock[i] < firstBlock) {
                first = errors[i];
                firstBlock = errorBlock[i];
            }
        }
        if (first != null) throw first;
    }

    /** Runs now, or records for replay while capturing. */
    private void issue(Runnable work) {
        open();
        if (capture != null) capture.add(work);
        else work.run();
    }

    @Override
    public void synchronize() {
        open();
    }

    /** Counters summed over every launch since creation (or {@link #resetStats}). */
    public LaunchStats stats() {
        synchronized (total) {
            return total.copy();
        }
    }

    /** Counters of the most recent launch. */
    public LaunchStats lastLaunch() {
        return last.copy();
    }

    /** Counters summed per kernel name over every launch since creation (or {@link #resetStats}). */
    public Map<String, LaunchStats> statsByKernel() {
        synchronized (total) {
            Map<String, LaunchStats> m = new TreeMap<>();
            byKernel.forEach((k, v) -> m.put(k, v.copy()));
            return m;
        }
    }

    public void resetStats() {
        synchronized (total) {
            total.reset();
            byKernel.clear();
        }
    }

    // ------------------------------------------------------------------------------------------------ events, graphs

    private static final class EmuEvent implements Event {
        long nanos = -1;

        @Override
        public void close() {
        }
    }

    @Override
    public Event createEvent() {
        return new EmuEvent();
    }

    @Override
    public void record(Event event) {
        EmuEvent e = (EmuEvent) event;
        issue(() -> e.nanos = System.nanoTime());
    }

    @Override
    public float elapsedMillis(Event start, Event end) {
        EmuEvent s = (EmuEvent) start, e = (EmuEvent) end;
        if (s.nanos < 0 || e.nanos < 0) throw new CudaException("elapsedMillis: an event has not been recorded");
        return (e.nanos - s.nanos) / 1e6f;
    }

    private static final class EmuGraph implements Graph {
        final List<Runnable> work;

        EmuGraph(List<Runnable> work) {
            this.work = work;
        }

        @Override
        public void close() {
        }
    }

    @Override
    public void beginCapture() {
        open();
        if (capture != null) throw new CudaException("beginCapture: already capturing");
        capture = new ArrayList<>();
    }

    @Override
    public Graph endCapture() {
        if (capture == null) throw new CudaException("endCapture without beginCapture");
        EmuGraph g = new EmuGraph(List.copyOf(capture));
        capture = null;
        return g;
    }

    @Override
    public void replay(Graph graph) {
        open();
        if (capture != null) throw new CudaException("replay during capture");
        for (Runnable r : ((EmuGraph) graph).work) r.run();
    }

    private void open() {
        if (closed) throw new CudaException("the emulated device is closed");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (pool != null) pool.shutdownNow();
    }
}
