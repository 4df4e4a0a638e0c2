package dev.ditj.cpu;

import dev.ditj.DitjException;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;

/**
 * The pure-Java backend: the numerical oracle for every kernel test and the default where no GPU exists.
 * Dense work goes through the packed {@link Gemm}; reductions (LayerNorm, GroupNorm, softmax sums) accumulate in
 * float64; transcendental functions are evaluated in float64 and rounded once to float32.
 */
public final class CpuOps implements Ops {
    private final Parallel par;
    private static final Parallel SERIAL = new Parallel(1);
    /** Query rows per attention task: bounds the score scratch to QUERY_BLOCK × tokens floats. */
    private static final int QUERY_BLOCK = 64;

    public CpuOps() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public CpuOps(int threads) {
        this.par = new Parallel(threads);
    }

    @Override
    public String name() {
        return "cpu";
    }

    public int threads() {
        return par.threads();
    }

    /** Which GEMM micro-kernel this JVM runs ("vector 6x32" or "scalar 6x16"). */
    public static String kernelDescription() {
        return (Gemm.KERNEL instanceof ScalarMicroKernel ? "scalar " : "vector ") + Gemm.MR + "x" + Gemm.NR;
    }

    @Override
    public void close() {
        par.close();
    }

    // ------------------------------------------------------------------------------------------------ memory

    private static CpuTensor cpu(Tensor t) {
        if (t instanceof CpuTensor c) return c;
        throw new IllegalArgumentException("tensor " + t + " does not belong to the CPU backend");
    }

    private static float[] f(Tensor t) {
        CpuTensor c = cpu(t);
        if (c.f != null) return c.f;
        if (c.i != null) throw new IllegalArgumentException("expected a float32 tensor, got " + t);
        return unpacked(c);
    }

    /** A weight held only packed, as a fresh row-major array: other ops still work on it (slowly; models don't). */
    private static float[] unpacked(CpuTensor w) {
        Object p = w.packed;
        int rows = w.shape.dim(0);
        return p instanceof Gemm.PackedB b ? b.panels.unpack(rows) : ((Gemm.PackedA) p).panels.unpack(rows);
    }

    @Override
    public Tensor alloc(Shape shape) {
        return new CpuTensor(shape, new float[shape.size()], null, false);
    }

    @Override
    public Tensor allocInts(Shape shape) {
        return new CpuTensor(shape, null, new int[shape.size()], false);
    }

    @Override
    public Tensor upload(HostTensor host) {
        return new CpuTensor(host.shape(), host.data().clone(), null, false);
    }

    /**
     * Weights of the GEMM are packed now (so the first forward is as fast as the others) and kept only packed, off
     * the Java heap; other constants (biases, norms, tables: small) are copied onto the heap.
     */
    @Override
    public Tensor constant(HostTensor host, ConstantKind kind) {
        Shape s = host.shape();
        int rows = s.dim(0), k = Math.toIntExact(s.numel() / rows);
        switch (kind) {
            case LINEAR_WEIGHT:
                return CpuTensor.packedWeight(s, new Gemm.PackedB(Gemm.transposedB(host.data(), 0, k), rows, k));
            case CONV_WEIGHT:
                return CpuTensor.packedWeight(s, new Gemm.PackedA(Gemm.rowMajorA(host.data(), 0, k), rows, k));
            default:
                return new CpuTensor(s, host.data().clone(), null, true);
        }
    }

    /** Weights go off the heap (packed panels), activations on it; see {@link MemoryBudget}. */
    @Override
    public void checkMemory(String what, long weightBytes, long activationBytes) {
        String shortfall = MemoryBudget.current().shortfall(weightBytes, activationBytes);
        // Garbage (a closed model's buffers) counts as used until collected: collect it before giving up, waiting a
        // little as the JDK does for freed direct memory, whose cleaners run after the collection.
        for (int wait = 1; shortfall != null && wait <= 64; wait *= 2) {
            System.gc();
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            shortfall = MemoryBudget.current().shortfall(weightBytes, activationBytes);
        }
        if (shortfall != null) throw new DitjException(what + ": " + shortfall);
    }

