package dev.ditj.emu;

import dev.ditj.cuda.CudaException;
import dev.ditj.cuda.Device;

import java.util.Map;

/** A loaded PTX module: its kernels, constant bank and module-scope global variables. */
final class EmuModule implements Device.Module {
    final String name;
    final Map<String, EmuKernel> kernels;
    final byte[] constBank;

    EmuModule(String name, Map<String, EmuKernel> kernels, byte[] constBank) {
        this.name = name;
        this.kernels = kernels;
        this.constBank = constBank;
    }

    @Override
    public Device.Kernel kernel(String entry) {
        EmuKernel k = kernels.get(entry);
        if (k == null) throw new CudaException("module " + name + " has no kernel " + entry + " (it has " + kernels.keySet() + ")");
        return k;
    }
}
