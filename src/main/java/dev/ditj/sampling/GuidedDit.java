package dev.ditj.sampling;

import dev.ditj.model.Dit;
import dev.ditj.model.DitConfig;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;

/**
 * A DiT as a {@link Denoiser} for N images with class labels, with classifier-free guidance when the scale is not
 * 1: the model runs on {@code [x; x]} with labels {@code [y; null]} and the first {@code guidedChannels} channels of
 * the prediction become {@code u + scale·(c - u)}; the other channels (and the learned variance) are the
 * conditional ones. With 3 guided channels this is bit-identical, for the kept half, to the official
 * {@code forward_with_cfg}; with all C channels it is diffusers' DiTPipeline.
 *
 * <p>For a flow model it is the {@link VelocityField} of SiT's sample.py and LightningDiT's inference.py: on the
 * official doubled state {@code [x; x']} (only its first half is fed to the model, as forward_with_cfg does) the
 * velocity is forward_with_cfg's whole output, the learned-sigma half dropped as SiT's forward does; on z alone
 * ({@code [N, ...]}, see {@link VelocityField}) N guided velocities, or N conditional ones from a pass over N images
 * (its buffers made on first use).
 *
 * <p>With a guide model ({@link #autoguide}: autoguidance, Karras et al. 2024, "Guiding a diffusion model with a
 * bad version of itself") the DiT samplers' guided steps also run the guide, a smaller and less trained DiT of the
 * same classes and latents, on the N conditional inputs, and the guided channels become
 * {@code c + (s - 1)·(c - u) + (w - 1)·(c - b)}: classifier-free guidance with scale s plus the pull of weight w
 * away from the guide's prediction b, which points from where the weak model errs to where the strong one is sure
 * (sharper images; CFG alone mainly makes them more typical of their class).
 */
public final class GuidedDit implements Denoiser, VelocityField, AutoCloseable {
    private final Dit dit;
    private final Ops ops;
    private final int images, batch, guidedChannels;
    private final float scale;
    private final Dit.Workspace workspace;
    private final Tensor input, timesteps, labels;
    /** Ones, [batch]: a velocity's time t is written on the device as t·1 + 0·1, no host copy per model call. */
    private final Tensor ones;
    /** The model output: allocated when guided, or on first use by an unguided velocity with learned sigma. */
    private Tensor output;
    /** The timesteps of every step of the current loop, [steps, batch], uploaded by {@link #prepare}. */
    private Tensor timestepTable;
    /** The conditional-only pass of a guided model: its workspace, inputs, and a velocity's output with a sigma half. */
    private Dit.Workspace conditional;
    private Tensor conditionalTimes, conditionalOnes, conditionalLabels, conditionalOutput;
    private final int[] classLabels;
    /** DiT samplers: guidance only at steps whose timestep lies in [guideFrom, guideTo]; a conditional pass elsewhere. */
    private double guideFrom = Double.NEGATIVE_INFINITY, guideTo = Double.POSITIVE_INFINITY;
    /** Per step of the current loop (see {@link #prepare}): whether it is guided. */
    private boolean[] guidedStep;
    /** Autoguidance: the guide, its weight, workspace and inputs, its output, [c; b], its c half, the combined term. */
    private Dit guide;
    private float guideScale = 1f;
    private Dit.Workspace guideWorkspace;
    private Tensor guideTimes, guideLabels, guideOut, guidePair, guideCond, guideTerm;

    public GuidedDit(Dit dit, int[] classLabels, float scale, int guidedChannels) {
        this.dit = dit;
        this.ops = dit.ops();
        this.images = classLabels.length;
        this.classLabels = classLabels.clone();
        this.scale = scale;
        this.guidedChannels = guidedChannels;
        boolean guided = isGuided();
        this.batch = guided ? 2 * images : images;
        int c = dit.config().inChannels(), s = dit.config().inputSize();
        workspace = dit.workspace(batch);
        input = guided ? ops.alloc(Shape.of(batch, c, s, s)) : null;
        output = guided ? ops.alloc(Shape.of(batch, dit.config().outChannels(), s, s)) : null;
        timesteps = ops.alloc(Shape.of(batch));
        labels = ops.allocInts(Shape.of(batch));
        float[] one = new float[batch];
        java.util.Arrays.fill(one, 1f);
        ones = ops.upload(new HostTensor(Shape.of(batch), one));
        int[] y = new int[batch];
        for (int i = 0; i < batch; i++) y[i] = i < images ? classLabels[i] : dit.config().numClasses();
        ops.writeInts(labels, y);
    }

