package dev.ditj.io;

import dev.ditj.Fixtures;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

public class TorchCheckpointTest {
    @TempDir
    Path tmp;

    // ---------------------------------------------------------------- real files made by torch.save

    @Test
    void ditA() {
        Map<String, RawTensor> sd = TorchCheckpoint.tensorMap(TorchCheckpoint.read(Fixtures.file("dit_a.pt")), "dit_a.pt");
        assertEquals(32, sd.size());
        assertEquals("pos_embed", sd.keySet().iterator().next(), "state dict order is kept");
        assertEquals(Shape.of(1, 16, 144), sd.get("pos_embed").shape());
        assertEquals(Shape.of(11, 144), sd.get("y_embedder.embedding_table.weight").shape());
        assertEquals(Shape.of(144, 4, 2, 2), sd.get("x_embedder.proj.weight").shape());
        // stored in float16 (weights rounded before the references were computed) to halve the fixture
        for (RawTensor t : sd.values()) assertEquals(DType.F16, t.dtype());
        // token 0 is grid position (0, 0): each quarter of the 2-D sin-cos embedding is [sin 0 ... | cos 0 ...]
        float[] pos = sd.get("pos_embed").toFloats();
        for (int i = 0; i < 144; i++) assertEquals((i / 36) % 2 == 0 ? 0f : 1f, pos[i], 0f, "pos_embed[0,0," + i + "]");
    }

    @Test
    void trainingCheckpoint() {
        Object tree = TorchCheckpoint.read(Fixtures.file("dit_t_train.pt"));
        Map<?, ?> top = assertInstanceOf(Map.class, tree);
        assertEquals(List.of("model", "ema", "opt", "args"), List.copyOf(top.keySet()));

        // a 1-block DiT (hidden 16); what its "ema" computes is checked in ConverterTest
        Map<String, RawTensor> ema = TorchCheckpoint.tensorMap(top.get("ema"), "ema");
        assertEquals(22, ema.size());
        assertEquals("pos_embed", ema.keySet().iterator().next(), "state dict order is kept");
        assertEquals(Shape.of(16, 4, 2, 2), ema.get("x_embedder.proj.weight").shape());
        Map<String, RawTensor> model = TorchCheckpoint.tensorMap(top.get("model"), "model");
        assertEquals(List.copyOf(ema.keySet()), List.copyOf(model.keySet()));
        assertEquals(ema.get("pos_embed"), model.get("pos_embed"), "pos_embed is fixed, not trained");
        assertNotEquals(ema.get("final_layer.linear.weight"), model.get("final_layer.linear.weight"));

        Placeholder args = assertInstanceOf(Placeholder.class, top.get("args"));
        assertEquals("argparse.Namespace", args.global());
        assertFalse(args.isClassReference());
        Map<?, ?> fields = assertInstanceOf(Map.class, args.state());
        assertEquals("DiT-T", fields.get("model"));
        assertEquals(64L, fields.get("image_size"));
        assertEquals("/data/imagenet/train", fields.get("data_path"));

        Map<?, ?> opt = assertInstanceOf(Map.class, top.get("opt"));
        Map<?, ?> group = assertInstanceOf(Map.class, ((List<?>) opt.get("param_groups")).get(0));
        assertEquals(Tuple.of(0.9, 0.999), group.get("betas"));
        assertEquals(1e-4, group.get("lr"));
        assertEquals(0L, group.get("weight_decay"));
        assertEquals(Boolean.FALSE, group.get("amsgrad"));
        assertTrue(group.containsKey("foreach"));
        assertNull(group.get("foreach"));
        assertEquals(22, ((List<?>) group.get("params")).size());
        Map<?, ?> state = assertInstanceOf(Map.class, opt.get("state"));
        assertEquals(21, state.size()); // pos_embed (param 0) has no gradient, hence no state
        Map<?, ?> s1 = assertInstanceOf(Map.class, state.get(1L));
        RawTensor step = assertInstanceOf(RawTensor.class, s1.get("step"));
        assertEquals(Shape.of(), step.shape());
        assertArrayEquals(new float[] {1f}, step.toFloats());
        assertEquals(model.get("x_embedder.proj.weight").shape(), ((RawTensor) s1.get("exp_avg")).shape());

        CheckpointException e = assertThrows(CheckpointException.class, () -> TorchCheckpoint.tensorMap(tree, "dit_t_train.pt"));
        assertTrue(e.getMessage().contains("dit_t_train.pt") && e.getMessage().contains("'model'"), e.getMessage());
    }

