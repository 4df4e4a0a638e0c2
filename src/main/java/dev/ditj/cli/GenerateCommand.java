package dev.ditj.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.ditj.DitjException;
import dev.ditj.InvalidArgumentException;
import dev.ditj.api.ClassGroup;
import dev.ditj.api.ClassLabels;
import dev.ditj.api.GenerationDefaults;
import dev.ditj.api.GenerationInfo;
import dev.ditj.api.GenerationRequest;
import dev.ditj.api.GenerationResult;
import dev.ditj.api.GuidanceInterval;
import dev.ditj.api.Generator;
import dev.ditj.api.SampleFolder;
import dev.ditj.api.SamplerKind;
import dev.ditj.api.InitImage;
import dev.ditj.image.Pixels;
import dev.ditj.image.Resize;
import dev.ditj.sampling.InitLatent;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Shape;
import dev.ditj.image.Png;
import dev.ditj.io.ArrayWriter;
import dev.ditj.tensor.DType;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate class-conditional images: noise -> sampler with classifier-free guidance -> VAE -> PNG; "
                + "with --init-image, from a picture (image-to-image, inpainting with --mask).")
final class GenerateCommand implements Callable<Integer> {
    /** The most images one run takes (their class list is held in memory). */
    static final int MAX_IMAGES = 100_000_000;
    /** The largest grid PNG: beyond this, images go to --out-dir or --npz. */
    static final long MAX_GRID_PIXELS = 64L << 20;
    /** --strength without a value: diffusers' img2img default. */
    static final double DEFAULT_STRENGTH = 0.8;

    @Option(names = "--model", paramLabel = "M", description = "ditj DiT file (default: the bundled model)")
    Path model;

    @Option(names = "--vae", paramLabel = "V", description = "ditj VAE file (default: the bundled VAE)")
    Path vae;

    @Option(names = "--class", paramLabel = "C", arity = "1..*",
            description = "class ids or names, or names of the model's class groups (each image of a group draws "
                    + "one of its classes, fixed by --seed); default: one image of each group if the model has groups, "
                    + "else of each class for small label sets (the bundled model's categories), sample.py's eight "
                    + "classes for ImageNet")
    List<String> classes;

    @Option(names = "--images", paramLabel = "N", description = "images per given class (default: the model's)")
    Integer imagesPerClass;

