package dev.ditj.sampling;

import dev.ditj.TestModels;
import dev.ditj.cpu.CpuOps;
import dev.ditj.model.Dit;
import dev.ditj.tensor.Ops;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Base of the sampler tests that run the fixture DiT-A on the CPU: one model per test class, closed after it. */
abstract class CpuDitAFixture {
    static Ops ops;
    static Dit dit;

    @BeforeAll
    static void loadDitA() {
        ops = new CpuOps();
        dit = TestModels.ditA(ops);
    }

    @AfterAll
    static void closeDitA() {
        dit.close();
        ops.close();
    }
}
