package dev.ditj.cli;

import dev.ditj.api.Backend;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Precision;
import picocli.CommandLine.Option;

/** The shared {@code --backend} option. */
final class BackendOption {
    @Option(names = "--backend", defaultValue = "auto", paramLabel = "cpu|cuda|emu|auto",
            description = "where to run (default: ${DEFAULT-VALUE}: a CUDA GPU if usable, else the CPU; emu = our CUDA kernels on the emulated device)")
    String backend;

    @Option(names = "--precision", paramLabel = "fp32|bf16",
            description = "arithmetic of the heavy ops (default: bf16 on CUDA and emu, fp32 on the CPU)")
    String precision;

    Backend get() {
        return Backend.parse(backend);
    }

    /** The requested precision, or null for the backend's default. */
    Precision precision() {
        return precision == null ? null : Precision.parse(precision);
    }

    /** A new backend as the options say. */
    Ops open() {
        return get().open(precision());
    }
}
