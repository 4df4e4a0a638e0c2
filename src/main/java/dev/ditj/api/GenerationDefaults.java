package dev.ditj.api;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.ditj.DitjException;
import dev.ditj.io.Json;
import dev.ditj.model.ModelFamily;

/**
 * Generation settings a model file recommends (stored by {@code ditj convert --generate-defaults}); what the CLI
 * uses for options the user did not give. Models without them get DiT's sample.py settings.
 *
 * @param guidedChannels latent channels guidance applies to; 0 = the sampler's default (official DiT guides 3 of 4,
 *                       a model trained with guidance on all channels says so with {@code "cfg_channels": "all"})
 * @param imagesPerClass images per requested class when none is given explicitly
 * @param guidanceInterval the guidance interval in the model's time (DiT's timestep, REPA's, LightningDiT's), or null
 *                       (every step)
 * @param timeShift      the ODE samplers' timestep shift (LightningDiT's), 1 = none
 * @param guideModel     autoguidance: the file name of the guiding model, a smaller, less trained DiT of the same
 *                       classes and latents, beside this one (see {@link Generator}); null = none
 * @param guideScale     the autoguidance weight w of {@code guideModel} (1 = off)
 */
public record GenerationDefaults(SamplerKind sampler, int steps, float cfgScale, int guidedChannels, int imagesPerClass,
                                 GuidanceInterval guidanceInterval, double timeShift, String guideModel,
                                 float guideScale) {

    public static final GenerationDefaults OFFICIAL = new GenerationDefaults(SamplerKind.DDPM, 250, 4.0f, 0, 1);
    /**
     * SiT's headline setting (FID 2.06 for SiT-XL/2 at 256²): the Euler–Maruyama SDE (diffusion w_t = σ_t = 1 - t,
     * drift-only last step of 0.04) with sample.py's 250 steps and guidance 1.5 on the first 3 channels.
     */
    public static final GenerationDefaults SIT = new GenerationDefaults(SamplerKind.EULER_MARUYAMA, 250, 1.5f, 0, 1);
    /** JSON value of {@code cfg_channels} meaning every latent channel. */
    private static final int ALL_CHANNELS = Integer.MAX_VALUE;
    /**
     * REPA's headline setting (FID 1.42 for SiT-XL/2 + REPA at 256², its README's generate.py command): the
     * Euler–Maruyama SDE (samplers.py's euler_maruyama_sampler) with 250 steps, guidance 1.8 on all channels, only
     * for t in [0, 0.7] (t = 1 noise).
     */
    public static final GenerationDefaults REPA = new GenerationDefaults(SamplerKind.EULER_MARUYAMA, 250, 1.8f,
            ALL_CHANNELS, 1, new GuidanceInterval(0, 0.7), 1, null, 1);
    /**
     * LightningDiT's headline setting (FID 1.35 for LightningDiT-XL/1 + VA-VAE at 256², 800 epochs; its
     * lightningdit_xl_vavae_f16d32_800ep_cfg.yaml): the Euler ODE with num_sampling_steps 250, timestep_shift 0.3,
     * guidance 6.7 on the first 3 channels, off below cfg_interval_start 0.125 (t = 0 noise).
     */
    public static final GenerationDefaults LIGHTNINGDIT = new GenerationDefaults(SamplerKind.EULER, 250, 6.7f, 3, 1,
            new GuidanceInterval(0.125, 1), 0.3, null, 1);

    public GenerationDefaults(SamplerKind sampler, int steps, float cfgScale, int guidedChannels, int imagesPerClass) {
        this(sampler, steps, cfgScale, guidedChannels, imagesPerClass, null, 1, null, 1);
    }

    public GenerationDefaults {
        if (steps < 1 || !(cfgScale > 0) || imagesPerClass < 1 || guidedChannels < 0 || !Double.isFinite(timeShift)
                || !(timeShift > 0)) {
            throw new DitjException("bad generation defaults: steps " + steps + ", cfg " + cfgScale + ", cfg channels "
                    + guidedChannels + ", images " + imagesPerClass + ", time shift " + timeShift);
        }
        if (!Float.isFinite(guideScale) || guideScale < 1) {
            throw new DitjException("bad generation defaults: 'guide_scale' must be a finite number >= 1 (1 = off), got "
                    + guideScale);
        }
        if (guideModel != null && (guideModel.isBlank() || guideModel.contains("/") || guideModel.contains("\\"))) {
            throw new DitjException("bad generation defaults: 'guide_model' must be the file name of a model beside "
                    + "this one, got '" + guideModel + "'");
        }
    }

    /** Guided channels for a model with {@code latentChannels} channels; 0 = the sampler's default. */
    public int guidedChannels(int latentChannels) {
        return Math.min(guidedChannels, latentChannels);
    }

    /** What a model of {@code family} samples with when its file stores no settings of its own. */
    public static GenerationDefaults of(ModelFamily family) {
        switch (family) {
            case REPA: return REPA;
            case SIT: return SIT;
            case LIGHTNINGDIT: return LIGHTNINGDIT;
            default: return OFFICIAL;
        }
    }

    /** Parses the metadata JSON; missing fields take the official (DiT) values. */
    public static GenerationDefaults parse(String json, String file) {
        return parse(json, file, ModelFamily.DIT);
    }

    /** Parses the metadata JSON of a {@code family} model; missing fields take that family's values. */
    public static GenerationDefaults parse(String json, String file, ModelFamily family) {
        GenerationDefaults base = of(family);
        String what = file + ": bad generation defaults";
        JsonObject o = Json.parseObject(json, what);
        SamplerKind sampler = base.sampler();
        if (o.has("sampler")) {
            String name = Json.stringValue(o.get("sampler"), what + ": 'sampler'");
            try {
                sampler = SamplerKind.parse(name);
            } catch (DitjException e) {
                throw new DitjException(what + ": " + e.getMessage(), e);
            }
        }
        int steps = o.has("steps") ? Json.intValue(o.get("steps"), what + ": 'steps'") : GenerationRequest.defaultSteps(sampler);
        float cfg = o.has("cfg_scale") ? (float) Json.doubleValue(o.get("cfg_scale"), what + ": 'cfg_scale'") : base.cfgScale();
        int images = o.has("images_per_class") ? Json.intValue(o.get("images_per_class"), what + ": 'images_per_class'") : 1;
        int channels = 0;
        if (o.has("cfg_channels")) {
            JsonElement c = o.get("cfg_channels");
            boolean all = c.isJsonPrimitive() && c.getAsJsonPrimitive().isString() && c.getAsString().equalsIgnoreCase("all");
            channels = all ? ALL_CHANNELS : Json.intValue(c, what + ": 'cfg_channels' (a count or \"all\")");
        }
        GuidanceInterval interval = base.guidanceInterval();
        if (o.has("guidance_interval")) {
            JsonElement g = o.get("guidance_interval");
            if (!g.isJsonArray() || g.getAsJsonArray().size() != 2) {
                throw new DitjException(what + ": 'guidance_interval' must be [low, high]");
            }
            try {
                interval = new GuidanceInterval(Json.doubleValue(g.getAsJsonArray().get(0), what + ": 'guidance_interval'"),
                        Json.doubleValue(g.getAsJsonArray().get(1), what + ": 'guidance_interval'"));
            } catch (DitjException e) {
                throw new DitjException(what + ": " + e.getMessage(), e);
            }
        }
        double shift = o.has("time_shift") ? Json.doubleValue(o.get("time_shift"), what + ": 'time_shift'") : base.timeShift();
        String guide = o.has("guide_model") ? Json.stringValue(o.get("guide_model"), what + ": 'guide_model'") : null;
        float guideScale = o.has("guide_scale") ? (float) Json.doubleValue(o.get("guide_scale"), what + ": 'guide_scale'") : 1;
        if (guide == null && o.has("guide_scale")) throw new DitjException(what + ": 'guide_scale' without 'guide_model'");
        try {
            return new GenerationDefaults(sampler, steps, cfg, channels, images, interval, shift, guide, guideScale);
        } catch (DitjException e) {
            throw new DitjException(file + ": " + e.getMessage(), e);
        }
    }

    public String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("sampler", sampler.cliName);
        o.addProperty("steps", steps);
        o.addProperty("cfg_scale", cfgScale);
        if (guidedChannels == ALL_CHANNELS) {
            o.addProperty("cfg_channels", "all");
        } else if (guidedChannels > 0) {
            o.addProperty("cfg_channels", guidedChannels);
        }
        o.addProperty("images_per_class", imagesPerClass);
        if (guidanceInterval != null) {
            com.google.gson.JsonArray g = new com.google.gson.JsonArray();
            g.add(guidanceInterval.low());
            g.add(guidanceInterval.high());
            o.add("guidance_interval", g);
        }
        if (timeShift != 1) o.addProperty("time_shift", timeShift);
        if (guideModel != null) {
            o.addProperty("guide_model", guideModel);
            o.addProperty("guide_scale", guideScale);
        }
        return o.toString();
    }
}
