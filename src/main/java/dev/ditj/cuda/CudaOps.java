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
 * bf16 once, at upload ({@link #constant}); the activation operand is converted by a pass (convert_bf16_rows) right
 * before each GEMM; accumulation and outputs stay fp32, as does every other op. The VAE's image ops run on
 * channel-last bf16 activations there: see {@link Layout} and the convolution section.
 */
public final class CudaOps implements Ops {
    private static final String[] MODULES = {"elementwise", "gemm", "gemm_bf16", "conv", "conv_bf16", "image_bf16", "attention",
            "norm", "embed", "layout", "sampler"};
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
    /** Per-call temporaries of the bf16 linear: the activation operand, a weight operand, split-K partial sums. */
    private final Workspace bf16Activations = new Workspace(), bf16Weights = new Workspace(), splitK = new Workspace();
    /** Per-call temporaries of the image ops: converted operands, the fp32 convolution's output, GroupNorm statistics. */
    private final Workspace imageIn = new Workspace(), imageAux = new Workspace(), imageTmp = new Workspace(),
            groupNormStats = new Workspace();

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
     * How an activation's values are stored: a private matter of this backend, ops and {@link #read} see NCHW
     * float32 either way. Set by the image op that last wrote the tensor ({@link #wrote}).
     */
    enum Layout {
        /** float32 (int32 for labels) in the order of the shape. */
        PLAIN,
        /**
         * bf16, channel-last: a tensor of shape [B, C, spatial...] stored as [B, spatial, C] (Precision.BF16, for C
         * as {@link ConvPlan#channelsLast} says). Written by conv2d, groupNorm, upsampling and tokensToChannels; read
         * by those, add and channelsToTokens; other ops refuse it. A view keeps it if it keeps batch, channels and
         * pixels per image, and a write through a view shows in the tensors it views that hold the same images. Any
         * other tensor over the same memory (the buffer the view was taken of, views made before the write) is stale
         * afterwards: read and the image ops refuse it.
         */
        CHANNELS_LAST
    }

    /**
     * A device buffer: a pointer into a pooled allocation, or a view of one. A BF16 tensor is a weight stored with
     * rows of {@code ld} elements ({@link #bf16Stride}): a linear weight [N, K], or a conv weight [Co, Ci, k, k]
     * stored [Co, k, k, Ci]. Activations are float32 at the interface, stored as {@link #layout} says.
     */
    final class CudaTensor implements Tensor {
        final long ptr;
        final Shape shape;
        final DType dtype;
        final long bytes;
        final boolean owner;
        /** Row stride in elements of a BF16 weight (0 for other tensors). */
        final int ld;
        /** The tensor this one is a view of (null for an allocation). */
        final CudaTensor base;
        /** How the values are stored now. */
        Layout layout = Layout.PLAIN;
        /** The allocation's {@link #layoutWrites} when {@link #layout} was last set: older means stale. */
        long seen;
        /** On an allocation: the layout-setting writes that made other tensors over it stale (see {@link #wrote}). */
        long layoutWrites;
        /** Host copy of an int32 tensor (labels), so ops can validate them without reading the device. */
        int[] hostInts;
        boolean closed;

        CudaTensor(long ptr, Shape shape, DType dtype, long bytes, boolean owner) {
            this(ptr, shape, dtype, bytes, owner, 0, null);
        }

        CudaTensor(long ptr, Shape shape, DType dtype, long bytes, boolean owner, int ld, CudaTensor base) {
            this.ptr = ptr;
            this.shape = shape;
            this.dtype = dtype;
            this.bytes = bytes;
            this.owner = owner;
            this.ld = ld;
            this.base = base;
            this.seen = base == null ? 0 : root().layoutWrites;
        }

        CudaTensor root() {
            return base == null ? this : base.root();
        }

        /** Whether {@link #layout} still describes the memory (no other tensor over it has set a layout since). */
        boolean current() {
            return seen == root().layoutWrites;
        }

        boolean channelsLast() {
            return layout == Layout.CHANNELS_LAST && current();
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
        if (c.dtype == DType.BF16) {
            String op = c.shape.rank() == 4 ? "conv" : "linear";
            throw new IllegalArgumentException(c + " is a bf16 " + op + " weight: only " + op + " reads it");
        }
        if (c.channelsLast()) {
            throw new IllegalArgumentException(c + " holds channel-last bf16 activations (BF16 image ops): this op reads float32");
        }
        return c.ptr;
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

    @Override
    public Tensor upload(HostTensor host) {
        Tensor t = alloc(host.shape());
        write(t, host.data());
        return t;
    }

    /**
     * In BF16 mode a linear weight [N, K] is stored as bf16 (rounded to nearest even), rows of {@link #bf16Stride};
     * so is a conv weight [Co, Ci, k, k] that the tensor-core convolution takes ({@link ConvPlan#channelsLast}(Ci)),
     * as rows [k, k, Ci] (the order of its GEMM's K).
     */
    @Override
    public Tensor constant(HostTensor host, ConstantKind kind) {
        boolean linear = kind == ConstantKind.LINEAR_WEIGHT;
        boolean conv = kind == ConstantKind.CONV_WEIGHT && ConvPlan.channelsLast(host.shape().dim(1));
        if (precision != Precision.BF16 || !linear && !conv) return upload(host);
        int n = host.shape().dim(0), k = Math.toIntExact(host.shape().numel() / n), ld = bf16Stride(k);
        int ci = conv ? host.shape().dim(1) : k, taps = k / ci;
        float[] v = host.data();
        long bytes = 2L * n * ld;
        ByteBuffer b = staging(bytes);
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < ld; c++) {   // column c = tap·Ci + channel of row r (a linear weight: taps = 1)
                short h = c < k ? FloatFormats.floatToBf16(v[r * k + (c % ci) * taps + c / ci]) : 0;
                b.putShort(2 * (r * ld + c), h);
            }
        }
        CudaTensor t = new CudaTensor(pool.take(bytes), host.shape(), DType.BF16, bytes, true, ld, null);
        device.copyToDevice(t.ptr, b);
        return t;
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
        if (b.dtype == DType.BF16) throw new IllegalArgumentException(b + " is a bf16 weight: it has no views");
        long bytes = shape.numel() * b.dtype.bytes;
        if (bytes > b.bytes) throw new IllegalArgumentException("view " + shape + " exceeds its base " + b.shape);
        CudaTensor v = new CudaTensor(b.ptr, shape, b.dtype, bytes, false, 0, b);
        if (b.channelsLast()) {
            if (!sameImage(b.shape, shape)) {
                throw new IllegalArgumentException("view " + shape + " of " + b + ", which holds channel-last bf16 activations, "
                        + "must keep its batch, channels and pixels per image");
            }
            v.layout = Layout.CHANNELS_LAST;
        }
        return v;
    }

    /** Whether two shapes [B, C, spatial...] describe the same images (so a channel-last layout carries over). */
    private static boolean sameImage(Shape a, Shape b) {
        return a.rank() >= 3 && b.rank() >= 3 && a.dim(0) == b.dim(0) && a.dim(1) == b.dim(1) && a.numelFrom(2) == b.numelFrom(2);
    }

    /**
     * Records that an op wrote {@code t} in {@code layout}: t and the tensors it is a view of that hold the same
     * values (same images; any shape of the same size for float32) now read that way. A channel-last write, and any
     * write to memory that has held channel-last values, makes every other tensor over the allocation stale.
     */
    private static void wrote(Tensor out, Layout layout) {
        CudaTensor t = (CudaTensor) out, root = t.root();
        if (layout == Layout.CHANNELS_LAST || root.layoutWrites > 0) root.layoutWrites++;
        for (CudaTensor a = t; a != null; a = a.base) {
            if (a != t && (layout == Layout.PLAIN ? a.shape.numel() != t.shape.numel() : !sameImage(a.shape, t.shape))) break;
            a.layout = layout;
            a.seen = root.layoutWrites;
        }
    }

    private ByteBuffer staging(long bytes) {
        if (staging.capacity() < bytes) {
            staging = ByteBuffer.allocateDirect((int) Math.max(bytes, 2L * staging.capacity())).order(ByteOrder.LITTLE_ENDIAN);
        }
        staging.clear().limit((int) bytes);
        return staging;
    }

    @Override
    public void write(Tensor dst, float[] values) {
        CudaTensor t = cuda(dst);
        if (t.dtype == DType.BF16) throw new IllegalArgumentException(t + " is a bf16 weight, a constant");
        if (t.shape.numel() != values.length) throw new IllegalArgumentException(values.length + " values for " + t);
        ByteBuffer b = staging(4L * values.length);
        b.asFloatBuffer().put(values);
        device.copyToDevice(t.ptr, b);
        wrote(t, Layout.PLAIN);
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
        CudaTensor t = input(src);
        float[] out = new float[t.shape.size()];
        if (t.dtype == DType.BF16) {   // a weight: rows of ld, a conv weight's row in the order [k, k, Ci]
            int n = t.shape.dim(0), k = out.length / n, ci = t.shape.rank() == 4 ? t.shape.dim(1) : k, taps = k / ci;
            ByteBuffer b = staging(t.bytes);
            device.copyToHost(b, t.ptr);
            for (int r = 0; r < n; r++) {
                for (int c = 0; c < k; c++) out[r * k + (c % ci) * taps + c / ci] = FloatFormats.bf16ToFloat(b.getShort(2 * (r * t.ld + c)));
            }
            return out;
        }
        if (t.layout == Layout.CHANNELS_LAST) {   // [B, spatial, C] bf16 to [B, C, spatial]
            int batch = t.shape.dim(0), ch = t.shape.dim(1), hw = out.length / (batch * ch);
            ByteBuffer b = staging(2L * out.length);
            device.copyToHost(b, t.ptr);
            for (int i = 0; i < out.length; i++) {
                int c = i % ch, p = i / ch % hw, s = i / (ch * hw);
                out[(s * ch + c) * hw + p] = FloatFormats.bf16ToFloat(b.getShort(2 * i));
            }
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

    /**
     * {@link #linear} with the fused epilogue of the linear kernels: with a {@code residual}, out = residual +
     * gate ⊙ act(x·wᵀ + bias), the gate being chunk {@code gateChunk} of {@code mod [B, k·N]} for the row's sample
     * (row / tokens), or 1 without {@code mod}; residual may be out itself. {@code plan} forces a bf16 tile and
     * split count (null: {@link GemmPlan#choose}).
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
        int lda = bf16Stride(k);
        long a = bf16Activations.at(2L * m * lda);
        elementwise("convert_bf16_rows", (long) m * lda, a, p(x), m, k, lda);
        CudaTensor wt = cuda(w);
        long wp = wt.ptr;
        int ldw = wt.ld;
        if (wt.dtype != DType.BF16) {       // a float32 weight (not uploaded as a constant): converted per call
            ldw = lda;
            wp = bf16Weights.at(2L * n * ldw);
            elementwise("convert_bf16_rows", (long) n * ldw, wp, wt.ptr, n, k, ldw);
        }
        GemmPlan g = plan != null ? plan : GemmPlan.choose(m, n, k, device.multiprocessors());
        Object[] operands = {a, wp, m, n, k, lda, ldw, g.kSplit()};
        if (g.splits() == 1) {
            device.launch(kernel(g.kernel(false)), g.grid(), g.block(), g.sharedBytes(),
                    concat(concat(new Object[] {p(out)}, operands), epilogue));
        } else {            // raw partial sums per split, then their sum in split order through the epilogue
            long ws = splitK.at(g.workspaceBytes());
            device.launch(kernel(g.kernel(false)), g.grid(), g.block(), g.sharedBytes(),
                    concat(concat(new Object[] {ws}, operands), new Object[] {0L, 0, 0L, 0L, 0, 1}));
            elementwise("linear_splitk_reduce_f32", (long) m * n, concat(new Object[] {p(out), ws, g.splits(), m, n}, epilogue));
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
        if (cuda(a).channelsLast() || cuda(b).channelsLast()) {   // image activations stay channel-last
            long chunks = out.numel() / 8;
            elementwise("add_nhwc", chunks, output(out), channelsLastInput(a, imageIn), channelsLastInput(b, imageAux), chunks);
            wrote(out, Layout.CHANNELS_LAST);
            return;
        }
        elementwise("add_f32", out.numel(), p(out), p(a), p(b), out.numel());
    }

    @Override
    public void silu(Tensor out, Tensor x) {
        elementwise("silu_f32", out.numel(), p(out), p(x), out.numel());
    }

    @Override
    public void addTokenTable(Tensor x, Tensor rows, int tokens) {
        elementwise("add_token_table_f32", x.numel(), p(x), p(rows), x.numel(), rows.numel());
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
        elementwise("timestep_frequencies_f32", (long) batch * half, p(out), p(t), p(freqs), batch, half);
    }

    @Override
    public void modulatedLayerNorm(Tensor out, Tensor x, Tensor mod, int shiftChunk, int scaleChunk, int tokens, float eps) {
        int h = x.dim(-1), rows = Math.toIntExact(x.numel() / h);
        device.launch(kernel("modulated_layernorm_f32"), new int[] {ceilDiv(rows, 8), 1, 1}, new int[] {256, 1, 1}, 0,
                p(out), p(x), p(mod), rows, h, tokens, mod.dim(-1), shiftChunk, scaleChunk, eps);
    }

    @Override
    public void gatedResidual(Tensor x, Tensor y, Tensor mod, int gateChunk, int tokens) {
        int h = x.dim(-1);
        elementwise("gated_residual_f32", x.numel(), p(x), p(y), p(mod), x.numel(), h, tokens, mod.dim(-1), gateChunk);
    }

    @Override
    public void attention(Tensor out, Tensor qkv, int batch, int tokens, int heads, float scale) {
        int hd = out.dim(-1) / heads;
        boolean small = hd <= 128;
        if (hd > 512) throw new DitjException("attention head dim " + hd + " is above the kernels' limit of 512");
        int warps = small ? 8 : 4, keyTile = small ? 32 : 16;
        int shared = (keyTile + warps) * (hd + 1) * 4;
        device.launch(kernel(small ? "attention_f32_d128" : "attention_f32_d512"),
                new int[] {ceilDiv(tokens, warps), heads, batch}, new int[] {32 * warps, 1, 1}, shared,
                p(out), p(qkv), tokens, heads, hd, scale);
    }

    @Override
    public void patchify(Tensor out, Tensor x, int patch) {
        elementwise("patchify_f32", out.numel(), p(out), p(x), out.numel(), x.dim(1), x.dim(2), patch);
    }

    @Override
    public void unpatchify(Tensor out, Tensor x, int patch, int channels) {
        elementwise("unpatchify_f32", out.numel(), p(out), p(x), out.numel(), channels, out.dim(2), patch);
    }

    // ------------------------------------------------------------------------------------------------ convolution
    //
    // The VAE's image ops. In Precision.BF16 an image tensor whose channel count ConvPlan.channelsLast allows is kept
    // channel-last bf16 (Layout.CHANNELS_LAST) from the op that writes it to the ops that read it: no conversions
    // between the decoder's ops. An op that meets a float32 operand where it wants channel-last converts it into a
    // per-call temporary (to_channels_last_bf16): the latent's first convolution, tensors uploaded by tests.

    /** An operand of an image op, or of read: one whose layout is known (not stale). */
    private CudaTensor input(Tensor t) {
        CudaTensor c = cuda(t);
        if (!c.current()) {
            throw new IllegalArgumentException(c + ": its memory was rewritten in another layout through another tensor "
                    + "(a channel-last bf16 op's output); use that tensor or a view of it made after the write");
        }
        return c;
    }

    /** A float32 operand of an image op (0 for null). */
    private long plain(Tensor t) {
        return t == null ? 0L : p(input(t));
    }

    /** The output of an image op, which sets its layout (so it may hold any layout before). */
    private long output(Tensor t) {
        CudaTensor c = cuda(t);
        if (c.dtype == DType.BF16) throw new IllegalArgumentException(c + " is a bf16 weight, a constant");
        return c.ptr;
    }

    /** Whether an image tensor of this many channels is kept channel-last here. */
    private boolean channelsLast(int channels) {
        return precision == Precision.BF16 && ConvPlan.channelsLast(channels);
    }

    /** The address of t's values as channel-last bf16 (0 for null): t itself, or a copy converted into ws. */
    private long channelsLastInput(Tensor t, Workspace ws) {
        if (t == null) return 0L;
        CudaTensor c = input(t);
        if (c.layout == Layout.CHANNELS_LAST) return c.ptr;
        long hw = c.shape.numelFrom(2), chunks = c.numel() / 8, dst = ws.at(2 * c.numel());
        elementwise("to_channels_last_bf16", chunks, dst, p(c), 0L, hw, c.dim(1), chunks);
        return dst;
    }

    @Override
    public void conv2d(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor residual) {
        convolution(out, x, w, bias, residual, false, null, null);
    }

    /** conv2d, of x upsampled ×2 with {@code up}, on tensor cores with the given plan (tests try every tile). */
    void conv2d(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor residual, boolean up, ConvPlan plan) {
        convolution(out, x, w, bias, residual, up, null, plan);
    }

    /** On tensor cores the upsampling is folded into the convolution's addressing; scratch stays untouched. */
    @Override
    public void upsampleConv2d(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor scratch) {
        convolution(out, x, w, bias, null, true, scratch, null);
    }

    /**
     * conv2d, of the upsampled x with {@code up}: on tensor cores with {@code plan} or, if null, where
     * {@link ConvPlan#choose} gives one; else the float32 kernel (its output converted to channel-last where the
     * output's channels call for it), upsampling into scratch first.
     */
    private void convolution(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor residual, boolean up, Tensor scratch,
                             ConvPlan plan) {
        int f = up ? 2 : 1, batch = x.dim(0), ci = x.dim(1), height = f * x.dim(2), width = f * x.dim(3), co = w.dim(0), k = w.dim(2);
        if (w.dim(1) != ci || w.dim(3) != k || k != 1 && k != 3 || out.dim(0) != batch || out.dim(1) != co
                || out.dim(2) != height || out.dim(3) != width) {
            throw new IllegalArgumentException("conv2d shapes: x " + x.shape() + ", w " + w.shape() + ", out " + out.shape()
                    + (up ? " (x upsampled x2)" : ""));
        }
        if (plan == null && precision == Precision.BF16) plan = ConvPlan.choose(batch, height, width, ci, co, k, up, device.multiprocessors());
        if (plan == null) {
            if (up) {
                upsampleNearest2x(scratch, x);
                x = scratch;
            }
            convolutionF32(out, x, w, bias, residual);
            return;
        }
        long xp = channelsLastInput(x, imageIn);
        CudaTensor wt = cuda(w);
        long wp = wt.ptr;
        int ldw = wt.ld;
        if (wt.dtype != DType.BF16) {   // a float32 weight (not uploaded as a constant): converted per call
            ldw = bf16Stride(plan.k());
            wp = bf16Weights.at(2L * co * ldw);
            elementwise("convert_conv_weight_bf16", (long) co * ldw, wp, wt.ptr, co, ci, k * k, ldw);
        }
        long res = plan.channelsLastOut() ? channelsLastInput(residual, imageAux) : plain(residual);
        device.launch(kernel(plan.kernel()), plan.grid(), plan.block(), plan.sharedBytes(), output(out), xp, wp, plain(bias),
                res, batch, height, width, ci, co, k, up ? 1 : 0, ldw);
        wrote(out, plan.channelsLastOut() ? Layout.CHANNELS_LAST : Layout.PLAIN);
    }

    /** The float32 convolution (conv.cu) on NCHW float32, its output converted where it is to be channel-last. */
    private void convolutionF32(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor residual) {
        int batch = x.dim(0), ci = x.dim(1), height = x.dim(2), width = x.dim(3), co = w.dim(0), k = w.dim(2);
        int[] grid = {ceilDiv((long) height * width, 64), ceilDiv(co, 64), batch}, block = {256, 1, 1};
        if (!channelsLast(co)) {
            device.launch(kernel("conv2d_f32"), grid, block, 0, output(out), plain(x), weightF32(w), plain(bias), plain(residual),
                    ci, co, height, width, k);
            wrote(out, Layout.PLAIN);
            return;
        }
        long tmp = imageTmp.at(4 * out.numel()), res = channelsLastInput(residual, imageAux), chunks = out.numel() / 8;
        device.launch(kernel("conv2d_f32"), grid, block, 0, tmp, plain(x), weightF32(w), plain(bias), 0L, ci, co, height, width, k);
        elementwise("to_channels_last_bf16", chunks, output(out), tmp, res, (long) height * width, co, chunks);
        wrote(out, Layout.CHANNELS_LAST);
    }

    /**
     * Channel-last: three passes over x (group_norm_nhwc_*): per-block channel statistics, per-group statistics and
     * coefficients, the normalisation. The first pass splits each image's pixels into about 4 blocks per SM in all
     * (occupancy to keep loads in flight), each thread taking at least 4 pixels.
     */
    @Override
    public void groupNorm(Tensor out, Tensor x, Tensor gamma, Tensor beta, int groups, float eps, boolean silu) {
        int batch = x.dim(0), ch = x.dim(1), spatial = Math.toIntExact(x.shape().numelFrom(2));
        if (!channelsLast(ch)) {
            device.launch(kernel("group_norm_f32"), new int[] {groups, batch, 1}, new int[] {256, 1, 1}, 0,
                    output(out), plain(x), plain(gamma), plain(beta), ch, spatial, groups, eps, silu ? 1 : 0);
            wrote(out, Layout.PLAIN);
            return;
        }
        long xp = channelsLastInput(x, imageIn), chunks = x.numel() / 8;
        int rows = 256 / (ch / 8), perBlock = Math.max(4 * rows, ceilDiv(spatial, ceilDiv(4L * device.multiprocessors(), batch)));
        int blocks = ceilDiv(spatial, perBlock);
        long part = groupNormStats.at(4L * batch * ch * (3L * blocks + 2)), coef = part + 12L * batch * blocks * ch;
        device.launch(kernel("group_norm_nhwc_partials"), new int[] {blocks, batch, 1}, new int[] {256, 1, 1}, 0,
                part, xp, spatial, ch, perBlock);
        device.launch(kernel("group_norm_nhwc_finalize"), new int[] {ceilDiv(groups, 8), batch, 1}, new int[] {256, 1, 1}, 0,
                coef, part, plain(gamma), plain(beta), blocks, ch, groups, eps);
        elementwise("group_norm_nhwc_apply", chunks, output(out), xp, coef, (long) spatial, ch, chunks, silu ? 1 : 0);
        wrote(out, Layout.CHANNELS_LAST);
    }

    @Override
    public void upsampleNearest2x(Tensor out, Tensor x) {
        if (channelsLast(x.dim(1))) {
            long chunks = out.numel() / 8;
            elementwise("upsample_nearest2x_nhwc", chunks, output(out), channelsLastInput(x, imageIn), chunks, x.dim(2), x.dim(3),
                    x.dim(1));
            wrote(out, Layout.CHANNELS_LAST);
            return;
        }
        elementwise("upsample_nearest2x_f32", out.numel(), output(out), plain(x), out.numel(), x.dim(2), x.dim(3));
        wrote(out, Layout.PLAIN);
    }

    @Override
    public void channelsToTokens(Tensor out, Tensor x) {
        CudaTensor c = input(x);
        if (c.layout == Layout.CHANNELS_LAST) {   // [B, N, C] is already the token rows: a conversion to float32
            elementwise("channels_to_tokens_nhwc", out.numel() / 4, output(out), c.ptr, out.numel() / 4);
        } else {
            elementwise("channels_to_tokens_f32", out.numel(), output(out), plain(x), out.numel(), x.dim(1), x.shape().numelFrom(2));
        }
        wrote(out, Layout.PLAIN);
    }

    @Override
    public void tokensToChannels(Tensor out, Tensor tokens, Tensor residual) {
        if (channelsLast(out.dim(1))) {
            elementwise("tokens_to_channels_nhwc", out.numel() / 4, output(out), plain(tokens), channelsLastInput(residual, imageAux),
                    out.numel() / 4);
            wrote(out, Layout.CHANNELS_LAST);
            return;
        }
        elementwise("tokens_to_channels_f32", out.numel(), output(out), plain(tokens), plain(residual), out.numel(), out.dim(1),
                out.shape().numelFrom(2));
        wrote(out, Layout.PLAIN);
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
        elementwise("cfg_combine_f32", out.numel(), p(out), p(modelOut), out.numel(), out.dim(1),
                out.shape().numelFrom(2), guidedChannels, scale);
    }

    @Override
    public void ddpmStep(Tensor x, Tensor modelOut, Tensor noise, DdpmCoefficients k) {
        elementwise("ddpm_step_f32", x.numel(), p(x), p(modelOut), p(noise), x.numel(), x.dim(1), modelOut.dim(1),
                x.shape().numelFrom(2), k.sqrtRecipAlphasCumprod(), k.sqrtRecipm1AlphasCumprod(),
                k.posteriorMeanCoef1(), k.posteriorMeanCoef2(), k.minLog(), k.maxLog(), k.learnedVariance() ? 1 : 0,
                k.fixedLogVariance(), k.addNoise() ? 1 : 0);
    }

    @Override
    public void ddimStep(Tensor x, Tensor modelOut, Tensor noise, DdimCoefficients k) {
        elementwise("ddim_step_f32", x.numel(), p(x), p(modelOut), p(noise), x.numel(), x.dim(1), modelOut.dim(1),
                x.shape().numelFrom(2), k.sqrtRecipAlphasCumprod(), k.sqrtRecipm1AlphasCumprod(),
                k.sqrtAlphasCumprodPrev(), k.sigma(), k.sqrtOneMinusPrevMinusSigma2(), k.addNoise() ? 1 : 0);
    }

    @Override
    public void dpmSolverStep(Tensor x, Tensor modelOut, Tensor x0, Tensor x0Prev, DpmSolverCoefficients k) {
        elementwise("dpm_solver_step_f32", x.numel(), p(x), p(modelOut), p(x0), k.secondOrder() ? p(x0Prev) : 0L,
                x.numel(), x.dim(1), modelOut.dim(1), x.shape().numelFrom(2), k.sigmaS(), k.alphaS(), k.ratio(), k.a(),
                k.secondOrder() ? 1 : 0, k.invR0());
    }
}
