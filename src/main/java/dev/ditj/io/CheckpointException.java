package dev.ditj.io;

import dev.ditj.DitjException;

/**
 * A weight or array file could not be read or written. The message always starts with the file and names the
 * tensor, pickle global or zip entry at fault, so the CLI can print it as is.
 */
public class CheckpointException extends DitjException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
