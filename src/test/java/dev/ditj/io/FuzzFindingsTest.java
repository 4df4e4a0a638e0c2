package dev.ditj.io;

import dev.ditj.DitjException;
import dev.ditj.api.GenerationDefaults;
import dev.ditj.weights.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The inputs on which the fuzz tests found defects (kept as found_* next to their seeds, where the fuzz tests also
 * replay them), each with the clean one-line error it now gets. Before the fixes these threw NumberFormatException,
 * UnsupportedOperationException, IllegalStateException, showed Gson's advice and link over two lines or Java
 * exception names, echoed raw newlines, allocated 100 MB for a 716-byte file, or let a pickle mark into the tree.
 * The review_*, view_* and shared_tuple_key inputs are defects found by review while writing the harness, which the
 * fuzzer had not reached within its CI budget; they are seeds now.
 */
class FuzzFindingsTest {
    @TempDir
    Path tmp;

    // ---------------------------------------------------------------- safetensors and ditj model files

    @Test
    void safetensorsHeaderThatIsNotJson() throws IOException {
        // the reported defect: "Use JsonReader.setStrictness(Strictness.LENIENT) ..." and a link to Gson's guide
        Path f = input("SafeTensorsFuzzTestInputs/open/found_header_not_json.safetensors");
        assertMessage(f + ": header is not valid JSON (unterminated object at line 1 column 2282)",
                CheckpointException.class, () -> SafeTensors.open(f));
        Path eof = input("SafeTensorsFuzzTestInputs/open/found_header_end_of_input.safetensors");
        assertMessage(eof + ": header is not valid JSON (end of input at line 1 column 2303)",
                CheckpointException.class, () -> SafeTensors.open(eof));
    }

    @Test
    void modelFileWhoseConfigIsNotJson() throws IOException {
        Path f = input("SafeTensorsFuzzTestInputs/open/found_config_not_json.safetensors");
        assertMessage(f + ": model config: not valid JSON (expected name at line 2 column 19)",
                DitjException.class, () -> SafeTensorsFuzzTest.loadModelMetadata(f));
    }

    @Test
    void modelFileWhoseConfigIsInconsistent() throws IOException {
        Path f = input("SafeTensorsFuzzTestInputs/open/found_config_patch_mismatch.safetensors");
        assertMessage(f + ": DiT config: input_size 5 is not a multiple of patch_size 2",
                DitjException.class, () -> SafeTensorsFuzzTest.loadModelMetadata(f));
    }

    // ---------------------------------------------------------------- .npy

    @Test
    void npyHeaderWithANewlineStaysOneLine() throws IOException {
        Path f = input("NpyFuzzTestInputs/read/found_header_newline.npy");
        String m = assertMessage(null, CheckpointException.class, () -> Npy.read(f));
        assertTrue(m.startsWith(f + ": bad .npy header (expected ':' at position 15): {'desc\\u0098"), m);
        assertTrue(m.endsWith("\\n3,), }"), m);
    }

    // ---------------------------------------------------------------- torch zip

    @Test
    void zipEntryClaimingMoreThanDeflateCanExpand() throws IOException {
        Path f = input("TorchZipFuzzTestInputs/read/found_deflate_size_claim.pt");
        assertMessage(f + ": corrupt zip (entry weights v1/data.pkl claims 101010256 bytes from 225 compressed bytes)",
                CheckpointException.class, () -> TorchCheckpoint.read(f));
    }

    @Test
    void zipEntryNameWithANewlineStaysOneLine() throws IOException {
        Path f = input("TorchZipFuzzTestInputs/read/found_entry_name_newline.pt");
        assertMessage(f + ": corrupt zip (bad extra field in entry bad_vtorage\\nq\\u0005X\\u0001\\u0000\\u0000)",
                CheckpointException.class, () -> TorchCheckpoint.read(f));
    }

    // ---------------------------------------------------------------- data.pkl (TorchPickleFuzzTest's framed inputs)