    @Test
    void ditB() {
        Map<String, RawTensor> sd = TorchCheckpoint.tensorMap(TorchCheckpoint.read(Fixtures.file("dit_b.pt")), "dit_b.pt");
        assertEquals(22, sd.size());
        assertEquals(Shape.of(1001, 96), sd.get("y_embedder.embedding_table.weight").shape());
        assertEquals(Shape.of(1, 16, 96), sd.get("pos_embed").shape());
    }

    @Test
    void vaeBinEqualsSafetensors() {
        Path dir = Fixtures.file("vae_tiny_diffusers");
        Map<String, RawTensor> bin = TorchCheckpoint.tensorMap(
                TorchCheckpoint.read(dir.resolve("diffusion_pytorch_model.bin")), "diffusion_pytorch_model.bin");
        try (SafeTensors.Reader st = SafeTensors.open(dir.resolve("diffusion_pytorch_model.safetensors"))) {
            assertEquals(180, bin.size());
            assertEquals(Set.copyOf(st.names()), bin.keySet());
            for (String k : st.names()) assertEquals(st.get(k), bin.get(k), k);
        }
    }

    @Test
    void ldmAndFullSdCheckpoints() {
        Map<?, ?> ldm = assertInstanceOf(Map.class, TorchCheckpoint.read(Fixtures.file("vae_tiny_ldm.ckpt")));
        assertEquals(Set.of("state_dict"), ldm.keySet());
        Map<String, RawTensor> vae = TorchCheckpoint.tensorMap(ldm.get("state_dict"), "vae_tiny_ldm.ckpt state_dict");
        assertEquals(180, vae.size());
        assertTrue(vae.containsKey("decoder.conv_in.weight"));
        assertTrue(vae.containsKey("post_quant_conv.weight"));

        Map<?, ?> full = assertInstanceOf(Map.class, TorchCheckpoint.read(Fixtures.file("sd_full_tiny.ckpt")));
        assertEquals(470000L, full.get("global_step"));
        Map<String, RawTensor> sd = TorchCheckpoint.tensorMap(full.get("state_dict"), "sd_full_tiny.ckpt state_dict");
        assertEquals(188, sd.size());
        RawTensor decay = sd.get("model_ema.decay");
        assertEquals(DType.F32, decay.dtype());
        assertEquals(Shape.of(), decay.shape());
        assertEquals(0.9999f, decay.toFloats()[0]);
        RawTensor updates = sd.get("model_ema.num_updates");
        assertEquals(DType.I32, updates.dtype());
        assertEquals(Shape.of(), updates.shape());
        assertArrayEquals(new int[] {1234}, updates.toInts());
        for (Map.Entry<String, RawTensor> e : vae.entrySet()) {
            assertEquals(e.getValue(), sd.get("first_stage_model." + e.getKey()), e.getKey());
        }
    }

    @Test
    void globalsOfRealFiles() {
        assertEquals(Set.of("collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.HalfStorage"),
                Set.copyOf(TorchCheckpoint.globals(Fixtures.file("dit_a.pt"))));
        assertEquals(Set.of("collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage",
                "argparse.Namespace"), Set.copyOf(TorchCheckpoint.globals(Fixtures.file("dit_t_train.pt"))));
        assertEquals(Set.of("collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage",
                "torch.IntStorage"), Set.copyOf(TorchCheckpoint.globals(Fixtures.file("sd_full_tiny.ckpt"))));
    }

    // ---------------------------------------------------------------- synthetic files (make_synthetic_pt.py)

