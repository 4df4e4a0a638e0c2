package dev.ditj.tensor;

/**
 * Everything the models and samplers compute, as coarse operations on backend tensors. The DiT, the VAE decoder
 * and the samplers are written once against this interface; each backend (CPU, CUDA) implements it.
 *
 * <p>Conventions: tensors are float32 unless noted, row-major; outputs come first and are written completely
 * (callers pre-allocate them with {@link #alloc}); "rows" of a token tensor are {@code batch * tokens}.
 * A "modulation" tensor {@code mod [B, k*H]} holds k chunks of H values per sample (adaLN shift/scale/gate);
 * ops address a chunk by its index (the DiT keeps every layer's chunks in one such tensor).
 */
public interface Ops extends AutoCloseable {

    /** Activation applied in a linear layer's epilogue. */
    enum Activation { NONE, SILU, GELU_TANH }

    /** A short name for logs and errors ("cpu", "cuda", "emu"). */
    String name();

    /** The arithmetic of the backend's heavy ops (recorded with generated images). */
    default Precision precision() {
        return Precision.FP32;
    }

    /**
     * Bytes the backend could still allocate for activations: the Java heap's headroom by default (device memory
     * on a GPU). Used to size micro-batches.
     */
    default long memoryAvailable() {
        Runtime rt = Runtime.getRuntime();
        return rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
    }

    // ---------------------------------------------------------------------------------------------- memory

    /** A new float32 tensor; contents unspecified until written. */
    Tensor alloc(Shape shape);

    /** A new int32 tensor (class labels); contents unspecified until written. */
    Tensor allocInts(Shape shape);

    /** What an activation buffer is for, so a backend can store it in the form its reader wants. */
    enum ActivationKind {
        /** Read and written by any op. */
        PLAIN,
        /**
         * Rows {@code [M, K]} read only as the x of {@link #linear} / {@link #linearGatedResidual} (and by
         * {@link #read}), written by linear, modulatedLayerNorm, attention, silu, patchify or timestepFrequencies.
         * A backend may keep it at its GEMM input precision: CUDA in {@link Precision#BF16} stores bf16 (each value
         * rounded to nearest even as it is written, which the GEMM would otherwise do in a conversion pass), so
         * read gives the rounded values; float32 backends make a plain tensor.
         */
        LINEAR_INPUT
    }

    /** A new activation tensor for the use {@code kind} (contents unspecified until written). */
    default Tensor alloc(Shape shape, ActivationKind kind) {
        return alloc(shape);
    }

    /** A new float32 tensor holding a copy of {@code host}. */
    Tensor upload(HostTensor host);

    /** How a constant will be used, so a backend can prepare it at load time (e.g. pack GEMM panels). */
    enum ConstantKind {
        /** Read by elementwise ops (biases, norms, tables). */
        PLAIN,
        /** The {@code w [N, K]} of {@link #linear}. */
        LINEAR_WEIGHT,
        /** The {@code w [Co, Ci, k, k]} of {@link #conv2d}. */
        CONV_WEIGHT
    }

    /**
     * A float32 tensor that will never change (a weight). Backends may keep it in a layout suited to its use
     * (e.g. pre-packed GEMM panels); it must still work with any op.
     */
    default Tensor constant(HostTensor host, ConstantKind kind) {
        return upload(host);
    }

    default Tensor constant(HostTensor host) {
        return constant(host, ConstantKind.PLAIN);
    }

    /**
     * A tensor of {@code shape} over the first {@code shape.numel()} elements of {@code base}'s storage (same
     * dtype). Views let a model carve differently shaped activations out of a few planned buffers. Closing a view
     * does not release the base.
     */
    Tensor view(Tensor base, Shape shape);

    /** Overwrites a float32 tensor with {@code values} (length = numel). */
    void write(Tensor dst, float[] values);

    /** Overwrites an int32 tensor with {@code values} (length = numel). */
    void writeInts(Tensor dst, int[] values);

