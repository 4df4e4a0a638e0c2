package dev.ditj.api;

import dev.ditj.InvalidArgumentException;
import dev.ditj.cpu.CpuOps;
import dev.ditj.cuda.CudaException;
import dev.ditj.cuda.CudaOps;
import dev.ditj.cuda.JCudaDevice;
import dev.ditj.emu.EmulatedDevice;
import dev.ditj.tensor.Ops;

import java.util.Locale;

/** Where the model runs. */
public enum Backend {
    /** The pure-Java backend (all cores). */
    CPU,
    /** Our CUDA kernels on an NVIDIA GPU through JCuda. */
    CUDA,
    /** Our CUDA kernels (the same PTX) on the emulated device: slow, for testing and debugging without a GPU. */
    EMU,
    /** A CUDA GPU when one is usable, else the CPU. */
    AUTO;

    public static Backend parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidArgumentException("backend", "'" + s + "' is unknown: use cpu, cuda, emu or auto");
        }
    }

    /** A fresh backend instance; close it when done. A CUDA backend without a usable GPU says "no CUDA device: ...". */
    public Ops open() {
        switch (this) {
            case CPU:
                return new CpuOps();
            case CUDA:
                return cuda();
            case EMU:
                return new CudaOps(new EmulatedDevice(), "emu");
            case AUTO:
            default:
                try {
                    return cuda();
                } catch (CudaException e) {
                    return new CpuOps();
                }
        }
    }

    private static Ops cuda() {
        JCudaDevice device = JCudaDevice.open();
        try {
            return new CudaOps(device, "cuda");
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
    }
}
