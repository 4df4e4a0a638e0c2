package dev.ditj.cli;

import dev.ditj.DitjException;

/** A command line the CLI refuses before any work starts (its message names the option); exit code 2. */
final class UsageException extends DitjException {
    UsageException(String message) {
        super(message);
    }
}
