package dev.ditj.sampling;

import dev.ditj.cpu.CpuOps;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * REPA's forward, time grids and samplers on the CPU backend against the official code ({@link RepaChains}; the
 * CUDA kernels run the same checks in CudaFixtureTests, on the emulator in every build).
 */
class RepaSamplerFixtureTest {
    private static CpuOps ops;

    @BeforeAll
    static void setUp() {
        ops = new CpuOps();
    }

    @AfterAll
    static void tearDown() {
        ops.close();
    }

    @Test
    void forwardMatchesTheOfficialModel() {
        RepaChains.forward(ops, RepaChains.FORWARD);
    }

    @Test
    void timeGridsAreTorchLinspaceBitForBit() {
        RepaChains.grids();
    }

    @Test
    void eulerWithGuidanceInAnInterval() {
        RepaChains.euler(ops, RepaChains.CHAIN);
    }

    @Test
    void heunWithGuidanceInAnInterval() {
        RepaChains.heun(ops, RepaChains.CHAIN);
    }

    @Test
    void eulerMaruyamaWithGuidanceInAnInterval() {
        RepaChains.eulerMaruyama(ops, RepaChains.CHAIN);
    }

    @Test
    void eulerUnguided() {
        RepaChains.eulerUnguided(ops, RepaChains.CHAIN);
    }
}
