package dev.ditj.bench;

import dev.ditj.cuda.CudaOps;
import dev.ditj.emu.EmulatedDevice;
import dev.ditj.emu.LaunchStats;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Ops.Activation;
import dev.ditj.tensor.Precision;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The kernel efficiency table without a GPU ({@code tools/bench kernels [--real]}): each op of the DiT and VAE
 * paths runs once on the emulated device with its efficiency counters on, in the backend's BF16 mode, and the table
 * gives, per kernel launched, what decides speed on the real chip and can be counted exactly by emulation — shared
 * memory bank conflicts, global sector efficiency, tensor-core share of the warp-instructions, traffic against the
 * op's floor — beside the op's floor time on an H200 (FLOPs at the bf16 tensor-core rate, bytes at the HBM rate,
 * whichever is longer). Default shapes are cut down so the table takes minutes; {@code --real} uses DiT-XL/2 256 px
 * (guided batch 1) and SD VAE shapes (slow: tens of minutes).
 */
public final class KernelTable {
    /**
     * H200 ceilings: the bf16 matrix rate the device library measured there (PyTorch, 8192³ on random data, about
     * 790 TFLOP/s; the datasheet's 990 is not reached), and the datasheet's HBM3e bandwidth.
     */
    static final double TENSOR_FLOPS = 790e12, HBM_BYTES = 4.8e12;

    private KernelTable() {
    }

    /** One op: its FLOPs and floor bytes (inputs read once, outputs written once, in the dtypes the kernels use). */
    private record Case(String name, double flops, double floorBytes, Body body) {
    }

    private interface Body {
        void run(Ops ops, Inputs in);
    }

    public static void main(String[] args) {
        boolean real = args.length > 0 && args[0].equals("--real");
        EmulatedDevice device = new EmulatedDevice().efficiencyCounters(true);
        try (CudaOps ops = new CudaOps(device, "emu", Precision.BF16)) {
            System.out.printf("Kernel efficiency on the emulated device (BF16 mode, %s shapes); floor = max(FLOPs / %.0f "
                    + "TFLOP/s, bytes / %.1f TB/s) on an H200%n%n", real ? "real" : "reduced", TENSOR_FLOPS / 1e12,
                    HBM_BYTES / 1e12);
            System.out.println("| op | kernel | launches | floor | bank conflicts | sector eff. (min) | mma share | traffic / floor |");
            System.out.println("|---|---|---|---|---|---|---|---|");
            for (Case c : cases(real)) {
                try (Inputs in = new Inputs(ops)) {
                    c.body.run(ops, in); // warm-up: workspaces, constants
                    ops.synchronize();
                    device.resetStats();
                    c.body.run(ops, in);
                    ops.synchronize();
                }
                double floor = Math.max(c.flops / TENSOR_FLOPS, c.floorBytes / HBM_BYTES);
                Map<String, LaunchStats> byKernel = device.statsByKernel();
                long traffic = 0;
                for (LaunchStats s : byKernel.values()) traffic += s.globalTrafficBytes();
                boolean first = true;
                for (Map.Entry<String, LaunchStats> e : byKernel.entrySet()) {
                    LaunchStats s = e.getValue();
                    System.out.printf(Locale.ROOT, "| %s | `%s` | %d | %s | %d | %s | %.1f %% | %s |%n",
                            first ? c.name : "", e.getKey(), s.launches(), first ? micros(floor) : "", s.bankConflicts(),
                            sectorEfficiency(s), 100 * s.tensorShare(),
                            first ? String.format(Locale.ROOT, "%.2f", traffic / c.floorBytes) : "");
                    first = false;
                }
            }
        }
    }

    private static String micros(double seconds) {
        return String.format(Locale.ROOT, "%.2f µs", seconds * 1e6);
    }

    private static String sectorEfficiency(LaunchStats s) {
        double min = 1;
        boolean any = false;
        for (LaunchStats.Global g : LaunchStats.Global.values()) {
            if (s.requests(g) == 0) continue;
            min = Math.min(min, s.sectorEfficiency(g));
            any = true;
        }
        return any ? String.format(Locale.ROOT, "%.1f %%", 100 * min) : "–";
    }

