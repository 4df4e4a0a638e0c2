package dev.ditj.sampling;

import dev.ditj.tensor.Tensor;

/**
 * What a flow-matching sampler integrates: a velocity model (guidance folded in) on the sampler's state. The state
 * is laid out as the official sampling code holds it: with guidance, SiT's sample.py integrates the doubled batch
 * {@code [z; z]}, whose second half is never fed to the model but counts in dopri5's error norm.
 */
public interface VelocityField {
    /** Images sampled, N. */
    int images();

    /** Images in the state: N, or 2N with guidance (the conditional half, then the unconditional one). */
    int stateImages();

    /** {@code out = v(x, t)} for the state {@code x [stateImages, C, I, I]} at time t (0 = noise, 1 = data). */
    void velocity(Tensor x, float t, Tensor out);
}
