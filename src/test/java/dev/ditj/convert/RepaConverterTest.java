package dev.ditj.convert;

import dev.ditj.Compare;
import dev.ditj.DitjException;
import dev.ditj.Fixtures;
import dev.ditj.TestModels;
import dev.ditj.api.DitModel;
import dev.ditj.api.GenerationDefaults;
import dev.ditj.cpu.CpuOps;
import dev.ditj.io.CheckpointException;
import dev.ditj.model.DitConfig;
import dev.ditj.model.ModelFamily;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.HostTensor;
import dev.ditj.weights.ModelFiles;
import dev.ditj.weights.WeightStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * REPA checkpoints (sihyun-yu/REPA's files, made by tools/fixtures/make_repa_testdata.py): the family decided by the
 * projector heads, which are dropped; EMA weights; the official forward; contradictions and refused pickles.
 */
class RepaConverterTest {
    private static final DitConfig REPA_T = new DitConfig(4, 8, 2, 8, 1, 1, 4.0, 10, false);

    @TempDir
    Path tmp;

    private static Converter.Options family(ModelFamily f) {
        return new Converter.Options(DType.F32, 1, null, null, null, f);
    }

    private static void assertVelocity(Path model, String what) {
        try (CpuOps ops = new CpuOps(); DitModel m = DitModel.load(model, ops)) {
            HostTensor v = m.velocity(TestModels.floats("repa_t_forward_x.npy"), TestModels.floats("repa_t_forward_t.npy").data(),
                    TestModels.ints("repa_t_forward_y.npy"));
            Compare.assertRelL2(v.data(), TestModels.floats("repa_t_forward_out.npy").data(), 1e-5, what);
        }
    }

    @Test
    void trainingCheckpointIsAREPAByItsProjectorsAndTakesTheEma() {
        Path out = tmp.resolve("repa.safetensors");
        Converter.Report r = Converter.convert(Fixtures.file("repa_t_train.pt"), out, family(null));
        assertEquals("repa-training-checkpoint-ema", r.layout());
        assertEquals(ModelFamily.REPA, r.family());
        assertEquals("REPA's projector heads ('projectors.*', training-only, dropped)", r.familyReason());
        assertEquals(22, r.tensors());
        try (WeightStore w = WeightStore.open(out); CpuOps ops = new CpuOps(); DitModel m = DitModel.load(out, ops)) {
            assertEquals(REPA_T, w.ditConfig());
            assertEquals("repa", w.metadata().get(ModelFiles.FAMILY_KEY));
            assertFalse(w.names().stream().anyMatch(n -> n.startsWith("projectors.")), w.names().toString());
            assertEquals(GenerationDefaults.REPA, m.generationDefaults());
            assertThrows(DitjException.class, () -> m.forward(TestModels.floats("repa_t_forward_x.npy"), new int[] {1, 2, 3},
                    TestModels.ints("repa_t_forward_y.npy")));
        }
        assertVelocity(out, "repa_t EMA forward");
    }

    @Test
    void plainStateDictIsAREPAByItsProjectors() {
        Path out = tmp.resolve("plain.safetensors");
        Converter.Report r = Converter.convert(Fixtures.file("repa_t.pt"), out, family(null));
        assertEquals("repa-state-dict", r.layout());
        assertEquals(ModelFamily.REPA, r.family());
        assertVelocity(out, "repa_t.pt forward");
        assertEquals(ModelFamily.REPA, Converter.convert(Fixtures.file("repa_t.pt"), tmp.resolve("b.safetensors"),
                family(ModelFamily.REPA)).family());
    }

    @Test
    void familyOptionMayNotContradictTheProjectors() {
        Path in = Fixtures.file("repa_t_train.pt");
        String m = assertThrows(DitjException.class, () -> Converter.convert(in, tmp.resolve("x.safetensors"),
                family(ModelFamily.SIT))).getMessage();
        assertEquals(in + ": --family sit contradicts the checkpoint's REPA's projector heads ('projectors.*', "
                + "training-only, dropped), which make it a REPA", m);
        assertTrue(Files.notExists(tmp.resolve("x.safetensors")));
    }

    @Test
    void otherTransportsAreRefused() throws IOException {
        // BINUNICODE 'linear' (6 bytes) -> 'cosine': REPA's other path
        Path cosine = SitConverterTest.rewritePickle(Fixtures.file("repa_t_train.pt"), tmp.resolve("cos.pt"),
                "X\u0006\u0000\u0000\u0000linear", "X\u0006\u0000\u0000\u0000cosine");
        String m = assertThrows(DitjException.class, () -> Converter.convert(cosine, tmp.resolve("c.safetensors"),
                family(null))).getMessage();
        assertEquals(cosine + ": a REPA trained with path_type 'cosine' and prediction 'v'; ditj samples the linear "
                + "path with v prediction (REPA's default) only", m);
    }

    @Test
    void aTrainingCheckpointNamingAnyOtherGlobalIsRefused() throws IOException {
        Path evil = SitConverterTest.rewritePickle(Fixtures.file("repa_t_train.pt"), tmp.resolve("evil.pt"),
                "cargparse\nNamespace\n", "cos\nsystem\n");
        String m = assertThrows(CheckpointException.class, () -> Converter.convert(evil, tmp.resolve("e.safetensors"),
                family(null))).getMessage();
        assertEquals(evil + ": refusing pickle global 'os.system' in data.pkl: a checkpoint may only reference "
                + "allow-listed tensor/container types, never code", m);
        Path posix = SitConverterTest.rewritePickle(Fixtures.file("repa_t_train.pt"), tmp.resolve("posix.pt"),
                "cargparse\nNamespace\n", "cposix\nsystem\n");
        assertTrue(assertThrows(CheckpointException.class, () -> Converter.convert(posix, tmp.resolve("f.safetensors"),
                family(null))).getMessage().contains("refusing pickle global 'posix.system'"));
        assertTrue(Files.notExists(tmp.resolve("e.safetensors")) && Files.notExists(tmp.resolve("f.safetensors")));
    }

    /**
     * The released REPA SiT-XL/2 (generate.py's model: input_size 32, encoder_depth 8, one projector for DINOv2-B,
     * z_dims [768]; fused_attn and qk_norm off): the official models/sit.py builds 298 tensors of 683,242,512 values
     * (= parameters()), 6 of them (8,131,328 values) the projector MLP after block 7, which the converter drops;
     * the 292 it keeps (675,111,184 values) are SiT-XL/2's without learned sigma. Measured with
     * make_repa_testdata.py's imports, torch 1.13; names, order and shapes of all but blocks 1..27 in StateDicts.
     */
    @Test
    void fullSizeXl2HasTheOfficialStateDictWithoutItsProjectors() {
        DitConfig xl = new DitConfig(4, 32, 2, 1152, 28, 16, 4.0, 1000, false);
        assertEquals("REPA-XL/2", xl.familyName(ModelFamily.REPA));
        Map<String, int[]> e = Converter.expectedTensors(xl);
        assertEquals(298 - 6, e.size());
        assertEquals(683_242_512L - 8_131_328L, StateDicts.values(e));
        String projectors = "projectors.0.0.weight [2048, 1152], projectors.0.0.bias [2048], projectors.0.2.weight "
                + "[2048, 2048], projectors.0.2.bias [2048], projectors.0.4.weight [768, 2048], projectors.0.4.bias [768]";
        long projectorValues = 0;
        for (String t : projectors.split("(?<=]), ")) {
            assertTrue(t.startsWith(Converter.REPA_PROJECTORS), t);
            projectorValues += java.util.Arrays.stream(t.replaceAll(".*\\[|]", "").split(", "))
                    .mapToLong(Long::parseLong).reduce(1, (a, b) -> a * b);
        }
        assertEquals(8_131_328L, projectorValues);
        assertEquals(StateDicts.sitXl2OutsideRepeatedBlocks(16), StateDicts.outsideRepeatedBlocks(e));
    }
}
