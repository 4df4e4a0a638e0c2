package dev.ditj.convert;

import com.google.gson.JsonObject;
import dev.ditj.DitjException;
import dev.ditj.io.CheckpointException;
import dev.ditj.io.Placeholder;
import dev.ditj.io.RawTensor;
import dev.ditj.io.SafeTensors;
import dev.ditj.io.TorchCheckpoint;
import dev.ditj.weights.ModelFiles;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The weights of a checkpoint to convert, whatever its container: a torch.save zip (.pt/.ckpt/.bin, read without
 * executing code), a .safetensors file, or a diffusers model folder (config.json + weights). Picks the weight
 * dictionary the way the official loaders do: the top level when it is a state dict, else {@code "ema"} (DiT
 * training checkpoints), else {@code "state_dict"} (Lightning / SD checkpoints).
 *
 * @param tensors   name → tensor, in file order
 * @param container "torch-zip", "safetensors" or "diffusers-folder"
 * @param nesting   where the state dict was found ("" top level, "ema", "state_dict")
 * @param config    a diffusers config.json next to the weights, or null
 * @param weightsFile the file the tensors came from
 * @param trainingArgs the fields of a training checkpoint's {@code "args"} ({@code argparse.Namespace}, as DiT's and
 *                     SiT's train.py save it; inert data, never executed), or null
 */
record SourceCheckpoint(Map<String, RawTensor> tensors, String container, String nesting, JsonObject config,
                        Path weightsFile, Map<?, ?> trainingArgs) {

    static SourceCheckpoint read(Path input) {
        if (Files.isDirectory(input)) return readDiffusersFolder(input);
        if (!Files.isRegularFile(input)) throw new DitjException(input + ": no such file or directory");
        byte[] magic = new byte[4];
        try (InputStream in = Files.newInputStream(input)) {
            int n = in.readNBytes(magic, 0, 4);
            if (n < 4) throw new CheckpointException(input + ": file too short to be a checkpoint (" + n + " bytes)");
        } catch (IOException e) {
            throw new DitjException(input + ": cannot read: " + e.getMessage(), e);
        }
        if (magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4) return readTorch(input, null);
        return readSafetensors(input, null);
    }

    private static SourceCheckpoint readSafetensors(Path file, JsonObject config) {
        try (SafeTensors.Reader r = SafeTensors.open(file)) {
            if (r.metadata().containsKey(ModelFiles.FORMAT_KEY)) {
                throw new DitjException(file + ": is already a ditj model file; nothing to convert");
            }
            Map<String, RawTensor> tensors = new LinkedHashMap<>();
            for (String name : r.names()) tensors.put(name, copy(r.get(name)));
            return new SourceCheckpoint(tensors, "safetensors", "", config, file, null);
        }
    }

    /** Detaches a tensor from a memory-mapped file that is about to be closed. */
    private static RawTensor copy(RawTensor t) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(t.data().remaining()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(t.data().duplicate());
        b.flip();
        return new RawTensor(t.dtype(), t.shape(), b);
    }

    private static SourceCheckpoint readTorch(Path file, JsonObject config) {
        Object tree = TorchCheckpoint.read(file);
        String nesting = "";
        Object dict = tree;
        Map<?, ?> args = null;
        if (tree instanceof Map<?, ?> top && !isStateDict(top)) {
            if (top.get("args") instanceof Placeholder p && p.global().equals("argparse.Namespace")
                    && p.state() instanceof Map<?, ?> fields) {
                args = fields;
            }
            if (top.get("ema") instanceof Map<?, ?>) {
                dict = top.get("ema");
                nesting = "ema";
            } else if (top.get("state_dict") instanceof Map<?, ?>) {
                dict = top.get("state_dict");
                nesting = "state_dict";
            } else {
                throw new DitjException(file + ": no weights found: expected a state dict, or a dict with 'ema' or "
                        + "'state_dict'; top-level keys are " + top.keySet());
            }
        }
        return new SourceCheckpoint(TorchCheckpoint.tensorMap(dict, file + (nesting.isEmpty() ? "" : "['" + nesting + "']")),
                "torch-zip", nesting, config, file, args);
    }

    /** A state dict maps names to tensors only (a training checkpoint's top level holds dicts). */
    private static boolean isStateDict(Map<?, ?> m) {
        if (m.isEmpty()) return false;
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getKey() instanceof String) || !(e.getValue() instanceof RawTensor)) return false;
        }
        return true;
    }

    private static SourceCheckpoint readDiffusersFolder(Path dir) {
        Path folder = dir;
        if (!Files.isRegularFile(folder.resolve("config.json")) && Files.isRegularFile(dir.resolve("vae/config.json"))) {
            folder = dir.resolve("vae"); // a whole pipeline folder: take its VAE
        }
        Path configFile = folder.resolve("config.json");
        if (!Files.isRegularFile(configFile)) {
            throw new DitjException(dir + ": not a diffusers model folder (no config.json)");
        }
        JsonObject config = Converter.readJson(configFile);
        Path st = folder.resolve("diffusion_pytorch_model.safetensors");
        Path bin = folder.resolve("diffusion_pytorch_model.bin");
        if (Files.isRegularFile(st)) return withContainer(readSafetensors(st, config), "diffusers-folder");
        if (Files.isRegularFile(bin)) return withContainer(readTorch(bin, config), "diffusers-folder");
        throw new DitjException(folder + ": no diffusion_pytorch_model.safetensors or .bin next to config.json");
    }

    private static SourceCheckpoint withContainer(SourceCheckpoint s, String container) {
        return new SourceCheckpoint(s.tensors, container, s.nesting, s.config, s.weightsFile, s.trainingArgs);
    }
}