    public boolean isGuided() {
        return scale != 1f;
    }

    /**
     * Autoguidance with {@code guide} at weight {@code w} (1 = off) for the DiT samplers, at the steps guidance
     * applies to; the guide must take this model's inputs and classes and give its output channels. Call once,
     * before the sampler runs.
     */
    public void autoguide(Dit guide, float w) {
        DitConfig c = dit.config();
        String mismatch = guideMismatch(c, guide.config());
        if (mismatch != null) throw new IllegalArgumentException("the guide model does not fit: " + mismatch);
        if (this.guide != null) throw new IllegalStateException("this model is autoguided already");
        if (w == 1f) return;
        this.guide = guide;
        this.guideScale = w;
        int s = c.inputSize();
        Shape one = Shape.of(images, c.outChannels(), s, s);
        guideWorkspace = guide.workspace(images);
        guideTimes = ops.alloc(Shape.of(images));
        guideLabels = ops.allocInts(Shape.of(images));
        ops.writeInts(guideLabels, java.util.Arrays.copyOf(classLabels, images));
        guideOut = ops.alloc(one);
        guidePair = ops.alloc(Shape.of(2 * images, c.outChannels(), s, s));
        guideCond = ops.view(guidePair, one);
        guideTerm = ops.alloc(one);
    }

    /**
     * Why {@code guide} cannot guide a model of config {@code model} (what differs: classes, latent shape or output
     * channels), or null if it can.
     */
    public static String guideMismatch(DitConfig model, DitConfig guide) {
        if (model.numClasses() != guide.numClasses()) {
            return "it has " + guide.numClasses() + " classes, the model " + model.numClasses();
        }
        if (model.inChannels() != guide.inChannels() || model.inputSize() != guide.inputSize()
                || model.outChannels() != guide.outChannels()) {
            return "it maps " + guide.inChannels() + "x" + guide.inputSize() + "x" + guide.inputSize() + " latents to "
                    + guide.outChannels() + " channels, the model " + model.inChannels() + "x" + model.inputSize() + "x"
                    + model.inputSize() + " to " + model.outChannels();
        }
        return null;
    }

    @Override
    public int channels() {
        return dit.config().inChannels();
    }

    @Override
    public int outChannels() {
        return dit.config().outChannels();
    }

    /**
     * Guides the DDPM, DDIM and DPM-Solver++ loops only at model calls whose timestep (DiT's, 0 = data, 999 = noise)
     * lies in [from, to] (Kynkäänniemi et al. 2024, "guidance in a limited interval"); the other calls are one
     * conditional pass over the N images. Takes effect at the next {@link #prepare}.
     */
    public void guideOnly(double from, double to) {
        guideFrom = from;
        guideTo = to;
    }

    @Override
    public void prepare(int[] stepTimesteps) {
        guidedStep = new boolean[stepTimesteps.length];
        for (int k = 0; k < stepTimesteps.length; k++) {
            guidedStep[k] = stepTimesteps[k] >= guideFrom && stepTimesteps[k] <= guideTo;
        }
        float[] table = new float[stepTimesteps.length * batch];
        for (int i = 0; i < table.length; i++) table[i] = stepTimesteps[i / batch];
        if (timestepTable != null) timestepTable.close();
        timestepTable = ops.upload(new HostTensor(Shape.of(stepTimesteps.length, batch), table));
    }

    @Override
    public void predict(Tensor x, int step, Tensor out) {
        if (isGuided() && !guidedStep[step]) {
            ensureConditional();
            ops.copy(conditionalTimes, 0, timestepTable, (long) step * batch, images);
            dit.forward(conditional, x, conditionalTimes, conditionalLabels, out);
            return;
        }
        ops.copy(timesteps, 0, timestepTable, (long) step * batch, batch);
        run(x, out);
        if (guide != null && guidedStep[step]) addAutoguidance(x, step, out);
    }

    /**
     * out (= c, or CFG's u + s·(c - u)) += (w - 1)·(c - b) on the guided channels: cfgCombine of [c; b] with weight
     * w gives b + w·(c - b) there and c elsewhere, so adding it and subtracting c leaves the other channels alone.
     */
    private void addAutoguidance(Tensor x, int step, Tensor out) {
        long n = guideOut.numel();
        ops.copy(guidePair, 0, isGuided() ? output : out, 0, n);
        ops.copy(guideTimes, 0, timestepTable, (long) step * batch, images);
        guide.forward(guideWorkspace, x, guideTimes, guideLabels, guideOut);
        ops.copy(guidePair, n, guideOut, 0, n);
        ops.cfgCombine(guideTerm, guidePair, guidedChannels, guideScale);
        ops.scaledAdd(out, 1f, out, 1f, guideTerm);
        ops.scaledAdd(out, 1f, out, -1f, guideCond);
    }

