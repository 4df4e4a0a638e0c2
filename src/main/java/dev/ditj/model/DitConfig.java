package dev.ditj.model;

import dev.ditj.DitjException;

/**
 * Hyper-parameters of an official-architecture DiT. Stored (as JSON) in every converted DiT file and inferred
 * from tensor shapes at conversion.
 *
 * @param inputSize  latent side I (image side / VAE factor)
 * @param patchSize  p; tokens T = (I/p)²
 * @param numClasses K; the label table has K+1 rows, row K is the null class used for guidance
 * @param learnSigma true: the model also predicts the variance interpolation v (output channels 2C)
 */
public record DitConfig(int inChannels, int inputSize, int patchSize, int hiddenSize, int depth, int numHeads,
                        double mlpRatio, int numClasses, boolean learnSigma) {

    public DitConfig {
        if (inChannels < 1 || inputSize < 1 || patchSize < 1 || hiddenSize < 1 || depth < 1 || numHeads < 1 || numClasses < 0
                || !(mlpRatio > 0) || Double.isInfinite(mlpRatio)) {
            throw new DitjException("DiT config: sizes must be positive (in_channels " + inChannels + ", input_size "
                    + inputSize + ", patch_size " + patchSize + ", hidden_size " + hiddenSize + ", depth " + depth
                    + ", num_heads " + numHeads + ", mlp_ratio " + mlpRatio + ", num_classes " + numClasses + ")");
        }
        if (inputSize % patchSize != 0) {
            throw new DitjException("DiT config: input_size " + inputSize + " is not a multiple of patch_size " + patchSize);
        }
        if (hiddenSize % numHeads != 0) {
            throw new DitjException("DiT config: hidden_size " + hiddenSize + " is not a multiple of num_heads " + numHeads);
        }
        if (hiddenSize % 4 != 0) {
            throw new DitjException("DiT config: hidden_size " + hiddenSize + " must be a multiple of 4 (2-D sin-cos embedding)");
        }
    }

    /** The frequency embedding size of the timestep MLP (fixed in the official code). */
    public static final int FREQUENCY_EMBEDDING_SIZE = 256;

    public int outChannels() {
        return learnSigma ? 2 * inChannels : inChannels;
    }

    public int gridSize() {
        return inputSize / patchSize;
    }

    public int tokens() {
        return gridSize() * gridSize();
    }

    public int headDim() {
        return hiddenSize / numHeads;
    }

    public int mlpHidden() {
        return (int) (hiddenSize * mlpRatio);
    }

    /** The official model name when this is one of the released family (e.g. "DiT-XL/2"), else "DiT". */
    public String familyName() {
        return familyName(ModelFamily.DIT);
    }

    /** The model name in {@code family}'s naming ("SiT-XL/2", ...; SiT keeps DiT's sizes). */
    public String familyName(ModelFamily family) {
        String size = null;
        if (depth == 12 && hiddenSize == 384 && numHeads == 6) size = "S";
        if (depth == 12 && hiddenSize == 768 && numHeads == 12) size = "B";
        if (depth == 24 && hiddenSize == 1024 && numHeads == 16) size = "L";
        if (depth == 28 && hiddenSize == 1152 && numHeads == 16) size = "XL";
        return size == null ? family.displayName : family.displayName + "-" + size + "/" + patchSize;
    }

    /** Trainable parameters (pos_embed excluded), as the formula of the DiT spec. */
    public long parameterCount() {
        long h = hiddenSize, c = inChannels, p = patchSize, f = FREQUENCY_EMBEDDING_SIZE, m = mlpHidden();
        long perBlock = (3 * h * h + 3 * h) + (h * h + h) + (m * h + m) + (h * m + h) + (6 * h * h + 6 * h);
        return (h * c * p * p + h) + (f * h + h) + (h * h + h) + (long) (numClasses + 1) * h + depth * perBlock
                + (p * p * outChannels() * h + p * p * outChannels()) + (2 * h * h + 2 * h);
    }
}
