package dev.ditj.sampling;

import dev.ditj.CpuBackendTest;
import org.junit.jupiter.api.Test;

/**
 * REPA's forward, time grids and samplers on the CPU backend against the official code ({@link RepaChains}; the
 * CUDA kernels run the same checks in CudaFixtureTests, on the emulator in every build).
 */
class RepaSamplerFixtureTest extends CpuBackendTest {
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
