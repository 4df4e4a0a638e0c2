package dev.ditj.api;

import dev.ditj.InvalidArgumentException;

import java.util.Locale;

/** The samplers ditj implements: DiT's diffusion samplers, and SiT's flow-matching ones. */
public enum SamplerKind {
    /** Ancestral DDPM with learned-range variance, as DiT's sample.py (250 steps in the paper). */
    DDPM("ddpm", false),
    /** DDIM as in the DiT repository (eta 0 = deterministic). */
    DDIM("ddim", false),
    /** DPM-Solver++(2M) as diffusers' DPMSolverMultistepScheduler. */
    DPMPP2M("dpmpp2m", false),
    /** Euler ODE, as SiT's sample_ode with torchdiffeq's 'euler'. */
    EULER("euler", true),
    /** Heun (2nd order) ODE, as SiT's sample_ode with torchdiffeq's 'heun2'. */
    HEUN("heun", true),
    /** Adaptive Dormand–Prince 5(4) ODE, as SiT's sample_ode with torchdiffeq's 'dopri5' (atol 1e-6, rtol 1e-3). */
    DOPRI5("dopri5", true),
    /** Euler–Maruyama SDE with a drift-only last step, as SiT's sample_sde (its FID 2.06 setting). */
    EULER_MARUYAMA("euler-maruyama", true);

    public final String cliName;
    /** Whether it samples flow (velocity) models such as SiT, rather than DiT's noise-predicting diffusion. */
    public final boolean flow;

    SamplerKind(String cliName, boolean flow) {
        this.cliName = cliName;
        this.flow = flow;
    }

    private static String normalized(String s) {
        return s.trim().toLowerCase(Locale.ROOT).replace("-", "").replace("_", "").replace("+", "p");
    }

    public static SamplerKind parse(String s) {
        String k = normalized(s);
        for (SamplerKind v : values()) {
            if (normalized(v.cliName).equals(k)) return v;
        }
        if (k.equals("dpmsolver") || k.equals("dpmpp")) return DPMPP2M;
        if (k.equals("em") || k.equals("sde")) return EULER_MARUYAMA;
        throw new InvalidArgumentException("sampler", "'" + s + "' is unknown: use ddpm, ddim or dpmpp2m (DiT), "
                + "euler, heun, dopri5 or euler-maruyama (SiT)");
    }

    /** The step noises [N, C, I, I] a run with the official {@code steps} reads (DDPM/DDIM: one row per step). */
    public int noiseSteps(int steps) {
        return this == EULER_MARUYAMA ? steps - 1 : flow ? 0 : steps;
    }

    /**
     * Guidance on the first 3 channels for the DiT samplers and SiT (official), all channels for DPM-Solver
     * (diffusers).
     */
    public int defaultGuidedChannels(int latentChannels) {
        return this == DPMPP2M ? latentChannels : Math.min(3, latentChannels);
    }
}
