package dev.ditj.api;

import dev.ditj.InvalidArgumentException;

import java.util.Locale;

/** The samplers ditj implements. */
public enum SamplerKind {
    /** Ancestral DDPM with learned-range variance, as DiT's sample.py (250 steps in the paper). */
    DDPM("ddpm"),
    /** DDIM as in the DiT repository (eta 0 = deterministic). */
    DDIM("ddim"),
    /** DPM-Solver++(2M) as diffusers' DPMSolverMultistepScheduler. */
    DPMPP2M("dpmpp2m");

    public final String cliName;

    SamplerKind(String cliName) {
        this.cliName = cliName;
    }

    public static SamplerKind parse(String s) {
        String k = s.trim().toLowerCase(Locale.ROOT).replace("-", "").replace("_", "").replace("+", "p");
        for (SamplerKind v : values()) {
            if (v.cliName.equals(k)) return v;
        }
        if (k.equals("dpmsolver") || k.equals("dpmpp")) return DPMPP2M;
        throw new InvalidArgumentException("sampler", "'" + s + "' is unknown: use ddpm, ddim or dpmpp2m");
    }

    /** Guidance on the first 3 channels for the DiT samplers (official), all channels for DPM-Solver (diffusers). */
    public int defaultGuidedChannels(int latentChannels) {
        return this == DPMPP2M ? latentChannels : Math.min(3, latentChannels);
    }
}
