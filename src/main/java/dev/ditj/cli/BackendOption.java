package dev.ditj.cli;

import dev.ditj.api.Backend;
import picocli.CommandLine.Option;

/** The shared {@code --backend} option. */
final class BackendOption {
    @Option(names = "--backend", defaultValue = "auto", paramLabel = "cpu|cuda|auto",
            description = "where to run (default: ${DEFAULT-VALUE}: a CUDA GPU if usable, else the CPU)")
    String backend;

    Backend get() {
        return Backend.parse(backend);
    }
}
