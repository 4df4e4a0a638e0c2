package dev.ditj.cuda;

import dev.ditj.DitjException;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.FloatFormats;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Precision;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The CUDA backend: every op is one of our kernels (kernels/*.cu, PTX from the jar) launched on a {@link Device}
 * — a GPU through JCuda or the emulator. Tensors live in device memory handed out by a caching pool, so once a
 * model, its workspace and a sampler's buffers exist, a sampling loop allocates nothing; only the final image (or
 * latent on request) comes back to the host. Launches are asynchronous; {@link #read} synchronizes.
 *
 * <p>{@link Precision}: FP32 runs every op in float32 (linear_f32). BF16 runs the linear layers on tensor cores
 * (kernels/gemm_bf16.cu, tile and split-K chosen per shape by {@link GemmPlan}): linear weights are converted to
 * bf16 once, at upload ({@link #constant}); a {@link ActivationKind#LINEAR_INPUT} activation is a bf16 tensor that
 * its producer writes rounded (modulatedLayerNorm, a linear's epilogue, silu, patchify, timestepFrequencies; other
 * producers through a float32 stand-in and a rounding pass), so the GEMM reads it as is; any other float32 operand
 * is converted by a pass (convert_bf16_rows) right before the GEMM. Accumulation stays fp32, and every tensor other
 * than those GEMM operands (the residual stream, modulations) stays fp32. Attention runs on tensor cores
 * (kernels/attention_bf16.cu, chosen by {@link AttentionPlan}) from a bf16 qkv, which {@link #selfAttention}'s
 * projection writes directly (a bf16-output GEMM) and {@link #attention} converts from fp32.
 */
public final class CudaOps implements Ops {
    private static final String[] MODULES = {"elementwise", "gemm", "gemm_bf16", "conv", "attention", "attention_bf16", "norm",
            "embed", "layout", "sampler"};
    private static final int BLOCK = 256;
    private static final int MAX_GRID = 4096;

    private final Device device;
    private final String name;
    private final Precision precision;
    private final Map<String, Device.Kernel> kernels = new HashMap<>();
    private final Pool pool = new Pool();
    private ByteBuffer staging = ByteBuffer.allocateDirect(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    /** Device scratch for small per-call vectors (channel affine factors). */
    private final Tensor scratch;
    /**
     * Per-call temporaries: the bf16 linear's converted activation operand, a weight operand and split-K partial
     * sums; the float32 stand-in of a bf16 output ({@link #throughFloat32}).
     */
    private final Workspace bf16Activations = new Workspace(), bf16Weights = new Workspace(), splitK = new Workspace(),
            float32StandIn = new Workspace();
    /** The bf16 qkv of the tensor-core attention. */
    private final Workspace bf16Qkv = new Workspace();
    /** The largest host-to-device copy at a time: bigger uploads go in pieces (the staging buffer is kept). */
    private static final int STAGING_MAX = 1 << 24;

    /** A float32 backend. */
    public CudaOps(Device device, String name) {
        this(device, name, Precision.FP32);
    }

    public CudaOps(Device device, String name, Precision precision) {
        this.device = device;
        this.name = name;
        this.precision = precision;
        for (String m : MODULES) {
            Device.Module module = device.load(m, ptx(m));
            for (String entry : entries(ptx(m))) kernels.put(entry, module.kernel(entry));
        }
        scratch = alloc(Shape.of(2048));
    }

    public Device device() {
        return device;
    }

    public Precision precision() {
        return precision;
    }

    @Override
    public String name() {
        return name;
    }

    /** Free device memory plus the pool's cached buffers (which a new allocation may reclaim). */
    @Override
    public long memoryAvailable() {
        return device.memoryInfo()[0] + pool.cachedBytes();
    }

    static String ptx(String module) {
        try (InputStream in = CudaOps.class.getResourceAsStream("/dev/ditj/kernels/" + module + ".ptx")) {
            if (in == null) throw new DitjException("kernel module " + module + ".ptx is missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new DitjException("cannot read kernel module " + module + ".ptx: " + e.getMessage(), e);
        }
    }

    /** The names of the {@code .visible .entry} kernels of a PTX module. */
    static List<String> entries(String ptx) {
        List<String> names = new ArrayList<>();
        for (String line : ptx.split("\n")) {
            String s = line.trim();
            if (s.startsWith(".visible .entry ")) names.add(s.substring(16, s.indexOf('(')).trim());
        }
        return names;
    }

    private Device.Kernel kernel(String entry) {
        Device.Kernel k = kernels.get(entry);
        if (k == null) throw new IllegalStateException("no kernel " + entry);
        return k;
    }

    // ------------------------------------------------------------------------------------------------ memory

    /**
     * A device buffer: a pointer into a pooled allocation, or a view of one. A BF16 tensor is a GEMM operand, a
     * linear weight [N, K] or a {@link ActivationKind#LINEAR_INPUT} activation [.., K]: rows of K values stored
     * {@code ld} elements apart ({@link #bf16Stride}).
     */
    final class CudaTensor implements Tensor {
        final long ptr;
        final Shape shape;
        final DType dtype;
        final long bytes;
        final boolean owner;
        /** Row stride in elements of a BF16 tensor (0 for other tensors). */
        final int ld;
        /** Host copy of an int32 tensor (labels), so ops can validate them without reading the device. */
        int[] hostInts;
        boolean closed;

        CudaTensor(long ptr, Shape shape, DType dtype, long bytes, boolean owner) {
            this(ptr, shape, dtype, bytes, owner, 0);
        }

        CudaTensor(long ptr, Shape shape, DType dtype, long bytes, boolean owner, int ld) {
            this.ptr = ptr;
            this.shape = shape;
            this.dtype = dtype;
            this.bytes = bytes;
            this.owner = owner;
            this.ld = ld;
        }

        @Override
        public Shape shape() {
            return shape;
        }

        @Override
        public DType dtype() {
            return dtype;
        }

        @Override
        public void close() {
            if (owner && !closed) pool.release(ptr, bytes);
            closed = true;
        }

        @Override
        public String toString() {
            return name + ":" + dtype + shape;
        }
    }

    /**
     * Device allocations cached by size: a freed buffer is kept for the next request of the same size, so
     * repeated generations reuse memory instead of allocating (memory stays flat; no cuMemAlloc in a loop).
     */
    private final class Pool {
        private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
        private final List<long[]> all = new ArrayList<>();

        synchronized long take(long bytes) {
            ArrayDeque<Long> q = free.get(bytes);
            if (q != null && !q.isEmpty()) return q.pop();
            long p;
            try {
                p = device.alloc(Math.max(bytes, 4));
            } catch (CudaException e) {
                // cached buffers of other sizes may be what is missing: give them back and try once more
                if (!releaseCached()) throw e;
                p = device.alloc(Math.max(bytes, 4));
            }
            all.add(new long[] {p, bytes});
            return p;
        }

        synchronized long cachedBytes() {
            long n = 0;
            for (Map.Entry<Long, ArrayDeque<Long>> e : free.entrySet()) n += e.getKey() * e.getValue().size();
            return n;
        }

        /** Frees every cached (unused) buffer; true if there was any. */
        synchronized boolean releaseCached() {
            boolean any = false;
            for (ArrayDeque<Long> q : free.values()) {
                for (Long p : q) {
                    device.free(p);
                    all.removeIf(a -> a[0] == p);
                    any = true;
                }
                q.clear();
            }
            return any;
        }

        synchronized void release(long ptr, long bytes) {
            free.computeIfAbsent(bytes, b -> new ArrayDeque<>()).push(ptr);
        }

        synchronized void freeAll() {
            for (long[] a : all) device.free(a[0]);
            all.clear();
            free.clear();
        }
    }

    /**
     * Device memory for per-call temporaries, taken from the pool and kept: it only grows, and an outgrown buffer
     * stays allocated until close, because a captured graph may still use it.
     */
    private final class Workspace {
        private long ptr, bytes = -1;

        long at(long need) {
            if (need > bytes) {
                ptr = pool.take(need);
                bytes = need;
            }
            return ptr;
        }
    }

    private CudaTensor cuda(Tensor t) {
        if (t instanceof CudaTensor c && !c.closed) return c;
        throw new IllegalArgumentException("tensor " + t + " does not belong to this CUDA backend (or is closed)");
    }

    /** The device pointer of a float32 or int32 operand (0 for null). */
    private long p(Tensor t) {
        if (t == null) return 0L;
        CudaTensor c = cuda(t);
        if (c.dtype == DType.BF16) throw new IllegalArgumentException(c + " is a bf16 GEMM operand: only linear reads it");
        return c.ptr;
    }

    private boolean isBf16(Tensor t) {
        return cuda(t).dtype == DType.BF16;
    }

    /** Whether every pointer is 16-byte aligned (the vector paths of the memory-bound kernels). */
    private static boolean aligned16(long... pointers) {
        for (long q : pointers) if ((q & 15) != 0) return false;
        return true;
    }

    private CudaTensor allocate(Shape shape, DType dtype) {
        long bytes = shape.numel() * dtype.bytes;
        return new CudaTensor(pool.take(bytes), shape, dtype, bytes, true);
    }

    @Override
    public Tensor alloc(Shape shape) {
        return allocate(shape, DType.F32);
    }

    @Override
    public Tensor allocInts(Shape shape) {
        return allocate(shape, DType.I32);
    }

    /** In BF16 mode a linear input is a bf16 tensor with rows of {@link #bf16Stride} elements. */
    @Override
    public Tensor alloc(Shape shape, ActivationKind kind) {
        int cols = shape.numel() == 0 ? 0 : shape.dim(-1);
        if (precision != Precision.BF16 || kind != ActivationKind.LINEAR_INPUT || cols == 0) return alloc(shape);
        int ld = bf16Stride(cols);
        long bytes = 2L * (shape.numel() / cols) * ld;
        return new CudaTensor(pool.take(bytes), shape, DType.BF16, bytes, true, ld);
    }

    @Override
    public Tensor upload(HostTensor host) {
        Tensor t = alloc(host.shape());
        write(t, host.data());
        return t;
    }

    /** In BF16 mode a linear weight [N, K] is stored as bf16 (rounded to nearest even), rows of {@link #bf16Stride}. */
    @Override
    public Tensor constant(HostTensor host, ConstantKind kind) {
        if (precision != Precision.BF16 || kind != ConstantKind.LINEAR_WEIGHT) return upload(host);
        int n = host.shape().dim(0), k = Math.toIntExact(host.shape().numel() / n), ld = bf16Stride(k);
        long bytes = 2L * n * ld;
        CudaTensor t = new CudaTensor(pool.take(bytes), host.shape(), DType.BF16, bytes, true, ld);
        writeBf16Rows(t, host.data());
        return t;
    }

    /** Writes float32 rows [.., K] into a bf16 tensor, rounded to nearest even, the row padding zero. */
    private void writeBf16Rows(CudaTensor t, float[] v) {
        int k = t.shape.dim(-1), ld = t.ld;
        toDevice(t.ptr, v.length / k, 2 * ld, (b, first, count) -> {
            for (int r = 0; r < count; r++) {
                long row = (first + r) * k;
                for (int c = 0; c < ld; c++) b.putShort(2 * (r * ld + c), c < k ? FloatFormats.floatToBf16(v[(int) row + c]) : 0);
            }
        });
    }

    /** Fills a staging buffer with items [first, first + count) (absolute puts from index 0). */
    private interface StagingFill {
        void put(ByteBuffer b, long first, int count);
    }

    /**
     * Copies {@code count} items of {@code itemBytes} each to device memory at {@code dst}, through the staging buffer
     * in pieces of at most {@link #STAGING_MAX} bytes (so a big weight does not leave a big buffer behind).
     */
    private void toDevice(long dst, long count, int itemBytes, StagingFill fill) {
        long per = Math.max(1, STAGING_MAX / itemBytes);
        for (long first = 0; first < count; first += per) {
            int n = (int) Math.min(per, count - first);
            ByteBuffer b = staging((long) n * itemBytes);
            fill.put(b, first, n);
            device.copyToDevice(dst + first * itemBytes, b);
        }
    }

    /**
     * Row stride of a bf16 GEMM operand with k columns: a multiple of 16 elements, so rows start on 32-byte sectors
     * (cp.async needs 16-byte rows; sector-aligned rows keep every 64-byte k step within 2 sectors).
     */
    static int bf16Stride(int k) {
        return (k + 15) / 16 * 16;
    }

    @Override
    public Tensor view(Tensor base, Shape shape) {
        CudaTensor b = cuda(base);
        if (b.dtype == DType.BF16) throw new IllegalArgumentException(b + " is a bf16 GEMM operand: it has no views");
        long bytes = shape.numel() * b.dtype.bytes;
        if (bytes > b.bytes) throw new IllegalArgumentException("view " + shape + " exceeds its base " + b.shape);
        return new CudaTensor(b.ptr, shape, b.dtype, bytes, false);
    }

    private ByteBuffer staging(long bytes) {
        if (staging.capacity() < bytes) {
            staging = ByteBuffer.allocateDirect((int) Math.max(bytes, 2L * staging.capacity())).order(ByteOrder.LITTLE_ENDIAN);
        }
        staging.clear().limit((int) bytes);
        return staging;
    }

    /** Float32 values, or, into a bf16 tensor, the values rounded to bf16. */
    @Override
    public void write(Tensor dst, float[] values) {
        CudaTensor t = cuda(dst);
        if (t.shape.numel() != values.length) throw new IllegalArgumentException(values.length + " values for " + t);
        if (t.dtype == DType.BF16) {
            writeBf16Rows(t, values);
            return;
        }
        toDevice(t.ptr, values.length, 4, (b, first, count) -> b.asFloatBuffer().put(values, (int) first, count));
    }

    @Override
    public void writeInts(Tensor dst, int[] values) {
        CudaTensor t = cuda(dst);
        if (t.shape.numel() != values.length) throw new IllegalArgumentException(values.length + " values for " + t);
        ByteBuffer b = staging(4L * values.length);
        b.asIntBuffer().put(values);
        device.copyToDevice(t.ptr, b);
        t.hostInts = values.clone();
    }

    @Override
    public float[] read(Tensor src) {
        CudaTensor t = cuda(src);
        float[] out = new float[t.shape.size()];
        if (t.dtype == DType.BF16) {
            int k = t.shape.dim(-1), n = out.length / k;
            ByteBuffer b = staging(t.bytes);
            device.copyToHost(b, t.ptr);
            for (int r = 0; r < n; r++) for (int c = 0; c < k; c++) out[r * k + c] = FloatFormats.bf16ToFloat(b.getShort(2 * (r * t.ld + c)));
            return out;
        }
        ByteBuffer b = staging(4L * out.length);
        device.copyToHost(b, t.ptr);
        b.rewind();
        b.asFloatBuffer().get(out);
        return out;
    }

    @Override
    public void copy(Tensor dst, long dstOffset, Tensor src, long srcOffset, long count) {
        if (dstOffset + count > dst.numel() || srcOffset + count > src.numel()) {
            throw new IllegalArgumentException("copy of " + count + " elements out of bounds: " + src + " -> " + dst);
        }
        device.copyOnDevice(p(dst) + 4 * dstOffset, p(src) + 4 * srcOffset, 4 * count);
    }

    @Override
    public void synchronize() {
        device.synchronize();
    }

    @Override
    public Graph capture(Runnable work) {
        device.beginCapture();
        Device.Graph g;
        try {
            work.run();
        } finally {
            g = device.endCapture();
        }
        Device.Graph graph = g;
        return new Graph() {
            @Override
            public void replay() {
                device.replay(graph);
            }

            @Override
            public void close() {
                graph.close();
            }
        };
    }

    @Override
    public void close() {
        pool.freeAll();
        device.close();
    }

    /** Gives device memory that tensors no longer use back to the device (it is otherwise kept for reuse). */
    public void releaseCachedMemory() {
        pool.releaseCached();
    }

    /** Bytes currently held by this backend's pool (in use or cached), for memory checks. */
    public long pooledBytes() {
        synchronized (pool) {
            long n = 0;
            for (long[] a : pool.all) n += a[1];
            return n;
        }
    }

    // ------------------------------------------------------------------------------------------------ launches

    /** A grid-stride elementwise kernel over n elements. */
    private void elementwise(String kernel, long n, Object... args) {
        if (n == 0) return;
        int grid = (int) Math.min(MAX_GRID, (n + BLOCK - 1) / BLOCK);
        device.launch(kernel(kernel), new int[] {grid, 1, 1}, new int[] {BLOCK, 1, 1}, 0, args);
    }

    /** A grid-stride elementwise kernel that takes 4 elements per thread where it can (ditj_for_vec4). */
    private void elementwise4(String kernel, long n, Object... args) {
        elementwise(kernel, (n + 3) / 4, args);
    }

    /**
     * Runs {@code op} on a float32 stand-in for the bf16 tensor {@code out}, then rounds the result into out: the
     * bf16 output of a producer that writes only float32 (the rounding pass the GEMM would otherwise make).
     */
    private void throughFloat32(Tensor out, java.util.function.Consumer<Tensor> op) {
        CudaTensor o = cuda(out);
        int cols = o.shape.dim(-1);
        long rows = o.shape.numel() / cols, bytes = 4 * o.shape.numel(), f = float32StandIn.at(bytes);
        op.accept(new CudaTensor(f, o.shape, DType.F32, bytes, false));
        elementwise("convert_bf16_rows", rows * o.ld, o.ptr, f, (int) rows, cols, o.ld, 0);
    }

    private static int ceilDiv(long a, int b) {
        return (int) ((a + b - 1) / b);
    }

    private static int activation(Activation act) {
        switch (act) {
            case SILU: return 1;
            case GELU_TANH: return 2;
            default: return 0;
        }
    }

    @Override
    public void linear(Tensor out, Tensor x, Tensor w, Tensor bias, Activation act) {
        linear(out, x, w, bias, act, null, null, 0, 1, null);
    }

    /** x += gate ⊙ (a·wᵀ + bias) in one GEMM: the gated residual is the linear kernels' epilogue. */
    @Override
    public void linearGatedResidual(Tensor x, Tensor a, Tensor w, Tensor bias, Tensor mod, int gateChunk, int tokens) {
        linear(x, a, w, bias, Activation.NONE, x, mod, gateChunk, tokens, null);
    }

    /**
     * {@link #linear} with the fused epilogue of the linear kernels: with a {@code residual}, out = residual +
     * gate ⊙ act(x·wᵀ + bias), the gate being chunk {@code gateChunk} of {@code mod [B, k·N]} for the row's sample
     * (row / tokens), or 1 without {@code mod}; residual may be out itself. {@code plan} forces a bf16 tile and
     * split count (null: {@link GemmPlan#choose}). A bf16 x is read as it is; a bf16 out gets the rounded result
     * (rows of its own stride; e.g. the internal qkv of {@link #selfAttention}); a residual needs a float32 out.
     */
    void linear(Tensor out, Tensor x, Tensor w, Tensor bias, Activation act, Tensor residual, Tensor mod, int gateChunk,
                int tokens, GemmPlan plan) {
        int n = w.dim(0), k = Math.toIntExact(w.numel() / n), m = Ops.linearRows(out, x, w);
        long gate = mod == null ? 0L : p(mod) + 4L * gateChunk * n;
        int gateStride = mod == null ? 0 : mod.dim(-1);
        Object[] epilogue = {p(bias), activation(act), p(residual), gate, gateStride, tokens};
        if (precision == Precision.FP32 && plan == null) {
            device.launch(kernel("linear_f32"), new int[] {ceilDiv(n, 64), ceilDiv(m, 64), 1}, new int[] {256, 1, 1}, 0,
                    concat(new Object[] {p(out), p(x), weightF32(w), m, n, k}, epilogue));
            return;
        }
        CudaTensor xt = cuda(x), ot = cuda(out), wt = cuda(w);
        long a = xt.ptr;
        int lda = xt.ld;
        if (xt.dtype == DType.BF16) {      // written in bf16 by its producer: read as it is
            if (x.dim(-1) != k) throw new IllegalArgumentException("linear: bf16 x " + x.shape() + " must have rows of " + k);
        } else {
            lda = bf16Stride(k);
            a = bf16Activations.at(2L * m * lda);
            elementwise("convert_bf16_rows", (long) m * lda, a, p(x), m, k, lda, 0);
        }
        long wp = wt.ptr;
        int ldw = wt.ld;
        if (wt.dtype != DType.BF16) {       // a float32 weight (not uploaded as a constant): converted per call
            ldw = bf16Stride(k);
            wp = bf16Weights.at(2L * n * ldw);
            elementwise("convert_bf16_rows", (long) n * ldw, wp, wt.ptr, n, k, ldw, 0);
        }
        boolean bf16Out = ot.dtype == DType.BF16;
        if (bf16Out && (residual != null || out.dim(-1) != n)) {
            throw new IllegalArgumentException("linear: bf16 out " + out.shape() + " needs rows of " + n + " and no residual");
        }
        int ldc = bf16Out ? ot.ld : n;
        GemmPlan g = plan != null ? plan : GemmPlan.choose(m, n, k, device.multiprocessors());
        if (g.splits() == 1) {
            device.launch(kernel(g.kernel(bf16Out)), g.grid(), g.block(), g.sharedBytes(),
                    concat(new Object[] {ot.ptr, a, wp, m, n, k, lda, ldw, ldc, g.kSplit()}, epilogue));
        } else {            // raw partial sums per split, then their sum in split order through the epilogue
            long ws = splitK.at(g.workspaceBytes());
            device.launch(kernel(g.kernel(false)), g.grid(), g.block(), g.sharedBytes(),
                    ws, a, wp, m, n, k, lda, ldw, n, g.kSplit(), 0L, 0, 0L, 0L, 0, 1);
            elementwise4("linear_splitk_reduce_" + (bf16Out ? "bf16" : "f32"), (long) m * n,
                    concat(new Object[] {ot.ptr, ldc, ws, g.splits(), m, n}, epilogue));
        }
    }

    private long weightF32(Tensor w) {
        CudaTensor t = cuda(w);
        if (t.dtype == DType.BF16) throw new IllegalArgumentException(t + " is a bf16 weight; the fp32 linear needs fp32");
        return t.ptr;
    }

    private static Object[] concat(Object[] a, Object[] b) {
        Object[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        elementwise4("add_f32", out.numel(), p(out), p(a), p(b), out.numel());
    }

    /** Into a bf16 out: the operand conversion pass with SiLU applied, one pass. */
    @Override
    public void silu(Tensor out, Tensor x) {
        if (isBf16(out)) {
            CudaTensor o = cuda(out);
            int cols = out.dim(-1), rows = Math.toIntExact(out.numel() / cols);
            elementwise("convert_bf16_rows", (long) rows * o.ld, o.ptr, p(x), rows, cols, o.ld, activation(Activation.SILU));
            return;
        }
        elementwise4("silu_f32", out.numel(), p(out), p(x), out.numel());
    }

    @Override
    public void addTokenTable(Tensor x, Tensor rows, int tokens) {
        elementwise4("add_token_table_f32", rows.numel(), p(x), p(rows), x.numel(), rows.numel());
    }

    @Override
    public void embeddingLookup(Tensor out, Tensor table, Tensor labels) {
        int[] y = cuda(labels).hostInts;
        int rows = table.dim(0);
        if (y != null) {
            for (int v : y) {
                if (v < 0 || v >= rows) throw new DitjException("class label " + v + " is out of range [0, " + (rows - 1) + "]");
            }
        }
        elementwise("embedding_lookup_f32", out.numel(), p(out), p(table), p(labels), out.numel(), table.dim(1));
    }

    @Override
    public void timestepFrequencies(Tensor out, Tensor t, Tensor freqs) {
        int batch = t.dim(0), half = freqs.dim(0);
        if (isBf16(out)) {
            elementwise("timestep_frequencies_bf16", (long) batch * half, cuda(out).ptr, cuda(out).ld, p(t), p(freqs), batch, half);
        } else {
            elementwise("timestep_frequencies_f32", (long) batch * half, p(out), p(t), p(freqs), batch, half);
        }
    }

    /** Rows per block and float4 registers per lane of modulated_layernorm (LN_ROWS, LN_VEC in norm.cu). */
    static final int LN_ROWS = 16, LN_VEC = 12;
    /** Rows per thread of gated_residual_f32 (GR_ROWS in elementwise.cu). */
    static final int GR_ROWS = 16;

    /** The rows of x as {@code batch} samples of {@code tokens} rows (the layout of the adaLN ops). */
    private static int samples(Tensor x, int tokens) {
        long rows = x.numel() / x.dim(-1);
        if (tokens <= 0 || rows % tokens != 0) throw new IllegalArgumentException(x + " does not hold rows of " + tokens + " tokens");
        return Math.toIntExact(rows / tokens);
    }

    /** Into a bf16 out the normalised rows are rounded once, at the store: the GEMM reads them without a pass. */
    @Override
    public void modulatedLayerNorm(Tensor out, Tensor x, Tensor mod, int shiftChunk, int scaleChunk, int tokens, float eps) {
        int h = x.dim(-1), batch = samples(x, tokens), stride = mod.dim(-1);
        CudaTensor o = cuda(out);
        boolean bf16 = o.dtype == DType.BF16;
        if (out.numel() != x.numel() || out.dim(-1) != h) {
            throw new IllegalArgumentException("modulatedLayerNorm: out " + out + " for x " + x);
        }
        int ld = bf16 ? o.ld : h;
        boolean vec = h % 4 == 0 && h <= 128 * LN_VEC && stride % 4 == 0 && ld % 4 == 0 && aligned16(p(x), p(mod), o.ptr);
        int[] grid = {ceilDiv(tokens, LN_ROWS), batch, 1}, block = {256, 1, 1};
        int shared = vec ? 8 * h : 0;
        Object[] rest = {p(x), p(mod), h, tokens, stride, shiftChunk, scaleChunk, eps, vec ? 1 : 0};
        if (bf16) device.launch(kernel("modulated_layernorm_bf16"), grid, block, shared, concat(new Object[] {o.ptr, ld}, rest));
        else device.launch(kernel("modulated_layernorm_f32"), grid, block, shared, concat(new Object[] {o.ptr}, rest));
    }

    @Override
    public void gatedResidual(Tensor x, Tensor y, Tensor mod, int gateChunk, int tokens) {
        int h = x.dim(-1), batch = samples(x, tokens), stride = mod.dim(-1);
        boolean vec = h % 4 == 0 && stride % 4 == 0 && aligned16(p(x), p(y), p(mod));
        device.launch(kernel("gated_residual_f32"), new int[] {ceilDiv(h, 128 * (vec ? 4 : 1)), ceilDiv(tokens, GR_ROWS), batch},
                new int[] {128, 1, 1}, 0, p(x), p(y), p(mod), h, tokens, stride, gateChunk, vec ? 1 : 0);
    }

    @Override
    public void attention(Tensor out, Tensor qkv, int batch, int tokens, int heads, float scale) {
        if (isBf16(out)) {      // the attention kernels write float32: rounded by a pass (the seam for a bf16 output)
            throughFloat32(out, f -> attention(f, qkv, batch, tokens, heads, scale));
            return;
        }
        AttentionPlan plan = AttentionPlan.choose(precision, batch, tokens, heads, out.dim(-1) / heads);
        long q = p(qkv);
        if (plan.bf16()) {   // the tensor-core kernel reads bf16: a conversion pass (selfAttention needs none)
            long rows = (long) batch * tokens, cols = 3L * out.dim(-1);
            q = bf16Qkv.at(2 * rows * cols);
            elementwise("convert_bf16_rows", rows * cols, q, p(qkv), (int) rows, (int) cols, (int) cols, 0);
        }
        attention(plan, out, q, scale);
    }

    /** In BF16 with a tensor-core head dim, the projection writes qkv in bf16 and the attention reads it. */
    @Override
    public void selfAttention(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor qkv, int batch, int tokens, int heads,
                              float scale) {
        AttentionPlan plan = AttentionPlan.choose(precision, batch, tokens, heads, out.dim(-1) / heads);
        if (!plan.bf16()) {
            Ops.super.selfAttention(out, x, w, bias, qkv, batch, tokens, heads, scale);
            return;
        }
        if (isBf16(out)) {
            throughFloat32(out, f -> selfAttention(f, x, w, bias, qkv, batch, tokens, heads, scale));
            return;
        }
        int rows = batch * tokens, n = 3 * out.dim(-1);
        long bytes = 2L * rows * n;
        CudaTensor q = new CudaTensor(bf16Qkv.at(bytes), Shape.of(rows, n), DType.BF16, bytes, false, n);
        linear(q, x, w, bias, Activation.NONE);
        attention(plan, out, q.ptr, scale);
    }

    /** The attention kernel of {@code plan} on qkv at {@code q} (bf16 for a tensor-core plan, rows 3H apart). */
    private void attention(AttentionPlan plan, Tensor out, long q, float scale) {
        Object[] args = plan.bf16()
                ? new Object[] {p(out), q, plan.tokens(), plan.heads(), 3 * out.dim(-1), scale}
                : new Object[] {p(out), q, plan.tokens(), plan.heads(), plan.headDim(), scale};
        device.launch(kernel(plan.kernelName()), plan.grid(), plan.block(), plan.sharedBytes(), args);
    }

    /** Floats of a layout kernel's shared tile (48 KiB, the default limit of dynamic shared memory). */
    private static final int LAYOUT_TILE_FLOATS = 12288;

    /**
     * The launch of a tiled patchify / unpatchify: blocks of {@code span} tokens of one token row (as many as the
     * shared tile [span][features + 1] holds), grid (ceil(G / span), G, B); the span is the kernel's last argument.
     */
    private void layout(String kernel, int batch, int side, int patch, int features, Object... args) {
        int g = side / patch, span = Math.min(g, LAYOUT_TILE_FLOATS / (features + 1));
        if (span == 0) throw new DitjException(kernel + ": " + features + " features per patch exceed the kernel's tile");
        device.launch(kernel(kernel), new int[] {ceilDiv(g, span), g, batch}, new int[] {256, 1, 1}, 4 * span * (features + 1),
                concat(args, new Object[] {span}));
    }

    @Override
    public void patchify(Tensor out, Tensor x, int patch) {
        int ch = x.dim(1), side = x.dim(2), f = ch * patch * patch;
        if (isBf16(out)) layout("patchify_bf16", x.dim(0), side, patch, f, cuda(out).ptr, cuda(out).ld, p(x), ch, side, patch);
        else layout("patchify_f32", x.dim(0), side, patch, f, p(out), p(x), ch, side, patch);
    }

    @Override
    public void unpatchify(Tensor out, Tensor x, int patch, int channels) {
        int side = out.dim(2);
        layout("unpatchify_f32", out.dim(0), side, patch, patch * patch * channels, p(out), p(x), channels, side, patch);
    }

    // ------------------------------------------------------------------------------------------------ convolution

    @Override
    public void conv2d(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor residual) {
        int batch = x.dim(0), ci = x.dim(1), height = x.dim(2), width = x.dim(3), co = w.dim(0), k = w.dim(2);
        if (w.dim(1) != ci || out.dim(1) != co || out.dim(2) != height || out.dim(3) != width) {
            throw new IllegalArgumentException("conv2d shapes: x " + x.shape() + ", w " + w.shape() + ", out " + out.shape());
        }
        device.launch(kernel("conv2d_f32"), new int[] {ceilDiv((long) height * width, 64), ceilDiv(co, 64), batch},
                new int[] {256, 1, 1}, 0, p(out), p(x), p(w), p(bias), p(residual), ci, co, height, width, k);
    }

    @Override
    public void groupNorm(Tensor out, Tensor x, Tensor gamma, Tensor beta, int groups, float eps, boolean silu) {
        int batch = x.dim(0), ch = x.dim(1), spatial = Math.toIntExact(x.shape().numelFrom(2));
        device.launch(kernel("group_norm_f32"), new int[] {groups, batch, 1}, new int[] {256, 1, 1}, 0,
                p(out), p(x), p(gamma), p(beta), ch, spatial, groups, eps, silu ? 1 : 0);
    }

    @Override
    public void upsampleNearest2x(Tensor out, Tensor x) {
        elementwise("upsample_nearest2x_f32", out.numel(), p(out), p(x), out.numel(), x.dim(2), x.dim(3));
    }

    @Override
    public void channelsToTokens(Tensor out, Tensor x) {
        elementwise("channels_to_tokens_f32", out.numel(), p(out), p(x), out.numel(), x.dim(1), x.shape().numelFrom(2));
    }

    @Override
    public void tokensToChannels(Tensor out, Tensor tokens, Tensor residual) {
        elementwise("tokens_to_channels_f32", out.numel(), p(out), p(tokens), p(residual), out.numel(), out.dim(1),
                out.shape().numelFrom(2));
    }

    @Override
    public void channelAffine(Tensor out, Tensor x, float[] mul, float div, float[] add) {
        int c = x.dim(1);
        float[] factors = new float[scratch.shape().size()];
        if (2 * c > factors.length) throw new DitjException("channelAffine supports up to " + factors.length / 2 + " channels");
        System.arraycopy(mul, 0, factors, 0, c);
        System.arraycopy(add, 0, factors, c, c);
        write(scratch, factors);
        long s = p(scratch);
        elementwise("channel_affine_f32", x.numel(), p(out), p(x), s, s + 4L * c, div, x.numel(), c, x.shape().numelFrom(2));
    }

    // ------------------------------------------------------------------------------------------------ sampling

    @Override
    public void cfgCombine(Tensor out, Tensor modelOut, int guidedChannels, float scale) {
        elementwise4("cfg_combine_f32", out.numel(), p(out), p(modelOut), out.numel(), out.dim(1),
                out.shape().numelFrom(2), guidedChannels, scale);
    }

    @Override
    public void ddpmStep(Tensor x, Tensor modelOut, Tensor noise, DdpmCoefficients k) {
        elementwise4("ddpm_step_f32", x.numel(), p(x), p(modelOut), p(noise), x.numel(), x.dim(1), modelOut.dim(1),
                x.shape().numelFrom(2), k.sqrtRecipAlphasCumprod(), k.sqrtRecipm1AlphasCumprod(),
                k.posteriorMeanCoef1(), k.posteriorMeanCoef2(), k.minLog(), k.maxLog(), k.learnedVariance() ? 1 : 0,
                k.fixedLogVariance(), k.addNoise() ? 1 : 0);
    }

    @Override
    public void ddimStep(Tensor x, Tensor modelOut, Tensor noise, DdimCoefficients k) {
        elementwise4("ddim_step_f32", x.numel(), p(x), p(modelOut), p(noise), x.numel(), x.dim(1), modelOut.dim(1),
                x.shape().numelFrom(2), k.sqrtRecipAlphasCumprod(), k.sqrtRecipm1AlphasCumprod(),
                k.sqrtAlphasCumprodPrev(), k.sigma(), k.sqrtOneMinusPrevMinusSigma2(), k.addNoise() ? 1 : 0);
    }

    @Override
    public void dpmSolverStep(Tensor x, Tensor modelOut, Tensor x0, Tensor x0Prev, DpmSolverCoefficients k) {
        elementwise4("dpm_solver_step_f32", x.numel(), p(x), p(modelOut), p(x0), k.secondOrder() ? p(x0Prev) : 0L,
                x.numel(), x.dim(1), modelOut.dim(1), x.shape().numelFrom(2), k.sigmaS(), k.alphaS(), k.ratio(), k.a(),
                k.secondOrder() ? 1 : 0, k.invR0());
    }
}