    @Option(names = "--list-classes", description = "list the model's classes and exit")
    boolean listClasses;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "noise seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--steps", paramLabel = "N",
            description = "sampler steps, 1..1000 (default: the model's; else 250 ddpm, 50 ddim, 25 dpmpp2m); for SiT "
                    + "and LightningDiT the official num_steps, 2..1000: points of the time grid (default 250); for "
                    + "REPA samplers.py's "
                    + "num_steps, 2..1000: Euler/Heun steps, or Euler-Maruyama steps with the drift-only last one")
    Integer steps;

    @Option(names = "--sampler", paramLabel = "ddpm|ddim|dpmpp2m|euler|heun|dopri5|euler-maruyama",
            description = "sampler: ddpm, ddim, dpmpp2m for DiT; euler, heun, dopri5 (ODE) or euler-maruyama (SDE) "
                    + "for SiT and LightningDiT; euler, heun or euler-maruyama for REPA (default: the model's, else "
                    + "ddpm for DiT, euler-maruyama for SiT and REPA, euler for LightningDiT)")
    String sampler;

    @Option(names = "--respacing", paramLabel = "SPEC", description = "DiT timestep respacing for ddpm/ddim, e.g. ddim50 or 10,15,20")
    String respacing;

    @Option(names = "--eta", paramLabel = "E", description = "DDIM eta, >= 0 (default: 0)")
    Float eta;

    @Option(names = "--cfg-scale", paramLabel = "S",
            description = "classifier-free guidance scale, >= 0, 1 = off (default: the model's, else 4.0)")
    Float cfgScale;

    @Option(names = "--cfg-channels", paramLabel = "3|all",
            description = "channels to guide: 3 = official DiT and SiT, all = diffusers and REPA (default: the model's, "
                    + "else 3 for ddpm/ddim and the SiT samplers, all for dpmpp2m and REPA)")
    String cfgChannels;

    @Option(names = "--guidance-interval", paramLabel = "LOW,HIGH",
            description = "guide only at model calls whose time t lies in [LOW, HIGH], in the model's own time (DiT: "
                    + "its timestep, 0 = data, 999 = noise; REPA: 1 = noise, its guidance_low/guidance_high; SiT, "
                    + "LightningDiT: 0 = noise, LightningDiT's cfg_interval_start S is S,1, open above 1), one "
                    + "conditional pass elsewhere (default: the model's; 0,0.7 for REPA, 0.125,1 for LightningDiT)")
    String guidanceInterval;

    @Option(names = "--guide-model", paramLabel = "G",
            description = "autoguidance: a smaller, less trained DiT of the same classes and latents; guided steps "
                    + "also move away from its prediction (default: the model's, as the bundled one's)")
    Path guideModel;

    @Option(names = "--guide-scale", paramLabel = "W",
            description = "autoguidance weight, >= 1, 1 = off (default: the model's)")
    Float guideScale;

    @Option(names = "--time-shift", paramLabel = "S",
            description = "SiT and LightningDiT ODE samplers (euler, heun, dopri5): LightningDiT's timestep shift of "
                    + "the time grid, t' = S*t / (1 + (S-1)*t), S > 0, 1 = none (default: the model's; 0.3 for "
                    + "LightningDiT)")
    Double timeShift;

    @Option(names = "--noise", paramLabel = "Z.npy", description = "initial latent noise [N, C, I, I] instead of the seed's (with "
            + "--init-image: the noise the picture is noised with)")
    Path noise;

    @Option(names = "--step-noise", paramLabel = "N.npy",
            description = "per-step noise [S, N, C, I, I] instead of the seed's, in loop order (S = steps; "
                    + "euler-maruyama: steps - 1)")
    Path stepNoise;

    @Option(names = "--init-image", paramLabel = "IN.png",
            description = "image-to-image: start every image from this picture (encoded by the VAE, which must hold "
                    + "its encoder), of the model's image size unless --resize; RGB, alpha composited on white")
    Path initImage;

    @Option(names = "--strength", paramLabel = "S",
            description = "with --init-image: the share of the schedule that runs, in (0, 1]: the last int(steps*S) "
                    + "steps, from the picture noised to the first of them (1 = fully noised; default: "
                    + DEFAULT_STRENGTH + ")")
    Double strength;

    @Option(names = "--mask", paramLabel = "MASK.png",
            description = "with --init-image: inpainting: white (gray >= 50%%) is regenerated, black keeps the picture; "
                    + "the picture's size")
    Path mask;

    @Option(names = "--resize",
            description = "with --init-image: centre-crop the picture (and mask) to a square and scale it to the "
                    + "model's image size")
    boolean resize;

    @Option(names = "--save-latent", paramLabel = "L.npy", description = "also save the final latents [N, C, I, I]")
    Path saveLatent;

    @Option(names = {"-o", "--output"}, paramLabel = "OUT.png",
            description = "grid PNG of all images (default: ditj.png unless --out-dir or --npz is given)")
    Path output;

    @Option(names = "--out-dir", paramLabel = "DIR",
            description = "one PNG per image (000000.png, ...); an existing run there is resumed")
    Path outDir;

    @Option(names = "--npz", paramLabel = "FILE.npz",
            description = "all images as arr_0, uint8 [N, H, W, 3], as DiT's sample_ddp.py writes them for FID")
    Path npz;

    @Option(names = "--batch-size", paramLabel = "N",
            description = "images sampled together (default: as many as fit in memory, at most 32)")
    Integer batchSize;

    @Option(names = "--grid-columns", paramLabel = "N",
            description = "images per row of the output grid (default: one row per class when several images per "
                    + "class, else 4)")
    Integer gridColumns;

    @Mixin
    BackendOption backend;

    /** Images per class of the current request (for the grid layout). */
    private int perClass = 1;
    /** The --init-image and --mask PNGs, read when the options are checked. */
    private Png.Decoded picture, maskPicture;

    @Override
    public Integer call() {
        checkOptions();
        Path ditFile = model != null ? model : BundledModel.dit();
        Path vaeFile = vae != null ? vae : BundledModel.vae();
        long start = System.nanoTime();
        try (Generator g = Generator.load(ditFile, vaeFile, guideModel, backend.get(), backend.precision())) {
            ClassLabels labels = g.classLabels();
            if (listClasses) {
                System.out.print(labels.listing());
                return 0;
            }
            GenerationDefaults defaults = g.dit().generationDefaults();
            int[] ids = classIds(labels, defaults);
            GenerationRequest request = request(g, ids, defaults);
            g.check(request);
            return run(g, labels, request, start);
        }
    }

    /** What can be checked before loading the model: option values, their combinations, output paths. */
    private void checkOptions() {
        backend.get();
        backend.precision();
        if (imagesPerClass != null && imagesPerClass < 1) {
            throw new InvalidArgumentException("images", "must be at least 1, got " + imagesPerClass);
        }
        if (batchSize != null && batchSize < 1) {
            throw new InvalidArgumentException("batchSize", "must be at least 1, got " + batchSize);
        }
        if (gridColumns != null && gridColumns < 1) usage("--grid-columns must be at least 1, got " + gridColumns);
        if (cfgChannels != null) parseChannels(cfgChannels, Integer.MAX_VALUE);
        if (guidanceInterval != null) GuidanceInterval.parse(guidanceInterval);
        if (listClasses) return;
        checkInitImageOptions();
        settings(sampler != null ? SamplerKind.parse(sampler) : null, cfgScale != null ? cfgScale : 1f).check();
        if (output != null) checkFile("-o", output, ".png");
        if (npz != null) checkFile("--npz", npz, ".npz");
        if (saveLatent != null) checkFile("--save-latent", saveLatent, ".npy");
        if (noise != null && !Files.isRegularFile(noise)) throw new DitjException(noise + ": no such file (--noise)");
        if (guideModel != null && !Files.isRegularFile(guideModel)) {
            throw new DitjException(guideModel + ": no such file (--guide-model)");
        }
        if (stepNoise != null && !Files.isRegularFile(stepNoise)) {
            throw new DitjException(stepNoise + ": no such file (--step-noise)");
        }
        if (outDir != null) {
            Path parent = outDir.toAbsolutePath().getParent();
            if (Files.exists(outDir) && !Files.isDirectory(outDir)) usage("--out-dir '" + outDir + "' is not a directory");
            if (!Files.exists(outDir) && (parent == null || !Files.isDirectory(parent))) {
                usage("--out-dir '" + outDir + "': parent directory " + parent + " does not exist");
            }
        }
    }

    /** The picture options go together; the files are PNGs of one size (read now, checked against the model later). */
    private void checkInitImageOptions() {
        if (initImage == null) {
            if (strength != null) usage("--strength needs --init-image IN.png");
            if (mask != null) usage("--mask needs --init-image IN.png");
            if (resize) usage("--resize needs --init-image IN.png");
            return;
        }
        if (strength != null) InitLatent.checkStrength(strength);
        picture = readPng(initImage);
        if (mask != null) {
            maskPicture = readPng(mask);
            if (maskPicture.width() != picture.width() || maskPicture.height() != picture.height()) {
                usage(mask + ": mask is " + maskPicture.width() + "x" + maskPicture.height() + ", but the picture "
                        + initImage + " is " + picture.width() + "x" + picture.height() + "; give a mask of its size");
            }
        }
    }

    /** A PNG given as input, refused as a usage error (exit 2) when it cannot be read. */
    private static Png.Decoded readPng(Path file) {
        try {
            return Png.readRgb(file);
        } catch (DitjException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /**
     * The --init-image picture (and mask) for {@code g}: its VAE must hold an encoder, the picture the model's image
     * size (or --resize makes it so); null without --init-image.
     */
    private InitImage initImage(Generator g) {
        if (picture == null) return null;
        if (!g.vae().hasEncoder()) {
            usage(g.vae().file() + ": this VAE file holds no encoder (decoder only); --init-image needs a VAE converted with "
                    + "its encoder's weights");
        }
        int side = g.dit().config().inputSize() * g.vae().config().downsamplingFactor();
        byte[] rgb = modelSized(picture, initImage, side, true);
        float[] x = new float[3 * side * side];
        Pixels.fromRgb8(rgb, side, side, x, 0);
        InitImage init = InitImage.ofPixels(new HostTensor(Shape.of(1, 3, side, side), x),
                strength != null ? strength : DEFAULT_STRENGTH);
        if (maskPicture == null) return init;
        float[] gray = Pixels.grayLevels(modelSized(maskPicture, mask, side, false), side, side);
        return init.withMask(new HostTensor(Shape.of(1, 1, side, side), gray));
    }

    /** The picture's pixels at {@code side × side}: as they are, or (--resize) centre-cropped and scaled. */
    private byte[] modelSized(Png.Decoded d, Path file, int side, boolean srgb) {
        if (resize) return Resize.centreSquare(d.pixels(), d.width(), d.height(), side, srgb);
        if (d.width() != side || d.height() != side) {
            usage(file + ": image is " + d.width() + "x" + d.height() + ", but the model makes " + side + "x" + side
                    + " images; give a picture of that size, or --resize to centre-crop and scale it");
        }
        return d.pixels();
    }

    private static void checkFile(String option, Path file, String extension) {
        Path parent = file.toAbsolutePath().getParent();
        if (!file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(extension)) {
            usage(option + " '" + file + "' must end in " + extension);
        }
        if (Files.isDirectory(file)) usage(option + " '" + file + "' is a directory");
        if (parent == null || !Files.isDirectory(parent)) {
            usage(option + " '" + file + "': directory " + parent + " does not exist");
        }
    }

    private static void usage(String message) {
        throw new UsageException(message);
    }

    /** The request builder with the options given (sampler null = keep the default; classes filled in later). */
    private GenerationRequest.Builder settings(SamplerKind kind, float scale) {
        GenerationRequest.Builder b = GenerationRequest.builder(0).seed(seed).cfgScale(scale).respacing(respacing);
        if (kind != null) b.sampler(kind);
        if (eta != null) b.ddimEta(eta);
        if (steps != null) b.steps(steps);
        if (timeShift != null) b.timeShift(timeShift);
        if (guideScale != null) b.guideScale(guideScale);
        return b;
    }

    private GenerationRequest request(Generator g, int[] ids, GenerationDefaults defaults) {
        SamplerKind kind = sampler != null ? SamplerKind.parse(sampler) : defaults.sampler();
        float scale = cfgScale != null ? cfgScale : defaults.cfgScale();
        int c = g.dit().config().inChannels(), side = g.dit().config().inputSize();
        GenerationRequest.Builder b = GenerationRequest.builder(ids).seed(seed).sampler(kind).cfgScale(scale)
                .respacing(respacing).keepLatent(saveLatent != null).initImage(initImage(g));
        if (eta != null) b.ddimEta(eta);
        if (steps != null) {
            b.steps(steps);
        } else if (sampler == null && respacing == null) {
            b.steps(defaults.steps());
        }
        if (cfgChannels != null) b.guidedChannels(parseChannels(cfgChannels, c));
        if (guidanceInterval != null) b.guidanceInterval(GuidanceInterval.parse(guidanceInterval));
        if (timeShift != null) b.timeShift(timeShift);
        if (guideScale != null) b.guideScale(guideScale);
        b.check();
        if (noise != null) b.initialNoise(Npys.readFloats(noise, "noise", ids.length, c, side, side).data());
        if (stepNoise != null) {
            int rows = kind.noiseSteps(b.resolvedSteps());
            if (rows == 0) throw new InvalidArgumentException("stepNoise", kind.cliName + " draws no step noise");
            b.stepNoise(Npys.readFloats(stepNoise, "step noise", rows, ids.length, c, side, side).data());
        }
        return b.build();
    }

    private int run(Generator g, ClassLabels labels, GenerationRequest request, long start) {
        int n = request.count(), side = g.dit().config().inputSize() * g.vae().config().downsamplingFactor();
        boolean grid = output != null || (outDir == null && npz == null);
        Path gridFile = output != null ? output : Path.of("ditj.png");
        int columns = gridColumns != null ? gridColumns : perClass > 1 ? perClass : GenerationResult.GRID_COLUMNS;
        if (grid) checkGrid(n, side, columns);
        SampleFolder folder = outDir == null ? null : SampleFolder.open(outDir, n, runDescription(g, request));
        int[] todo = folder == null ? IntStream.range(0, n).toArray() : folder.missing();
        if (saveLatent != null && todo.length < n) {
            usage("--save-latent cannot resume: " + (n - todo.length) + " images already exist in " + outDir
                    + "; use a new --out-dir");
        }
        GenerationRequest work = subset(request, todo);
        GenerationInfo info = g.info(request);
        System.err.printf(Locale.ROOT, "%s on %s: %d image(s) of %s, %s %d steps, cfg %.2f%s, seed %d%s%s%n",
                g.dit().name(), g.backendName(), n, describe(labels, request.classes()),
                request.sampler().cliName, request.steps(), request.cfgScale(),
                info.guide() == null ? "" : String.format(Locale.ROOT, ", guide %s %.2f", info.guide(), info.guideScale()), seed,
                request.initImage() == null ? "" : String.format(Locale.ROOT, ", from %s (strength %s%s)", initImage,
                        request.initImage().strength(), mask != null ? ", mask " + mask : ""),
                todo.length < n ? " (" + (n - todo.length) + " already in " + outDir + ")" : "");
        if (folder != null) folder.start();
        Outputs out = new Outputs(g, request, folder, grid ? gridFile : null, columns);
        try (out) {
            if (work != null) {
                int batch = batchSize != null ? batchSize : g.defaultBatchSize();
                long total = (long) work.count() * work.steps();
                try (ProgressBar bar = new ProgressBarBuilder().setTaskName("sampling").setInitialMax(total)
                        .setUnit(" image-steps", 1).showSpeed().setStyle(ProgressBarStyle.ASCII)
                        .setUpdateIntervalMillis(250).setConsumer(new ConsoleProgressBarConsumer(System.err)).build()) {
                    g.generate(work, batch, out::accept, (done, all) -> bar.stepTo(done));
                }
            }
            out.finish();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        List<String> wrote = new ArrayList<>();
        if (grid) wrote.add(gridFile.toAbsolutePath() + " (grid of " + n + ")");
        if (folder != null) wrote.add(folder.dir().toAbsolutePath() + "/ (" + todo.length + " new of " + n + " PNGs)");
        if (npz != null) wrote.add(npz.toAbsolutePath() + " (arr_0 [" + n + ", " + side + ", " + side + ", 3])");
        if (saveLatent != null) wrote.add(saveLatent.toAbsolutePath().toString());
        System.out.printf(Locale.ROOT, "wrote %s: %dx%d images in %.1f s (sampling %.1f s, decode %.1f s)%n",
                String.join(", ", wrote), side, side, seconds, out.samplingSeconds, out.decodeSeconds);
        return 0;
    }

    private void checkGrid(int n, int side, int columns) {
        long w = Pixels.gridWidth(n, side, columns), h = Pixels.gridHeight(n, side, columns);
        if (w * h > MAX_GRID_PIXELS) {
            usage(String.format(Locale.ROOT, "-o: a grid of %d images is %dx%d pixels, more than %d megapixels; write "
                    + "large runs with --out-dir DIR and/or --npz FILE", n, w, h, MAX_GRID_PIXELS >> 20));
        }
    }

    /** The images of {@code r} at {@code positions} (their indices kept), or null for none. */
    private static GenerationRequest subset(GenerationRequest r, int[] positions) {
        if (positions.length == r.count()) return r;
        if (positions.length == 0) return null;
        int[] classes = new int[positions.length];
        for (int i = 0; i < positions.length; i++) classes[i] = r.classes()[positions[i]];
        int n = r.count(), perImage = r.initialNoise() == null ? 0 : r.initialNoise().length / n;
        float[] initial = r.initialNoise() == null ? null : gather(r.initialNoise(), positions, 1, n, perImage);
        float[] steps = r.stepNoise() == null ? null
                : gather(r.stepNoise(), positions, r.sampler().noiseSteps(r.steps()), n,
                        r.stepNoise().length / r.sampler().noiseSteps(r.steps()) / n);
        GenerationRequest.Builder b = GenerationRequest.builder(classes).imageIndices(positions).seed(r.seed())
                .sampler(r.sampler()).steps(r.steps()).respacing(r.respacing()).cfgScale(r.cfgScale())
                .guidedChannels(r.guidedChannels()).ddimEta(r.ddimEta()).initialNoise(initial).stepNoise(steps)
                .keepLatent(r.keepLatent()).guidanceInterval(r.guidanceInterval()).initImage(r.initImage());
        if (r.timeShift() != 0) b.timeShift(r.timeShift());
        if (r.guideScale() != 0) b.guideScale(r.guideScale());
        return b.build();
    }

    /** Rows {@code positions} of each of {@code groups} blocks of {@code n} rows of {@code per} values. */
    private static float[] gather(float[] all, int[] positions, int groups, int n, int per) {
        float[] out = new float[groups * positions.length * per];
        for (int g = 0; g < groups; g++) {
            for (int i = 0; i < positions.length; i++) {
                System.arraycopy(all, (g * n + positions[i]) * per, out, (g * positions.length + i) * per, per);
            }
        }
        return out;
    }

    /** What a resumed run must match: the settings, the image count and classes, and any recorded noise. */
    private JsonObject runDescription(Generator g, GenerationRequest r) {
        JsonObject o = g.info(r).settings();
        o.addProperty("images", r.count());
        JsonArray classesJson = new JsonArray();
        for (int y : r.classes()) classesJson.add(y);
        o.add("classes", classesJson);
        if (r.initialNoise() != null) o.addProperty("noise_sha256", sha256(r.initialNoise()));
        if (r.stepNoise() != null) o.addProperty("step_noise_sha256", sha256(r.stepNoise()));
        if (r.initImage() != null) {
            o.addProperty("init_image_sha256", sha256(r.initImage().pixels().data()));
            if (r.initImage().mask() != null) o.addProperty("mask_sha256", sha256(r.initImage().mask().data()));
        }
        return o;
    }

    private static String sha256(float[] values) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            ByteBuffer b = ByteBuffer.allocate(4096 * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < values.length; i += 4096) {
                b.clear();
                b.asFloatBuffer().put(values, i, Math.min(4096, values.length - i));
                md.update(b.array(), 0, Math.min(4096, values.length - i) * 4);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Where generated batches go: the folder's PNGs, the npz (in image order, images already in the folder read
     * back from it), the grid and the latents. Nothing is left behind unless the run completes, except the
     * folder's images, which are whole and make the next run resume.
     */
    private final class Outputs implements AutoCloseable {
        private final SampleFolder folder;
        private final Path gridFile;
        private final int columns, n, side;
        private final Map<String, String> gridText;
        private final byte[][] gridImages;
        private final ArrayWriter npzOut, latentOut;
        /** Next image index the npz expects. */
        private int npzNext;
        double samplingSeconds, decodeSeconds;

        Outputs(Generator g, GenerationRequest request, SampleFolder folder, Path gridFile, int columns) {
            int c = g.dit().config().inChannels(), latentSide = g.dit().config().inputSize();
            this.folder = folder;
            this.gridFile = gridFile;
            this.columns = columns;
            this.n = request.count();
            this.side = latentSide * g.vae().config().downsamplingFactor();
            this.gridImages = gridFile != null ? new byte[n][] : null;
            this.gridText = gridFile != null ? g.info(request).pngText(g.classLabels(), request.classes(),
                    IntStream.range(0, n).toArray()) : null;
            npzOut = npz != null ? ArrayWriter.npz(npz, "arr_0", DType.U8, n, side, side, 3) : null;
            try {
                latentOut = saveLatent != null ? ArrayWriter.npy(saveLatent, DType.F32, n, c, latentSide, latentSide) : null;
            } catch (RuntimeException e) {
                if (npzOut != null) npzOut.close();
                throw e;
            }
        }

        void accept(int first, GenerationResult b) {
            samplingSeconds += b.samplingSeconds();
            decodeSeconds += b.decodeSeconds();
            for (int i = 0; i < b.count(); i++) {
                int index = b.imageIndex(i);
                byte[] rgb = b.pixels(i);
                if (folder != null) folder.write(index, b.png(i));
                if (npzOut != null) {
                    appendExisting(index);
                    npzOut.append(rgb);
                    npzNext = index + 1;
                }
                if (gridImages != null) gridImages[index] = rgb;
            }
            if (latentOut != null) latentOut.append(b.latents().data());
        }

        /** Appends to the npz the images before {@code index} that an earlier run left in the folder. */
        private void appendExisting(int index) {
            for (; npzNext < index; npzNext++) npzOut.append(existing(npzNext));
        }

        private byte[] existing(int index) {
            Png.Decoded d = folder.read(index);
            if (d.width() != side || d.height() != side || d.channels() != 3) {
                throw new DitjException(folder.file(index) + ": is " + d.width() + "x" + d.height() + "x"
                        + d.channels() + ", expected " + side + "x" + side + "x3 like the rest of the run");
            }
            return d.pixels();
        }

        /** Completes the npz, latents and grid (all written only now, all or nothing). */
        void finish() {
            if (npzOut != null) {
                appendExisting(n);
                npzOut.commit();
            }
            if (latentOut != null) latentOut.commit();
            if (gridImages != null) {
                for (int i = 0; i < n; i++) {
                    if (gridImages[i] == null) gridImages[i] = existing(i);
                }
                byte[] pixels = Pixels.grid(Arrays.asList(gridImages), side, side, 3, columns);
                Png.writeEncoded(gridFile, Png.withText(Png.encode(Pixels.gridWidth(n, side, columns),
                        Pixels.gridHeight(n, side, columns), 3, pixels), gridText));
            }
        }

        @Override
        public void close() {
            if (npzOut != null) npzOut.close();
            if (latentOut != null) latentOut.close();
        }
    }

    /**
     * The class of each image: the requested classes or groups, each repeated --images times, a group's images each
     * drawing a member by (seed, image index); without --class, a default set (see the option).
     */
    private int[] classIds(ClassLabels labels, GenerationDefaults defaults) {
        int perClass = imagesPerClass != null ? imagesPerClass : defaults.imagesPerClass();
        List<ClassGroup> base;
        if (classes != null && !classes.isEmpty()) {
            base = labels.selectAll(classes);
        } else if (!labels.groups().isEmpty()) {
            base = labels.groups();
            if (imagesPerClass == null) perClass = 1;
        } else {
            boolean small = labels.size() <= 16;
            int[] ids = small ? IntStream.range(0, labels.size()).toArray()
                    : labels.size() == 1000 ? new int[] {207, 360, 387, 974, 88, 979, 417, 279} // DiT sample.py's
                    : new int[] {0};
            if (small && imagesPerClass == null) perClass = 1;
            base = Arrays.stream(ids).mapToObj(id -> ClassGroup.of(id, labels.name(id))).toList();
        }
        this.perClass = perClass;
        long total = (long) base.size() * perClass;
        if (total > MAX_IMAGES) {
            throw new InvalidArgumentException("images", "asks for " + base.size() + " x " + perClass + " = " + total
                    + " images; one run makes at most " + MAX_IMAGES);
        }
        int[] ids = new int[(int) total];
        for (int i = 0; i < ids.length; i++) ids[i] = base.get(i / perClass).draw(seed, i);
        return ids;
    }

    private static int parseChannels(String s, int latentChannels) {
        if (s.equalsIgnoreCase("all")) return latentChannels;
        try {
            int n = Integer.parseInt(s.trim());
            if (n >= 1 && n <= latentChannels) return n;
        } catch (NumberFormatException ignored) {
            // fall through to the message
        }
        String range = latentChannels == Integer.MAX_VALUE ? "a channel count >= 1" : "1.." + latentChannels;
        throw new UsageException("--cfg-channels must be " + range + " or all, got '" + s + "'");
    }

    private static String describe(ClassLabels labels, int[] ids) {
        StringBuilder sb = new StringBuilder();
        int[] distinct = Arrays.stream(ids).distinct().limit(9).toArray();
        for (int i = 0; i < distinct.length && i < 8; i++) {
            if (i > 0) sb.append(", ");
            sb.append(labels.hasNames() ? labels.name(distinct[i]) + " (" + distinct[i] + ")" : "class " + distinct[i]);
        }
        if (distinct.length > 8) sb.append(", ...");
        return sb.toString();
    }
}
