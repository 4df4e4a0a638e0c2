package dev.ditj.convert;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ditj.ParserContract;
import dev.ditj.api.GenerationDefaults;
import dev.ditj.io.SafeTensors;
import dev.ditj.model.DitConfig;
import dev.ditj.model.VaeConfig;
import dev.ditj.weights.ModelFiles;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Coverage-guided fuzzing of the JSON a model file or a converter input carries: the DiT and VAE configs, class
 * names and generation defaults of a ditj file, and a diffusers config.json as the converter reads it. A config
 * that parses must also be usable: its expected tensor list can be built. Seeds and regression inputs:
 * ConfigJsonFuzzTestInputs/parse/.
 */
class ConfigJsonFuzzTest {
    static final String FILE = "fuzz.safetensors";

    @TempDir
    static Path folder;

    @BeforeAll
    static void diffusersFolder() {
        SafeTensors.write(folder.resolve("diffusion_pytorch_model.safetensors"), Map.of(), null);
    }

    @FuzzTest
    void parse(byte[] data) throws Exception {
        String json = new String(data, StandardCharsets.UTF_8);
        ParserContract.parse(FILE, data, () -> {
            DitConfig c = ModelFiles.parseDitConfig(json, FILE);
            return Converter.expectedTensors(c);
        });
        ParserContract.parse(FILE, data, () -> {
            VaeConfig c = ModelFiles.parseVaeConfig(json, FILE);
            return Converter.expectedTensors(c);
        });
        ParserContract.parse(FILE, data, () -> ModelFiles.parseClassNames(json, FILE));
        ParserContract.parse(FILE, data, () -> GenerationDefaults.parse(json, FILE));
        Path config = Files.write(folder.resolve("config.json"), data);
        ParserContract.parse(config.toString(), data, () -> {
            SourceCheckpoint src = SourceCheckpoint.read(folder);
            return VaeLayout.expected(VaeLayout.config(Map.of(), src.config(), config.toString()));
        });
    }
}
