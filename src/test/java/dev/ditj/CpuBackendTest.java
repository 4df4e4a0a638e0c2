package dev.ditj;

import dev.ditj.cpu.CpuOps;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Base of test classes that share one CPU backend across their tests (it holds thread pools and packed weights). */
public abstract class CpuBackendTest {
    protected static CpuOps ops;

    @BeforeAll
    static void openCpuBackend() {
        ops = new CpuOps();
    }

    @AfterAll
    static void closeCpuBackend() {
        ops.close();
    }
}
