package dev.ditj.api;

import dev.ditj.InvalidArgumentException;
import dev.ditj.cpu.CpuOps;
import dev.ditj.cuda.CudaException;
import dev.ditj.cuda.CudaOps;
import dev.ditj.cuda.JCudaDevice;
import dev.ditj.emu.EmulatedDevice;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Precision;

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

    /** A fresh backend instance in its default precision ({@link #defaultPrecision()}); close it when done. */
    public Ops open() {
        return open(null);
    }

    /**
     * A fresh backend instance computing in {@code precision} (null = the backend's default); close it when done.
     * A CUDA backend without a usable GPU says "no CUDA device: ...". The CPU backend computes in fp32 only.
     */
    public Ops open(Precision precision) {
        switch (this) {
            case CPU:
                return cpu(precision);
            case CUDA:
                return cuda(precision);
            case EMU:
                return new CudaOps(new EmulatedDevice(), "emu", precision != null ? precision : CUDA.defaultPrecision());
            case AUTO:
            default:
                try {
                    return cuda(precision);
                } catch (CudaException e) {
                    return cpu(precision);
                }
        }
    }

    /** bf16 tensor cores on a GPU (and on the emulated one), fp32 on the CPU. */
    public Precision defaultPrecision() {
        return this == CPU ? Precision.FP32 : Precision.BF16;
    }

    private static Ops cpu(Precision precision) {
        if (precision != null && precision != Precision.FP32) {
            throw new InvalidArgumentException("precision", precision.label() + " needs a CUDA backend (cuda, or emu "
                    + "to emulate one); the CPU backend computes in fp32");
        }
        return new CpuOps();
    }

    private static Ops cuda(Precision precision) {
        JCudaDevice device = JCudaDevice.open();
        try {
            return new CudaOps(device, "cuda", precision != null ? precision : CUDA.defaultPrecision());
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
    }
}
