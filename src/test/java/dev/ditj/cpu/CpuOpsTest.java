package dev.ditj.cpu;

import dev.ditj.ops.NaiveOps;
import dev.ditj.ops.OpCases;
import dev.ditj.ops.OpHarness;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

/** Every op of the fast CPU backend (multi-threaded, packed GEMM) against the literal float64 reference. */
class CpuOpsTest {
    private static CpuOps cpu, singleThread;
    private static final NaiveOps NAIVE = new NaiveOps();

    @BeforeAll
    static void setUp() {
        cpu = new CpuOps(3); // more threads than cores: exercises the task split
        singleThread = new CpuOps(1);
    }

    @AfterAll
    static void tearDown() {
        cpu.close();
        singleThread.close();
    }

    static List<OpCases.Case> cases() {
        return OpCases.all(OpCases.Size.SMALL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesNaiveReference(OpCases.Case c) {
        OpHarness.check(c, cpu, NAIVE);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void resultDoesNotDependOnThreadCount(OpCases.Case c) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(c.run().apply(singleThread), c.run().apply(cpu), 0f, c.name());
    }
}
