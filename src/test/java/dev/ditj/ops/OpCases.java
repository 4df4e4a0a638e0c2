package dev.ditj.ops;

import dev.ditj.tensor.FloatFormats;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Ops.Activation;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

import static dev.ditj.tensor.Ops.ConstantKind.CONV_WEIGHT;
import static dev.ditj.tensor.Ops.ConstantKind.LINEAR_WEIGHT;
import static dev.ditj.tensor.Ops.ConstantKind.PLAIN;

/**
 * The op-test table (in the spirit of ggml's test-backend-ops): every {@link Ops} operation at a few shapes, each
 * case a function that builds its inputs deterministically on a given backend, poisons its outputs with NaN, runs
 * the op and returns the result. Any two backends can be compared on the same table; new op = new rows.
 */
public final class OpCases {
    /** Shapes of a case list: tiny and irregular (any backend) or the real model shapes (fast backends). */
    public enum Size { SMALL, REAL }

    /** One row of the table. */
    public record Case(String name, double tolerance, Function<Ops, float[]> run) {
        @Override
        public String toString() {
            return name;
        }
    }

    private OpCases() {
    }

    /** Deterministic input data for one case. */
    static final class Inputs {
        private final Ops ops;
        private final SplittableRandom rng;
        private final boolean bf16;
        private final List<Tensor> made = new ArrayList<>();

        Inputs(Ops ops, long seed, boolean bf16) {
            this.ops = ops;
            this.rng = new SplittableRandom(seed);
            this.bf16 = bf16;
        }

