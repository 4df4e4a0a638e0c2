package dev.ditj.emu;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

/** The kernel-test table on the emulator (every case, including the emulator-only checks). */
class EmulatorKernelTest {
    private static EmulatedDevice device;

    @BeforeAll
    static void setUp() {
        device = new EmulatedDevice(2, 1L << 30);
    }

    @AfterAll
    static void tearDown() {
        KernelRig.forget(device);
        device.close();
    }

    static List<KernelCases.Case> cases() {
        return KernelCases.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void kernelCase(KernelCases.Case c) {
        try (KernelRig rig = new KernelRig(device)) {
            c.run().accept(rig);
        }
    }
}
