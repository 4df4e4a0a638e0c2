package dev.ditj.sampling;

import dev.ditj.tensor.Tensor;

/** What a sampler calls each step: the model (with guidance folded in) on the current latents. */
public interface Denoiser {
    /** Latent channels C of x. */
    int channels();

    /** Channels of a prediction: C (ε only) or 2C (ε and the learned variance interpolation v). */
    int outChannels();

    /**
     * Called once before a sampling loop with the model timestep (original 0..999) of every step, so the loop
     * itself needs no host-to-device transfers.
     */
    void prepare(int[] stepTimesteps);

    /** {@code out [N, outChannels, I, I] = model(x [N, C, I, I], timestep of step)}. */
    void predict(Tensor x, int step, Tensor out);
}
