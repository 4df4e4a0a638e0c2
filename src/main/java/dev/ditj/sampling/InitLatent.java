package dev.ditj.sampling;

import dev.ditj.InvalidArgumentException;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Tensor;

import java.util.function.IntFunction;

/**
 * Image-to-image: a sampling loop that starts from an encoded picture instead of pure noise, as diffusers' img2img
 * pipelines do. With S schedule steps (see each sampler's {@code scheduleSteps}) the loop runs only steps
 * {@code t_start = S - int(S·strength)} .. S-1, and the state is first noised to step t_start's level,
 * {@code x = a·x0 + b·ε} (the scheduler's {@code add_noise}; each sampler says what a and b are at each step), with
 * ε the noise the loop would otherwise have started from. With a mask (1 = regenerate, 0 = keep), after every step
 * the kept region is replaced by the picture noised to the next step's level with the SAME ε (the original itself
 * after the last step): {@code x = (1-m)·proper + m·x}, the latent blending of diffusers' inpainting pipeline with a
 * non-inpainting model. All of it runs through {@link Ops} on the device.
 */
public final class InitLatent implements AutoCloseable {
    private final Ops ops;
    private final Tensor x0, mask;
    private final double strength;
    /** ε, kept from the start for the blending; the noised picture of a blend. */
    private Tensor noise, proper;

    /**
     * @param x0       the picture's latent, shaped like the sampler's state (closed with this)
     * @param mask     null, or the blend mask shaped like the state, 1 = regenerate, 0 = keep (closed with this)
     * @param strength in (0, 1]: the share of the schedule that runs
     */
    public InitLatent(Ops ops, Tensor x0, Tensor mask, double strength) {
        checkStrength(strength);
        this.ops = ops;
        this.x0 = x0;
        this.mask = mask;
        this.strength = strength;
    }

    /** Refuses a strength outside (0, 1]. */
    public static void checkStrength(double strength) {
        if (!(strength > 0 && strength <= 1)) {
            throw new InvalidArgumentException("strength", "must be in (0, 1], got " + strength);
        }
    }

    public boolean masked() {
        return mask != null;
    }

    /**
     * The first step that runs of a schedule of {@code steps} steps, {@code steps - int(steps·strength)} (diffusers'
     * get_timesteps); a strength that keeps no step is refused.
     */
    public static int firstStep(int steps, double strength) {
        int kept = Math.min((int) (steps * strength), steps);
        if (kept < 1) {
            throw new InvalidArgumentException("strength", "keeps no step of " + steps + " (int(" + steps + " * "
                    + strength + ") = 0): use at least 1/" + steps + " or more steps, got " + strength);
        }
        return steps - kept;
    }

    public int firstStep(int steps) {
        return firstStep(steps, strength);
    }

    /** The state at the start of a step: {@code x = a·x0 + b·ε}. */
    public record Level(float a, float b) {
    }

    /** {@code x} holds ε on entry and the picture at {@code level} on return; ε is kept for the blending. */
    void start(Tensor x, Level level) {
        if (mask != null) {
            noise = ops.alloc(x.shape());
            proper = ops.alloc(x.shape());
            ops.copy(noise, 0, x, 0, x.numel());
        }
        ops.scaledAdd(x, level.a(), x0, level.b(), x);
    }

    /**
     * After a step: the kept region ← the picture at {@code next}, the level of the step that follows, or (null,
     * after the last step) the picture itself.
     */
    void blend(Tensor x, Level next) {
        if (mask == null) return;
        if (next == null) {
            ops.maskBlend(x, x0, mask);
        } else {
            ops.scaledAdd(proper, next.a(), x0, next.b(), noise);
            ops.maskBlend(x, proper, mask);
        }
    }

    /**
     * Starts a loop of {@code steps} steps on {@code x} (holding ε): the first step to run, 0 without a picture
     * ({@code init} null), else the state noised to that step's {@code level}.
     */
    static int begin(InitLatent init, Tensor x, int steps, IntFunction<Level> level) {
        if (init == null) return 0;
        int first = init.firstStep(steps);
        init.start(x, level.apply(first));
        return first;
    }

    /** The blending after step k of {@code steps} (nothing without a picture or mask). */
    static void afterStep(InitLatent init, Tensor x, int k, int steps, IntFunction<Level> level) {
        if (init != null) init.blend(x, k + 1 < steps ? level.apply(k + 1) : null);
    }

    @Override
    public void close() {
        if (noise != null) noise.close();
        if (proper != null) proper.close();
        x0.close();
        if (mask != null) mask.close();
        noise = proper = null;
    }
}
