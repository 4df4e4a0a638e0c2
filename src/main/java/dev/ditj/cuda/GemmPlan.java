package dev.ditj.cuda;

/**
 * How one bf16 tensor-core linear runs (kernels/gemm_bf16.cu): which tile kernel, how many K splits, and from that
 * its grid, block, dynamic shared memory and split-K workspace. {@link #choose} picks per shape; tests build plans
 * directly with {@link #of}.
 *
 * <h2>The choice</h2>
 * DiT's GEMMs are small (M = 512 or 1024 rows at 256 px; M = batch for adaLN), so filling the 132 SMs of an H100
 * decides more than the tile's own efficiency. {@link #choose} estimates, for every tile and split count, the
 * clocks of the busiest SM (blocks go round-robin, so it runs ceil(blocks / SMs) of them) plus the split-K
 * reduction, and keeps the cheapest (ties: fewer splits, then the earlier tile). A block costs
 * max(compute, operand traffic): compute = BM·BN·kc MACs at 2048 bf16 MACs/clock/SM (989 TFLOP/s dense over 132
 * SMs at 1.83 GHz) times the tile's {@link Tile#efficiency}; traffic = (BM + BN)·kc·2 bytes at 30 B/clock/SM
 * (≈ 7 TB/s: operands come mostly from L2, between HBM's 4.8 and L2's ~10 TB/s). The reduction moves
 * (2·splits + 1)·M·N·4 bytes at that rate over all SMs, plus 2000 clocks for its launch. These constants are
 * assumptions to be calibrated on the GPU; they live here and nowhere else.
 *
 * @param kSplit K per split, a multiple of 32 (the kernel's k step); {@code splits · kSplit >= k} and no split is
 *               empty
 */
public record GemmPlan(Tile tile, int splits, int kSplit, int m, int n, int k) {
    static final int BK = 32, STAGES = 4;
    private static final double MACS_PER_CLOCK = 2048, BYTES_PER_CLOCK = 30, LAUNCH_CLOCKS = 2000;
    private static final int MAX_SPLITS = 8;

    /**
     * The tile instantiations of gemm_bf16.cu: block tile BM x BN, warps, and so threads (the kernel names, shapes
     * and the 4-stage ring must match the {@code Tile<...>} aliases there).
     */
    public enum Tile {
        T128x128(128, 128, 2, 4), T128x64(128, 64, 2, 2), T96x96(96, 96, 2, 2), T64x64(64, 64, 2, 2), T16x128(16, 128, 1, 4);

        final int bm, bn, warpsM, warpsN;

        Tile(int bm, int bn, int warpsM, int warpsN) {
            this.bm = bm;
            this.bn = bn;
            this.warpsM = warpsM;
            this.warpsN = warpsN;
        }

        int threads() {
            return 32 * warpsM * warpsN;
        }

        /** The cp.async ring, or the epilogue's fp32 staging tile [BM][BN + 8] if that is larger. */
        int sharedBytes() {
            return Math.max(STAGES * (bm + bn) * BK * 2, bm * (bn + 8) * 4);
        }

        String kernel(boolean bf16Out) {
            return "linear_bf16_" + bm + "x" + bn + (bf16Out ? "_bf16" : "_f32");
        }

        /**
         * Fraction of the SM's tensor rate the warp tile allows: ldmatrix brings (WM + WN)·32 bytes per k16 step for
         * (WM/16)·(WN/8) mma, through 128 bytes/clock of shared memory, against one mma per clock; at most 2/3
         * (mma.sync on Hopper reaches about that fraction of the wgmma peak).
         */
        double efficiency() {
            int wm = bm / warpsM, wn = bn / warpsN;
            double bytesPerMma = (wm + wn) * 32.0 / ((wm / 16) * (wn / 8));
            return Math.min(2.0 / 3, 128 / bytesPerMma);
        }
    }

    /** A plan with {@code splits} K ranges of whole 32-wide steps; fails when a split would be empty. */
    public static GemmPlan of(Tile tile, int splits, int m, int n, int k) {
        int steps = (k + BK - 1) / BK;
        int perSplit = (steps + splits - 1) / splits;
        if (splits < 1 || splits > 1 && (long) (splits - 1) * perSplit >= steps) {
            throw new IllegalArgumentException(splits + " K splits of " + k + " leave a split empty");
        }
        return new GemmPlan(tile, splits, perSplit * BK, m, n, k);
    }

    /** The cheapest plan by the cost model above, for a device with {@code sms} multiprocessors. */
    public static GemmPlan choose(int m, int n, int k, int sms) {
        GemmPlan best = null;
        double bestCost = Double.MAX_VALUE;
        int steps = (k + BK - 1) / BK;
        for (int s = 1; s <= MAX_SPLITS; s++) {
            int perSplit = (steps + s - 1) / s;
            if (s > 1 && perSplit < STAGES) break;          // too little K per split to fill the pipeline
            if ((long) (s - 1) * perSplit >= steps) continue;  // a split would be empty
            for (Tile t : Tile.values()) {
                GemmPlan p = new GemmPlan(t, s, perSplit * BK, m, n, k);
                double c = p.clocks(sms);
                if (c < bestCost) {
                    best = p;
                    bestCost = c;
                }
            }
        }
        return best;
    }

    /** Estimated clocks on {@code sms} multiprocessors (the model above). */
    double clocks(int sms) {
        double compute = (double) tile.bm * tile.bn * kSplit / (MACS_PER_CLOCK * tile.efficiency());
        double traffic = (tile.bm + tile.bn) * (double) kSplit * 2 / BYTES_PER_CLOCK;
        double gemm = Math.ceil((double) blocks() / sms) * Math.max(compute, traffic);
        double reduce = splits == 1 ? 0 : (2.0 * splits + 1) * m * (double) n * 4 / (BYTES_PER_CLOCK * sms) + LAUNCH_CLOCKS;
        return gemm + reduce;
    }

    public int[] grid() {
        return new int[] {(n + tile.bn - 1) / tile.bn, (m + tile.bm - 1) / tile.bm, splits};
    }

    public int[] block() {
        return new int[] {tile.threads(), 1, 1};
    }

    public long blocks() {
        int[] g = grid();
        return (long) g[0] * g[1] * g[2];
    }

    public int sharedBytes() {
        return tile.sharedBytes();
    }

    /** Bytes of fp32 partial sums the split-K kernel writes (0 without splits). */
    public long workspaceBytes() {
        return splits == 1 ? 0 : 4L * splits * m * n;
    }

    public String kernel(boolean bf16Out) {
        return tile.kernel(bf16Out);
    }

    @Override
    public String toString() {
        return tile.kernel(false) + " x" + splits + " (k " + kSplit + ") for " + m + "x" + n + "x" + k + ": " + blocks() + " blocks";
    }
}