    @Test
    void pickleWithABadIntegerLine() throws IOException {
        Path f = framed("found_bad_int.framed"); // was: java.lang.NumberFormatException: For input string: ...
        assertMessage(f + ": corrupt data.pkl: malformed pickle (opcode 0x70 at byte 168)",
                CheckpointException.class, () -> TorchCheckpoint.read(f));
    }

    @Test
    void pickleStackUnderflowWhenListingGlobals() throws IOException {
        Path f = framed("found_stack_underflow.framed"); // was: java.lang.IndexOutOfBoundsException: Index -1 ...
        assertMessage(f + ": corrupt data.pkl: malformed pickle (opcode 0x62 at byte 219)",
                CheckpointException.class, () -> TorchCheckpoint.globals(f));
    }

    @Test
    void pickleMarkUsedAsAValue() throws IOException {
        Path f = framed("found_mark_as_value.framed"); // was: a bare java.lang.Object inside the returned tree
        assertMessage(f + ": corrupt data.pkl: stack underflow (a mark used as a value) (opcode at byte 32)",
                CheckpointException.class, () -> TorchCheckpoint.read(f));
    }

    @Test
    void picklePersistentIdIsShownBriefly() throws IOException {
        Path f = framed("found_persistent_id_echo.framed"); // was: the whole id, raw bytes and newlines included
        String m = assertMessage(null, CheckpointException.class, () -> TorchCheckpoint.read(f));
        assertTrue(m.startsWith(f + ": unsupported persistent id ')R\\u0094(") && m.endsWith("...' in data.pkl"), m);
    }

    @Test
    void pickleGlobalNameWithControlCharactersStaysOneLine() throws IOException {
        Path f = framed("found_global_name_newline.framed");
        String m = assertMessage(null, CheckpointException.class, () -> TorchCheckpoint.read(f));
        assertTrue(m.startsWith(f + ": refusing pickle global 'collectio\\u0003\\u0087q\\u000bK"), m);
    }

    // ---------------------------------------------------------------- found by review (see the class comment)

    @Test
    void viewWhoseStrideOverflows() throws IOException {
        Path f = input("TorchZipFuzzTestInputs/read/view_stride_overflow.pt"); // was: silently [1, 1, 1]
        assertMessage(f + ": tensor view of storage '0': view (offset 0, size [3], stride [4611686018427387904]) reaches "
                + "element 9223372036854775807 of a storage of 4 elements", CheckpointException.class, () -> TorchCheckpoint.read(f));
    }

    @Test
    void expandedViewLargerThanTheFileAllows() throws IOException {
        Path f = input("TorchZipFuzzTestInputs/read/view_expanded.pt"); // was: a 400 MB copy from a 649-byte file
        assertMessage(f + ": tensor view of storage '0': strided view (size [100000000], stride [0]) needs a 400000000-byte "
                + "copy, more than the file allows (copies of views may total twice the file size); save contiguous tensors",
                CheckpointException.class, () -> TorchCheckpoint.read(f));
    }

    @Test
    void modelFileWithoutTensors() throws IOException {
        Path f = input("SafeTensorsFuzzTestInputs/open/review_model_without_tensors.safetensors"); // was: index error
        assertMessage(f + ": model file holds no tensors", DitjException.class, () -> SafeTensorsFuzzTest.loadModelMetadata(f));
    }

    @Test
    @Timeout(20)
    void dictKeyThatSharesOneTupleExponentiallyOften() throws IOException {
        Path f = input("TorchZipFuzzTestInputs/read/shared_tuple_key.pt"); // was: hashing the key ran for hours
        assertMessage(f + ": corrupt data.pkl: unsupported dict key or set member: a tuple holding a Tuple (opcode at byte 333)",
                CheckpointException.class, () -> TorchCheckpoint.read(f));
    }

    // ---------------------------------------------------------------- config JSON (ConfigJsonFuzzTest's inputs)

