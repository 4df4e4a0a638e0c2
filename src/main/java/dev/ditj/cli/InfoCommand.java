package dev.ditj.cli;

import dev.ditj.model.DitConfig;
import dev.ditj.weights.ModelFiles;
import dev.ditj.weights.WeightStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "info", mixinStandardHelpOptions = true, description = "Show what a ditj model file holds.")
final class InfoCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE")
    Path file;

    @Override
    public Integer call() {
        try (WeightStore w = WeightStore.open(file)) {
            System.out.println("file:        " + file);
            if (w.kind().equals(ModelFiles.KIND_DIT)) {
                DitConfig c = w.ditConfig();
                System.out.println("kind:        DiT (" + c.familyName() + ", " + c.inputSize() + "x" + c.inputSize()
                        + " latent, " + c.tokens() + " tokens, " + c.numClasses() + " classes"
                        + (c.learnSigma() ? ", learned sigma" : "") + ")");
            } else {
                System.out.println("kind:        VAE decoder (" + w.vaeConfig() + ")");
            }
            System.out.printf("parameters:  %,d (%d tensors)%n", w.parameterCount(), w.names().size());
            System.out.println("dtype:       " + w.storedDtype().safetensorsName);
            Map<String, String> md = w.metadata();
            System.out.println("config:      " + md.get(ModelFiles.CONFIG_KEY).replaceAll("\\s+", " "));
            System.out.println("source:      " + md.get(ModelFiles.SOURCE_KEY) + " (" + md.get(ModelFiles.SOURCE_LAYOUT_KEY)
                    + ", sha256 " + md.get(ModelFiles.SOURCE_SHA256_KEY) + ")");
            System.out.println("converted:   " + md.get(ModelFiles.CONVERTED_BY_KEY));
            if (md.containsKey(ModelFiles.CLASS_NAMES_KEY)) {
                System.out.println("classes:     " + String.join(" | ", w.classNames()));
            }
        }
        return 0;
    }
}
