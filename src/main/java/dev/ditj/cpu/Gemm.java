package dev.ditj.cpu;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * {@code C[M,N] = A[M,K] · B[K,N]} (then an epilogue) in the GotoBLAS structure: C is cut into column strips that
 * run in parallel; each strip walks K in KC blocks, packs its B columns into NR-column micro-panels once per block,
 * packs A rows into MR-row micro-panels MC rows at a time, and runs the {@link MicroKernel} over them. Operands that
 * never change (weights) are packed once, off the heap ({@link PackedA}, {@link PackedB}), and copied onto the heap
 * where the micro-kernel reads them: a packed B per K block, a packed A once per thread and call.
 *
 * <p>Accumulation is float32 FMA in k order within a KC block, blocks added in k order: the result does not
 * depend on the thread count.
 */
final class Gemm {
    static final MicroKernel KERNEL = MicroKernel.best();
    static final int MR = MicroKernel.MR;
    static final int NR = KERNEL.nr();
    static final int KC = 256;
    /** Rows of A per block (a multiple of MR). */
    static final int MC = 96;
    static final int NC = 12 * NR;

    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(
            () -> new float[][] {new float[MC * KC], new float[NC * KC], new float[MR * NR]});

    private Gemm() {
    }

    /** Source of A rows: packs {@code A[i0, i0+rows) × [k0, k0+kc)} into {@code dst [ceil(rows/MR)][kc][MR]}. */
    abstract static class A {
        abstract void pack(float[] dst, int i0, int rows, int k0, int kc);
    }

    /** Source of B columns: packs {@code B[k0, k0+kc) × [j0, j0+cols)} into {@code dst [ceil(cols/NR)][kc][NR]}. */
    abstract static class B {
        abstract void pack(float[] dst, int j0, int cols, int k0, int kc);
    }

    /** Epilogue on a finished tile: rows [i0, i1), columns [j0, j1) of C. */
    interface Epilogue {
        Epilogue NONE = (c, cOff, ldc, i0, i1, j0, j1) -> { };

        void apply(float[] c, int cOff, int ldc, int i0, int i1, int j0, int j1);
    }

    /** {@code A[i][k] = src[off + i*ld + k]}. */
    static A rowMajorA(float[] src, int off, int ld) {
        return new A() {
            @Override
            void pack(float[] dst, int i0, int rows, int k0, int kc) {
                for (int p = 0; p * MR < rows; p++) {
                    int base = p * kc * MR;
                    for (int r = 0; r < MR; r++) {
                        int i = p * MR + r;
                        if (i < rows) {
                            int s = off + (i0 + i) * ld + k0;
                            for (int kk = 0; kk < kc; kk++) dst[base + kk * MR + r] = src[s + kk];
                        } else {
                            for (int kk = 0; kk < kc; kk++) dst[base + kk * MR + r] = 0f;
                        }
                    }
                }
            }
        };
    }

    /** {@code B[k][j] = src[off + k*ld + j]}. */
    static B rowMajorB(float[] src, int off, int ld) {
        return new B() {
            @Override
            void pack(float[] dst, int j0, int cols, int k0, int kc) {
                for (int p = 0; p * NR < cols; p++) {
                    int base = p * kc * NR, jStart = j0 + p * NR, n = Math.min(NR, cols - p * NR);
                    for (int kk = 0; kk < kc; kk++) {
                        int s = off + (k0 + kk) * ld + jStart, d = base + kk * NR;
                        System.arraycopy(src, s, dst, d, n);
                        for (int c = n; c < NR; c++) dst[d + c] = 0f;
                    }
                }
            }
        };
    }

    /** {@code B[k][j] = src[off + j*ld + k]}: the transpose of a row-major matrix (e.g. a Linear weight). */
    static B transposedB(float[] src, int off, int ld) {
        return new B() {
            @Override
            void pack(float[] dst, int j0, int cols, int k0, int kc) {
                for (int p = 0; p * NR < cols; p++) {
                    int base = p * kc * NR;
                    for (int c = 0; c < NR; c++) {
                        int j = p * NR + c;
                        if (j < cols) {
                            int s = off + (j0 + j) * ld + k0;
                            for (int kk = 0; kk < kc; kk++) dst[base + kk * NR + c] = src[s + kk];
                        } else {
                            for (int kk = 0; kk < kc; kk++) dst[base + kk * NR + c] = 0f;
                        }
                    }
                }
            }
        };
    }

