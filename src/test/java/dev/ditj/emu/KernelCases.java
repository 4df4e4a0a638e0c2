package dev.ditj.emu;

import dev.ditj.cuda.CudaException;
import dev.ditj.cuda.Device;
import dev.ditj.emu.Ref.Mode;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import static dev.ditj.emu.KernelRig.dim;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The kernel-test table: each case runs test kernels (kernels/tests/*.cu, compiled by nvcc) on a {@link Device} and
 * checks the results against values computed here in Java. The same table runs on the emulator (always) and on a
 * real GPU through JCuda (tag gpu); cases that test what only the emulator checks are marked emulator-only.
 */
public final class KernelCases {
    /** One row: {@code emulatorOnly} cases depend on emulator checks (poison, bounds, deadlock detection). */
    public record Case(String name, boolean emulatorOnly, Consumer<KernelRig> run) {
        @Override
        public String toString() {
            return name;
        }
    }

    private KernelCases() {
    }

    public static List<Case> all() {
        List<Case> c = new ArrayList<>();
        c.add(new Case("int ops", false, KernelCases::intOps));
        c.add(new Case("long ops", false, KernelCases::longOps));
        c.add(new Case("float ops and rounding modes", false, KernelCases::floatOps));
        c.add(new Case("approximate transcendentals", false, KernelCases::approxOps));
        c.add(new Case("CUDA math library (sinf of huge arguments, tanhf, erff, powf, ...)", false, KernelCases::libmOps));
        c.add(new Case("double ops", false, KernelCases::doubleOps));
        c.add(new Case("device-function calls (.func, nested, divergent)", false, KernelCases::calls));
        c.add(new Case("double sin/cos of huge arguments (called slow path, carry arithmetic)", false, KernelCases::hugeTrig));
        c.add(new Case("cvt from float", false, KernelCases::convertFromFloat));
        c.add(new Case("cvt from int", false, KernelCases::convertFromInt));
        c.add(new Case("divergent loops (collatz)", false, KernelCases::collatz));
        c.add(new Case("divergence and reconvergence", false, KernelCases::divergeReconverge));
        c.add(new Case("local-memory array", false, KernelCases::localArray));
        c.add(new Case("3D grid and block indices", false, KernelCases::indices));
        c.add(new Case("shared-memory tree reduction", false, KernelCases::blockSum));
        c.add(new Case("dynamic shared memory, syncthreads_count", false, KernelCases::reverseDynamic));
        c.add(new Case("named barriers (bar.arrive / bar.sync)", false, KernelCases::namedBarrier));
        c.add(new Case("vector and generic loads/stores", false, KernelCases::vectorIo));
        c.add(new Case("fp32 tiled GEMM, bit-exact (2D blocks, shared tiles, ragged edges)", false, r -> sgemm(r, 100, 70, 45)));
        c.add(new Case("shuffles, votes, redux", false, KernelCases::warpOps));
        c.add(new Case("butterfly sums in divergent warps", false, KernelCases::warpSum));
        c.add(new Case("global atomics", false, KernelCases::atomics));
        c.add(new Case("shared atomics + red", false, KernelCases::histogram));
        c.add(new Case("mma.sync m16n8k8 f16", false, KernelCases::mmaSingle));
        c.add(new Case("ldmatrix x1/x2/x4, .trans", false, KernelCases::ldmatrix));
        c.add(new Case("GEMM: mma.sync + ldmatrix + cp.async (bf16)", false, KernelCases::gemm));
        c.add(new Case("cp.async lands at wait_all", false, r -> cpAsync(r, false)));
        c.add(new Case("elementwise kernels of the jar (silu, add)", false, KernelCases::elementwise));
        c.add(new Case("graph capture and replay, events", false, KernelCases::graph));
        c.add(new Case("wrong launch arguments", false, KernelCases::wrongArguments));
        c.add(new Case("cp.async without wait does not land", true, r -> cpAsync(r, true)));
        c.add(new Case("shared memory starts poisoned", true, KernelCases::poisonedShared));
        c.add(new Case("out-of-bounds store is an error", true, KernelCases::outOfBounds));
        c.add(new Case("barrier deadlock is an error", true, KernelCases::deadlock));
        return c;
    }

    // ------------------------------------------------------------------------------------------ checking

    static void assertFloats(float[] expected, float[] actual, double relTol, double absTol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            if (Float.isNaN(e) && Float.isNaN(a)) continue;
            if (relTol == 0 && absTol == 0) {
                if (Float.floatToIntBits(e) != Float.floatToIntBits(a)) {
                    fail(what + " [" + i + "]: expected " + e + " (0x" + Integer.toHexString(Float.floatToRawIntBits(e)) + ") but was " + a
                            + " (0x" + Integer.toHexString(Float.floatToRawIntBits(a)) + ")");
                }
            } else if (!(Math.abs(e - a) <= absTol + relTol * Math.abs(e)) && !(e == a)) {
                fail(what + " [" + i + "]: expected " + e + " but was " + a + " (tolerance " + relTol + " rel, " + absTol + " abs)");
            }
        }
    }

    static void assertInts(int[] expected, int[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                fail(what + " [" + i + "]: expected " + expected[i] + " (0x" + Integer.toHexString(expected[i]) + ") but was "
                        + actual[i] + " (0x" + Integer.toHexString(actual[i]) + ")");
            }
        }
    }

    // ------------------------------------------------------------------------------------------ integers

    static int[] intInputs(SplittableRandom rng, int n) {
        int[] specials = {0, 1, -1, 2, 31, 32, 33, Integer.MAX_VALUE, Integer.MIN_VALUE + 1, 0x80000000, 0x7fff8000, 12345, -7, 255, 0xff00ff00};
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = i < specials.length ? specials[i] : switch (i % 3) {
                case 0 -> rng.nextInt();
                case 1 -> rng.nextInt(-100, 100);
                default -> rng.nextInt() >> rng.nextInt(31);
            };
        }
        return v;
    }

    private static void intOps(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(5);
        int n = 200;
        int[] a = intInputs(rng, n), b = intInputs(rng, n);
        for (int i = 0; i < n; i++) if (a[i] == Integer.MIN_VALUE && b[i] == -1) b[i] = 3;   // INT_MIN / -1 is undefined
        // rotate b so that special values meet different a values
        int[] bb = new int[n];
        for (int i = 0; i < n; i++) bb[i] = b[(i * 7 + 3) % n];
        for (int i = 0; i < n; i++) if (a[i] == Integer.MIN_VALUE && bb[i] == -1) bb[i] = 3;
        long out = r.poisoned(n * 32 * 4L);
        r.launch("emu_int", "int_ops", dim(2), dim(128), 0, out, r.ints(a), r.ints(bb), n);
        int[] got = r.readInts(out, n * 32);
        for (int i = 0; i < n; i++) assertInts(intExpected(a[i], bb[i]), Arrays.copyOfRange(got, i * 32, i * 32 + 32), "int_ops(" + a[i] + ", " + bb[i] + ")");
    }

    static int[] intExpected(int x, int y) {
        long ux = x & 0xffffffffL, uy = y & 0xffffffffL;
        int[] o = new int[32];
        o[0] = x + y;
        o[1] = x - y;
        o[2] = x * y;
        o[3] = (int) (((long) x * y) >> 32);
        o[4] = (int) ((ux * uy) >>> 32);
        o[5] = y != 0 ? x / y : 7;
        o[6] = y != 0 ? x % y : 7;
        o[7] = uy != 0 ? (int) (ux / uy) : 7;
        o[8] = uy != 0 ? (int) (ux % uy) : 7;
        o[9] = x << (y & 31);
        o[10] = x >> (y & 31);
        o[11] = x >>> (y & 31);
        o[12] = Integer.bitCount(x);
        o[13] = Integer.numberOfLeadingZeros(x);
        o[14] = Integer.reverse(x);
        o[15] = x == 0 ? 0 : Integer.numberOfTrailingZeros(x) + 1;
        o[16] = Math.min(x, y);
        o[17] = Math.max(x, y);
        o[18] = (int) Math.min(ux, uy);
        o[19] = Math.abs(x);
        o[20] = (x & y) ^ (~x | y);
        o[21] = bytePerm(x, y, y & 0x7777);
        int s = y & 31;
        o[22] = (int) ((((long) y << 32 | ux) << s) >>> 32);
        long sh = Math.min(ux, 32);
        o[23] = (int) (((long) y << 32 | ux) >>> sh);
        o[24] = bitExtract(x, y & 31, (y >> 8) & 31, false);
        o[25] = bitExtract(x, y & 31, (y >> 8) & 31, true);
        o[26] = bitInsert(x, y, y & 31, (x >> 8) & 31);
        int c = x * 3, lut = 0xb4, v = 0;
        for (int bit = 0; bit < 32; bit++) {
            int idx = ((x >>> bit & 1) << 2) | ((y >>> bit & 1) << 1) | (c >>> bit & 1);
            v |= (lut >>> idx & 1) << bit;
        }
        o[27] = v;
        o[28] = (int) (Math.abs((long) x - y) + 5);
        o[29] = (int) (((long) x + y) >> 1);
        o[30] = (short) x * (y & 0xff);
        o[31] = x > y ? Integer.numberOfLeadingZeros(x ^ y) : (y == 0 ? 0 : Integer.numberOfTrailingZeros(y) + 1) - 1;
        return o;
    }

    static int bytePerm(int x, int y, int s) {
        byte[] bytes = new byte[8];
        for (int i = 0; i < 4; i++) {
            bytes[i] = (byte) (x >>> (8 * i));
            bytes[i + 4] = (byte) (y >>> (8 * i));
        }
        int r = 0;
        for (int i = 0; i < 4; i++) r |= (bytes[(s >>> (4 * i)) & 7] & 0xff) << (8 * i);
        return r;
    }

    /** bfe as the PTX ISA defines it, bit by bit. */
    static int bitExtract(int a, int pos, int len, boolean signed) {
        if (len == 0) return 0;
        int sbit = signed ? (a >>> Math.min(pos + len - 1, 31)) & 1 : 0;
        int d = 0;
        for (int i = 0; i < 32; i++) d |= (i < len && pos + i <= 31 ? (a >>> (pos + i)) & 1 : sbit) << i;
        return d;
    }

    static int bitInsert(int f, int b, int pos, int len) {
        int d = b;
        for (int i = 0; i < len && pos + i < 32; i++) d = (d & ~(1 << (pos + i))) | ((f >>> i & 1) << (pos + i));
        return d;
    }

    private static void longOps(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(6);
        int n = 160;
        long[] a = new long[n], b = new long[n];
        long[] specials = {0, 1, -1, Long.MAX_VALUE, Long.MIN_VALUE + 1, 1L << 40, -(1L << 33), 0xffffffffL, 63, 64};
        for (int i = 0; i < n; i++) {
            a[i] = i < specials.length ? specials[i] : rng.nextLong() >> rng.nextInt(63);
            b[i] = i < specials.length ? specials[(i + 3) % specials.length] : rng.nextLong() >> rng.nextInt(63);
        }
        long out = r.poisoned(n * 16 * 8L);
        r.launch("emu_int", "long_ops", dim(2), dim(96), 0, out, r.longs(a), r.longs(b), n);
        long[] got = r.readLongs(out, n * 16);
        for (int i = 0; i < n; i++) {
            long x = a[i], y = b[i];
            long[] e = new long[16];
            e[0] = x + y;
            e[1] = x - y;
            e[2] = x * y;
            e[3] = Math.multiplyHigh(x, y);
            e[4] = new java.math.BigInteger(Long.toUnsignedString(x)).multiply(new java.math.BigInteger(Long.toUnsignedString(y))).shiftRight(64).longValue();
            e[5] = y != 0 ? x / y : 7;
            e[6] = y != 0 ? x % y : 7;
            e[7] = y != 0 ? Long.divideUnsigned(x, y) : 7;
            e[8] = x << (y & 63);
            e[9] = x >> (y & 63);
            e[10] = x >>> (y & 63);
            e[11] = Long.bitCount(x) + 100L * Long.numberOfLeadingZeros(x);
            e[12] = Long.reverse(x);
            e[13] = Math.min(x, y) ^ (Long.compareUnsigned(x, y) >= 0 ? x : y);
            e[14] = (long) (int) x * (int) y;
            e[15] = (x & 0xffffffffL) * (y & 0xffffffffL);
            for (int k = 0; k < 16; k++) {
                assertEquals(e[k], got[i * 16 + k], "long_ops(" + x + ", " + y + ") output " + k);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ floating point

    static float[] floatInputs(SplittableRandom rng, int n, float[] specials) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            if (i < specials.length) v[i] = specials[i];
            else {
                double mag = Math.pow(10, rng.nextDouble(-8, 8));
                v[i] = (float) (mag * (rng.nextBoolean() ? 1 : -1) * rng.nextDouble(0.5, 1));
                if (i % 11 == 0) v[i] = Math.round(v[i] * 2) / 2f;   // ties for rint / rounding to integers
            }
        }
        return v;
    }

    private static final float[] FLOAT_SPECIALS = {0f, -0f, 1f, -1f, 0.5f, 2.5f, -3.5f, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, Float.NaN, Float.MIN_VALUE, -3 * Float.MIN_VALUE, Float.MIN_NORMAL * 1.5f, 1e30f,
            -1e30f, Float.MAX_VALUE, 16777217f, 0.1f, 3e-39f, 7f};

    private static void floatOps(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(7);
        int n = 256;
        float[] a = floatInputs(rng, n, FLOAT_SPECIALS), b = floatInputs(rng, n, new float[0]), c = floatInputs(rng, n, new float[0]);
        for (int i = 0; i < 20; i++) {         // specials against specials too
            b[i + 20] = FLOAT_SPECIALS[(i * 3) % 20];
            c[i + 40] = FLOAT_SPECIALS[(i * 7) % 20];
            a[i + 60] = b[i + 60] * (1 + 0x1p-23f);   // near cancellation
        }
        long out = r.poisoned(n * 32 * 4L);
        r.launch("emu_float", "float_ops", dim(2), dim(128), 0, out, r.floats(a), r.floats(b), r.floats(c), n);
        float[] got = r.readFloats(out, n * 32);
        for (int i = 0; i < n; i++) {
            float x = a[i], y = b[i], z = c[i];
            assertFloats(floatExpected(x, y, z), Arrays.copyOfRange(got, i * 32, i * 32 + 32), 0, 0,
                    "float_ops(" + x + ", " + y + ", " + z + ")");
        }
    }

    private static float ftz(float f) {
        return Math.abs(f) < Float.MIN_NORMAL ? Math.copySign(0f, f) : f;
    }

    private static boolean finite(float... v) {
        for (float f : v) if (!Float.isFinite(f)) return false;
        return true;
    }

    /** x op y in {@code mode}, exactly: through BigDecimal when the operands are finite, IEEE rules otherwise. */
    private static float rounded(float ieee, Mode mode, BigDecimal exact) {
        if (exact == null || Float.isNaN(ieee)) return ieee;
        if (exact.signum() == 0) return ieee;   // exact zero: the sign of zero as IEEE gives it (RN rules suffice here)
        return Ref.toFloat(exact, mode);
    }

    private static BigDecimal exactSum(float x, float y) {
        return finite(x, y) ? Ref.big(x).add(Ref.big(y)) : null;
    }

    private static BigDecimal exactProduct(float x, float y) {
        return finite(x, y) ? Ref.big(x).multiply(Ref.big(y)) : null;
    }

    private static BigDecimal exactFma(float x, float y, float z) {
        return finite(x, y, z) ? Ref.big(x).multiply(Ref.big(y)).add(Ref.big(z)) : null;
    }

    static float[] floatExpected(float x, float y, float z) {
        float[] o = new float[32];
        o[0] = x + y;
        o[1] = x - y;
        o[2] = x * y;
        o[3] = Math.fma(x, y, z);
        o[4] = x / y;
        o[5] = (float) Math.sqrt(Math.abs(x));
        o[6] = rounded(x + y, Mode.RZ, exactSum(x, y));
        o[7] = rounded(x * y, Mode.RU, exactProduct(x, y));
        o[8] = rounded(Math.fma(x, y, z), Mode.RD, exactFma(x, y, z));
        BigDecimal q = finite(x, y) && y != 0 ? Ref.big(x).divide(Ref.big(y), new java.math.MathContext(80)) : null;
        o[9] = rounded(x / y, Mode.RZ, q);
        o[10] = 1f / y;
        o[11] = Float.isNaN(x) ? y : Float.isNaN(y) ? x : Math.min(x, y);
        o[12] = Float.isNaN(x) ? z : Float.isNaN(z) ? x : Math.max(x, z);
        o[13] = Math.abs(x) - y;
        o[14] = Math.copySign(x, y);
        o[15] = (float) Math.floor(x);
        o[16] = (float) Math.ceil(x);
        o[17] = (float) (x < 0 ? Math.ceil(x) : Math.floor(x));
        o[18] = (float) Math.rint(x);
        o[19] = x > 0 ? Math.min(x, 1f) : 0f;
        o[20] = x > y ? z : x;
        o[21] = ftz(ftz(x) + ftz(y));
        float m = ftz(ftz(x) * ftz(z));
        o[22] = m > 0 ? Math.min(m, 1f) : 0f;
        o[23] = rounded(x - z, Mode.RU, exactSum(x, -z));
        float ay = Math.abs(y);
        o[24] = Float.isFinite(ay) && ay != 0 ? Ref.toFloat(new BigDecimal(Math.sqrt(ay)).add(correction(ay)), Mode.RD) : (float) Math.sqrt(ay);
        o[25] = rounded(x + z, Mode.RD, exactSum(x, z));
        o[26] = rounded(Math.fma(x, z, y), Mode.RZ, exactFma(x, z, y));
        o[27] = rounded(y * z, Mode.RZ, exactProduct(y, z));
        o[28] = Float.isNaN(x + y) ? 1f : Float.isInfinite(x * y) ? 2f : 3f;
        o[29] = rounded(Math.fma(y, z, x), Mode.RU, exactFma(y, z, x));
        o[30] = Float.isNaN(x) || Float.isNaN(y) ? Float.NaN : x > y ? x - y : 0f;
        o[31] = x % y;
        return o;
    }

    /** Tiny signed nudge telling on which side of the double sqrt the exact root lies (enough for directed rounding). */
    private static BigDecimal correction(float a) {
        double s = Math.sqrt(a);
        int c = new BigDecimal(s).multiply(new BigDecimal(s)).compareTo(new BigDecimal(a));
        return new BigDecimal(c > 0 ? -1e-60 : c < 0 ? 1e-60 : 0);
    }

    private static void approxOps(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(8);
        int n = 256;
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rng.nextDouble(-3.1, 3.1);
        a[0] = 0;
        a[1] = 1;
        a[2] = -1e-3f;
        long out = r.poisoned(n * 12 * 4L);
        r.launch("emu_float", "approx_ops", dim(1), dim(256), 0, out, r.floats(a), n);
        float[] got = r.readFloats(out, n * 12);
        // tolerances: the hardware's documented maximum errors (see FloatOps), with the input rounding of __expf
        double[] rel = {2e-6, 1e-6, 2e-6, 0, 0, 1e-3, 2e-6, 2e-6, 2e-6, 1e-6, 1e-6, 0};
        double[] abs = {0, 2e-6, 0, 1e-6, 1e-6, 1e-6, 0, 0, 0, 0, 0, 1e-6};
        for (int i = 0; i < n; i++) {
            double x = a[i];
            double[] e = {Math.exp(x), Math.log(Math.abs((float) x) + 0.5f), 1 / Math.sqrt(Math.abs((float) x) + 0.25f), Math.sin(x),
                    Math.cos(x), Math.tanh(x), x / (1.5f + (float) x * (float) x), Math.exp(x), Math.pow(2, x),
                    x == 0 ? Double.POSITIVE_INFINITY : 1 / x, Math.sqrt(Math.abs(x)), Math.log(Math.abs((float) x) + 1f) / Math.log(2)};
            for (int k = 0; k < 12; k++) {
                float g = got[i * 12 + k];
                double ev = e[k];
                if (Double.isInfinite(ev) && ev == g) continue;
                if (!(Math.abs(g - ev) <= abs[k] + rel[k] * Math.abs(ev))) {
                    fail("approx_ops(" + a[i] + ") output " + k + ": expected " + ev + " but was " + g);
                }
            }
        }
    }

    private static void calls(KernelRig r) {
        int n = 100;
        float[] x = new float[n];
        double[] y = new double[n];
        SplittableRandom rng = new SplittableRandom(31);
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextGaussian();
            y[i] = rng.nextGaussian();
        }
        long of = r.poisoned(4L * n), od = r.poisoned(8L * n);
        r.launch("emu_call", "calls", dim(2), dim(64), 0, of, od, r.floats(x), r.doubles(y), n);
        float[] f = r.readFloats(of, n);
        double[] d = r.readDoubles(od, n);
        for (int i = 0; i < n; i++) {
            float ef = i % 3 != 0 ? 2.0f * x[i] + (float) i : 0f;
            double ed = i % 3 != 0 ? y[i] * i - x[i] : 0.0;
            assertEquals(ef, f[i], 0f, "float result of lane " + i);
            assertEquals(ed, d[i], 0.0, "double result of lane " + i);
        }
    }

    private static void hugeTrig(KernelRig r) {
        double[] x = {1e20, -3.7e45, 1e300, 123456789012.5, 2.5e9, Math.PI * 1e15, 0.5, -7.0};
        long out = r.poisoned(16L * x.length);
        r.launch("emu_call", "huge_trig", dim(1), dim(32), 0, out, r.doubles(x), x.length);
        double[] got = r.readDoubles(out, 2 * x.length);
        for (int i = 0; i < x.length; i++) {
            // CUDA's sin/cos are accurate to 2 ulp; StrictMath's are correctly reduced too
            assertEquals(StrictMath.sin(x[i]), got[2 * i], 4 * Math.ulp(StrictMath.sin(x[i])), "sin(" + x[i] + ")");
            assertEquals(StrictMath.cos(x[i]), got[2 * i + 1], 4 * Math.ulp(StrictMath.cos(x[i])), "cos(" + x[i] + ")");
        }
    }

    private static void libmOps(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(23);
        int n = 256;
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (Math.pow(10, rng.nextDouble(-3, i < 64 ? 30 : 4)) * (rng.nextBoolean() ? 1 : -1));
        a[0] = 0;
        a[1] = 1e20f;
        a[2] = -123456.78f;
        a[3] = Float.MIN_VALUE;
        long out = r.poisoned(n * 10 * 4L);
        r.launch("emu_float", "libm_ops", dim(2), dim(128), 0, out, r.floats(a), n);
        float[] got = r.readFloats(out, n * 10);
        for (int i = 0; i < n; i++) {
            float x = a[i];
            double ax = Math.abs((double) x);
            double[] e = {Math.sin(x), Math.cos(x), Math.tanh(x), Math.log(ax), Math.exp(x * 0.01f), erf(x * 0.001f), Math.atan2(x, 3),
                    Math.pow(Math.abs(x) * 1e-3f, 0.37f), 1 / Math.sqrt(ax), Math.log1p(Math.abs(x) * 1e-4f)};
            for (int k = 0; k < 10; k++) {
                float g = got[i * 10 + k];
                double ev = (float) e[k];   // the float result, overflowing as the float one does
                if (Double.isInfinite(ev) && ev == g || Double.isNaN(ev) && Float.isNaN(g)) continue;
                // the library's documented maximum errors are 1-4 ulp: 5e-7 relative, plus a little near zero
                if (!(Math.abs(g - ev) <= 5e-7 * Math.abs(ev) + 1e-30)) {
                    fail("libm_ops(" + x + ") output " + k + ": expected " + ev + " but was " + g);
                }
            }
        }
    }

    /** erf: Taylor series below 3, the asymptotic series of erfc above (both far more accurate than float). */
    private static double erf(double x) {
        double a = Math.abs(x);
        if (a >= 3) {
            double x2 = a * a, erfc = Math.exp(-x2) / (a * Math.sqrt(Math.PI))
                    * (1 - 1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2) + 105 / (16 * x2 * x2 * x2 * x2));
            return Math.copySign(1 - erfc, x);
        }
        double sum = 0, term = x;
        for (int k = 0; k < 60; k++) {
            sum += term / (2 * k + 1);
            term *= -x * x / (k + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }

    private static void doubleOps(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(9);
        int n = 128;
        double[] a = new double[n], b = new double[n], c = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = Math.pow(10, rng.nextDouble(-30, 30)) * (rng.nextBoolean() ? 1 : -1);
            b[i] = Math.pow(10, rng.nextDouble(-30, 30)) * (rng.nextBoolean() ? 1 : -1);
            c[i] = Math.pow(10, rng.nextDouble(-30, 30)) * (rng.nextBoolean() ? 1 : -1);
        }
        a[0] = 0;
        a[1] = Double.NaN;
        b[2] = Double.POSITIVE_INFINITY;
        a[3] = 2.5;
        a[4] = -2.5;
        a[5] = 1 + 0x1p-40;
        long out = r.poisoned(n * 16 * 8L);
        r.launch("emu_float", "double_ops", dim(1), dim(128), 0, out, r.doubles(a), r.doubles(b), r.doubles(c), n);
        double[] got = r.readDoubles(out, n * 16);
        for (int i = 0; i < n; i++) {
            double x = a[i], y = b[i], z = c[i];
            boolean fin = Double.isFinite(x) && Double.isFinite(y) && Double.isFinite(z);
            double[] e = new double[16];
            e[0] = x + y;
            e[1] = x - y;
            e[2] = x * y;
            e[3] = Math.fma(x, y, z);
            e[4] = x / y;
            e[5] = Math.sqrt(Math.abs(x));
            e[6] = fin && x + y != 0 ? Ref.toDouble(Ref.big(x).add(Ref.big(y)), Mode.RZ) : x + y;
            e[7] = fin && x * y != 0 ? Ref.toDouble(Ref.big(x).multiply(Ref.big(y)), Mode.RU) : x * y;
            e[8] = Double.isNaN(x) ? y : Double.isNaN(y) ? x : Math.min(x, y);
            e[9] = Double.isNaN(x) ? z : Double.isNaN(z) ? x : Math.max(x, z);
            e[10] = Math.floor(x);
            e[11] = (float) x;
            e[12] = Double.isFinite(y) ? Ref.toFloat(Ref.big(y), Mode.RZ) : (float) y;
            e[13] = 1 / y;
            e[14] = x > y ? -z : Math.abs(z);
            e[15] = fin ? Ref.toDouble(Ref.big(x).multiply(Ref.big(y)).add(Ref.big(z)), Mode.RD) : Math.fma(x, y, z);
            for (int k = 0; k < 16; k++) {
                double g = got[i * 16 + k];
                if (Double.isNaN(e[k]) && Double.isNaN(g)) continue;
                assertEquals(Double.doubleToLongBits(e[k]), Double.doubleToLongBits(g),
                        "double_ops(" + x + ", " + y + ", " + z + ") output " + k + ": expected " + e[k] + " but was " + g);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ conversions

    private static int clampToInt(double v, double lo, double hi) {
        if (Double.isNaN(v)) return 0;
        return (int) (long) Math.max(lo, Math.min(hi, v));
    }

    private static double roundInt(double x, Mode m) {
        return switch (m) {
            case RN -> Math.rint(x);
            case RZ -> x < 0 ? Math.ceil(x) : Math.floor(x);
            case RD -> Math.floor(x);
            case RU -> Math.ceil(x);
        };
    }

    private static void convertFromFloat(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(10);
        int n = 256;
        float[] a = floatInputs(rng, n, new float[] {0f, -0f, 0.5f, 1.5f, 2.5f, -2.5f, 65504f, 65520f, 65519.99f, -70000f,
                1e-8f, 6e-8f, 3e-5f, 1e10f, -1e10f, 3e9f, Float.NaN, Float.POSITIVE_INFINITY, -1e20f, 255.5f, -32768.6f,
                40000.4f, 1.00390625f, 1.01171875f, 3.3961e38f});
        long out = r.poisoned(n * 24 * 4L);
        r.launch("emu_convert", "convert_from_float", dim(2), dim(128), 0, out, r.floats(a), n);
        int[] got = r.readInts(out, n * 24);
        for (int i = 0; i < n; i++) {
            float x = a[i];
            int[] e = new int[24];
            e[0] = clampToInt(roundInt(x, Mode.RN), Integer.MIN_VALUE, Integer.MAX_VALUE);
            e[1] = clampToInt(roundInt(x, Mode.RZ), Integer.MIN_VALUE, Integer.MAX_VALUE);
            e[2] = clampToInt(roundInt(x, Mode.RD), Integer.MIN_VALUE, Integer.MAX_VALUE);
            e[3] = clampToInt(roundInt(x, Mode.RU), Integer.MIN_VALUE, Integer.MAX_VALUE);
            e[4] = (int) (Double.isNaN(x) ? 0 : (long) Math.max(0, Math.min(4294967295.0, roundInt(x, Mode.RN))));
            e[5] = (int) (Double.isNaN(x) ? 0 : (long) Math.max(0, Math.min(4294967295.0, roundInt(x, Mode.RZ))));
            long l = Double.isNaN(x) ? 0 : (long) roundInt(x, Mode.RN);
            e[6] = (int) l;
            e[7] = (int) (l >> 32);
            double uz = Double.isNaN(x) ? 0 : Math.max(0, roundInt(x, Mode.RZ));
            long ul = uz >= 0x1p64 ? -1L : uz >= 0x1p63 ? (long) (uz - 0x1p63) ^ Long.MIN_VALUE : (long) uz;
            e[8] = (int) ul;
            e[9] = (int) (ul >> 32);
            e[10] = Ref.half(x, Mode.RN);
            e[11] = Ref.half(x, Mode.RZ);
            e[12] = Ref.bf16(x, Mode.RN);
            e[13] = Ref.bf16(x, Mode.RZ);
            e[14] = Ref.half(x, Mode.RN) | Ref.half(-x * 3f, Mode.RN) << 16;
            e[15] = Ref.bf16(x * 0.37f, Mode.RN) | Ref.bf16(x, Mode.RN) << 16;
            e[16] = (byte) e[0];
            e[17] = e[5] & 0xffff;
            e[18] = clampToInt(roundInt(x, Mode.RN), -32768, 32767);
            e[19] = clampToInt(roundInt(x, Mode.RZ), 0, 255);
            e[20] = Float.floatToRawIntBits((float) Ref.decodeHalf(Ref.half(x, Mode.RN)));
            e[21] = Float.floatToRawIntBits(Float.intBitsToFloat(Ref.bf16(x, Mode.RN) << 16));
            int bits = Float.floatToRawIntBits(x);
            e[22] = Float.floatToRawIntBits(Ref.toFloat(new BigDecimal(bits), Mode.RZ));
            e[23] = Float.floatToRawIntBits(Ref.toFloat(new BigDecimal(bits & 0xffffffffL), Mode.RU));
            int[] g = Arrays.copyOfRange(got, i * 24, i * 24 + 24);
            if (Float.isNaN(x)) {   // NaN payloads through half precision are not pinned down; only NaN-ness
                for (int k : new int[] {20, 21}) {
                    assertTrue(Float.isNaN(Float.intBitsToFloat(g[k])), "NaN stays NaN");
                    g[k] = e[k];
                }
            }
            assertInts(e, g, "convert_from_float(" + x + ")");
        }
    }

    private static void convertFromInt(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(11);
        int n = 192;
        long[] a = new long[n];
        long[] specials = {0, 1, -1, Long.MAX_VALUE, Long.MIN_VALUE, (1L << 24) + 1, (1L << 53) + 1, -(1L << 60) - 12345,
                0xffffffffL, 0x7fffffffL, 0x80000000L, 0x3c00, 0x7e00, 0x8001, 0xfc00, 0x4049, 0x7f80, 0x7fc1};
        for (int i = 0; i < n; i++) a[i] = i < specials.length ? specials[i] : rng.nextLong() >> rng.nextInt(64);
        long out = r.poisoned(n * 16 * 4L);
        r.launch("emu_convert", "convert_from_int", dim(2), dim(96), 0, out, r.longs(a), n);
        float[] got = r.readFloats(out, n * 16);
        for (int i = 0; i < n; i++) {
            long x = a[i];
            float[] e = new float[16];
            e[0] = (float) x;
            e[1] = Ref.toFloat(Ref.bigInt(x, false), Mode.RZ);
            e[2] = Ref.toFloat(Ref.bigInt(x, false), Mode.RD);
            e[3] = Ref.toFloat(Ref.bigInt(x, false), Mode.RU);
            e[4] = Ref.toFloat(Ref.bigInt(x, true), Mode.RN);
            e[5] = (float) (int) x;
            e[6] = Ref.toFloat(new BigDecimal((int) x), Mode.RD);
            e[7] = (float) (x & 0xffffffffL);
            e[8] = (float) (short) x;
            e[9] = (float) (x & 0xff);
            e[10] = (float) ((double) x * 0.5);
            e[11] = Float.intBitsToFloat((int) x);
            double d = (double) x * 1.25;
            e[12] = Float.intBitsToFloat((int) (long) d);
            e[13] = Float.intBitsToFloat((int) ((x & 0xffffffffL) >>> 16) & 0xffff);
            e[14] = (float) Ref.decodeHalf((int) x & 0xffff);
            e[15] = Float.intBitsToFloat(((int) x & 0xffff) << 16);
            assertFloats(e, Arrays.copyOfRange(got, i * 16, i * 16 + 16), 0, 0, "convert_from_int(" + x + ")");
        }
    }

    // ------------------------------------------------------------------------------------------ control flow

    private static void collatz(KernelRig r) {
        int n = 300;
        int[] start = new int[n];
        for (int i = 0; i < n; i++) start[i] = i + 1;
        long out = r.poisoned(n * 4L);
        r.launch("emu_control", "collatz", dim(3), dim(128), 0, out, r.ints(start), n);
        int[] got = r.readInts(out, n);
        for (int i = 0; i < n; i++) {
            long v = start[i];
            int s = 0;
            while (v != 1 && s < 1000) {
                v = (v & 1) != 0 ? (3 * v + 1) & 0xffffffffL : v >> 1;
                s++;
            }
            assertEquals(s, got[i], "collatz(" + start[i] + ")");
        }
    }

    private static void divergeReconverge(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(12);
        int n = 150;
        int[] in = new int[n];
        for (int i = 0; i < n; i++) in[i] = rng.nextInt(-500, 500);
        long out = r.poisoned(n * 4L);
        r.launch("emu_control", "diverge_reconverge", dim(2), dim(96), 0, out, r.ints(in), n);
        int[] got = r.readInts(out, n);
        int[] rr = new int[192];
        for (int i = 0; i < 192; i++) {
            int v = i < n ? in[i] : 0;
            int x;
            switch (v & 3) {
                case 0 -> x = v * 2;
                case 1 -> {
                    x = v + 100;
                    for (int k = 0; k < (v & 7); k++) x ^= k * 31;
                }
                case 2 -> x = -v;
                default -> x = v * v;
            }
            rr[i] = x;
        }
        for (int i = 0; i < n; i++) assertEquals(rr[i] + rr[i ^ 1], got[i], "diverge_reconverge[" + i + "]");
    }

    private static void localArray(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(13);
        int n = 100;
        int[] in = new int[n];
        for (int i = 0; i < n; i++) in[i] = rng.nextInt();
        long out = r.poisoned(n * 4L);
        r.launch("emu_control", "local_array", dim(1), dim(128), 0, out, r.ints(in), n);
        int[] got = r.readInts(out, n);
        for (int i = 0; i < n; i++) {
            int[] h = new int[16];
            for (int k = 0; k < 8; k++) h[(in[i] >> (4 * k)) & 15] += k + 1;
            int acc = 0;
            for (int k = 0; k < 16; k++) acc = acc * 7 + h[k];
            assertEquals(acc, got[i], "local_array[" + i + "]");
        }
    }

    private static void indices(KernelRig r) {
        int[] grid = {2, 3, 2}, block = {8, 2, 3};
        int nt = 48, nb = 12;
        long out = r.poisoned(nt * nb * 4L);
        r.launch("emu_control", "indices", grid, block, 0, out);
        int[] got = r.readInts(out, nt * nb);
        for (int bz = 0; bz < 2; bz++) for (int by = 0; by < 3; by++) for (int bx = 0; bx < 2; bx++) {
            for (int tz = 0; tz < 3; tz++) for (int ty = 0; ty < 2; ty++) for (int tx = 0; tx < 8; tx++) {
                int b = bx + 2 * (by + 3 * bz), t = tx + 8 * (ty + 2 * tz);
                int e = (bz << 24) | (by << 16) | (tz << 12) | (ty << 8) | ((t % 32) << 1) | (t == 0 ? 1 : 0);
                assertEquals(e, got[b * nt + t], "indices block " + b + " thread " + t);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ shared memory, barriers

    private static void blockSum(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(14);
        int n = 1000, blocks = 4;
        float[] in = new float[n];
        for (int i = 0; i < n; i++) in[i] = (float) rng.nextGaussian();
        long out = r.poisoned(blocks * 4L);
        r.launch("emu_shared", "block_sum", dim(blocks), dim(256), 0, out, r.floats(in), n);
        float[] got = r.readFloats(out, blocks);
        float[] e = new float[blocks];
        for (int b = 0; b < blocks; b++) {
            float[] buf = new float[256];
            for (int t = 0; t < 256; t++) buf[t] = b * 256 + t < n ? in[b * 256 + t] : 0;
            for (int s = 128; s > 0; s >>= 1) for (int t = 0; t < s; t++) buf[t] += buf[t + s];
            e[b] = buf[0];
        }
        assertFloats(e, got, 0, 0, "block_sum");
    }

    private static void reverseDynamic(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(15);
        int bs = 64, blocks = 3, n = bs * blocks;
        int[] in = new int[n];
        for (int i = 0; i < n; i++) in[i] = rng.nextInt(1000);
        long out = r.poisoned(n * 4L), counts = r.poisoned(blocks * 4L);
        r.launch("emu_shared", "reverse_dynamic", dim(blocks), dim(bs), bs * 4, out, r.ints(in), counts);
        int[] got = r.readInts(out, n), c = r.readInts(counts, blocks);
        for (int b = 0; b < blocks; b++) {
            int odd = 0;
            for (int t = 0; t < bs; t++) {
                assertEquals(in[b * bs + bs - 1 - t], got[b * bs + t], "reverse_dynamic");
                odd += in[b * bs + t] & 1;
            }
            assertEquals(odd, c[b], "__syncthreads_count of block " + b);
        }
    }

    private static void namedBarrier(KernelRig r) {
        long out = r.poisoned(32 * 4L);
        r.launch("emu_shared", "named_barrier", dim(1), dim(64), 0, out);
        int[] got = r.readInts(out, 32);
        for (int j = 0; j < 32; j++) assertEquals((31 - j) * (31 - j) + 1, got[j], "named_barrier[" + j + "]");
    }

    private static void vectorIo(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(25);
        float[] in4 = new float[256];
        int[] in2 = new int[128];
        for (int i = 0; i < 256; i++) in4[i] = (float) rng.nextGaussian();
        for (int i = 0; i < 128; i++) in2[i] = rng.nextInt();
        long out4 = r.poisoned(1024), out2 = r.poisoned(512), scratch = r.poisoned(256), out = r.poisoned(256);
        r.launch("emu_shared", "vector_io", dim(1), dim(64), 0, out4, r.floats(in4), out2, r.ints(in2), scratch, out);
        float[] g4 = r.readFloats(out4, 256), g = r.readFloats(out, 64);
        int[] g2 = r.readInts(out2, 128);
        for (int t = 0; t < 64; t++) {
            int u = 63 - t;
            float[] e = {in4[4 * u + 3], in4[4 * u + 2], in4[4 * u + 1], in4[4 * u] * 2f};
            assertFloats(e, Arrays.copyOfRange(g4, 4 * t, 4 * t + 4), 0, 0, "float4 through shared, thread " + t);
            assertEquals(in2[2 * t + 1], g2[2 * t], "int2 .x");
            assertEquals(in2[2 * t] ^ t, g2[2 * t + 1], "int2 .y");
            assertEquals(in4[4 * t] + (float) t, g[t], "generic store/load, thread " + t);
        }
    }

    /** The fp32 SIMT GEMM of emu_shared.cu: every output is fmaf(a, b, acc) in k order, so bit-exact. */
    static void sgemm(KernelRig r, int m, int n, int k) {
        SplittableRandom rng = new SplittableRandom(24);
        float[] a = new float[m * k], b = new float[k * n];
        for (int i = 0; i < a.length; i++) a[i] = (float) rng.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = (float) rng.nextGaussian();
        long c = r.poisoned(4L * m * n);
        r.launch("emu_shared", "sgemm_tiled", dim((n + 63) / 64, (m + 63) / 64, 1), dim(16, 16, 1), 0, c, r.floats(a), r.floats(b), m, n, k);
        float[] e = new float[m * n];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) {
            float acc = 0;
            for (int kk = 0; kk < k; kk++) acc = Math.fma(a[i * k + kk], b[kk * n + j], acc);
            e[i * n + j] = acc;
        }
        assertFloats(e, r.readFloats(c, m * n), 0, 0, "sgemm_tiled " + m + "x" + n + "x" + k);
    }

    private static void poisonedShared(KernelRig r) {
        long out = r.alloc(64 * 4L);
        r.launch("emu_shared", "read_uninitialized", dim(1), dim(64), 0, out);
        float[] got = r.readFloats(out, 64);
        assertEquals(1f, got[1]);
        for (int i = 0; i < 64; i++) if (i != 1) assertTrue(Float.isNaN(got[i]), "shared[" + i + "] read before any write must be NaN");
    }

    // ------------------------------------------------------------------------------------------ warp collectives

    private static void warpOps(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(16);
        int n = 128;
        int[] in = new int[n];
        for (int i = 0; i < n; i++) in[i] = rng.nextInt(-1000, 1001);
        in[5] = -1000;
        long out = r.poisoned(n * 14 * 4L);
        r.launch("emu_warp", "warp_ops", dim(2), dim(64), 0, out, r.ints(in));
        int[] got = r.readInts(out, n * 14);
        for (int w = 0; w < n / 32; w++) {
            int[] v = Arrays.copyOfRange(in, w * 32, w * 32 + 32);
            int all = 1, any = 0, ballot = 0, sum = 0, min = Integer.MAX_VALUE;
            long umax = 0;
            for (int l = 0; l < 32; l++) {
                if (!(v[l] > -1000)) all = 0;
                if (v[l] > 900) any = 1;
                if ((v[l] & 1) != 0) ballot |= 1 << l;
                sum += v[l];
                min = Math.min(min, v[l]);
                umax = Math.max(umax, v[l] & 0xffffffffL);
            }
            for (int l = 0; l < 32; l++) {
                int[] e = new int[14];
                e[0] = v[v[l] & 31];
                e[1] = l >= 3 ? v[l - 3] : v[l];
                e[2] = l + 5 <= 31 ? v[l + 5] : v[l];
                e[3] = v[l ^ 6];
                e[4] = v[(l & ~7) + 2];
                e[5] = (l & 15) >= 1 ? v[l - 1] : v[l];
                e[6] = (l & 3) + 2 <= 3 ? v[l + 2] : v[l];
                e[7] = all;
                e[8] = any;
                e[9] = ballot;
                e[10] = sum;
                e[11] = min ^ (int) umax;
                e[12] = -1;
                e[13] = v[l ^ 16];
                int t = w * 32 + l;
                assertInts(e, Arrays.copyOfRange(got, t * 14, t * 14 + 14), "warp_ops lane " + t);
            }
        }
    }

    private static void warpSum(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(17);
        int n = 128;
        float[] in = new float[n];
        for (int i = 0; i < n; i++) in[i] = (float) rng.nextGaussian();
        long out = r.poisoned(n * 4L);
        r.launch("emu_warp", "warp_sum", dim(1), dim(n), 0, out, r.floats(in));
        float[] got = r.readFloats(out, n), e = in.clone();
        for (int w = 0; w < 4; w++) {
            if (w % 3 == 1) continue;
            float[] v = Arrays.copyOfRange(in, w * 32, w * 32 + 32);
            for (int m = 16; m > 0; m >>= 1) {
                float[] nv = new float[32];
                for (int l = 0; l < 32; l++) nv[l] = v[l] + v[l ^ m];
                v = nv;
            }
            System.arraycopy(v, 0, e, w * 32, 32);
        }
        assertFloats(e, got, 0, 0, "warp_sum");
    }

    // ------------------------------------------------------------------------------------------ atomics

    private static void atomics(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(18);
        int n = 200;
        int[] in = new int[n];
        for (int i = 0; i < n; i++) in[i] = rng.nextInt(-100000, 100000);
        int[] init = new int[12];
        init[1] = Integer.MIN_VALUE;
        init[2] = Integer.MAX_VALUE;
        long counters = r.ints(init), tickets = r.poisoned(n * 4L);
        r.launch("emu_atomic", "atomics", dim(2), dim(128), 0, counters, tickets, r.ints(in), n);
        int[] c = r.readInts(counters, 12);
        int sum = 0, max = Integer.MIN_VALUE, min = Integer.MAX_VALUE, or = 0, xor = 0;
        long u64 = 0;
        for (int v : in) {
            sum += v;
            max = Math.max(max, v);
            min = Math.min(min, v);
            or |= 1 << (v & 31);
            xor ^= v;
            u64 += (v & 0xffffffffL) << 20;
        }
        assertEquals(sum, c[0], "atomicAdd");
        assertEquals(max, c[1], "atomicMax");
        assertEquals(min, c[2], "atomicMin");
        assertEquals(or, c[3], "atomicOr");
        assertEquals(xor, c[4], "atomicXor");
        assertEquals(n % 17, c[6], "atomicInc wrapping at 16");
        assertEquals(n, c[7], "atomicCAS loop");
        assertEquals(u64, (c[8] & 0xffffffffL) | (long) c[9] << 32, "64-bit atomicAdd");
        assertEquals(0.5f * n, Float.intBitsToFloat(c[10]), "float red.add");
        assertEquals((float) n, Float.intBitsToFloat(c[11]), "float atom.add");
        int[] t = r.readInts(tickets, n);
        Arrays.sort(t);
        for (int i = 0; i < n; i++) assertEquals(i, t[i], "tickets from atom.add.f32 are a permutation of 0..n-1");
    }

    private static void histogram(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(19);
        int n = 5000;
        int[] in = new int[n];
        int[] e = new int[16];
        for (int i = 0; i < n; i++) {
            in[i] = rng.nextInt();
            e[in[i] & 15]++;
        }
        long hist = r.ints(new int[16]);
        r.launch("emu_atomic", "histogram", dim(4), dim(128), 0, hist, r.ints(in), n);
        assertInts(e, r.readInts(hist, 16), "histogram");
    }

    // ------------------------------------------------------------------------------------------ tensor cores, async copies

    static float[] randomHalves(SplittableRandom rng, int n, boolean bf16, short[] bits) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            float f = (float) rng.nextGaussian();
            int h = bf16 ? Ref.bf16(f, Mode.RN) : Ref.half(f, Mode.RN);
            bits[i] = (short) h;
            v[i] = bf16 ? Float.intBitsToFloat(h << 16) : (float) Ref.decodeHalf(h);
        }
        return v;
    }

    /** |got - ref| <= tol * sum |a||b| per element: f32 accumulation in any order. */
    static void assertMatmul(double[] ref, double[] absRef, float[] got, double tol, String what) {
        for (int i = 0; i < ref.length; i++) {
            if (!(Math.abs(got[i] - ref[i]) <= tol * absRef[i] + 1e-6)) {
                fail(what + " [" + i + "]: expected " + ref[i] + " but was " + got[i]);
            }
        }
    }

    private static void mmaSingle(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(20);
        short[] ab = new short[16 * 8], bb = new short[8 * 8];
        float[] a = randomHalves(rng, 128, false, ab), bt = randomHalves(rng, 64, false, bb);
        float[] c = new float[128];
        for (int i = 0; i < 128; i++) c[i] = (float) rng.nextGaussian();
        long d = r.poisoned(128 * 4L);
        r.launch("emu_mma", "mma_m16n8k8_f16", dim(1), dim(32), 0, d, r.shorts(ab), r.shorts(bb), r.floats(c));
        double[] ref = new double[128], abs = new double[128];
        for (int i = 0; i < 16; i++) for (int j = 0; j < 8; j++) {
            double s = c[i * 8 + j], sa = Math.abs(c[i * 8 + j]);
            for (int k = 0; k < 8; k++) {
                s += (double) a[i * 8 + k] * bt[j * 8 + k];
                sa += Math.abs((double) a[i * 8 + k] * bt[j * 8 + k]);
            }
            ref[i * 8 + j] = s;
            abs[i * 8 + j] = sa;
        }
        assertMatmul(ref, abs, r.readFloats(d, 128), 1e-6, "mma m16n8k8");
    }

    private static void ldmatrix(KernelRig r) {
        short[] m = new short[256];
        for (int i = 0; i < 256; i++) m[i] = (short) (i * 7 + 1000);
        long out = r.poisoned(32 * 8 * 4L);
        r.launch("emu_mma", "ldmatrix_all", dim(1), dim(32), 0, out, r.shorts(m));
        int[] got = r.readInts(out, 256);
        for (int l = 0; l < 32; l++) {
            int[] e = new int[8];
            // non-transposed: row l/4 of matrix i, columns 2(l%4) and 2(l%4)+1 (low half first)
            e[0] = pair(m, l / 4, 2 * (l % 4), 0, false);
            for (int i = 0; i < 2; i++) e[1 + i] = pair(m, 8 * i, 0, l, true);
            for (int i = 0; i < 4; i++) e[3 + i] = pair(m, 8 * i, 0, l, true);
            assertInts(e, Arrays.copyOfRange(got, l * 8, l * 8 + 8), "ldmatrix lane " + l);
        }
    }

    /** Two 16-bit elements as one register: straight (row, col/col+1) or transposed for lane l of matrix at rowBase. */
    private static int pair(short[] m, int rowBase, int col, int lane, boolean trans) {
        if (!trans) return (m[rowBase * 8 + col] & 0xffff) | (m[rowBase * 8 + col + 1] & 0xffff) << 16;
        int r0 = rowBase + 2 * (lane % 4), c = lane / 4;
        return (m[r0 * 8 + c] & 0xffff) | (m[(r0 + 1) * 8 + c] & 0xffff) << 16;
    }

    /** The GEMM of emu_mma.cu against a plain float64 product; tolerance 1e-5 relative to sum |a||b|. */
    static void gemm(KernelRig r) {
        gemm(r, 128, 64, 96);
    }

    static void gemm(KernelRig r, int M, int N, int K) {
        SplittableRandom rng = new SplittableRandom(21);
        short[] ab = new short[M * K], bb = new short[N * K];
        float[] a = randomHalves(rng, M * K, true, ab), b = randomHalves(rng, N * K, true, bb);
        long c = r.poisoned((long) M * N * 4);
        r.launch("emu_mma", "gemm_bf16_mma", dim(N / 32, M / 64, 1), dim(128), 0, c, r.shorts(ab), r.shorts(bb), M, N, K);
        float[] got = r.readFloats(c, M * N);
        double[] ref = new double[M * N], abs = new double[M * N];
        for (int i = 0; i < M; i++) for (int j = 0; j < N; j++) {
            double s = 0, sa = 0;
            for (int k = 0; k < K; k++) {
                double p = (double) a[i * K + k] * b[j * K + k];
                s += p;
                sa += Math.abs(p);
            }
            ref[i * N + j] = s;
            abs[i * N + j] = sa;
        }
        assertMatmul(ref, abs, got, 1e-5, "gemm_bf16_mma " + M + "x" + N + "x" + K);
    }

    private static void cpAsync(KernelRig r, boolean skipWait) {
        float[] in = new float[128];
        for (int i = 0; i < 128; i++) in[i] = i * 0.25f;
        long out = r.poisoned(128 * 4L);
        r.launch("emu_mma", "cp_async_wait", dim(1), dim(32), 0, out, r.floats(in), skipWait ? 1 : 0);
        float[] got = r.readFloats(out, 128), e = new float[128];
        for (int j = 0; j < 128; j++) e[j] = skipWait ? -1f : in[(j + 4) % 128];
        assertFloats(e, got, 0, 0, skipWait ? "cp.async without wait (data must not have landed)" : "cp.async with wait_all");
    }

    // ------------------------------------------------------------------------------------------ the jar's kernels, API

    private static void elementwise(KernelRig r) {
        SplittableRandom rng = new SplittableRandom(22);
        int n = 3000;
        float[] x = new float[n], y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rng.nextGaussian() * 4);
            y[i] = (float) rng.nextGaussian();
        }
        long px = r.floats(x), py = r.floats(y), out = r.poisoned(n * 4L);
        r.launch("/dev/ditj/kernels/elementwise.ptx", "silu_f32", dim(4), dim(256), 0, out, px, (long) n);
        float[] got = r.readFloats(out, n), e = new float[n];
        for (int i = 0; i < n; i++) e[i] = (float) (x[i] / (1 + Math.exp(-x[i])));
        assertFloats(e, got, 2e-6, 1e-7, "silu_f32");
        r.launch("/dev/ditj/kernels/elementwise.ptx", "add_f32", dim(3), dim(256), 0, out, px, py, (long) n);
        got = r.readFloats(out, n);
        for (int i = 0; i < n; i++) e[i] = x[i] + y[i];
        assertFloats(e, got, 0, 0, "add_f32");
    }

    private static void graph(KernelRig r) {
        Device d = r.device;
        int n = 1000;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = i;
        long px = r.floats(x), acc = r.alloc(n * 4L);
        java.nio.ByteBuffer host = java.nio.ByteBuffer.allocateDirect(n * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        d.memset32(acc, 0, n);
        Device.Kernel add = r.kernel("/dev/ditj/kernels/elementwise.ptx", "add_f32");
        d.beginCapture();
        d.launch(add, dim(4), dim(256), 0, acc, acc, px, (long) n);   // acc += x
        d.copyToHost(host, acc);
        Device.Graph g = d.endCapture();
        d.synchronize();
        float[] before = r.readFloats(acc, n);
        assertEquals(0f, before[7], "capture records work instead of running it");
        try (Device.Event e0 = d.createEvent(); Device.Event e1 = d.createEvent()) {
            d.record(e0);
            d.replay(g);
            d.replay(g);
            d.record(e1);
            d.synchronize();
            assertTrue(d.elapsedMillis(e0, e1) >= 0, "elapsed time");
        }
        g.close();
        float[] got = new float[n];
        host.asFloatBuffer().get(got);
        for (int i = 0; i < n; i++) assertEquals(2f * i, got[i], "two replays of acc += x, copied out by the graph");
    }

    private static void wrongArguments(KernelRig r) {
        Device.Kernel add = r.kernel("/dev/ditj/kernels/elementwise.ptx", "add_f32");
        long p = r.alloc(64);
        CudaException e = assertThrows(CudaException.class, () -> r.device.launch(add, dim(1), dim(32), 0, p, p, p));
        assertTrue(e.getMessage().contains("3 arguments given, the kernel declares 4"), e.getMessage());
        e = assertThrows(CudaException.class, () -> r.device.launch(add, dim(1), dim(32), 0, p, p, p, 5));
        assertTrue(e.getMessage().contains("argument 3 is an Integer") && e.getMessage().contains(".u64"), e.getMessage());
        e = assertThrows(CudaException.class, () -> r.device.launch(add, dim(1), dim(32), 0, p, 1.5f, p, 5L));
        assertTrue(e.getMessage().contains("argument 1 is a Float"), e.getMessage());
    }

    // ------------------------------------------------------------------------------------------ errors (emulator only)

    private static void outOfBounds(KernelRig r) {
        long out = r.alloc(100 * 4L);
        CudaException e = assertThrows(CudaException.class,
                () -> r.launch("emu_errors", "store_past_end", dim(1), dim(128), 0, out, 100));
        String m = e.getMessage();
        for (String part : new String[] {"kernel store_past_end", "block (0,0,0)", "thread (100,0,0)", "PTX line",
                "st.global.f32", "out-of-bounds global store of 4 bytes", "nearest allocation", "0 bytes past the end"}) {
            assertTrue(m.contains(part), "missing '" + part + "' in: " + m);
        }
    }

    private static void deadlock(KernelRig r) {
        long out = r.alloc(64 * 4L);
        CudaException e = assertThrows(CudaException.class, () -> r.launch("emu_errors", "barrier_deadlock", dim(1), dim(64), 0, out));
        String m = e.getMessage();
        for (String part : new String[] {"kernel barrier_deadlock", "barrier deadlock", "bar.sync", "expects 64 threads, 32 arrived",
                "32 of 64 threads exited"}) {
            assertTrue(m.contains(part), "missing '" + part + "' in: " + m);
        }
    }
}
