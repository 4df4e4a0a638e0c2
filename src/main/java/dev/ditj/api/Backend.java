package dev.ditj.api;

import dev.ditj.DitjException;
import dev.ditj.cpu.CpuOps;
import dev.ditj.tensor.Ops;

import java.util.Locale;

/** Where the model runs. */
public enum Backend {
    /** The pure-Java backend (all cores). */
    CPU,
    /** Our CUDA kernels on an NVIDIA GPU through JCuda. */
    CUDA,
    /** A CUDA GPU when one is usable, else the CPU. */
    AUTO;

    public static Backend parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new DitjException("unknown backend '" + s + "' (use cpu, cuda or auto)");
        }
    }

    /** A fresh backend instance; close it when done. */
    public Ops open() {
        switch (this) {
            case CPU:
            case AUTO:
                // No GPU backend exists in this build yet, so AUTO means CPU.
                return new CpuOps();
            case CUDA:
            default:
                throw new DitjException("the CUDA backend is not part of this build yet; use --backend cpu");
        }
    }
}
