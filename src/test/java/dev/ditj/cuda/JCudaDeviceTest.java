package dev.ditj.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Opening the JCuda device either works or fails with a clear "no CUDA device" error, never a linkage error. */
class JCudaDeviceTest {
    @Test
    void opensOrSaysNoCudaDevice() {
        try (JCudaDevice d = JCudaDevice.open()) {
            assertFalse(d.name().isBlank());
            long[] info = d.memoryInfo();
            assertTrue(info[0] > 0 && info[0] <= info[1]);
        } catch (CudaException e) {
            assertTrue(e.getMessage().startsWith("no CUDA device: "), e.getMessage());
        }
        // a second attempt (JCuda's class initialisation already failed once) gives the same kind of error
        String why = JCudaDevice.unavailableReason();
        assertTrue(why == null || why.startsWith("no CUDA device: "), why);
    }
}