    @Test
    void configsThatAreNotJson() throws IOException {
        String advice = json("found_gson_advice.json"); // was: Gson's setStrictness advice and link, two lines
        assertMessage("m.safetensors: model config: not valid JSON (malformed JSON at line 1 column 9)",
                DitjException.class, () -> ModelFiles.parseDitConfig(advice, "m.safetensors"));
        assertMessage("m.safetensors: bad generation defaults: not valid JSON (malformed JSON at line 1 column 9)",
                DitjException.class, () -> GenerationDefaults.parse(advice, "m.safetensors"));
        String eof = json("found_end_of_input.json"); // was: java.io.EOFException: End of input ...
        assertMessage("m.safetensors: model config: not valid JSON (end of input at line 3 column 17)",
                DitjException.class, () -> ModelFiles.parseVaeConfig(eof, "m.safetensors"));
    }

    @Test
    void configFieldsOfTheWrongType() throws IOException {
        String spaced = json("found_number_with_space.json"); // was: NumberFormatException
        assertMessage("m.safetensors: model config 'hidden_size' must be an integer, got \"\\u00001152\"",
                DitjException.class, () -> ModelFiles.parseDitConfig(spaced, "m.safetensors"));
        String nul = json("found_null_field.json"); // was: UnsupportedOperationException: JsonNull
        assertMessage("m.safetensors: model config 'latents_mean' must be a finite number, got null",
                DitjException.class, () -> ModelFiles.parseVaeConfig(nul, "m.safetensors"));
        String notArray = json("found_channels_not_array.json"); // was: IllegalStateException: Not a JSON Array
        assertMessage("m.safetensors: model config 'block_out_channels' must be an array of integers",
                DitjException.class, () -> ModelFiles.parseVaeConfig(notArray, "m.safetensors"));
    }

    @Test
    void configErrorsNameTheFile() throws IOException {
        String heads = json("found_heads_not_dividing.json");
        assertMessage("m.safetensors: DiT config: hidden_size 1151 is not a multiple of num_heads 16",
                DitjException.class, () -> ModelFiles.parseDitConfig(heads, "m.safetensors"));
        String mean = json("found_latents_mean_count.json");
        assertMessage("m.safetensors: VAE config: latents_mean/latents_std must have 4 entries",
                DitjException.class, () -> ModelFiles.parseVaeConfig(mean, "m.safetensors"));
        String sampler = json("found_unknown_sampler.json");
        assertMessage("m.safetensors: bad generation defaults: sampler 'dpm2pmp' is unknown: use ddpm, ddim or dpmpp2m "
                        + "(DiT), euler, heun, dopri5 or euler-maruyama (SiT)",
                DitjException.class, () -> GenerationDefaults.parse(sampler, "m.safetensors"));
    }

    // ---------------------------------------------------------------- helpers

    /** Checks type, one line and (when given) the exact message; returns the message. */
    private static String assertMessage(String expected, Class<? extends DitjException> type, Executable parse) {
        String m = assertThrows(type, parse).getMessage();
        assertFalse(m.contains("\n") || m.contains("\r"), m);
        if (expected != null) assertEquals(expected, m);
        return m;
    }

    /** A fuzz input from the classpath, copied to a file. */
    private Path input(String path) throws IOException {
        Path p = tmp.resolve(path.substring(path.lastIndexOf('/') + 1));
        Files.write(p, bytes("/dev/ditj/io/" + path));
        return p;
    }

    /** A TorchPickleFuzzTest input written as the torch zip that test makes of it. */
    private Path framed(String name) throws IOException {
        byte[] data = bytes("/dev/ditj/io/TorchPickleFuzzTestInputs/read/" + name);
        return TorchPickleFuzzTest.zip(data, tmp.resolve(name.replace(".framed", ".pt")));
    }

    private static String json(String name) throws IOException {
        return new String(bytes("/dev/ditj/convert/ConfigJsonFuzzTestInputs/parse/" + name), StandardCharsets.UTF_8);
    }

    private static byte[] bytes(String resource) throws IOException {
        try (InputStream in = FuzzFindingsTest.class.getResourceAsStream(resource)) {
            if (in == null) throw new IOException("missing test resource " + resource);
            return in.readAllBytes();
        }
    }
}
