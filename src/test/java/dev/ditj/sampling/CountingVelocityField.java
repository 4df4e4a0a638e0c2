package dev.ditj.sampling;

import dev.ditj.tensor.Tensor;

/** A velocity field that counts its model passes: guided ({@link #velocity}) and conditional-only ones. */
final class CountingVelocityField implements VelocityField {
    private final VelocityField inner;
    int guided, conditional;

    CountingVelocityField(VelocityField inner) {
        this.inner = inner;
    }

    int calls() {
        return guided + conditional;
    }

    @Override
    public int images() {
        return inner.images();
    }

    @Override
    public int stateImages() {
        return inner.stateImages();
    }

    @Override
    public void velocity(Tensor x, float t, Tensor out) {
        guided++;
        inner.velocity(x, t, out);
    }

    @Override
    public void conditionalVelocity(Tensor x, float t, Tensor out) {
        conditional++;
        inner.conditionalVelocity(x, t, out);
    }
}
