package dev.ditj;

/**
 * An error the user can act on: its message names the file, tensor or value at fault and is printed as is by the
 * CLI (no stack trace). Programming errors stay ordinary exceptions. The message is always one line: control
 * characters in it (from a name or text echoed from a file) are shown escaped.
 */
public class DitjException extends RuntimeException {
    public DitjException(String message) {
        super(oneLine(message));
    }

    public DitjException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    private static String oneLine(String message) {
        if (message == null || message.chars().noneMatch(DitjException::breaksLine)) return message;
        StringBuilder b = new StringBuilder(message.length() + 16);
        message.chars().forEach(c -> {
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> b.append(breaksLine(c) ? String.format("\\u%04x", c) : String.valueOf((char) c));
            }
        });
        return b.toString();
    }

    private static boolean breaksLine(int c) {
        return Character.isISOControl(c) || c == '\u2028' || c == '\u2029';
    }
}
