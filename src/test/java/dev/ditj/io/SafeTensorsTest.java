package dev.ditj.io;

import dev.ditj.Fixtures;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.FloatFormats;
import dev.ditj.tensor.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsTest {
    @TempDir
    Path tmp;

    @Test
    void readsFixture() {
        try (SafeTensors.Reader r = SafeTensors.open(Fixtures.file("vae_tiny_diffusers/diffusion_pytorch_model.safetensors"))) {
            assertEquals(Map.of("format", "pt"), r.metadata());
            assertEquals(180, r.names().size());
            String first = r.names().get(0);
            assertEquals(DType.F32, r.dtype(first));
            assertTrue(r.contains("decoder.conv_in.weight"));
            assertEquals(Shape.of(16, 4, 3, 3), r.shape("decoder.conv_in.weight"));
            RawTensor t = r.get("decoder.conv_in.weight");
            assertEquals(16 * 4 * 9, t.toFloats().length);
            String m = assertThrows(CheckpointException.class, () -> r.get("decoder.nope")).getMessage();
            assertTrue(m.contains("diffusion_pytorch_model.safetensors") && m.contains("'decoder.nope'"), m);
        }
    }

    @Test
    void roundTrip() throws IOException {
        float[] vals = {1f, -2.5f, 3.14159f, 1e-8f, 65504f, -0f, Float.MIN_NORMAL, 1e30f};
        Map<String, RawTensor> in = new LinkedHashMap<>();
        in.put("z.f32", RawTensor.ofFloats(vals, Shape.of(2, 4), DType.F32));
        in.put("a.f16", RawTensor.ofFloats(vals, Shape.of(8), DType.F16));
        in.put("m.bf16", RawTensor.ofFloats(vals, Shape.of(4, 2), DType.BF16));
        in.put("ids", RawTensor.ofLongs(new long[] {1, -2, Long.MAX_VALUE}, Shape.of(3)));
        in.put("pix", RawTensor.ofBytes(new byte[] {0, 127, (byte) 255}, Shape.of(1, 3)));
        in.put("scalar", RawTensor.ofFloats(new float[] {7f}, Shape.of(), DType.F32));
        in.put("empty", RawTensor.ofFloats(new float[0], Shape.of(0, 5), DType.F32));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "quotes \" and <html> & unicode \u00e9");
        Path f = tmp.resolve("w.safetensors");
        SafeTensors.write(f, in, meta);

        byte[] raw = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8, "header padded to a multiple of 8");
        assertEquals('{', raw[8]);
        String header = new String(raw, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.contains("<html>"), "no HTML escaping: " + header);

        try (SafeTensors.Reader r = SafeTensors.open(f)) {
            assertEquals(meta, r.metadata());
            assertEquals(List.copyOf(in.keySet()), r.names(), "file order = write order");
            for (String k : in.keySet()) assertEquals(in.get(k), r.get(k), k);
            assertArrayEquals(vals, r.get("z.f32").toFloats());
            float[] half = r.get("a.f16").toFloats();
            float[] bf = r.get("m.bf16").toFloats();
            for (int i = 0; i < vals.length; i++) {
                assertEquals(FloatFormats.halfToFloat(FloatFormats.floatToHalf(vals[i])), half[i]);
                assertEquals(FloatFormats.bf16ToFloat(FloatFormats.floatToBf16(vals[i])), bf[i]);
            }
            assertEquals(DType.F16, r.dtype("a.f16"));
            assertEquals(DType.BF16, r.dtype("m.bf16"));
            assertEquals(Shape.of(), r.shape("scalar"));
            assertEquals(Shape.of(0, 5), r.shape("empty"));
            assertArrayEquals(new long[] {1, -2, Long.MAX_VALUE}, r.get("ids").toLongs());
            assertArrayEquals(new long[] {0, 127, 255}, r.get("pix").toLongs());
        }
        // without metadata: no __metadata__ entry at all
        SafeTensors.write(f, Map.of("x", in.get("ids")), Map.of());
        try (SafeTensors.Reader r = SafeTensors.open(f)) {
            assertTrue(r.metadata().isEmpty());
            assertEquals(List.of("x"), r.names());
        }
    }

    @Test
    void namesAreInOffsetOrderNotHeaderOrder() throws IOException {
        Path f = raw("{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]},"
                + "\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[] {1, 2, 3, 4});
        try (SafeTensors.Reader r = SafeTensors.open(f)) {
            assertEquals(List.of("a", "b"), r.names());
            assertArrayEquals(new long[] {3, 4}, r.get("b").toLongs());
        }
    }

    @Test
    void validationErrors() throws IOException {
        String ok = "\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        expectError(raw("{" + ok + "}", new byte[4]), "truncated");
        expectError(raw("{" + ok + "}", new byte[12]), "trailing bytes");
        expectError(raw("[1,2]", new byte[0]), "not a JSON object");
        expectError(raw("{\"t\":", new byte[0]), "not valid JSON");
        expectError(raw("{" + ok + "} x", new byte[8]), "not valid JSON");
        expectError(raw("{\"t\":{\"dtype\":\"U16\",\"shape\":[2],\"data_offsets\":[0,4]}}", new byte[4]), "unsupported dtype 'U16'");
        expectError(raw("{\"t\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2]), "unsupported dtype 'F8_E4M3'");
        expectError(raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", new byte[12]), "span 12");
        expectError(raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]), "shape entry");
        expectError(raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", new byte[4]), "not a non-negative integer");
        expectError(raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", new byte[4]), "end < begin");
        expectError(raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]), "no data_offsets");
        expectError(raw("{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "no dtype");
        expectError(raw("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[4,12]}}", new byte[12]), "overlapping");
        expectError(raw("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]}}", new byte[12]), "gap");
        expectError(raw("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", new byte[8]), "must start at 0");
        expectError(raw("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", new byte[8]), "duplicate tensor name 'a'");
        expectError(raw("{\"__metadata__\":{\"k\":1}}", new byte[0]), "not a string");
        expectError(raw("{\"__metadata__\":[]}", new byte[0]), "__metadata__ must be");

        Path tiny = tmp.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        expectError(tiny, "truncated");
        Path huge = tmp.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(200_000_000L).array());
        expectError(huge, "exceeds the 100000000-byte limit");
        Path beyond = tmp.resolve("beyond.safetensors");
        Files.write(beyond, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(100).array());
        expectError(beyond, "truncated");
        Path badUtf8 = tmp.resolve("utf.safetensors");
        Files.write(badUtf8, ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(4)
                .put(new byte[] {'{', (byte) 0xff, (byte) 0xfe, '}'}).array());
        expectError(badUtf8, "UTF-8");
        expectError(tmp.resolve("missing.safetensors"), "file not found");
    }

    @Test
    void filesOver2GiBAreMappedPerTensor() throws IOException {
        // A sparse file: 2.4 GB of (unallocated) zeros, then a small tensor that lies beyond the 2^31 byte mark.
        long bigLen = 2_400_000_000L;
        String header = "{\"big\":{\"dtype\":\"U8\",\"shape\":[2,1200000000],\"data_offsets\":[0," + bigLen + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + bigLen + "," + (bigLen + 8) + "]}}";
        Path f = raw(header, new byte[0]);
        long dataStart = Files.size(f);
        try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(f.toFile(), "rw")) {
            file.setLength(dataStart + bigLen + 8);
            file.seek(dataStart + bigLen);
            file.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(2.5f).putFloat(-1f).array());
        }
        try (SafeTensors.Reader r = SafeTensors.open(f)) {
            assertEquals(List.of("big", "tail"), r.names());
            assertArrayEquals(new float[] {2.5f, -1f}, r.get("tail").toFloats());
            String m = assertThrows(CheckpointException.class, () -> r.get("big")).getMessage();
            assertTrue(m.contains("'big'") && m.contains("over 2 GiB"), m);
        }
    }

    @Test
    void writeFailuresLeaveNothing() throws IOException {
        RawTensor t = RawTensor.ofLongs(new long[] {1, 2}, Shape.of(2));
        Path target = tmp.resolve("out.safetensors");

        Map<String, RawTensor> reserved = new LinkedHashMap<>();
        reserved.put("__metadata__", t);
        assertThrows(CheckpointException.class, () -> SafeTensors.write(target, reserved, null));
        Map<String, RawTensor> withNull = new LinkedHashMap<>();
        withNull.put("a", t);
        withNull.put("b", null);
        String m = assertThrows(CheckpointException.class, () -> SafeTensors.write(target, withNull, null)).getMessage();
        assertTrue(m.contains("out.safetensors") && m.contains("'b'"), m);
        Map<String, String> badMeta = new LinkedHashMap<>();
        badMeta.put("k", null);
        assertThrows(CheckpointException.class, () -> SafeTensors.write(target, Map.of("a", t), badMeta));

        Path noDir = tmp.resolve("no/such/dir/out.safetensors");
        assertTrue(assertThrows(CheckpointException.class, () -> SafeTensors.write(noDir, Map.of("a", t), null))
                .getMessage().startsWith(noDir.toString()));
        assertFalse(Files.exists(tmp.resolve("no")));

        // the rename onto a non-empty directory fails after the data was written: the temp file must go
        Path dirTarget = tmp.resolve("occupied");
        Files.createDirectories(dirTarget.resolve("inside"));
        assertThrows(CheckpointException.class, () -> SafeTensors.write(dirTarget, Map.of("a", t), null));
        assertTrue(Files.isDirectory(dirTarget.resolve("inside")));

        assertFalse(Files.exists(target));
        try (var s = Files.list(tmp)) {
            assertEquals(List.of("occupied"), s.map(p -> p.getFileName().toString()).toList(), "no temp files left");
        }
    }

    @Test
    void failedOverwriteKeepsTheOldFile() throws IOException {
        Path f = tmp.resolve("keep.safetensors");
        Map<String, RawTensor> good = Map.of("a", RawTensor.ofLongs(new long[] {5}, Shape.of(1)));
        SafeTensors.write(f, good, null);
        byte[] before = Files.readAllBytes(f);
        Map<String, RawTensor> bad = new LinkedHashMap<>();
        bad.put("a", null);
        assertThrows(CheckpointException.class, () -> SafeTensors.write(f, bad, null));
        assertArrayEquals(before, Files.readAllBytes(f));
    }

    private void expectError(Path f, String fragment) {
        String m = assertThrows(CheckpointException.class, () -> {
            try (SafeTensors.Reader r = SafeTensors.open(f)) {
                r.names();
            }
        }).getMessage();
        assertTrue(m.startsWith(f.toString()) && m.contains(fragment), "expected '" + fragment + "' in: " + m);
    }

    private int counter;

    /** A safetensors file with the given header text (padded to 8) and data bytes. */
    private Path raw(String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        int n = (h.length + 7) / 8 * 8;
        ByteBuffer b = ByteBuffer.allocate(8 + n + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(n).put(h);
        while (b.position() < 8 + n) b.put((byte) ' ');
        b.put(data);
        Path f = tmp.resolve("t" + (counter++) + ".safetensors");
        Files.write(f, b.array());
        return f;
    }
}
