package dev.ditj.api;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.ditj.Version;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * How images were made: the model and VAE (file names and the SHA-256 of the checkpoints they were converted from),
 * the sampler settings as resolved for the run, precision, backend and ditj version. Stored in every PNG as text
 * entries: {@code parameters} (one readable line per field group, as Stable Diffusion front ends write it) and
 * {@code ditj} (the same as JSON, with each image's class and noise index). {@code guidanceInterval}: as
 * resolved for the run, or null (every step). {@code timeShift}: the ODE grid's (LightningDiT's), 1 = none.
 * {@code strength}: image-to-image's (0 = from noise), {@code masked}: with an inpainting mask. {@code guide}: the
 * autoguidance model's file name and {@code guideSha256} its source's hash, or null (no autoguidance, then
 * {@code guideScale} is 1).
 */
public record GenerationInfo(String model, String modelSha256, String vae, String vaeSha256, long seed,
                             SamplerKind sampler, int steps, String respacing, float cfgScale, int guidedChannels,
                             float ddimEta, String precision, String backend, int imageWidth, int imageHeight,
                             GuidanceInterval guidanceInterval, double timeShift, double strength, boolean masked,
                             String guide, String guideSha256, float guideScale) {
    /** The PNG text keyword of the JSON form. */
    public static final String PNG_KEY = "ditj";
    /** The PNG text keyword of the readable form (the one Stable Diffusion front ends use). */
    public static final String PNG_PARAMETERS_KEY = "parameters";
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    /** The text entries of a PNG holding the images of {@code classes} with noise indices {@code indices}. */
    public Map<String, String> pngText(ClassLabels labels, int[] classes, int[] indices) {
        StringBuilder names = new StringBuilder();
        for (int i = 0; i < classes.length; i++) {
            if (i > 0) names.append("; ");
            names.append(label(labels, classes[i]));
        }
        String params = String.format(Locale.ROOT, "%s%nSteps: %d, Sampler: %s, CFG scale: %s, CFG channels: %d, "
                        + "Seed: %d, Image index: %s, Size: %dx%d, Model: %s, Model hash: %s, VAE: %s, VAE hash: %s, "
                        + "Respacing: %s, Eta: %s, Precision: %s, Backend: %s, Version: ditj %s",
                names, steps, sampler.cliName, cfgScale, guidedChannels, seed, join(indices), imageWidth, imageHeight,
                model, hash(modelSha256), vae, hash(vaeSha256), respacing == null ? "none" : respacing, ddimEta,
                precision, backend, Version.VERSION)
                + (guidanceInterval == null ? "" : ", Guidance interval: " + guidanceInterval)
                + (timeShift == 1 ? "" : ", Time shift: " + timeShift)
                + (guide == null ? "" : ", Guide model: " + guide + ", Guide hash: " + hash(guideSha256)
                        + ", Guide scale: " + guideScale)
                + (strength == 0 ? "" : ", Denoising strength: " + strength + (masked ? ", Inpainting mask: yes" : ""));
        JsonObject o = new JsonObject();
        if (classes.length == 1) {
            o.addProperty("class", classes[0]);
            o.addProperty("class_name", label(labels, classes[0]));
            o.addProperty("image_index", indices[0]);
        } else {
            o.add("classes", GSON.toJsonTree(classes));
            o.add("image_indices", GSON.toJsonTree(indices));
        }
        settings().entrySet().forEach(e -> o.add(e.getKey(), e.getValue()));
        Map<String, String> text = new LinkedHashMap<>();
        text.put(PNG_PARAMETERS_KEY, params);
        text.put(PNG_KEY, GSON.toJson(o));
        return text;
    }

    /** The settings as JSON (what a PNG's {@code ditj} entry holds besides its images' classes and indices). */
    public JsonObject settings() {
        JsonObject o = new JsonObject();
        o.addProperty("seed", seed);
        o.addProperty("sampler", sampler.cliName);
        o.addProperty("steps", steps);
        o.addProperty("respacing", respacing);
        o.addProperty("cfg_scale", cfgScale);
        o.addProperty("cfg_channels", guidedChannels);
        o.addProperty("eta", ddimEta);
        if (guidanceInterval != null) {
            o.add("guidance_interval", GSON.toJsonTree(new double[] {guidanceInterval.low(), guidanceInterval.high()}));
        }
        if (timeShift != 1) o.addProperty("time_shift", timeShift);
        if (guide != null) {
            o.addProperty("guide_model", guide);
            o.addProperty("guide_sha256", guideSha256);
            o.addProperty("guide_scale", guideScale);
        }
        if (strength != 0) {
            o.addProperty("strength", strength);
            o.addProperty("masked", masked);
        }
        o.addProperty("model", model);
        o.addProperty("model_sha256", modelSha256);
        o.addProperty("vae", vae);
        o.addProperty("vae_sha256", vaeSha256);
        o.addProperty("precision", precision);
        o.addProperty("backend", backend);
        o.addProperty("ditj_version", Version.VERSION);
        return o;
    }

    private static String label(ClassLabels labels, int id) {
        return labels.hasNames() ? labels.name(id) + " (" + id + ")" : "class " + id;
    }

    /** Stable Diffusion front ends show a 10-digit prefix of the hash. */
    private static String hash(String sha256) {
        return sha256 == null ? "unknown" : sha256.substring(0, Math.min(10, sha256.length()));
    }

    private static String join(int[] v) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < v.length; i++) sb.append(i > 0 ? " " : "").append(v[i]);
        return sb.toString();
    }
}
