package dev.ditj.cpu;

import dev.ditj.DitjException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CPU backend's memory preflight: which limit a request hits, and the one-line message it gives. */
class MemoryBudgetTest {
    private static final long MB = 1_000_000, GB = 1_000_000_000;

    /** 4 GB heap (1 GB used of 2 GB committed), 4 GB direct limit (0.5 GB used), 16 GB physical free. */
    private static final MemoryBudget BUDGET = new MemoryBudget(4 * GB, GB, 2 * GB, 4 * GB, GB / 2, 16 * GB);

    @Test
    void fits() {
        assertNull(BUDGET.shortfall(3 * GB, 2 * GB));
    }

    @Test
    void weightsOverTheDirectMemoryLimit() {
        assertEquals("needs 3.6 GB, 3.5 GB available (the JVM's limit for off-heap weights; raise it with "
                + "-XX:MaxDirectMemorySize=5g, with ./ditj in DITJ_JAVA_OPTS)", BUDGET.shortfall(3600 * MB, 0));
    }

    @Test
    void activationsOverTheHeapLimit() {
        assertEquals("needs 3.1 GB, 3.0 GB available (the Java heap limit; use a smaller batch, or raise the limit "
                + "with -Xmx5g, with ./ditj in DITJ_JAVA_OPTS)", BUDGET.shortfall(0, 3100 * MB));
    }

    @Test
    void overThePhysicalMemory() {
        MemoryBudget small = new MemoryBudget(16 * GB, GB, 2 * GB, 16 * GB, 0, 3 * GB);
        // 2 GB of weights + heap growing 2 GB past what is committed > 3 GB free
        assertEquals("needs 4.0 GB, 3.0 GB available (free physical memory; close other programs, use a smaller "
                + "batch or a machine with more memory)", small.shortfall(2 * GB, 3 * GB));
        assertNull(small.shortfall(2 * GB, GB)); // the heap grows within what it has committed
    }

    @Test
    void smallSizesInMegabytes() {
        MemoryBudget tiny = new MemoryBudget(GB, 0, GB, 8 * MB, 0, GB);
        assertTrue(tiny.shortfall(21 * MB, 0).startsWith("needs 21 MB, 8 MB available ("), tiny.shortfall(21 * MB, 0));
    }

    @Test
    void cpuBackendRefusesWhatThisJvmCannotHold() {
        try (CpuOps ops = new CpuOps(1)) {
            ops.checkMemory("small.safetensors", MB, MB);
            long heapMax = Runtime.getRuntime().maxMemory();
            DitjException e = assertThrows(DitjException.class, () -> ops.checkMemory("big.safetensors", 0, 2 * heapMax));
            assertTrue(e.getMessage().startsWith("big.safetensors: needs "), e.getMessage());
            assertTrue(e.getMessage().contains("(the Java heap limit;"), e.getMessage());
        }
    }
}
