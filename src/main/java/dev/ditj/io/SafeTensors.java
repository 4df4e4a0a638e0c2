package dev.ditj.io;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.Shape;

import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors format: {@code [u64 LE header length N][N bytes UTF-8 JSON header][data]}. Tensor data offsets
 * are relative to the end of the header; tensors are dense, C-order, little-endian.
 */
public final class SafeTensors {
    /** The reference implementation's limit on the header size. */
    static final long MAX_HEADER = 100_000_000L;
    private static final String METADATA = "__metadata__";

    private SafeTensors() {
    }

    /** Reads and validates the header; tensor data is memory-mapped on {@link Reader#get}. */
    public static Reader open(Path file) throws CheckpointException {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file + ": file not found", e);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot open: " + AtomicWrite.describe(e), e);
        }
        try {
            return new Reader(file, ch);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        } catch (IOException e) {
            closeQuietly(ch);
            throw new CheckpointException(file + ": read error: " + AtomicWrite.describe(e), e);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing useful to do
        }
    }

    private record Entry(String name, DType dtype, Shape shape, long begin, long end) {
    }

    /**
     * An open safetensors file. Tensors returned by {@link #get} are read-only memory mappings that stay valid after
     * {@link #close()}; do not overwrite or truncate the file while they are in use.
     */
    public static final class Reader implements AutoCloseable {
        private final Path file;
        private final FileChannel channel;
        private final long dataStart;
        private final Map<String, String> metadata;
        private final Map<String, Entry> entries; // in data-offset order
        private boolean closed;

        private Reader(Path file, FileChannel ch) throws IOException {
            this.file = file;
            this.channel = ch;
            long size = ch.size();
            if (size < 8) fail("truncated: " + size + " bytes, too short for the 8-byte header length");
            ByteBuffer lenBuf = readAt(ch, 0, 8);
            long n = lenBuf.order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            if (n < 0 || n > MAX_HEADER) {
                fail("header length " + Long.toUnsignedString(n) + " exceeds the " + MAX_HEADER
                        + "-byte limit (corrupt or not a safetensors file)");
            }
            if (8 + n > size) fail("truncated: header says " + n + " bytes but the file has only " + (size - 8) + " after the length");
            String json;
            try {
                json = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(readAt(ch, 8, (int) n)).toString();
            } catch (CharacterCodingException e) {
                throw new CheckpointException(file + ": header is not valid UTF-8", e);
            }
            this.dataStart = 8 + n;
            long dataLen = size - dataStart;

            Map<String, String> meta = new LinkedHashMap<>();
            List<Entry> list = new ArrayList<>();
            for (Map.Entry<String, JsonElement> e : parseHeader(json).entrySet()) {
                if (e.getKey().equals(METADATA)) {
                    meta = parseMetadata(e.getValue());
                } else {
                    list.add(parseEntry(e.getKey(), e.getValue()));
                }
            }
            // Offsets must tile the data buffer exactly once sorted: no gaps, no overlaps, nothing left over.
            list.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end)); // stable: header order on ties
            long pos = 0;
            String prev = null;
            for (Entry t : list) {
                if (t.begin != pos) {
                    fail(prev == null
                            ? "tensor '" + t.name + "' starts at data offset " + t.begin + ", but the first tensor must start at 0"
                            : "tensor '" + t.name + "' starts at data offset " + t.begin + " but tensor '" + prev + "' ends at " + pos
                            + (t.begin < pos ? " (overlapping data offsets)" : " (gap between data offsets)"));
                }
                if (t.end > dataLen) {
                    fail("truncated: tensor '" + t.name + "' ends at data offset " + t.end + " but only " + dataLen
                            + " data bytes follow the header");
                }
                pos = t.end;
                prev = t.name;
            }
            if (pos != dataLen) {
                fail("data section has " + dataLen + " bytes but the tensors cover " + pos + " (trailing bytes after the last tensor)");
            }
            Map<String, Entry> byName = new LinkedHashMap<>();
            for (Entry t : list) byName.put(t.name, t);
            this.metadata = Collections.unmodifiableMap(meta);
            this.entries = byName;
        }

        private JsonObject parseHeader(String json) {
            // Streamed so that duplicate tensor names are caught (a JsonObject would keep the last one silently).
            JsonObject obj = new JsonObject();
            try (JsonReader r = new JsonReader(new StringReader(json))) {
                r.setStrictness(Strictness.STRICT);
                if (r.peek() != JsonToken.BEGIN_OBJECT) fail("header is not a JSON object");
                r.beginObject();
                while (r.hasNext()) {
                    String name = r.nextName();
                    if (obj.has(name)) fail("duplicate tensor name '" + name + "' in header");
                    obj.add(name, JsonParser.parseReader(r));
                }
                r.endObject();
                if (r.peek() != JsonToken.END_DOCUMENT) fail("unexpected content after the header's JSON object");
            } catch (IOException | JsonParseException | IllegalStateException e) {
                throw new CheckpointException(file + ": header is not valid JSON (" + Json.syntaxError(e) + ")", e);
            }
            return obj;
        }

        private Map<String, String> parseMetadata(JsonElement el) {
            if (!el.isJsonObject()) fail("__metadata__ must be a JSON object of strings");
            Map<String, String> meta = new LinkedHashMap<>();
            for (Map.Entry<String, JsonElement> m : el.getAsJsonObject().entrySet()) {
                JsonElement v = m.getValue();
                if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
                    fail("__metadata__ value for '" + m.getKey() + "' is not a string");
                }
                meta.put(m.getKey(), v.getAsString());
            }
            return meta;
        }

        private Entry parseEntry(String name, JsonElement el) {
            if (!el.isJsonObject()) fail("header entry for tensor '" + name + "' is not a JSON object");
            JsonObject o = el.getAsJsonObject();
            JsonElement dt = o.get("dtype");
            if (dt == null || !dt.isJsonPrimitive() || !dt.getAsJsonPrimitive().isString()) {
                fail("tensor '" + name + "' has no dtype string");
            }
            DType dtype = null;
            for (DType d : DType.values()) {
                if (d.safetensorsName.equals(dt.getAsString())) dtype = d;
            }
            if (dtype == null) fail("tensor '" + name + "' has unsupported dtype '" + dt.getAsString() + "'");
            long[] dims = longArray(name, "shape", o.get("shape"), -1);
            long[] offs = longArray(name, "data_offsets", o.get("data_offsets"), 2);
            Shape shape;
            long bytes;
            try {
                shape = Shape.of(dims);
                bytes = Math.multiplyExact(shape.numel(), (long) dtype.bytes);
            } catch (ArithmeticException e) {
                throw new CheckpointException(file + ": tensor '" + name + "' shape " + java.util.Arrays.toString(dims) + " is too large", e);
            }
            if (offs[1] < offs[0]) fail("tensor '" + name + "' has data_offsets [" + offs[0] + ", " + offs[1] + "] with end < begin");
            if (offs[1] - offs[0] != bytes) {
                fail("tensor '" + name + "' is " + dtype.safetensorsName + " " + shape + " = " + bytes
                        + " bytes but its data_offsets [" + offs[0] + ", " + offs[1] + "] span " + (offs[1] - offs[0]));
            }
            return new Entry(name, dtype, shape, offs[0], offs[1]);
        }

        /** A JSON array of non-negative integers ({@code expectedLength} < 0: any length). */
        private long[] longArray(String tensor, String field, JsonElement el, int expectedLength) {
            if (el == null || !el.isJsonArray()) fail("tensor '" + tensor + "' has no " + field + " array");
            JsonArray a = el.getAsJsonArray();
            if (expectedLength >= 0 && a.size() != expectedLength) {
                fail("tensor '" + tensor + "' " + field + " must have " + expectedLength + " entries, has " + a.size());
            }
            long[] out = new long[a.size()];
            for (int i = 0; i < out.length; i++) {
                JsonElement v = a.get(i);
                try {
                    JsonPrimitive p = v.getAsJsonPrimitive();
                    if (!p.isNumber()) throw new NumberFormatException();
                    out[i] = new BigDecimal(p.getAsString()).longValueExact();
                } catch (RuntimeException e) { // not a primitive, not a number, fractional or out of range
                    throw new CheckpointException(file + ": tensor '" + tensor + "' " + field + " entry " + v
                            + " is not a non-negative integer", e);
                }
                if (out[i] < 0) fail("tensor '" + tensor + "' " + field + " entry " + out[i] + " is negative");
                if (field.equals("shape") && out[i] > Integer.MAX_VALUE) {
                    fail("tensor '" + tensor + "' dimension " + out[i] + " is too large");
                }
            }
            return out;
        }

        private void fail(String message) {
            throw new CheckpointException(file + ": " + message);
        }

        public Map<String, String> metadata() {
            return metadata;
        }

        /** Tensor names in file order (by data offset). */
        public List<String> names() {
            return List.copyOf(entries.keySet());
        }

        public boolean contains(String name) {
            return entries.containsKey(name);
        }

        public DType dtype(String name) {
            return entry(name).dtype;
        }

        public Shape shape(String name) {
            return entry(name).shape;
        }

        /** The tensor's bytes, memory-mapped (read-only) from the file. */
        public RawTensor get(String name) {
            Entry e = entry(name);
            if (closed) fail("reader is closed (reading tensor '" + name + "')");
            long len = e.end - e.begin;
            if (len > Integer.MAX_VALUE) {
                fail("tensor '" + name + "' is " + len + " bytes: tensors over 2 GiB are not supported");
            }
            try {
                ByteBuffer b = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin, len);
                return new RawTensor(e.dtype, e.shape, b);
            } catch (IOException ex) {
                throw new CheckpointException(file + ": cannot map tensor '" + name + "': " + AtomicWrite.describe(ex), ex);
            }
        }

        private Entry entry(String name) {
            Entry e = entries.get(name);
            if (e == null) fail("no tensor named '" + name + "'");
            return e;
        }

        @Override
        public void close() {
            closed = true;
            closeQuietly(channel);
        }
    }

    private static ByteBuffer readAt(FileChannel ch, long pos, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len);
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) throw new java.io.EOFException("unexpected end of file");
        }
        return b.flip();
    }

    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    /**
     * Writes tensors in the map's iteration order (use a {@link LinkedHashMap}; Java 17 has no SequencedMap) with
     * optional string metadata ({@code null} or empty: no {@code __metadata__} entry).
     * Atomic: on failure nothing is left at {@code file} (an existing file there is kept).
     */
    public static void write(Path file, Map<String, RawTensor> tensors, Map<String, String> metadata) {
        JsonObject header = new JsonObject();
        if (metadata != null && !metadata.isEmpty()) {
            JsonObject m = new JsonObject();
            metadata.forEach((k, v) -> {
                if (k == null || v == null) throw new CheckpointException(file + ": null key or value in metadata (" + k + ")");
                m.addProperty(k, v);
            });
            header.add(METADATA, m);
        }
        List<RawTensor> order = new ArrayList<>(tensors.size());
        long offset = 0;
        for (Map.Entry<String, RawTensor> e : tensors.entrySet()) {
            String name = e.getKey();
            RawTensor t = e.getValue();
            if (name == null || name.equals(METADATA)) throw new CheckpointException(file + ": invalid tensor name '" + name + "'");
            if (t == null) throw new CheckpointException(file + ": tensor '" + name + "' is null");
            long bytes = t.data().remaining();
            JsonObject o = new JsonObject();
            o.addProperty("dtype", t.dtype().safetensorsName);
            JsonArray shape = new JsonArray();
            for (int d : t.shape().dims()) shape.add(d);
            o.add("shape", shape);
            JsonArray offs = new JsonArray();
            offs.add(offset);
            offs.add(offset + bytes);
            o.add("data_offsets", offs);
            header.add(name, o);
            order.add(t);
            offset += bytes;
        }
        byte[] json = GSON.toJson(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) & ~7; // data section 8-byte aligned, like the reference writer
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();
        AtomicWrite.write(file, out -> {
            AtomicWrite.writeFully(out, head);
            for (RawTensor t : order) AtomicWrite.writeFully(out, t.data());
        });
    }
}
