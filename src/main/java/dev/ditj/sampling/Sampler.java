package dev.ditj.sampling;

import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;

/** A reverse-diffusion loop run through {@link Ops}, in place on the latents. */
public abstract class Sampler {
    /** Number of model evaluations (steps). */
    public abstract int steps();

    /** Runs the whole loop on {@code x [N, C, I, I]} (initially x_T). */
    public final void run(Ops ops, Denoiser model, Tensor x, NoiseSource noise, StepListener listener) {
        run(ops, model, x, noise, listener, null);
    }

    /**
     * Runs the loop on {@code x [N, C, I, I]} (initially x_T, the noise ε); with {@code init} only the last steps,
     * from the picture noised to the first of them (see {@link InitLatent}); init null: the whole loop.
     */
    public abstract void run(Ops ops, Denoiser model, Tensor x, NoiseSource noise, StepListener listener, InitLatent init);

    /** The scheduler's add_noise level at the start of loop step k (0 = the first step of the whole schedule). */
    public abstract InitLatent.Level level(int k);

    /**
     * The noise of every step that needs it, generated and uploaded before the loop ([steps, N, C, I, I]); a step
     * copies its slice on the device, so the loop itself never waits for the host.
     */
    static final class StepNoise implements AutoCloseable {
        private final Ops ops;
        private final Tensor table, current;
        private final int n;
        /** Row of each step in the table (-1: the step adds no noise). */
        private final int[] row;

        StepNoise(Ops ops, Tensor like, NoiseSource source, boolean[] needed) {
            this.ops = ops;
            int images = like.dim(0), perImage = Math.toIntExact(like.numel() / images);
            n = images * perImage;
            row = new int[needed.length];
            int rows = 0;
            for (int k = 0; k < needed.length; k++) row[k] = needed[k] ? rows++ : -1;
            float[] all = new float[Math.max(1, rows) * n];
            float[] one = new float[n];
            for (int k = 0; k < needed.length; k++) {
                if (row[k] < 0) continue;
                source.step(k, one, images, perImage);
                System.arraycopy(one, 0, all, row[k] * n, n);
            }
            table = ops.upload(new dev.ditj.tensor.HostTensor(Shape.of(all.length), all));
            current = ops.alloc(like.shape());
        }

        /** The noise of step k, as a tensor shaped like the latents. */
        Tensor of(int k) {
            ops.copy(current, 0, table, (long) row[k] * n, n);
            return current;
        }

        @Override
        public void close() {
            table.close();
            current.close();
        }
    }

    static Shape predictionShape(Denoiser model, Tensor x) {
        int[] d = x.shape().dims();
        d[1] = model.outChannels();
        return Shape.of(d);
    }
}