    @Test
    void protocol4ViewsAndValues() throws IOException {
        Map<?, ?> top = assertInstanceOf(Map.class, TorchCheckpoint.read(resource("proto4_views.pt")));
        Map<String, RawTensor> sd = TorchCheckpoint.tensorMap(top.get("state_dict"), "state_dict");
        assertEquals(List.of("a", "a_t", "b", "col", "every_other", "param", "half", "long", "bf16", "scalar", "empty"),
                List.copyOf(sd.keySet()));
        assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, sd.get("a").toFloats());
        assertEquals(Shape.of(3, 2), sd.get("a_t").shape());
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, sd.get("a_t").toFloats());
        assertArrayEquals(new float[] {6, 7, 8, 9, 10, 11}, sd.get("b").toFloats());
        assertArrayEquals(new float[] {1, 4, 7, 10}, sd.get("col").toFloats());
        assertArrayEquals(new float[] {0, 1, 2, 3, 6, 7, 8, 9}, sd.get("every_other").toFloats());
        assertEquals(Shape.of(12), sd.get("param").shape());
        assertEquals(11f, sd.get("param").toFloats()[11]);
        assertEquals(DType.F16, sd.get("half").dtype());
        assertArrayEquals(new float[] {0.5f, -2f, 65504f, 1f / 1024}, sd.get("half").toFloats());
        assertArrayEquals(new long[] {7, -3, 1L << 40}, sd.get("long").toLongs());
        assertEquals(DType.BF16, sd.get("bf16").dtype());
        assertArrayEquals(new float[] {1f, -0.5f, 256f}, sd.get("bf16").toFloats());
        assertArrayEquals(new int[] {1234}, sd.get("scalar").toInts());
        assertEquals(Shape.of(0, 3), sd.get("empty").shape());
        assertEquals(0, sd.get("empty").data().remaining());

        assertEquals(Tuple.of(0.9, 0.999), top.get("betas"));
        assertEquals(Set.of(1L, 2L), top.get("tags"));
        assertArrayEquals(new byte[] {0, 1, (byte) 0xff}, (byte[]) top.get("blob"));
        assertEquals(BigInteger.ONE.shiftLeft(70), top.get("big"));
        assertEquals(-5L, top.get("neg"));
        assertTrue(top.containsKey("none"));
        assertNull(top.get("none"));
        assertEquals(Boolean.TRUE, top.get("flag"));
        assertEquals(1.5e-4, top.get("lr"));
        assertEquals(List.of(1L, List.of(2L, Tuple.of(3L)), Map.of("k", "v")), top.get("nested"));
        Placeholder device = assertInstanceOf(Placeholder.class, top.get("device"));
        assertEquals("torch.device", device.global());
        assertEquals(Tuple.of("cuda", 0L), device.args());
        assertEquals("\u00e9t\u00e9 \u2603", top.get("unicode"));
    }

    @Test
    void protocol5BigEndian() throws IOException {
        Map<String, RawTensor> sd = TorchCheckpoint.tensorMap(TorchCheckpoint.read(resource("proto5_bigendian.pt")), "sd");
        assertArrayEquals(new float[] {1.5f, -2.25f, 3f, 1e-3f, 0f, -0f}, sd.get("w").toFloats());
        assertArrayEquals(new float[] {1.5f, 1e-3f, -2.25f, 0f, 3f, -0f}, sd.get("w_t").toFloats());
        assertArrayEquals(new long[] {1, -2, 1L << 33}, sd.get("ids").toLongs());
        assertArrayEquals(new float[] {0.5f, -1f}, sd.get("h").toFloats());
    }

    @Test
    void protocol1DeflatedRecordsWithoutByteorder() throws IOException {
        Map<String, RawTensor> sd = TorchCheckpoint.tensorMap(TorchCheckpoint.read(resource("proto1_deflated.pt")), "sd");
        float[] x = sd.get("x").toFloats();
        for (int i = 0; i < 64; i++) assertEquals(i / 4f, x[i]);
        assertArrayEquals(new float[] {2f, 2.5f, 3f, 3.5f}, sd.get("y").toFloats());
    }

    @Test
    void storageRecordOfWrongSize() throws IOException {
        Path f = resource("bad_storage_size.pt");
        String m = assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(f)).getMessage();
        assertTrue(m.startsWith(f.toString()) && m.contains("storage '0'") && m.contains("bad/data/0")
                && m.contains("12 bytes") && m.contains("16 bytes"), m);
    }

    @Test
    void viewOutsideItsStorage() throws IOException {
        Path f = resource("bad_view.pt");
        String m = assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(f)).getMessage();
        assertTrue(m.startsWith(f.toString()) && m.contains("storage '0'") && m.contains("reaches element 4")
                && m.contains("of 4 elements"), m);
    }

    @Test
    void torchScriptArchive() throws IOException {
        String m = assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(resource("torchscript.pt"))).getMessage();
        assertTrue(m.contains("torchscript.pt") && m.contains("TorchScript"), m);
    }

    // ---------------------------------------------------------------- hostile and broken input

    @Test
    void truncatedZip() throws IOException {
        byte[] all = Files.readAllBytes(Fixtures.file("dit_a.pt"));
        Path f = tmp.resolve("dit.pt");
        Files.write(f, Arrays.copyOf(all, all.length / 2));
        String m = assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(f)).getMessage();
        assertEquals(f + ": truncated or not a zip archive (zip END header not found)", m);
        assertThrows(CheckpointException.class, () -> TorchCheckpoint.globals(f));
    }

    @Test
    void refusesOsSystem() throws IOException {
        byte[] pickle = latin1("\u0080\u0002cos\nsystem\nq\u0000X\u0002\u0000\u0000\u0000lsq\u0001\u0085q\u0002Rq\u0003.");
        Path f = zip(tmp.resolve("evil.pt"), Map.of("x/data.pkl", pickle));
        String m = assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(f)).getMessage();
        assertEquals(f + ": refusing pickle global 'os.system' in data.pkl: a checkpoint may only reference "
                + "allow-listed tensor/container types, never code", m);
        // the diagnostic mode reports it instead of refusing
        assertEquals(List.of("os.system"), TorchCheckpoint.globals(f));
    }

    @Test
    void refusesBuiltinsEvalViaStackGlobal() throws IOException {
        byte[] p2 = latin1("\u0080\u0002cbuiltins\neval\nq\u0000X\u0003\u0000\u0000\u00001+1q\u0001\u0085q\u0002Rq\u0003.");
        Path f2 = zip(tmp.resolve("eval2.pt"), Map.of("x/data.pkl", p2));
        assertTrue(assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(f2)).getMessage()
                .contains("refusing pickle global 'builtins.eval'"));
        // protocol 4 spelling: SHORT_BINUNICODE module/name + STACK_GLOBAL
        byte[] p4 = latin1("\u0080\u0004\u008c\u0008builtins\u0094\u008c\u0004eval\u0094\u0093\u0094\u008c\u00031+1\u0094\u0085\u0094R\u0094.");
        Path f4 = zip(tmp.resolve("eval4.pt"), Map.of("archive/data.pkl", p4));
        String m = assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(f4)).getMessage();
        assertTrue(m.startsWith(f4.toString()) && m.contains("'builtins.eval'"), m);
    }

    @Test
    void refusesGlobalsOutsideTheAllowList() throws IOException {
        for (String g : List.of("torch.nn.modules.linear\nLinear", "builtins\ngetattr", "subprocess\nPopen",
                "torch._utils\n_rebuild_tensor_v3", "numpy._core.multiarray\nscalar", "copy_reg\n_reconstructor")) {
            byte[] p = latin1("\u0080\u0002c" + g + "\n)R.");
            Path f = zip(tmp.resolve("g.pt"), Map.of("x/data.pkl", p));
            String m = assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(f)).getMessage();
            assertTrue(m.contains("refusing pickle global '" + g.replace('\n', '.') + "'"), m);
        }
    }

    @Test
    void inertGlobalsBecomePlaceholders() throws IOException {
        // {'cb': builtins.set(['a'])} with a bare class as key: {<ModelCheckpoint>: 1}
        byte[] p = latin1("\u0080\u0002}(X\u0002\u0000\u0000\u0000cbc__builtin__\nset\n]X\u0001\u0000\u0000\u0000aa\u0085R"
                + "cpytorch_lightning.callbacks.model_checkpoint\nModelCheckpoint\nK\u0001u.");
        Path f = zip(tmp.resolve("inert.pt"), Map.of("x/data.pkl", p));
        Map<?, ?> top = assertInstanceOf(Map.class, TorchCheckpoint.read(f));
        Placeholder set = assertInstanceOf(Placeholder.class, top.get("cb"));
        assertEquals("__builtin__.set", set.global());
        assertEquals(Tuple.of(List.of("a")), set.args());
        Object key = top.keySet().stream().filter(k -> k instanceof Placeholder).findFirst().orElseThrow();
        assertTrue(((Placeholder) key).isClassReference());
        assertEquals("pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint", ((Placeholder) key).global());
        assertEquals(1L, top.get(key));
    }

    @Test
    void unknownPersistentIdKind() throws IOException {
        byte[] p = latin1("\u0080\u0002X\u0006\u0000\u0000\u0000moduleX\u0001\u0000\u0000\u0000x\u0086Q.");
        Path f = zip(tmp.resolve("pid.pt"), Map.of("x/data.pkl", p));
        String m = assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(f)).getMessage();
        assertTrue(m.startsWith(f.toString()) && m.contains("persistent id kind 'module'"), m);
    }

    @Test
    void corruptPickles() throws IOException {
        for (String p : List.of("\u0080\u0002}q\u0000(", "\u0080\u0002X\u00ff\u00ff\u00ff\u007fabc.", "\u0080\u0002\u00ff.",
                "\u0080\u0002K\u0001K\u0002u.", "\u0080\u0002)\u0085b.", "\u0080\u0009N.",
                "\u0080\u0002}q\u0000]q\u0001h\u0001a\u0085q\u0002K\u0001s.")) { // last: {([<itself>],): 1}
            Path f = zip(tmp.resolve("corrupt.pt"), Map.of("x/data.pkl", latin1(p)));
            String m = assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(f)).getMessage();
            assertTrue(m.startsWith(f + ": corrupt data.pkl"), m);
        }
    }

    @Test
    void legacyAndForeignFiles() throws IOException {
        Path legacy = tmp.resolve("old.pt");
        Files.write(legacy, latin1("\u0080\u0002\u008a\nl\u00fc\u009cF\u00f9 j\u00a8P\u0019.\u0080\u0002M\u00e9\u0003."));
        assertEquals(legacy + ": legacy PyTorch (<1.6) format: re-save with torch>=1.6 or convert to safetensors",
                assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(legacy)).getMessage());

        Path text = tmp.resolve("notes.txt");
        Files.writeString(text, "hello world");
        assertTrue(assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(text)).getMessage()
                .startsWith(text + ": not a PyTorch checkpoint"));

        Path empty = tmp.resolve("empty.pt");
        Files.write(empty, new byte[0]);
        assertTrue(assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(empty)).getMessage().contains("empty"));

        Path st = Fixtures.file("vae_tiny_diffusers/diffusion_pytorch_model.safetensors");
        assertTrue(assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(st)).getMessage().contains("safetensors"));

        Path missing = tmp.resolve("missing.pt");
        assertEquals(missing + ": file not found",
                assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(missing)).getMessage());

        Path noPkl = zip(tmp.resolve("nopkl.pt"), Map.of("x/other", new byte[] {1}));
        assertTrue(assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(noPkl)).getMessage().contains("no x/data.pkl"));
    }

    @Test
    void corruptZipData() throws IOException {
        // flip a byte inside data.pkl: caught by its CRC
        byte[] all = Files.readAllBytes(Fixtures.file("dit_b.pt"));
        int at = indexOf(all, "dit_b/data.pkl".getBytes(StandardCharsets.US_ASCII)) + 200;
        all[at] ^= 0x55;
        Path f = tmp.resolve("flipped.pt");
        Files.write(f, all);
        String m = assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(f)).getMessage();
        assertTrue(m.startsWith(f.toString()) && m.contains("CRC mismatch") && m.contains("dit_b/data.pkl"), m);
    }

    // ---------------------------------------------------------------- helpers

    private Path resource(String name) throws IOException {
        Path p = tmp.resolve(name);
        try (InputStream in = getClass().getResourceAsStream(name)) {
            if (in == null) throw new IOException("missing test resource " + name);
            Files.copy(in, p);
        }
        return p;
    }

    static byte[] latin1(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** A zip with STORED entries, in the given (map iteration) order. */
    public static Path zip(Path file, Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> e : new LinkedHashMap<>(entries).entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                ze.setMethod(ZipEntry.STORED);
                ze.setSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                ze.setCrc(crc.getValue());
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        Files.write(file, bytes.toByteArray());
        return file;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }
}
