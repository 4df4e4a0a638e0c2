package dev.ditj.io;

import dev.ditj.ParserContract;

import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.fail;

/** What the torch-zip fuzz targets run on a candidate file, and the unpickler's safety property. */
final class TorchFuzzing {
    /** Checkpoints spec §1.4: the only globals that may become objects (as placeholders or tensor machinery). */
    private static final Set<String> SPEC_ALLOW_LIST = Set.of("collections.OrderedDict",
            "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
            "torch._utils._rebuild_parameter_with_state", "torch.FloatStorage", "torch.HalfStorage",
            "torch.BFloat16Storage", "torch.DoubleStorage", "torch.LongStorage", "torch.IntStorage",
            "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage", "torch.BoolStorage", "torch.UntypedStorage",
            "argparse.Namespace", "torch.device", "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint",
            "numpy.core.multiarray.scalar", "numpy.dtype", "numpy.core.multiarray._reconstruct", "numpy.ndarray",
            "builtins.set", "__builtin__.set", "builtins.slice");

    private TorchFuzzing() {
    }

    /** Reads the file as the converter does (tree, then a state dict from it) and lists its globals. */
    static void readCheckpoint(Path file, byte[] input) throws Exception {
        String name = file.toString();
        Object tree = ParserContract.parse(name, input, () -> TorchCheckpoint.read(file));
        if (tree != null) {
            assertOnlyAllowedObjects(tree);
            Object weights = tree instanceof Map<?, ?> m && m.get("ema") != null ? m.get("ema") : tree;
            ParserContract.parse(name, input, () -> TorchCheckpoint.tensorMap(weights, name));
        }
        ParserContract.parse(name, input, () -> TorchCheckpoint.globals(file));
    }

    /**
     * Every object reachable from {@code tree} is a documented value type, a tensor, or an inert stand-in for an
     * allow-listed global: nothing from Pyrolite's class registry (ClassDict, datetime, exceptions, ...).
     */
    static void assertOnlyAllowedObjects(Object tree) {
        Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Object> todo = new ArrayDeque<>();
        todo.push(tree == null ? "" : tree);
        while (!todo.isEmpty()) {
            Object o = todo.pop();
            if (!seen.add(o)) continue;
            if (o instanceof Map<?, ?> m) {
                m.forEach((k, v) -> { push(todo, k); push(todo, v); });
            } else if (o instanceof List<?> l) {
                l.forEach(v -> push(todo, v));
            } else if (o instanceof Set<?> s) {
                s.forEach(v -> push(todo, v));
            } else if (o instanceof Tuple t) {
                t.items().forEach(v -> push(todo, v));
            } else if (o instanceof Placeholder p) {
                if (!SPEC_ALLOW_LIST.contains(p.global())) fail("placeholder for a global outside the allow-list: " + p.global());
                push(todo, p.args());
                push(todo, p.state());
            } else if (!(o instanceof String || o instanceof Long || o instanceof BigInteger || o instanceof Double
                    || o instanceof Boolean || o instanceof byte[] || o instanceof RawTensor
                    || TorchUnpickler.describe(o).startsWith("global ") && SPEC_ALLOW_LIST.contains(TorchUnpickler.describe(o).substring(7))
                    || TorchUnpickler.describe(o).startsWith("storage '"))) {
                fail("unpickled an object of " + o.getClass() + ": " + TorchUnpickler.describe(o));
            }
        }
    }

    private static void push(Deque<Object> todo, Object o) {
        if (o != null) todo.push(o);
    }
}