    /**
     * Micro-panels {@code [count][k][width]} (width MR for A, NR for B) packed once over all of K, kept off the Java
     * heap in a direct buffer: a model's weights can outgrow the default heap. A GEMM copies the K block it needs into
     * its on-heap scratch ({@link #copy}), where the micro-kernel reads arrays: on Java 17 its vector loads from a
     * direct buffer ran at about 60 % of the speed of loads from an array.
     */
    static final class Panels {
        private final FloatBuffer data;
        private final int width, k;

        /** Packs panel p with {@code source.pack(dst, p)}, one panel at a time through a small array. */
        Panels(int count, int width, int k, PanelSource source) {
            this.width = width;
            this.k = k;
            long bytes = (long) count * width * k * Float.BYTES;
            if (bytes > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("packed operand of " + bytes + " bytes exceeds a direct buffer's 2 GiB");
            }
            data = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder()).asFloatBuffer();
            float[] panel = new float[width * k];
            for (int p = 0; p < count; p++) {
                source.pack(panel, p);
                data.put(p * width * k, panel);
            }
        }

        /** Panels {@code [first, first + n)}, K rows {@code [k0, k0 + kc)}, into {@code dst [n][kc][width]}. */
        void copy(float[] dst, int first, int n, int k0, int kc) {
            for (int p = 0; p < n; p++) data.get(((first + p) * k + k0) * width, dst, p * kc * width, kc * width);
        }