    private static List<Case> cases(boolean real) {
        List<Case> c = new ArrayList<>();
        // head dim 72 as DiT-XL/2 in both: 16 heads of 72 (real), 4 of 72 (reduced)
        int tokens = real ? 512 : 128, hidden = real ? 1152 : 288, heads = real ? 16 : 4, mlp = 4 * hidden;
        int t = tokens / 2; // two samples (guided batch 1)
        // linear layers of a DiT block: qkv, proj, fc1 (+GELU), fc2; bf16 weights, inputs bf16 as their producers
        // write them in the model (LINEAR_INPUT), fp32 out
        int[][] linears = {{tokens, 3 * hidden, hidden}, {tokens, hidden, hidden}, {tokens, mlp, hidden}, {tokens, hidden, mlp}};
        String[] names = {"qkv linear", "proj linear", "fc1 linear + GELU", "fc2 linear"};
        for (int i = 0; i < linears.length; i++) {
            int m = linears[i][0], n = linears[i][1], k = linears[i][2];
            Activation act = i == 2 ? Activation.GELU_TANH : Activation.NONE;
            c.add(new Case(names[i] + " " + m + "x" + n + "x" + k, 2.0 * m * n * k, 2.0 * (m * k + n * k) + 4.0 * m * n + 4.0 * n,
                    (ops, in) -> ops.linear(in.out(m, n), in.linearInput(m, k), in.weight(n, k), in.vector(n), act)));
        }
        int hd = hidden / heads;
        c.add(new Case("attention " + 2 + "x" + t + ", " + heads + "x" + hd, 4.0 * 2 * heads * t * (double) t * hd,
                2.0 * tokens * 3 * hidden + 4.0 * tokens * hidden,
                (ops, in) -> ops.attention(in.out(tokens, hidden), in.x(tokens, 3 * hidden), 2, t, heads,
                        (float) (1 / Math.sqrt(hd)))));
        c.add(new Case("modulated LayerNorm", 8.0 * tokens * hidden, 4.0 * tokens * hidden * 2 + 4.0 * 2 * 6 * hidden,
                (ops, in) -> ops.modulatedLayerNorm(in.out(tokens, hidden), in.x(tokens, hidden), in.x(2, 6 * hidden), 0, 1, t, 1e-6f)));
        c.add(new Case("gated residual", 2.0 * tokens * hidden, 4.0 * tokens * hidden * 3 + 4.0 * 2 * 6 * hidden,
                (ops, in) -> ops.gatedResidual(in.out(tokens, hidden), in.x(tokens, hidden), in.x(2, 6 * hidden), 2, t)));
        // VAE: a 3x3 convolution at the widest level and GroupNorm + SiLU
        int ch = real ? 512 : 128, side = real ? 64 : 16;
        c.add(new Case("conv 3x3 " + ch + "->" + ch + " at " + side + "²", 2.0 * side * side * ch * ch * 9,
                2.0 * side * side * ch * 2 + 2.0 * ch * ch * 9 + 4.0 * ch,
                (ops, in) -> ops.conv2d(in.out(1, ch, side, side), in.image(1, ch, side, side), in.convWeight(ch, ch, 3),
                        in.vector(ch), null)));
        // the encoder's downsampler at that level: stride 2, output a quarter of the pixels
        int half = side / 2;
        c.add(new Case("downsample conv 3x3 " + ch + "->" + ch + " at " + side + "² -> " + half + "²",
                2.0 * half * half * ch * ch * 9, 2.0 * side * side * ch + 2.0 * half * half * ch + 2.0 * ch * ch * 9 + 4.0 * ch,
                (ops, in) -> ops.downsampleConv2d(in.out(1, ch, half, half), in.image(1, ch, side, side), in.convWeight(ch, ch, 3),
                        in.vector(ch))));
        c.add(new Case("GroupNorm + SiLU " + ch + " at " + side + "²", 8.0 * side * side * ch, 2.0 * side * side * ch * 2,
                (ops, in) -> ops.groupNorm(in.out(1, ch, side, side), in.image(1, ch, side, side), in.vector(ch), in.vector(ch),
                        32, 1e-6f, true)));
        return c;
    }

    /** Inputs and outputs of one case, made on first use and reused for the measured run. */
    private static final class Inputs implements AutoCloseable {
        private final Ops ops;
        private final Random random = new Random(1);
        private final List<Tensor> all = new ArrayList<>();
        private final Map<String, Tensor> byKey = new java.util.HashMap<>();

        Inputs(Ops ops) {
            this.ops = ops;
        }

        private Tensor cached(String key, java.util.function.Supplier<Tensor> make) {
            return byKey.computeIfAbsent(key, k -> {
                Tensor t = make.get();
                all.add(t);
                return t;
            });
        }

        private HostTensor random(double scale, int... dims) {
            Shape s = Shape.of(dims);
            float[] v = new float[Math.toIntExact(s.numel())];
            for (int i = 0; i < v.length; i++) v[i] = (float) (random.nextGaussian() * scale);
            return new HostTensor(s, v);
        }

        Tensor out(int... dims) {
            return cached("out" + java.util.Arrays.toString(dims), () -> ops.alloc(Shape.of(dims)));
        }

        Tensor x(int... dims) {
            return cached("x" + java.util.Arrays.toString(dims), () -> ops.upload(random(1, dims)));
        }

        /**
         * An image activation as the VAE's ops leave it (channel-last bf16 in BF16 mode: written by an image op, here
         * a GroupNorm), so the measured op reads it without a conversion.
         */
        Tensor image(int... dims) {
            return cached("img" + java.util.Arrays.toString(dims), () -> {
                Tensor t = ops.alloc(Shape.of(dims));
                int c = dims[1];
                float[] one = new float[c];
                java.util.Arrays.fill(one, 1f);
                try (Tensor x = ops.upload(random(1, dims)); Tensor g = ops.constant(new HostTensor(Shape.of(c), one));
                     Tensor b = ops.constant(new HostTensor(Shape.of(c), new float[c]))) {
                    ops.groupNorm(t, x, g, b, 32, 1e-6f, false);
                }
                return t;
            });
        }

        Tensor linearInput(int... dims) {
            return cached("li" + java.util.Arrays.toString(dims), () -> {
                Tensor t = ops.alloc(Shape.of(dims), Ops.ActivationKind.LINEAR_INPUT);
                ops.write(t, random(1, dims).data());
                return t;
            });
        }

        Tensor vector(int n) {
            return cached("v" + n, () -> ops.constant(random(0.1, n)));
        }

        Tensor weight(int n, int k) {
            return cached("w" + n + "x" + k, () -> ops.constant(random(1 / Math.sqrt(k), n, k), Ops.ConstantKind.LINEAR_WEIGHT));
        }

        Tensor convWeight(int co, int ci, int k) {
            return cached("c" + co + "x" + ci, () -> ops.constant(random(1 / Math.sqrt(ci * k * k), co, ci, k, k),
                    Ops.ConstantKind.CONV_WEIGHT));
        }

        @Override
        public void close() {
            all.forEach(Tensor::close);
        }
    }
}
