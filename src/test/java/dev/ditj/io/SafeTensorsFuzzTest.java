package dev.ditj.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ditj.ParserContract;
import dev.ditj.api.GenerationDefaults;
import dev.ditj.weights.ModelFiles;
import dev.ditj.weights.WeightStore;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Coverage-guided fuzzing of the safetensors reader and of opening a ditj model file (its metadata: kind, config,
 * class names, generation defaults). Seeds and regression inputs: SafeTensorsFuzzTestInputs/open/.
 */
class SafeTensorsFuzzTest {
    @TempDir
    Path tmp;

    @FuzzTest
    void open(byte[] data) throws Exception {
        Path file = tmp.resolve("fuzz.safetensors");
        Files.write(file, data);
        ParserContract.parse(file.toString(), data, () -> readAll(file));
        ParserContract.parse(file.toString(), data, () -> loadModelMetadata(file));
    }

    /** The header and every tensor's values. */
    static Object readAll(Path file) {
        try (SafeTensors.Reader r = SafeTensors.open(file)) {
            for (String name : r.names()) {
                RawTensor t = r.get(name);
                assertEquals(r.shape(name), t.shape());
                assertEquals(r.dtype(name), t.dtype());
                if (t.dtype().isFloat()) t.toFloats(); else t.toLongs();
            }
            return r.metadata();
        }
    }

    /** What loading a model and {@code ditj info} read besides the weights (DitModel.load, InfoCommand). */
    static Object loadModelMetadata(Path file) {
        try (WeightStore w = WeightStore.open(file)) {
            switch (w.kind()) {
                case ModelFiles.KIND_DIT -> w.ditConfig();
                case ModelFiles.KIND_VAE -> w.vaeConfig();
                default -> w.requireKind(ModelFiles.KIND_DIT); // refuses the unknown kind
            }
            w.classNames();
            w.classGroups();
            String defaults = w.metadata().get(ModelFiles.GENERATE_DEFAULTS_KEY);
            if (defaults != null) GenerationDefaults.parse(defaults, file.toString());
            w.parameterCount();
            return w.storedDtype();
        }
    }
}
