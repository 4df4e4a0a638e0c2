package dev.ditj.cli;

import dev.ditj.api.Backend;
import picocli.CommandLine.Option;

/** The shared {@code --backend} option. */
final class BackendOption {
    @Option(names = "--backend", defaultValue = "auto", paramLabel = "cpu|cuda|emu|auto",
            description = "where to run (default: ${DEFAULT-VALUE}: a CUDA GPU if usable, else the CPU; emu = our CUDA kernels on the emulated device)")
    String backend;

    Backend get() {
        return Backend.parse(backend);
    }
}
