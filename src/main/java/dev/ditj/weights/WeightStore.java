package dev.ditj.weights;

import dev.ditj.DitjException;
import dev.ditj.api.ClassGroup;
import dev.ditj.io.SafeTensors;
import dev.ditj.model.DitConfig;
import dev.ditj.model.ModelFamily;
import dev.ditj.model.VaeConfig;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Shape;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A ditj model file opened for loading: tensors by name as float32 with their shapes checked, the model kind and
 * config from the metadata. The engine loads nothing else; {@code ditj convert} makes these files.
 */
public final class WeightStore implements AutoCloseable {
    private final Path file;
    private final Source reader;
    private final Map<String, String> metadata;
    private final Set<String> used = new HashSet<>();

    /** Where the tensors come from: a file, or memory (benchmarks and tests). */
    private interface Source extends AutoCloseable {
        List<String> names();

        boolean contains(String name);

        Shape shape(String name);

        DType dtype(String name);

        float[] floats(String name);

        @Override
        void close();
    }

    private WeightStore(Path file, Source reader, Map<String, String> metadata) {
        this.file = file;
        this.reader = reader;
        this.metadata = metadata;
    }

    /** Weights held in memory, with the metadata a file would carry (kind, config, ...). */
    public static WeightStore inMemory(Map<String, HostTensor> tensors, Map<String, String> metadata) {
        Map<String, HostTensor> copy = new java.util.LinkedHashMap<>(tensors);
        Source src = new Source() {
            public List<String> names() { return List.copyOf(copy.keySet()); }
            public boolean contains(String name) { return copy.containsKey(name); }
            public Shape shape(String name) { return copy.get(name).shape(); }
            public DType dtype(String name) { return DType.F32; }
            public float[] floats(String name) { return copy.get(name).data(); }
            public void close() { }
        };
        return new WeightStore(Path.of("<memory>"), src, Map.copyOf(metadata));
    }

    /** The file's tensors; int8 ones ({@link Int8Rows}) are dequantised and their scale tensors are not listed. */
    private static Source fileSource(Path file, SafeTensors.Reader r) {
        List<String> names = r.names().stream().filter(n -> !isInt8Scale(r, n)).toList();
        return new Source() {
            public List<String> names() { return names; }
            public boolean contains(String name) { return r.contains(name) && !isInt8Scale(r, name); }
            public Shape shape(String name) { return r.shape(name); }
            public DType dtype(String name) { return r.dtype(name); }
            public float[] floats(String name) {
                if (r.dtype(name) != DType.I8) return r.get(name).toFloats();
                String scale = name + Int8Rows.SCALE_SUFFIX;
                if (!r.contains(scale)) {
                    throw new DitjException(file + ": int8 tensor '" + name + "' has no per-row scales '" + scale + "'");
                }
                return Int8Rows.dequantize(r.get(name), r.get(scale), file + ": tensor '" + name + "'");
            }
            public void close() { r.close(); }
        };
    }

    private static boolean isInt8Scale(SafeTensors.Reader r, String name) {
        if (!name.endsWith(Int8Rows.SCALE_SUFFIX)) return false;
        String base = name.substring(0, name.length() - Int8Rows.SCALE_SUFFIX.length());
        return r.contains(base) && r.dtype(base) == DType.I8;
    }

    public static WeightStore open(Path file) {
        if (!Files.isRegularFile(file)) throw new DitjException(file + ": no such model file");
        SafeTensors.Reader reader = SafeTensors.open(file);
        Map<String, String> md = reader.metadata();
        if (!ModelFiles.FORMAT_VERSION.equals(md.get(ModelFiles.FORMAT_KEY)) || !md.containsKey(ModelFiles.KIND_KEY)) {
            reader.close();
            throw new DitjException(file + ": not a ditj model file (no ditj metadata); convert the checkpoint first: "
                    + "ditj convert " + file + " -o model.safetensors");
        }
        return new WeightStore(file, fileSource(file, reader), md);
    }

    public Path file() {
        return file;
    }

