package dev.ditj.sampling;

import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;

/** A reverse-diffusion loop run through {@link Ops}, in place on the latents. */
public abstract class Sampler {
    /** Number of model evaluations (steps). */
    public abstract int steps();

    /** Runs the whole loop on {@code x [N, C, I, I]} (initially x_T). */
    public abstract void run(Ops ops, Denoiser model, Tensor x, NoiseSource noise, StepListener listener);

    /** Host and device buffers for per-step noise, allocated once per run (never inside the loop). */
    static final class NoiseBuffer implements AutoCloseable {
        final float[] host;
        final Tensor tensor;
        final int images, perImage;

        NoiseBuffer(Ops ops, Tensor like) {
            images = like.dim(0);
            perImage = Math.toIntExact(like.numel() / images);
            host = new float[images * perImage];
            tensor = ops.alloc(like.shape());
        }

        Tensor fill(Ops ops, NoiseSource source, int step) {
            source.step(step, host, images, perImage);
            ops.write(tensor, host);
            return tensor;
        }

        @Override
        public void close() {
            tensor.close();
        }
    }

    static Shape predictionShape(Denoiser model, Tensor x) {
        int[] d = x.shape().dims();
        d[1] = model.outChannels();
        return Shape.of(d);
    }
}