    /** Copies a float32 tensor to the host. */
    float[] read(Tensor src);

    /** {@code dst[dstOffset + i] = src[srcOffset + i]} for {@code i < count}, element offsets. */
    void copy(Tensor dst, long dstOffset, Tensor src, long srcOffset, long count);

    /**
     * Preflight before loading weights or allocating a batch's activations: fails with a one-line
     * {@link dev.ditj.DitjException} "{@code what}: needs X GB, Y GB available (...)" if this backend will not have
     * room for {@code weightBytes} more constants plus {@code activationBytes} more activations, instead of running
     * out of memory half-way. An estimate; the default checks nothing (a backend whose allocations report their own
     * shortfall, like the GPU's).
     */
    default void checkMemory(String what, long weightBytes, long activationBytes) {
    }

    /** Waits until all work issued so far has finished (no-op on synchronous backends). */
    default void synchronize() {
    }

    /** A recorded sequence of ops that can be run again (a CUDA graph on the GPU). */
    interface Graph extends AutoCloseable {
        /** Runs the recorded ops again, on the same tensors, with their current contents. */
        void replay();

        @Override
        void close();
    }

    /**
     * Records the ops {@code work} issues instead of running them, for replay. {@code work} may only launch ops on
     * existing tensors (no allocation, no host reads or writes). Backends without graphs return null; the caller
     * then just runs {@code work}.
     */
    default Graph capture(Runnable work) {
        return null;
    }

    @Override
    default void close() {
    }

    // ---------------------------------------------------------------------------------------------- dense

    /**
     * {@code out[M,N] = act(x[M,K] · wᵀ + bias)} with {@code w [N,K]} (PyTorch Linear layout); bias may be null.
     */
    void linear(Tensor out, Tensor x, Tensor w, Tensor bias, Activation act);

    /**
     * {@code x += gate ⊙ (a · wᵀ + bias)} (the adaLN-Zero gated residual of a block's output layer), {@code gate}
     * = chunk {@code gateChunk} of {@code mod} for the row's sample (row / tokens) as in {@link #gatedResidual}, or 1
     * when {@code mod} is null (a plain residual add). The default runs {@link #linear} into a temporary, then the
     * residual op; a backend may fuse both into the GEMM's epilogue (CUDA does).
     */
    default void linearGatedResidual(Tensor x, Tensor a, Tensor w, Tensor bias, Tensor mod, int gateChunk, int tokens) {
        try (Tensor y = alloc(x.shape())) {
            linear(y, a, w, bias, Activation.NONE);
            if (mod != null) gatedResidual(x, y, mod, gateChunk, tokens);
            else add(x, x, y);
        }
    }

    /** The row count M of a {@link #linear} call, after checking that the shapes agree. */
    static int linearRows(Tensor out, Tensor x, Tensor w) {
        int n = w.dim(0), k = w.dim(1);
        int m = Math.toIntExact(x.numel() / k);
        if ((long) m * k != x.numel() || out.numel() != (long) m * n) {
            throw new IllegalArgumentException("linear shapes: x " + x.shape() + ", w " + w.shape() + ", out " + out.shape());
        }
        return m;
    }

    /** {@code out = a + b}, elementwise over equal shapes. */
    void add(Tensor out, Tensor a, Tensor b);

    /** {@code out = x · sigmoid(x)}. */
    void silu(Tensor out, Tensor x);

    /** {@code x[b*T + t, :] += rows[t, :]} for every batch b: adds a per-token table (positional embedding). */
    void addTokenTable(Tensor x, Tensor rows, int tokens);

    /** {@code out[b, :] = table[labels[b], :]}, labels an int32 tensor [B]; an out-of-range label is an error. */
    void embeddingLookup(Tensor out, Tensor table, Tensor labels);

