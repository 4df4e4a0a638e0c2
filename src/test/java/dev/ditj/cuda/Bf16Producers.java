package dev.ditj.cuda;

import dev.ditj.Compare;
import dev.ditj.model.TimestepFrequencies;
import dev.ditj.tensor.FloatFormats;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Ops.Activation;
import dev.ditj.tensor.Ops.ActivationKind;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The ops that write a {@link ActivationKind#LINEAR_INPUT} tensor, as a table: each case runs on a BF16 CUDA
 * backend into a bf16 linear input and on the CPU into float32, with the same inputs. Inputs are bf16 values where
 * they feed a GEMM, so both backends compute the same numbers up to fp32 rounding.
 *
 * <p>Bound: against the CPU result rounded to bf16 (to nearest even, as the kernels store), relative L2 ≤ 1e-3. Both
 * round the same fp32 value except where the two fp32 results straddle a rounding boundary: that happens with
 * probability (fp32 difference, ~1e-6 relative) / (bf16 spacing, 2⁻⁸ relative), and costs one bf16 ulp (≤ 2⁻⁷
 * relative) there, so the expected error is below 1e-5; 1e-3 allows ~3 % of the elements to flip. A missing
 * rounding would show ~1.1e-3 (the rms of bf16 rounding, 2⁻⁹/√3 relative) and a wrong row stride or element order
 * errors of order 1; NaN-poisoned outputs catch unwritten elements.
 */
final class Bf16Producers {
    static final double BOUND = 1e-3;

    enum Size { SMALL, REAL }

    /** One producer: writes {@code out} (shape {@code outShape}) from inputs drawn from {@code in}. */
    record Case(String name, int[] outShape, Body body, double bound) {
        Case(String name, int[] outShape, Body body) {
            this(name, outShape, body, BOUND);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    interface Body {
        void run(Inputs in, Tensor out);
    }

    /** Deterministic inputs for one case on one backend (same seed and order on both: the same values). */
    static final class Inputs implements AutoCloseable {
        final Ops ops;
        private final SplittableRandom rng;
        private final List<Tensor> made = new ArrayList<>();

        Inputs(Ops ops, long seed) {
            this.ops = ops;
            this.rng = new SplittableRandom(seed);
        }

        /** Uniform values of std {@code scale}, rounded to bf16 when {@code bf16}. */
        private float[] values(int n, double scale, boolean bf16) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) (scale * Math.sqrt(3) * (2 * rng.nextDouble() - 1));
                if (bf16) v[i] = FloatFormats.bf16ToFloat(FloatFormats.floatToBf16(v[i]));
            }
            return v;
        }

        Tensor random(double scale, boolean bf16, int... dims) {
            Shape s = Shape.of(dims);
            return keep(ops.upload(new HostTensor(s, values(s.size(), scale, bf16))));
        }

        Tensor weight(int n, int k) {
            return keep(ops.constant(new HostTensor(Shape.of(n, k), values(n * k, 1 / Math.sqrt(k), true)), Ops.ConstantKind.LINEAR_WEIGHT));
        }

        Tensor keep(Tensor t) {
            made.add(t);
            return t;
        }

        @Override
        public void close() {
            made.forEach(Tensor::close);
        }
    }

    static List<Case> cases(Size size) {
        boolean real = size == Size.REAL;
        List<Case> c = new ArrayList<>();
        // {samples, tokens, H}: DiT's shape (vector path) and H not a multiple of 4 (scalar path)
        for (int[] d : real ? new int[][] {{2, 256, 1152}} : new int[][] {{2, 20, 144}, {2, 5, 30}}) {
            int b = d[0], t = d[1], h = d[2];
            c.add(new Case("modulatedLayerNorm " + Arrays.toString(d), new int[] {b * t, h}, (in, out) -> {
                Tensor x = in.random(2, false, b * t, h), mod = in.random(0.5, false, b, 6 * h);
                in.ops.modulatedLayerNorm(out, x, mod, 3, 4, t, 1e-6f);
            }));
        }
        // {M, K, N}: fc1 (GELU into the next GEMM's operand); N = 300: rows of 300 stored 304 apart; a split-K shape
        for (int[] l : real ? new int[][] {{512, 1152, 4608}, {2, 1152, 1152}} : new int[][] {{130, 97, 300}, {3, 1152, 144}}) {
            c.add(new Case("linear GELU " + Arrays.toString(l), new int[] {l[0], l[2]}, (in, out) -> {
                Tensor x = in.random(1, true, l[0], l[1]), w = in.weight(l[2], l[1]), bias = in.random(0.1, false, l[2]);
                in.ops.linear(out, x, w, bias, Activation.GELU_TANH);
            }));
        }
        for (int[] s : real ? new int[][] {{2, 1152}} : new int[][] {{2, 144}, {3, 30}}) {
            c.add(new Case("silu " + Arrays.toString(s), s, (in, out) -> in.ops.silu(out, in.random(3, false, s))));
        }
        int side = real ? 32 : 8;
        c.add(new Case("patchify p2", new int[] {2 * side * side / 4, 16}, (in, out) ->
                in.ops.patchify(out, in.random(1, false, 2, 4, side, side), 2)));
        c.add(new Case("timestepFrequencies", new int[] {5, 256}, (in, out) -> {
            Tensor t = in.keep(in.ops.upload(new HostTensor(Shape.of(5), new float[] {0, 1, 250, 500, 999})));
            Tensor f = in.keep(in.ops.upload(new HostTensor(Shape.of(128), TimestepFrequencies.table())));
            in.ops.timestepFrequencies(out, t, f);
        }));
        // head dim 24: the float32 kernel, rounded into bf16 by a pass (bound as above); head dim 72: the tensor-core
        // kernel, whose bf16 P costs ~1.5e-3 relative by itself (CudaAttentionBf16EmuTest's bound, 5e-3)
        int[][] attention = real ? new int[][] {{2, 256, 1152, 16}} : new int[][] {{2, 16, 96, 4}, {2, 16, 144, 2}};
        for (int[] a : attention) {
            boolean tensorCores = a[2] / a[3] == 72;
            c.add(new Case("attention " + Arrays.toString(a), new int[] {a[0] * a[1], a[2]}, (in, out) -> {
                Tensor qkv = in.random(1.5, true, a[0] * a[1], 3 * a[2]);
                in.ops.attention(out, qkv, a[0], a[1], a[3], (float) (1 / Math.sqrt(a[2] / a[3])));
            }, tensorCores ? 5e-3 : BOUND));
        }
        return c;
    }

    /** Runs a case into a poisoned output of the given kind and reads it back. */
    static float[] run(Case c, Ops ops, ActivationKind kind) {
        try (Inputs in = new Inputs(ops, c.name.hashCode()); Tensor out = ops.alloc(Shape.of(c.outShape), kind)) {
            float[] nan = new float[Math.toIntExact(out.numel())];
            Arrays.fill(nan, Float.NaN);
            ops.write(out, nan);
            c.body.run(in, out);
            ops.synchronize();
            return ops.read(out);
        }
    }

    /** The case on {@code cuda} (BF16) into a linear input against the CPU's float32 result rounded to bf16. */
    static double check(Case c, CudaOps cuda, Ops cpu) {
        float[] expected = run(c, cpu, ActivationKind.PLAIN);
        for (int i = 0; i < expected.length; i++) expected[i] = FloatFormats.bf16ToFloat(FloatFormats.floatToBf16(expected[i]));
        return Compare.assertRelL2(run(c, cuda, ActivationKind.LINEAR_INPUT), expected, c.bound(), c.name + " into bf16");
    }
}
