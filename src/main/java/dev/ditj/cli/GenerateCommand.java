package dev.ditj.cli;

import dev.ditj.DitjException;
import dev.ditj.api.ClassLabels;
import dev.ditj.api.GenerationDefaults;
import dev.ditj.api.GenerationRequest;
import dev.ditj.api.GenerationResult;
import dev.ditj.api.Generator;
import dev.ditj.api.SamplerKind;
import dev.ditj.image.Png;
import dev.ditj.tensor.HostTensor;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate class-conditional images: noise -> sampler with classifier-free guidance -> VAE -> PNG.")
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "M", description = "ditj DiT file (default: the bundled model)")
    Path model;

    @Option(names = "--vae", paramLabel = "V", description = "ditj VAE file (default: the bundled VAE)")
    Path vae;

    @Option(names = "--class", paramLabel = "C", arity = "1..*",
            description = "class ids or names (default: one image of each class for small label sets, "
                    + "sample.py's eight classes for ImageNet)")
    List<String> classes;

    @Option(names = "--images", paramLabel = "N", description = "images per given class (default: the model's)")
    Integer imagesPerClass;

    @Option(names = "--list-classes", description = "list the model's classes and exit")
    boolean listClasses;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "noise seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--steps", paramLabel = "N",
            description = "sampler steps (default: the model's; else 250 ddpm, 50 ddim, 25 dpmpp2m)")
    Integer steps;

    @Option(names = "--sampler", paramLabel = "ddpm|ddim|dpmpp2m", description = "sampler (default: the model's, else ddpm)")
    String sampler;

    @Option(names = "--respacing", paramLabel = "SPEC", description = "DiT timestep respacing for ddpm/ddim, e.g. ddim50 or 10,15,20")
    String respacing;

    @Option(names = "--eta", defaultValue = "0", paramLabel = "E", description = "DDIM eta (default: ${DEFAULT-VALUE})")
    float eta;

    @Option(names = "--cfg-scale", paramLabel = "S",
            description = "classifier-free guidance scale, 1 = off (default: the model's, else 4.0)")
    Float cfgScale;

    @Option(names = "--cfg-channels", paramLabel = "3|all",
            description = "channels to guide: 3 = official DiT, all = diffusers (default: the model's, else 3 for "
                    + "ddpm/ddim, all for dpmpp2m)")
    String cfgChannels;

    @Option(names = "--noise", paramLabel = "Z.npy", description = "initial latent noise [N, C, I, I] instead of the seed's")
    Path noise;

    @Option(names = "--step-noise", paramLabel = "N.npy", description = "per-step noise [steps, N, C, I, I] instead of the seed's")
    Path stepNoise;

    @Option(names = "--save-latent", paramLabel = "L.npy", description = "also save the final latents")
    Path saveLatent;

    @Option(names = {"-o", "--output"}, paramLabel = "OUT.png", defaultValue = "ditj.png",
            description = "PNG to write (several classes: one grid; default: ${DEFAULT-VALUE})")
    Path output;

    @Option(names = "--grid-columns", paramLabel = "N",
            description = "images per row of the output grid (default: one row per class when several images per "
                    + "class, else 4)")
    Integer gridColumns;

    /** Images per class of the current request (for the grid layout). */
    private int perClass = 1;

    @Mixin
    BackendOption backend;

    @Override
    public Integer call() {
        Path ditFile = model != null ? model : BundledModel.dit();
        Path vaeFile = vae != null ? vae : BundledModel.vae();
        long start = System.nanoTime();
        try (Generator g = Generator.load(ditFile, vaeFile, backend.get())) {
            ClassLabels labels = g.classLabels();
            if (listClasses) {
                System.out.print(labels.listing());
                return 0;
            }
            GenerationDefaults defaults = g.dit().generationDefaults();
            int[] ids = classIds(labels, defaults);
            SamplerKind kind = sampler != null ? SamplerKind.parse(sampler) : defaults.sampler();
            float scale = cfgScale != null ? cfgScale : defaults.cfgScale();
            int c = g.dit().config().inChannels(), side = g.dit().config().inputSize();
            GenerationRequest.Builder b = GenerationRequest.builder(ids).seed(seed).sampler(kind).cfgScale(scale)
                    .ddimEta(eta).respacing(respacing).keepLatent(saveLatent != null);
            if (steps != null) {
                b.steps(steps);
            } else if (sampler == null && respacing == null) {
                b.steps(defaults.steps());
            }
            if (cfgChannels != null) b.guidedChannels(parseChannels(cfgChannels, c));
            if (noise != null) b.initialNoise(Npys.readFloats(noise, "noise", ids.length, c, side, side).data());
            GenerationRequest probe = b.build();
            if (stepNoise != null) {
                b.stepNoise(Npys.readFloats(stepNoise, "step noise", probe.steps(), ids.length, c, side, side).data());
            }
            GenerationRequest request = b.build();
            System.err.printf("%s on %s: %d image(s) of %s, %s %d steps, cfg %.2f, seed %d%n",
                    g.dit().config().familyName(), g.backendName(), ids.length, describe(labels, ids),
                    kind.cliName, request.steps(), scale, seed);
            GenerationResult r;
            try (ProgressBar bar = new ProgressBarBuilder().setTaskName("sampling").setInitialMax(request.steps())
                    .setUnit(" steps", 1).showSpeed().setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250)
                    .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err)).build()) {
                r = g.generate(request, (done, total) -> bar.stepTo(done));
            }
            if (saveLatent != null) Npys.writeFloats(saveLatent, r.latents());
            writePng(r);
            double total = (System.nanoTime() - start) / 1e9;
            System.out.printf(Locale.ROOT, "wrote %s (%dx%d%s) in %.1f s (sampling %.1f s, decode %.1f s)%n",
                    output.toAbsolutePath(), r.width(), r.height(), r.count() > 1 ? ", " + r.count() + " images" : "",
                    total, r.samplingSeconds(), r.decodeSeconds());
        }
        return 0;
    }

    private void writePng(GenerationResult r) {
        int columns = gridColumns != null ? gridColumns : perClass > 1 ? perClass : GenerationResult.GRID_COLUMNS;
        if (columns < 1) throw new DitjException("--grid-columns must be at least 1");
        Png.writeEncoded(output, r.gridPng(columns));
    }

    /** The requested classes, each repeated --images times; without --class, a default set (see the option). */
    private int[] classIds(ClassLabels labels, GenerationDefaults defaults) {
        int perClass = imagesPerClass != null ? imagesPerClass : defaults.imagesPerClass();
        if (perClass < 1) throw new DitjException("--images must be at least 1");
        int[] base;
        if (classes != null && !classes.isEmpty()) {
            base = labels.resolveAll(classes);
        } else if (labels.size() <= 16) {
            base = java.util.stream.IntStream.range(0, labels.size()).toArray();
            if (imagesPerClass == null) perClass = 1;
        } else if (labels.size() == 1000) {
            base = new int[] {207, 360, 387, 974, 88, 979, 417, 279}; // DiT sample.py's classes
        } else {
            base = new int[] {0};
        }
        this.perClass = perClass;
        int[] ids = new int[base.length * perClass];
        for (int i = 0; i < ids.length; i++) ids[i] = base[i / perClass];
        return ids;
    }

    private static int parseChannels(String s, int latentChannels) {
        if (s.equalsIgnoreCase("all")) return latentChannels;
        try {
            int n = Integer.parseInt(s);
            if (n >= 1 && n <= latentChannels) return n;
        } catch (NumberFormatException ignored) {
            // fall through to the message
        }
        throw new DitjException("--cfg-channels must be 1.." + latentChannels + " or all, got '" + s + "'");
    }

    private static String describe(ClassLabels labels, int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ids.length && i < 8; i++) {
            if (i > 0) sb.append(", ");
            sb.append(labels.hasNames() ? labels.name(ids[i]) + " (" + ids[i] + ")" : "class " + ids[i]);
        }
        if (ids.length > 8) sb.append(", ...");
        return sb.toString();
    }
}
