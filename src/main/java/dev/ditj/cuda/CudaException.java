package dev.ditj.cuda;

import dev.ditj.DitjException;

/** A failed device operation (driver error, emulator fault, out of device memory), with a message naming it. */
public class CudaException extends DitjException {
    public CudaException(String message) {
        super(message);
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
    }
}