        /** The first {@code rows} packed rows as a row-major {@code [rows][k]} matrix (A itself, or Bᵀ). */
        float[] unpack(int rows) {
            float[] out = new float[rows * k];
            for (int r = 0; r < rows; r++) {
                int base = (r / width) * k * width + r % width;
                for (int kk = 0; kk < k; kk++) out[r * k + kk] = data.get(base + kk * width);
            }
            return out;
        }
    }

    /** Packs micro-panel p of an operand over all of K into {@code dst [k][width]}. */
    interface PanelSource {
        void pack(float[] dst, int panel);
    }

    /** An A operand packed once over all of K (off the heap). */
    static final class PackedA extends A {
        final Panels panels;
        final int m, k;

        PackedA(A source, int m, int k) {
            this.m = m;
            this.k = k;
            this.panels = new Panels(ceilDiv(m, MR), MR, k, (dst, p) -> source.pack(dst, p * MR, Math.min(MR, m - p * MR), 0, k));
        }

        @Override
        void pack(float[] dst, int i0, int rows, int k0, int kc) {
            panels.copy(dst, i0 / MR, ceilDiv(rows, MR), k0, kc); // i0 is a multiple of MR (tile bands and MC are)
        }
    }

    /** A B operand packed once over all of K (off the heap). */
    static final class PackedB extends B {
        final Panels panels;
        final int n, k;

        PackedB(B source, int n, int k) {
            this.n = n;
            this.k = k;
            this.panels = new Panels(ceilDiv(n, NR), NR, k, (dst, p) -> source.pack(dst, p * NR, Math.min(NR, n - p * NR), 0, k));
        }

        @Override
        void pack(float[] dst, int j0, int cols, int k0, int kc) {
            panels.copy(dst, j0 / NR, ceilDiv(cols, NR), k0, kc); // j0 is a multiple of NR (strips are)
        }
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    /**
     * C (row-major from {@code cOff}, leading dimension ldc) = A·B, then the epilogue per tile.
     *
     * <p>Tasks are column strips of C (and, only when there are too few strips for the threads, row bands too).
     * A strip walks all its rows with one packed B block resident in L2, so each weight is read from memory once
     * per call: the weights of a DiT layer do not fit in any cache, and re-reading them per row band made the
     * whole forward memory bound.
     */
    static void multiply(Parallel par, int m, int n, int k, A a, B b, float[] c, int cOff, int ldc, Epilogue epilogue) {
        if (m == 0 || n == 0) return;
        if (a instanceof PackedA pa && (pa.m != m || pa.k != k) || b instanceof PackedB pb && (pb.n != n || pb.k != k)) {
            throw new IllegalArgumentException("packed operand does not match " + m + "x" + n + "x" + k);
        }
        int threads = par.threads();
        int panels = ceilDiv(n, NR);
        // Column strips: at least 4 per thread when possible, at most NC wide.
        int strips = Math.max(ceilDiv(panels * NR, NC), Math.min(panels, 4 * threads));
        int stripPanels = ceilDiv(panels, strips);
        strips = ceilDiv(panels, stripPanels);
        int bands = 1;
        if (strips < 2 * threads && threads > 1) bands = Math.min(ceilDiv(m, MR), ceilDiv(2 * threads, strips));
        int bandRows = ceilDiv(ceilDiv(m, bands), MR) * MR;
        bands = ceilDiv(m, bandRows);
        final int nc = stripPanels * NR, stripsF = strips;
        Object call = new Object();
        par.forEach(strips * bands, t -> {
            int band = t / stripsF, strip = t % stripsF;
            int i0 = band * bandRows, j0 = strip * nc;
            tile(call, k, a, b, c, cOff, ldc, epilogue, i0, Math.min(m, i0 + bandRows), j0, Math.min(n, j0 + nc));
        });
    }

    /** A thread's copy of a packed A band over all of K, valid for one {@link #multiply} call. */
    private static final class BandCopy {
        Object call;
        int i0;
        float[] data = new float[0];
    }

    private static final ThreadLocal<BandCopy> BAND = ThreadLocal.withInitial(BandCopy::new);

    /**
     * Panels of rows [i0, i1) of a packed A over all of K ({@code [panels][k][MR]}), copied from off the heap once
     * per thread and call: a convolution's weights are A and every column strip reads all of them, so copying per
     * strip and K block (as for a packed B) would move them once per strip (170 times in a 256-px VAE's last convs).
     */
    private static float[] band(Object call, PackedA a, int i0, int i1) {
        BandCopy copy = BAND.get();
        if (copy.call != call || copy.i0 != i0) {
            int panels = ceilDiv(i1 - i0, MR);
            int size = panels * MR * a.k;
            if (copy.data.length < size) copy.data = new float[size];
            a.panels.copy(copy.data, i0 / MR, panels, 0, a.k);
            copy.call = call;
            copy.i0 = i0;
        }
        return copy.data;
    }

    /** Rows [i0, i1) × columns [j0, j1) of C: for each K block, the B block is packed once and every row reuses it. */
    private static void tile(Object call, int k, A a, B b, float[] c, int cOff, int ldc, Epilogue epilogue,
                             int i0, int i1, int j0, int j1) {
        int nc = j1 - j0;
        float[][] buffers = BUFFERS.get();
        float[] aData = buffers[0], bData = buffers[1], tile = buffers[2];
        // The kernel only accumulates, so this part of C starts at zero.
        for (int i = i0; i < i1; i++) java.util.Arrays.fill(c, cOff + i * ldc + j0, cOff + i * ldc + j1, 0f);
        for (int k0 = 0; k0 < k; k0 += KC) {
            int kc = Math.min(KC, k - k0);
            b.pack(bData, j0, nc, k0, kc);
            for (int ic = i0; ic < i1; ic += MC) {
                int mc = Math.min(MC, i1 - ic);
                float[] aPanels;
                int aBase, aStride;
                if (a instanceof PackedA pa) {
                    aPanels = band(call, pa, i0, i1);
                    aStride = pa.k * MR;
                    aBase = ((ic - i0) / MR) * aStride + k0 * MR;
                } else {
                    aPanels = aData;
                    a.pack(aData, ic, mc, k0, kc);
                    aStride = kc * MR;
                    aBase = 0;
                }
                for (int jr = 0; jr < nc; jr += NR) {
                    int nr = Math.min(NR, nc - jr);
                    int bOff = (jr / NR) * kc * NR;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = Math.min(MR, mc - ir);
                        int aOff = aBase + (ir / MR) * aStride;
                        int co = cOff + (ic + ir) * ldc + j0 + jr;
                        if (mr == MR && nr == NR) {
                            KERNEL.run(kc, aPanels, aOff, bData, bOff, c, co, ldc);
                        } else {
                            // Edge: the full MR x NR block in scratch, then add the part inside C.
                            java.util.Arrays.fill(tile, 0f);
                            KERNEL.run(kc, aPanels, aOff, bData, bOff, tile, 0, NR);
                            for (int i = 0; i < mr; i++) {
                                int row = co + i * ldc;
                                for (int j = 0; j < nr; j++) c[row + j] += tile[i * NR + j];
                            }
                        }
                    }
                }
            }
        }
        epilogue.apply(c, cOff, ldc, i0, i1, j0, j1);
    }
}
