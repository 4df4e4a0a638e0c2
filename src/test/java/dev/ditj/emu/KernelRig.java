package dev.ditj.emu;

import dev.ditj.cuda.Device;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A device plus the chores of a kernel test: loading test or production PTX from the classpath (cached per device),
 * uploading and downloading typed arrays, and freeing every buffer at the end.
 */
public final class KernelRig implements AutoCloseable {
    private static final Map<Device, Map<String, Device.Module>> MODULES = new HashMap<>();

    public final Device device;
    private final List<Long> buffers = new ArrayList<>();

    public KernelRig(Device device) {
        this.device = device;
    }

    /** PTX text of a test kernel file (kernels/tests/NAME.cu) or, with a "/" prefix, any classpath resource. */
    public static String ptx(String name) {
        String path = name.startsWith("/") ? name : "/dev/ditj/emu/kernels/" + name + ".ptx";
        try (InputStream in = KernelRig.class.getResourceAsStream(path)) {
            if (in == null) throw new IllegalStateException("no PTX resource " + path + " (run mvn generate-test-resources)");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Device.Kernel kernel(String module, String entry) {
        Map<String, Device.Module> mods;
        synchronized (MODULES) {
            mods = MODULES.computeIfAbsent(device, d -> new HashMap<>());
        }
        Device.Module m = mods.computeIfAbsent(module, n -> device.load(n, ptx(n)));
        return m.kernel(entry);
    }

    static void forget(Device d) {
        synchronized (MODULES) {
            MODULES.remove(d);
        }
    }

    public long alloc(long bytes) {
        long p = device.alloc(bytes);
        buffers.add(p);
        return p;
    }

    private static ByteBuffer buf(int bytes) {
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    public long upload(ByteBuffer b) {
        long p = alloc(Math.max(4, b.remaining()));
        device.copyToDevice(p, b);
        return p;
    }

    public long floats(float... v) {
        ByteBuffer b = buf(v.length * 4);
        b.asFloatBuffer().put(v);
        return upload(b);
    }

    public long ints(int... v) {
        ByteBuffer b = buf(v.length * 4);
        b.asIntBuffer().put(v);
        return upload(b);
    }

    public long longs(long... v) {
        ByteBuffer b = buf(v.length * 8);
        b.asLongBuffer().put(v);
        return upload(b);
    }

    public long doubles(double... v) {
        ByteBuffer b = buf(v.length * 8);
        b.asDoubleBuffer().put(v);
        return upload(b);
    }

    public long shorts(short... v) {
        ByteBuffer b = buf(v.length * 2);
        b.asShortBuffer().put(v);
        return upload(b);
    }

    /** A buffer of {@code bytes} filled with 0xff bytes (NaN as floats), so anything not written shows. */
    public long poisoned(long bytes) {
        long p = alloc(bytes);
        device.memset32(p, -1, (bytes + 3) / 4);
        return p;
    }

    private ByteBuffer download(long p, int bytes) {
        ByteBuffer b = buf(bytes);
        device.copyToHost(b, p);
        device.synchronize();
        return b;
    }

    public float[] readFloats(long p, int n) {
        float[] v = new float[n];
        download(p, n * 4).asFloatBuffer().get(v);
        return v;
    }

    public int[] readInts(long p, int n) {
        int[] v = new int[n];
        download(p, n * 4).asIntBuffer().get(v);
        return v;
    }

    public long[] readLongs(long p, int n) {
        long[] v = new long[n];
        download(p, n * 8).asLongBuffer().get(v);
        return v;
    }

    public double[] readDoubles(long p, int n) {
        double[] v = new double[n];
        download(p, n * 8).asDoubleBuffer().get(v);
        return v;
    }

    public void launch(String module, String entry, int[] grid, int[] block, int shared, Object... args) {
        device.launch(kernel(module, entry), grid, block, shared, args);
    }

    public static int[] dim(int x) {
        return new int[] {x, 1, 1};
    }

    public static int[] dim(int x, int y, int z) {
        return new int[] {x, y, z};
    }

    @Override
    public void close() {
        device.synchronize();
        for (long p : buffers) device.free(p);
        buffers.clear();
    }
}
