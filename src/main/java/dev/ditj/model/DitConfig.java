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
 * @param rmsNorm    LightningDiT's RMSNorm (with a weight) in the blocks and the final layer instead of LayerNorm
 * @param swiglu     LightningDiT's SwiGLU MLP ({@code w12}, {@code w3}) of width {@link #mlpHidden} instead of fc1-GELU-fc2
 * @param rope       LightningDiT's 2-D rotary embedding on q and k (its tables are stored with the weights)
 */
public record DitConfig(int inChannels, int inputSize, int patchSize, int hiddenSize, int depth, int numHeads,
                        double mlpRatio, int numClasses, boolean learnSigma, boolean rmsNorm, boolean swiglu,
                        boolean rope) {

    /** The official DiT's blocks (LayerNorm, GELU MLP, no rotary embedding). */
    public DitConfig(int inChannels, int inputSize, int patchSize, int hiddenSize, int depth, int numHeads,
                     double mlpRatio, int numClasses, boolean learnSigma) {
        this(inChannels, inputSize, patchSize, hiddenSize, depth, numHeads, mlpRatio, numClasses, learnSigma, false,
                false, false);
    }

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
        if (rope && (hiddenSize / numHeads) % 4 != 0) {
            throw new DitjException("DiT config: head dim " + hiddenSize / numHeads + " must be a multiple of 4 (2-D rotary embedding)");
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

    /** The MLP's hidden width: {@code int(H · ratio)}, or with SwiGLU LightningDiT's {@code int(2/3 · int(H · ratio))}. */
    public int mlpHidden() {
        int m = (int) (hiddenSize * mlpRatio);
        return swiglu ? (int) (2.0 / 3 * m) : m;
    }

    /** Whether any LightningDiT layer replaces DiT's. */
    public boolean lightning() {
        return rmsNorm || swiglu || rope;
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
        if (depth == 24 && hiddenSize == 1536 && numHeads == 24) size = "1p0B";
        if (depth == 28 && hiddenSize == 1792 && numHeads == 28) size = "1p6B";
        return size == null ? family.displayName : family.displayName + "-" + size + "/" + patchSize;
    }

    /** Trainable parameters (pos_embed excluded), as the formula of the DiT spec. */
    public long parameterCount() {
        long h = hiddenSize, c = inChannels, p = patchSize, f = FREQUENCY_EMBEDDING_SIZE, m = mlpHidden();
        long up = swiglu ? 2 * m : m, norms = rmsNorm ? 2 * h : 0;
        long perBlock = (3 * h * h + 3 * h) + (h * h + h) + (up * h + up) + (h * m + h) + (6 * h * h + 6 * h) + norms;
        return (h * c * p * p + h) + (f * h + h) + (h * h + h) + (long) (numClasses + 1) * h + depth * perBlock
                + (p * p * outChannels() * h + p * p * outChannels()) + (2 * h * h + 2 * h) + (rmsNorm ? h : 0);
    }
}
