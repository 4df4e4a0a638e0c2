package dev.ditj.sampling;

/** Told after each sampler step (for progress bars); must be cheap. */
@FunctionalInterface
public interface StepListener {
    StepListener NONE = (done, total) -> { };

    void stepDone(int done, int total);
}
