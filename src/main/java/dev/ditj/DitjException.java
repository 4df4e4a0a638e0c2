package dev.ditj;

/**
 * An error the user can act on: its message names the file, tensor or value at fault and is printed as is by the
 * CLI (no stack trace). Programming errors stay ordinary exceptions.
 */
public class DitjException extends RuntimeException {
    public DitjException(String message) {
        super(message);
    }

    public DitjException(String message, Throwable cause) {
        super(message, cause);
    }
}
