package dev.ditj.cuda;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/** The fixture tests of the CUDA backend on a real GPU. */
@Tag("gpu")
class CudaFixtureGpuTest extends CudaFixtureTests {
    @BeforeAll
    static void setUp() {
        ops = Devices.gpu();
    }
}
