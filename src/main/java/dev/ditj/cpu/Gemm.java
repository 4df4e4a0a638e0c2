package dev.ditj.cpu;

/**
 * {@code C[M,N] = A[M,K] · B[K,N]} (then an epilogue) in the GotoBLAS structure: C is cut into MC × NC tiles that
 * run in parallel; each tile walks K in KC blocks, packs its A rows into MR-row micro-panels and its B columns
 * into NR-column micro-panels, and runs the {@link MicroKernel} over them. Operands that never change (weights)
 * are packed once ({@link PackedA}, {@link PackedB}) and read in place.
 *
 * <p>Accumulation is float32 FMA in k order within a KC block, blocks added in k order: the result does not
 * depend on the thread count.
 */
final class Gemm {
    static final MicroKernel KERNEL = MicroKernel.best();
    static final int MR = MicroKernel.MR;
    static final int NR = KERNEL.nr();
    static final int KC = 256;
    /** Rows per tile when A is packed on the fly (activations); a pre-packed A may use up to MC_MAX rows. */
    static final int MC = 96;
    static final int MC_MAX = 512;
    static final int NC = 12 * NR;

    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(
            () -> new float[][] {new float[MC_MAX * KC], new float[NC * KC], new float[MR * NR]});

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

    /** An A operand packed once over all of K: {@code data [ceil(m/MR)][k][MR]}. */
    static final class PackedA extends A {
        final float[] data;
        final int m, k;

        PackedA(A source, int m, int k) {
            this.m = m;
            this.k = k;
            this.data = new float[ceilDiv(m, MR) * MR * k];
            source.pack(data, 0, m, 0, k);
        }

        @Override
        void pack(float[] dst, int i0, int rows, int k0, int kc) {
            throw new UnsupportedOperationException("read in place");
        }
    }

    /** A B operand packed once over all of K: {@code data [ceil(n/NR)][k][NR]}. */
    static final class PackedB extends B {
        final float[] data;
        final int n, k;

        PackedB(B source, int n, int k) {
            this.n = n;
            this.k = k;
            this.data = new float[ceilDiv(n, NR) * NR * k];
            source.pack(data, 0, n, 0, k);
        }

        @Override
        void pack(float[] dst, int j0, int cols, int k0, int kc) {
            throw new UnsupportedOperationException("read in place");
        }
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    /** C (row-major from {@code cOff}, leading dimension ldc) = A·B, then the epilogue per tile. */
    static void multiply(Parallel par, int m, int n, int k, A a, B b, float[] c, int cOff, int ldc, Epilogue epilogue) {
        if (m == 0 || n == 0) return;
        if (a instanceof PackedA pa && (pa.m != m || pa.k != k) || b instanceof PackedB pb && (pb.n != n || pb.k != k)) {
            throw new IllegalArgumentException("packed operand does not match " + m + "x" + n + "x" + k);
        }
        int mc = a instanceof PackedA ? Math.min(MC_MAX, ceilDiv(m, MR) * MR) : MC;
        int tilesM = ceilDiv(m, mc), tilesN = ceilDiv(n, NC);
        // Few row tiles but many columns (e.g. a conv with all output channels in one tile): keep both threads busy
        // by shrinking the column tiles rather than packing A twice.
        int nc = NC;
        if (tilesM * tilesN < 2 * par.threads() && n > NR) {
            int wantN = ceilDiv(2 * par.threads(), tilesM);
            nc = Math.min(NC, Math.max(NR, ceilDiv(ceilDiv(n, wantN), NR) * NR));
            tilesN = ceilDiv(n, nc);
        }
        final int mcF = mc, ncF = nc, tilesNF = tilesN;
        par.forEach(tilesM * tilesN, t -> tile(m, n, k, a, b, c, cOff, ldc, epilogue,
                (t / tilesNF) * mcF, (t % tilesNF) * ncF, mcF, ncF));
    }

    private static void tile(int m, int n, int k, A a, B b, float[] c, int cOff, int ldc, Epilogue epilogue,
                             int i0, int j0, int mcMax, int ncMax) {
        int mc = Math.min(mcMax, m - i0), nc = Math.min(ncMax, n - j0);
        if (k == 0) {
            for (int i = i0; i < i0 + mc; i++) java.util.Arrays.fill(c, cOff + i * ldc + j0, cOff + i * ldc + j0 + nc, 0f);
            epilogue.apply(c, cOff, ldc, i0, i0 + mc, j0, j0 + nc);
            return;
        }
        float[][] buffers = BUFFERS.get();
        float[] tile = buffers[2];
        for (int k0 = 0; k0 < k; k0 += KC) {
            int kc = Math.min(KC, k - k0);
            float[] aData, bData;
            int aBase, aStride, bBase, bStride;
            if (a instanceof PackedA pa) {
                aData = pa.data;
                aStride = pa.k * MR;
                aBase = (i0 / MR) * aStride + k0 * MR;
            } else {
                aData = buffers[0];
                a.pack(aData, i0, mc, k0, kc);
                aStride = kc * MR;
                aBase = 0;
            }
            if (b instanceof PackedB pb) {
                bData = pb.data;
                bStride = pb.k * NR;
                bBase = (j0 / NR) * bStride + k0 * NR;
            } else {
                bData = buffers[1];
                b.pack(bData, j0, nc, k0, kc);
                bStride = kc * NR;
                bBase = 0;
            }
            boolean accumulate = k0 > 0;
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = Math.min(NR, nc - jr);
                int bOff = bBase + (jr / NR) * bStride;
                for (int ir = 0; ir < mc; ir += MR) {
                    int mr = Math.min(MR, mc - ir);
                    int aOff = aBase + (ir / MR) * aStride;
                    int co = cOff + (i0 + ir) * ldc + j0 + jr;
                    if (mr == MR && nr == NR) {
                        KERNEL.run(kc, aData, aOff, bData, bOff, c, co, ldc, accumulate);
                    } else {
                        KERNEL.run(kc, aData, aOff, bData, bOff, tile, 0, NR, false);
                        for (int i = 0; i < mr; i++) {
                            int row = co + i * ldc;
                            for (int j = 0; j < nr; j++) {
                                c[row + j] = accumulate ? c[row + j] + tile[i * NR + j] : tile[i * NR + j];
                            }
                        }
                    }
                }
            }
        }
        epilogue.apply(c, cOff, ldc, i0, i0 + mc, j0, j0 + nc);
    }
}
