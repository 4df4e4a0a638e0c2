package dev.ditj.io;

import dev.ditj.tensor.DType;
import net.razorvine.pickle.Opcodes;
import net.razorvine.pickle.PickleException;
import net.razorvine.pickle.PickleUtils;
import net.razorvine.pickle.Unpickler;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The unpickler for {@code data.pkl}: Pyrolite's pickle machine with every opcode that could reach code or
 * arbitrary classes replaced.
 *
 * <p>Why {@link #dispatch} is overridden rather than using Pyrolite's hooks: Pyrolite resolves GLOBAL/STACK_GLOBAL
 * /INST through a static, process-wide constructor registry, and turns any unknown class into a {@code ClassDict}
 * instead of failing; its BUILD calls {@code __setstate__} by reflection on whatever object is on the stack; and its
 * {@code load_*} methods are package-private. So the opcodes that resolve or call things (GLOBAL, STACK_GLOBAL, INST,
 * OBJ, REDUCE, NEWOBJ, NEWOBJ_EX, BUILD) are handled here against a per-instance allow-list, and the registry is
 * never consulted. Dict opcodes are also handled here because Pyrolite builds {@code HashMap}s (losing the key order
 * of a state dict). Tuples become {@link Tuple} and integers {@link Long}/{@link BigInteger}. Everything else (memo,
 * strings, numbers, lists, frames, ...) is Pyrolite's.
 */
final class TorchUnpickler extends Unpickler {
    private enum Kind { ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER, STORAGE_TYPE, INERT }

    /** Spec §1.4: the only globals a checkpoint may name. */
    private static final Map<String, Kind> ALLOWED = new HashMap<>();
    /** Storage classes named in persistent ids, and the element type of their storages. */
    static final Map<String, DType> STORAGE_TYPES = Map.ofEntries(
            Map.entry("torch.FloatStorage", DType.F32), Map.entry("torch.HalfStorage", DType.F16),
            Map.entry("torch.BFloat16Storage", DType.BF16), Map.entry("torch.DoubleStorage", DType.F64),
            Map.entry("torch.LongStorage", DType.I64), Map.entry("torch.IntStorage", DType.I32),
            Map.entry("torch.ShortStorage", DType.I16), Map.entry("torch.CharStorage", DType.I8),
            Map.entry("torch.ByteStorage", DType.U8), Map.entry("torch.BoolStorage", DType.BOOL),
            Map.entry("torch.UntypedStorage", DType.U8)); // untyped: numel counts bytes

    static {
        ALLOWED.put("collections.OrderedDict", Kind.ORDERED_DICT);
        ALLOWED.put("torch._utils._rebuild_tensor_v2", Kind.REBUILD_TENSOR);
        ALLOWED.put("torch._utils._rebuild_parameter", Kind.REBUILD_PARAMETER);
        ALLOWED.put("torch._utils._rebuild_parameter_with_state", Kind.REBUILD_PARAMETER);
        for (String s : STORAGE_TYPES.keySet()) ALLOWED.put(s, Kind.STORAGE_TYPE);
        for (String s : List.of("argparse.Namespace", "torch.device",
                "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint",
                "numpy.core.multiarray.scalar", "numpy.dtype", "numpy.core.multiarray._reconstruct", "numpy.ndarray",
                "builtins.set", "__builtin__.set", "builtins.slice")) {
            ALLOWED.put(s, Kind.INERT);
        }
    }

    /** What GLOBAL pushes for an allow-listed function or non-inert class. */
    private record Global(String name, Kind kind) {
    }

    /** A storage named by a persistent id; its bytes are loaded when the first tensor view needs them. */
    private static final class Storage {
        final String key;
        final DType dtype;
        final long numel;
        ByteBuffer bytes; // little-endian, exactly numel * dtype.bytes

        Storage(String key, DType dtype, long numel) {
            this.key = key;
            this.dtype = dtype;
            this.numel = numel;
        }
    }

    /** Supplies the raw bytes of storage record {@code key}, checked to be exactly {@code nbytes} long. */
    interface StorageSource {
        ByteBuffer load(String key, long nbytes) throws IOException;
    }

    private final String label;
    private final StorageSource source;
    private final boolean bigEndian;
    private final boolean report;
    private final Set<String> seenGlobals = new LinkedHashSet<>();
    private final Map<String, Object> resolved = new HashMap<>();
    private final Map<String, Storage> storages = new HashMap<>();
    private int pickleLength;
    private long copyBudget; // bytes left for copies of strided views
    private int opcodeOffset; // of the opcode being dispatched, for messages

    private TorchUnpickler(String label, StorageSource source, boolean bigEndian, boolean report) {
        this.label = label;
        this.source = source;
        this.bigEndian = bigEndian;
        this.report = report;
    }

    /**
     * Unpickles {@code pickle} with the allow-list, materializing tensors from {@code source}. Strided views are
     * copied, at most {@code maxCopyBytes} in all (a small file could otherwise name huge expanded views).
     */
    static Object load(String label, byte[] pickle, StorageSource source, boolean bigEndian, long maxCopyBytes) throws IOException {
        TorchUnpickler u = new TorchUnpickler(label, source, bigEndian, false);
        u.copyBudget = maxCopyBytes;
        return u.run(pickle);
    }

    /**
     * "Report globals" mode: every global the pickle names, in order of first use. Nothing is refused or
     * materialized: globals resolve to inert placeholders and storages are never read.
     */
    static List<String> globals(String label, byte[] pickle) throws IOException {
        TorchUnpickler u = new TorchUnpickler(label, null, false, true);
        u.run(pickle);
        return List.copyOf(u.seenGlobals);
    }

    private Object run(byte[] pickle) throws IOException {
        pickleLength = pickle.length;
        try {
            // Always from memory: checkLength relies on mark/reset and available() being exact.
            return value(load(new ByteArrayInputStream(pickle)));
        } catch (CheckpointException e) {
            throw e;
        } catch (StackOverflowError e) {
            // e.g. hashing a dict key that contains itself: only a hostile pickle does that
            throw new CheckpointException(label + ": corrupt data.pkl: self-referential or too deeply nested structure", e);
        } catch (PickleException | IOException e) {
            // Pyrolite's and our own checks: bad opcode, premature end, memo miss, wrong operand types
            throw new CheckpointException(label + ": corrupt data.pkl: " + e.getMessage() + " (opcode at byte " + opcodeOffset + ")", e);
        } catch (RuntimeException e) {
            if (!fromPyrolite(e)) throw e; // a bug of ours, not to be disguised as a malformed pickle
            // operands Pyrolite does not check: stack underflow, a cast of the wrong type, a malformed number
            throw new CheckpointException(label + ": corrupt data.pkl: malformed pickle (opcode 0x"
                    + Integer.toHexString(pickleByte(pickle, opcodeOffset)) + " at byte " + opcodeOffset + ")", e);
        }
    }

    /** Whether {@code e} was thrown by Pyrolite's code (directly or in the JDK code it called), not by ours. */
    private static boolean fromPyrolite(Throwable e) {
        for (StackTraceElement frame : e.getStackTrace()) {
            String c = frame.getClassName();
            if (!c.startsWith("java.") && !c.startsWith("jdk.") && !c.startsWith("com.code_intelligence.")) {
                return c.startsWith("net.razorvine.");
            }
        }
        return false;
    }

    private static int pickleByte(byte[] pickle, int at) {
        return at >= 0 && at < pickle.length ? pickle[at] & 0xff : 0;
    }

    @Override
    protected Object dispatch(short key) throws PickleException, IOException {
        opcodeOffset = pickleLength - input.available() - 1;
        switch (key) {
            case Opcodes.GLOBAL -> {
                String module = PickleUtils.readline(input);
                String name = PickleUtils.readline(input);
                stack.add(resolve(module, name));
            }
            case Opcodes.STACK_GLOBAL -> {
                Object name = stack.pop();
                Object module = stack.pop();
                if (!(module instanceof String m) || !(name instanceof String n)) {
                    throw new PickleException("STACK_GLOBAL needs two strings");
                }
                stack.add(resolve(m, n));
            }
            case Opcodes.INST -> {
                String module = PickleUtils.readline(input);
                String name = PickleUtils.readline(input);
                Object cls = resolve(module, name);
                stack.add(call(cls, new Tuple(stack.pop_all_since_marker())));
            }
            case Opcodes.OBJ -> {
                List<Object> items = stack.pop_all_since_marker();
                if (items.isEmpty()) throw new PickleException("OBJ without a class");
                stack.add(call(items.get(0), new Tuple(items.subList(1, items.size()))));
            }
            case Opcodes.REDUCE, Opcodes.NEWOBJ -> {
                // NEWOBJ is cls.__new__(cls, *args): for the allow-listed classes the same as calling them
                Object args = stack.pop();
                Object callable = stack.pop();
                stack.add(call(callable, tuple(args)));
            }
            case Opcodes.NEWOBJ_EX -> {
                Object kwargs = value(stack.pop());
                Object args = stack.pop();
                Object cls = stack.pop();
                List<Object> all = new ArrayList<>(tuple(args).items());
                if (!(kwargs instanceof Map<?, ?> kw) || !kw.isEmpty()) all.add(kwargs); // keep, never interpret
                stack.add(call(cls, new Tuple(all)));
            }
            case Opcodes.BUILD -> {
                Object state = value(stack.pop());
                build(stack.peek(), state);
            }
            case Opcodes.EMPTY_DICT -> stack.add(new LinkedHashMap<>());
            case Opcodes.ADDITEMS -> {
                List<Object> items = stack.pop_all_since_marker();
                if (!(stack.peek() instanceof Set<?> set)) throw new PickleException("ADDITEMS on a " + describe(stack.peek()));
                @SuppressWarnings("unchecked") Set<Object> target = (Set<Object>) set;
                for (Object item : items) target.add(key(item));
            }
            case Opcodes.FROZENSET -> {
                Set<Object> set = new LinkedHashSet<>();
                for (Object item : stack.pop_all_since_marker()) set.add(key(item));
                stack.add(set);
            }
            case Opcodes.DICT -> {
                List<Object> items = stack.pop_all_since_marker();
                Map<Object, Object> map = new LinkedHashMap<>();
                putPairs(map, items);
                stack.add(map);
            }
            case Opcodes.SETITEM -> {
                Object value = value(stack.pop());
                Object k = value(stack.pop());
                putPairs(stack.peek(), java.util.Arrays.asList(k, value));
            }
            case Opcodes.SETITEMS -> {
                List<Object> items = stack.pop_all_since_marker();
                putPairs(stack.peek(), items);
            }
            case Opcodes.APPEND -> {
                Object value = value(stack.pop());
                appendAll(stack.peek(), java.util.Collections.singletonList(value));
            }
            case Opcodes.APPENDS -> {
                List<Object> items = stack.pop_all_since_marker();
                appendAll(stack.peek(), items);
            }
            case Opcodes.EMPTY_TUPLE, Opcodes.TUPLE, Opcodes.TUPLE1, Opcodes.TUPLE2, Opcodes.TUPLE3 -> {
                super.dispatch(key);
                Object[] items = (Object[]) stack.pop();
                for (Object item : items) value(item);
                stack.add(new Tuple(java.util.Arrays.asList(items)));
            }
            case Opcodes.INT, Opcodes.BININT, Opcodes.BININT1, Opcodes.BININT2, Opcodes.LONG, Opcodes.LONG1 -> {
                super.dispatch(key);
                stack.add(normalizeInt(stack.pop()));
            }
            case Opcodes.LONG4 -> {
                checkLength(4);
                super.dispatch(key);
                stack.add(normalizeInt(stack.pop()));
            }
            case Opcodes.BINSTRING, Opcodes.BINUNICODE, Opcodes.BINBYTES -> {
                checkLength(4);
                return super.dispatch(key);
            }
            case Opcodes.BINUNICODE8, Opcodes.BINBYTES8, Opcodes.BYTEARRAY8 -> {
                checkLength(8);
                return super.dispatch(key);
            }
            default -> {
                return super.dispatch(key);
            }
        }
        return NO_RETURN_VALUE;
    }

    /**
     * Refuses a length prefix that points past the end of data.pkl before Pyrolite allocates a buffer for it (a
     * corrupt or hostile 2 GB length would otherwise be allocated before failing).
     */
    private void checkLength(int prefixBytes) throws IOException {
        input.mark(16);
        byte[] b = input.readNBytes(prefixBytes);
        input.reset();
        if (b.length < prefixBytes) return; // Pyrolite reports the premature end
        long n = 0;
        for (int i = prefixBytes - 1; i >= 0; i--) n = (n << 8) | (b[i] & 0xff);
        if (prefixBytes == 4) n = (int) n; // signed in Pyrolite
        if (n < 0 || n > input.available() - prefixBytes) {
            throw new PickleException("length " + n + " runs past the end of the pickle");
        }
    }

    /**
     * {@code v}, unless it is Pyrolite's stack mark (a bare Object): in a well-formed pickle a mark is never popped
     * as a value (Python keeps marks off the value stack), so this is a stack underflow.
     */
    private static Object value(Object v) {
        if (v != null && v.getClass() == Object.class) throw new PickleException("stack underflow (a mark used as a value)");
        return v;
    }

    /**
     * {@code k}, if it may be a dict key or set member. Python refuses lists, dicts and sets (unhashable); we also
     * refuse tensors and tuples that nest containers, which checkpoints do not use as keys and which would let a
     * small pickle make hashing or comparing keys take exponential time (one tuple shared many times over).
     */
    private static Object key(Object k) {
        if (k instanceof Tuple t) {
            for (Object item : t.items()) {
                if (!isHashableAtom(item)) throw new PickleException("unsupported dict key or set member: a tuple holding a " + describe(item));
            }
            return k;
        }
        if (!isHashableAtom(k)) throw new PickleException("unsupported dict key or set member: a " + describe(k));
        return k;
    }

    /** Values whose hash and equality cost at most their own size. */
    private static boolean isHashableAtom(Object o) {
        return o == null || o instanceof String || o instanceof Long || o instanceof BigInteger || o instanceof Double
                || o instanceof Boolean || o instanceof byte[] || o instanceof Placeholder || o instanceof Global
                || o instanceof Storage;
    }

    private static Object normalizeInt(Object v) {
        if (v instanceof Integer i) return i.longValue();
        if (v instanceof BigInteger b && b.bitLength() < 64) return b.longValue();
        return v; // Long, BigInteger, or Boolean (protocol 0 "I01")
    }

    private Object resolve(String module, String name) {
        String full = module + "." + name;
        seenGlobals.add(full);
        Kind kind = report ? Kind.INERT : ALLOWED.get(full);
        if (kind == null) {
            throw new CheckpointException(label + ": refusing pickle global '" + full
                    + "' in data.pkl: a checkpoint may only reference allow-listed tensor/container types, never code");
        }
        // one object per global, so that e.g. a class used as a dict key twice is the same key
        return resolved.computeIfAbsent(full, f -> kind == Kind.INERT ? new Placeholder(f, null, true) : new Global(f, kind));
    }

    private static Tuple tuple(Object args) {
        if (args instanceof Tuple t) return t;
        throw new PickleException("call arguments are a " + describe(args) + ", not a tuple");
    }

    private Object call(Object callable, Tuple args) throws IOException {
        if (callable instanceof Placeholder p && p.isClassReference()) return new Placeholder(p.global(), args, false);
        if (report) return new Placeholder("?", args, false);
        if (callable instanceof Global g) {
            switch (g.kind) {
                case ORDERED_DICT -> {
                    Map<Object, Object> map = new LinkedHashMap<>();
                    if (args.size() == 1 && args.get(0) instanceof Collection<?> pairs) {
                        for (Object p : pairs) {
                            if (!(p instanceof Tuple t) || t.size() != 2) throw new PickleException("OrderedDict item is not a pair");
                            map.put(key(t.get(0)), t.get(1));
                        }
                    } else if (args.size() != 0) {
                        throw new PickleException("unexpected OrderedDict arguments " + brief(args));
                    }
                    return map;
                }
                case REBUILD_TENSOR -> {
                    return rebuildTensor(args);
                }
                case REBUILD_PARAMETER -> {
                    if (args.size() < 1 || !(args.get(0) instanceof RawTensor t)) {
                        throw new PickleException(g.name + " expects a tensor as first argument");
                    }
                    return t;
                }
                case STORAGE_TYPE -> throw new CheckpointException(label + ": corrupt data.pkl: storage type '" + g.name
                        + "' called as a function (it may only appear in a persistent id)");
                default -> throw new IllegalStateException(g.kind.toString());
            }
        }
        throw new PickleException("REDUCE/NEWOBJ on a " + describe(callable) + ", which is not an allow-listed callable");
    }

    private void build(Object target, Object state) {
        if (target instanceof Map<?, ?>) return; // OrderedDict's {'_metadata': ...}: not needed, ignored (spec pitfall 5)
        if (target instanceof Placeholder p && !p.isClassReference()) {
            p.setState(state);
            return;
        }
        if (report) return;
        throw new PickleException("BUILD on a " + describe(target) + " is not supported");
    }

    @SuppressWarnings("unchecked")
    private void putPairs(Object target, List<Object> items) {
        if (items.size() % 2 != 0) throw new PickleException("odd number of items for a dict");
        if (!(target instanceof Map<?, ?>)) {
            if (report) return;
            throw new PickleException("SETITEM(S) on a " + describe(target));
        }
        Map<Object, Object> map = (Map<Object, Object>) target;
        for (int i = 0; i < items.size(); i += 2) map.put(key(items.get(i)), items.get(i + 1));
    }

    @SuppressWarnings("unchecked")
    private void appendAll(Object target, List<Object> items) {
        if (target instanceof List<?>) {
            ((List<Object>) target).addAll(items);
        } else if (!report) {
            throw new PickleException("APPEND(S) on a " + describe(target));
        }
    }

    @Override
    protected Object persistentLoad(Object pid) {
        if (report) return new Placeholder("<persistent id>", pid, false);
        if (!(pid instanceof Tuple t) || t.size() == 0 || !(t.get(0) instanceof String kind)) {
            throw new CheckpointException(label + ": unsupported persistent id " + brief(pid) + " in data.pkl");
        }
        if (!kind.equals("storage")) {
            throw new CheckpointException(label + ": unsupported persistent id kind " + brief(kind) + " in data.pkl (only 'storage')");
        }
        if (t.size() != 5 || !(t.get(1) instanceof Global type) || type.kind != Kind.STORAGE_TYPE
                || !(t.get(2) instanceof String key) || !(t.get(4) instanceof Long numel) || numel < 0) {
            throw new CheckpointException(label + ": malformed storage persistent id " + brief(pid)
                    + " in data.pkl (expected ('storage', <torch.*Storage>, key, location, numel))");
        }
        DType dtype = STORAGE_TYPES.get(type.name);
        Storage s = storages.computeIfAbsent(key, k -> new Storage(k, dtype, numel));
        if (s.dtype != dtype || s.numel != numel) {
            throw new CheckpointException(label + ": storage '" + key + "' is referenced both as " + s.numel + " x "
                    + s.dtype + " and as " + numel + " x " + dtype);
        }
        return s;
    }

    /** {@code _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])}. */
    private RawTensor rebuildTensor(Tuple args) throws IOException {
        if (args.size() != 6 && args.size() != 7) throw new PickleException("_rebuild_tensor_v2 expects 6 or 7 arguments, got " + args.size());
        if (!(args.get(0) instanceof Storage s)) throw new PickleException("_rebuild_tensor_v2: first argument is not a storage");
        if (!(args.get(1) instanceof Long offset)) throw new PickleException("_rebuild_tensor_v2: storage offset is not an int");
        long[] size = longs(args.get(2), "size");
        long[] stride = longs(args.get(3), "stride");
        if (s.bytes == null) {
            long nbytes = Math.multiplyExact(s.numel, (long) s.dtype.bytes);
            ByteBuffer b = source.load(s.key, nbytes).order(ByteOrder.LITTLE_ENDIAN);
            if (bigEndian) b = StridedCopy.byteSwapped(b, s.dtype.bytes);
            s.bytes = b;
        }
        RawTensor t = StridedCopy.view(s.bytes, s.dtype, s.numel, offset, size, stride, copyBudget,
                label + ": tensor view of storage '" + s.key + "'");
        if (!StridedCopy.isContiguous(size, stride)) copyBudget -= t.data().remaining();
        return t;
    }

    private static long[] longs(Object o, String what) {
        if (!(o instanceof Tuple t)) throw new PickleException("_rebuild_tensor_v2: " + what + " is not a tuple");
        long[] out = new long[t.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(t.get(i) instanceof Long v)) throw new PickleException("_rebuild_tensor_v2: " + what + " entry is not an int");
            out[i] = v;
        }
        return out;
    }

    /**
     * A pickled value for a message: strings quoted and cut, containers to two levels and six items. (Their own
     * toString could be huge: a pickle can share one list many times over, which prints exponentially long.)
     */
    static String brief(Object o) {
        StringBuilder b = new StringBuilder();
        brief(o, 2, b);
        return b.toString();
    }

    private static void brief(Object o, int depth, StringBuilder b) {
        List<?> items = o instanceof Tuple t ? t.items() : o instanceof List<?> l ? l : null;
        if (o instanceof String str) {
            b.append('\'').append(str.length() <= 40 ? str : str.substring(0, 37) + "...").append('\'');
        } else if (o instanceof Long || o instanceof BigInteger || o instanceof Double || o instanceof Boolean) {
            b.append(o);
        } else if (items != null && depth > 0) {
            b.append(o instanceof Tuple ? '(' : '[');
            for (int i = 0; i < Math.min(items.size(), 6); i++) {
                if (i > 0) b.append(", ");
                brief(items.get(i), depth - 1, b);
            }
            b.append(items.size() > 6 ? ", ..." : "").append(o instanceof Tuple ? ')' : ']');
        } else {
            b.append('<').append(describe(o)).append('>');
        }
    }

    static String describe(Object o) {
        if (o == null) return "None";
        if (o instanceof Global g) return "global " + g.name;
        if (o instanceof Placeholder p) return (p.isClassReference() ? "class " : "instance of ") + p.global();
        if (o instanceof Storage s) return "storage '" + s.key + "'";
        return o.getClass().getSimpleName();
    }
}
