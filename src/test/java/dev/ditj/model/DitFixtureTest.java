package dev.ditj.model;

import dev.ditj.Compare;
import dev.ditj.CpuBackendTest;
import dev.ditj.TestModels;
import dev.ditj.api.DitModel;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The DiT forward against the official PyTorch model (float64 reference, fixtures/README.md). */
class DitFixtureTest extends CpuBackendTest {
    private static final double TOLERANCE = 1e-5;
    @Test
    void timestepFrequenciesMatchPyTorch() {
        HostTensor expected = TestModels.floats("dit_a_forward_tfreq.npy");
        int[] t = TestModels.ints("dit_a_forward_t.npy");
        float[] tf = new float[t.length];
        for (int i = 0; i < t.length; i++) tf[i] = t[i];
        try (Tensor tt = ops.upload(new HostTensor(Shape.of(t.length), tf)); Tensor out = ops.alloc(expected.shape());
             Tensor freqs = ops.upload(new HostTensor(Shape.of(128), TimestepFrequencies.table()))) {
            ops.timestepFrequencies(out, tt, freqs);
            Compare.assertRelL2(ops.read(out), expected.data(), 1e-7, "t_freq");
        }
    }

    @Test
    void ditAForwardMatchesOfficial() {
        try (DitModel m = DitModel.load(TestModels.ditA(), ops)) {
            HostTensor out = m.forward(TestModels.floats("dit_a_forward_x.npy"), TestModels.ints("dit_a_forward_t.npy"),
                    TestModels.ints("dit_a_forward_y.npy"));
            Compare.assertRelL2(out.data(), TestModels.floats("dit_a_forward_out.npy").data(), TOLERANCE, "dit_a forward");
        }
    }

    @Test
    void ditAForwardWithCfgMatchesOfficial() {
        try (DitModel m = DitModel.load(TestModels.ditA(), ops)) {
            HostTensor out = m.forwardWithCfg(TestModels.floats("dit_a_cfg_x.npy"), TestModels.ints("dit_a_cfg_t.npy"),
                    TestModels.ints("dit_a_cfg_y.npy"), 4.0f);
            Compare.assertRelL2(out.data(), TestModels.floats("dit_a_cfg_out.npy").data(), TOLERANCE, "dit_a cfg forward");
        }
    }

    @Test
    void ditBForwardMatchesOfficial() {
        try (DitModel m = DitModel.load(TestModels.ditB(), ops)) {
            HostTensor out = m.forward(TestModels.floats("dit_b_forward_x.npy"), TestModels.ints("dit_b_forward_t.npy"),
                    TestModels.ints("dit_b_forward_y.npy"));
            Compare.assertRelL2(out.data(), TestModels.floats("dit_b_forward_out.npy").data(), TOLERANCE, "dit_b forward");
        }
    }
}
