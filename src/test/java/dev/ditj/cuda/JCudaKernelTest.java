package dev.ditj.cuda;

import dev.ditj.emu.KernelCases;
import dev.ditj.emu.KernelRig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

/**
 * The kernel-test table on a real GPU (JCuda): every case that does not depend on emulator-only checks. Tagged gpu:
 * excluded from the default build, run by {@code mvn -Pgpu verify} and {@code tools/device-check}; skipped when no
 * CUDA device can be opened.
 */
@Tag("gpu")
class JCudaKernelTest {
    private static JCudaDevice device;

    @BeforeAll
    static void setUp() {
        device = Devices.gpuDevice();
    }

    @AfterAll
    static void tearDown() {
        if (device != null) device.close();
    }

    static List<KernelCases.Case> cases() {
        return KernelCases.all().stream().filter(c -> !c.emulatorOnly()).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void kernelCase(KernelCases.Case c) {
        try (KernelRig rig = new KernelRig(device)) {
            c.run().accept(rig);
        }
    }
}
