package dev.ditj.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads {@code torch.save} files (the zip format of torch ≥ 1.6) without executing anything: {@code data.pkl} is
 * unpickled against an allow-list of tensor/container globals (checkpoints spec §1.4) and every other global is
 * refused by name.
 *
 * <p>{@link #read} returns a tree of:
 * <ul>
 *   <li>{@link LinkedHashMap}{@code <Object,Object>} for dict and OrderedDict (key order kept; OrderedDict's BUILD
 *       state, the {@code _metadata} of a state dict, is dropped);</li>
 *   <li>{@link List} ({@code ArrayList}) for list, {@link Tuple} for tuple, {@link java.util.Set} for set/frozenset
 *       opcodes (protocol 4);</li>
 *   <li>{@link String}, {@link Long} (or {@link java.math.BigInteger} beyond 64 bits), {@link Double},
 *       {@link Boolean}, {@code null}, {@code byte[]} for bytes;</li>
 *   <li>{@link RawTensor} for tensors (and {@code nn.Parameter}s, unwrapped), dense and little-endian. Contiguous
 *       tensors are read-only memory mappings of the file; strided views are copied;</li>
 *   <li>{@link Placeholder} for inert allow-listed objects ({@code argparse.Namespace}, {@code torch.device},
 *       numpy scalars/dtypes/arrays, Lightning's {@code ModelCheckpoint}, {@code builtins.set}/{@code slice}).</li>
 * </ul>
 * Memory-mapped tensors stay valid after {@code read} returns (the file is closed); do not overwrite or truncate the
 * file while they are in use. Tensors over 2 GiB (one storage record) are refused with a clear error; the file as a
 * whole may be any size (ZIP64).
 */
public final class TorchCheckpoint {
    private TorchCheckpoint() {
    }

    public static Object read(Path file) throws CheckpointException {
        return open(file, false);
    }

    /**
     * "Report globals" mode, for diagnostics: every global ({@code module.name}) that {@code data.pkl} references,
     * in order of first use, including ones {@link #read} would refuse. No tensor data is read.
     */
    @SuppressWarnings("unchecked")
    public static List<String> globals(Path file) throws CheckpointException {
        return (List<String>) open(file, true);
    }

    /**
     * {@code node} as a typed state dict (every key a String, every value a tensor), in file order. {@code what}
     * names the node in the error, e.g. {@code "dit_a_train.pt[\"ema\"]"}.
     */
    public static Map<String, RawTensor> tensorMap(Object node, String what) {
        if (!(node instanceof Map<?, ?> map)) {
            throw new CheckpointException(what + ": expected a state dict (name -> tensor), found " + kind(node));
        }
        Map<String, RawTensor> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!(e.getKey() instanceof String name)) {
                throw new CheckpointException(what + ": expected a state dict, but key " + TorchUnpickler.brief(e.getKey())
                        + " is a " + kind(e.getKey()));
            }
            if (!(e.getValue() instanceof RawTensor t)) {
                throw new CheckpointException(what + ": expected a state dict, but entry '" + name + "' is a " + kind(e.getValue()));
            }
            out.put(name, t);
        }
        return out;
    }

    /** The Python-side kind of a tree node, for messages. */
    private static String kind(Object o) {
        if (o == null) return "None";
        if (o instanceof Placeholder p) return "placeholder for " + p.global();
        if (o instanceof Map<?, ?>) return "dict";
        if (o instanceof List<?>) return "list";
        if (o instanceof Tuple) return "tuple";
        if (o instanceof String) return "str";
        if (o instanceof Long || o instanceof java.math.BigInteger) return "int";
        if (o instanceof Double) return "float";
        if (o instanceof Boolean) return "bool";
        if (o instanceof RawTensor) return "tensor";
        return o.getClass().getSimpleName();
    }

    private static Object open(Path file, boolean reportGlobals) {
        String label = file.toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            checkMagic(ch, label);
            ZipIndex zip = ZipIndex.read(ch, label);
            if (zip.entries().isEmpty()) throw new CheckpointException(label + ": empty zip archive, not a PyTorch checkpoint");
            // The archive folder is whatever the first entry lives in (archive/, or the file's base name, ...).
            String first = zip.entries().get(0).name();
            int slash = first.indexOf('/');
            if (slash <= 0) throw new CheckpointException(label + ": not a PyTorch checkpoint (zip entry '" + first + "' is not inside an archive folder)");
            String prefix = first.substring(0, slash + 1);
            ZipIndex.Entry pkl = zip.get(prefix + "data.pkl");
            if (zip.get(prefix + "constants.pkl") != null
                    || zip.entries().stream().anyMatch(e -> e.name().startsWith(prefix + "code/"))) {
                throw new CheckpointException(label + ": TorchScript archive (torch.jit.save), not a checkpoint: save the model's state_dict() with torch.save instead");
            }
            if (pkl == null) throw new CheckpointException(label + ": not a PyTorch checkpoint (no " + prefix + "data.pkl in the zip)");
            byte[] pickle = zip.readBytes(pkl);
            if (reportGlobals) return TorchUnpickler.globals(label, pickle);

            boolean bigEndian = false;
            ZipIndex.Entry order = zip.get(prefix + "byteorder"); // absent before torch ~1.13/2.0: little-endian
            if (order != null) {
                String s = new String(zip.readBytes(order), StandardCharsets.US_ASCII).trim();
                if (s.equals("big")) {
                    bigEndian = true;
                } else if (!s.equals("little")) {
                    throw new CheckpointException(label + ": unknown byte order '" + s + "' in " + order.name());
                }
            }
            return TorchUnpickler.load(label, pickle, (key, nbytes) -> {
                String name = prefix + "data/" + key;
                ZipIndex.Entry e = zip.get(name);
                if (e == null) throw new CheckpointException(label + ": storage '" + key + "' has no record " + name + " in the zip");
                if (e.size() != nbytes) {
                    throw new CheckpointException(label + ": storage '" + key + "' record " + name + " has " + e.size()
                            + " bytes but its persistent id declares " + nbytes + " bytes (numel x element size)");
                }
                return zip.map(e);
            }, bigEndian, 2 * ch.size());
        } catch (NoSuchFileException e) {
            throw new CheckpointException(label + ": file not found", e);
        } catch (IOException e) {
            throw new CheckpointException(label + ": read error: " + AtomicWrite.describe(e), e);
        }
    }

    /** Recognizes the other things people pass as checkpoints, to reject them with a useful message. */
    private static void checkMagic(FileChannel ch, String label) throws IOException {
        long size = ch.size();
        if (size < 4) throw new CheckpointException(label + ": truncated or empty file (" + size + " bytes), not a PyTorch checkpoint");
        ByteBuffer head = ZipIndex.readAt(ch, 0, (int) Math.min(size, 512));
        if (head.getInt(0) == 0x04034b50) return; // "PK\3\4", what torch itself checks
        int b0 = head.get(0) & 0xff;
        int b1 = head.get(1) & 0xff;
        if (b0 == 0x80 && b1 >= 2 && b1 <= 5) {
            throw new CheckpointException(label + ": legacy PyTorch (<1.6) format: re-save with torch>=1.6 or convert to safetensors");
        }
        if (head.limit() >= 262 && new String(bytes(head, 257, 5), StandardCharsets.US_ASCII).equals("ustar")) {
            throw new CheckpointException(label + ": legacy tar-based PyTorch format: re-save with torch>=1.6 or convert to safetensors");
        }
        if (head.limit() >= 8 && new String(bytes(head, 0, 8), StandardCharsets.US_ASCII).equals("PYTORCH1")) {
            throw new CheckpointException(label + ": unsupported early PyTorch zip format (PYTORCH1): re-save with torch>=1.6");
        }
        if (head.limit() >= 9 && head.get(8) == '{') {
            throw new CheckpointException(label + ": this looks like a safetensors file, not a PyTorch checkpoint");
        }
        throw new CheckpointException(label + ": not a PyTorch checkpoint (no zip header)");
    }

    private static byte[] bytes(ByteBuffer b, int at, int n) {
        byte[] out = new byte[n];
        b.get(at, out);
        return out;
    }
}
