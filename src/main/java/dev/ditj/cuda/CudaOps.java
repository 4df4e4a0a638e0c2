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
 * before each GEMM; accumulation and outputs stay fp32, as does every other op except attention: it runs on tensor
 * cores (kernels/attention_bf16.cu, chosen by {@link AttentionPlan}) from a bf16 qkv, which {@link #selfAttention}'s
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
    /** Per-call temporaries of the bf16 linear: the activation operand, a weight operand, split-K partial sums. */
    private final Workspace bf16Activations = new Workspace(), bf16Weights = new Workspace(), splitK = new Workspace();
    /** The bf16 qkv of the tensor-core attention. */
    private final Workspace bf16Qkv = new Workspace();

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
     * A device buffer: a pointer into a pooled allocation, or a view of one. A BF16 tensor is a linear weight
     * [N, K] stored with rows of {@code ld} elements ({@link #bf16Stride}).
     */
    final class CudaTensor implements Tensor {
        final long ptr;
        final Shape shape;
        final DType dtype;
        final long bytes;
        final boolean owner;
        /** Row stride in elements of a BF16 weight (0 for other tensors). */
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
        if (c.dtype == DType.BF16) throw new IllegalArgumentException(c + " is a bf16 linear weight: only linear reads it");
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

    /** In BF16 mode a linear weight [N, K] is stored as bf16 (rounded to nearest even), rows of {@link #bf16Stride}. */
    @Override
    public Tensor constant(HostTensor host, ConstantKind kind) {
        if (precision != Precision.BF16 || kind != ConstantKind.LINEAR_WEIGHT) return upload(host);
        int n = host.shape().dim(0), k = Math.toIntExact(host.shape().numel() / n), ld = bf16Stride(k);
        float[] v = host.data();
        long bytes = 2L * n * ld;
        ByteBuffer b = staging(bytes);
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < ld; c++) b.putShort(2 * (r * ld + c), c < k ? FloatFormats.floatToBf16(v[r * k + c]) : 0);
        }
        CudaTensor t = new CudaTensor(pool.take(bytes), host.shape(), DType.BF16, bytes, true, ld);
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
        if (b.dtype == DType.BF16) throw new IllegalArgumentException(b + " is a bf16 linear weight: it has no views");
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

    @Override
    public void write(Tensor dst, float[] values) {
        CudaTensor t = cuda(dst);
        if (t.dtype == DType.BF16) throw new IllegalArgumentException(t + " is a bf16 linear weight, a constant");
        if (t.shape.numel() != values.length) throw new IllegalArgumentException(values.length + " values for " + t);
        ByteBuffer b = staging(4L * values.length);
        b.asFloatBuffer().put(values);
        device.copyToDevice(t.ptr, b);
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
            int n = t.shape.dim(0), k = out.length / n;
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
     * split count (null: {@link GemmPlan#choose}). A bf16 {@code out} (the internal qkv of {@link #selfAttention})
     * gets the bf16-output kernels.
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
        CudaTensor o = cuda(out);
        boolean bf16Out = o.dtype == DType.BF16;
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
            device.launch(kernel(g.kernel(bf16Out)), g.grid(), g.block(), g.sharedBytes(),
                    concat(concat(new Object[] {o.ptr}, operands), epilogue));
        } else {            // raw partial sums per split, then their sum in split order through the epilogue
            long ws = splitK.at(g.workspaceBytes());
            device.launch(kernel(g.kernel(false)), g.grid(), g.block(), g.sharedBytes(),
                    concat(concat(new Object[] {ws}, operands), new Object[] {0L, 0, 0L, 0L, 0, 1}));
            elementwise(bf16Out ? "linear_splitk_reduce_bf16" : "linear_splitk_reduce_f32", (long) m * n,
                    concat(new Object[] {o.ptr, ws, g.splits(), m, n}, epilogue));
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
        AttentionPlan plan = AttentionPlan.choose(precision, batch, tokens, heads, out.dim(-1) / heads);
        long q = p(qkv);
        if (plan.bf16()) {   // the tensor-core kernel reads bf16: a conversion pass (selfAttention needs none)
            long rows = (long) batch * tokens, cols = 3L * out.dim(-1);
            q = bf16Qkv.at(2 * rows * cols);
            elementwise("convert_bf16_rows", rows * cols, q, p(qkv), (int) rows, (int) cols, (int) cols);
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

    @Override
    public void patchify(Tensor out, Tensor x, int patch) {
        elementwise("patchify_f32", out.numel(), p(out), p(x), out.numel(), x.dim(1), x.dim(2), patch);
    }

    @Override
    public void unpatchify(Tensor out, Tensor x, int patch, int channels) {
        elementwise("unpatchify_f32", out.numel(), p(out), p(x), out.numel(), channels, out.dim(2), patch);
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
