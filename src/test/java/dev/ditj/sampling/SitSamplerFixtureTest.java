package dev.ditj.sampling;

import dev.ditj.CpuBackendTest;
import org.junit.jupiter.api.Test;

/**
 * SiT's forward and its four samplers on the CPU backend against the official code ({@link SitChains}; the CUDA
 * kernels run the same checks in CudaFixtureTests, on the emulator in every build).
 */
class SitSamplerFixtureTest extends CpuBackendTest {
    @Test
    void forwardMatchesTheOfficialVelocity() {
        SitChains.forward(ops, SitChains.FORWARD);
    }

    @Test
    void eulerOde() {
        SitChains.euler(ops, SitChains.CHAIN);
    }

    @Test
    void eulerOdeUnguided() {
        SitChains.eulerUnguided(ops, SitChains.CHAIN);
    }

    @Test
    void heunOde() {
        SitChains.heun(ops, SitChains.CHAIN);
    }

    @Test
    void dopri5Ode() {
        SitChains.dopri5(ops, SitChains.CHAIN);
    }

    @Test
    void eulerMaruyamaSde() {
        SitChains.eulerMaruyama(ops, SitChains.CHAIN);
    }
}
