package dev.ditj.cuda;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.JCudaDriver;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A real GPU through the CUDA driver API (JCuda). Everything is issued on one stream of one context. Where no CUDA
 * driver or device exists, {@link #open} fails with a {@link CudaException} starting "no CUDA device:".
 *
 * <p>Host copies go through pageable memory (the driver stages them; a copy to the host returns when done). Inside
 * a graph capture, host buffers must be direct: they are page-locked (cuMemHostRegister) until the graph is closed,
 * and the graph reads and writes them at every replay, as CUDA graphs do.
 */
public final class JCudaDevice implements Device {
    private static final int SHARED_DEFAULT_LIMIT = 48 * 1024;

    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final String name;
    private final int multiprocessors;
    private List<Pointer> captureRegistered;
    private boolean closed;

    private JCudaDevice(int ordinal) {
        check(JCudaDriver.cuInit(0), "cuInit");
        int[] count = new int[1];
        check(JCudaDriver.cuDeviceGetCount(count), "cuDeviceGetCount");
        if (ordinal >= count[0]) throw new CudaException("no CUDA device: device " + ordinal + " requested, " + count[0] + " present");
        CUdevice dev = new CUdevice();
        check(JCudaDriver.cuDeviceGet(dev, ordinal), "cuDeviceGet");
        byte[] nameBytes = new byte[256];
        check(JCudaDriver.cuDeviceGetName(nameBytes, nameBytes.length, dev), "cuDeviceGetName");
        int[] major = new int[1], minor = new int[1];
        check(JCudaDriver.cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev), "cuDeviceGetAttribute");
        check(JCudaDriver.cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev), "cuDeviceGetAttribute");
        int[] sms = new int[1];
        check(JCudaDriver.cuDeviceGetAttribute(sms, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev), "cuDeviceGetAttribute");
        multiprocessors = sms[0];
        String n = new String(nameBytes, StandardCharsets.US_ASCII);
        name = n.substring(0, Math.max(0, n.indexOf('\0') >= 0 ? n.indexOf('\0') : n.length())).trim() + " (sm_" + major[0] + minor[0] + ")";
        check(JCudaDriver.cuCtxCreate(context, 0, dev), "cuCtxCreate");
        check(JCudaDriver.cuStreamCreate(stream, 0), "cuStreamCreate");
    }

    /** Opens CUDA device 0. */
    public static JCudaDevice open() {
        return open(0);
    }

    /** Opens CUDA device {@code ordinal}; "no CUDA device: ..." where there is no driver or device. */
    public static JCudaDevice open(int ordinal) {
        try {
            JCudaDriver.setExceptionsEnabled(false);
        } catch (LinkageError e) {
            // the JCuda natives link against libcuda.so: without a driver they cannot load
            throw new CudaException("no CUDA device: the CUDA driver library could not be loaded (" + linkProblem(e) + ")", e);
        }
        try {
            return new JCudaDevice(ordinal);
        } catch (CudaException e) {
            if (e.getMessage().startsWith("no CUDA device")) throw e;
            throw new CudaException("no CUDA device: " + e.getMessage(), e);
        } catch (LinkageError e) {
            throw new CudaException("no CUDA device: " + linkProblem(e), e);
        }
    }

    /** The telling line of JCuda's long native-library error (usually "libcuda.so.1: cannot open shared object file"). */
    private static String linkProblem(LinkageError e) {
        String m = String.valueOf(e.getMessage());
        for (String line : m.split("\n")) {
            int i = line.indexOf("libcuda");
            if (i >= 0) return line.substring(i).trim();
        }
        return m.split("\n")[0].trim();
    }

    /** Null when a CUDA device can be opened, else why not. */
    public static String unavailableReason() {
        try (JCudaDevice d = open()) {
            return null;
        } catch (CudaException e) {
            return e.getMessage();
        }
    }

    private static void check(int result, String op) {
        if (result != CUresult.CUDA_SUCCESS) {
            String what = CUresult.stringFor(result);
            if (result == CUresult.CUDA_ERROR_NO_DEVICE) throw new CudaException("no CUDA device: " + op + " returned " + what);
            throw new CudaException(op + " failed: " + what);
        }
    }

    private void current() {
        if (closed) throw new CudaException("the CUDA device is closed");
        check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
    }

    /** A device pointer at an address. */
    private static CUdeviceptr ptr(long address) {
        return new CUdeviceptr().withByteOffset(address);
    }

    /** Reads back the address of an allocated pointer (the native pointer is protected in JCuda). */
    private static final class Allocated extends CUdeviceptr {
        long address() {
            return getNativePointer() + getByteOffset();
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int multiprocessors() {
        return multiprocessors;
    }

    // ------------------------------------------------------------------------------------------------ modules

    private static final class CudaModule implements Module {
        final CUmodule module = new CUmodule();
        final String name, ptx;

        CudaModule(String name, String ptx) {
            this.name = name;
            this.ptx = ptx;
        }

        @Override
        public Kernel kernel(String entry) {
            List<KernelArgs.Param> params = KernelArgs.parse(ptx, entry);
            if (params == null) throw new CudaException("module " + name + " has no kernel " + entry);
            CUfunction f = new CUfunction();
            check(JCudaDriver.cuModuleGetFunction(f, module, entry), "cuModuleGetFunction(" + entry + ")");
            return new CudaKernel(entry, f, params);
        }
    }

    private static final class CudaKernel implements Kernel {
        final String name;
        final CUfunction function;
        final List<KernelArgs.Param> params;
        int sharedLimit = SHARED_DEFAULT_LIMIT;

        CudaKernel(String name, CUfunction function, List<KernelArgs.Param> params) {
            this.name = name;
            this.function = function;
            this.params = params;
        }

        @Override
        public String name() {
            return name;
        }
    }

    @Override
    public Module load(String name, String ptx) {
        current();
        CudaModule m = new CudaModule(name, ptx);
        check(JCudaDriver.cuModuleLoadData(m.module, ptx), "cuModuleLoadData(" + name + ")");
        return m;
    }

    // ------------------------------------------------------------------------------------------------ memory

    @Override
    public long alloc(long bytes) {
        current();
        Allocated p = new Allocated();
        int r = JCudaDriver.cuMemAlloc(p, Math.max(bytes, 1));
        if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
            long[] info = memoryInfo();
            throw new CudaException("out of device memory: needed " + bytes + " bytes, " + info[0] + " free of " + info[1]);
        }
        check(r, "cuMemAlloc(" + bytes + ")");
        return p.address();
    }

    @Override
    public void free(long pointer) {
        current();
        check(JCudaDriver.cuMemFree(ptr(pointer)), "cuMemFree");
    }

    /** A pointer to the buffer's bytes from its position: direct buffers as they are, heap buffers via a copy. */
    private Pointer host(ByteBuffer b, boolean forWrite, ByteBuffer[] staging) {
        if (captureRegistered != null) {
            if (!b.isDirect()) throw new CudaException("host copies inside a graph capture need a direct ByteBuffer");
            Pointer p = Pointer.to(b.slice());
            int r = JCudaDriver.cuMemHostRegister(p, b.remaining(), 0);
            if (r != CUresult.CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED) {   // a second copy of the same buffer is fine
                check(r, "cuMemHostRegister");
                captureRegistered.add(p);
            }
            return p;
        }
        if (b.isDirect()) return Pointer.to(b.slice());
        ByteBuffer s = ByteBuffer.allocateDirect(b.remaining());
        if (!forWrite) s.put(b.duplicate()).flip();
        staging[0] = s;
        return Pointer.to(s);
    }

    @Override
    public void copyToDevice(long dst, ByteBuffer src) {
        current();
        ByteBuffer[] staging = new ByteBuffer[1];
        check(JCudaDriver.cuMemcpyHtoDAsync(ptr(dst), host(src, false, staging), src.remaining(), stream), "cuMemcpyHtoDAsync");
        if (staging[0] != null) synchronize();   // the staging copy must live until the driver has read it
    }

    @Override
    public void copyToHost(ByteBuffer dst, long src) {
        current();
        ByteBuffer[] staging = new ByteBuffer[1];
        check(JCudaDriver.cuMemcpyDtoHAsync(host(dst, true, staging), ptr(src), dst.remaining(), stream), "cuMemcpyDtoHAsync");
        if (captureRegistered == null) synchronize();
        if (staging[0] != null) dst.duplicate().put(staging[0]);
    }

    @Override
    public void copyOnDevice(long dst, long src, long bytes) {
        current();
        check(JCudaDriver.cuMemcpyDtoDAsync(ptr(dst), ptr(src), bytes, stream), "cuMemcpyDtoDAsync");
    }

    @Override
    public void memset32(long pointer, int value, long count) {
        current();
        check(JCudaDriver.cuMemsetD32Async(ptr(pointer), value, count, stream), "cuMemsetD32Async");
    }

    @Override
    public long[] memoryInfo() {
        current();
        long[] free = new long[1], total = new long[1];
        check(JCudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[] {free[0], total[0]};
    }

    // ------------------------------------------------------------------------------------------------ execution

    @Override
    public void launch(Kernel kernel, int[] grid, int[] block, int sharedBytes, Object... args) {
        current();
        if (!(kernel instanceof CudaKernel k)) throw new CudaException("launch: kernel " + kernel.name() + " was not loaded by this device");
        KernelArgs.check(k.name, k.params, args);
        if (sharedBytes > k.sharedLimit) {   // above 48 KiB a kernel must opt in to more dynamic shared memory
            check(JCudaDriver.cuFuncSetAttribute(k.function, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    sharedBytes), "cuFuncSetAttribute(max dynamic shared " + sharedBytes + ")");
            k.sharedLimit = sharedBytes;
        }
        Pointer[] values = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            values[i] = a instanceof Long v ? Pointer.to(new long[] {v}) : a instanceof Integer v ? Pointer.to(new int[] {v})
                    : a instanceof Float v ? Pointer.to(new float[] {v}) : Pointer.to(new double[] {(Double) a});
        }
        check(JCudaDriver.cuLaunchKernel(k.function, grid[0], grid[1], grid[2], block[0], block[1], block[2], sharedBytes, stream,
                Pointer.to(values), null), "launch of kernel " + k.name);
    }

    @Override
    public void synchronize() {
        current();
        check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    private final class CudaEvent implements Event {
        final CUevent event = new CUevent();

        CudaEvent() {
            check(JCudaDriver.cuEventCreate(event, 0), "cuEventCreate");
        }

        @Override
        public void close() {
            if (!closed) JCudaDriver.cuEventDestroy(event);
        }
    }

    @Override
    public Event createEvent() {
        current();
        return new CudaEvent();
    }

    @Override
    public void record(Event event) {
        current();
        check(JCudaDriver.cuEventRecord(((CudaEvent) event).event, stream), "cuEventRecord");
    }

    @Override
    public float elapsedMillis(Event start, Event end) {
        current();
        float[] ms = new float[1];
        check(JCudaDriver.cuEventElapsedTime(ms, ((CudaEvent) start).event, ((CudaEvent) end).event), "cuEventElapsedTime");
        return ms[0];
    }

    private final class CudaGraph implements Graph {
        final CUgraph graph = new CUgraph();
        final CUgraphExec exec = new CUgraphExec();
        final List<Pointer> registered;

        CudaGraph(List<Pointer> registered) {
            this.registered = registered;
        }

        @Override
        public void close() {
            if (closed) return;
            JCudaDriver.cuCtxSetCurrent(context);
            JCudaDriver.cuGraphExecDestroy(exec);
            JCudaDriver.cuGraphDestroy(graph);
            for (Pointer p : registered) JCudaDriver.cuMemHostUnregister(p);
        }
    }

    @Override
    public void beginCapture() {
        current();
        if (captureRegistered != null) throw new CudaException("beginCapture: already capturing");
        // relaxed: host buffers are page-locked (cuMemHostRegister) while capturing
        check(JCudaDriver.cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED), "cuStreamBeginCapture");
        captureRegistered = new ArrayList<>();
    }

    @Override
    public Graph endCapture() {
        current();
        if (captureRegistered == null) throw new CudaException("endCapture without beginCapture");
        CudaGraph g = new CudaGraph(captureRegistered);
        captureRegistered = null;
        check(JCudaDriver.cuStreamEndCapture(stream, g.graph), "cuStreamEndCapture");
        check(JCudaDriver.cuGraphInstantiate(g.exec, g.graph, 0), "cuGraphInstantiate");
        return g;
    }

    @Override
    public void replay(Graph graph) {
        current();
        check(JCudaDriver.cuGraphLaunch(((CudaGraph) graph).exec, stream), "cuGraphLaunch");
    }

    @Override
    public void close() {
        if (closed) return;
        JCudaDriver.cuCtxSetCurrent(context);
        JCudaDriver.cuStreamSynchronize(stream);
        JCudaDriver.cuStreamDestroy(stream);
        JCudaDriver.cuCtxDestroy(context);
        closed = true;
    }
}
