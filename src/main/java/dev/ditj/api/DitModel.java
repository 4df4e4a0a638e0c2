package dev.ditj.api;

import dev.ditj.DitjException;
import dev.ditj.model.Dit;
import dev.ditj.model.DitConfig;
import dev.ditj.model.ModelFamily;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.ModelFiles;
import dev.ditj.weights.WeightStore;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * A DiT-architecture model loaded onto a backend: a DiT, or a SiT (the same network predicting a velocity, see
 * {@link ModelFamily}), with the model's class labels. Forward passes are serialized.
 */
public final class DitModel implements AutoCloseable {
    private final Dit dit;
    private final ModelFamily family;
    private final ClassLabels labels;
    private final Path file;
    private final GenerationDefaults defaults;
    private final String sourceSha256;

    private DitModel(Dit dit, ModelFamily family, ClassLabels labels, Path file, GenerationDefaults defaults,
                     String sourceSha256) {
        this.dit = dit;
        this.family = family;
        this.labels = labels;
        this.file = file;
        this.defaults = defaults;
        this.sourceSha256 = sourceSha256;
    }

    /**
     * Loads a ditj DiT file (see {@code ditj convert}) onto {@code ops}; the caller keeps owning {@code ops}. Fails
     * first, with a {@link DitjException}, if the backend has no room for the weights and a forward of one sample.
     */
    public static DitModel load(Path file, Ops ops) {
        try (WeightStore w = WeightStore.open(file)) {
            w.requireKind(ModelFiles.KIND_DIT);
            DitConfig config = w.ditConfig();
            ModelFamily family = w.family();
            ops.checkMemory(file.toString(), w.floatBytes(), Dit.loadingBytes(config, w) + Dit.workspaceBytes(config, 1));
            Dit dit = new Dit(config, w, ops);
            w.checkAllUsed();
            List<String> names = w.classNames();
            List<ClassGroup> groups = w.classGroups();
            if (!groups.isEmpty() && names == null) {
                throw new DitjException(file + ": has class groups but no class names");
            }
            ClassLabels labels = names != null ? ClassLabels.of(names, groups)
                    : config.numClasses() == 1000 ? ClassLabels.imagenet() : ClassLabels.numeric(config.numClasses());
            String d = w.metadata().get(ModelFiles.GENERATE_DEFAULTS_KEY);
            return new DitModel(dit, family, labels, file,
                    d == null ? GenerationDefaults.of(family) : GenerationDefaults.parse(d, file.toString(), family),
                    w.metadata().get(ModelFiles.SOURCE_SHA256_KEY));
        }
    }

    public DitConfig config() {
        return dit.config();
    }

    /** What the network is: a DiT (noise, timesteps 0..999) or a SiT (velocity, time in [0, 1]). */
    public ModelFamily family() {
        return family;
    }

    /** The model's name, e.g. "SiT-XL/2". */
    public String name() {
        return config().familyName(family);
    }

    public ClassLabels classLabels() {
        return labels;
    }

    /** The generation settings this model recommends (DiT's sample.py settings unless the file says otherwise). */
    public GenerationDefaults generationDefaults() {
        return defaults;
    }

    public Path file() {
        return file;
    }

    /** The SHA-256 of the checkpoint this file was converted from (its provenance metadata), or null. */
    public String sourceSha256() {
        return sourceSha256;
    }

    Dit dit() {
        return dit;
    }

    /** {@code DiT(x [B, C, I, I], t [B] in 0..999, y [B] in 0..K)} → {@code [B, Co, I, I]}. */
    public synchronized HostTensor forward(HostTensor x, int[] t, int[] y) {
        requireFamily(ModelFamily.DIT, "integer timesteps");
        checkInputs(x, t.length, y);
        for (int v : t) {
            if (v < 0 || v > 999) throw new DitjException("timestep " + v + " is out of range [0, 999]");
        }
        float[] tf = new float[t.length];
        for (int i = 0; i < t.length; i++) tf[i] = t[i];
        return run(x, tf, y);
    }

    /**
     * {@code SiT(x [B, C, I, I], t [B] float32 in [0, 1], y [B] in 0..K)} → the velocity {@code [B, C, I, I]} (the
     * learned-sigma half dropped, as SiT's forward does); t exactly as the official model receives it (REPA: the
     * first output of its forward, t = 1 noise).
     */
    public synchronized HostTensor velocity(HostTensor x, float[] t, int[] y) {
        if (!family.isFlow()) requireFamily(ModelFamily.SIT, "float times");
        checkInputs(x, t.length, y);
        for (float v : t) {
            if (!Float.isFinite(v)) throw new DitjException("time " + v + " is not finite");
        }
        return firstChannels(run(x, t, y), config().inChannels());
    }

