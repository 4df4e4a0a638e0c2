package dev.ditj.ops;

import dev.ditj.cpu.CpuOps;
import dev.ditj.cuda.CudaOps;
import dev.ditj.emu.EmulatedDevice;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Precision;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link Ops#downsampleConv2d} against results worked out by hand from torch's definition (F.pad(x, (0, 1, 0, 1)),
 * then Conv2d(3, stride=2, padding=0)), on every backend: the literal reference, the CPU, and the CUDA backend on the
 * emulator in FP32 (conv.cu) and BF16 (conv_bf16.cu: 8 channels in and out, channel-last). Every value is exact in
 * bf16 and every sum exact in fp32, so all four must match exactly.
 *
 * <p>Input: 8 identical channels holding 1, 2, 3, ... row by row. Output channel 0 weighs every tap of every channel
 * 1/8 (the sum of the 3x3 window); channel 1 only tap (2, 2), so it reads x[2y + 2][2x + 2], which is the padding
 * row or column (0) when 2y + 2 = H or 2x + 2 = W — padding on the left or top instead would give x[2y + 1][2x + 1];
 * channels 2..7 weigh nothing. Bias co / 2.
 */
class DownsampleConvTest {
    private static final int CH = 8;
    private static List<Ops> backends;

    @BeforeAll
    static void setUp() {
        backends = List.of(new NaiveOps(), new CpuOps(2), new CudaOps(new EmulatedDevice(), "emu"),
                new CudaOps(new EmulatedDevice(), "emu-bf16", Precision.BF16));
    }

    @AfterAll
    static void tearDown() throws Exception {
        for (Ops o : backends) o.close();
    }

    static List<Integer> backendIndices() {
        return List.of(0, 1, 2, 3);
    }

    /**
     * 4x4 input, padded to 5x5:          window sums (channel 0):   tap (2, 2) (channel 1):
     *    1  2  3  4 | 0                    1+2+3+5+6+7+9+10+11 = 54   x[2][2] = 11
     *    5  6  7  8 | 0                    3+4+7+8+11+12 (+0) = 45    x[2][4] = pad = 0
     *    9 10 11 12 | 0                    9+10+11+13+14+15 = 72      x[4][2] = pad = 0
     *   13 14 15 16 | 0                    11+12+15+16 = 54           x[4][4] = pad = 0
     *    0  0  0  0   0
     */
    @ParameterizedTest(name = "backend {0}")
    @MethodSource("backendIndices")
    void evenSidesReadThePaddingBelowAndRight(int backend) {
        float[] got = run(backends.get(backend), 4, 4);
        assertArrayEquals(expected(new float[] {54, 45, 72, 54}, new float[] {11, 0, 0, 0}), got, 0f, backends.get(backend).name());
    }

    /**
     * 5x5 input (1..25): torch pads to 6x6 and gives floor((6 - 3) / 2) + 1 = 2 rows and columns, whose windows end at
     * row and column 4: the padding is never read. Window sums 63, 81, 153, 171; tap (2, 2): x[2][2] = 13, x[2][4] =
     * 15, x[4][2] = 23, x[4][4] = 25.
     */
    @ParameterizedTest(name = "backend {0}")
    @MethodSource("backendIndices")
    void oddSidesRoundDown(int backend) {
        float[] got = run(backends.get(backend), 5, 5);
        assertArrayEquals(expected(new float[] {63, 81, 153, 171}, new float[] {13, 15, 23, 25}), got, 0f, backends.get(backend).name());
    }

    /** An output that is not [B, Co, H/2, W/2], or an input below 2x2 (torch: an empty output), is refused. */
    @ParameterizedTest(name = "backend {0}")
    @MethodSource("backendIndices")
    void wrongShapesAreRefused(int backend) {
        Ops ops = backends.get(backend);
        if (ops instanceof NaiveOps) return;   // the reference checks nothing but torch's size
        try (Tensor x = ops.alloc(Shape.of(1, CH, 4, 4)); Tensor w = ops.alloc(Shape.of(CH, CH, 3, 3)); Tensor b = ops.alloc(Shape.of(CH));
             Tensor big = ops.alloc(Shape.of(1, CH, 3, 3)); Tensor x1 = ops.alloc(Shape.of(1, CH, 1, 4));
             Tensor small = ops.alloc(Shape.of(1, CH, 1, 2))) {
            assertThrows(IllegalArgumentException.class, () -> ops.downsampleConv2d(big, x, w, b), "out 3x3 for 4x4");
            assertThrows(IllegalArgumentException.class, () -> ops.downsampleConv2d(small, x1, w, b), "1x4 input");
        }
    }

    private static float[] run(Ops ops, int h, int w) {
        float[] x = new float[CH * h * w], wt = new float[CH * CH * 9], bias = new float[CH];
        for (int c = 0; c < CH; c++) {
            for (int i = 0; i < h * w; i++) x[c * h * w + i] = i + 1;
            for (int t = 0; t < 9; t++) wt[c * 9 + t] = 1f / CH;      // output channel 0, input channel c, tap t
            wt[(CH + c) * 9 + 8] = 1f / CH;                            // output channel 1, tap (2, 2)
        }
        for (int o = 0; o < CH; o++) bias[o] = o / 2f;
        try (Tensor xt = ops.upload(new HostTensor(Shape.of(1, CH, h, w), x));
             Tensor wc = ops.constant(new HostTensor(Shape.of(CH, CH, 3, 3), wt), Ops.ConstantKind.CONV_WEIGHT);
             Tensor bt = ops.upload(new HostTensor(Shape.of(CH), bias)); Tensor out = ops.alloc(Shape.of(1, CH, h / 2, w / 2))) {
            float[] nan = new float[CH * (h / 2) * (w / 2)];
            Arrays.fill(nan, Float.NaN);
            ops.write(out, nan);
            ops.downsampleConv2d(out, xt, wc, bt);
            ops.synchronize();
            return ops.read(out);
        }
    }

    /** [1, 8, 2, 2]: channel 0 and 1 as given plus their bias, the others their bias alone. */
    private static float[] expected(float[] window, float[] tap) {
        float[] e = new float[CH * 4];
        for (int o = 0; o < CH; o++) {
            for (int i = 0; i < 4; i++) e[o * 4 + i] = (o == 0 ? window[i] : o == 1 ? tap[i] : 0) + o / 2f;
        }
        return e;
    }
}
