package dev.ditj;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What every parser of untrusted input promises (the property the fuzz tests check): it returns a result, or it
 * throws a {@link DitjException} whose message is one line that names the file and says what is wrong in our
 * words. Any other throwable (NPE, index errors, IllegalArgumentException, OutOfMemoryError, StackOverflowError)
 * escapes and is a finding. Heap allocation is bounded by the input size, so a 100-byte file cannot make us
 * allocate gigabytes; hangs are caught by the fuzzer's per-input timeout (see the pom's fuzz execution).
 */
public final class ParserContract {
    /** Allocation allowed per input byte (a U8 tensor read as floats costs 12 bytes per byte, JSON trees more). */
    static final long ALLOC_PER_INPUT_BYTE = 256;
    /**
     * Fixed allowance: buffers and the fuzzer's own hooks, which allocate on every traced string comparison (about
     * 20 MB for some 1 KB pickles, against 0.2 MB without the fuzzer).
     */
    static final long ALLOC_FIXED = 64L << 20;

    /**
     * Text that means a library's error leaked through: Gson's advice and link, a Java exception's toString, a class
     * or package name, a stack frame. Plain strings, not a regex: the fuzzer's regex hooks cost 5x the throughput.
     */
    private static final List<String> LEAKED = List.of("setStrictness(", "Strictness.LENIENT", "Troubleshooting.md",
            "http://", "https://", "java.lang.", "java.io.", "java.util.", "java.nio.", "com.google.", "net.razorvine.",
            "Exception: ", "Error: ", ".java:");

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private ParserContract() {
    }

    /**
     * Runs {@code parser} on {@code input}, which its errors must call {@code file}. Returns its result, or null if
     * it refused the input with a clean {@link DitjException}.
     */
    public static <T> T parse(String file, byte[] input, Callable<T> parser) throws Exception {
        long inputBytes = input.length;
        long limit = ALLOC_FIXED + ALLOC_PER_INPUT_BYTE * inputBytes;
        long before = THREADS.getCurrentThreadAllocatedBytes();
        T result = run(file, input, parser);
        if (THREADS.getCurrentThreadAllocatedBytes() - before > limit) {
            // The first parse of a kind also loads (and the fuzzer instruments) classes: judge a second, warm run.
            before = THREADS.getCurrentThreadAllocatedBytes();
            run(file, input, parser);
            long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
            if (allocated > limit) {
                fail("parsing a " + inputBytes + "-byte input allocated " + allocated + " bytes (limit " + limit + ")");
            }
        }
        return result;
    }

    private static <T> T run(String file, byte[] input, Callable<T> parser) throws Exception {
        try {
            return parser.call();
        } catch (DitjException e) {
            assertCleanMessage(e, file, new String(input, StandardCharsets.ISO_8859_1));
            return null;
        }
    }

    /**
     * The message is one line, names {@code file}, and carries no library text (advice, URLs, class names) other
     * than what it echoes from {@code input} (e.g. a header quoted in the message).
     */
    public static void assertCleanMessage(DitjException e, String file, String input) {
        String m = e.getMessage();
        assertTrue(m != null && !m.isBlank(), "empty message");
        assertFalse(m.contains("\n") || m.contains("\r"), () -> "multi-line message: " + m);
        assertTrue(m.contains(file), () -> "message does not name " + file + ": " + m);
        String text = withoutEscapes(m);
        for (String leak : LEAKED) {
            // A package prefix counts as echoed when the input holds it without its last dot: a pickle GLOBAL's
            // module ends at a newline, and the message joins module and name with a dot.
            String echoed = leak.endsWith(".") ? leak.substring(0, leak.length() - 1) : leak;
            if (text.contains(leak) && !input.contains(echoed)) fail("library text '" + leak + "' in the message: " + m);
        }
    }

    /**
     * The message with the escapes {@link DitjException} writes for control characters (backslash n, r, t, or u and
     * four hex digits) cut out: an escape's last letter next to echoed input can spell a leak the input does not
     * hold (the fuzzer found byte 0x9c then "om.google." shown as backslash-u009c-om.google.). A loop, not a regex,
     * for the fuzzer's throughput.
     */
    static String withoutEscapes(String m) {
        StringBuilder b = new StringBuilder(m.length());
        for (int i = 0; i < m.length(); i++) {
            char c = m.charAt(i);
            if (c == '\\' && i + 1 < m.length()) {
                char n = m.charAt(i + 1);
                if (n == 'n' || n == 'r' || n == 't') {
                    b.append('\0');
                    i++;
                    continue;
                }
                if (n == 'u' && i + 5 < m.length() && isHex(m, i + 2, i + 6)) {
                    b.append('\0');
                    i += 5;
                    continue;
                }
            }
            b.append(c);
        }
        return b.toString();
    }

    private static boolean isHex(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            if (Character.digit(s.charAt(i), 16) < 0) return false;
        }
        return true;
    }
}