    private HostTensor run(HostTensor x, float[] t, int[] y) {
        DitConfig c = config();
        int b = x.shape().dim(0);
        Ops ops = dit.ops();
        try (Dit.Workspace ws = dit.workspace(b); Tensor xt = ops.upload(x); Tensor tt = ops.alloc(Shape.of(b));
             Tensor yt = ops.allocInts(Shape.of(b));
             Tensor out = ops.alloc(Shape.of(b, c.outChannels(), c.inputSize(), c.inputSize()))) {
            ops.write(tt, t);
            ops.writeInts(yt, y);
            dit.forward(ws, xt, tt, yt, out);
            return new HostTensor(out.shape(), ops.read(out));
        }
    }

    private void requireFamily(ModelFamily wanted, String what) {
        if (family != wanted) {
            throw new DitjException(file + " is a " + family.displayName + " model; " + what + " are for a "
                    + wanted.displayName + (family.isFlow() ? " (a " + family.displayName + " takes float times in [0, 1])"
                    : " (a DiT takes integer timesteps 0..999)"));
        }
    }

    private static HostTensor firstChannels(HostTensor h, int channels) {
        int[] d = h.shape().dims();
        if (d[1] == channels) return h;
        int per = Math.toIntExact(h.shape().numelFrom(2));
        float[] out = new float[d[0] * channels * per];
        for (int b = 0; b < d[0]; b++) System.arraycopy(h.data(), b * d[1] * per, out, b * channels * per, channels * per);
        d[1] = channels;
        return new HostTensor(Shape.of(d), out);
    }

    /**
     * The official {@code forward_with_cfg}: the batch is [cond half; uncond half], only the first half of x is
     * used, and the first 3 channels of the output are guided; see the DiT spec §4.10.
     */
    public synchronized HostTensor forwardWithCfg(HostTensor x, int[] t, int[] y, float scale) {
        return withCfg(x, scale, doubled -> forward(doubled, t, y));
    }

    /** SiT's {@code forward_with_cfg}: as {@link #forwardWithCfg}, with float times; the guided velocity. */
    public synchronized HostTensor velocityWithCfg(HostTensor x, float[] t, int[] y, float scale) {
        return withCfg(x, scale, doubled -> velocity(doubled, t, y));
    }

    private HostTensor withCfg(HostTensor x, float scale, java.util.function.UnaryOperator<HostTensor> model) {
        int b = x.shape().dim(0);
        if (b % 2 != 0) throw new DitjException("forward with guidance needs an even batch (cond half + uncond half), got " + b);
        float[] xf = x.data().clone();
        int half = xf.length / 2;
        System.arraycopy(xf, 0, xf, half, half);
        HostTensor out = model.apply(new HostTensor(x.shape(), xf));
        DitConfig c = config();
        int oc = out.shape().dim(1), per = c.inputSize() * c.inputSize(), n = b / 2, guided = Math.min(3, c.inChannels());
        float[] o = out.data();
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < guided; ch++) {
                for (int p = 0; p < per; p++) {
                    int ci = (i * oc + ch) * per + p, ui = ((i + n) * oc + ch) * per + p;
                    float g = o[ui] + scale * (o[ci] - o[ui]);
                    o[ci] = g;
                    o[ui] = g;
                }
            }
        }
        return out;
    }

    private int checkInputs(HostTensor x, int tLength, int[] y) {
        DitConfig c = config();
        int[] d = x.shape().dims();
        if (d.length != 4 || d[1] != c.inChannels() || d[2] != c.inputSize() || d[3] != c.inputSize()) {
            throw new DitjException("x has shape " + x.shape() + ", expected [B, " + c.inChannels() + ", "
                    + c.inputSize() + ", " + c.inputSize() + "]");
        }
        if (tLength != d[0] || y.length != d[0]) {
            throw new DitjException("t has " + tLength + " and y " + y.length + " entries for a batch of " + d[0]);
        }
        for (int v : y) {
            if (v < 0 || v > c.numClasses()) {
                throw new DitjException("class label " + v + " is out of range [0, " + c.numClasses() + "] ("
                        + c.numClasses() + " = null class)");
            }
        }
        return d[0];
    }

    @Override
    public void close() {
        dit.close();
    }

    @Override
    public String toString() {
        return name() + " " + Arrays.toString(new int[] {config().inputSize()}) + " from " + file;
    }
}
