package dev.ditj.cuda;

import dev.ditj.DitjException;
import dev.ditj.cuda.ConvPlan.Sampling;
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
 * is converted by a pass (convert_bf16_rows) right before the GEMM. Accumulation stays fp32, and the DiT's other
 * tensors (the residual stream, modulations) stay fp32. Attention runs on tensor cores (kernels/attention_bf16.cu,
 * chosen by {@link AttentionPlan}) from a bf16 qkv, which {@link #selfAttention}'s projection writes directly (a
 * bf16-output GEMM) and {@link #attention} converts from fp32. The VAE's convolutions run on tensor cores too
 * (kernels/conv_bf16.cu, chosen by {@link ConvPlan}), and its image ops on channel-last bf16 activations
 * (kernels/image_bf16.cu): see the convolution section. How each tensor is stored: {@link Layout}.
 */
public final class CudaOps implements Ops {
    private static final String[] MODULES = {"elementwise", "gemm", "gemm_bf16", "conv", "conv_bf16", "image_bf16", "attention",
            "attention_bf16", "norm", "embed", "layout", "sampler"};
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
    /** Per-call temporaries of the image ops: converted operands, the fp32 convolution's output, GroupNorm statistics. */
    private final Workspace imageIn = new Workspace(), imageAux = new Workspace(), imageTmp = new Workspace(),
            groupNormStats = new Workspace();
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
     * How a tensor's values are stored: the backend's own business, since ops and {@link #read} see float32 (int32
     * for labels) in the order of the shape whatever it is. Three layouts: float32 plain, bf16 rows (GEMM operands)
     * and bf16 channel-last (the VAE's image activations); the bf16 ones only in Precision.BF16.
     */
    enum Layout {
        /** float32 (int32 for class labels) in the order of the shape: what every op reads and writes. */
        PLAIN,
        /**
         * bf16 rows of K values stored {@link CudaTensor#ld} elements apart ({@link CudaOps#bf16Stride}, the padding
         * zero): a GEMM operand as linear and the tensor-core convolution read it. A linear weight [N, K] or a
         * {@link ActivationKind#LINEAR_INPUT} activation [M, K] (rows of the last dim), or a conv weight
         * [Co, Ci, k, k] as Co rows [k, k, Ci] (the order of its GEMM's K). Fixed when the tensor is made
         * ({@link CudaOps#constant}, {@link CudaOps#alloc(Shape, ActivationKind)}); no views; the GEMMs read it,
         * its producers write it, other ops refuse it.
         */
        BF16_ROWS,
        /**
         * bf16 channel-last: an image [B, C, spatial...] stored as [B, spatial, C] (for C as {@link
         * ConvPlan#channelsLast} says). Not fixed: a float32 buffer holds it after an image op wrote it so (conv2d,
         * groupNorm, upsampling, tokensToChannels, add; {@link CudaOps#wrote}), and float32 again after a float32
         * write by an image op or {@link CudaOps#write}. Read by those ops and channelsToTokens; other ops refuse it.
         * A view keeps it if it keeps batch, channels and pixels per image, and a write through a view shows in the
         * tensors it views that hold the same images. Any other tensor over the same memory (the buffer the view was
         * taken of, views made before the write) is stale afterwards: read and the image ops refuse it.
         */
        BF16_CHANNELS_LAST
    }

    /** A device buffer: a pointer into a pooled allocation, or a view of one, holding values as {@link #layout} says. */
    final class CudaTensor implements Tensor {
        final long ptr;
        final Shape shape;
        final long bytes;
        final boolean owner;
        /** An int32 tensor (class labels; always PLAIN). */
        final boolean ints;
        /** Row stride in elements of a BF16_ROWS tensor (0 for others). */
        final int ld;
        /** The tensor this one is a view of (null for an allocation). */
        final CudaTensor base;
        /** How the values are stored now: BF16_ROWS for good, else PLAIN or BF16_CHANNELS_LAST as last written. */
        Layout layout;
        /** The allocation's {@link #layoutWrites} when {@link #layout} was last set: older means stale. */
        long seen;
        /** On an allocation: the layout-setting writes that made other tensors over it stale (see {@link #wrote}). */
        long layoutWrites;
        /** Host copy of an int32 tensor (labels), so ops can validate them without reading the device. */
        int[] hostInts;
        boolean closed;

        /** A float32 (int32 if ints) tensor, PLAIN, 4 bytes per element: an allocation, or a view of base. */
        CudaTensor(long ptr, Shape shape, boolean owner, boolean ints, CudaTensor base) {
            this(ptr, shape, 4 * shape.numel(), owner, ints, Layout.PLAIN, 0, base);
        }

        /** A BF16_ROWS tensor, rows ld elements apart. */
        CudaTensor(long ptr, Shape shape, int ld, boolean owner) {
            this(ptr, shape, 2L * rows(shape) * ld, owner, false, Layout.BF16_ROWS, ld, null);
        }

        private CudaTensor(long ptr, Shape shape, long bytes, boolean owner, boolean ints, Layout layout, int ld,
                           CudaTensor base) {
            this.ptr = ptr;
            this.shape = shape;
            this.bytes = bytes;
            this.owner = owner;
            this.ints = ints;
            this.layout = layout;
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
            return layout == Layout.BF16_CHANNELS_LAST && current();
        }

        /** Values per row of a BF16_ROWS tensor (k·k·Ci for a conv weight). */
        int rowLength() {
            return Math.toIntExact(shape.numel() / rows(shape));
        }

        /**
         * For each column c of a BF16_ROWS row, where its value sits among the row's values in shape order: c, or for
         * a conv weight (columns [k, k, Ci], values [Ci, k, k]) tap c / Ci of channel c mod Ci.
         */
        int[] sourceColumns() {
            int k = rowLength(), ci = shape.rank() == 4 ? shape.dim(1) : k, taps = k / ci;
            int[] source = new int[k];
            for (int c = 0; c < k; c++) source[c] = (c % ci) * taps + c / ci;
            return source;
        }

        @Override
        public Shape shape() {
            return shape;
        }

        @Override
        public DType dtype() {
            return ints ? DType.I32 : layout == Layout.PLAIN ? DType.F32 : DType.BF16;
        }

        @Override
        public void close() {
            if (owner && !closed) pool.release(ptr, bytes);
            closed = true;
        }

        @Override
        public String toString() {
            return name + ":" + dtype() + shape;
        }
    }

    /** The rows of a BF16_ROWS tensor of this shape: Co of a conv weight [Co, Ci, k, k], else all but the last dim. */
    private static int rows(Shape shape) {
        long rows = shape.rank() == 4 ? shape.dim(0) : shape.numel() / shape.dim(-1);
        return Math.toIntExact(rows);
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

    /** The device pointer of a float32 or int32 operand (0 for null): a PLAIN tensor. */
    private long p(Tensor t) {
        if (t == null) return 0L;
        CudaTensor c = cuda(t);
        if (c.layout == Layout.BF16_ROWS) {
            throw new IllegalArgumentException(c + " is a bf16 GEMM operand (a weight or a linear input): only linear and "
                    + "conv2d read it");
        }
        if (c.channelsLast()) {
            throw new IllegalArgumentException(c + " holds channel-last bf16 activations (BF16 image ops): this op reads float32");
        }
        return c.ptr;
    }

    /** Whether t is BF16_ROWS: as an output, a GEMM operand its producer writes in bf16. */
    private boolean isBf16Rows(Tensor t) {
        return cuda(t).layout == Layout.BF16_ROWS;
    }

    /** Whether every pointer is 16-byte aligned (the vector paths of the memory-bound kernels). */
    private static boolean aligned16(long... pointers) {
        for (long q : pointers) if ((q & 15) != 0) return false;
        return true;
    }

    private CudaTensor allocate(Shape shape, boolean ints) {
        return new CudaTensor(pool.take(4 * shape.numel()), shape, true, ints, null);
    }

    /** A new BF16_ROWS tensor: rows of k values, {@link #bf16Stride}(k) apart. */
    private CudaTensor allocateRows(Shape shape, int k) {
        int ld = bf16Stride(k);
        return new CudaTensor(pool.take(2L * rows(shape) * ld), shape, ld, true);
    }

    @Override
    public Tensor alloc(Shape shape) {
        return allocate(shape, false);
    }

    @Override
    public Tensor allocInts(Shape shape) {
        return allocate(shape, true);
    }

    /** In BF16 mode a linear input [M, K] is BF16_ROWS; other kinds and shapes are PLAIN. */
    @Override
    public Tensor alloc(Shape shape, ActivationKind kind) {
        boolean rows = kind == ActivationKind.LINEAR_INPUT && shape.rank() == 2 && shape.numel() > 0;
        return precision == Precision.BF16 && rows ? allocateRows(shape, shape.dim(1)) : alloc(shape);
    }

    @Override
    public Tensor upload(HostTensor host) {
        Tensor t = alloc(host.shape());
        write(t, host.data());
        return t;
    }

    /**
     * In BF16 mode a linear weight [N, K] is stored BF16_ROWS (rounded to nearest even); so is a conv weight
     * [Co, Ci, k, k] that the tensor-core convolution takes ({@link ConvPlan#channelsLast}(Ci)), as rows [k, k, Ci].
     */
    @Override
    public Tensor constant(HostTensor host, ConstantKind kind) {
        boolean linear = kind == ConstantKind.LINEAR_WEIGHT && host.shape().rank() == 2;
        boolean conv = kind == ConstantKind.CONV_WEIGHT && ConvPlan.channelsLast(host.shape().dim(1));
        if (precision != Precision.BF16 || !linear && !conv) return upload(host);
        CudaTensor t = allocateRows(host.shape(), Math.toIntExact(host.shape().numel() / host.shape().dim(0)));
        writeBf16Rows(t, host.data());
        return t;
    }

    /** Writes float32 values in shape order into a BF16_ROWS tensor, rounded to nearest even, the row padding zero. */
    private void writeBf16Rows(CudaTensor t, float[] v) {
        int k = t.rowLength(), ld = t.ld;
        int[] source = t.sourceColumns();
        toDevice(t.ptr, v.length / k, 2 * ld, (b, first, count) -> {
            for (int r = 0; r < count; r++) {
                long row = (first + r) * k;
                for (int c = 0; c < ld; c++) b.putShort(2 * (r * ld + c), c < k ? FloatFormats.floatToBf16(v[(int) row + source[c]]) : 0);
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
        if (b.layout == Layout.BF16_ROWS) throw new IllegalArgumentException(b + " is a bf16 GEMM operand: it has no views");
        if (4 * shape.numel() > b.bytes) throw new IllegalArgumentException("view " + shape + " exceeds its base " + b.shape);
        CudaTensor v = new CudaTensor(b.ptr, shape, false, b.ints, b);
        if (b.channelsLast()) {
            if (!sameImage(b.shape, shape)) {
                throw new IllegalArgumentException("view " + shape + " of " + b + ", which holds channel-last bf16 activations, "
                        + "must keep its batch, channels and pixels per image");
            }
            v.layout = Layout.BF16_CHANNELS_LAST;
        }
        return v;
    }

    /** Whether two shapes [B, C, spatial...] describe the same images (so a channel-last layout carries over). */
    private static boolean sameImage(Shape a, Shape b) {
        return a.rank() >= 3 && b.rank() >= 3 && a.dim(0) == b.dim(0) && a.dim(1) == b.dim(1) && a.numelFrom(2) == b.numelFrom(2);
    }

    /**
     * Records that an op wrote {@code t} as PLAIN or BF16_CHANNELS_LAST: t and the tensors it is a view of that hold
     * the same values (same images; any shape of the same size for float32) now read that way. A channel-last
     * write, and any write to memory that has held channel-last values, makes every other tensor over the
     * allocation stale.
     */
    private static void wrote(Tensor out, Layout layout) {
        CudaTensor t = (CudaTensor) out, root = t.root();
        if (layout == Layout.BF16_CHANNELS_LAST || root.layoutWrites > 0) root.layoutWrites++;
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

    /** Float32 values (the tensor is PLAIN afterwards), or, into a BF16_ROWS tensor, the values rounded to bf16. */
    @Override
    public void write(Tensor dst, float[] values) {
        CudaTensor t = cuda(dst);
        if (t.shape.numel() != values.length) throw new IllegalArgumentException(values.length + " values for " + t);
        if (t.layout == Layout.BF16_ROWS) {
            writeBf16Rows(t, values);
            return;
        }
        toDevice(t.ptr, values.length, 4, (b, first, count) -> b.asFloatBuffer().put(values, (int) first, count));
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
        if (t.layout == Layout.BF16_ROWS) {
            int k = t.rowLength(), n = out.length / k;
            ByteBuffer b = staging(t.bytes);
            device.copyToHost(b, t.ptr);
            int[] source = t.sourceColumns();
            for (int r = 0; r < n; r++) {
                for (int c = 0; c < k; c++) out[r * k + source[c]] = FloatFormats.bf16ToFloat(b.getShort(2 * (r * t.ld + c)));
            }
            return out;
        }
        if (t.layout == Layout.BF16_CHANNELS_LAST) {   // [B, spatial, C] bf16 to [B, C, spatial]
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
        op.accept(new CudaTensor(f, o.shape, false, false, null));
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
        if (xt.layout == Layout.BF16_ROWS) {      // written in bf16 by its producer: read as it is
            if (x.dim(-1) != k) throw new IllegalArgumentException("linear: bf16 x " + x.shape() + " must have rows of " + k);
        } else {
            lda = bf16Stride(k);
            a = bf16Activations.at(2L * m * lda);
            elementwise("convert_bf16_rows", (long) m * lda, a, p(x), m, k, lda, 0);
        }
        long wp = wt.ptr;
        int ldw = wt.ld;
        if (wt.layout != Layout.BF16_ROWS) {       // a float32 weight (not uploaded as a constant): converted per call
            ldw = bf16Stride(k);
            wp = bf16Weights.at(2L * n * ldw);
            elementwise("convert_bf16_rows", (long) n * ldw, wp, p(w), n, k, ldw, 0);
        }
        boolean bf16Out = ot.layout == Layout.BF16_ROWS;
        if (bf16Out && (residual != null || out.dim(-1) != n)) {
            throw new IllegalArgumentException("linear: bf16 out " + out.shape() + " needs rows of " + n + " and no residual");
        }
        int ldc = bf16Out ? ot.ld : n;
        long c = bf16Out ? ot.ptr : p(out);
        GemmPlan g = plan != null ? plan : GemmPlan.choose(m, n, k, device.multiprocessors());
        if (g.splits() == 1) {
            device.launch(kernel(g.kernel(bf16Out)), g.grid(), g.block(), g.sharedBytes(),
                    concat(new Object[] {c, a, wp, m, n, k, lda, ldw, ldc, g.kSplit()}, epilogue));
        } else {            // raw partial sums per split, then their sum in split order through the epilogue
            long ws = splitK.at(g.workspaceBytes());
            device.launch(kernel(g.kernel(false)), g.grid(), g.block(), g.sharedBytes(),
                    ws, a, wp, m, n, k, lda, ldw, n, g.kSplit(), 0L, 0, 0L, 0L, 0, 1);
            elementwise4("linear_splitk_reduce_" + (bf16Out ? "bf16" : "f32"), (long) m * n,
                    concat(new Object[] {c, ldc, ws, g.splits(), m, n}, epilogue));
        }
    }

    /** A weight for the float32 kernels (linear_f32, conv2d_f32). */
    private long weightF32(Tensor w) {
        if (isBf16Rows(w)) throw new IllegalArgumentException(w + " is a bf16 weight; the float32 kernels need float32");
        return p(w);
    }

    private static Object[] concat(Object[] a, Object[] b) {
        Object[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** Image activations stay channel-last: where an operand is, so is the sum. */
    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        if (cuda(a).channelsLast() || cuda(b).channelsLast()) {
            long chunks = out.numel() / 8;
            elementwise("add_nhwc", chunks, output(out), channelsLastInput(a, imageIn), channelsLastInput(b, imageAux), chunks);
            wrote(out, Layout.BF16_CHANNELS_LAST);
            return;
        }
        elementwise4("add_f32", out.numel(), p(out), p(a), p(b), out.numel());
    }

    /** Into a bf16 out: the operand conversion pass with SiLU applied, one pass. */
    @Override
    public void silu(Tensor out, Tensor x) {
        if (isBf16Rows(out)) {
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
        if (isBf16Rows(out)) {
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
        boolean bf16 = o.layout == Layout.BF16_ROWS;
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

    // LightningDiT's layers run float32 kernels in either precision: a bf16 output goes through a rounding pass.
    @Override
    public void modulatedRmsNorm(Tensor out, Tensor x, Tensor weight, Tensor mod, int shiftChunk, int scaleChunk, int tokens,
                                 float eps) {
        if (isBf16Rows(out)) {
            throughFloat32(out, f -> modulatedRmsNorm(f, x, weight, mod, shiftChunk, scaleChunk, tokens, eps));
            return;
        }
        int h = x.dim(-1), rows = Math.toIntExact(x.numel() / h);
        samples(x, tokens);
        if (out.numel() != x.numel() || weight.numel() != h) {
            throw new IllegalArgumentException("modulatedRmsNorm: out " + out + ", weight " + weight + " for x " + x);
        }
        device.launch(kernel("modulated_rmsnorm_f32"), new int[] {ceilDiv(rows, 8), 1, 1}, new int[] {256, 1, 1}, 0,
                p(out), p(x), p(weight), p(mod), h, rows, tokens, mod.dim(-1), shiftChunk, scaleChunk, eps);
    }

    @Override
    public void swiglu(Tensor out, Tensor x) {
        if (isBf16Rows(out)) {
            throughFloat32(out, f -> swiglu(f, x));
            return;
        }
        if (x.numel() != 2L * out.numel()) throw new IllegalArgumentException("swiglu: out " + out + ", x " + x);
        elementwise4("swiglu_f32", out.numel(), p(out), p(x), out.numel(), out.dim(-1));
    }

    @Override
    public void rotaryQk(Tensor qkv, Tensor cos, Tensor sin, int tokens, int heads) {
        int h = qkv.dim(-1) / 3, hd = h / heads;
        if (cos.numel() != (long) tokens * hd || sin.numel() != cos.numel()) {
            throw new IllegalArgumentException("rotaryQk: tables " + cos + ", " + sin + " for " + tokens + " tokens, head dim " + hd);
        }
        long pairs = qkv.numel() / 3;
        elementwise("rotary_qk_f32", pairs, p(qkv), p(cos), p(sin), pairs, h, hd, tokens);
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
        if (isBf16Rows(out)) {      // the attention kernels write float32: rounded by a pass (the seam for a bf16 output)
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
        if (isBf16Rows(out)) {
            throughFloat32(out, f -> selfAttention(f, x, w, bias, qkv, batch, tokens, heads, scale));
            return;
        }
        int rows = batch * tokens, n = 3 * out.dim(-1);
        CudaTensor q = new CudaTensor(bf16Qkv.at(2L * rows * n), Shape.of(rows, n), n, false);
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
        if (isBf16Rows(out)) layout("patchify_bf16", x.dim(0), side, patch, f, cuda(out).ptr, cuda(out).ld, p(x), ch, side, patch);
        else layout("patchify_f32", x.dim(0), side, patch, f, p(out), p(x), ch, side, patch);
    }

    @Override
    public void unpatchify(Tensor out, Tensor x, int patch, int channels) {
        int side = out.dim(2);
        layout("unpatchify_f32", out.dim(0), side, patch, patch * patch * channels, p(out), p(x), channels, side, patch);
    }

    // ------------------------------------------------------------------------------------------------ convolution
    //
    // The VAE's image ops. In Precision.BF16 an image tensor whose channel count ConvPlan.channelsLast allows is kept
    // channel-last bf16 (Layout.BF16_CHANNELS_LAST) from the op that writes it to the ops that read it: no conversions
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
        if (c.layout == Layout.BF16_ROWS) throw new IllegalArgumentException(c + " is a bf16 GEMM operand: image ops do not write it");
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
        if (c.layout == Layout.BF16_CHANNELS_LAST) return c.ptr;
        long hw = c.shape.numelFrom(2), chunks = c.numel() / 8, dst = ws.at(2 * c.numel());
        elementwise("to_channels_last_bf16", chunks, dst, p(c), 0L, hw, c.dim(1), chunks);
        return dst;
    }

    @Override
    public void conv2d(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor residual) {
        convolution(out, x, w, bias, residual, Sampling.PLAIN, null);
    }

    /** conv2d of x sampled as the plan says, on tensor cores with that plan (tests try every tile). */
    void conv2d(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor residual, ConvPlan plan) {
        convolution(out, x, w, bias, residual, plan.sampling(), plan);
    }

    /** Both convolution kernels read x at (y/2, x/2) (Sampling.UP): scratch stays untouched. */
    @Override
    public void upsampleConv2d(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor scratch) {
        convolution(out, x, w, bias, null, Sampling.UP, null);
    }

    /** Both convolution kernels read the padded x in place (Sampling.DOWN: its zero row and column are taps past x). */
    @Override
    public void downsampleConv2d(Tensor out, Tensor x, Tensor w, Tensor bias) {
        if (w.dim(2) != 3 || x.dim(2) < 2 || x.dim(3) < 2) {
            throw new IllegalArgumentException("downsampleConv2d shapes: x " + x.shape() + ", w " + w.shape()
                    + " (takes a 3x3 weight, x at least 2x2)");
        }
        convolution(out, x, w, bias, null, Sampling.DOWN, null);
    }

    /**
     * conv2d of x sampled as given: on tensor cores with {@code plan} or, if null, where {@link ConvPlan#choose} gives
     * one; else the float32 kernel (its output converted to channel-last where the output's channels call for it).
     */
    private void convolution(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor residual, Sampling sampling, ConvPlan plan) {
        int batch = x.dim(0), ci = x.dim(1), inHeight = x.dim(2), inWidth = x.dim(3), co = w.dim(0), k = w.dim(2);
        int height = sampling.out(inHeight), width = sampling.out(inWidth);
        if (w.dim(1) != ci || w.dim(3) != k || k != 1 && k != 3 || out.dim(0) != batch || out.dim(1) != co
                || out.dim(2) != height || out.dim(3) != width) {
            throw new IllegalArgumentException("conv2d shapes: x " + x.shape() + ", w " + w.shape() + ", out " + out.shape()
                    + (sampling == Sampling.PLAIN ? "" : " (x sampled " + sampling + ")"));
        }
        if (plan != null && !plan.equals(ConvPlan.of(plan.tile(), plan.channelsLastOut(), batch, inHeight, inWidth, ci, co, k, sampling))) {
            throw new IllegalArgumentException(plan + " given for x " + x.shape() + ", w " + w.shape());
        }
        if (plan == null && precision == Precision.BF16) {
            plan = ConvPlan.choose(batch, inHeight, inWidth, ci, co, k, sampling, device.multiprocessors());
        }
        if (plan == null) {
            convolutionF32(out, x, w, bias, residual, sampling);
            return;
        }
        long xp = channelsLastInput(x, imageIn);
        CudaTensor wt = cuda(w);
        long wp = wt.ptr;
        int ldw = wt.ld;
        if (wt.layout != Layout.BF16_ROWS) {   // a float32 weight (not uploaded as a constant): converted per call
            ldw = bf16Stride(plan.k());
            wp = bf16Weights.at(2L * co * ldw);
            elementwise("convert_conv_weight_bf16", (long) co * ldw, wp, p(w), co, ci, k * k, ldw);
        }
        long res = plan.channelsLastOut() ? channelsLastInput(residual, imageAux) : plain(residual);
        device.launch(kernel(plan.kernel()), plan.grid(), plan.block(), plan.sharedBytes(), output(out), xp, wp, plain(bias),
                res, batch, height, width, inHeight, inWidth, ci, co, k, sampling.ordinal(), ldw);
        wrote(out, plan.channelsLastOut() ? Layout.BF16_CHANNELS_LAST : Layout.PLAIN);
    }

    /** The float32 convolution (conv.cu) on NCHW float32, its output converted where it is to be channel-last. */
    private void convolutionF32(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor residual, Sampling sampling) {
        int batch = x.dim(0), ci = x.dim(1), inHeight = x.dim(2), inWidth = x.dim(3), co = w.dim(0), k = w.dim(2);
        int height = out.dim(2), width = out.dim(3), mode = sampling.ordinal();
        int[] grid = {ceilDiv((long) height * width, 64), ceilDiv(co, 64), batch}, block = {256, 1, 1};
        if (!channelsLast(co)) {
            device.launch(kernel("conv2d_f32"), grid, block, 0, output(out), plain(x), weightF32(w), plain(bias), plain(residual),
                    ci, co, height, width, inHeight, inWidth, k, mode);
            wrote(out, Layout.PLAIN);
            return;
        }
        long tmp = imageTmp.at(4 * out.numel()), res = channelsLastInput(residual, imageAux), chunks = out.numel() / 8;
        device.launch(kernel("conv2d_f32"), grid, block, 0, tmp, plain(x), weightF32(w), plain(bias), 0L, ci, co, height, width,
                inHeight, inWidth, k, mode);
        elementwise("to_channels_last_bf16", chunks, output(out), tmp, res, (long) height * width, co, chunks);
        wrote(out, Layout.BF16_CHANNELS_LAST);
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
        wrote(out, Layout.BF16_CHANNELS_LAST);
    }

    @Override
    public void upsampleNearest2x(Tensor out, Tensor x) {
        if (channelsLast(x.dim(1))) {
            long chunks = out.numel() / 8;
            elementwise("upsample_nearest2x_nhwc", chunks, output(out), channelsLastInput(x, imageIn), chunks, x.dim(2), x.dim(3),
                    x.dim(1));
            wrote(out, Layout.BF16_CHANNELS_LAST);
            return;
        }
        elementwise("upsample_nearest2x_f32", out.numel(), output(out), plain(x), out.numel(), x.dim(2), x.dim(3));
        wrote(out, Layout.PLAIN);
    }

    @Override
    public void channelsToTokens(Tensor out, Tensor x) {
        CudaTensor c = input(x);
        if (c.layout == Layout.BF16_CHANNELS_LAST) {   // [B, N, C] is already the token rows: a conversion to float32
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
            wrote(out, Layout.BF16_CHANNELS_LAST);
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
        Ops.checkCfgShapes(out, modelOut, guidedChannels);
        elementwise4("cfg_combine_f32", out.numel(), p(out), p(modelOut), out.numel(), out.dim(1), modelOut.dim(1),
                out.shape().numelFrom(2), (long) Math.max(1, modelOut.dim(0) / 2), guidedChannels, scale);
    }

    @Override
    public void scaledAdd(Tensor out, float a, Tensor x, float b, Tensor y) {
        long n = Ops.checkSameSize(out, x, y);
        elementwise4("scaled_add_f32", n, p(out), p(x), p(y), n, a, b);
    }

    @Override
    public void maskBlend(Tensor x, Tensor keep, Tensor mask) {
        long n = Ops.checkSameSize(x, keep, mask);
        elementwise4("mask_blend_f32", n, p(x), p(keep), p(mask), n);
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
