package dev.ditj.cuda;

import dev.ditj.DitjException;
import dev.ditj.TestModels;
import dev.ditj.api.DitModel;
import dev.ditj.emu.EmulatedDevice;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Errors of the CUDA backend the user can act on. */
class CudaErrorsTest {
    @Test
    void outOfDeviceMemorySaysNeededAndFree() {
        try (CudaOps ops = new CudaOps(new EmulatedDevice(1, 1 << 20), "emu")) {
            DitjException e = assertThrows(DitjException.class, () -> DitModel.load(TestModels.ditA(), ops));
            assertTrue(e.getMessage().startsWith("out of device memory: needed ") && e.getMessage().contains(" free of "),
                    e.getMessage());
            ops.releaseCachedMemory();
            long[] info = ops.device().memoryInfo();
            assertTrue(info[1] - info[0] < (64 << 10), "weights loaded before the failure were released: "
                    + (info[1] - info[0]) + " bytes still in use");
        }
    }
}
