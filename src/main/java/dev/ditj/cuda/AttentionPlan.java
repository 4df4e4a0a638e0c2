package dev.ditj.cuda;

import dev.ditj.DitjException;
import dev.ditj.tensor.Precision;

/**
 * How one attention runs: which kernel (kernels/attention.cu, fp32, or kernels/attention_bf16.cu, bf16 tensor cores),
 * and from that its grid, block and dynamic shared memory. {@link #choose} picks: in {@link Precision#BF16} the
 * tensor-core kernel of the head dim where there is one (64, 72, 128, 512), else the fp32 kernel (head dims up to
 * 128, or up to 512), which also serves {@link Precision#FP32}. The figures of each kernel must match its
 * instantiation in the .cu file.
 */
public record AttentionPlan(Kernel kernel, int batch, int tokens, int heads, int headDim) {

    /**
     * The kernels. fp32: a warp per query, {@code rowsPerBlock} warps, key tiles of {@code keyTile} staged with row
     * stride hd + 1. bf16: 16 query rows per warp, a ring of {@code stages} tiles of {@code keyTile} keys, output
     * computed in {@code slices} column slices (one per block).
     */
    public enum Kernel {
        F32_D128("attention_f32_d128", 128, 8, 8, 32, 0, 1),
        F32_D512("attention_f32_d512", 512, 4, 4, 16, 0, 1),
        BF16_D64("attention_bf16_d64", 64, 4, 64, 64, 3, 1),
        BF16_D72("attention_bf16_d72", 72, 4, 64, 64, 3, 1),
        BF16_D128("attention_bf16_d128", 128, 4, 64, 64, 2, 1),
        BF16_D512("attention_bf16_d512", 512, 4, 64, 32, 2, 4);

        final String name;
        /** The head dim of a bf16 kernel; the largest head dim of an fp32 one. */
        final int dim;
        final int warps, rowsPerBlock, keyTile, stages, slices;

        Kernel(String name, int dim, int warps, int rowsPerBlock, int keyTile, int stages, int slices) {
            this.name = name;
            this.dim = dim;
            this.warps = warps;
            this.rowsPerBlock = rowsPerBlock;
            this.keyTile = keyTile;
            this.stages = stages;
            this.slices = slices;
        }

        boolean bf16() {
            return stages > 0;
        }
    }

    /** The plan for {@code heads} heads of {@code headDim} over {@code tokens} tokens of {@code batch} samples. */
    public static AttentionPlan choose(Precision precision, int batch, int tokens, int heads, int headDim) {
        if (precision == Precision.BF16 && (long) tokens * 3 * heads * headDim < Integer.MAX_VALUE) {   // 32-bit offsets in a sample
            for (Kernel k : Kernel.values()) {
                if (k.bf16() && k.dim == headDim) return new AttentionPlan(k, batch, tokens, heads, headDim);
            }
        }
        if (headDim <= 128) return new AttentionPlan(Kernel.F32_D128, batch, tokens, heads, headDim);
        if (headDim <= 512) return new AttentionPlan(Kernel.F32_D512, batch, tokens, heads, headDim);
        throw new DitjException("attention head dim " + headDim + " is above the kernels' limit of 512");
    }

    public boolean bf16() {
        return kernel.bf16();
    }

    public String kernelName() {
        return kernel.name;
    }

    public int[] grid() {
        return new int[] {(tokens + kernel.rowsPerBlock - 1) / kernel.rowsPerBlock, heads * kernel.slices, batch};
    }

    public int[] block() {
        return new int[] {32 * kernel.warps, 1, 1};
    }

    /**
     * bf16: the Q tile [rows][hd], then the ring of K [keyTile][hd] and V [keyTile][hd / slices] tiles, all bf16;
     * fp32: the K tile and the block's queries, rows of hd + 1 floats.
     */
    public int sharedBytes() {
        if (!kernel.bf16()) return (kernel.keyTile + kernel.rowsPerBlock) * (headDim + 1) * 4;
        return 2 * (kernel.rowsPerBlock * headDim + kernel.stages * kernel.keyTile * (headDim + headDim / kernel.slices));
    }

    @Override
    public String toString() {
        int[] g = grid();
        return kernel.name + " for " + batch + "x" + tokens + " tokens, " + heads + " heads of " + headDim + ": " + g[0] * g[1] * g[2] + " blocks";
    }
}
