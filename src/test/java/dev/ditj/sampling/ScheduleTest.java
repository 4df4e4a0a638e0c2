package dev.ditj.sampling;

import dev.ditj.Fixtures;
import dev.ditj.TestModels;
import dev.ditj.io.Npy;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Schedules against the official DiT code (float64 .npz) and diffusers' DPM-Solver σ/timesteps. */
class ScheduleTest {

    /** Reads an array from a numpy .npz (a zip of .npy files). */
    static double[] npz(String file, String key) {
        try (ZipFile z = new ZipFile(Fixtures.file(file).toFile())) {
            ZipEntry e = z.getEntry(key + ".npy");
            try (InputStream in = z.getInputStream(e)) {
                var t = Npy.read(in, file + ":" + key);
                if (t.dtype() == dev.ditj.tensor.DType.I64) {
                    long[] l = t.toLongs();
                    double[] d = new double[l.length];
                    for (int i = 0; i < l.length; i++) d[i] = l[i];
                    return d;
                }
                double[] d = new double[(int) t.numel()];
                t.data().duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(d);
                return d;
            }
        } catch (IOException ex) {
            return fail(ex);
        }
    }

    private static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        for (int i = 0; i < expected.length; i++) {
            double tol = 1e-14 * Math.max(1e-30, Math.abs(expected[i])) + 1e-300;
            if (Math.abs(expected[i] - actual[i]) > tol && !(Double.isInfinite(expected[i]) && expected[i] == actual[i])) {
                fail(what + "[" + i + "] = " + actual[i] + ", expected " + expected[i]);
            }
        }
    }

    @Test
    void respacingMatchesSpec() {
        int[] k250 = Respacing.keptSteps(1000, "250");
        assertEquals(250, k250.length);
        assertEquals(164, k250[41]);
        assertEquals(169, k250[42]);
        assertEquals(999, k250[249]);
        assertArrayEquals(new int[] {0, 111, 222, 333, 444, 555, 666, 777, 888, 999}, Respacing.keptSteps(1000, "10"));
        int[] k100 = Respacing.keptSteps(1000, "100");
        assertArrayEquals(new int[] {0, 10, 20, 30, 40, 50, 61, 71}, java.util.Arrays.copyOf(k100, 8));
        int[] d50 = Respacing.keptSteps(1000, "ddim50");
        assertEquals(50, d50.length);
        assertEquals(980, d50[49]);
        assertEquals(45, Respacing.keptSteps(1000, "10,15,20").length);
        assertArrayEquals(new int[] {0, 37, 74, 111}, java.util.Arrays.copyOf(Respacing.keptSteps(1000, "10,15,20"), 4));
    }

    @Test
    void schedulesMatchOfficial() {
        for (String[] c : new String[][] {{"", "schedule_1000.npz"}, {"250", "schedule_250.npz"}, {"10", "schedule_10.npz"}}) {
            GaussianDiffusion d = GaussianDiffusion.create(c[0]);
            double[] map = npz(c[1], "timestep_map");
            for (int i = 0; i < map.length; i++) assertEquals((int) map[i], d.timestepMap[i], c[1] + " timestep_map");
            assertClose(npz(c[1], "betas"), d.betas, c[1] + " betas");
            assertClose(npz(c[1], "alphas_cumprod"), d.alphasCumprod, c[1] + " alphas_cumprod");
            assertClose(npz(c[1], "alphas_cumprod_prev"), d.alphasCumprodPrev, c[1] + " alphas_cumprod_prev");
            assertClose(npz(c[1], "posterior_variance"), d.posteriorVariance, c[1] + " posterior_variance");
            assertClose(npz(c[1], "posterior_log_variance_clipped"), d.posteriorLogVarianceClipped, c[1] + " plvc");
            assertClose(npz(c[1], "posterior_mean_coef1"), d.posteriorMeanCoef1, c[1] + " coef1");
            assertClose(npz(c[1], "posterior_mean_coef2"), d.posteriorMeanCoef2, c[1] + " coef2");
        }
    }

    @Test
    void dpmSolverScheduleMatchesDiffusersBitForBit() {
        DpmSolverSchedule s = new DpmSolverSchedule(20);
        int[] t = TestModels.ints("sample_dpmpp2m20_timesteps.npy");
        float[] sigmas = TestModels.floats("sample_dpmpp2m20_sigmas.npy").data();
        assertArrayEquals(t, s.timesteps);
        for (int i = 0; i < sigmas.length; i++) {
            assertEquals(Float.floatToIntBits(sigmas[i]), Float.floatToIntBits(s.sigmas[i]), "sigma " + i);
        }
        assertArrayEquals(new int[] {999, 899, 799, 699, 599, 500, 400, 300, 200, 100}, new DpmSolverSchedule(10).timesteps);
    }

    @Test
    void trainSigmasMatchPyTorchBitForBit() {
        // torch 1.13 (x86-64 CPU): ((1 - cumprod(1 - linspace(1e-4, 0.02, 1000, float32))) / ᾱ) ** 0.5
        float[] expected;
        try (InputStream in = getClass().getResourceAsStream("/dev/ditj/sampling/torch_dpm_sigmas.npy")) {
            expected = Npy.read(in, "torch_dpm_sigmas.npy").toFloats();
        } catch (IOException e) {
            expected = fail(e);
        }
        float[] actual = DpmSolverSchedule.trainSigmas();
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]), "sigma " + i);
        }
    }
}
