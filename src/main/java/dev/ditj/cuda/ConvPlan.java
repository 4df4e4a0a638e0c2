package dev.ditj.cuda;

import java.util.List;

/**
 * How one convolution runs on the bf16 tensor cores (kernels/conv_bf16.cu): which tile kernel and output layout, and
 * from that its grid, block and dynamic shared memory; plus the rule that decides which image tensors {@link CudaOps}
 * keeps channel-last bf16 in {@code Precision.BF16}.
 *
 * <h2>Paths</h2>
 * <ul>
 * <li>Layout ({@link #channelsLast}): an image tensor [B, C, ...] whose C is a multiple of 8 (whole 16-byte pixel
 *     rows) and at most {@link #MAX_CHANNELS_LAST} (the GroupNorm statistics kernel's limit) is stored channel-last
 *     bf16; others stay NCHW float32.</li>
 * <li>Kernel ({@link #choose}): a convolution whose input is channel-last (Ci as above: a 16-byte cp.async chunk is
 *     8 channels of one tap) runs on tensor cores; otherwise ({@code null}) the float32 kernel (conv.cu) runs on
 *     NCHW float32 — in the SD VAE only post_quant_conv and conv_in, on the 4 latent channels (and the encoder's
 *     conv_in of the 3-channel image).</li>
 * <li>Output: channel-last bf16 ({@code _nhwc}) when Co is channel-last too, else NCHW float32 ({@code _nchw}, tile
 *     64x64 only: the decoder's 3-channel image, whose 61 idle columns of 64 cost little at K = 9·128).</li>
 * </ul>
 *
 * <h2>The tile</h2>
 * The GEMM is M = B·H·W output pixels (the {@link Sampling}'s grid) by N = Co by K = k²·Ci; {@link #choose} takes
 * the cheapest of {@link #TILES} by {@link GemmPlan}'s cost model (busiest SM's clocks; its constants are to be
 * calibrated on a GPU). No split-K: the VAE's convolutions have M ≥ 1024 per image, and the 32² ones fill 128 of 132
 * SMs with 64x64 tiles.
 */
public record ConvPlan(GemmPlan.Tile tile, boolean channelsLastOut, int batch, int inHeight, int inWidth, int ci, int co,
                       int ksize, Sampling sampling) {
    /**
     * How a convolution samples its input (conv.cu's and conv_bf16.cu's {@code mode}: the ordinal), and so its output
     * grid for an input of H x W.
     */
    public enum Sampling {
        /** Stride 1, zero padding (k-1)/2: H x W. */
        PLAIN,
        /** Of the nearest ×2 upsampled input (read at (y/2, x/2)), stride 1, padding (k-1)/2: 2H x 2W. */
        UP,
        /** Stride 2, no padding, one zero row below and one zero column right (the encoder's downsampler): H/2 x W/2. */
        DOWN;

        /** The output size along an input side of {@code in}. */
        public int out(int in) {
            return switch (this) {
                case PLAIN -> in;
                case UP -> 2 * in;
                case DOWN -> in / 2;
            };
        }
    }

    /** The tiles conv_bf16.cu instantiates with a channel-last output. */
    static final List<GemmPlan.Tile> TILES = List.of(GemmPlan.Tile.T128x128, GemmPlan.Tile.T128x64, GemmPlan.Tile.T64x64);
    /** The tile of the NCHW float32 output kernel. */
    static final GemmPlan.Tile NCHW_TILE = GemmPlan.Tile.T64x64;
    static final int MAX_CHANNELS_LAST = 2048;

    /** Whether an image tensor with this many channels is kept channel-last bf16 (in Precision.BF16). */
    public static boolean channelsLast(int channels) {
        return channels % 8 == 0 && channels <= MAX_CHANNELS_LAST;
    }

    /**
     * The plan for a k×k convolution (k = 1 or 3) of {@code ci} to {@code co} channels of an input inHeight x inWidth
     * sampled as given, or null where the tensor-core kernel does not apply.
     */
    public static ConvPlan choose(int batch, int inHeight, int inWidth, int ci, int co, int ksize, Sampling sampling, int sms) {
        if (!channelsLast(ci)) return null;
        if (!channelsLast(co)) return of(NCHW_TILE, false, batch, inHeight, inWidth, ci, co, ksize, sampling);
        ConvPlan best = null;
        double bestClocks = Double.MAX_VALUE;
        for (GemmPlan.Tile t : TILES) {
            ConvPlan p = of(t, true, batch, inHeight, inWidth, ci, co, ksize, sampling);
            double c = p.gemm().clocks(sms);
            if (c < bestClocks) {
                best = p;
                bestClocks = c;
            }
        }
        return best;
    }

    /** A plan with a given tile (tests force each one). */
    public static ConvPlan of(GemmPlan.Tile tile, boolean channelsLastOut, int batch, int inHeight, int inWidth, int ci,
                              int co, int ksize, Sampling sampling) {
        if (channelsLastOut ? !TILES.contains(tile) : tile != NCHW_TILE) {
            throw new IllegalArgumentException("conv_bf16.cu has no " + tile + (channelsLastOut ? " _nhwc" : " _nchw") + " kernel");
        }
        if (!channelsLast(ci) || channelsLastOut && !channelsLast(co) || ksize != 1 && ksize != 3) {
            throw new IllegalArgumentException("no tensor-core convolution " + ci + " -> " + co + " channels, " + ksize + "x" + ksize);
        }
        return new ConvPlan(tile, channelsLastOut, batch, inHeight, inWidth, ci, co, ksize, sampling);
    }

    /** The output grid's height. */
    public int height() {
        return sampling.out(inHeight);
    }

    /** The output grid's width. */
    public int width() {
        return sampling.out(inWidth);
    }

    /** The GEMM this convolution is (for the cost model). */
    GemmPlan gemm() {
        return GemmPlan.of(tile, 1, pixels(), co, k());
    }

    public int pixels() {
        return Math.multiplyExact(batch, Math.multiplyExact(height(), width()));
    }

    /** The GEMM's K: k²·Ci. */
    public int k() {
        return ksize * ksize * ci;
    }

    public String kernel() {
        return "conv_bf16_" + tile.bm + "x" + tile.bn + (channelsLastOut ? "_nhwc" : "_nchw");
    }

    public int[] grid() {
        return new int[] {(pixels() + tile.bm - 1) / tile.bm, (co + tile.bn - 1) / tile.bn, 1};
    }

    public int[] block() {
        return new int[] {tile.threads(), 1, 1};
    }

    /** The cp.async ring, or the staged accumulators if larger ([BM][BN + 8] by rows, [BN][BM + 4] by columns). */
    public int sharedBytes() {
        return channelsLastOut ? tile.sharedBytes()
                : Math.max(GemmPlan.STAGES * (tile.bm + tile.bn) * GemmPlan.BK * 2, tile.bn * (tile.bm + 4) * 4);
    }

    public long blocks() {
        int[] g = grid();
        return (long) g[0] * g[1];
    }

    @Override
    public String toString() {
        return kernel() + " for " + batch + "x" + ci + "->" + co + " " + ksize + "x" + ksize
                + (sampling == Sampling.PLAIN ? "" : " " + sampling.name().toLowerCase(java.util.Locale.ROOT)) + " at "
                + inHeight + "x" + inWidth + " -> " + height() + "x" + width() + ": " + blocks() + " blocks";
    }
}
