package dev.ditj.sampling;

import dev.ditj.tensor.Tensor;

/**
 * What a flow-matching sampler integrates: a velocity model (guidance folded in) on the sampler's state. The state
 * is laid out as the official sampling code holds it: with guidance, SiT's sample.py integrates the doubled batch
 * {@code [z; z]}, whose second half is never fed to the model but counts in dopri5's error norm. REPA's samplers
 * hold z alone ({@code [N, ...]}) and guide only inside an interval: {@link #velocity} on it is guided, and
 * {@link #conditionalVelocity} the single conditional pass they make elsewhere.
 */
public interface VelocityField {
    /** Images sampled, N. */
    int images();

    /** Images in the state: N, or 2N with guidance (the conditional half, then the unconditional one). */
    int stateImages();

    /**
     * {@code out = v(x, t)} (guided) for the state {@code x [stateImages or N, C, I, I]} at time t in the model's own
     * convention (SiT: 0 = noise; REPA: 1 = noise); out has as many images as x.
     */
    void velocity(Tensor x, float t, Tensor out);

    /** {@code out = v(x, t | y)}, the conditional velocity alone, for {@code x [N, C, I, I]}: one pass of N images. */
    void conditionalVelocity(Tensor x, float t, Tensor out);
}
