package dev.ditj.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ditj.ParserContract;

import java.io.ByteArrayInputStream;

/** Coverage-guided fuzzing of the .npy reader (seeds and regression inputs: NpyFuzzTestInputs/read/). */
class NpyFuzzTest {
    @FuzzTest
    void read(byte[] data) throws Exception {
        ParserContract.parse("fuzz.npy", data, () -> {
            RawTensor t = Npy.read(new ByteArrayInputStream(data), "fuzz.npy");
            return t.dtype().isFloat() ? t.toFloats() : t.toLongs();
        });
    }
}