    @Override
    public int images() {
        return images;
    }

    @Override
    public int stateImages() {
        return batch;
    }

    @Override
    public void velocity(Tensor x, float t, Tensor out) {
        ops.scaledAdd(timesteps, t, ones, 0f, ones);
        run(x, out);
    }

    @Override
    public void conditionalVelocity(Tensor x, float t, Tensor out) {
        if (!isGuided()) {
            velocity(x, t, out);
            return;
        }
        if (x.dim(0) == batch) {    // the doubled state: forward_with_cfg's output with its guidance switched off
            velocity(x, t, out);    // (computes the guided channels too; overwritten below)
            unguidedDoubled(out);
            return;
        }
        ensureConditional();
        if (conditionalOutput == null && outChannels() != channels()) {  // a velocity drops the learned-sigma half
            int s = dit.config().inputSize();
            conditionalOutput = ops.alloc(Shape.of(images, outChannels(), s, s));
        }
        ops.scaledAdd(conditionalTimes, t, conditionalOnes, 0f, conditionalOnes);
        if (conditionalOutput == null) {
            dit.forward(conditional, x, conditionalTimes, conditionalLabels, out);
        } else {
            dit.forward(conditional, x, conditionalTimes, conditionalLabels, conditionalOutput);
            ops.cfgCombine(out, conditionalOutput, 0, 1f);
        }
    }

    /** The conditional-only pass's workspace and inputs, made on first use (a guided model that needs one). */
    private void ensureConditional() {
        if (conditional == null) {
            conditional = dit.workspace(images);
            conditionalTimes = ops.alloc(Shape.of(images));
            conditionalOnes = ops.view(ones, Shape.of(images));
            conditionalLabels = ops.allocInts(Shape.of(images));
            ops.writeInts(conditionalLabels, java.util.Arrays.copyOf(classLabels, images));
        }
    }

    /**
     * Replaces the guided channels of the doubled velocity {@code out [2N, C, ...]} (just made by {@link #run} from
     * the model output still in {@link #output}) by the conditional ones: rows b and N + b take channels
     * {@code c < guidedChannels} of conditional row b; the rest keep the model's values, as LightningDiT's
     * {@code half_eps = cond_eps}.
     */
    private void unguidedDoubled(Tensor out) {
        ops.cfgCombine(out, output, 0, 1f);
        long plane = (long) dit.config().inputSize() * dit.config().inputSize(), perImage = channels() * plane;
        int g = Math.min(guidedChannels, channels());
        for (int b = 0; b < images; b++) {
            ops.copy(out, (images + b) * perImage, out, b * perImage, g * plane);
        }
    }

    /** The (guided) model output on the first N images of x, into out (its channel count: Co, or C of a velocity). */
    private void run(Tensor x, Tensor out) {
        if (!isGuided()) {
            if (out.dim(1) == outChannels()) {
                dit.forward(workspace, x, timesteps, labels, out);
                return;
            }
            if (output == null) output = ops.alloc(Shape.of(batch, outChannels(), dit.config().inputSize(), dit.config().inputSize()));
            dit.forward(workspace, x, timesteps, labels, output);
            ops.cfgCombine(out, output, 0, 1f);
            return;
        }
        long n = (long) images * channels() * dit.config().inputSize() * dit.config().inputSize();
        ops.copy(input, 0, x, 0, n);
        ops.copy(input, n, x, 0, n);
        dit.forward(workspace, input, timesteps, labels, output);
        ops.cfgCombine(out, output, guidedChannels, scale);
    }

    @Override
    public void close() {
        workspace.close();
        if (input != null) input.close();
        if (output != null) output.close();
        timesteps.close();
        labels.close();
        ones.close();
        if (timestepTable != null) timestepTable.close();
        if (conditional != null) {
            conditional.close();
            conditionalTimes.close();
            conditionalLabels.close();
        }
        if (conditionalOutput != null) conditionalOutput.close();
        if (guide != null) {
            guideWorkspace.close();
            for (Tensor t : new Tensor[] {guideTimes, guideLabels, guideOut, guideCond, guidePair, guideTerm}) t.close();
        }
    }
}
