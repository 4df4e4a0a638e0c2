package dev.ditj.cuda;

import dev.ditj.emu.EmulatedDevice;
import dev.ditj.tensor.Precision;
import org.junit.jupiter.api.Assumptions;

/** Backends for the CUDA tests: the emulator (always) or a real GPU (tests tagged gpu; skipped without one). */
final class Devices {
    private Devices() {
    }

    static CudaOps emulated() {
        return new CudaOps(new EmulatedDevice(), "emu");
    }

    /** An emulated backend of the given precision, with the emulator's efficiency counters on. */
    static CudaOps emulated(Precision precision) {
        return new CudaOps(new EmulatedDevice().efficiencyCounters(true), "emu-" + precision.name().toLowerCase(), precision);
    }

    /** The GPU backend, or a skipped test (with the reason) where no CUDA device can be opened. */
    static CudaOps gpu() {
        return new CudaOps(gpuDevice(), "cuda");
    }

    /** The CUDA device, or a skipped test (with the reason) where none can be opened. */
    static JCudaDevice gpuDevice() {
        JCudaDevice device = null;
        String why = null;
        try {
            device = JCudaDevice.open();
        } catch (CudaException e) {
            why = e.getMessage();
        }
        Assumptions.assumeTrue(device != null, why);
        System.out.println("GPU tests on " + device.name());
        return device;
    }
}