    public String kind() {
        return metadata.get(ModelFiles.KIND_KEY);
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public DitConfig ditConfig() {
        requireKind(ModelFiles.KIND_DIT);
        return ModelFiles.parseDitConfig(metadata.get(ModelFiles.CONFIG_KEY), file.toString());
    }

    /** What the DiT-architecture network of this file is (DiT for files without the family key). */
    public ModelFamily family() {
        requireKind(ModelFiles.KIND_DIT);
        String f = metadata.get(ModelFiles.FAMILY_KEY);
        return f == null ? ModelFamily.DIT : ModelFamily.parse(f, file + ": " + ModelFiles.FAMILY_KEY);
    }

    public VaeConfig vaeConfig() {
        requireKind(ModelFiles.KIND_VAE);
        return ModelFiles.parseVaeConfig(metadata.get(ModelFiles.CONFIG_KEY), file.toString());
    }

    /** Whether this VAE file holds {@code part} ({@link ModelFiles#VAE_ENCODER} or {@link ModelFiles#VAE_DECODER}). */
    public boolean hasVaePart(String part) {
        requireKind(ModelFiles.KIND_VAE);
        String parts = metadata.get(ModelFiles.VAE_PARTS_KEY);
        if (parts == null) return part.equals(ModelFiles.VAE_DECODER);
        List<String> list = List.of(parts.split(","));
        for (String p : list) {
            if (!p.equals(ModelFiles.VAE_ENCODER) && !p.equals(ModelFiles.VAE_DECODER)) {
                throw new DitjException(file + ": " + ModelFiles.VAE_PARTS_KEY + " '" + parts + "' names an unknown part '"
                        + p + "' (expected encoder and/or decoder)");
            }
        }
        return list.contains(part);
    }

    /** The model's own class names, or null (then ImageNet names apply to 1000-class models). */
    public List<String> classNames() {
        String json = metadata.get(ModelFiles.CLASS_NAMES_KEY);
        return json == null ? null : ModelFiles.parseClassNames(json, file.toString());
    }

    /** The model's named groups of classes ({@link ModelFiles#CLASS_GROUPS_KEY}); empty if it has none. */
    public List<ClassGroup> classGroups() {
        String json = metadata.get(ModelFiles.CLASS_GROUPS_KEY);
        return json == null ? List.of() : ModelFiles.parseClassGroups(json, file + ": " + ModelFiles.CLASS_GROUPS_KEY);
    }

    public void requireKind(String kind) {
        if (!kind.equals(kind())) {
            throw new DitjException(file + ": is a " + kind() + " model file, expected a " + kind + " model");
        }
    }

    public List<String> names() {
        return reader.names();
    }

    /** The dtype the weights are stored in: the first tensor's, or I8 when layer weights are int8 (the rest fp16). */
    public DType storedDtype() {
        if (reader.names().isEmpty()) throw new DitjException(file + ": model file holds no tensors");
        for (String name : reader.names()) if (reader.dtype(name) == DType.I8) return DType.I8;
        return reader.dtype(reader.names().get(0));
    }

    public long parameterCount() {
        long n = 0;
        for (String name : reader.names()) n += reader.shape(name).numel();
        return n;
    }

    /** Bytes of the weights as float32, the form the engine computes with (twice an fp16 file's data). */
    public long floatBytes() {
        return parameterCount() * Float.BYTES;
    }

    /** Java heap that loading takes at a time: a float32 copy of the largest tensor and one in the making. */
    public long loadingBytes() {
        long n = 0;
        for (String name : reader.names()) n = Math.max(n, reader.shape(name).numel());
        return 2 * n * Float.BYTES;
    }

    /** The tensor as float32, which must exist with exactly {@code expected} dims. */
    public HostTensor tensor(String name, int... expected) {
        if (!reader.contains(name)) throw new DitjException(file + ": missing tensor '" + name + "'");
        Shape shape = reader.shape(name);
        if (!Arrays.equals(shape.dims(), expected)) {
            throw new DitjException(file + ": tensor '" + name + "' has shape " + shape + ", expected "
                    + Arrays.toString(expected));
        }
        used.add(name);
        return new HostTensor(shape, reader.floats(name));
    }

    /** Fails if the file holds tensors the model did not read (a config/weights mismatch). */
    public void checkAllUsed() {
        for (String name : reader.names()) {
            if (!used.contains(name)) throw new DitjException(file + ": unexpected tensor '" + name + "'");
        }
    }

    @Override
    public void close() {
        reader.close();
    }
}
