package dev.ditj.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.ditj.DitjException;
import dev.ditj.api.GenerationDefaults;
import dev.ditj.api.GenerationInfo;
import dev.ditj.image.Png;
import dev.ditj.io.AtomicWrite;
import dev.ditj.model.DitConfig;
import dev.ditj.model.ModelFamily;
import dev.ditj.model.VaeConfig;
import dev.ditj.tensor.DType;
import dev.ditj.weights.ModelFiles;
import dev.ditj.weights.WeightStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show what a ditj model file holds, or how a PNG made by ditj was generated.")
final class InfoCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE")
    Path file;

    @Override
    public Integer call() {
        if (isPng()) return pngInfo();
        try (WeightStore w = WeightStore.open(file)) {
            System.out.println("file:        " + file);
            GenerationDefaults defaults = null;
            if (w.kind().equals(ModelFiles.KIND_DIT)) {
                DitConfig c = w.ditConfig();
                ModelFamily family = w.family();
                System.out.println("kind:        " + family.displayName + " (" + c.familyName(family) + ", "
                        + c.inputSize() + "x" + c.inputSize() + " latent, " + c.tokens() + " tokens, " + c.numClasses()
                        + " classes" + (c.learnSigma() ? ", learned sigma" + (family.isFlow() ? " (unused)" : "") : "")
                        + (c.rmsNorm() ? ", RMSNorm" : "") + (c.swiglu() ? ", SwiGLU " + c.mlpHidden() : "")
                        + (c.rope() ? ", 2-D RoPE" : "")
                        + (family.isFlow() ? "; flow matching: velocity, t in [0, 1], " + family.noiseTime() + " = noise" : "") + ")");
                String d = w.metadata().get(ModelFiles.GENERATE_DEFAULTS_KEY);
                defaults = d == null ? GenerationDefaults.of(family) : GenerationDefaults.parse(d, file.toString(), family);
            } else {
                boolean enc = w.hasVaePart(ModelFiles.VAE_ENCODER), dec = w.hasVaePart(ModelFiles.VAE_DECODER);
                System.out.println("kind:        " + describeVae(w.vaeConfig(), enc && dec ? "encoder and decoder"
                        : enc ? "encoder only" : "decoder"));
            }
            System.out.printf("parameters:  %,d (%d tensors)%n", w.parameterCount(), w.names().size());
            DType stored = w.storedDtype();
            System.out.println("dtype:       " + stored.safetensorsName
                    + (stored == DType.I8 ? " (layer weights, a scale per row; other tensors F16)" : ""));
            Map<String, String> md = w.metadata();
            System.out.println("config:      " + md.get(ModelFiles.CONFIG_KEY).replaceAll("\\s+", " "));
            System.out.println("source:      " + md.get(ModelFiles.SOURCE_KEY) + " (" + md.get(ModelFiles.SOURCE_LAYOUT_KEY)
                    + ", sha256 " + md.get(ModelFiles.SOURCE_SHA256_KEY) + ")");
            System.out.println("converted:   " + md.get(ModelFiles.CONVERTED_BY_KEY));
            if (md.containsKey(ModelFiles.LATENT_STATS_KEY)) {
                System.out.println("latents:     mean/std from " + md.get(ModelFiles.LATENT_STATS_KEY));
            }
            if (defaults != null) {
                System.out.printf(Locale.ROOT, "generation:  %s, %d steps, cfg %s%s%s%s%s%s%n", defaults.sampler().cliName,
                        defaults.steps(), defaults.cfgScale(),
                        defaults.guidedChannels() > 0 ? " on " + (defaults.guidedChannels() == Integer.MAX_VALUE ? "all"
                                : defaults.guidedChannels()) + " channels" : "",
                        defaults.guidanceInterval() == null ? "" : " for t in " + defaults.guidanceInterval(),
                        defaults.timeShift() == 1 ? "" : ", time shift " + defaults.timeShift(),
                        defaults.guideModel() == null ? "" : ", autoguidance " + defaults.guideScale() + " by "
                                + defaults.guideModel(),
                        md.containsKey(ModelFiles.GENERATE_DEFAULTS_KEY) ? " (stored in the file)" : " (the family's defaults)");
            }
            if (md.containsKey(ModelFiles.CLASS_NAMES_KEY)) {
                System.out.println("classes:     " + String.join(" | ", w.classNames()));
            }
            if (md.containsKey(ModelFiles.CLASS_GROUPS_KEY)) {
                System.out.println("groups:      " + w.classGroups().stream().map(g -> g.name() + " (" + g.size()
                        + (g.size() == 1 ? " class)" : " classes)")).collect(Collectors.joining(" | ")));
            }
        }
        return 0;
    }

    /**
     * "VA-VAE decoder (f16, 32 latent channels, ...)" or the SD-style config; {@code parts} says which halves the
     * file holds ("decoder", "encoder and decoder", "encoder only").
     */
    static String describeVae(VaeConfig c, String parts) {
        if (!c.hasUpBlockAttention()) return "VAE " + parts + " (" + c + ")";
        StringBuilder levels = new StringBuilder();
        for (int i = 0; i < c.upBlockAttention().length; i++) {
            if (c.upBlockAttention()[i]) {
                levels.append(levels.length() == 0 ? "" : ", ").append(i).append(" (latent size x").append(1 << i).append(")");
            }
        }
        return String.format(Locale.ROOT, "VA-VAE %s (f%d, %d latent channels, channels %s, attention after each "
                        + "ResNet block of up block %s%s, %s)", parts, c.downsamplingFactor(), c.latentChannels(),
                Arrays.toString(c.blockOutChannels()), levels, c.midBlockAttention() ? " and in the mid block" : "",
                c.latentsStd() != null ? "per-channel latent mean/std stored, scaling " + c.scalingFactor()
                        : "no latent statistics");
    }

    private boolean isPng() {
        if (!Files.isRegularFile(file)) return false;
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(8);
            return head.length == 8 && (head[0] & 0xff) == 0x89 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G';
        } catch (IOException e) {
            throw new DitjException(file + ": cannot read: " + AtomicWrite.describe(e), e);
        }
    }

    /** The generation parameters a PNG carries (its text entries; ditj's own as one field per line). */
    private int pngInfo() {
        Map<String, String> text;
        try {
            text = Png.readText(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new DitjException(file + ": cannot read: " + AtomicWrite.describe(e), e);
        } catch (DitjException e) {
            throw new DitjException(file + ": " + e.getMessage(), e);
        }
        System.out.println("file:        " + file);
        String json = text.get(GenerationInfo.PNG_KEY);
        if (json == null) {
            System.out.println(text.isEmpty() ? "no generation parameters (not made by ditj)" : "text entries:");
            text.forEach((k, v) -> System.out.println("  " + k + ": " + v));
            return 0;
        }
        try {
            JsonObject o = JsonParser.parseString(json).getAsJsonObject();
            for (Map.Entry<String, JsonElement> e : o.entrySet()) {
                JsonElement v = e.getValue();
                System.out.printf("%-14s%s%n", e.getKey() + ":", v.isJsonPrimitive() ? v.getAsString() : v.toString());
            }
        } catch (JsonParseException | IllegalStateException e) {
            throw new DitjException(file + ": the '" + GenerationInfo.PNG_KEY + "' text entry is not JSON");
        }
        return 0;
    }
}
