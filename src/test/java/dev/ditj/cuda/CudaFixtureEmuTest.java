package dev.ditj.cuda;

import org.junit.jupiter.api.BeforeAll;

/** The fixture tests of the CUDA backend on the emulated device (every build). */
class CudaFixtureEmuTest extends CudaFixtureTests {
    @BeforeAll
    static void setUp() {
        ops = Devices.emulated();
    }
}