    /**
     * DiT timestep frequencies: for t [B] (float32 timesteps) and the 128-entry frequency table {@code freqs},
     * {@code out[b] = [cos(t_b·f_k) for k] ++ [sin(t_b·f_k) for k]}, the product rounded to float32 first.
     */
    void timestepFrequencies(Tensor out, Tensor t, Tensor freqs);

    // ---------------------------------------------------------------------------------------------- transformer

    /**
     * {@code out = LN(x) · (1 + scale) + shift}: LayerNorm over the last dim H without affine parameters,
     * with {@code shift = mod[b, shiftChunk]}, {@code scale = mod[b, scaleChunk]} for the row's sample
     * {@code b = row / tokens}.
     */
    void modulatedLayerNorm(Tensor out, Tensor x, Tensor mod, int shiftChunk, int scaleChunk, int tokens, float eps);

    /**
     * {@code out = RMSNorm(x) · (1 + scale) + shift}, RMSNorm being {@code x · rsqrt(mean(x²) + eps) · weight} over
     * the last dim H ({@code weight [H]}, LightningDiT's norm), modulated as in {@link #modulatedLayerNorm}.
     */
    void modulatedRmsNorm(Tensor out, Tensor x, Tensor weight, Tensor mod, int shiftChunk, int scaleChunk, int tokens,
                          float eps);

    /**
     * The gate of a SwiGLU MLP: {@code out [M, F] = silu(x[:, :F]) ⊙ x[:, F:]} for {@code x [M, 2F]}, the two
     * halves of one projection (LightningDiT's {@code w12}).
     */
    void swiglu(Tensor out, Tensor x);

    /**
     * Rotary position embedding, in place on the q and k of {@code qkv [B*T, 3H]} (the layout of {@link #attention});
     * v is untouched. In every head each interleaved pair of features (d, d+1), d even, turns by its token's angles:
     * {@code x'_d = x_d·cos[t,d] - x_{d+1}·sin[t,d]}, {@code x'_{d+1} = x_{d+1}·cos[t,d+1] + x_d·sin[t,d+1]},
     * with the tables {@code cos, sin [T, hd]} ({@code t = row mod T}).
     */
    void rotaryQk(Tensor qkv, Tensor cos, Tensor sin, int tokens, int heads);

    /** {@code x += mod[b, gateChunk] · y} per row (adaLN-Zero gated residual), {@code b = row / tokens}. */
    void gatedResidual(Tensor x, Tensor y, Tensor mod, int gateChunk, int tokens);

    /**
     * Multi-head self-attention without mask. {@code qkv [B*T, 3H]}: features {@code which*H + head*hd + d}
     * (q, k, v outermost). {@code out [B*T, H]}: {@code softmax(q·kᵀ·scale)·v} with head h at features
     * {@code h*hd .. h*hd+hd-1}.
     */
    void attention(Tensor out, Tensor qkv, int batch, int tokens, int heads, float scale);

    /**
     * Self-attention of token rows {@code x [B*T, K]}: the projection {@code qkv = x · wᵀ + bias} ({@code w [3H, K]},
     * into the scratch {@code qkv [B*T, 3H]}, whose contents are unspecified afterwards), then {@link #attention}.
     * One op, so that a backend may keep the projection in its own format (CUDA in bf16 writes it as bf16 for the
     * tensor-core attention instead of converting it).
     */
    default void selfAttention(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor qkv, int batch, int tokens, int heads,
                               float scale) {
        linear(qkv, x, w, bias, Activation.NONE);
        attention(out, qkv, batch, tokens, heads, scale);
    }

    /**
     * Patchify {@code x [B, C, S, S]} into {@code out [B*T, C*p*p]}: token {@code gy*G + gx}, feature
     * {@code (c*p + ky)*p + kx} (the layout of a Conv2d weight {@code [H, C, p, p]} flattened).
     */
    void patchify(Tensor out, Tensor x, int patch);

