package dev.ditj.api;

import dev.ditj.InvalidArgumentException;

import java.util.Locale;

/**
 * The times at which guidance applies, {@code low ≤ t ≤ high}, in the model's own time convention (a DiT's
 * integer timestep of the 1000-step schedule, 0 = data, as DDPM, DDIM and DPM-Solver++ feed it; REPA's
 * {@code guidance_low}/{@code guidance_high}, t = 1 noise, compared in float64 as samplers.py; LightningDiT's
 * {@code cfg_interval_start} s is [s, 1], t = 0 noise, compared with the float32 time as its forward_with_cfg, and an
 * end at 0 or 1 open, so that dopri5's stages past t = 1 stay guided as there);
 * at other model calls the model makes one conditional pass.
 */
public record GuidanceInterval(double low, double high) {
    /** REPA's samplers.py defaults: guidance at every step. */
    public static final GuidanceInterval ALWAYS = new GuidanceInterval(0, 1);

    public GuidanceInterval {
        if (!Double.isFinite(low) || !Double.isFinite(high) || low > high) {
            throw new InvalidArgumentException("guidanceInterval", "must be two finite times LOW <= HIGH, got ["
                    + low + ", " + high + "]");
        }
    }

    /** "LOW,HIGH" (as the CLI takes it). */
    public static GuidanceInterval parse(String s) {
        String[] p = s.split(",", -1);
        if (p.length == 2) {
            try {
                return new GuidanceInterval(Double.parseDouble(p[0].trim()), Double.parseDouble(p[1].trim()));
            } catch (NumberFormatException ignored) {
                // fall through to the message
            }
        }
        throw new InvalidArgumentException("guidanceInterval", "must be LOW,HIGH (two times, e.g. 0,0.7), got '" + s + "'");
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "[%s, %s]", low, high);
    }
}
