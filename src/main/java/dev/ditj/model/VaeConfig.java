package dev.ditj.model;

import dev.ditj.DitjException;

import java.util.Arrays;

/**
 * Shape of an SD-style VAE decoder (diffusers AutoencoderKL field names) plus the latent normalisation the
 * decoder expects: {@code decoderInput = latent · std[c] / scalingFactor + mean[c]} (diffusers' convention;
 * {@code shift_factor} s is {@code mean[c] = s}; without any, {@code latent / scalingFactor}).
 *
 * @param blockOutChannels per resolution level, lowest resolution last (SD: 128, 256, 512, 512)
 * @param latentsMean null when the file has none
 * @param latentsStd  null when the file has none
 * @param upBlockAttention per decoder up block (diffusers order: 0 is the lowest resolution), whether an attention
 *                         block follows each of its ResNet blocks (diffusers' AttnUpDecoderBlock2D; VA-VAE's lowest
 *                         level); null means none
 */
public record VaeConfig(int latentChannels, int outChannels, int[] blockOutChannels, int layersPerBlock,
                        int normNumGroups, boolean midBlockAttention, boolean usePostQuantConv,
                        double scalingFactor, double[] latentsMean, double[] latentsStd, boolean[] upBlockAttention) {

    /** An SD-style decoder: no attention in the up blocks. */
    public VaeConfig(int latentChannels, int outChannels, int[] blockOutChannels, int layersPerBlock,
                     int normNumGroups, boolean midBlockAttention, boolean usePostQuantConv,
                     double scalingFactor, double[] latentsMean, double[] latentsStd) {
        this(latentChannels, outChannels, blockOutChannels, layersPerBlock, normNumGroups, midBlockAttention,
                usePostQuantConv, scalingFactor, latentsMean, latentsStd, null);
    }

    public VaeConfig {
        if (latentChannels < 1 || outChannels < 1 || layersPerBlock < 0 || normNumGroups < 1
                || blockOutChannels.length < 1 || blockOutChannels.length > 16
                || Arrays.stream(blockOutChannels).anyMatch(ch -> ch < 1)) {
            throw new DitjException("VAE config: sizes must be positive and 1 to 16 levels (latent_channels "
                    + latentChannels + ", out_channels " + outChannels + ", block_out_channels "
                    + Arrays.toString(blockOutChannels) + ", layers_per_block " + layersPerBlock + ", norm_num_groups "
                    + normNumGroups + ")");
        }
        if (!(scalingFactor > 0) || Double.isInfinite(scalingFactor)) {
            throw new DitjException("VAE config: scaling_factor must be a positive number, got " + scalingFactor);
        }
        for (int ch : blockOutChannels) {
            if (ch % normNumGroups != 0) {
                throw new DitjException("VAE config: block channels " + Arrays.toString(blockOutChannels)
                        + " are not all multiples of norm_num_groups " + normNumGroups);
            }
        }
        if (latentsMean != null && latentsMean.length != latentChannels
                || latentsStd != null && latentsStd.length != latentChannels) {
            throw new DitjException("VAE config: latents_mean/latents_std must have " + latentChannels + " entries");
        }
        if (upBlockAttention == null) upBlockAttention = new boolean[blockOutChannels.length];
        if (upBlockAttention.length != blockOutChannels.length) {
            throw new DitjException("VAE config: " + upBlockAttention.length + " up block types for "
                    + blockOutChannels.length + " levels (block_out_channels " + Arrays.toString(blockOutChannels) + ")");
        }
    }

    /** Whether any up block has attention (VA-VAE, not SD). */
    public boolean hasUpBlockAttention() {
        for (boolean a : upBlockAttention) if (a) return true;
        return false;
    }

    /**
     * Whether encoder down block {@code level} (diffusers order: 0 is the image's resolution) has an attention block
     * after each ResNet block. Taken to mirror the decoder: the LDM/VA-VAE code builds both halves from one
     * {@code attn_resolutions}, so the encoder's level at a resolution has attention iff the decoder's has; SD has
     * none. (diffusers' AttnDownEncoderBlock2D configs that break this symmetry are refused by the tensor check.)
     */
    public boolean downBlockAttention(int level) {
        return upBlockAttention[blockOutChannels.length - 1 - level];
    }

    /** Spatial factor between latent and image: 2^(levels-1). */
    public int downsamplingFactor() {
        return 1 << (blockOutChannels.length - 1);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VaeConfig v && latentChannels == v.latentChannels && outChannels == v.outChannels
                && Arrays.equals(blockOutChannels, v.blockOutChannels) && layersPerBlock == v.layersPerBlock
                && normNumGroups == v.normNumGroups && midBlockAttention == v.midBlockAttention
                && usePostQuantConv == v.usePostQuantConv && scalingFactor == v.scalingFactor
                && Arrays.equals(latentsMean, v.latentsMean) && Arrays.equals(latentsStd, v.latentsStd)
                && Arrays.equals(upBlockAttention, v.upBlockAttention);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(blockOutChannels) * 31 + latentChannels;
    }

    @Override
    public String toString() {
        return "VaeConfig[latentChannels=" + latentChannels + ", blockOutChannels=" + Arrays.toString(blockOutChannels)
                + ", layersPerBlock=" + layersPerBlock + ", groups=" + normNumGroups + ", midAttention="
                + midBlockAttention + (hasUpBlockAttention() ? ", upBlockAttention=" + Arrays.toString(upBlockAttention) : "")
                + ", scalingFactor=" + scalingFactor
                + (latentsMean != null ? ", latentsMean=" + Arrays.toString(latentsMean) : "")
                + (latentsStd != null ? ", latentsStd=" + Arrays.toString(latentsStd) : "") + "]";
    }
}