    /**
     * Inverse layout of the DiT final layer: {@code x [B*T, p*p*Co]} with feature {@code (py*p + px)*Co + c}
     * to {@code out [B, Co, S, S]}.
     */
    void unpatchify(Tensor out, Tensor x, int patch, int channels);

    // ---------------------------------------------------------------------------------------------- convolution

    /**
     * 2-D convolution (cross-correlation), stride 1, zero padding {@code (k-1)/2}: {@code x [B, Ci, H, W]},
     * {@code w [Co, Ci, k, k]}, {@code bias [Co]}, {@code out [B, Co, H, W]}. If {@code residual} is not null it is
     * added to the result (same shape as out).
     */
    void conv2d(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor residual);

    /**
     * {@link #conv2d} of {@link #upsampleNearest2x}{@code (x)}, without residual: {@code x [B, Ci, H, W]},
     * {@code out [B, Co, 2H, 2W]}. {@code scratch [B, Ci, 2H, 2W]} may hold the upsampled input (the default does
     * that); a backend that reads x at (y/2, x/2) directly leaves it untouched.
     */
    default void upsampleConv2d(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor scratch) {
        upsampleNearest2x(scratch, x);
        conv2d(out, scratch, w, bias, null);
    }

    /**
     * The VAE encoder's downsampling convolution (diffusers {@code Downsample2D} with {@code padding=0}, LDM
     * {@code Downsample}): {@code F.pad(x, (0, 1, 0, 1))} (one zero column right, one zero row below), then a 3×3
     * cross-correlation with stride 2 and no padding. {@code x [B, Ci, H, W]} with H, W ≥ 2, {@code w [Co, Ci, 3, 3]},
     * {@code bias [Co]}, {@code out [B, Co, H/2, W/2]} (rounded down: torch's {@code floor((H + 1 - 3)/2) + 1}):
     * {@code out[b, co, y, x] = bias[co] + Σ_{ci, ky, kx} w[co, ci, ky, kx] · x[b, ci, 2y + ky, 2x + kx]}, with x read
     * as 0 at row H and column W (the padding; only an even H or W reaches it).
     */
    void downsampleConv2d(Tensor out, Tensor x, Tensor w, Tensor bias);

    /** GroupNorm over {@code x [B, C, H, W]} with affine {@code gamma, beta [C]}, optionally followed by SiLU. */
    void groupNorm(Tensor out, Tensor x, Tensor gamma, Tensor beta, int groups, float eps, boolean silu);

    /** Nearest-neighbour ×2: {@code out [B, C, 2H, 2W]}, {@code out[y][x] = x[y/2][x/2]}. */
    void upsampleNearest2x(Tensor out, Tensor x);

    /** {@code [B, C, N] → [B*N, C]} (channel-major image to token rows). */
    void channelsToTokens(Tensor out, Tensor x);

    /** {@code [B*N, C] → [B, C, N]}, adding {@code residual [B, C, N]} if not null. */
    void tokensToChannels(Tensor out, Tensor tokens, Tensor residual);

    /**
     * Per-channel affine on {@code x [B, C, ...]}: {@code out = x · mul[c] / div + add[c]} (evaluated in that
     * order, so {@code mul = 1, add = 0} gives exactly {@code x / div}). Used to undo latent normalisation.
     */
    void channelAffine(Tensor out, Tensor x, float[] mul, float div, float[] add);

    // ---------------------------------------------------------------------------------------------- sampling

    /**
     * Classifier-free guidance as the official {@code forward_with_cfg}, on a model output {@code modelOut [2N, Co, ...]}
     * whose first N rows are conditional and last N unconditional: {@code out [M, C, ...]} (C ≤ Co channels, M = N
     * or 2N rows) takes channels {@code c < C} of row b, except channels {@code c < guidedChannels}:
     * {@code u + scale · (c - u)} of image {@code b mod N} (so a 2N out has the guided values in both halves and the
     * unconditional rest in the second, as forward_with_cfg returns it). With {@code guidedChannels} 0 modelOut
     * needs only M rows (out = its first C channels).
     */
    void cfgCombine(Tensor out, Tensor modelOut, int guidedChannels, float scale);