    @Override
    public Tensor view(Tensor base, Shape shape) {
        CpuTensor b = cpu(base);
        if (b.f == null && b.i == null) throw new IllegalArgumentException("cannot view packed weight " + base);
        long capacity = b.f != null ? b.f.length : b.i.length;
        if (shape.numel() > capacity) {
            throw new IllegalArgumentException("view " + shape + " exceeds its base " + b.shape);
        }
        return new CpuTensor(shape, b.f, b.i, false);
    }

    @Override
    public void write(Tensor dst, float[] values) {
        checkCount(dst, values.length);
        System.arraycopy(values, 0, f(dst), 0, values.length);
    }

    @Override
    public void writeInts(Tensor dst, int[] values) {
        checkCount(dst, values.length);
        int[] a = cpu(dst).i;
        if (a == null) throw new IllegalArgumentException("expected an int32 tensor, got " + dst);
        System.arraycopy(values, 0, a, 0, values.length);
    }

    private static void checkCount(Tensor t, int n) {
        if (t.numel() != n) throw new IllegalArgumentException(n + " values for tensor " + t);
    }

    @Override
    public float[] read(Tensor src) {
        float[] a = f(src);
        float[] out = new float[src.shape().size()];
        System.arraycopy(a, 0, out, 0, out.length);
        return out;
    }

    @Override
    public void copy(Tensor dst, long dstOffset, Tensor src, long srcOffset, long count) {
        if (dstOffset + count > dst.numel() || srcOffset + count > src.numel()) {
            throw new IllegalArgumentException("copy of " + count + " elements out of bounds: " + src + " -> " + dst);
        }
        System.arraycopy(f(src), (int) srcOffset, f(dst), (int) dstOffset, (int) count);
    }

    // ------------------------------------------------------------------------------------------------ dense

    @Override
    public void linear(Tensor out, Tensor x, Tensor w, Tensor bias, Activation act) {
        int n = w.dim(0), k = w.dim(1), m = Ops.linearRows(out, x, w);
        float[] xf = f(x), of = f(out);
        float[] bf = bias == null ? null : f(bias);
        Gemm.multiply(par, m, n, k, Gemm.rowMajorA(xf, 0, k), weightAsB(cpu(w)), of, 0, n,
                bf == null && act == Activation.NONE ? Gemm.Epilogue.NONE : (c, cOff, ldc, i0, i1, j0, j1) -> {
                    for (int i = i0; i < i1; i++) RowKernels.BEST.biasActivation(c, cOff + i * ldc + j0, j1 - j0, bf, j0, act);
                });
    }

    /** A Linear weight [N, K] as the GEMM's B = Wᵀ, packed once for constants. */
    private static Gemm.B weightAsB(CpuTensor w) {
        int n = w.shape.dim(0), k = w.shape.dim(1);
        if (w.packed instanceof Gemm.PackedB p) return p;
        Gemm.B source = Gemm.transposedB(f(w), 0, k);
        if (!w.constant || w.f == null) return source; // an activation, or a weight packed for the other operand
        synchronized (w) {
            if (!(w.packed instanceof Gemm.PackedB)) w.packed = new Gemm.PackedB(source, n, k);
            return (Gemm.PackedB) w.packed;
        }
    }

