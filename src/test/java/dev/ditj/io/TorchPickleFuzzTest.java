package dev.ditj.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Coverage-guided fuzzing of the allow-list unpickler and tensor rebuilding, structure-aware at the zip level:
 * the input is the archive's entries joined by {@link #SEPARATOR} (data.pkl, then the storage records data/0,
 * data/1, ...), written as a well-formed torch zip so that every mutation reaches the unpickler (a raw mutation
 * inside a zip is mostly stopped by the CRC). Seeds and regression inputs: TorchPickleFuzzTestInputs/read/.
 */
class TorchPickleFuzzTest {
    static final byte[] SEPARATOR = "\n--ditj-entry--\n".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path tmp;

    @FuzzTest
    void read(byte[] data) throws Exception {
        TorchFuzzing.readCheckpoint(zip(data, tmp.resolve("fuzz.pt")), data);
    }

    /** The torch zip of a framed input. */
    static Path zip(byte[] data, Path file) throws IOException {
        List<byte[]> parts = split(data);
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", parts.get(0));
        for (int i = 1; i < parts.size(); i++) entries.put("archive/data/" + (i - 1), parts.get(i));
        entries.put("archive/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        return TorchCheckpointTest.zip(file, entries);
    }

    /** The inverse of joining with {@link #SEPARATOR}. */
    static List<byte[]> split(byte[] data) {
        List<byte[]> parts = new ArrayList<>();
        int start = 0;
        for (int i = 0; i + SEPARATOR.length <= data.length; i++) {
            if (java.util.Arrays.equals(data, i, i + SEPARATOR.length, SEPARATOR, 0, SEPARATOR.length)) {
                parts.add(java.util.Arrays.copyOfRange(data, start, i));
                start = i + SEPARATOR.length;
                i = start - 1;
            }
        }
        parts.add(java.util.Arrays.copyOfRange(data, start, data.length));
        return parts;
    }
}
