package dev.ditj.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing of torch.save files as raw bytes: the zip reader (end records, ZIP64, central directory,
 * local headers, deflate, CRCs) and everything behind it. Seeds and regression inputs: TorchZipFuzzTestInputs/read/.
 * Mutations inside data.pkl rarely survive its CRC here; {@link TorchPickleFuzzTest} fuzzes the pickle itself.
 */
class TorchZipFuzzTest {
    @TempDir
    Path tmp;

    @FuzzTest
    void read(byte[] data) throws Exception {
        Path file = tmp.resolve("fuzz.pt");
        Files.write(file, data);
        TorchFuzzing.readCheckpoint(file, data);
    }
}