    /** A conv weight [Co, Ci·k·k] as the GEMM's A, packed once for constants. */
    private static Gemm.A weightAsA(CpuTensor w) {
        int m = w.shape.dim(0);
        int k = Math.toIntExact(w.shape.numel() / m);
        if (w.packed instanceof Gemm.PackedA p) return p;
        Gemm.A source = Gemm.rowMajorA(f(w), 0, k);
        if (!w.constant || w.f == null) return source; // an activation, or a weight packed for the other operand
        synchronized (w) {
            if (!(w.packed instanceof Gemm.PackedA)) w.packed = new Gemm.PackedA(source, m, k);
            return (Gemm.PackedA) w.packed;
        }
    }

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        float[] o = f(out), x = f(a), y = f(b);
        int n = Ops.checkSameSize(out, a, b);
        par.forRange(n, (from, to) -> {
            for (int i = from; i < to; i++) o[i] = x[i] + y[i];
        });
    }

    @Override
    public void silu(Tensor out, Tensor x) {
        float[] o = f(out), v = f(x);
        int n = Ops.checkSameSize(out, x, x);
        par.forRange(n, (from, to) -> {
            System.arraycopy(v, from, o, from, to - from);
            RowKernels.BEST.biasActivation(o, from, to - from, null, 0, Activation.SILU);
        });
    }

    @Override
    public void addTokenTable(Tensor x, Tensor rows, int tokens) {
        float[] xf = f(x), r = f(rows);
        int per = Math.toIntExact(rows.numel());
        if (x.numel() % per != 0 || per % tokens != 0) {
            throw new IllegalArgumentException("token table " + rows + " does not fit " + x);
        }
        int batches = Math.toIntExact(x.numel() / per);
        par.forEach(batches, b -> {
            int off = b * per;
            for (int i = 0; i < per; i++) xf[off + i] += r[i];
        });
    }

    @Override
    public void embeddingLookup(Tensor out, Tensor table, Tensor labels) {
        int[] y = cpu(labels).i;
        float[] o = f(out), tf = f(table);
        int rows = table.dim(0), h = table.dim(1);
        for (int b = 0; b < y.length; b++) {
            if (y[b] < 0 || y[b] >= rows) {
                throw new DitjException("class label " + y[b] + " is out of range [0, " + (rows - 1) + "]");
            }
            System.arraycopy(tf, y[b] * h, o, b * h, h);
        }
    }

    @Override
    public void timestepFrequencies(Tensor out, Tensor t, Tensor freqs) {
        float[] o = f(out), tv = f(t), fr = f(freqs);
        // sizes from the shapes: a view's backing array may be longer than the view
        int half = Math.toIntExact(freqs.numel()), batch = Math.toIntExact(t.numel());
        for (int b = 0; b < batch; b++) {
            for (int k = 0; k < half; k++) {
                float arg = tv[b] * fr[k];
                o[b * 2 * half + k] = (float) Math.cos(arg);
                o[b * 2 * half + half + k] = (float) Math.sin(arg);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ transformer

    @Override
    public void modulatedLayerNorm(Tensor out, Tensor x, Tensor mod, int shiftChunk, int scaleChunk, int tokens,
                                   float eps) {
        float[] o = f(out), xf = f(x), m = f(mod);
        int h = x.dim(-1);
        int rows = Math.toIntExact(x.numel() / h);
        int modStride = mod.dim(-1);
        par.forRange(rows, (from, to) -> {
            for (int r = from; r < to; r++) {
                int off = r * h, mb = (r / tokens) * modStride;
                double mean = 0;
                for (int i = 0; i < h; i++) mean += xf[off + i];
                mean /= h;
                double var = 0;
                for (int i = 0; i < h; i++) {
                    double d = xf[off + i] - mean;
                    var += d * d;
                }
                double rstd = 1.0 / Math.sqrt(var / h + eps);
                int shift = mb + shiftChunk * h, scale = mb + scaleChunk * h;
                for (int i = 0; i < h; i++) {
                    double normed = (xf[off + i] - mean) * rstd;
                    o[off + i] = (float) (normed * (1.0 + m[scale + i]) + m[shift + i]);
                }
            }
        });
    }

    @Override
    public void modulatedRmsNorm(Tensor out, Tensor x, Tensor weight, Tensor mod, int shiftChunk, int scaleChunk, int tokens,
                                 float eps) {
        float[] o = f(out), xf = f(x), w = f(weight), m = f(mod);
        int h = x.dim(-1);
        int rows = Math.toIntExact(x.numel() / h);
        int modStride = mod.dim(-1);
        par.forRange(rows, (from, to) -> {
            for (int r = from; r < to; r++) {
                int off = r * h, mb = (r / tokens) * modStride;
                double sq = 0;
                for (int i = 0; i < h; i++) sq += (double) xf[off + i] * xf[off + i];
                double rrms = 1.0 / Math.sqrt(sq / h + eps);
                int shift = mb + shiftChunk * h, scale = mb + scaleChunk * h;
                for (int i = 0; i < h; i++) {
                    o[off + i] = (float) (xf[off + i] * rrms * w[i] * (1.0 + m[scale + i]) + m[shift + i]);
                }
            }
        });
    }

    @Override
    public void swiglu(Tensor out, Tensor x) {
        float[] o = f(out), xf = f(x);
        int n = out.dim(-1);
        int rows = Math.toIntExact(out.numel() / n);
        if (x.numel() != 2L * out.numel()) throw new IllegalArgumentException("swiglu: out " + out.shape() + ", x " + x.shape());
        par.forRange(rows, (from, to) -> {
            for (int r = from; r < to; r++) {
                int src = 2 * r * n, dst = r * n;
                System.arraycopy(xf, src, o, dst, n);
                RowKernels.BEST.biasActivation(o, dst, n, null, 0, Activation.SILU);
                for (int i = 0; i < n; i++) o[dst + i] *= xf[src + n + i];
            }
        });
    }

    @Override
    public void rotaryQk(Tensor qkv, Tensor cos, Tensor sin, int tokens, int heads) {
        float[] q = f(qkv), c = f(cos), s = f(sin);
        int h = qkv.dim(-1) / 3, hd = h / heads;
        int rows = Math.toIntExact(qkv.numel() / (3L * h));
        if (cos.numel() != (long) tokens * hd || sin.numel() != cos.numel()) {
            throw new IllegalArgumentException("rotaryQk: tables " + cos.shape() + ", " + sin.shape() + " for " + tokens + " tokens, head dim " + hd);
        }
        par.forRange(rows, (from, to) -> {
            for (int r = from; r < to; r++) {
                int table = (r % tokens) * hd;
                for (int f = 0; f < 2 * h; f += 2) {     // q then k: features [0, 2H) of the row, in pairs
                    int i = r * 3 * h + f, d = table + f % hd;
                    float x0 = q[i], x1 = q[i + 1];
                    q[i] = x0 * c[d] - x1 * s[d];
                    q[i + 1] = x1 * c[d + 1] + x0 * s[d + 1];
                }
            }
        });
    }

    @Override
    public void gatedResidual(Tensor x, Tensor y, Tensor mod, int gateChunk, int tokens) {
        float[] xf = f(x), yf = f(y), m = f(mod);
        int h = x.dim(-1);
        int rows = Math.toIntExact(x.numel() / h);
        int modStride = mod.dim(-1);
        par.forRange(rows, (from, to) -> {
            for (int r = from; r < to; r++) {
                int off = r * h, gate = (r / tokens) * modStride + gateChunk * h;
                for (int i = 0; i < h; i++) xf[off + i] += m[gate + i] * yf[off + i];
            }
        });
    }

    private static final ThreadLocal<float[]> SCORES = ThreadLocal.withInitial(() -> new float[0]);

    @Override
    public void attention(Tensor out, Tensor qkv, int batch, int tokens, int heads, float scale) {
        float[] o = f(out), q = f(qkv);
        int h = out.dim(-1), hd = h / heads, ld = 3 * h;
        int blocks = Gemm.ceilDiv(tokens, QUERY_BLOCK);
        par.forEach(batch * heads * blocks, task -> {
            int b = task / (heads * blocks), head = (task / blocks) % heads, q0 = (task % blocks) * QUERY_BLOCK;
            int qb = Math.min(QUERY_BLOCK, tokens - q0);
            float[] s = SCORES.get();
            if (s.length < qb * tokens) {
                s = new float[QUERY_BLOCK * tokens];
                SCORES.set(s);
            }
            int rowBase = b * tokens;
            // S = (q · kᵀ) for this block of queries: B[d][j] = k[j][d].
            Gemm.multiply(SERIAL, qb, tokens, hd,
                    Gemm.rowMajorA(q, (rowBase + q0) * ld + head * hd, ld),
                    Gemm.transposedB(q, rowBase * ld + h + head * hd, ld),
                    s, 0, tokens, Gemm.Epilogue.NONE);
            for (int i = 0; i < qb; i++) softmaxRow(s, i * tokens, tokens, scale);
            // O = P · v, written straight into this head's columns of out.
            Gemm.multiply(SERIAL, qb, hd, tokens,
                    Gemm.rowMajorA(s, 0, tokens),
                    Gemm.rowMajorB(q, rowBase * ld + 2 * h + head * hd, ld),
                    o, (rowBase + q0) * h + head * hd, h, Gemm.Epilogue.NONE);
        });
    }

    /** softmax(scale · row), its max subtracted first as PyTorch does. */
    private static void softmaxRow(float[] s, int off, int n, float scale) {
        RowKernels k = RowKernels.BEST;
        float max = k.scaledMax(s, off, n, scale);
        float sum = k.scaledExp(s, off, n, scale, max);
        k.scale(s, off, n, 1f / sum);
    }

    @Override
    public void patchify(Tensor out, Tensor x, int patch) {
        float[] o = f(out), xf = f(x);
        int batch = x.dim(0), ch = x.dim(1), side = x.dim(2), grid = side / patch, tokens = grid * grid;
        int feat = ch * patch * patch;
        par.forEach(batch * tokens, bt -> {
            int b = bt / tokens, t = bt % tokens, gy = t / grid, gx = t % grid;
            int dst = bt * feat;
            for (int c = 0; c < ch; c++) {
                for (int ky = 0; ky < patch; ky++) {
                    int src = ((b * ch + c) * side + gy * patch + ky) * side + gx * patch;
                    System.arraycopy(xf, src, o, dst + (c * patch + ky) * patch, patch);
                }
            }
        });
    }

    @Override
    public void unpatchify(Tensor out, Tensor x, int patch, int channels) {
        float[] o = f(out), xf = f(x);
        int batch = out.dim(0), side = out.dim(2), grid = side / patch, tokens = grid * grid;
        int feat = patch * patch * channels;
        par.forEach(batch * tokens, bt -> {
            int b = bt / tokens, t = bt % tokens, gy = t / grid, gx = t % grid;
            for (int py = 0; py < patch; py++) {
                for (int px = 0; px < patch; px++) {
                    for (int c = 0; c < channels; c++) {
                        o[((b * channels + c) * side + gy * patch + py) * side + gx * patch + px] =
                                xf[bt * feat + (py * patch + px) * channels + c];
                    }
                }
            }
        });
    }

    // ------------------------------------------------------------------------------------------------ convolution

    @Override
    public void conv2d(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor residual) {
        int height = x.dim(2), width = x.dim(3);
        if (out.dim(2) != height || out.dim(3) != width) {
            throw new IllegalArgumentException("conv2d shapes: x " + x.shape() + ", w " + w.shape() + ", out " + out.shape());
        }
        convolution(out, x, w, bias, residual, 1, (w.dim(2) - 1) / 2, "conv2d");
    }

    /** Stride 2, no padding: the zero row and column that F.pad(x, (0, 1, 0, 1)) adds are taps past the image. */
    @Override
    public void downsampleConv2d(Tensor out, Tensor x, Tensor w, Tensor bias) {
        if (x.dim(2) < 2 || x.dim(3) < 2 || w.dim(2) != 3 || out.dim(2) != x.dim(2) / 2 || out.dim(3) != x.dim(3) / 2) {
            throw new IllegalArgumentException("downsampleConv2d shapes: x " + x.shape() + ", w " + w.shape() + ", out "
                    + out.shape() + " (takes a 3x3 weight, x at least 2x2, out [B, Co, H/2, W/2])");
        }
        convolution(out, x, w, bias, null, 2, 0, "downsampleConv2d");
    }

    /**
     * out = bias + w ⋆ x (+ residual), output pixel (y, x) reading input (y·stride - pad + ky, x·stride - pad + kx),
     * zero outside x: a GEMM per image of w [Co, Ci·k²] by the im2col of x [Ci·k², Ho·Wo].
     */
    private void convolution(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor residual, int stride, int pad, String op) {
        int batch = x.dim(0), ci = x.dim(1), height = x.dim(2), width = x.dim(3);
        int co = w.dim(0), kernel = w.dim(2), outH = out.dim(2), outW = out.dim(3);
        if (w.dim(1) != ci || w.dim(3) != kernel || out.dim(0) != batch || out.dim(1) != co) {
            throw new IllegalArgumentException(op + " shapes: x " + x.shape() + ", w " + w.shape() + ", out " + out.shape());
        }
        float[] o = f(out), xf = f(x), bf = f(bias), rf = residual == null ? null : f(residual);
        int hw = height * width, outHw = outH * outW, k = ci * kernel * kernel;
        Gemm.A a = weightAsA(cpu(w));
        for (int b = 0; b < batch; b++) {
            int inOff = b * ci * hw, outOff = b * co * outHw;
            Gemm.B src = kernel == 1 && stride == 1 ? Gemm.rowMajorB(xf, inOff, hw)
                    : new Im2col(xf, inOff, height, width, outW, kernel, stride, pad);
            Gemm.multiply(par, co, outHw, k, a, src, o, outOff, outHw, (c, cOff, ldc, i0, i1, j0, j1) -> {
                for (int i = i0; i < i1; i++) {
                    int row = cOff + i * ldc + j0;
                    RowKernels.BEST.addScalarAndRow(c, row, j1 - j0, bf[i], rf, row);
                }
            });
        }
    }

    /**
     * B operand of a k×k convolution of an H×W image with a stride and zero padding:
     * {@code B[(ci·k + ky)·k + kx][y·Wo + x] = src[ci][y·stride - pad + ky][x·stride - pad + kx]}, 0 outside the image.
     */
    private static final class Im2col extends Gemm.B {
        private final float[] src;
        private final int off, height, width, outWidth, kernel, stride, pad;

        Im2col(float[] src, int off, int height, int width, int outWidth, int kernel, int stride, int pad) {
            this.src = src;
            this.off = off;
            this.height = height;
            this.width = width;
            this.outWidth = outWidth;
            this.kernel = kernel;
            this.stride = stride;
            this.pad = pad;
        }

        @Override
        void pack(float[] dst, int j0, int cols, int k0, int kc) {
            int nr = Gemm.NR, kk2 = kernel * kernel, hw = height * width;
            int[] ys = new int[nr], xs = new int[nr];
            for (int p = 0; p * nr < cols; p++) {
                int base = p * kc * nr, n = Math.min(nr, cols - p * nr);
                int first = j0 + p * nr, y0 = first / outWidth, x0 = first % outWidth;
                if (n == nr && x0 + nr <= outWidth) {
                    packRowSegment(dst, base, y0 * stride - pad, x0 * stride - pad, k0, kc);
                    continue;
                }
                for (int c = 0; c < nr; c++) {
                    int j = j0 + p * nr + c;
                    ys[c] = c < n ? j / outWidth * stride - pad : Integer.MIN_VALUE / 2; // padding columns read as zero
                    xs[c] = c < n ? j % outWidth * stride - pad : 0;
                }
                for (int kk = 0; kk < kc; kk++) {
                    int kidx = k0 + kk, ch = kidx / kk2, r = kidx % kk2;
                    int dy = r / kernel, dx = r % kernel;
                    int plane = off + ch * hw, d = base + kk * nr;
                    for (int c = 0; c < nr; c++) {
                        int yy = ys[c] + dy, xx = xs[c] + dx;
                        dst[d + c] = yy >= 0 && yy < height && xx >= 0 && xx < width ? src[plane + yy * width + xx] : 0f;
                    }
                }
            }
        }

        /**
         * The common case: a panel of NR output pixels within one output row, whose tap (0, 0) is input (iy, ix), so
         * every (ci, ky, kx) row of the panel is an input row segment taken every stride values, with zeros where it
         * runs past the image.
         */
        private void packRowSegment(float[] dst, int base, int iy, int ix, int k0, int kc) {
            int nr = Gemm.NR, kk2 = kernel * kernel, hw = height * width;
            for (int kk = 0; kk < kc; kk++) {
                int kidx = k0 + kk, ch = kidx / kk2, r = kidx % kk2;
                int yy = iy + r / kernel, xs = ix + r % kernel;
                int d = base + kk * nr;
                if (yy < 0 || yy >= height) {
                    java.util.Arrays.fill(dst, d, d + nr, 0f);
                    continue;
                }
                // columns c in [lo, hi) read xs + c·stride inside [0, width)
                int lo = Math.min(nr, Math.max(0, Math.floorDiv(-xs + stride - 1, stride)));
                int hi = Math.max(lo, Math.min(nr, Math.floorDiv(width - xs + stride - 1, stride)));
                int row = off + ch * hw + yy * width + xs;
                java.util.Arrays.fill(dst, d, d + lo, 0f);
                if (stride == 1) {
                    System.arraycopy(src, row + lo, dst, d + lo, hi - lo);
                } else {
                    for (int c = lo; c < hi; c++) dst[d + c] = src[row + c * stride];
                }
                java.util.Arrays.fill(dst, d + hi, d + nr, 0f);
            }
        }
    }

    @Override
    public void groupNorm(Tensor out, Tensor x, Tensor gamma, Tensor beta, int groups, float eps, boolean silu) {
        float[] o = f(out), xf = f(x), g = f(gamma), be = f(beta);
        int batch = x.dim(0), ch = x.dim(1);
        int spatial = Math.toIntExact(x.shape().numelFrom(2));
        int cpg = ch / groups, n = cpg * spatial;
        par.forEach(batch * groups, bg -> {
            int off = bg * n;
            double mean = 0;
            for (int i = 0; i < n; i++) mean += xf[off + i];
            mean /= n;
            double var = 0;
            for (int i = 0; i < n; i++) {
                double d = xf[off + i] - mean;
                var += d * d;
            }
            double rstd = 1.0 / Math.sqrt(var / n + eps);
            int c0 = (bg % groups) * cpg;
            for (int c = 0; c < cpg; c++) {
                // y = x·(rstd·γ) + (β - mean·rstd·γ): PyTorch's fused form, one multiply-add per element
                double scale = rstd * g[c0 + c];
                RowKernels.BEST.affineActivation(xf, off + c * spatial, o, off + c * spatial, spatial, (float) scale,
                        (float) (be[c0 + c] - mean * scale), silu ? Activation.SILU : Activation.NONE);
            }
        });
    }

    @Override
    public void upsampleNearest2x(Tensor out, Tensor x) {
        float[] o = f(out), xf = f(x);
        int planes = x.dim(0) * x.dim(1), height = x.dim(2), width = x.dim(3);
        par.forEach(planes, p -> {
            int in = p * height * width, dst = p * 4 * height * width;
            for (int y = 0; y < 2 * height; y++) {
                int srcRow = in + (y >> 1) * width, dstRow = dst + y * 2 * width;
                for (int xx = 0; xx < 2 * width; xx++) o[dstRow + xx] = xf[srcRow + (xx >> 1)];
            }
        });
    }

    @Override
    public void channelsToTokens(Tensor out, Tensor x) {
        float[] o = f(out), xf = f(x);
        int batch = x.dim(0), ch = x.dim(1), n = Math.toIntExact(x.shape().numelFrom(2));
        par.forEach(batch, b -> {
            for (int c = 0; c < ch; c++) {
                int src = (b * ch + c) * n;
                for (int t = 0; t < n; t++) o[(b * n + t) * ch + c] = xf[src + t];
            }
        });
    }

    @Override
    public void tokensToChannels(Tensor out, Tensor tokens, Tensor residual) {
        float[] o = f(out), tf = f(tokens), rf = residual == null ? null : f(residual);
        int batch = out.dim(0), ch = out.dim(1), n = Math.toIntExact(out.shape().numelFrom(2));
        par.forEach(batch * ch, bc -> {
            int b = bc / ch, c = bc % ch, dst = bc * n;
            for (int t = 0; t < n; t++) {
                float v = tf[(b * n + t) * ch + c];
                o[dst + t] = rf == null ? v : v + rf[dst + t];
            }
        });
    }

    @Override
    public void channelAffine(Tensor out, Tensor x, float[] mul, float div, float[] add) {
        float[] o = f(out), xf = f(x);
        int ch = x.dim(1), per = Math.toIntExact(x.shape().numelFrom(2));
        int planes = Math.toIntExact(x.numel() / per);
        for (int p = 0; p < planes; p++) {
            int c = p % ch, off = p * per;
            for (int i = 0; i < per; i++) o[off + i] = xf[off + i] * mul[c] / div + add[c];
        }
    }

    // ------------------------------------------------------------------------------------------------ sampling

    @Override
    public void cfgCombine(Tensor out, Tensor modelOut, int guidedChannels, float scale) {
        float[] o = f(out), m = f(modelOut);
        int rows = out.dim(0), ch = out.dim(1), moCh = modelOut.dim(1), per = Math.toIntExact(out.shape().numelFrom(2));
        int half = modelOut.dim(0) / 2;
        Ops.checkCfgShapes(out, modelOut, guidedChannels);
        for (int b = 0; b < rows; b++) {
            for (int c = 0; c < ch; c++) {
                int off = (b * ch + c) * per;
                if (c < guidedChannels) {
                    int cond = ((b % half) * moCh + c) * per, uncond = ((half + b % half) * moCh + c) * per;
                    for (int i = 0; i < per; i++) o[off + i] = m[uncond + i] + scale * (m[cond + i] - m[uncond + i]);
                } else {
                    System.arraycopy(m, (b * moCh + c) * per, o, off, per);
                }
            }
        }
    }

    @Override
    public void scaledAdd(Tensor out, float a, Tensor x, float b, Tensor y) {
        float[] o = f(out), xf = f(x), yf = f(y);
        int n = Ops.checkSameSize(out, x, y);
        par.forRange(n, (from, to) -> {
            for (int i = from; i < to; i++) o[i] = a * xf[i] + b * yf[i];
        });
    }

    @Override
    public void maskBlend(Tensor x, Tensor keep, Tensor mask) {
        float[] xf = f(x), k = f(keep), m = f(mask);
        int n = Ops.checkSameSize(x, keep, mask);
        par.forRange(n, (from, to) -> {
            for (int i = from; i < to; i++) xf[i] = (1f - m[i]) * k[i] + m[i] * xf[i];
        });
    }

    @Override
    public void ddpmStep(Tensor x, Tensor modelOut, Tensor noise, DdpmCoefficients k) {
        float[] xf = f(x), m = f(modelOut), z = noise == null ? null : f(noise);
        int n = x.dim(0), ch = x.dim(1), per = Math.toIntExact(x.shape().numelFrom(2));
        int outCh = modelOut.dim(1);
        for (int b = 0; b < n; b++) {
            for (int c = 0; c < ch; c++) {
                int xo = (b * ch + c) * per, eo = (b * outCh + c) * per, vo = (b * outCh + ch + c) * per;
                for (int i = 0; i < per; i++) {
                    float xv = xf[xo + i], eps = m[eo + i];
                    float predX0 = k.sqrtRecipAlphasCumprod() * xv - k.sqrtRecipm1AlphasCumprod() * eps;
                    float mean = k.posteriorMeanCoef1() * predX0 + k.posteriorMeanCoef2() * xv;
                    float logVar;
                    if (k.learnedVariance()) {
                        float frac = (m[vo + i] + 1f) / 2f;
                        logVar = frac * k.maxLog() + (1f - frac) * k.minLog();
                    } else {
                        logVar = k.fixedLogVariance();
                    }
                    xf[xo + i] = k.addNoise() ? mean + (float) Math.exp(0.5f * logVar) * z[xo + i] : mean;
                }
            }
        }
    }

    @Override
    public void ddimStep(Tensor x, Tensor modelOut, Tensor noise, DdimCoefficients k) {
        float[] xf = f(x), m = f(modelOut), z = noise == null ? null : f(noise);
        int n = x.dim(0), ch = x.dim(1), per = Math.toIntExact(x.shape().numelFrom(2));
        int outCh = modelOut.dim(1);
        for (int b = 0; b < n; b++) {
            for (int c = 0; c < ch; c++) {
                int xo = (b * ch + c) * per, eo = (b * outCh + c) * per;
                for (int i = 0; i < per; i++) {
                    float xv = xf[xo + i];
                    float scaledX = k.sqrtRecipAlphasCumprod() * xv;
                    float predX0 = scaledX - k.sqrtRecipm1AlphasCumprod() * m[eo + i];
                    // DDIM re-derives ε from the x0 prediction (as the official ddim_sample does).
                    float eps = (scaledX - predX0) / k.sqrtRecipm1AlphasCumprod();
                    float meanPred = predX0 * k.sqrtAlphasCumprodPrev() + k.sqrtOneMinusPrevMinusSigma2() * eps;
                    xf[xo + i] = k.addNoise() ? meanPred + k.sigma() * z[xo + i] : meanPred;
                }
            }
        }
    }

    @Override
    public void dpmSolverStep(Tensor x, Tensor modelOut, Tensor x0, Tensor x0Prev, DpmSolverCoefficients k) {
        float[] xf = f(x), m = f(modelOut), d0 = f(x0), d1 = k.secondOrder() ? f(x0Prev) : null;
        int n = x.dim(0), ch = x.dim(1), per = Math.toIntExact(x.shape().numelFrom(2));
        int outCh = modelOut.dim(1);
        float halfA = 0.5f * k.a();
        for (int b = 0; b < n; b++) {
            for (int c = 0; c < ch; c++) {
                int xo = (b * ch + c) * per, eo = (b * outCh + c) * per;
                for (int i = 0; i < per; i++) {
                    float xv = xf[xo + i];
                    float pred = (xv - k.sigmaS() * m[eo + i]) / k.alphaS();
                    d0[xo + i] = pred;
                    float next = k.ratio() * xv - k.a() * pred;
                    if (k.secondOrder()) next = next - halfA * (k.invR0() * (pred - d1[xo + i]));
                    xf[xo + i] = next;
                }
            }
        }
    }
}
