package dev.ditj.io;

import dev.ditj.api.ClassGroup;
import dev.ditj.api.GenerationDefaults;
import dev.ditj.api.SamplerKind;
import dev.ditj.convert.Converter;
import dev.ditj.model.DitConfig;
import dev.ditj.model.VaeConfig;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.Shape;
import dev.ditj.weights.ModelFiles;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Writes the seed corpora of the fuzz tests (small valid files of each format, src/test/resources/.../*FuzzTestInputs)
 * from the writers in this repository and the synthetic torch files of make_synthetic_pt.py. Deterministic; run
 * from the repository root after changing a format: {@code java -cp target/classes:target/test-classes:<deps>
 * dev.ditj.io.FuzzSeeds}. Findings the fuzzer writes next to the seeds are kept, not touched here.
 */
public final class FuzzSeeds {
    private static final Path RESOURCES = Path.of("src/test/resources/dev/ditj");

    private FuzzSeeds() {
    }

    public static void main(String[] args) throws IOException {
        safetensors(dir("io/SafeTensorsFuzzTestInputs/open"));
        npy(dir("io/NpyFuzzTestInputs/read"));
        torch(dir("io/TorchZipFuzzTestInputs/read"), dir("io/TorchPickleFuzzTestInputs/read"));
        json(dir("convert/ConfigJsonFuzzTestInputs/parse"));
    }

    private static Path dir(String path) throws IOException {
        return Files.createDirectories(RESOURCES.resolve(path));
    }

    static final DitConfig TINY_DIT = new DitConfig(2, 4, 2, 8, 1, 2, 2.0, 3, true);
    static final VaeConfig TINY_VAE = new VaeConfig(2, 3, new int[] {4}, 0, 2, true, true, 0.5,
            new double[] {0.25, -0.5}, new double[] {1.5, 2.0});

    private static void safetensors(Path out) {
        Map<String, String> dit = new LinkedHashMap<>();
        dit.put(ModelFiles.FORMAT_KEY, ModelFiles.FORMAT_VERSION);
        dit.put(ModelFiles.KIND_KEY, ModelFiles.KIND_DIT);
        dit.put(ModelFiles.CONFIG_KEY, ModelFiles.ditConfigJson(TINY_DIT));
        dit.put(ModelFiles.CLASS_NAMES_KEY, ModelFiles.classNamesJson(List.of("cat", "dog", "emoji \u2603")));
        dit.put(ModelFiles.CLASS_GROUPS_KEY, ModelFiles.classGroupsJson(List.of(new ClassGroup("pets", new int[] {0, 1},
                new double[] {1, 2.5}))));
        dit.put(ModelFiles.GENERATE_DEFAULTS_KEY, new GenerationDefaults(SamplerKind.DDIM, 10, 3.5f, Integer.MAX_VALUE, 2).toJson());
        SafeTensors.write(out.resolve("dit_tiny_f16.safetensors"), values(Converter.expectedTensors(TINY_DIT), DType.F16), dit);

        Map<String, String> vae = new LinkedHashMap<>();
        vae.put(ModelFiles.FORMAT_KEY, ModelFiles.FORMAT_VERSION);
        vae.put(ModelFiles.KIND_KEY, ModelFiles.KIND_VAE);
        vae.put(ModelFiles.CONFIG_KEY, ModelFiles.vaeConfigJson(TINY_VAE));
        SafeTensors.write(out.resolve("vae_tiny_bf16.safetensors"), values(Converter.expectedTensors(TINY_VAE), DType.BF16), vae);
        SafeTensors.write(out.resolve("review_model_without_tensors.safetensors"), Map.of(), dit); // `ditj info` crashed

        Map<String, RawTensor> mixed = new LinkedHashMap<>();
        float[] v = {1f, -2.5f, 3.25f, 1e-8f, 65504f, -0f};
        mixed.put("f32", RawTensor.ofFloats(v, Shape.of(2, 3), DType.F32));
        mixed.put("f16", RawTensor.ofFloats(v, Shape.of(6), DType.F16));
        mixed.put("f64", RawTensor.ofFloats(v, Shape.of(3, 2), DType.F64));
        mixed.put("ids", RawTensor.ofLongs(new long[] {1, -2, Long.MAX_VALUE}, Shape.of(3)));
        mixed.put("i32", RawTensor.ofInts(new int[] {7, -7}, Shape.of(1, 2)));
        mixed.put("pix", RawTensor.ofBytes(new byte[] {0, 127, (byte) 255}, Shape.of(1, 3)));
        mixed.put("scalar", RawTensor.ofFloats(new float[] {7f}, Shape.of(), DType.F32));
        mixed.put("empty", RawTensor.ofFloats(new float[0], Shape.of(0, 5), DType.F32));
        SafeTensors.write(out.resolve("mixed_dtypes.safetensors"), mixed, Map.of("format", "pt"));
    }

    /** Small deterministic values of the given shapes. */
    private static Map<String, RawTensor> values(Map<String, int[]> shapes, DType dtype) {
        Map<String, RawTensor> out = new LinkedHashMap<>();
        int[] k = {0};
        shapes.forEach((name, dims) -> {
            Shape s = Shape.of(dims);
            float[] x = new float[s.size()];
            for (int i = 0; i < x.length; i++) x[i] = ((k[0]++ * 37) % 17 - 8) / 16f;
            out.put(name, RawTensor.ofFloats(x, s, dtype));
        });
        return out;
    }

    private static void npy(Path out) throws IOException {
        Npy.write(out.resolve("f4_2x3.npy"), RawTensor.ofFloats(new float[] {0, 1, -2, 3.5f, 1e30f, -0f}, Shape.of(2, 3), DType.F32));
        Npy.write(out.resolve("i8_3.npy"), RawTensor.ofLongs(new long[] {0, 500, 999}, Shape.of(3)));
        Npy.write(out.resolve("u1_2x2x3.npy"), RawTensor.ofBytes(new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, (byte) 255}, Shape.of(2, 2, 3)));
        Npy.write(out.resolve("f2_scalar.npy"), RawTensor.ofFloats(new float[] {0.5f}, Shape.of(), DType.F16));
        // what numpy writes that Npy.write does not: big-endian data, version 2.0/3.0 headers, bool, int16
        Files.write(out.resolve("big_endian_f8_v2.npy"), npyBytes(2, "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }",
                ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN).putDouble(1.5).putDouble(-3).array()));
        Files.write(out.resolve("b1_v3.npy"), npyBytes(3, "{\"descr\": \"|b1\", \"fortran_order\": False, \"shape\": (1, 3)}",
                new byte[] {1, 0, 1}));
        Files.write(out.resolve("i2_python2_long.npy"), npyBytes(1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2L,), }",
                new byte[] {1, 0, (byte) 0xff, (byte) 0xff}));
    }

    /** A .npy of format version {@code major} with the given header dict and data (header padded like numpy). */
    private static byte[] npyBytes(int major, String dict, byte[] data) throws IOException {
        int lenBytes = major == 1 ? 2 : 4;
        StringBuilder h = new StringBuilder(dict);
        while ((8 + lenBytes + h.length() + 1) % 64 != 0) h.append(' ');
        h.append('\n');
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        ByteBuffer len = ByteBuffer.allocate(lenBytes).order(ByteOrder.LITTLE_ENDIAN);
        if (lenBytes == 2) len.putShort((short) h.length()); else len.putInt(h.length());
        b.write(len.array());
        b.write(h.toString().getBytes(StandardCharsets.UTF_8));
        b.write(data);
        return b.toByteArray();
    }

    /**
     * Raw seeds: the synthetic torch files as they are. Pickle seeds: their entries in the framed form of
     * TorchPickleFuzzTest (data.pkl, then the storage records in key order, joined by its separator).
     */
    private static void torch(Path raw, Path framed) throws IOException {
        Path io = RESOURCES.resolve("io");
        for (String name : List.of("train_proto2.pt", "proto1_deflated.pt", "proto4_views.pt", "proto5_bigendian.pt",
                "bad_view.pt", "torchscript.pt", "view_stride_overflow.pt", "view_expanded.pt", "shared_tuple_key.pt")) {
            Files.copy(io.resolve(name), raw.resolve(name), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            if (!name.startsWith("proto") && !name.startsWith("train") && !name.startsWith("bad")) continue;
            byte[] pkl = null;
            Map<Integer, byte[]> records = new TreeMap<>();
            try (ZipFile z = new ZipFile(io.resolve(name).toFile())) {
                for (Enumeration<? extends ZipEntry> en = z.entries(); en.hasMoreElements(); ) {
                    ZipEntry e = en.nextElement();
                    String entry = e.getName().substring(e.getName().indexOf('/') + 1);
                    byte[] bytes = z.getInputStream(e).readAllBytes();
                    if (entry.equals("data.pkl")) pkl = bytes;
                    if (entry.startsWith("data/")) records.put(Integer.parseInt(entry.substring(5)), bytes);
                }
            }
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            b.write(pkl);
            for (byte[] r : records.values()) {
                b.write(TorchPickleFuzzTest.SEPARATOR);
                b.write(r);
            }
            Files.write(framed.resolve(name.replace(".pt", ".framed")), b.toByteArray());
        }
    }

    private static void json(Path out) throws IOException {
        write(out.resolve("dit_config_tiny.json"), ModelFiles.ditConfigJson(TINY_DIT));
        write(out.resolve("dit_config_xl2.json"), ModelFiles.ditConfigJson(new DitConfig(4, 32, 2, 1152, 28, 16, 4.0, 1000, true)));
        write(out.resolve("vae_config_tiny.json"), ModelFiles.vaeConfigJson(TINY_VAE));
        write(out.resolve("class_names.json"), ModelFiles.classNamesJson(List.of("tench", "goldfish", "great white shark")));
        write(out.resolve("generation_defaults.json"), new GenerationDefaults(SamplerKind.DPMPP2M, 20, 1.5f, 3, 4).toJson());
        // a diffusers AutoencoderKL config.json (the SD VAE's fields), as the converter reads it from a model folder
        write(out.resolve("diffusers_vae_config.json"), """
                {
                  "_class_name": "AutoencoderKL",
                  "_diffusers_version": "0.30.0",
                  "act_fn": "silu",
                  "block_out_channels": [128, 256, 512, 512],
                  "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
                  "force_upcast": true,
                  "in_channels": 3,
                  "latent_channels": 4,
                  "latents_mean": null,
                  "latents_std": null,
                  "layers_per_block": 2,
                  "mid_block_add_attention": true,
                  "norm_num_groups": 32,
                  "out_channels": 3,
                  "sample_size": 512,
                  "scaling_factor": 0.18215,
                  "shift_factor": null,
                  "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
                  "use_post_quant_conv": true,
                  "use_quant_conv": true
                }
                """);
    }

    private static void write(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }
}
