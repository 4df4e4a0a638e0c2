package dev.ditj.convert;

import dev.ditj.Compare;
import dev.ditj.DitjException;
import dev.ditj.Fixtures;
import dev.ditj.TestModels;
import dev.ditj.api.DitModel;
import dev.ditj.cpu.CpuOps;
import dev.ditj.io.RawTensor;
import dev.ditj.io.SafeTensors;
import dev.ditj.io.TorchCheckpoint;
import dev.ditj.model.DitConfig;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.FloatFormats;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Shape;
import dev.ditj.weights.Int8Rows;
import dev.ditj.weights.ModelFiles;
import dev.ditj.weights.WeightStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConverterTest {
    @TempDir
    Path tmp;

    private static Converter.Options heads(int n) {
        return new Converter.Options(DType.F32, n, null, null);
    }

    @Test
    void ditStateDictInfersConfigAndKeepsEveryTensor() {
        Path out = tmp.resolve("a.safetensors");
        Converter.Report r = Converter.convert(Fixtures.file("dit_a.pt"), out, heads(2));
        assertEquals("dit-state-dict", r.layout());
        assertEquals(32, r.tensors());
        try (WeightStore w = WeightStore.open(out)) {
            assertEquals(new DitConfig(4, 8, 2, 144, 2, 2, 4.0, 10, true), w.ditConfig());
            assertEquals("dit_a.pt", w.metadata().get(ModelFiles.SOURCE_KEY));
            assertEquals(64, w.metadata().get(ModelFiles.SOURCE_SHA256_KEY).length());
        }
        try (WeightStore w = WeightStore.open(TestModels.ditB())) {
            assertEquals(new DitConfig(4, 16, 4, 96, 1, 4, 4.0, 1000, false), w.ditConfig());
        }
    }

    @Test
    void trainingCheckpointTakesTheEmaWeights() {
        Path out = tmp.resolve("train.safetensors");
        Converter.Report r = Converter.convert(Fixtures.file("dit_t_train.pt"), out, heads(2));
        assertEquals("dit-training-checkpoint-ema", r.layout());
        assertEquals(22, r.tensors());
        try (WeightStore w = WeightStore.open(out)) {
            assertEquals(new DitConfig(4, 8, 2, 16, 1, 2, 4.0, 10, true), w.ditConfig());
        }
        Map<?, ?> top = (Map<?, ?>) TorchCheckpoint.read(Fixtures.file("dit_t_train.pt"));
        Map<String, RawTensor> ema = TorchCheckpoint.tensorMap(top.get("ema"), "ema");
        try (SafeTensors.Reader a = SafeTensors.open(out)) {
            for (String name : ema.keySet()) assertArrayEquals(ema.get(name).toFloats(), a.get(name).toFloats(), name);
        }
        // "ema" and "model" are unrelated random weights: only the EMA's forward matches the official one
        try (CpuOps ops = new CpuOps(); DitModel m = DitModel.load(out, ops)) {
            HostTensor o = m.forward(TestModels.floats("dit_t_forward_x.npy"), TestModels.ints("dit_t_forward_t.npy"),
                    TestModels.ints("dit_t_forward_y.npy"));
            Compare.assertRelL2(o.data(), TestModels.floats("dit_t_forward_out.npy").data(), 1e-5, "dit_t_train.pt EMA forward");
        }
    }

    @Test
    void vaeLayoutsAreRecognised() {
        Path cfg = TestModels.vaeTinyConfig();
        String[][] cases = {
                {"vae_tiny_diffusers", "vae-diffusers-folder"},
                {"vae_tiny_diffusers/diffusion_pytorch_model.safetensors", "vae-diffusers"},
                {"vae_tiny_ldm.ckpt", "vae-ldm"},
                {"sd_full_tiny.ckpt", "vae-ldm-in-full-checkpoint"}};
        float[] reference = null, encoderReference = null;
        for (String[] c : cases) {
            Path out = tmp.resolve(c[1] + ".safetensors");
            // only the folder brings its config.json: shapes do not tell the GroupNorm group count (4 here)
            Converter.Report r = Converter.convert(Fixtures.file(c[0]), out,
                    new Converter.Options(DType.F32, 0, c[0].equals("vae_tiny_diffusers") ? null : cfg, null));
            assertEquals(c[1], r.layout());
            try (SafeTensors.Reader st = SafeTensors.open(out)) {
                float[] w = st.get("decoder.mid_block.attentions.0.to_q.weight").toFloats();
                assertArrayEquals(new int[] {16, 16}, st.shape("decoder.mid_block.attentions.0.to_q.weight").dims());
                if (reference == null) reference = w;
                assertArrayEquals(reference, w, c[0]);
                float[] e = st.get("encoder.mid_block.attentions.0.to_q.weight").toFloats(); // kept, squeezed to [C, C]
                if (encoderReference == null) encoderReference = e;
                assertArrayEquals(encoderReference, e, c[0]);
                assertEquals("encoder,decoder", st.metadata().get(ModelFiles.VAE_PARTS_KEY));
            }
        }
        // without it, SD's 32 groups are assumed, which these channel counts refuse
        Path lone = Fixtures.file("vae_tiny_diffusers/diffusion_pytorch_model.safetensors");
        String m = assertThrows(DitjException.class, () -> Converter.convert(lone, tmp.resolve("lone.safetensors"),
                new Converter.Options(DType.F32, 0, null, null))).getMessage();
        assertTrue(m.contains("norm_num_groups 32"), m);
        assertFalse(Files.exists(tmp.resolve("lone.safetensors")));
    }

    /** A float32 source (dit_t's EMA; the held-out dit_a/dit_b are stored in float16) rounded to bf16 / fp16. */
    @Test
    void halfPrecisionOutputsRoundEachWeight() {
        Map<?, ?> top = (Map<?, ?>) TorchCheckpoint.read(Fixtures.file("dit_t_train.pt"));
        Map<String, RawTensor> src = TorchCheckpoint.tensorMap(top.get("ema"), "ema");
        assertEquals(DType.F32, src.get("blocks.0.attn.qkv.weight").dtype());
        for (DType d : new DType[] {DType.BF16, DType.F16}) {
            Path out = tmp.resolve(d + ".safetensors");
            Converter.convert(Fixtures.file("dit_t_train.pt"), out, new Converter.Options(d, 2, null, null));
            try (SafeTensors.Reader r = SafeTensors.open(out)) {
                assertEquals(d, r.dtype("blocks.0.attn.qkv.weight"));
                float[] orig = src.get("blocks.0.attn.qkv.weight").toFloats(), got = r.get("blocks.0.attn.qkv.weight").toFloats();
                int changed = 0;
                for (int i = 0; i < orig.length; i++) {
                    float expected = d == DType.BF16 ? FloatFormats.bf16ToFloat(FloatFormats.floatToBf16(orig[i]))
                            : FloatFormats.halfToFloat(FloatFormats.floatToHalf(orig[i]));
                    assertEquals(expected, got[i], 0f);
                    if (got[i] != orig[i]) changed++;
                }
                assertTrue(changed > orig.length / 2, changed + " of " + orig.length + " weights rounded");
            }
            try (CpuOps ops = new CpuOps(); DitModel m = DitModel.load(out, ops)) {
                HostTensor o = m.forward(TestModels.floats("dit_t_forward_x.npy"), TestModels.ints("dit_t_forward_t.npy"),
                        TestModels.ints("dit_t_forward_y.npy"));
                // reduced-precision weights: bf16 keeps 8 bits of mantissa, fp16 11
                Compare.assertRelL2(o.data(), TestModels.floats("dit_t_forward_out.npy").data(),
                        d == DType.BF16 ? 2e-2 : 3e-3, "dit_t forward with " + d + " weights");
            }
        }
    }

    /** int8: layer weights in 8 bits with per-row scales, the rest fp16; it loads like any file. */
    @Test
    void int8OutputQuantisesLayerWeightsAndLoads() {
        Path out = tmp.resolve("int8.safetensors"), half = tmp.resolve("f16.safetensors");
        Converter.Report r = Converter.convert(Fixtures.file("dit_t_train.pt"), out, new Converter.Options(DType.I8, 2, null, null));
        Converter.convert(Fixtures.file("dit_t_train.pt"), half, new Converter.Options(DType.F16, 2, null, null));
        String qkv = "blocks.0.attn.qkv.weight", scale = qkv + Int8Rows.SCALE_SUFFIX;
        Path broken = tmp.resolve("no-scale.safetensors");
        try (SafeTensors.Reader rd = SafeTensors.open(out)) {
            assertEquals(DType.I8, rd.dtype(qkv));
            assertEquals(DType.F32, rd.dtype(scale));
            assertEquals(DType.F16, rd.dtype("blocks.0.attn.qkv.bias"));
            assertEquals(DType.F16, rd.dtype("pos_embed"));
            long int8 = rd.names().stream().filter(n -> rd.dtype(n) == DType.I8).count();
            assertEquals(r.tensors() + int8, rd.names().size(), "one scale tensor per int8 tensor");
            Map<String, RawTensor> rest = new LinkedHashMap<>();
            for (String n : rd.names()) if (!n.equals(scale)) rest.put(n, rd.get(n));
            SafeTensors.write(broken, rest, rd.metadata());
        }
        try (WeightStore w = WeightStore.open(out)) {
            assertEquals(DType.I8, w.storedDtype());
            assertEquals(r.tensors(), w.names().size(), "scales are not model tensors");
        }
        try (CpuOps ops = new CpuOps(); DitModel m = DitModel.load(out, ops)) {
            HostTensor o = m.forward(TestModels.floats("dit_t_forward_x.npy"), TestModels.ints("dit_t_forward_t.npy"),
                    TestModels.ints("dit_t_forward_y.npy"));
            // int8's step is 1/127 of a row's largest weight: coarser than bf16 for a row's small weights (measured
            // 7.9e-3 here, bf16 2.9e-3)
            Compare.assertRelL2(o.data(), TestModels.floats("dit_t_forward_out.npy").data(), 1.5e-2, "dit_t forward, int8");
        }
        DitjException e = assertThrows(DitjException.class, () -> {
            try (CpuOps ops = new CpuOps(); DitModel m = DitModel.load(broken, ops)) {
                m.config();
            }
        });
        assertTrue(e.getMessage().contains("no-scale.safetensors") && e.getMessage().contains(scale), e.getMessage());
    }

    @Test
    void officialFamilyHeadsNeedNoOption() {
        // A DiT-S/2 at 256 px, one block: only the shapes matter for inference.
        Map<String, RawTensor> t = new LinkedHashMap<>();
        put(t, "pos_embed", 1, 256, 384);
        put(t, "x_embedder.proj.weight", 384, 4, 2, 2);
        put(t, "y_embedder.embedding_table.weight", 1001, 384);
        put(t, "blocks.0.attn.qkv.weight", 1152, 384);
        put(t, "blocks.0.mlp.fc1.weight", 1536, 384);
        put(t, "final_layer.linear.weight", 32, 384);
        DitConfig c = DitLayout.inferConfig(t, 0, "s2.pt");
        assertEquals(new DitConfig(4, 32, 2, 384, 1, 6, 4.0, 1000, true), c);
        assertEquals("DiT-S/2", new DitConfig(4, 32, 2, 384, 12, 6, 4.0, 1000, true).familyName());
        assertEquals("DiT-XL/8", new DitConfig(4, 64, 8, 1152, 28, 16, 4.0, 1000, true).familyName());
        put(t, "x_embedder.proj.weight", 144, 4, 2, 2);
        put(t, "pos_embed", 1, 256, 144);
        DitjException e = assertThrows(DitjException.class, () -> DitLayout.inferConfig(t, 0, "odd.pt"));
        assertTrue(e.getMessage().contains("--num-heads"), e.getMessage());
    }

    @Test
    void xl2ParameterCountMatchesTheSpec() {
        assertEquals(674_834_720L, new DitConfig(4, 32, 2, 1152, 28, 16, 4.0, 1000, true).parameterCount());
        assertEquals(32_865_056L, new DitConfig(4, 32, 2, 384, 12, 6, 4.0, 1000, true).parameterCount());
    }

    private static void put(Map<String, RawTensor> t, String name, int... dims) {
        Shape s = Shape.of(dims);
        t.put(name, RawTensor.ofFloats(new float[s.size()], s, DType.F32));
    }

    // ------------------------------------------------------------------------------------------ bad inputs

    private void assertFailsNamingAndWritesNothing(Path input, Converter.Options o, String... fragments) {
        Path out = tmp.resolve("out.safetensors");
        DitjException e = assertThrows(DitjException.class, () -> Converter.convert(input, out, o));
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "message '" + e.getMessage() + "' lacks '" + f + "'");
        assertFalse(Files.exists(out), "nothing may be written on failure");
        try (var files = Files.list(tmp)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().startsWith("out")), "no temp files left");
        } catch (IOException ex) {
            throw new RuntimeException(ex);
        }
    }

    @Test
    void truncatedCheckpointIsRefused() throws IOException {
        byte[] all = Files.readAllBytes(Fixtures.file("dit_a.pt"));
        Path cut = tmp.resolve("cut.pt");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length / 2));
        assertFailsNamingAndWritesNothing(cut, heads(2), "cut.pt");
    }

    @Test
    void forbiddenPickleGlobalIsRefusedByName() throws IOException {
        Path evil = tmp.resolve("evil.pt");
        byte[] pickle = "\u0080\u0002cos\nsystem\nq\u0000X\u0002\u0000\u0000\u0000lsq\u0001\u0085q\u0002Rq\u0003."
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(evil))) {
            ZipEntry e = new ZipEntry("evil/data.pkl");
            e.setMethod(ZipEntry.STORED);
            e.setSize(pickle.length);
            CRC32 crc = new CRC32();
            crc.update(pickle);
            e.setCrc(crc.getValue());
            z.putNextEntry(e);
            z.write(pickle);
            z.closeEntry();
        }
        assertFailsNamingAndWritesNothing(evil, heads(2), "os.system", "evil.pt");
    }

    private Path ditAWith(java.util.function.Consumer<Map<String, RawTensor>> edit) {
        Map<String, RawTensor> t = new LinkedHashMap<>(
                TorchCheckpoint.tensorMap(TorchCheckpoint.read(Fixtures.file("dit_a.pt")), "dit_a"));
        edit.accept(t);
        Path p = tmp.resolve("edited.safetensors");
        SafeTensors.write(p, t, Map.of("format", "pt"));
        return p;
    }

    @Test
    void misShapedTensorIsNamedWithBothShapes() {
        Path p = ditAWith(t -> t.put("blocks.1.mlp.fc1.bias", RawTensor.ofFloats(new float[575], Shape.of(575), DType.F32)));
        assertFailsNamingAndWritesNothing(p, heads(2), "blocks.1.mlp.fc1.bias", "[575]", "[576]");
    }

    @Test
    void missingTensorIsNamed() {
        Path p = ditAWith(t -> t.remove("blocks.1.attn.proj.bias"));
        assertFailsNamingAndWritesNothing(p, heads(2), "missing tensor 'blocks.1.attn.proj.bias'");
    }

    @Test
    void extraTensorIsNamed() {
        Path p = ditAWith(t -> t.put("blocks.0.attn.q_norm.weight", RawTensor.ofFloats(new float[72], Shape.of(72), DType.F32)));
        assertFailsNamingAndWritesNothing(p, heads(2), "unexpected tensor 'blocks.0.attn.q_norm.weight'");
    }

    @Test
    void notAModelIsRefused() {
        Path p = ditAWith(t -> {
            t.clear();
            t.put("foo", RawTensor.ofFloats(new float[2], Shape.of(2), DType.F32));
        });
        assertFailsNamingAndWritesNothing(p, heads(2), "neither a DiT", "foo");
    }

    @Test
    void ditjFilesAreNotReconverted() {
        assertFailsNamingAndWritesNothing(TestModels.ditA(), heads(2), "already a ditj model file");
    }

    @Test
    void rawCheckpointIsNotLoadedAsAModel() {
        DitjException e = assertThrows(DitjException.class,
                () -> WeightStore.open(Fixtures.file("vae_tiny_diffusers/diffusion_pytorch_model.safetensors")));
        assertTrue(e.getMessage().contains("ditj convert"), e.getMessage());
    }

    static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
