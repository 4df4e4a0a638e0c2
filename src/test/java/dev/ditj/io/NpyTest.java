package dev.ditj.io;

import dev.ditj.Fixtures;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NpyTest {
    @TempDir
    Path tmp;

    @Test
    void readsFixturesOfEachDtype() throws IOException {
        RawTensor x = Npy.read(Fixtures.file("dit_a_forward_x.npy"));
        assertEquals(DType.F32, x.dtype());
        assertEquals(Shape.of(3, 4, 8, 8), x.shape());

        RawTensor t = Npy.read(Fixtures.file("dit_a_forward_t.npy"));
        assertEquals(DType.I64, t.dtype());
        assertArrayEquals(new long[] {0, 500, 999}, t.toLongs());
        assertArrayEquals(new int[] {3, 7, 10}, Npy.read(Fixtures.file("dit_a_forward_y.npy")).toInts());

        RawTensor pixels = Npy.read(Fixtures.file("vae_decode_pixels.npy"));
        assertEquals(DType.U8, pixels.dtype());
        assertEquals(Shape.of(2, 64, 64, 3), pixels.shape());
        long[] p = pixels.toLongs();
        assertEquals(133, p[0]); // numpy: vae_decode_pixels.ravel()[:5] = [133 139 100 122 150]
        assertEquals(150, p[4]);
        long min = 255, max = 0;
        for (long v : p) { min = Math.min(min, v); max = Math.max(max, v); }
        assertEquals(0, min);
        assertEquals(255, max);

        try (InputStream in = Files.newInputStream(Fixtures.file("dit_a_cfg_t.npy"))) {
            assertArrayEquals(new long[] {400, 50, 400, 50}, Npy.read(in, "dit_a_cfg_t.npy").toLongs());
        }
    }

    @Test
    void writerMatchesNumpyByteForByte() throws IOException {
        for (String name : List.of("dit_a_forward_x.npy", "dit_a_forward_t.npy", "vae_decode_pixels.npy", "sample_dpmpp2m20_sigmas.npy")) {
            Path src = Fixtures.file(name);
            Path copy = tmp.resolve(name);
            Npy.write(copy, Npy.read(src));
            assertArrayEquals(Files.readAllBytes(src), Files.readAllBytes(copy), name);
        }
    }

    @Test
    void roundTripsEveryDtype() {
        List<RawTensor> tensors = List.of(
                RawTensor.ofFloats(new float[] {1.5f, -2f, 3e-7f, 0f, 1e20f, -0f}, Shape.of(2, 3), DType.F32),
                RawTensor.ofFloats(new float[] {1.5f, -2f}, Shape.of(2), DType.F64),
                RawTensor.ofFloats(new float[] {1.5f, -2f, 65504f}, Shape.of(3, 1), DType.F16),
                RawTensor.ofLongs(new long[] {Long.MIN_VALUE, 0, Long.MAX_VALUE}, Shape.of(3)),
                RawTensor.ofInts(new int[] {-7}, Shape.of()),
                RawTensor.ofBytes(new byte[] {0, 1, (byte) 200, (byte) 255}, Shape.of(2, 2)),
                RawTensor.ofBytes(new byte[0], Shape.of(0)),
                new RawTensor(DType.I16, Shape.of(2), le(4).putShort((short) -300).putShort((short) 300).flip()),
                new RawTensor(DType.I8, Shape.of(2), ByteBuffer.wrap(new byte[] {-1, 1})),
                new RawTensor(DType.BOOL, Shape.of(3), ByteBuffer.wrap(new byte[] {1, 0, 1})));
        int i = 0;
        for (RawTensor t : tensors) {
            Path f = tmp.resolve("rt" + (i++) + ".npy");
            Npy.write(f, t);
            assertEquals(t, Npy.read(f), t.toString());
        }
    }

    @Test
    void headerVariants() {
        // v2.0 header, big-endian float32 and int64, '=' and '|' for one-byte types, Python-2 style 3L
        ByteBuffer be = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putFloat(1.5f).putFloat(-3f);
        assertArrayEquals(new float[] {1.5f, -3f},
                read(npy(2, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", be.array())).toFloats());
        ByteBuffer bl = ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN).putLong(-2).putLong(1L << 40);
        assertArrayEquals(new long[] {-2, 1L << 40},
                read(npy(1, "{'shape': (2L,), 'fortran_order': False, 'descr': '>i8'}", bl.array())).toLongs());
        assertArrayEquals(new long[] {9, 8, 7},
                read(npy(3, "{\"descr\": \"=u1\", \"fortran_order\": False, \"shape\": (3,)}", new byte[] {9, 8, 7})).toLongs());
        assertEquals(DType.I8, read(npy(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (1,), }", new byte[] {-4})).dtype());
        RawTensor scalar = read(npy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (), }", le(4).putInt(42).array()));
        assertEquals(Shape.of(), scalar.shape());
        assertArrayEquals(new int[] {42}, scalar.toInts());
    }

    @Test
    void badInput() throws IOException {
        expectError(npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new byte[16]), "Fortran-order");
        expectError(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", new byte[20]),
                "truncated data: <f4 [2, 3] needs 24 bytes, found 20");
        expectError(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", new byte[8]), "unexpected bytes");
        expectError(npy(1, "{'descr': '<u2', 'fortran_order': False, 'shape': (1,), }", new byte[2]), "unsupported dtype '<u2'");
        expectError(npy(1, "{'descr': '=f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]), "no definite byte order");
        expectError(npy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", new byte[4]), "structured");
        expectError(npy(1, "{'descr': '<f4', 'shape': (1,), }", new byte[4]), "exactly the keys");
        expectError(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,-2), }", new byte[4]), "bad .npy header");
        expectError("PK\u0003\u0004 not an npy".getBytes(StandardCharsets.ISO_8859_1), "not a .npy file");
        byte[] v9 = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]);
        v9[6] = 9;
        expectError(v9, "unsupported .npy format version 9.0");

        Path truncated = tmp.resolve("cut.npy");
        byte[] all = Files.readAllBytes(Fixtures.file("dit_a_forward_x.npy"));
        Files.write(truncated, java.util.Arrays.copyOf(all, 1000));
        String m = assertThrows(CheckpointException.class, () -> Npy.read(truncated)).getMessage();
        assertEquals(truncated + ": truncated data: <f4 [3, 4, 8, 8] needs 3072 bytes, found 872", m);
        Path missing = tmp.resolve("missing.npy");
        assertEquals(missing + ": file not found", assertThrows(CheckpointException.class, () -> Npy.read(missing)).getMessage());
    }

    @Test
    void writeFailuresLeaveNothing() throws IOException {
        Path target = tmp.resolve("out.npy");
        RawTensor bf16 = RawTensor.ofFloats(new float[] {1f}, Shape.of(1), DType.BF16);
        String m = assertThrows(CheckpointException.class, () -> Npy.write(target, bf16)).getMessage();
        assertTrue(m.startsWith(target.toString()) && m.contains("bfloat16"), m);
        assertThrows(CheckpointException.class, () -> Npy.write(target, null));
        assertFalse(Files.exists(target));

        Path dirTarget = tmp.resolve("occupied.npy");
        Files.createDirectories(dirTarget.resolve("inside"));
        RawTensor ok = RawTensor.ofLongs(new long[] {1}, Shape.of(1));
        assertThrows(CheckpointException.class, () -> Npy.write(dirTarget, ok));
        assertTrue(Files.isDirectory(dirTarget.resolve("inside")));
        try (var s = Files.list(tmp)) {
            assertEquals(List.of("occupied.npy"), s.map(p -> p.getFileName().toString()).toList(), "no temp files left");
        }
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static RawTensor read(byte[] bytes) {
        return Npy.read(new ByteArrayInputStream(bytes), "mem.npy");
    }

    private static void expectError(byte[] bytes, String fragment) {
        String m = assertThrows(CheckpointException.class, () -> read(bytes)).getMessage();
        assertTrue(m.startsWith("mem.npy: ") && m.contains(fragment), "expected '" + fragment + "' in: " + m);
    }

    /** An .npy of the given major version with a hand-written header (padded like numpy) and raw data. */
    private static byte[] npy(int major, String header, byte[] data) {
        int lenBytes = major == 1 ? 2 : 4;
        StringBuilder h = new StringBuilder(header);
        while ((8 + lenBytes + h.length() + 1) % 64 != 0) h.append(' ');
        h.append('\n');
        byte[] hb = h.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = le(8 + lenBytes + hb.length + data.length);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (lenBytes == 2) b.putShort((short) hb.length); else b.putInt(hb.length);
        return b.put(hb).put(data).array();
    }
}
