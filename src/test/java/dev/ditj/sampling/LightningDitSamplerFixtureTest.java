package dev.ditj.sampling;

import dev.ditj.CpuBackendTest;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * LightningDiT's shifted ODE sampler with its guidance interval on the CPU backend against the official code
 * ({@link LightningDitChains}; the CUDA kernels run the same chains in CudaFixtureTests, on the emulator in every
 * build), and the shifted grid itself against the official float32 tensor arithmetic.
 */
class LightningDitSamplerFixtureTest extends CpuBackendTest {
    @Test
    void shiftedEulerWithGuidanceInterval() {
        LightningDitChains.euler(ops, SitChains.CHAIN);
    }

    @Test
    void shiftedHeunWithGuidanceInterval() {
        LightningDitChains.heun(ops, SitChains.CHAIN);
    }

    @Test
    void shiftedDopri5WithGuidanceInterval() {
        LightningDitChains.dopri5(ops, SitChains.CHAIN);
    }

    @Test
    void shiftedEulerUnguided() {
        LightningDitChains.eulerUnguided(ops, SitChains.CHAIN);
    }

    /**
     * integrators.py's shifted grid, float32 bits as torch 1.13 computes them ({@code th.tensor([compute_tm(t, s)
     * for t in th.linspace(0, 1, n)])}, printed with {@code .view(th.int32)}): 0.3 over 5 points, and 0.1, whose last
     * point is 0.99999976, not 1.
     */
    @Test
    void shiftedGridIsTheOfficialFloat32One() {
        assertArrayEquals(new int[] {0, 0x3dba2e8c, 0x3e6c4ec6, 0x3ef286bc, 0x3f800000},
                bits(FlowSampler.shifted(FlowSampler.timeGrid(0f, 1f, 5), 0.3)));
        float[] g = FlowSampler.shifted(FlowSampler.timeGrid(0f, 1f, 10), 0.1);
        assertEquals(0x3f7ffffc, Float.floatToRawIntBits(g[9]));
        assertArrayEquals(FlowSampler.timeGrid(0f, 1f, 7), FlowSampler.shifted(FlowSampler.timeGrid(0f, 1f, 7), 1));
    }

    /**
     * forward_with_cfg drops guidance when {@code t < cfg_interval_start}: on the unshifted 9-point grid, whose second
     * point is exactly 0.125, only t = 0 is unguided; the model sees each grid time as the float32 it is.
     */
    @Test
    void guidanceStartsAtTheIntervalStartItself() {
        java.util.List<String> calls = new java.util.ArrayList<>();
        VelocityField recording = new VelocityField() {
            @Override public int images() { return 1; }
            @Override public int stateImages() { return 1; }
            @Override public void velocity(dev.ditj.tensor.Tensor x, float t, dev.ditj.tensor.Tensor out) { calls.add("g" + t); }
            @Override public void conditionalVelocity(dev.ditj.tensor.Tensor x, float t, dev.ditj.tensor.Tensor out) {
                calls.add("u" + t);
            }
        };
        try (dev.ditj.tensor.Tensor x = ops.alloc(dev.ditj.tensor.Shape.of(1, 1, 1, 1))) {
            new FlowOdeSampler(9, false, 1, 0.125f, 1f).run(ops, recording, x, NoiseSource.seeded(0), StepListener.NONE);
        }
        assertEquals(java.util.List.of("u0.0", "g0.125", "g0.25", "g0.375", "g0.5", "g0.625", "g0.75", "g0.875"), calls);
    }

    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
        return b;
    }
}
