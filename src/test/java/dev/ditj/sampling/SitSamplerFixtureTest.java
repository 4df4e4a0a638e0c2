package dev.ditj.sampling;

import dev.ditj.cpu.CpuOps;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SiT's forward and its four samplers on the CPU backend against the official code ({@link SitChains}; the CUDA
 * kernels run the same checks in CudaFixtureTests, on the emulator in every build).
 */
class SitSamplerFixtureTest {
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
