package dev.ditj.cpu;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.OperatingSystemMXBean;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * What this JVM can still allocate, for the CPU backend's preflight ({@link CpuOps#checkMemory}): Java heap for
 * activations; direct memory for packed weights, whose limit ({@code -XX:MaxDirectMemorySize}) defaults to the
 * heap's; and, for both, the machine's available physical memory (heap not yet committed must come from there too).
 * All in bytes.
 */
record MemoryBudget(long heapMax, long heapUsed, long heapCommitted, long directMax, long directUsed,
                    long physicalAvailable) {
    private static final double GB = 1e9;

    static MemoryBudget current() {
        Runtime rt = Runtime.getRuntime();
        long committed = rt.totalMemory();
        return new MemoryBudget(rt.maxMemory(), committed - rt.freeMemory(), committed, readDirectMax(), readDirectUsed(),
                readPhysicalAvailable());
    }

    /**
     * Null if {@code offHeap} more bytes of direct memory and {@code heap} more bytes of Java heap fit, else why not:
     * "needs X GB, Y GB available (which limit; what to do)".
     */
    String shortfall(long offHeap, long heap) {
        long directFree = directMax - directUsed;
        if (offHeap > directFree) {
            return message(offHeap, directFree, "the JVM's limit for off-heap weights; raise it with "
                    + "-XX:MaxDirectMemorySize=" + gigabytes(directUsed + offHeap) + "g, with ./ditj in DITJ_JAVA_OPTS");
        }
        long heapFree = heapMax - heapUsed;
        if (heap > heapFree) {
            return message(heap, heapFree, "the Java heap limit; use a smaller batch, or raise the limit with -Xmx"
                    + gigabytes(heapUsed + heap) + "g, with ./ditj in DITJ_JAVA_OPTS");
        }
        long physical = offHeap + Math.max(0, heapUsed + heap - heapCommitted);
        if (physical > physicalAvailable) {
            return message(physical, physicalAvailable, "free physical memory; close other programs, use a smaller "
                    + "batch or a machine with more memory");
        }
        return null;
    }

    private static String message(long need, long available, String advice) {
        return "needs " + size(need) + ", " + size(Math.max(0, available)) + " available (" + advice + ")";
    }

    private static String size(long bytes) {
        return bytes < GB ? String.format(Locale.ROOT, "%.0f MB", bytes / 1e6) : String.format(Locale.ROOT, "%.1f GB", bytes / GB);
    }

    /** Whole GiB (as -Xmx counts) covering {@code bytes}, plus one to spare. */
    private static long gigabytes(long bytes) {
        return (bytes >> 30) + 2;
    }

    private static long readDirectMax() {
        String v = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                .getVMOption("MaxDirectMemorySize").getValue();
        long max = Long.parseLong(v);
        return max > 0 ? max : Runtime.getRuntime().maxMemory(); // unset: the JDK uses the heap's limit
    }

    private static long readDirectUsed() {
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) return pool.getMemoryUsed();
        }
        return 0;
    }

    /**
     * Linux's MemAvailable (free memory plus page cache it can drop, such as a model file just read), capped by the
     * JVM's view of the machine (a container's limit); elsewhere the JVM's free memory.
     */
    private static long readPhysicalAvailable() {
        OperatingSystemMXBean os = ManagementFactory.getPlatformMXBean(OperatingSystemMXBean.class);
        long memAvailable = readMemAvailable();
        return memAvailable < 0 ? os.getFreeMemorySize() : Math.min(memAvailable, os.getTotalMemorySize());
    }

    private static long readMemAvailable() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024; // kB
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or unreadable: fall back to the JVM's figure
        }
        return -1;
    }
}
