package dev.ditj.sampling;

/**
 * The DiT repository's diffusion schedule in float64 (gaussian_diffusion.py): linear betas over 1000 steps,
 * optionally respaced (betas recomputed from the kept steps' ᾱ), and every derived array rebuilt from those betas.
 * Coefficients are rounded to float32 only when a step gathers them, as the official code does.
 */
public final class GaussianDiffusion {
    public static final int TRAIN_STEPS = 1000;

    /** Original (0..999) step of each respaced index: what the model is called with. */
    public final int[] timestepMap;
    public final double[] betas, alphasCumprod, alphasCumprodPrev, sqrtRecipAlphasCumprod,
            sqrtRecipm1AlphasCumprod, posteriorVariance, posteriorLogVarianceClipped, posteriorMeanCoef1,
            posteriorMeanCoef2, logBetas;

    /** numpy.linspace(1e-4, 0.02, 1000) in float64: start + j·step, last element exactly stop. */
    public static double[] linearBetas() {
        double start = 0.0001, stop = 0.02;
        double step = (stop - start) / (TRAIN_STEPS - 1);
        double[] b = new double[TRAIN_STEPS];
        for (int j = 0; j < TRAIN_STEPS; j++) b[j] = j * step + start;
        b[TRAIN_STEPS - 1] = stop;
        return b;
    }

    /** How many steps a respacing spec keeps (checks the spec). */
    public static int respacedSteps(String respacing) {
        return Respacing.keptSteps(TRAIN_STEPS, respacing).length;
    }

    /** The schedule for a respacing spec ("" = all 1000 steps, "250", "ddim50", ...). */
    public static GaussianDiffusion create(String respacing) {
        double[] base = linearBetas();
        double[] alphas = new double[base.length];
        for (int i = 0; i < base.length; i++) alphas[i] = 1.0 - base[i];
        double[] abar = cumprod(alphas);
        int[] kept = Respacing.keptSteps(TRAIN_STEPS, respacing);
        double[] newBetas = new double[kept.length];
        double last = 1.0;
        for (int i = 0; i < kept.length; i++) {
            newBetas[i] = 1 - abar[kept[i]] / last;
            last = abar[kept[i]];
        }
        return new GaussianDiffusion(newBetas, kept);
    }

    private GaussianDiffusion(double[] betas, int[] timestepMap) {
        int n = betas.length;
        this.betas = betas;
        this.timestepMap = timestepMap;
        double[] alphas = new double[n];
        for (int i = 0; i < n; i++) alphas[i] = 1.0 - betas[i];
        alphasCumprod = cumprod(alphas);
        alphasCumprodPrev = new double[n];
        alphasCumprodPrev[0] = 1.0;
        System.arraycopy(alphasCumprod, 0, alphasCumprodPrev, 1, n - 1);
        sqrtRecipAlphasCumprod = new double[n];
        sqrtRecipm1AlphasCumprod = new double[n];
        posteriorVariance = new double[n];
        posteriorMeanCoef1 = new double[n];
        posteriorMeanCoef2 = new double[n];
        logBetas = new double[n];
        for (int i = 0; i < n; i++) {
            double ac = alphasCumprod[i], prev = alphasCumprodPrev[i];
            sqrtRecipAlphasCumprod[i] = Math.sqrt(1.0 / ac);
            sqrtRecipm1AlphasCumprod[i] = Math.sqrt(1.0 / ac - 1);
            posteriorVariance[i] = betas[i] * (1.0 - prev) / (1.0 - ac);
            posteriorMeanCoef1[i] = betas[i] * Math.sqrt(prev) / (1.0 - ac);
            posteriorMeanCoef2[i] = (1.0 - prev) * Math.sqrt(alphas[i]) / (1.0 - ac);
            logBetas[i] = Math.log(betas[i]);
        }
        // log(0) at index 0 is replaced by index 1's value (the official "clipped" log variance).
        posteriorLogVarianceClipped = new double[n];
        for (int i = 0; i < n; i++) {
            posteriorLogVarianceClipped[i] = n > 1 ? Math.log(posteriorVariance[i == 0 ? 1 : i]) : Double.NaN;
        }
    }

    public int steps() {
        return betas.length;
    }

    /**
     * diffusers' {@code add_noise} at respaced index i, {@code sqrt(ᾱ)·x0 + sqrt(1 - ᾱ)·ε}, with the float32 ᾱ of its
     * ORIGINAL timestep from diffusers' own table (DDPMScheduler, DDIMScheduler), float32 arithmetic as torch's.
     */
    public InitLatent.Level level(int i) {
        float abar = TRAIN_ALPHAS_CUMPROD[timestepMap[i]];
        return new InitLatent.Level((float) Math.sqrt(abar), (float) Math.sqrt(1f - abar));
    }

    private static final float[] TRAIN_ALPHAS_CUMPROD = DpmSolverSchedule.trainAlphasCumprod();

    /** FIXED_LARGE log variance (models without learned sigma): log([σ̃²₁, β₁, β₂, …])[i]. */
    public double fixedLargeLogVariance(int i) {
        return i == 0 ? Math.log(steps() > 1 ? posteriorVariance[1] : betas[0]) : logBetas[i];
    }

    private static double[] cumprod(double[] v) {
        double[] out = new double[v.length];
        double acc = 1.0;
        for (int i = 0; i < v.length; i++) {
            acc *= v[i];
            out[i] = acc;
        }
        return out;
    }
}
