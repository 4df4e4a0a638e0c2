package dev.ditj.convert;

import dev.ditj.Compare;
import dev.ditj.DitjException;
import dev.ditj.Fixtures;
import dev.ditj.TestModels;
import dev.ditj.api.Backend;
import dev.ditj.api.DitModel;
import dev.ditj.model.DitConfig;
import dev.ditj.model.ModelFamily;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Precision;
import dev.ditj.weights.ModelFiles;
import dev.ditj.weights.WeightStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LightningDiT checkpoints (hustvl/LightningDiT's files, made by tools/fixtures/make_lightningdit_testdata.py): the
 * family and config read from the keys, EMA weights, and the official forward and forward_with_cfg on the CPU and
 * on the emulated GPU (fp32).
 */
class LightningDitTest {
    /** lightningdit_t: patch 1 on 4×4×32 latents, H 16, 2 heads, RMSNorm, SwiGLU (width 42), rotary embedding. */
    private static final DitConfig LDIT_T = new DitConfig(32, 4, 1, 16, 1, 2, 4.0, 10, false, true, true, true);

    @TempDir
    Path tmp;

    private static Converter.Options family(ModelFamily f) {
        return new Converter.Options(DType.F32, 0, null, null, null, f);
    }

    private static void checkForward(DitModel m, String what) {
        HostTensor v = m.velocity(TestModels.floats("lightningdit_t_forward_x.npy"),
                TestModels.floats("lightningdit_t_forward_t.npy").data(), TestModels.ints("lightningdit_t_forward_y.npy"));
        Compare.assertRelL2(v.data(), TestModels.floats("lightningdit_t_forward_out.npy").data(), 1e-5, what + " forward");
        HostTensor g = m.velocityWithCfg(TestModels.floats("lightningdit_t_cfg_x.npy"),
                TestModels.floats("lightningdit_t_cfg_t.npy").data(), TestModels.ints("lightningdit_t_cfg_y.npy"), 6.7f);
        Compare.assertRelL2(g.data(), TestModels.floats("lightningdit_t_cfg_out.npy").data(), 1e-5, what + " forward_with_cfg");
    }

    @Test
    void trainingCheckpointIsALightningDitByItsKeysAndTakesTheEma() {
        Path out = tmp.resolve("ldit.safetensors");
        Converter.Report r = Converter.convert(Fixtures.file("lightningdit_t_train.pt"), out, family(null));
        assertEquals("lightningdit-training-checkpoint-ema", r.layout());
        assertEquals(ModelFamily.LIGHTNINGDIT, r.family());
        assertEquals("LightningDiT keys (RMSNorm, SwiGLU or rotary tables)", r.familyReason());
        assertEquals(27, r.tensors());
        assertEquals(11316, r.parameters() - 2 * 16 * 8);   // the official parameters() (pos_embed too) and the rotary tables
        try (WeightStore w = WeightStore.open(out); Ops cpu = Backend.CPU.open(); DitModel m = DitModel.load(out, cpu)) {
            assertEquals(LDIT_T, w.ditConfig());
            assertEquals(42, w.ditConfig().mlpHidden());
            assertEquals("lightningdit", w.metadata().get(ModelFiles.FAMILY_KEY));
            assertEquals(ModelFamily.LIGHTNINGDIT, m.family());
            checkForward(m, "lightningdit_t_train.pt EMA (cpu)");
            assertThrows(DitjException.class, () -> m.forward(TestModels.floats("lightningdit_t_forward_x.npy"), new int[] {1, 2},
                    TestModels.ints("lightningdit_t_forward_y.npy")));
        }
    }

    @Test
    void plainStateDictOnTheCpuAndTheEmulatedGpu() {
        Path out = tmp.resolve("plain.safetensors");
        Converter.Report r = Converter.convert(Fixtures.file("lightningdit_t.pt"), out, family(null));
        assertEquals("lightningdit-state-dict", r.layout());
        assertEquals(ModelFamily.LIGHTNINGDIT, r.family());
        try (Ops cpu = Backend.CPU.open(); DitModel m = DitModel.load(out, cpu)) {
            checkForward(m, "lightningdit_t.pt (cpu)");
        }
        try (Ops emu = Backend.EMU.open(Precision.FP32); DitModel m = DitModel.load(out, emu)) {
            checkForward(m, "lightningdit_t.pt (emu fp32)");
        }
    }

    /**
     * The released LightningDiT-XL/1 (configs/lightningdit_xl_vavae_f16d32.yaml: 16×16×32 latents, patch 1, RMSNorm,
     * SwiGLU, RoPE, 1000 classes): its state dict as the official code builds it (measured with
     * make_lightningdit_testdata.py's imports, torch 1.13): 351 tensors of 675,293,600 values, parameters() 675,256,736
     * (pos_embed included, the rotary buffers not); names, order and shapes of all but blocks 1..27 below.
     */
    @Test
    void fullSizeXl1HasTheOfficialStateDict() {
        DitConfig xl = new DitConfig(32, 16, 1, 1152, 28, 16, 4.0, 1000, false, true, true, true);
        assertEquals("LightningDiT-XL/1", xl.familyName(ModelFamily.LIGHTNINGDIT));
        Map<String, int[]> e = Converter.expectedTensors(xl);
        assertEquals(351, e.size());
        assertEquals(675_293_600L, StateDicts.values(e));
        assertEquals(675_256_736L - 256 * 1152, xl.parameterCount());   // the DiT formula leaves pos_embed out
        String official = "pos_embed [1, 256, 1152], x_embedder.proj.weight [1152, 32, 1, 1], x_embedder.proj.bias [1152], "
                + "t_embedder.mlp.0.weight [1152, 256], t_embedder.mlp.0.bias [1152], t_embedder.mlp.2.weight [1152, 1152], "
                + "t_embedder.mlp.2.bias [1152], y_embedder.embedding_table.weight [1001, 1152], feat_rope.freqs_cos [256, 72], "
                + "feat_rope.freqs_sin [256, 72], blocks.0.norm1.weight [1152], blocks.0.norm2.weight [1152], "
                + "blocks.0.attn.qkv.weight [3456, 1152], blocks.0.attn.qkv.bias [3456], blocks.0.attn.proj.weight [1152, 1152], "
                + "blocks.0.attn.proj.bias [1152], blocks.0.mlp.w12.weight [6144, 1152], blocks.0.mlp.w12.bias [6144], "
                + "blocks.0.mlp.w3.weight [1152, 3072], blocks.0.mlp.w3.bias [1152], blocks.0.adaLN_modulation.1.weight "
                + "[6912, 1152], blocks.0.adaLN_modulation.1.bias [6912], final_layer.norm_final.weight [1152], "
                + "final_layer.linear.weight [32, 1152], final_layer.linear.bias [32], final_layer.adaLN_modulation.1.weight "
                + "[2304, 1152], final_layer.adaLN_modulation.1.bias [2304]";
        assertEquals(official, StateDicts.outsideRepeatedBlocks(e));
    }

    @Test
    void familyOptionMayNotContradictTheKeys() {
        Path in = Fixtures.file("lightningdit_t.pt");
        String m = assertThrows(DitjException.class, () -> Converter.convert(in, tmp.resolve("x.safetensors"),
                family(ModelFamily.SIT))).getMessage();
        assertEquals(in + ": --family sit contradicts the checkpoint's keys, which hold LightningDiT's layers (RMSNorm, "
                + "SwiGLU or rotary tables)", m);
        Path sit = Fixtures.file("sit_t.pt");
        m = assertThrows(DitjException.class, () -> Converter.convert(sit, tmp.resolve("y.safetensors"),
                family(ModelFamily.LIGHTNINGDIT))).getMessage();
        assertEquals(sit + ": --family lightningdit contradicts the checkpoint's keys, which hold none of LightningDiT's "
                + "layers (RMSNorm, SwiGLU, rotary tables)", m);
        assertTrue(Files.notExists(tmp.resolve("x.safetensors")) && Files.notExists(tmp.resolve("y.safetensors")));
    }
}
