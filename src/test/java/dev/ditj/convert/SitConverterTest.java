package dev.ditj.convert;

import dev.ditj.Compare;
import dev.ditj.DitjException;
import dev.ditj.Fixtures;
import dev.ditj.TestModels;
import dev.ditj.api.DitModel;
import dev.ditj.api.GenerationDefaults;
import dev.ditj.cpu.CpuOps;
import dev.ditj.io.CheckpointException;
import dev.ditj.io.TorchCheckpointTest;
import dev.ditj.model.DitConfig;
import dev.ditj.model.ModelFamily;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.HostTensor;
import dev.ditj.weights.ModelFiles;
import dev.ditj.weights.WeightStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SiT checkpoints (willisma/SiT's files, made by tools/fixtures/make_sit_testdata.py): the family decided by the
 * training arguments, --family or the released file name; EMA weights; the official forward; refused pickles.
 */
class SitConverterTest {
    private static final DitConfig SIT_T = new DitConfig(4, 8, 2, 16, 1, 2, 4.0, 10, true);

    @TempDir
    Path tmp;

    private static Converter.Options family(ModelFamily f) {
        return new Converter.Options(DType.F32, 2, null, null, null, f);
    }

    @Test
    void trainingCheckpointIsASitByItsArgumentsAndTakesTheEma() {
        Path out = tmp.resolve("sit.safetensors");
        Converter.Report r = Converter.convert(Fixtures.file("sit_t_train.pt"), out, family(null));
        assertEquals("sit-training-checkpoint-ema", r.layout());
        assertEquals(ModelFamily.SIT, r.family());
        assertEquals("training arguments (model 'SiT-T/2', path_type 'Linear')", r.familyReason());
        assertEquals(22, r.tensors());
        try (WeightStore w = WeightStore.open(out); CpuOps ops = new CpuOps(); DitModel m = DitModel.load(out, ops)) {
            assertEquals(SIT_T, w.ditConfig());
            assertEquals("sit", w.metadata().get(ModelFiles.FAMILY_KEY));
            assertEquals(ModelFamily.SIT, m.family());
            assertEquals(GenerationDefaults.SIT, m.generationDefaults());
            HostTensor v = m.velocity(TestModels.floats("sit_t_forward_x.npy"), TestModels.floats("sit_t_forward_t.npy").data(),
                    TestModels.ints("sit_t_forward_y.npy"));
            assertEquals(4, v.shape().dim(1)); // the sigma half dropped, as SiT's forward
            Compare.assertRelL2(v.data(), TestModels.floats("sit_t_forward_out.npy").data(), 1e-5, "sit_t EMA velocity");
            assertThrows(DitjException.class, () -> m.forward(TestModels.floats("sit_t_forward_x.npy"), new int[] {1, 2, 3},
                    TestModels.ints("sit_t_forward_y.npy")));
        }
    }

    @Test
    void plainStateDictNeedsTheOptionOrTheReleasedName() throws IOException {
        Path plain = Fixtures.file("sit_t.pt");
        Converter.Report dit = Converter.convert(plain, tmp.resolve("a.safetensors"), family(null));
        assertEquals(ModelFamily.DIT, dit.family());
        assertEquals("dit-state-dict", dit.layout());
        Converter.Report sit = Converter.convert(plain, tmp.resolve("b.safetensors"), family(ModelFamily.SIT));
        assertEquals(ModelFamily.SIT, sit.family());
        assertEquals("sit-state-dict", sit.layout());
        assertEquals("--family sit", sit.familyReason());
        Path released = Files.copy(plain, tmp.resolve("SiT-XL-2-256x256.pt"));
        Converter.Report named = Converter.convert(released, tmp.resolve("c.safetensors"), family(null));
        assertEquals(ModelFamily.SIT, named.family());
        assertEquals("file name SiT-XL-2-256x256.pt", named.familyReason());
        // the plain file holds the training checkpoint's EMA weights: the same velocity
        try (CpuOps ops = new CpuOps(); DitModel m = DitModel.load(tmp.resolve("b.safetensors"), ops)) {
            HostTensor v = m.velocity(TestModels.floats("sit_t_forward_x.npy"), TestModels.floats("sit_t_forward_t.npy").data(),
                    TestModels.ints("sit_t_forward_y.npy"));
            Compare.assertRelL2(v.data(), TestModels.floats("sit_t_forward_out.npy").data(), 1e-5, "sit_t.pt velocity");
        }
    }

    @Test
    void familyOptionMayNotContradictTheTrainingArguments() {
        Path in = Fixtures.file("sit_t_train.pt");
        String m = assertThrows(DitjException.class, () -> Converter.convert(in, tmp.resolve("x.safetensors"),
                family(ModelFamily.DIT))).getMessage();
        assertEquals(in + ": --family dit contradicts the checkpoint's training arguments (model 'SiT-T/2', path_type "
                + "'Linear'), which make it a SiT", m);
        assertTrue(Files.notExists(tmp.resolve("x.safetensors")));
        // a DiT training checkpoint is a DiT by its arguments
        Converter.Report r = Converter.convert(Fixtures.file("dit_t_train.pt"), tmp.resolve("d.safetensors"), family(null));
        assertEquals(ModelFamily.DIT, r.family());
        assertEquals("training arguments (model 'DiT-T')", r.familyReason());
    }

    @Test
    void otherTransportsAreRefused() throws IOException {
        // BINUNICODE 'Linear' (6 bytes) -> 'GVP': the pickle stays well formed (protocol 2 has no frame lengths)
        Path gvp = rewritePickle("gvp.pt", "X\u0006\u0000\u0000\u0000Linear", "X\u0003\u0000\u0000\u0000GVP");
        String m = assertThrows(DitjException.class, () -> Converter.convert(gvp, tmp.resolve("g.safetensors"),
                family(null))).getMessage();
        assertEquals(gvp + ": a SiT trained with path_type 'GVP' and prediction 'velocity'; ditj samples the Linear "
                + "path with velocity prediction (SiT's default) only", m);
    }

    @Test
    void aTrainingCheckpointNamingAnyOtherGlobalIsRefused() throws IOException {
        // the args' class: argparse.Namespace (allowed, inert) -> a same-protocol GLOBAL of code
        Path evil = rewritePickle("evil.pt", "cargparse\nNamespace\n", "cos\nsystem\n");
        String m = assertThrows(CheckpointException.class, () -> Converter.convert(evil, tmp.resolve("e.safetensors"),
                family(null))).getMessage();
        assertEquals(evil + ": refusing pickle global 'os.system' in data.pkl: a checkpoint may only reference "
                + "allow-listed tensor/container types, never code", m);
        Path builtins = rewritePickle("eval.pt", "cargparse\nNamespace\n", "cbuiltins\neval\n");
        assertTrue(assertThrows(CheckpointException.class, () -> Converter.convert(builtins, tmp.resolve("f.safetensors"),
                family(null))).getMessage().contains("refusing pickle global 'builtins.eval'"));
        assertTrue(Files.notExists(tmp.resolve("e.safetensors")) && Files.notExists(tmp.resolve("f.safetensors")));
    }

    /** sit_t_train.pt with one byte string of its data.pkl replaced (it must occur exactly once). */
    private Path rewritePickle(String name, String from, String to) throws IOException {
        return rewritePickle(Fixtures.file("sit_t_train.pt"), tmp.resolve(name), from, to);
    }

    /** A torch.save zip with one byte string of its data.pkl replaced (it must occur exactly once). */
    static Path rewritePickle(Path checkpoint, Path out, String from, String to) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        String pklName = null;
        try (ZipFile z = new ZipFile(checkpoint.toFile())) {
            for (ZipEntry e : Collections.list(z.entries())) {
                try (InputStream in = z.getInputStream(e)) {
                    entries.put(e.getName(), in.readAllBytes());
                }
                if (e.getName().endsWith("/data.pkl")) pklName = e.getName();
            }
        }
        String pkl = new String(entries.get(pklName), StandardCharsets.ISO_8859_1);
        int at = pkl.indexOf(from);
        assertTrue(at >= 0 && pkl.indexOf(from, at + 1) < 0, "'" + from + "' once in data.pkl");
        entries.put(pklName, pkl.replace(from, to).getBytes(StandardCharsets.ISO_8859_1));
        return TorchCheckpointTest.zip(out, entries);
    }

    /**
     * The released SiT-XL/2 (SiT-XL-2-256x256.pt: 32×32×4 latents, learned-sigma head kept): its state dict as the
     * official models.py builds it ({@code SiT_models["SiT-XL/2"](input_size=32, num_classes=1000)}, measured with
     * make_sit_testdata.py's imports, torch 1.13): 292 tensors of 675,129,632 values (= parameters(), pos_embed
     * included); names, order and shapes of all but blocks 1..27 in StateDicts.
     */
    @Test
    void fullSizeXl2HasTheOfficialStateDict() {
        DitConfig xl = new DitConfig(4, 32, 2, 1152, 28, 16, 4.0, 1000, true);
        assertEquals("SiT-XL/2", xl.familyName(ModelFamily.SIT));
        Map<String, int[]> e = Converter.expectedTensors(xl);
        assertEquals(292, e.size());
        assertEquals(675_129_632L, StateDicts.values(e));
        assertEquals(675_129_632L - 256 * 1152, xl.parameterCount());   // the DiT formula leaves pos_embed out
        assertEquals(StateDicts.sitXl2OutsideRepeatedBlocks(32), StateDicts.outsideRepeatedBlocks(e));
    }
}
