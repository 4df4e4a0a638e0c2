package dev.ditj.tensor;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Wraps a backend so every op call is timed (synchronizing after each, so asynchronous backends are measured
 * correctly). For finding where time goes; the wrapped backend is slower by the synchronization.
 */
public final class OpProfiler implements InvocationHandler {
    private final Ops target;
    private final Map<String, long[]> stats = new TreeMap<>();

    private OpProfiler(Ops target) {
        this.target = target;
    }

    /** A profiling view of {@code target} and the profiler that reports on it. */
    public static Map.Entry<Ops, OpProfiler> wrap(Ops target) {
        OpProfiler p = new OpProfiler(target);
        Ops proxy = (Ops) Proxy.newProxyInstance(Ops.class.getClassLoader(), new Class<?>[] {Ops.class}, p);
        return Map.entry(proxy, p);
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        long t0 = System.nanoTime();
        try {
            Object r = method.invoke(target, args);
            target.synchronize();
            return r;
        } catch (InvocationTargetException e) {
            throw e.getCause();
        } finally {
            long dt = System.nanoTime() - t0;
            synchronized (stats) {
                long[] s = stats.computeIfAbsent(method.getName(), k -> new long[2]);
                s[0]++;
                s[1] += dt;
            }
        }
    }

    /** A table of calls and time per op, most expensive first. */
    public String report() {
        StringBuilder sb = new StringBuilder();
        long total = 0;
        synchronized (stats) {
            for (long[] s : stats.values()) total += s[1];
            final long sum = total;
            stats.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]))
                    .forEach(e -> sb.append(String.format(Locale.ROOT, "%-22s %8d calls %10.1f ms %5.1f %%%n", e.getKey(),
                            e.getValue()[0], e.getValue()[1] / 1e6, 100.0 * e.getValue()[1] / Math.max(1, sum))));
        }
        return sb.append(String.format(Locale.ROOT, "%-22s %25.1f ms%n", "total", total / 1e6)).toString();
    }

    public void reset() {
        synchronized (stats) {
            stats.clear();
        }
    }
}
