package dev.ditj.api;

import dev.ditj.DitjException;
import dev.ditj.model.Dit;
import dev.ditj.model.DitConfig;
import dev.ditj.model.VaeDecoder;
import dev.ditj.sampling.DdimSampler;
import dev.ditj.sampling.DdpmSampler;
import dev.ditj.sampling.DpmSolverSampler;
import dev.ditj.sampling.DpmSolverSchedule;
import dev.ditj.sampling.GaussianDiffusion;
import dev.ditj.sampling.GuidedDit;
import dev.ditj.sampling.NoiseSource;
import dev.ditj.sampling.Sampler;
import dev.ditj.sampling.StepListener;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;

import java.nio.file.Path;

/**
 * Class-conditional image generation: a DiT and a VAE decoder loaded once onto one backend, then any number of
 * {@link #generate} calls. Thread-safe: concurrent calls run one after another on the shared backend.
 *
 * <pre>{@code
 * try (Generator g = Generator.load(Path.of("dit.safetensors"), Path.of("vae.safetensors"), Backend.AUTO)) {
 *     GenerationResult r = g.generate(GenerationRequest.builder(207, 360).seed(42).build());
 *     Files.write(Path.of("out.png"), r.gridPng());
 * }
 * }</pre>
 */
public final class Generator implements AutoCloseable {
    private final Ops ops;
    private final boolean ownsOps;
    private final DitModel dit;
    private final VaeModel vae;

    private Generator(Ops ops, boolean ownsOps, DitModel dit, VaeModel vae) {
        this.ops = ops;
        this.ownsOps = ownsOps;
        this.dit = dit;
        this.vae = vae;
        int lc = vae.config().latentChannels(), ic = dit.config().inChannels();
        if (lc != ic) {
            throw new DitjException("the VAE " + vae.file() + " has " + lc + " latent channels but the DiT "
                    + dit.file() + " expects " + ic);
        }
    }

    public static Generator load(Path ditFile, Path vaeFile, Backend backend) {
        Ops ops = backend.open();
        try {
            return load(ditFile, vaeFile, ops, true);
        } catch (RuntimeException e) {
            ops.close();
            throw e;
        }
    }

    /** A generator on a backend the caller keeps owning (closing the generator does not close {@code ops}). */
    public static Generator load(Path ditFile, Path vaeFile, Ops ops) {
        return load(ditFile, vaeFile, ops, false);
    }

    private static Generator load(Path ditFile, Path vaeFile, Ops ops, boolean ownsOps) {
        checkMemory(ditFile, vaeFile, ops);
        DitModel d = DitModel.load(ditFile, ops);
        try {
            return new Generator(ops, ownsOps, d, VaeModel.load(vaeFile, ops));
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
    }

    /** Both models, and sampling and decoding one guided image, must fit before either model is loaded. */
    private static void checkMemory(Path ditFile, Path vaeFile, Ops ops) {
        try (WeightStore dit = WeightStore.open(ditFile); WeightStore vae = WeightStore.open(vaeFile)) {
            DitConfig c = dit.ditConfig();
            int s = c.inputSize();
            ops.checkMemory(ditFile + " + " + vaeFile, dit.floatBytes() + vae.floatBytes(),
                    Math.max(dit.loadingBytes(), vae.loadingBytes()) + Dit.activationBytes(c, 2)
                            + VaeDecoder.activationBytes(vae.vaeConfig(), 1, s, s));
        }
    }

    public DitModel dit() {
        return dit;
    }

    public VaeModel vae() {
        return vae;
    }

    public ClassLabels classLabels() {
        return dit.classLabels();
    }

    /** The backend's name ("cpu", ...). */
    public String backendName() {
        return ops.name();
    }

    public GenerationResult generate(GenerationRequest request) {
        return generate(request, StepListener.NONE);
    }

    public synchronized GenerationResult generate(GenerationRequest r, StepListener listener) {
        DitConfig c = dit.config();
        int n = r.classes().length, ch = c.inChannels(), side = c.inputSize(), perImage = ch * side * side;
        for (int y : r.classes()) {
            if (y < 0 || y >= c.numClasses()) {
                throw new DitjException("class " + y + " is out of range: the model has classes 0.." + (c.numClasses() - 1));
            }
        }
        Sampler sampler = sampler(r);
        int modelGuided = dit.generationDefaults().guidedChannels(ch);
        int guided = r.guidedChannels() > 0 ? r.guidedChannels()
                : modelGuided > 0 ? modelGuided : r.sampler().defaultGuidedChannels(ch);
        if (guided > ch) throw new DitjException("cannot guide " + guided + " channels of a " + ch + "-channel latent");
        checkLength("initial noise", r.initialNoise(), (long) n * perImage);
        checkLength("step noise", r.stepNoise(), (long) sampler.steps() * n * perImage);
        NoiseSource noise = NoiseSource.recorded(r.initialNoise(), r.stepNoise(), NoiseSource.seeded(r.seed()));

        // The DiT's activations are still held while the VAE decodes: check both fit before sampling starts.
        ops.checkMemory(dit.file() + " with " + n + " images", 0, Dit.activationBytes(c, r.cfgScale() != 1f ? 2 * n : n)
                + VaeDecoder.activationBytes(vae.config(), n, side, side));
        float[] xT = new float[n * perImage];
        noise.initial(xT, n, perImage);
        long t0 = System.nanoTime();
        HostTensor latents = null;
        HostTensor images;
        long t1;
        try (Tensor x = ops.upload(new HostTensor(Shape.of(n, ch, side, side), xT));
             GuidedDit model = new GuidedDit(dit.dit(), r.classes(), r.cfgScale(), guided)) {
            sampler.run(ops, model, x, noise, listener);
            ops.synchronize();
            t1 = System.nanoTime();
            if (r.keepLatent()) latents = new HostTensor(x.shape(), ops.read(x));
            images = vae.decode(x);
        }
        long t2 = System.nanoTime();
        return new GenerationResult(images, latents, t1 - t0, t2 - t1);
    }

    private static void checkLength(String what, float[] values, long expected) {
        if (values != null && values.length != expected) {
            throw new DitjException(what + " has " + values.length + " values, expected " + expected);
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
        if (r.respacing() == null) return Integer.toString(r.steps());
        GaussianDiffusion d = GaussianDiffusion.create(r.respacing());
        if (d.steps() != r.steps()) {
            throw new DitjException("respacing '" + r.respacing() + "' has " + d.steps() + " steps, but " + r.steps()
                    + " were requested");
        }
        return r.respacing();
    }

    @Override
    public void close() {
        dit.close();
        vae.close();
        if (ownsOps) ops.close();
    }
}
