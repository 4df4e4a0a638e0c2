package dev.ditj.sampling;

import dev.ditj.tensor.Tensor;

/**
 * What a flow-matching sampler integrates: a velocity model (guidance folded in) on the sampler's state. With
 * guidance, SiT's sample.py and LightningDiT's inference.py integrate the doubled batch {@code [z; z]}, whose second
 * half is never fed to the model but counts in dopri5's error norm; the other samplers' results do not depend on it,
 * so they may hold z alone ({@code [N, ...]}), as REPA's samplers do. Samplers that guide only inside an interval
 * call {@link #velocity} there (guided) and {@link #conditionalVelocity} elsewhere.
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

    /**
     * The velocity with guidance off at this call: for {@code x [N, C, I, I]} the conditional velocity
     * {@code v(x, t | y)}, one pass of N images; for the doubled state, what LightningDiT's forward_with_cfg returns
     * outside its guidance interval (both halves evaluated: the guided channels conditional in both halves, the other
     * channels as the model gives them), so that an error norm over the whole state sees the official values.
     */
    void conditionalVelocity(Tensor x, float t, Tensor out);
}
