package dev.ditj.model;

import dev.ditj.DitjException;

import java.util.Locale;

/**
 * Which model a DiT-architecture network is: the same weights mean different things. A DiT predicts the noise ε of
 * a 1000-step diffusion (timesteps 0..999); a SiT (Ma et al., 2024) predicts the velocity of the linear interpolant
 * {@code x_t = t·x + (1 - t)·ε} at a float time t in [0, 1] (t = 0 noise), so it needs the flow-matching samplers.
 * REPA (Yu et al., 2025) is a SiT without learned sigma trained with extra projector heads (dropped on conversion),
 * whose time runs the other way: {@code x_t = (1 - t)·x + t·ε}, t = 1 noise; it has its own samplers.
 * A LightningDiT (Yao et al., 2025) is a SiT-style velocity model (t = 0 noise, SiT's transport) whose blocks have
 * RMSNorm, SwiGLU and 2-D rotary embeddings ({@link DitConfig#lightning}).
 * Stored in a model file's metadata ({@code ditj.family}; absent = DiT, the files made before SiT).
 */
public enum ModelFamily {
    DIT("dit", "DiT"),
    SIT("sit", "SiT"),
    REPA("repa", "REPA"),
    LIGHTNINGDIT("lightningdit", "LightningDiT");

    public final String id, displayName;

    ModelFamily(String id, String displayName) {
        this.id = id;
        this.displayName = displayName;
    }

    /** Whether the model is a flow (velocity) model, sampled by the flow-matching samplers. */
    public boolean isFlow() {
        return this != DIT;
    }

    /** The time of pure noise in the model's own convention (a flow model's t runs over [0, 1]). */
    public int noiseTime() {
        return this == REPA ? 1 : 0;
    }

    /** The family named {@code s} ("dit", "sit", "repa" or "lightningdit", any case); {@code what} names the source in the error. */
    public static ModelFamily parse(String s, String what) {
        String k = s.trim().toLowerCase(Locale.ROOT);
        for (ModelFamily f : values()) {
            if (f.id.equals(k)) return f;
        }
        throw new DitjException(what + ": unknown model family '" + s + "' (accepted: dit, sit, repa, lightningdit)");
    }
}
