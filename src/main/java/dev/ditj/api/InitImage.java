package dev.ditj.api;

import dev.ditj.InvalidArgumentException;
import dev.ditj.sampling.InitLatent;
import dev.ditj.tensor.HostTensor;

/**
 * The picture an image-to-image request starts from (see {@link GenerationRequest#initImage()}): pixels the
 * generator encodes with its VAE (the distribution's mean, normalised as {@link Generator#encode} does), or latents
 * already in the DiT's latent space. One picture serves every image of the request, or there is one per image (by
 * position in the request); each image keeps its own noise.
 *
 * <p>With S schedule steps the sampler runs only the last {@code int(S·strength)} of them (diffusers' img2img
 * convention {@code t_start = S - int(S·strength)}), from the picture noised to the first of them with the
 * scheduler's {@code add_noise}; for the flow samplers from grid point t_start, the state being the model's
 * interpolant of picture and noise at that time (see {@link dev.ditj.sampling.InitLatent}). A mask keeps its black
 * region of the picture at every step (latent blending, as diffusers' inpainting pipeline with a non-inpainting
 * model): it is made binary (≥ 0.5: regenerate) and brought to latent size by nearest neighbour, as diffusers'
 * mask processor and {@code interpolate} do.
 *
 * @param pixels   {@code [P, 3, H, W]} in [-1, 1] (the VAE's input, H = W = the model's image size), or null
 * @param latents  {@code [P, C, I, I]} in the DiT's latent space, or null (exactly one of pixels and latents)
 * @param strength in (0, 1]: the share of the schedule that runs (1: all of it, from the picture fully noised)
 * @param mask     null, or {@code [1, 1, h, w]} gray levels in [0, 1] (1 = regenerate, 0 = keep) at the picture's
 *                 pixel size or at latent size
 */
public record InitImage(HostTensor pixels, HostTensor latents, double strength, HostTensor mask) {
    public InitImage {
        if ((pixels == null) == (latents == null)) {
            throw new InvalidArgumentException("initImage", "takes either pixels or latents, not " + (pixels == null
                    ? "neither" : "both"));
        }
        HostTensor picture = pixels != null ? pixels : latents;
        if (picture.shape().rank() != 4 || picture.shape().dim(0) < 1) {
            throw new InvalidArgumentException("initImage", "must be [P, C, H, W], got " + picture.shape());
        }
        if (pixels != null && pixels.shape().dim(1) != 3) {
            throw new InvalidArgumentException("initImage", "pixels must have 3 channels (RGB), got " + pixels.shape());
        }
        InitLatent.checkStrength(strength);
        if (mask != null && (mask.shape().rank() != 4 || mask.shape().dim(0) != 1 || mask.shape().dim(1) != 1)) {
            throw new InvalidArgumentException("mask", "must be [1, 1, h, w], got " + mask.shape());
        }
    }

    /** A picture as pixels {@code [P, 3, H, W]} in [-1, 1]. */
    public static InitImage ofPixels(HostTensor pixels, double strength) {
        return new InitImage(pixels, null, strength, null);
    }

    /** A picture already encoded, {@code [P, C, I, I]} in the DiT's latent space. */
    public static InitImage ofLatents(HostTensor latents, double strength) {
        return new InitImage(null, latents, strength, null);
    }

    /** This picture with a mask {@code [1, 1, h, w]} (1 = regenerate, 0 = keep). */
    public InitImage withMask(HostTensor m) {
        return new InitImage(pixels, latents, strength, m);
    }

    /** Pictures P. */
    public int count() {
        return (pixels != null ? pixels : latents).shape().dim(0);
    }

    /**
     * The mask at latent size {@code side × side}, values 0 or 1: gray ≥ 0.5 is 1 (diffusers' binarize), then the
     * nearest pixel {@code floor(i·h/side)} as torch's {@code interpolate(mode="nearest")}.
     */
    public float[] latentMask(int side) {
        int h = mask.shape().dim(2), w = mask.shape().dim(3);
        float[] out = new float[side * side];
        float sy = (float) h / side, sx = (float) w / side;
        for (int i = 0; i < side; i++) {
            int y = Math.min((int) Math.floor(i * sy), h - 1);
            for (int j = 0; j < side; j++) {
                int x = Math.min((int) Math.floor(j * sx), w - 1);
                out[i * side + j] = mask.data()[y * w + x] >= 0.5f ? 1f : 0f;
            }
        }
        return out;
    }
}