    /** Checks the shapes of a {@link #cfgCombine} call. */
    static void checkCfgShapes(Tensor out, Tensor modelOut, int guidedChannels) {
        int rows = out.dim(0), mRows = modelOut.dim(0);
        boolean ok = out.dim(1) <= modelOut.dim(1) && out.shape().numelFrom(2) == modelOut.shape().numelFrom(2)
                && (guidedChannels == 0 ? rows <= mRows : mRows % 2 == 0 && (rows == mRows || 2 * rows == mRows));
        if (!ok) throw new IllegalArgumentException("cfgCombine shapes: out " + out.shape() + ", modelOut " + modelOut.shape());
    }

    /** {@code out = a·x + b·y}, elementwise over equal shapes; out may be x or y (the flow-matching samplers' update). */
    void scaledAdd(Tensor out, float a, Tensor x, float b, Tensor y);

    /**
     * {@code x = (1 - mask)·keep + mask·x}, elementwise over equal shapes: inpainting's latent blending (mask 1 =
     * regenerate, 0 = keep), in float32 as torch computes it.
     */
    void maskBlend(Tensor x, Tensor keep, Tensor mask);

    /** The element count of tensors that must have the same one (an elementwise op's operands). */
    static int checkSameSize(Tensor... t) {
        for (Tensor u : t) {
            if (u.numel() != t[0].numel()) {
                throw new IllegalArgumentException("size mismatch: " + java.util.Arrays.stream(t).map(String::valueOf)
                        .collect(java.util.stream.Collectors.joining(", ")));
            }
        }
        return Math.toIntExact(t[0].numel());
    }

    /**
     * One ancestral DDPM step (DiT's p_sample) in place on {@code x [N, C, ...]} given {@code modelOut [N, Co, ...]}
     * (ε = channels [0, C); with learned range variance, v = channels [C, 2C)). See {@link DdpmCoefficients}.
     */
    void ddpmStep(Tensor x, Tensor modelOut, Tensor noise, DdpmCoefficients k);

    /** One DDIM step in place on {@code x}; see {@link DdimCoefficients}. */
    void ddimStep(Tensor x, Tensor modelOut, Tensor noise, DdimCoefficients k);

    /**
     * One DPM-Solver++ (2M) step in place on {@code x} given ε in {@code modelOut} channels [0, C): writes the
     * data prediction to {@code x0}; a second-order step also reads the previous one from {@code x0Prev}.
     */
    void dpmSolverStep(Tensor x, Tensor modelOut, Tensor x0, Tensor x0Prev, DpmSolverCoefficients k);

    /** Float32 coefficients of one DDPM step, gathered from the float64 schedule. */
    record DdpmCoefficients(float sqrtRecipAlphasCumprod, float sqrtRecipm1AlphasCumprod,
                            float posteriorMeanCoef1, float posteriorMeanCoef2,
                            float minLog, float maxLog, boolean learnedVariance, float fixedLogVariance,
                            boolean addNoise) {
    }

    /** Float32 coefficients of one DDIM step. */
    record DdimCoefficients(float sqrtRecipAlphasCumprod, float sqrtRecipm1AlphasCumprod,
                            float sqrtAlphasCumprodPrev, float sigma, float sqrtOneMinusPrevMinusSigma2,
                            boolean addNoise) {
    }

    /**
     * Float32 coefficients of one DPM-Solver++ step: {@code x0 = (x - sigmaS·ε) / alphaS};
     * first order: {@code x' = ratio·x - a·x0}; second order additionally {@code - 0.5·a·(invR0·(x0 - x0Prev))}.
     */
    record DpmSolverCoefficients(float sigmaS, float alphaS, float ratio, float a, boolean secondOrder, float invR0) {
    }
}
