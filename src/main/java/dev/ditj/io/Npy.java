package dev.ditj.io;

import dev.ditj.tensor.DType;
import dev.ditj.tensor.Shape;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0): a magic string, a Python-dict header
 * ({@code {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }}) and the raw array data.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    private Npy() {
    }

    public static RawTensor read(Path file) throws CheckpointException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            return read(in, file.toString());
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file + ": file not found", e);
        } catch (IOException e) {
            throw new CheckpointException(file + ": read error: " + AtomicWrite.describe(e), e);
        }
    }

    /** Reads a whole {@code .npy} stream (e.g. a classpath resource); {@code name} labels errors. */
    public static RawTensor read(InputStream in, String name) throws CheckpointException {
        try {
            byte[] magic = in.readNBytes(8);
            if (magic.length < 8 || !java.util.Arrays.equals(magic, 0, 6, MAGIC, 0, 6)) {
                throw new CheckpointException(name + ": not a .npy file (magic \\x93NUMPY missing)");
            }
            int major = magic[6] & 0xff;
            int lenBytes = major == 1 ? 2 : (major == 2 || major == 3) ? 4 : -1;
            if (lenBytes < 0) throw new CheckpointException(name + ": unsupported .npy format version " + major + "." + (magic[7] & 0xff));
            byte[] lenRaw = in.readNBytes(lenBytes);
            if (lenRaw.length < lenBytes) throw new CheckpointException(name + ": truncated .npy header");
            long headerLen = 0;
            for (int i = lenBytes - 1; i >= 0; i--) headerLen = (headerLen << 8) | (lenRaw[i] & 0xff);
            if (headerLen > 1 << 20) throw new CheckpointException(name + ": .npy header length " + headerLen + " is implausible");
            byte[] headerRaw = in.readNBytes((int) headerLen);
            if (headerRaw.length < headerLen) throw new CheckpointException(name + ": truncated .npy header");
            // v1/v2 headers are latin-1, v3 UTF-8; both are ASCII in practice
            String header = new String(headerRaw, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            Header h = parseHeader(header, name);

            long bytes;
            Shape shape;
            try {
                shape = Shape.of(h.shape);
                bytes = RawTensor.byteSize(h.dtype, shape);
            } catch (IllegalArgumentException | ArithmeticException e) {
                throw new CheckpointException(name + ": unsupported array shape " + java.util.Arrays.toString(h.shape) + ": " + e.getMessage(), e);
            }
            byte[] data = in.readNBytes((int) bytes);
            if (data.length < bytes) {
                throw new CheckpointException(name + ": truncated data: " + h.descr + " " + shape + " needs " + bytes
                        + " bytes, found " + data.length);
            }
            if (in.read() != -1) {
                throw new CheckpointException(name + ": unexpected bytes after the " + bytes + " data bytes of " + h.descr + " " + shape);
            }
            ByteBuffer buf = ByteBuffer.wrap(data);
            if (h.bigEndian && h.dtype.bytes > 1) buf = StridedCopy.byteSwapped(buf, h.dtype.bytes);
            return new RawTensor(h.dtype, shape, buf);
        } catch (IOException e) {
            throw new CheckpointException(name + ": read error: " + AtomicWrite.describe(e), e);
        }
    }

    private record Header(String descr, DType dtype, boolean bigEndian, long[] shape) {
    }

    /** The header's dict literal, as numpy writes it (any key order; exactly descr, fortran_order, shape). */
    private static Header parseHeader(String text, String name) {
        DictParser p = new DictParser(text, name);
        Map<String, Object> dict = p.parseDict();
        if (!dict.keySet().equals(Set.of("descr", "fortran_order", "shape"))) {
            throw new CheckpointException(name + ": .npy header must have exactly the keys descr, fortran_order, shape: " + text.trim());
        }
        if (!(dict.get("descr") instanceof String descr)) {
            throw new CheckpointException(name + ": unsupported dtype " + dict.get("descr") + " (structured arrays are not supported)");
        }
        if (!(dict.get("fortran_order") instanceof Boolean fortran)) {
            throw new CheckpointException(name + ": fortran_order must be True or False");
        }
        if (fortran) {
            throw new CheckpointException(name + ": Fortran-order (column-major) arrays are not supported; save with np.ascontiguousarray");
        }
        if (!(dict.get("shape") instanceof long[] shape)) throw new CheckpointException(name + ": shape must be a tuple of ints");
        if (descr.length() < 3) throw new CheckpointException(name + ": unsupported dtype '" + descr + "'");
        char order = descr.charAt(0);
        DType dtype = switch (descr.substring(1)) {
            case "f4" -> DType.F32;
            case "f8" -> DType.F64;
            case "f2" -> DType.F16;
            case "i8" -> DType.I64;
            case "i4" -> DType.I32;
            case "i2" -> DType.I16;
            case "i1" -> DType.I8;
            case "u1" -> DType.U8;
            case "b1" -> DType.BOOL;
            default -> throw new CheckpointException(name + ": unsupported dtype '" + descr + "' (supported: f4 f8 f2 i8 i4 i2 i1 u1 b1)");
        };
        boolean big;
        if (order == '<') {
            big = false;
        } else if (order == '>') {
            big = true;
        } else if ((order == '|' || order == '=') && dtype.bytes == 1) {
            big = false; // byte order does not matter for one-byte types
        } else if (order == '|' || order == '=') {
            // '=' means the writer's native order, which the file does not record
            throw new CheckpointException(name + ": dtype '" + descr + "' has no definite byte order");
        } else {
            throw new CheckpointException(name + ": unsupported dtype '" + descr + "'");
        }
        return new Header(descr, dtype, big, shape);
    }

    /** Parses the tiny subset of Python literals used in .npy headers: str, True/False, tuples of ints. */
    private static final class DictParser {
        private final String s;
        private final String name;
        private int i;

        DictParser(String s, String name) {
            this.s = s;
            this.name = name;
        }

        Map<String, Object> parseDict() {
            expect('{');
            Map<String, Object> out = new HashMap<>();
            while (true) {
                ws();
                if (peek() == '}') break;
                Object key = value();
                if (!(key instanceof String k)) throw error("dict key is not a string");
                ws();
                expect(':');
                if (out.put(k, value()) != null) throw error("duplicate key '" + k + "'");
                ws();
                if (peek() == ',') i++;
                else if (peek() != '}') throw error("expected ',' or '}'");
            }
            i++;
            ws();
            if (i != s.length()) throw error("unexpected text after the dict");
            return out;
        }

        private Object value() {
            ws();
            char c = peek();
            if (c == '\'' || c == '"') {
                int end = s.indexOf(c, i + 1);
                if (end < 0) throw error("unterminated string");
                String v = s.substring(i + 1, end);
                i = end + 1;
                return v;
            }
            if (s.startsWith("True", i)) { i += 4; return Boolean.TRUE; }
            if (s.startsWith("False", i)) { i += 5; return Boolean.FALSE; }
            if (c == '(') {
                i++;
                List<Long> dims = new ArrayList<>();
                while (true) {
                    ws();
                    if (peek() == ')') break;
                    int start = i;
                    while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
                    if (start == i) throw error("expected a non-negative integer in the shape");
                    try {
                        dims.add(Long.parseLong(s.substring(start, i)));
                    } catch (NumberFormatException e) {
                        throw error("shape entry too large");
                    }
                    if (i < s.length() && s.charAt(i) == 'L') i++; // Python 2 long
                    ws();
                    if (peek() == ',') i++;
                    else if (peek() != ')') throw error("expected ',' or ')' in the shape");
                }
                i++;
                return dims.stream().mapToLong(Long::longValue).toArray();
            }
            if (c == '[') throw error("structured dtypes are not supported");
            throw error("unexpected character '" + c + "'");
        }

        private void ws() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        }

        private char peek() {
            if (i >= s.length()) throw error("header ends early");
            return s.charAt(i);
        }

        private void expect(char c) {
            ws();
            if (peek() != c) throw error("expected '" + c + "'");
            i++;
        }

        private CheckpointException error(String what) {
            return new CheckpointException(name + ": bad .npy header (" + what + " at position " + i + "): " + s.trim());
        }
    }

    /**
     * Writes a version 1.0 {@code .npy}: F32 as {@code <f4}, F64 {@code <f8}, F16 {@code <f2}, I64 {@code <i8},
     * I32 {@code <i4}, I16 {@code <i2}, I8 {@code |i1}, U8 {@code |u1}, BOOL {@code |b1} (BF16 has no numpy dtype).
     * Atomic: on failure nothing is left at {@code file}.
     */
    public static void write(Path file, RawTensor t) throws CheckpointException {
        if (t == null) throw new CheckpointException(file + ": no tensor to write (null)");
        ByteBuffer head = ByteBuffer.wrap(header(file.toString(), t.dtype(), t.shape().dims()));
        AtomicWrite.write(file, out -> {
            AtomicWrite.writeFully(out, head);
            AtomicWrite.writeFully(out, t.data());
        });
    }

    /** A version 1.0 header for an array of {@code dims}, padded so the data starts at a multiple of 64 bytes. */
    static byte[] header(String file, DType dtype, int[] dims) {
        String descr = switch (dtype) {
            case F32 -> "<f4";
            case F64 -> "<f8";
            case F16 -> "<f2";
            case I64 -> "<i8";
            case I32 -> "<i4";
            case I16 -> "<i2";
            case I8 -> "|i1";
            case U8 -> "|u1";
            case BOOL -> "|b1";
            case BF16 -> throw new CheckpointException(file + ": numpy has no bfloat16 dtype; convert the tensor to F32 first");
        };
        StringBuilder shape = new StringBuilder("(");
        for (int k = 0; k < dims.length; k++) shape.append(k == 0 ? "" : ", ").append(dims[k]);
        if (dims.length == 1) shape.append(',');
        shape.append(')');
        StringBuilder header = new StringBuilder("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }");
        // pad with spaces and a final newline so that the data starts at a multiple of 64 bytes, like numpy
        int total = 10 + header.length() + 1;
        header.append(" ".repeat((64 - total % 64) % 64)).append('\n');
        if (header.length() > 0xffff) throw new CheckpointException(file + ": shape too long for a version 1.0 .npy header");
        ByteBuffer head = ByteBuffer.allocate(10 + header.length()).order(ByteOrder.LITTLE_ENDIAN);
        head.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        head.put(header.toString().getBytes(StandardCharsets.ISO_8859_1));
        return head.array();
    }
}
