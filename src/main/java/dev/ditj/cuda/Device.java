package dev.ditj.cuda;

import java.nio.ByteBuffer;

/**
 * The few driver-level operations the CUDA backend needs, with two implementations: {@link JCudaDevice} (a real GPU
 * through the CUDA driver API) and {@code dev.ditj.emu.EmulatedDevice} (our PTX interpreter). Nothing above this
 * interface knows which one it has. Device memory is addressed by 64-bit device pointers; all calls are issued on
 * one stream, in order.
 *
 * <p>Errors are {@link CudaException}s naming the operation (and kernel) that failed.
 */
public interface Device extends AutoCloseable {

    /** e.g. "NVIDIA H100 80GB HBM3 (sm_90)" or "emulated device". */
    String name();

    /** Streaming multiprocessors: how many blocks run at once decides how a GEMM is tiled (see GemmPlan). */
    int multiprocessors();

    /** Loads a PTX module; unsupported content is reported here, not at launch. */
    Module load(String name, String ptx);

    /** A kernel of a loaded module. */
    interface Module {
        Kernel kernel(String entry);
    }

    /** A launchable {@code .entry}. */
    interface Kernel {
        String name();
    }

    // ------------------------------------------------------------------------------------------------ memory

    /** Allocates {@code bytes} (aligned to at least 256 bytes); fails with a message saying needed vs free. */
    long alloc(long bytes);

    void free(long pointer);

    /** Copies {@code src.remaining()} bytes (from its position) to device memory at {@code dst}. */
    void copyToDevice(long dst, ByteBuffer src);

    /** Copies {@code dst.remaining()} bytes from device memory at {@code src} into {@code dst} (from its position). */
    void copyToHost(ByteBuffer dst, long src);

    void copyOnDevice(long dst, long src, long bytes);

    /** Sets {@code count} 32-bit words at {@code pointer} to {@code value}. */
    void memset32(long pointer, int value, long count);

    /** Free and total device memory in bytes. */
    long[] memoryInfo();

    // ------------------------------------------------------------------------------------------------ execution

    /**
     * Launches {@code kernel} on a {@code grid} of {@code block}s (3 entries each) with {@code sharedBytes} of
     * dynamic shared memory. {@code args} are the kernel's parameters in order: {@link Long} for 64-bit values and
     * pointers, {@link Integer} for 32-bit integers, {@link Float} for floats; the emulator checks them against the
     * kernel's {@code .param} declarations.
     */
    void launch(Kernel kernel, int[] grid, int[] block, int sharedBytes, Object... args);

    /** Waits until everything issued so far has finished. */
    void synchronize();

    /** A timing event. */
    interface Event extends AutoCloseable {
        @Override
        void close();
    }

    Event createEvent();

    void record(Event event);

    /** Milliseconds between two recorded events (after {@link #synchronize}). */
    float elapsedMillis(Event start, Event end);

    /** A recorded sequence of launches and copies that can be replayed. */
    interface Graph extends AutoCloseable {
        @Override
        void close();
    }

    /** Starts recording: work issued until {@link #endCapture} is recorded instead of run. */
    void beginCapture();

    Graph endCapture();

    void replay(Graph graph);

    @Override
    void close();
}
