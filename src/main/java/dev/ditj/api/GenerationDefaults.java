package dev.ditj.api;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.ditj.DitjException;

/**
 * Generation settings a model file recommends (stored by {@code ditj convert --generate-defaults}); what the CLI
 * uses for options the user did not give. Models without them get DiT's sample.py settings.
 *
 * @param imagesPerClass images per requested class when none is given explicitly
 */
public record GenerationDefaults(SamplerKind sampler, int steps, float cfgScale, int imagesPerClass) {

    public static final GenerationDefaults OFFICIAL = new GenerationDefaults(SamplerKind.DDPM, 250, 4.0f, 1);

    public GenerationDefaults {
        if (steps < 1 || !(cfgScale > 0) || imagesPerClass < 1) {
            throw new DitjException("bad generation defaults: steps " + steps + ", cfg " + cfgScale + ", images " + imagesPerClass);
        }
    }

    /** Parses the metadata JSON; missing fields take the official values. */
    public static GenerationDefaults parse(String json, String file) {
        try {
            JsonObject o = JsonParser.parseString(json).getAsJsonObject();
            SamplerKind sampler = o.has("sampler") ? SamplerKind.parse(o.get("sampler").getAsString()) : OFFICIAL.sampler();
            int steps = o.has("steps") ? o.get("steps").getAsInt() : GenerationRequest.defaultSteps(sampler);
            float cfg = o.has("cfg_scale") ? o.get("cfg_scale").getAsFloat() : OFFICIAL.cfgScale();
            int images = o.has("images_per_class") ? o.get("images_per_class").getAsInt() : 1;
            return new GenerationDefaults(sampler, steps, cfg, images);
        } catch (IllegalStateException | UnsupportedOperationException | com.google.gson.JsonParseException e) {
            throw new DitjException(file + ": bad generation defaults '" + json + "': " + e.getMessage());
        }
    }

    public String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("sampler", sampler.cliName);
        o.addProperty("steps", steps);
        o.addProperty("cfg_scale", cfgScale);
        o.addProperty("images_per_class", imagesPerClass);
        return o.toString();
    }
}