        /** Uniform values of std {@code scale}; with bf16 set, rounded to bf16 (exact in bf16 and float32 alike). */
        float[] values(int n, double scale, double offset) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) (offset + scale * (rng.nextDouble() * 2 - 1) * Math.sqrt(3));
                if (bf16) v[i] = FloatFormats.bf16ToFloat(FloatFormats.floatToBf16(v[i]));
            }
            return v;
        }

        Tensor random(double scale, int... dims) {
            return random(scale, 0, dims);
        }

        Tensor random(double scale, double offset, int... dims) {
            Shape s = Shape.of(dims);
            Tensor t = ops.upload(new HostTensor(s, values(s.size(), scale, offset)));
            made.add(t);
            return t;
        }

        /** A weight: random with std 1/sqrt(fan-in), passed to the backend as a constant of that kind. */
        Tensor weight(Ops.ConstantKind kind, int... dims) {
            Shape s = Shape.of(dims);
            Tensor t = ops.constant(new HostTensor(s, values(s.size(), 1 / Math.sqrt(s.numel() / dims[0]), 0)), kind);
            made.add(t);
            return t;
        }

        Tensor ints(int bound, int n) {
            int[] v = new int[n];
            for (int i = 0; i < n; i++) v[i] = rng.nextInt(bound);
            Tensor t = ops.allocInts(Shape.of(n));
            ops.writeInts(t, v);
            made.add(t);
            return t;
        }

        /**
         * An output tensor filled with NaN, so anything the op fails to write shows up: all bits set, a NaN as
         * float32 and as each bf16 half, for backends that store the output in bf16.
         */
        Tensor poisoned(int... dims) {
            Shape s = Shape.of(dims);
            float[] nan = new float[s.size()];
            Arrays.fill(nan, Float.intBitsToFloat(-1));
            Tensor t = ops.upload(new HostTensor(s, nan));
            made.add(t);
            return t;
        }

        /** Tracks a tensor made by the case itself so it is closed with the inputs. */
        Tensor adopt(Tensor t) {
            made.add(t);
            return t;
        }

        float[] read(Tensor t) {
            ops.synchronize();
            float[] r = ops.read(t);
            made.forEach(Tensor::close);
            return r;
        }
    }

    private static void add(List<Case> list, String name, double tol, long seed, Function<Inputs, Tensor> body) {
        add(list, name, tol, seed, false, body);
    }

    private static void add(List<Case> list, String name, double tol, long seed, boolean bf16, Function<Inputs, Tensor> body) {
        list.add(new Case(name, tol, ops -> {
            Inputs in = new Inputs(ops, seed, bf16);
            return in.read(body.apply(in));
        }));
    }

    /**
     * The linear rows. With {@code bf16Values} every input is a bf16 value, so a bf16 backend (which rounds its GEMM
     * operands to bf16) and a float32 one multiply the same numbers: only the fp32 summation order differs, and the
     * float32 tolerance holds.
     */
    public static List<Case> linear(Size size, boolean bf16Values) {
        List<Case> c = new ArrayList<>();
        long seed = 1;
        int[][] linears = size == Size.REAL
                ? new int[][] {{512, 1152, 3456}, {512, 1152, 4608}, {512, 4608, 1152}, {2, 1152, 6912}, {2048, 1152, 1152}}
                : new int[][] {{1, 5, 3}, {7, 33, 70}, {130, 300, 97}, {2, 144, 864}, {16, 256, 144}};
        for (int[] l : linears) {
            for (Activation act : Activation.values()) {
                add(c, "linear " + l[0] + "x" + l[1] + "->" + l[2] + " " + act, 1e-5, seed++, bf16Values, in -> {
                    Tensor x = in.random(1, l[0], l[1]), w = in.weight(LINEAR_WEIGHT, l[2], l[1]), b = in.random(0.1, l[2]);
                    Tensor out = in.poisoned(l[0], l[2]);
                    in.ops.linear(out, x, w, b, act);
                    return out;
                });
            }
        }
        add(c, "linear without bias", 1e-5, seed++, bf16Values, in -> {
            Tensor x = in.random(1, 9, 40), w = in.weight(LINEAR_WEIGHT, 33, 40), out = in.poisoned(9, 33);
            in.ops.linear(out, x, w, null, Activation.NONE);
            return out;
        });
        // Weights given as plain constants or as activations take other paths through a backend than model weights.
        add(c, "linear, weight a plain constant", 1e-5, seed++, bf16Values, in -> {
            Tensor x = in.random(1, 13, 70), w = in.weight(PLAIN, 50, 70), out = in.poisoned(13, 50);
            in.ops.linear(out, x, w, null, Activation.NONE);
            return out;
        });
        add(c, "linear, weight an activation", 1e-5, seed++, bf16Values, in -> {
            Tensor x = in.random(1, 13, 70), w = in.random(0.1, 50, 70), out = in.poisoned(13, 50);
            in.ops.linear(out, x, w, null, Activation.NONE);
            return out;
        });
        // A weight a backend keeps in its own layout must still read back as given.
        add(c, "read back a linear weight", 0, seed++, bf16Values, in -> in.weight(LINEAR_WEIGHT, 37, 29));
        add(c, "read back a conv weight", 0, seed++, bf16Values, in -> in.weight(CONV_WEIGHT, 13, 5, 3, 3));
        // x += gate ⊙ (a·wᵀ + b): {samples, tokens, K, N}: fc2-like (K = 4N), proj-like, and odd N (scalar epilogue)
        int[][] gated = size == Size.REAL
                ? new int[][] {{2, 256, 4608, 1152}, {2, 256, 1152, 1152}}
                : new int[][] {{2, 16, 576, 144}, {3, 7, 40, 30}};
        for (int[] g : gated) {
            int rows = g[0] * g[1];
            for (boolean withGate : new boolean[] {true, false}) {
                add(c, "linearGatedResidual " + Arrays.toString(g) + (withGate ? "" : " without gate"), 1e-5, seed++, bf16Values, in -> {
                    Tensor x = in.random(1, rows, g[3]), a = in.random(1, rows, g[2]), w = in.weight(LINEAR_WEIGHT, g[3], g[2]);
                    Tensor b = in.random(0.1, g[3]), mod = withGate ? in.random(0.5, g[0], 6 * g[3]) : null;
                    in.ops.linearGatedResidual(x, a, w, b, mod, 5, g[1]);
                    return x;
                });
            }
        }
        return c;
    }

    /**
     * Attention rows for a backend whose attention runs on bf16 tensor cores (CudaOps in BF16), with bf16-valued q, k
     * and v so both sides score the same numbers; the tolerance is the rounding of the softmax weights P to bf16 (the
     * A operand of P·V), see CudaAttentionBf16EmuTest. Head dims 64, 72 (DiT-XL/2), 128, 512 (the VAE's single head)
     * and 24 (no tensor-core kernel: the fp32 one); token counts that end in partial query and key tiles; scales of
     * either sign. {hd, heads, batch, tokens} and the scale.
     */
    public static List<Case> attentionBf16(Size size) {
        List<Case> c = new ArrayList<>();
        long seed = 500;
        double[][] shapes = size == Size.REAL
                ? new double[][] {{72, 16, 2, 256, 1 / Math.sqrt(72)}, {72, 16, 2, 1024, 1 / Math.sqrt(72)},
                        {64, 16, 2, 256, 0.125}, {512, 1, 1, 1024, 1 / Math.sqrt(512)}}
                : new double[][] {{64, 2, 2, 100, 0.125}, {72, 3, 2, 33, 1 / Math.sqrt(72)}, {72, 2, 1, 256, -0.3},
                        {128, 2, 1, 70, 1 / Math.sqrt(128)}, {512, 1, 1, 100, 1 / Math.sqrt(512)}, {24, 4, 3, 7, 0.5}};
        for (double[] a : shapes) {
            int hd = (int) a[0], heads = (int) a[1], b = (int) a[2], t = (int) a[3], h = hd * heads;
            float scale = (float) a[4];
            add(c, "attention bf16 hd " + hd + ", " + heads + " heads, " + b + "x" + t + " tokens, scale " + scale, 5e-3, seed++,
                    true, in -> {
                        Tensor qkv = in.random(1, b * t, 3 * h), out = in.poisoned(b * t, h);
                        in.ops.attention(out, qkv, b, t, heads, scale);
                        return out;
                    });
        }
        return c;
    }

    /**
     * Bound of an op whose output a bf16 backend stores in bf16, fed bf16 values: one rounding to nearest even puts
     * every element within u = 2⁻⁸ (bf16's unit roundoff, 8 significant bits) of the float32 result, so the relative
     * L2 error is at most 2⁻⁸ ≈ 3.9e-3, plus the float32 summation-order noise (≤ 1e-5). Its typical size is the
     * rms of the rounding error, about 1.6e-3.
     */
    public static final double BF16_OUTPUT = 4e-3;

    /**
     * The image-op rows (the VAE's convolutions, upsampling, GroupNorm and token layout ops). With
     * {@code bf16Values} the inputs are bf16 values and the tolerances those of a backend that stores image
     * activations in bf16 ({@link #BF16_OUTPUT}; exact for pure data movement); small shapes then hit the tails of
     * the tensor-core kernels (channel counts 3 to 48, pixels no multiple of a tile) and both of their paths.
     */
    public static List<Case> image(Size size, boolean bf16Values, long seed) {
        List<Case> c = new ArrayList<>();
        boolean real = size == Size.REAL;
        double tol = bf16Values ? BF16_OUTPUT : 1e-5, sumTol = bf16Values ? BF16_OUTPUT : 1e-6;
        // {batch, ci, co, height, width, k} of the input (the last small row: output rows of 37, whole panels of a CPU
        // GEMM's columns in one row)
        int[][] convs = real
                ? new int[][] {{1, 512, 512, 32, 32, 3}, {1, 256, 128, 256, 256, 3}, {1, 512, 256, 128, 128, 1}, {1, 4, 512, 32, 32, 3},
                    {1, 128, 3, 256, 256, 3}}
                : new int[][] {{2, 5, 7, 9, 11, 3}, {1, 16, 32, 8, 8, 3}, {2, 12, 6, 5, 7, 1}, {1, 3, 40, 4, 4, 3}, {1, 24, 16, 7, 5, 3},
                    {2, 48, 24, 6, 7, 1}, {1, 16, 3, 9, 9, 3}, {1, 3, 8, 4, 37, 3}};
        for (int[] v : convs) {
            // the +residual variants take their weight as a plain constant (another path through a backend)
            for (boolean residual : new boolean[] {false, true}) {
                add(c, "conv2d " + Arrays.toString(v) + (residual ? " +residual" : ""), tol, seed++, bf16Values, in -> {
                    Tensor x = in.random(1, v[0], v[1], v[3], v[4]);
                    Tensor w = in.weight(residual ? PLAIN : CONV_WEIGHT, v[2], v[1], v[5], v[5]);
                    Tensor b = in.random(0.1, v[2]), r = residual ? in.random(1, v[0], v[2], v[3], v[4]) : null;
                    Tensor out = in.poisoned(v[0], v[2], v[3], v[4]);
                    in.ops.conv2d(out, x, w, b, r);
                    return out;
                });
            }
        }
        int[][] upConvs = real ? new int[][] {{1, 512, 512, 32, 32, 3}, {1, 256, 256, 128, 128, 3}}
                : new int[][] {{1, 16, 24, 4, 5, 3}, {2, 4, 8, 3, 3, 3}};
        for (int[] v : upConvs) {
            add(c, "upsampleConv2d " + Arrays.toString(v), tol, seed++, bf16Values, in -> {
                Tensor x = in.random(1, v[0], v[1], v[3], v[4]), w = in.weight(CONV_WEIGHT, v[2], v[1], v[5], v[5]);
                Tensor b = in.random(0.1, v[2]);
                Tensor scratch = in.poisoned(v[0], v[1], 2 * v[3], 2 * v[4]), out = in.poisoned(v[0], v[2], 2 * v[3], 2 * v[4]);
                in.ops.upsampleConv2d(out, x, w, b, scratch);
                return out;
            });
        }
        // the encoder's downsampler (pad one zero row and column, 3x3 stride 2), {batch, ci, co, height, width} of the
        // input: 5 channels (the float32 kernel), 16 and 8 (tensor cores) to 24 and 16 (channel-last output) or 3 (the
        // NCHW one), odd sides (the padding row or column never read), 2x3 -> 1x1, and output rows of 35 (whole panels
        // of a CPU GEMM's columns in one row); every other row takes its weight as a plain constant (converted per
        // call by a bf16 backend)
        int[][] downConvs = real ? new int[][] {{1, 128, 128, 256, 256}, {1, 256, 256, 128, 128}, {1, 512, 512, 64, 64}}
                : new int[][] {{2, 5, 7, 8, 10}, {1, 16, 24, 10, 6}, {2, 8, 16, 7, 9}, {1, 24, 3, 6, 6}, {1, 32, 8, 2, 3},
                    {1, 3, 8, 6, 70}};
        for (int i = 0; i < downConvs.length; i++) {
            int[] v = downConvs[i];
            Ops.ConstantKind kind = i % 2 == 0 ? CONV_WEIGHT : PLAIN;
            add(c, "downsampleConv2d " + Arrays.toString(v), tol, seed++, bf16Values, in -> {
                Tensor x = in.random(1, v[0], v[1], v[3], v[4]), w = in.weight(kind, v[2], v[1], 3, 3), b = in.random(0.1, v[2]);
                Tensor out = in.poisoned(v[0], v[2], v[3] / 2, v[4] / 2);
                in.ops.downsampleConv2d(out, x, w, b);
                return out;
            });
        }
        // {batch, channels, height, width, groups}, input scale and offset (the last small row: a mean 75 times the
        // spread, which statistics must not lose to cancellation)
        double[][] gns = real
                ? new double[][] {{1, 128, 256, 256, 32, 2, 0.3}, {1, 512, 32, 32, 32, 2, 0.3}, {1, 256, 128, 128, 32, 1, -0.5}}
                : new double[][] {{2, 32, 5, 6, 8, 2, 0.3}, {1, 48, 7, 5, 4, 1, 0.2}, {1, 128, 12, 12, 32, 2, -0.3}, {1, 16, 16, 16, 4, 4, 300}};
        for (double[] d : gns) {
            int[] gn = {(int) d[0], (int) d[1], (int) d[2], (int) d[3], (int) d[4]};
            for (boolean silu : new boolean[] {false, true}) {
                add(c, "groupNorm " + Arrays.toString(gn) + " x" + d[5] + "+" + d[6] + (silu ? " +silu" : ""), tol, seed++, bf16Values, in -> {
                    Tensor x = in.random(d[5], d[6], gn[0], gn[1], gn[2], gn[3]);
                    Tensor g = in.random(0.2, 1, gn[1]), be = in.random(0.1, gn[1]), out = in.poisoned(gn[0], gn[1], gn[2], gn[3]);
                    in.ops.groupNorm(out, x, g, be, gn[4], 1e-6f, silu);
                    return out;
                });
            }
        }
        int[][] ups = real ? new int[][] {{1, 512, 64, 64}} : new int[][] {{2, 3, 5, 7}, {2, 16, 5, 7}};
        for (int[] up : ups) {
            add(c, "upsampleNearest2x " + Arrays.toString(up), 0, seed++, bf16Values, in -> {
                Tensor x = in.random(1, up), out = in.poisoned(up[0], up[1], 2 * up[2], 2 * up[3]);
                in.ops.upsampleNearest2x(out, x);
                return out;
            });
        }
        int[][] toks = real ? new int[][] {{1, 512, 32, 32}} : new int[][] {{2, 6, 3, 5}, {2, 24, 3, 5}};
        for (int[] tok : toks) {
            add(c, "channelsToTokens " + Arrays.toString(tok), 0, seed++, bf16Values, in -> {
                Tensor x = in.random(1, tok), out = in.poisoned(tok[0] * tok[2] * tok[3], tok[1]);
                in.ops.channelsToTokens(out, x);
                return out;
            });
            add(c, "tokensToChannels +residual " + Arrays.toString(tok), sumTol, seed++, bf16Values, in -> {
                Tensor x = in.random(1, tok[0] * tok[2] * tok[3], tok[1]), r = in.random(1, tok), out = in.poisoned(tok);
                in.ops.tokensToChannels(out, x, r);
                return out;
            });
        }
        return c;
    }

    public static List<Case> all(Size size) {
        List<Case> c = new ArrayList<>(linear(size, false));
        boolean real = size == Size.REAL;
        long seed = c.size() + 1;

        int n = real ? 2 * 256 * 1152 : 1001;   // a tail after the groups of 4
        add(c, "add", 1e-6, seed++, in -> {
            Tensor a = in.random(1, n), b = in.random(1, n), out = in.poisoned(n);
            in.ops.add(out, a, b);
            return out;
        });
        add(c, "silu", 1e-6, seed++, in -> {
            Tensor a = in.random(4, n), out = in.poisoned(n);
            in.ops.silu(out, a);
            return out;
        });
        int[] dit = real ? new int[] {2, 256, 1152, 16} : new int[] {2, 16, 144, 2};
        int[] dit2 = real ? new int[] {2, 1024, 1152, 16} : new int[] {3, 7, 24, 4};
        for (int[] d : new int[][] {dit, dit2}) {
            int b = d[0], t = d[1], h = d[2], heads = d[3];
            add(c, "addTokenTable " + Arrays.toString(d), 1e-6, seed++, in -> {
                Tensor x = in.random(1, b * t, h), table = in.random(1, t, h);
                in.ops.addTokenTable(x, table, t);
                return x;
            });
            add(c, "modulatedLayerNorm " + Arrays.toString(d), 1e-5, seed++, in -> {
                Tensor x = in.random(3, 0.5, b * t, h), mod = in.random(0.5, b, 6 * h), out = in.poisoned(b * t, h);
                in.ops.modulatedLayerNorm(out, x, mod, 3, 4, t, 1e-6f);
                return out;
            });
            add(c, "gatedResidual " + Arrays.toString(d), 1e-6, seed++, in -> {
                Tensor x = in.random(1, b * t, h), y = in.random(1, b * t, h), mod = in.random(0.5, b, 6 * h);
                in.ops.gatedResidual(x, y, mod, 5, t);
                return x;
            });
            add(c, "attention " + Arrays.toString(d), 1e-5, seed++, in -> {
                Tensor qkv = in.random(1.5, b * t, 3 * h), out = in.poisoned(b * t, h);
                in.ops.attention(out, qkv, b, t, heads, (float) (1 / Math.sqrt(h / heads)));
                return out;
            });
        }
        // the scalar paths: H not a multiple of 4, H above the LayerNorm's registers; tokens past a block of 16 rows
        for (int[] d : real ? new int[][] {{2, 256, 1540}} : new int[][] {{2, 21, 30}, {1, 3, 1540}}) {
            int b = d[0], t = d[1], h = d[2];
            add(c, "modulatedLayerNorm " + Arrays.toString(d), 1e-5, seed++, in -> {
                Tensor x = in.random(3, 0.5, b * t, h), mod = in.random(0.5, b, 6 * h), out = in.poisoned(b * t, h);
                in.ops.modulatedLayerNorm(out, x, mod, 0, 1, t, 1e-6f);
                return out;
            });
            add(c, "gatedResidual " + Arrays.toString(d), 1e-6, seed++, in -> {
                Tensor x = in.random(1, b * t, h), y = in.random(1, b * t, h), mod = in.random(0.5, b, 6 * h);
                in.ops.gatedResidual(x, y, mod, 2, t);
                return x;
            });
        }
        // LightningDiT's layers: {batch, tokens, H, heads, SwiGLU width} (XL/1: 256 tokens of 1152, 16 heads of 72,
        // width int(2/3 · 4H); small: an odd width for the scalar path)
        for (int[] d : real ? new int[][] {{2, 256, 1152, 16, 3072}} : new int[][] {{2, 16, 144, 2, 384}, {3, 5, 30, 3, 21}}) {
            int b = d[0], t = d[1], h = d[2], heads = d[3], hd = h / heads, f = d[4];
            add(c, "modulatedRmsNorm " + Arrays.toString(d), 1e-5, seed++, in -> {
                Tensor x = in.random(3, 0.5, b * t, h), w = in.random(0.3, 1, h), mod = in.random(0.5, b, 6 * h);
                Tensor out = in.poisoned(b * t, h);
                in.ops.modulatedRmsNorm(out, x, w, mod, 3, 4, t, 1e-6f);
                return out;
            });
            add(c, "swiglu " + Arrays.toString(d), 1e-6, seed++, in -> {
                Tensor x = in.random(3, b * t, 2 * f), out = in.poisoned(b * t, f);
                in.ops.swiglu(out, x);
                return out;
            });
            add(c, "rotaryQk " + Arrays.toString(d), 1e-6, seed++, in -> {
                Tensor qkv = in.random(1, b * t, 3 * h), cos = in.random(1, t, hd), sin = in.random(1, t, hd);
                in.ops.rotaryQk(qkv, cos, sin, t, heads);
                return qkv;
            });
        }
        int[] vaeAttn = real ? new int[] {1, 1024, 512} : new int[] {2, 70, 64};
        add(c, "attention single head " + Arrays.toString(vaeAttn), 1e-5, seed++, in -> {
            int b = vaeAttn[0], t = vaeAttn[1], h = vaeAttn[2];
            Tensor qkv = in.random(1, b * t, 3 * h), out = in.poisoned(b * t, h);
            in.ops.attention(out, qkv, b, t, 1, (float) (1 / Math.sqrt(h)));
            return out;
        });
        add(c, "embeddingLookup", 0, seed++, in -> {
            Tensor table = in.random(1, 11, 40), y = in.ints(11, 5), out = in.poisoned(5, 40);
            in.ops.embeddingLookup(out, table, y);
            return out;
        });
        add(c, "timestepFrequencies", 1e-6, seed++, in -> {
            float[] t = {0, 1, 250, 500, 999};
            Tensor tt = in.adopt(in.ops.upload(new HostTensor(Shape.of(5), t)));
            Tensor freqs = in.adopt(in.ops.upload(new HostTensor(Shape.of(128), dev.ditj.model.TimestepFrequencies.table())));
            Tensor out = in.poisoned(5, 256);
            in.ops.timestepFrequencies(out, tt, freqs);
            return out;
        });
        // times that are a view of a longer tensor: the op reads the view's 3, not its base's 7
        add(c, "timestepFrequencies of a view", 1e-6, seed++, in -> {
            float[] t = {3, 40, 700, 1, 2, 5, 8};
            Tensor base = in.adopt(in.ops.upload(new HostTensor(Shape.of(7), t)));
            Tensor tt = in.adopt(in.ops.view(base, Shape.of(3)));
            Tensor freqs = in.adopt(in.ops.upload(new HostTensor(Shape.of(128), dev.ditj.model.TimestepFrequencies.table())));
            Tensor out = in.poisoned(3, 256);
            in.ops.timestepFrequencies(out, tt, freqs);
            return out;
        });
        // {patch, channels in, channels out}: DiT's, and (small) enough channels that a token row takes two tiles
        for (int[] pc : real ? new int[][] {{2, 4, 8}, {4, 4, 8}} : new int[][] {{2, 4, 8}, {4, 4, 8}, {2, 900, 901}}) {
            int p = pc[0], ch = pc[1], co = pc[2], b = 2, s = real ? 32 : 8, g = s / p;
            add(c, "patchify p" + p + " c" + ch, 0, seed++, in -> {
                Tensor x = in.random(1, b, ch, s, s), out = in.poisoned(b * g * g, ch * p * p);
                in.ops.patchify(out, x, p);
                return out;
            });
            add(c, "unpatchify p" + p + " c" + co, 0, seed++, in -> {
                Tensor x = in.random(1, b * g * g, p * p * co), out = in.poisoned(b, co, s, s);
                in.ops.unpatchify(out, x, p, co);
                return out;
            });
        }
        c.addAll(image(size, false, seed));
        seed += c.size();
        add(c, "channelAffine", 1e-6, seed++, in -> {
            Tensor x = in.random(3, 2, 4, 5, 5), out = in.poisoned(2, 4, 5, 5);
            in.ops.channelAffine(out, x, new float[] {1, 0.5f, 2, 3}, 0.18215f, new float[] {0, 1, -1, 0.25f});
            return out;
        });
        int lat = real ? 32 : 4;
        add(c, "cfgCombine 3 channels", 1e-6, seed++, in -> {
            Tensor m = in.random(1, 4, 8, lat, lat), out = in.poisoned(2, 8, lat, lat);
            in.ops.cfgCombine(out, m, 3, 4f);
            return out;
        });
        // forward_with_cfg of a learned-sigma velocity model: both halves, the sigma channels dropped
        add(c, "cfgCombine 3 channels both halves, 4 of 8 channels", 1e-6, seed++, in -> {
            Tensor m = in.random(1, 4, 8, lat, lat), out = in.poisoned(4, 4, lat, lat);
            in.ops.cfgCombine(out, m, 3, 1.5f);
            return out;
        });
        add(c, "cfgCombine unguided, 4 of 8 channels", 0, seed++, in -> {
            Tensor m = in.random(1, 2, 8, lat, lat), out = in.poisoned(2, 4, lat, lat);
            in.ops.cfgCombine(out, m, 0, 1f);
            return out;
        });
        for (boolean alias : new boolean[] {false, true}) {
            add(c, "scaledAdd" + (alias ? " in place" : ""), 1e-6, seed++, in -> {
                Tensor x = in.random(1, 3, 4, lat, lat), y = in.random(1, 3, 4, lat, lat);
                Tensor out = alias ? x : in.poisoned(3, 4, lat, lat);
                in.ops.scaledAdd(out, 0.75f, x, -0.0625f, y);
                return out;
            });
        }
        add(c, "maskBlend", 1e-6, seed++, in -> {
            Tensor x = in.random(1, 2, 4, lat, lat), keep = in.random(1, 2, 4, lat, lat), m = in.random(0.25, 0.5, 2, 4, lat, lat);
            in.ops.maskBlend(x, keep, m);
            return x;
        });
        add(c, "maskBlend binary mask" + (real ? "" : " 3x3"), 0, seed++, in -> {
            int side = real ? lat : 3;
            Tensor x = in.random(1, 2, 4, side, side), keep = in.random(1, 2, 4, side, side);
            float[] m = in.values(2 * 4 * side * side, 1, 0);
            for (int i = 0; i < m.length; i++) m[i] = m[i] < 0 ? 0f : 1f;
            in.ops.maskBlend(x, keep, in.adopt(in.ops.upload(new HostTensor(Shape.of(2, 4, side, side), m))));
            return x;
        });
        if (!real) {    // 3x3 latents: 9 values per channel, the kernels' scalar path
            add(c, "cfgCombine 3 channels both halves 3x3", 1e-6, seed++, in -> {
                Tensor m = in.random(1, 4, 8, 3, 3), out = in.poisoned(4, 4, 3, 3);
                in.ops.cfgCombine(out, m, 3, 1.5f);
                return out;
            });
            add(c, "scaledAdd 3x3", 1e-6, seed++, in -> {
                Tensor x = in.random(1, 2, 4, 3, 3), y = in.random(1, 2, 4, 3, 3), out = in.poisoned(2, 4, 3, 3);
                in.ops.scaledAdd(out, 1f, x, 0.03125f, y);
                return out;
            });
            add(c, "cfgCombine 3 channels 3x3", 1e-6, seed++, in -> {
                Tensor m = in.random(1, 4, 8, 3, 3), out = in.poisoned(2, 8, 3, 3);
                in.ops.cfgCombine(out, m, 3, 4f);
                return out;
            });
            add(c, "ddimStep noise 3x3", 1e-6, seed++, in -> {
                Tensor x = in.random(1, 2, 4, 3, 3), m = in.random(1, 2, 8, 3, 3), z = in.random(1, 2, 4, 3, 3);
                in.ops.ddimStep(x, m, z, new Ops.DdimCoefficients(1.1f, 0.45f, 0.95f, 0.2f, 0.3f, true));
                return x;
            });
        }
        for (boolean learned : new boolean[] {true, false}) {
            for (boolean noise : new boolean[] {true, false}) {
                add(c, "ddpmStep learned=" + learned + " noise=" + noise, 1e-6, seed++, in -> {
                    int oc = learned ? 8 : 4;
                    Tensor x = in.random(1, 2, 4, lat, lat), m = in.random(1, 2, oc, lat, lat), z = in.random(1, 2, 4, lat, lat);
                    in.ops.ddpmStep(x, m, noise ? z : null,
                            new Ops.DdpmCoefficients(1.2f, 0.6f, 0.3f, 0.7f, -6f, -4f, learned, -5f, noise));
                    return x;
                });
            }
        }
        for (boolean noise : new boolean[] {true, false}) {
            add(c, "ddimStep noise=" + noise, 1e-6, seed++, in -> {
                Tensor x = in.random(1, 2, 4, lat, lat), m = in.random(1, 2, 8, lat, lat), z = in.random(1, 2, 4, lat, lat);
                in.ops.ddimStep(x, m, noise ? z : null, new Ops.DdimCoefficients(1.1f, 0.45f, 0.95f, 0.2f, 0.3f, noise));
                return x;
            });
        }
        for (boolean second : new boolean[] {false, true}) {
            add(c, "dpmSolverStep second=" + second, 1e-6, seed++, in -> {
                Tensor x = in.random(1, 2, 4, lat, lat), m = in.random(1, 2, 4, lat, lat);
                Tensor x0 = in.poisoned(2, 4, lat, lat), prev = in.random(1, 2, 4, lat, lat);
                in.ops.dpmSolverStep(x, m, x0, prev, new Ops.DpmSolverCoefficients(0.8f, 0.6f, 0.9f, -0.3f, second, 1.7f));
                float[] xs = in.ops.read(x), x0s = in.ops.read(x0);
                float[] both = Arrays.copyOf(xs, xs.length + x0s.length);
                System.arraycopy(x0s, 0, both, xs.length, x0s.length);
                return in.adopt(in.ops.upload(new HostTensor(Shape.of(both.length), both)));
            });
        }
        return c;
    }
}
