package dev.ditj.api;

import dev.ditj.DitjException;
import dev.ditj.model.Dit;
import dev.ditj.model.DitConfig;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.ModelFiles;
import dev.ditj.weights.WeightStore;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** A DiT loaded onto a backend, with the model's class labels. Forward passes are serialized. */
public final class DitModel implements AutoCloseable {
    private final Dit dit;
    private final ClassLabels labels;
    private final Path file;
    private final GenerationDefaults defaults;
    private final String sourceSha256;

    private DitModel(Dit dit, ClassLabels labels, Path file, GenerationDefaults defaults, String sourceSha256) {
        this.dit = dit;
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
            ops.checkMemory(file.toString(), w.floatBytes(), Dit.loadingBytes(config, w) + Dit.workspaceBytes(config, 1));
            Dit dit = new Dit(config, w, ops);
            w.checkAllUsed();
            List<String> names = w.classNames();
            ClassLabels labels = names != null ? ClassLabels.of(names)
                    : config.numClasses() == 1000 ? ClassLabels.imagenet() : ClassLabels.numeric(config.numClasses());
            String d = w.metadata().get(ModelFiles.GENERATE_DEFAULTS_KEY);
            return new DitModel(dit, labels, file,
                    d == null ? GenerationDefaults.OFFICIAL : GenerationDefaults.parse(d, file.toString()),
                    w.metadata().get(ModelFiles.SOURCE_SHA256_KEY));
        }
    }

    public DitConfig config() {
        return dit.config();
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
        DitConfig c = config();
        int b = checkInputs(x, t, y);
        Ops ops = dit.ops();
        try (Dit.Workspace ws = dit.workspace(b); Tensor xt = ops.upload(x); Tensor tt = ops.alloc(Shape.of(b));
             Tensor yt = ops.allocInts(Shape.of(b));
             Tensor out = ops.alloc(Shape.of(b, c.outChannels(), c.inputSize(), c.inputSize()))) {
            float[] tf = new float[b];
            for (int i = 0; i < b; i++) tf[i] = t[i];
            ops.write(tt, tf);
            ops.writeInts(yt, y);
            dit.forward(ws, xt, tt, yt, out);
            return new HostTensor(out.shape(), ops.read(out));
        }
    }

    /**
     * The official {@code forward_with_cfg}: the batch is [cond half; uncond half], only the first half of x is
     * used, and the first 3 channels of ε are guided; see the DiT spec §4.10.
     */
    public synchronized HostTensor forwardWithCfg(HostTensor x, int[] t, int[] y, float scale) {
        int b = checkInputs(x, t, y);
        if (b % 2 != 0) throw new DitjException("forward with guidance needs an even batch (cond half + uncond half), got " + b);
        float[] xf = x.data().clone();
        int half = xf.length / 2;
        System.arraycopy(xf, 0, xf, half, half);
        HostTensor out = forward(new HostTensor(x.shape(), xf), t, y);
        DitConfig c = config();
        int per = c.inputSize() * c.inputSize(), n = b / 2, guided = Math.min(3, c.inChannels());
        float[] o = out.data();
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < guided; ch++) {
                for (int p = 0; p < per; p++) {
                    int ci = (i * c.outChannels() + ch) * per + p, ui = ((i + n) * c.outChannels() + ch) * per + p;
                    float g = o[ui] + scale * (o[ci] - o[ui]);
                    o[ci] = g;
                    o[ui] = g;
                }
            }
        }
        return out;
    }

    private int checkInputs(HostTensor x, int[] t, int[] y) {
        DitConfig c = config();
        int[] d = x.shape().dims();
        if (d.length != 4 || d[1] != c.inChannels() || d[2] != c.inputSize() || d[3] != c.inputSize()) {
            throw new DitjException("x has shape " + x.shape() + ", expected [B, " + c.inChannels() + ", "
                    + c.inputSize() + ", " + c.inputSize() + "]");
        }
        if (t.length != d[0] || y.length != d[0]) {
            throw new DitjException("t has " + t.length + " and y " + y.length + " entries for a batch of " + d[0]);
        }
        for (int v : t) {
            if (v < 0 || v > 999) throw new DitjException("timestep " + v + " is out of range [0, 999]");
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
        return config().familyName() + " " + Arrays.toString(new int[] {config().inputSize()}) + " from " + file;
    }
}
