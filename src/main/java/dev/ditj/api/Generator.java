package dev.ditj.api;

import dev.ditj.DitjException;
import dev.ditj.InvalidArgumentException;
import dev.ditj.model.Dit;
import dev.ditj.model.DitConfig;
import dev.ditj.model.ModelFamily;
import dev.ditj.model.VaeConfig;
import dev.ditj.model.VaeDecoder;
import dev.ditj.sampling.DdimSampler;
import dev.ditj.sampling.DdpmSampler;
import dev.ditj.sampling.DpmSolverSampler;
import dev.ditj.sampling.Dopri5Sampler;
import dev.ditj.sampling.DpmSolverSchedule;
import dev.ditj.sampling.EulerMaruyamaSampler;
import dev.ditj.sampling.FlowOdeSampler;
import dev.ditj.sampling.FlowSampler;
import dev.ditj.sampling.GaussianDiffusion;
import dev.ditj.sampling.GuidedDit;
import dev.ditj.sampling.InitLatent;
import dev.ditj.sampling.NoiseSource;
import dev.ditj.sampling.RepaSampler;
import dev.ditj.sampling.Sampler;
import dev.ditj.sampling.StepListener;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Precision;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.ModelFiles;
import dev.ditj.weights.WeightStore;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Class-conditional image generation: a DiT and a VAE decoder loaded once onto one backend, then any number of
 * {@link #generate} calls. Runs of any size are sampled in micro-batches, so memory does not grow with the number
 * of images when they are streamed to a {@link BatchSink}. Thread-safe: concurrent calls run one after another on
 * the shared backend; a thread interrupted while it generates (or waits its turn) gets a {@link DitjException}
 * and leaves the generator usable.
 *
 * <p>A DiT may come with a guide model for autoguidance (see {@link GuidedDit}): a smaller, less trained DiT of the
 * same classes and latents, named by the model's generation defaults ({@code guide_model}, a file beside it) or given
 * to {@link #load(Path, Path, Path, Backend, Precision)}; {@link GenerationRequest#guideScale()} weighs it.
 *
 * <pre>{@code
 * try (Generator g = Generator.load(Path.of("dit.safetensors"), Path.of("vae.safetensors"), Backend.AUTO)) {
 *     GenerationResult r = g.generate(GenerationRequest.builder(207, 360).seed(42).build());
 *     Files.write(Path.of("out.png"), r.gridPng());
 * }
 * }</pre>
 */
public final class Generator implements AutoCloseable {
    /** The most images {@link #defaultBatchSize()} puts in one micro-batch. */
    public static final int MAX_DEFAULT_BATCH = 32;

    private final Ops ops;
    private final boolean ownsOps;
    private final DitModel dit;
    private final VaeModel vae;
    /** The autoguidance model, or null. */
    private final DitModel guide;
    private final ReentrantLock lock = new ReentrantLock();

    /** Receives the images of a run batch by batch, in order; {@code first} is the batch's first position. */
    @FunctionalInterface
    public interface BatchSink {
        void accept(int first, GenerationResult batch);
    }

    private Generator(Ops ops, boolean ownsOps, DitModel dit, VaeModel vae, DitModel guide) {
        this.ops = ops;
        this.ownsOps = ownsOps;
        this.dit = dit;
        this.vae = vae;
        this.guide = guide;
        int lc = vae.config().latentChannels(), ic = dit.config().inChannels();
        if (lc != ic) {
            throw new DitjException("the VAE " + vae.file() + " has " + lc + " latent channels but the DiT "
                    + dit.file() + " expects " + ic);
        }
        if (!vae.hasDecoder()) throw new DitjException(vae.file() + ": this VAE file holds no decoder (encoder only)");
    }

    public static Generator load(Path ditFile, Path vaeFile, Backend backend) {
        return load(ditFile, vaeFile, backend, null);
    }

    /** A generator on a new {@code backend} computing in {@code precision} (null = the backend's default). */
    public static Generator load(Path ditFile, Path vaeFile, Backend backend, Precision precision) {
        return load(ditFile, vaeFile, null, backend, precision);
    }

    /**
     * A generator whose DiT is autoguided by {@code guideFile} (null: the guide the DiT's generation defaults name,
     * if any) on a new {@code backend} computing in {@code precision} (null = the backend's default).
     */
    public static Generator load(Path ditFile, Path vaeFile, Path guideFile, Backend backend, Precision precision) {
        Ops ops = backend.open(precision);
        try {
            return load(ditFile, vaeFile, guideFile, ops, true);
        } catch (RuntimeException e) {
            ops.close();
            throw e;
        }
    }

    /** A generator on a backend the caller keeps owning (closing the generator does not close {@code ops}). */
    public static Generator load(Path ditFile, Path vaeFile, Ops ops) {
        return load(ditFile, vaeFile, null, ops, false);
    }

    private static Generator load(Path ditFile, Path vaeFile, Path guideFile, Ops ops, boolean ownsOps) {
        Path guidePath = guideFile != null ? guideFile : defaultGuide(ditFile);
        checkMemory(ditFile, vaeFile, guidePath, ops);
        DitModel d = DitModel.load(ditFile, ops), g = null;
        try {
            if (guidePath != null) g = loadGuide(d, guidePath, ops);
            return new Generator(ops, ownsOps, d, VaeModel.load(vaeFile, ops), g);
        } catch (RuntimeException e) {
            d.close();
            if (g != null) g.close();
            throw e;
        }
    }

    /** The guide model a DiT file's generation defaults name (a file beside it), or null. */
    private static Path defaultGuide(Path ditFile) {
        String name;
        try (WeightStore w = WeightStore.open(ditFile)) {
            String d = w.metadata().get(ModelFiles.GENERATE_DEFAULTS_KEY);
            name = d == null ? null : GenerationDefaults.parse(d, ditFile.toString(), w.family()).guideModel();
        }
        if (name == null) return null;
        Path p = ditFile.toAbsolutePath().resolveSibling(name);
        if (!Files.isRegularFile(p)) {
            throw new DitjException(ditFile + ": its generation defaults name the guide model " + name + ", which is "
                    + "not beside it; put it there or give another guide model");
        }
        return p;
    }

    private static DitModel loadGuide(DitModel dit, Path file, Ops ops) {
        DitModel g = DitModel.load(file, ops);
        String why = dit.family().isFlow() || g.family().isFlow() ? "autoguidance is for DiT (noise-prediction) models"
                : GuidedDit.guideMismatch(dit.config(), g.config());
        if (why != null) {
            g.close();
            throw new DitjException("guide model " + file + " cannot guide " + dit.file() + ": " + why);
        }
        return g;
    }

    /** All models, and sampling and decoding one guided image, must fit before any model is loaded. */
    private static void checkMemory(Path ditFile, Path vaeFile, Path guideFile, Ops ops) {
        try (WeightStore dit = WeightStore.open(ditFile); WeightStore vae = WeightStore.open(vaeFile);
             WeightStore guide = guideFile == null ? null : WeightStore.open(guideFile)) {
            DitConfig c = dit.ditConfig();
            DitConfig g = guide == null ? null : guide.ditConfig();
            long loading = Math.max(Dit.loadingBytes(c, dit), vae.loadingBytes());
            if (guide != null) loading = Math.max(loading, Dit.loadingBytes(g, guide));
            ops.checkMemory(ditFile + " + " + vaeFile + (guide == null ? "" : " + " + guideFile),
                    dit.floatBytes() + vae.floatBytes() + (guide == null ? 0 : guide.floatBytes()),
                    loading + bytesPerImage(c, vae.vaeConfig(), g));
        }
    }

    public DitModel dit() {
        return dit;
    }

    public VaeModel vae() {
        return vae;
    }

    /** The autoguidance model, or null. */
    public DitModel guide() {
        return guide;
    }

    /**
     * Encodes images {@code [B, 3, H, W]} in [-1, 1] into the DiT's latent space with the VAE's encoder: the
     * distribution's mean, or a sample of it with {@code noise} (null: the mean); see {@link VaeModel#encode}.
     */
    public VaeModel.Encoded encode(HostTensor images, NoiseSource noise) {
        return vae.encode(images, noise);
    }

    public ClassLabels classLabels() {
        return dit.classLabels();
    }

    /** The arithmetic of the heavy ops (fp32, or bf16 tensor cores on CUDA). */
    public Precision precision() {
        return ops.precision();
    }

    /** The backend's name ("cpu", ...). */
    public String backendName() {
        return ops.name();
    }

    /**
     * Images per micro-batch when the caller does not choose: as many as fit in half the memory the backend has
     * free (activations of the guided DiT and of the VAE decoder), at most {@link #MAX_DEFAULT_BATCH}.
     */
    public int defaultBatchSize() {
        long perImage = bytesPerImage();
        long fit = ops.memoryAvailable() / 2 / Math.max(1, perImage);
        return (int) Math.max(1, Math.min(MAX_DEFAULT_BATCH, fit));
    }

    /** Working memory of one image in a micro-batch: guided DiT activations, latents and the decoded image. */
    long bytesPerImage() {
        return bytesPerImage(dit.config(), vae.config(), guide == null ? null : guide.config());
    }

    /**
     * Samplers also make conditional passes of N images outside a guidance interval: one more workspace; a guide
     * (null: none) its own workspace and three outputs.
     */
    private static long bytesPerImage(DitConfig c, VaeConfig v, DitConfig guide) {
        int side = c.inputSize(), f = v.downsamplingFactor();
        long ditBytes = Dit.workspaceBytes(c, 3) + 4L * 4 * c.outChannels() * side * side
                + (guide == null ? 0 : Dit.workspaceBytes(guide, 1) + 4L * 4 * c.outChannels() * side * side);
        long vaeBytes = VaeDecoder.workspaceBytes(v, 1, side, side) + 4L * 2 * v.outChannels() * side * f * side * f;
        return ditBytes + vaeBytes;
    }

    /**
     * Checks what depends on the model: class ids in range, guided channels, recorded noise sizes. Throws an
     * {@link InvalidArgumentException} naming the request field; nothing has run yet.
     */
    public void check(GenerationRequest r) {
        DitConfig c = dit.config();
        if (r.sampler().flow != dit.family().isFlow()) {
            throw new InvalidArgumentException("sampler", r.sampler().cliName + " does not sample " + dit.name() + " ("
                    + dit.file().getFileName() + "): use " + (dit.family().isFlow()
                    ? "euler, heun, dopri5 or euler-maruyama for a flow (velocity) model"
                    : "ddpm, ddim or dpmpp2m for a DiT"));
        }
        boolean repa = dit.family() == ModelFamily.REPA;
        if (repa && r.sampler() == SamplerKind.DOPRI5) {
            throw new InvalidArgumentException("sampler", "dopri5 is not one of REPA's samplers (samplers.py): use euler, "
                    + "heun or euler-maruyama for " + dit.file().getFileName());
        }
        if (repa && r.timeShift() != 0) {
            throw new InvalidArgumentException("timeShift", "is not one of REPA's sampler settings (samplers.py): it "
                    + "applies to SiT and LightningDiT models, not " + dit.file().getFileName());
        }
        if (r.guideScale() != 0 && r.guideScale() != 1f && guide == null) {
            throw new InvalidArgumentException("guideScale", "needs a guide model (autoguidance); "
                    + dit.file().getFileName() + " has none");
        }
        if (guide != null && r.guideScale() == 0 && dit.generationDefaults().guideModel() == null) {
            throw new InvalidArgumentException("guideScale", "must be given for the guide model "
                    + guide.file().getFileName() + " (" + dit.file().getFileName() + " stores no weight for one)");
        }
        for (int y : r.classes()) {
            if (y >= c.numClasses()) {
                throw new InvalidArgumentException("classes", "must be in 0.." + (c.numClasses() - 1) + " for "
                        + dit.file().getFileName() + ", got " + y);
            }
        }
        int ch = c.inChannels();
        if (r.guidedChannels() > ch) {
            throw new InvalidArgumentException("guidedChannels", "must be 1.." + ch + " for a " + ch
                    + "-channel latent, got " + r.guidedChannels());
        }
        long perImage = (long) ch * c.inputSize() * c.inputSize(), n = r.count();
        checkLength("initialNoise", r.initialNoise(), n * perImage, "[" + n + ", " + ch + ", " + c.inputSize()
                + ", " + c.inputSize() + "]");
        int noiseSteps = r.sampler().noiseSteps(r.steps());
        if (noiseSteps == 0 && r.stepNoise() != null) {
            throw new InvalidArgumentException("stepNoise", r.sampler().cliName + " draws no step noise");
        }
        checkLength("stepNoise", r.stepNoise(), (long) noiseSteps * n * perImage, "[" + noiseSteps + ", " + n + ", "
                + ch + ", " + c.inputSize() + ", " + c.inputSize() + "]");
        if (r.initImage() != null) checkInitImage(r, r.initImage());
    }

    /** The picture fits the model (size, channels, count), the VAE can encode it, the strength keeps a step. */
    private void checkInitImage(GenerationRequest r, InitImage init) {
        int side = dit.config().inputSize(), pixelSide = side * vae.config().downsamplingFactor();
        if (init.count() != 1 && init.count() != r.count()) {
            throw new InvalidArgumentException("initImage", "holds " + init.count() + " pictures; give one for all "
                    + "images or one per image (" + r.count() + ")");
        }
        if (init.pixels() != null) {
            vae.requireEncoder();
            Shape s = init.pixels().shape();
            if (s.dim(2) != pixelSide || s.dim(3) != pixelSide) {
                throw new InvalidArgumentException("initImage", "is " + s.dim(3) + "x" + s.dim(2) + " pixels, but "
                        + dit.file().getFileName() + " with " + vae.file().getFileName() + " takes " + pixelSide + "x"
                        + pixelSide + " images");
            }
        } else {
            Shape s = init.latents().shape();
            int ch = dit.config().inChannels();
            if (s.dim(1) != ch || s.dim(2) != side || s.dim(3) != side) {
                throw new InvalidArgumentException("initImage", "latents are " + s + ", but " + dit.file().getFileName()
                        + " takes [P, " + ch + ", " + side + ", " + side + "]");
            }
        }
        if (init.mask() != null) {
            Shape m = init.mask().shape();
            boolean ok = m.dim(2) == m.dim(3) && (m.dim(2) == pixelSide || m.dim(2) == side);
            if (!ok) {
                throw new InvalidArgumentException("mask", "is " + m.dim(3) + "x" + m.dim(2) + ", but the picture is "
                        + pixelSide + "x" + pixelSide + " pixels (" + side + "x" + side + " latents)");
            }
            if (r.sampler() == SamplerKind.DOPRI5) {
                throw new InvalidArgumentException("mask", "needs a fixed-step sampler: dopri5 chooses its own steps; "
                        + "use euler, heun or euler-maruyama");
            }
        }
        InitLatent.firstStep(r.sampler().flow ? flowSampler(r, info(r)).scheduleSteps() : sampler(r).steps(),
                init.strength());
    }

    private static void checkLength(String what, float[] values, long expected, String shape) {
        if (values != null && values.length != expected) {
            throw new InvalidArgumentException(what, "has " + values.length + " values, expected " + expected
                    + " " + shape);
        }
    }

    /** How the images of {@code r} are made, as stored in their PNGs. */
    public GenerationInfo info(GenerationRequest r) {
        DitConfig c = dit.config();
        int side = c.inputSize() * vae.config().downsamplingFactor();
        return new GenerationInfo(dit.file().getFileName().toString(), dit.sourceSha256(),
                vae.file().getFileName().toString(), vae.sourceSha256(), r.seed(), r.sampler(), r.steps(),
                r.respacing(), r.cfgScale(), guidedChannels(r), r.ddimEta(), ops.precision().label(), ops.name(), side, side,
                guidanceInterval(r), timeShift(r), r.initImage() == null ? 0 : r.initImage().strength(),
                r.initImage() != null && r.initImage().mask() != null,
                guideScale(r) == 1f ? null : guide.file().getFileName().toString(),
                guideScale(r) == 1f ? null : guide.sourceSha256(), guideScale(r));
    }

    /** The autoguidance weight of {@code r}: the request's, else the model's default for its guide; 1 without a guide. */
    private float guideScale(GenerationRequest r) {
        if (guide == null) return 1f;
        return r.guideScale() != 0 ? r.guideScale() : dit.generationDefaults().guideScale();
    }

    /**
     * The guidance interval of {@code r}: the request's, else the model's default, else (REPA, which always reports
     * it) every step; null for guidance at every step.
     */
    private GuidanceInterval guidanceInterval(GenerationRequest r) {
        if (r.guidanceInterval() != null) return r.guidanceInterval();
        GuidanceInterval stored = dit.generationDefaults().guidanceInterval();
        return stored != null ? stored : dit.family() == ModelFamily.REPA ? GuidanceInterval.ALWAYS : null;
    }

    /**
     * The timestep shift of {@code r}'s ODE grid: the request's, else the model's default, for euler, heun and
     * dopri5 on SiT-convention models (LightningDiT's sample_ode); 1 (none) otherwise.
     */
    private double timeShift(GenerationRequest r) {
        boolean ode = r.sampler().flow && r.sampler() != SamplerKind.EULER_MARUYAMA;
        if (!ode || dit.family() == ModelFamily.REPA) return 1;
        return r.timeShift() != 0 ? r.timeShift() : dit.generationDefaults().timeShift();
    }

    /** The scale the model guides with: REPA's samplers and LightningDiT's inference.py guide only when {@code cfg_scale > 1}. */
    private float modelScale(GenerationRequest r) {
        boolean above1Only = dit.family() == ModelFamily.REPA || dit.family() == ModelFamily.LIGHTNINGDIT;
        return above1Only && !(r.cfgScale() > 1f) ? 1f : r.cfgScale();
    }

    private int guidedChannels(GenerationRequest r) {
        int ch = dit.config().inChannels();
        if (modelScale(r) == 1f && guideScale(r) == 1f) return 0;
        int modelGuided = dit.generationDefaults().guidedChannels(ch);
        return r.guidedChannels() > 0 ? r.guidedChannels() : modelGuided > 0 ? modelGuided
                : dit.family() == ModelFamily.REPA ? ch : r.sampler().defaultGuidedChannels(ch);
    }

    /** All images of {@code r} in one result (micro-batched with {@link #defaultBatchSize()}). */
    public GenerationResult generate(GenerationRequest request) {
        return generate(request, StepListener.NONE);
    }

    /**
     * All images of {@code r} in one result; {@code listener} hears (image-steps done, image-steps in all) after
     * every sampler step. For runs too large to hold in memory, stream them with
     * {@link #generate(GenerationRequest, int, BatchSink, StepListener)}.
     */
    public GenerationResult generate(GenerationRequest r, StepListener listener) {
        int n = r.count();
        Accumulator all = new Accumulator(n);
        generate(r, 0, all, listener);
        return all.result(info(r), classLabels(), r);
    }

    /**
     * Generates the images of {@code r} in micro-batches of {@code batchSize} (0 = {@link #defaultBatchSize()}) and
     * hands each batch to {@code sink} as soon as it is decoded; {@code listener} hears (image-steps done,
     * image-steps in all). Every image is the same whatever the batch size (its noise depends only on the seed and
     * its image index), except with dopri5, whose steps follow the error of the whole batch (as the official code).
     */
    public void generate(GenerationRequest r, int batchSize, BatchSink sink, StepListener listener) {
        if (batchSize < 0) throw new InvalidArgumentException("batchSize", "must be >= 1 (0 = automatic), got " + batchSize);
        check(r);
        try {
            lock.lockInterruptibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DitjException("generation interrupted");
        }
        try {
            int batch = batchSize > 0 ? batchSize : defaultBatchSize();
            GenerationInfo info = info(r);
            HostTensor pictures = pictureLatents(r.initImage());
            int n = r.count();
            long total = (long) n * r.steps();
            for (int first = 0; first < n; first += batch) {
                int count = Math.min(batch, n - first);
                long before = (long) first * r.steps();
                StepListener progress = (done, steps) -> {
                    if (Thread.currentThread().isInterrupted()) throw new DitjException("generation interrupted");
                    listener.stepDone(Math.toIntExact(Math.min(Integer.MAX_VALUE, before + (long) done * count)),
                            (int) Math.min(Integer.MAX_VALUE, total));
                };
                sink.accept(first, generateBatch(r, first, count, info, pictures, progress));
            }
        } finally {
            lock.unlock();
        }
    }

    /** The latents {@code [P, C, I, I]} of an image-to-image request's pictures (encoded once per run), or null. */
    private HostTensor pictureLatents(InitImage init) {
        if (init == null) return null;
        return init.latents() != null ? init.latents() : vae.encode(init.pixels(), null).latent();
    }

    /**
     * Images {@code first .. first + count - 1} of {@code r}, as one batch on the backend; {@code pictures}: the
     * latents of an image-to-image request's pictures, or null.
     */
    private GenerationResult generateBatch(GenerationRequest r, int first, int count, GenerationInfo info,
                                           HostTensor pictures, StepListener listener) {
        DitConfig c = dit.config();
        int ch = c.inChannels(), side = c.inputSize(), perImage = ch * side * side;
        int[] classes = Arrays.copyOfRange(r.classes(), first, first + count);
        int[] indices = new int[count];
        for (int i = 0; i < count; i++) indices[i] = r.imageIndex(first + i);
        NoiseSource noise = NoiseSource.recorded(r.initialNoise(), r.stepNoise(), first, r.count(),
                NoiseSource.seeded(r.seed(), indices));
        // The DiT's activations are still held while the VAE decodes: check both fit before sampling starts.
        ops.checkMemory(dit.file() + " with a batch of " + count + " images", 0, count * bytesPerImage());
        float[] xT = new float[Math.multiplyExact(count, perImage)];
        noise.initial(xT, count, perImage);
        long t0 = System.nanoTime();
        HostTensor latents = null;
        HostTensor images;
        long t1;
        try (GuidedDit model = new GuidedDit(dit.dit(), classes, modelScale(r), Math.max(1, info.guidedChannels()));
             Tensor x = ops.upload(new HostTensor(Shape.of(stateImages(model, r), ch, side, side), state(xT, model, r)));
             Tensor sample = ops.view(x, Shape.of(count, ch, side, side));
             InitLatent init = initLatent(r, pictures, first, count, model, x.shape())) {
            if (r.sampler().flow) {
                flowSampler(r, info).run(ops, model, x, noise, listener, init);
            } else {
                if (info.guidanceInterval() != null) model.guideOnly(info.guidanceInterval().low(), info.guidanceInterval().high());
                if (info.guide() != null) model.autoguide(guide.dit(), info.guideScale());
                sampler(r).run(ops, model, x, noise, listener, init);
            }
            ops.synchronize();
            t1 = System.nanoTime();
            if (r.keepLatent()) latents = new HostTensor(sample.shape(), ops.read(sample));
            images = vae.decode(sample);
        }
        long t2 = System.nanoTime();
        return new GenerationResult(images, latents, t1 - t0, t2 - t1, info, classLabels(), classes, indices);
    }

    /**
     * The picture of each image of the batch (one for all, or one per request position) and the mask, uploaded in
     * the shape of the sampler's state; null without a picture.
     */
    private InitLatent initLatent(GenerationRequest r, HostTensor pictures, int first, int count, GuidedDit model,
                                  Shape state) {
        if (pictures == null) return null;
        InitImage init = r.initImage();
        int perImage = Math.toIntExact(pictures.shape().numelFrom(1)), side = dit.config().inputSize();
        float[] x0 = new float[Math.multiplyExact(count, perImage)];
        for (int i = 0; i < count; i++) {
            int p = pictures.shape().dim(0) == 1 ? 0 : first + i;
            System.arraycopy(pictures.data(), p * perImage, x0, i * perImage, perImage);
        }
        Tensor x0t = ops.upload(new HostTensor(state, state(x0, model, r)));
        if (init.mask() == null) return new InitLatent(ops, x0t, null, init.strength());
        float[] plane = init.latentMask(side), m = new float[Math.toIntExact(state.numel())];
        for (int k = 0; k < m.length; k += plane.length) System.arraycopy(plane, 0, m, k, plane.length);
        try {
            return new InitLatent(ops, x0t, ops.upload(new HostTensor(state, m)), init.strength());
        } catch (RuntimeException e) {
            x0t.close();
            throw e;
        }
    }

    /**
     * Images in the sampler's state: SiT's and LightningDiT's dopri5 integrates their doubled batch when guided, as
     * its error norm covers it (see VelocityField); the other samplers' results do not depend on that second half.
     */
    private int stateImages(GuidedDit model, GenerationRequest r) {
        boolean sitTransport = dit.family() == ModelFamily.SIT || dit.family() == ModelFamily.LIGHTNINGDIT;
        return r.sampler() == SamplerKind.DOPRI5 && sitTransport ? model.stateImages() : model.images();
    }

    /** The initial state: x_T, twice over for a doubled flow state ({@code [z; z]}, as SiT's sample.py). */
    private float[] state(float[] xT, GuidedDit model, GenerationRequest r) {
        if (stateImages(model, r) == model.images()) return xT;
        float[] s = Arrays.copyOf(xT, 2 * xT.length);
        System.arraycopy(xT, 0, s, xT.length, xT.length);
        return s;
    }

    private FlowSampler flowSampler(GenerationRequest r, GenerationInfo info) {
        if (dit.family() == ModelFamily.REPA) {
            RepaSampler.Method m = r.sampler() == SamplerKind.EULER ? RepaSampler.Method.EULER
                    : r.sampler() == SamplerKind.HEUN ? RepaSampler.Method.HEUN : RepaSampler.Method.EULER_MARUYAMA;
            GuidanceInterval g = info.guidanceInterval();
            return new RepaSampler(m, r.steps(), modelScale(r) > 1f, g.low(), g.high());
        }
        // guidance at float32 times in [low, high], as LightningDiT's float32 comparison with cfg_interval_start
        GuidanceInterval g = info.guidanceInterval();
        float from = g == null ? Float.NEGATIVE_INFINITY : (float) g.low(), to = g == null ? Float.POSITIVE_INFINITY : (float) g.high();
        double shift = info.timeShift();
        switch (r.sampler()) {
            case EULER: return new FlowOdeSampler(r.steps(), false, shift, from, to);
            case HEUN: return new FlowOdeSampler(r.steps(), true, shift, from, to);
            case DOPRI5: return new Dopri5Sampler(r.steps(), shift, from, to);
            case EULER_MARUYAMA: return new EulerMaruyamaSampler(r.steps(), from, to);
            default: throw new IllegalArgumentException(r.sampler() + " is not a flow sampler");
        }
    }

    private static Sampler sampler(GenerationRequest r) {
        switch (r.sampler()) {
            case DDPM:
                return new DdpmSampler(GaussianDiffusion.create(respacing(r)));
            case DDIM:
                return new DdimSampler(GaussianDiffusion.create(respacing(r)), r.ddimEta());
            case DPMPP2M:
            default:
                return new DpmSolverSampler(new DpmSolverSchedule(r.steps()));
        }
    }

    private static String respacing(GenerationRequest r) {
        return r.respacing() != null ? r.respacing() : Integer.toString(r.steps());
    }

    /** Collects streamed batches into one result (the in-memory {@link #generate(GenerationRequest)}). */
    private static final class Accumulator implements BatchSink {
        private final int n;
        private float[] images, latents;
        private Shape imageShape, latentShape;
        private long samplingNanos, decodeNanos;

        Accumulator(int n) {
            this.n = n;
        }

        @Override
        public void accept(int first, GenerationResult b) {
            images = append(images, b.images(), first);
            if (imageShape == null) imageShape = withBatch(b.images().shape(), n);
            if (b.latents() != null) {
                latents = append(latents, b.latents(), first);
                if (latentShape == null) latentShape = withBatch(b.latents().shape(), n);
            }
            samplingNanos += (long) (b.samplingSeconds() * 1e9);
            decodeNanos += (long) (b.decodeSeconds() * 1e9);
        }

        private float[] append(float[] all, HostTensor part, int first) {
            int per = Math.toIntExact(part.shape().numel() / part.shape().dim(0));
            if (all == null) {
                long size = (long) n * per;
                if (size > Integer.MAX_VALUE - 8) {
                    throw new DitjException(n + " images do not fit in one result; stream them with a BatchSink");
                }
                all = new float[(int) size];
            }
            System.arraycopy(part.data(), 0, all, first * per, part.data().length);
            return all;
        }

        private static Shape withBatch(Shape s, int n) {
            int[] d = s.dims();
            d[0] = n;
            return Shape.of(d);
        }

        GenerationResult result(GenerationInfo info, ClassLabels labels, GenerationRequest r) {
            int[] indices = new int[n];
            for (int i = 0; i < n; i++) indices[i] = r.imageIndex(i);
            return new GenerationResult(new HostTensor(imageShape, images),
                    latents == null ? null : new HostTensor(latentShape, latents), samplingNanos, decodeNanos, info,
                    labels, r.classes(), indices);
        }
    }

    @Override
    public void close() {
        dit.close();
        vae.close();
        if (guide != null) guide.close();
        if (ownsOps) ops.close();
    }
}
