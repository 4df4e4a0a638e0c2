package dev.ditj.convert;

import dev.ditj.DitjException;
import dev.ditj.Fixtures;
import dev.ditj.TestModels;
import dev.ditj.io.RawTensor;
import dev.ditj.io.TorchCheckpoint;
import dev.ditj.model.VaeConfig;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.Shape;
import dev.ditj.weights.ModelFiles;
import dev.ditj.weights.WeightStore;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** VA-VAE conversion: names, the inferred up-level attention, the latent statistics, the released shapes. */
class VaVaeConverterTest {
    private static long numel(int[] s) {
        return Arrays.stream(s).asLongStream().reduce(1, (a, b) -> a * b);
    }

    /**
     * The released VA-VAE's decode path, measured once from the official tokenizer/autoencoder.py
     * ({@code AutoencoderKL(embed_dim=32, ch_mult=(1, 1, 2, 2, 4))}, decoder.* and post_quant_conv.*): 196 tensors,
     * 41,418,659 parameters; below, every one of them but the ResNet norms/convs and up.4's attn.1/attn.2, with the
     * official names and shapes.
     */
    @Test
    void fullSizeDecoderHasTheOfficialStateDict() {
        VaeConfig full = new VaeConfig(32, 3, new int[] {128, 128, 256, 256, 512}, 2, 32, true, true, 1.0, null, null,
                new boolean[] {true, false, false, false, false});
        Map<String, int[]> e = Converter.expectedTensors(full);
        assertEquals(196, e.size());
        assertEquals(41_418_659L, e.values().stream().mapToLong(VaVaeConverterTest::numel).sum());
        String official = "decoder.conv_in.weight [512, 32, 3, 3], decoder.conv_in.bias [512], decoder.mid.attn_1.norm.weight [512], decoder.mid.attn_1.norm.bias [512], decoder.mid.attn_1.q.weight [512, 512, 1, 1], decoder.mid.attn_1.q.bias [512], decoder.mid.attn_1.k.weight [512, 512, 1, 1], decoder.mid.attn_1.k.bias [512], decoder.mid.attn_1.v.weight [512, 512, 1, 1], decoder.mid.attn_1.v.bias [512], decoder.mid.attn_1.proj_out.weight [512, 512, 1, 1], decoder.mid.attn_1.proj_out.bias [512], decoder.up.1.block.0.nin_shortcut.weight [128, 256, 1, 1], decoder.up.1.block.0.nin_shortcut.bias [128], decoder.up.1.upsample.conv.weight [128, 128, 3, 3], decoder.up.1.upsample.conv.bias [128], decoder.up.2.upsample.conv.weight [256, 256, 3, 3], decoder.up.2.upsample.conv.bias [256], decoder.up.3.block.0.nin_shortcut.weight [256, 512, 1, 1], decoder.up.3.block.0.nin_shortcut.bias [256], decoder.up.3.upsample.conv.weight [256, 256, 3, 3], decoder.up.3.upsample.conv.bias [256], decoder.up.4.attn.0.norm.weight [512], decoder.up.4.attn.0.norm.bias [512], decoder.up.4.attn.0.q.weight [512, 512, 1, 1], decoder.up.4.attn.0.q.bias [512], decoder.up.4.attn.0.k.weight [512, 512, 1, 1], decoder.up.4.attn.0.k.bias [512], decoder.up.4.attn.0.v.weight [512, 512, 1, 1], decoder.up.4.attn.0.v.bias [512], decoder.up.4.attn.0.proj_out.weight [512, 512, 1, 1], decoder.up.4.attn.0.proj_out.bias [512], decoder.up.4.upsample.conv.weight [512, 512, 3, 3], decoder.up.4.upsample.conv.bias [512], decoder.norm_out.weight [128], decoder.norm_out.bias [128], decoder.conv_out.weight [3, 128, 3, 3], decoder.conv_out.bias [3], post_quant_conv.weight [32, 32, 1, 1], post_quant_conv.bias [32]";
        for (String entry : official.split(", (?=[a-z])")) {
            String name = entry.substring(0, entry.indexOf(' '));
            int[] shape = Arrays.stream(entry.substring(entry.indexOf('[') + 1, entry.length() - 1).split(", "))
                    .mapToInt(Integer::parseInt).toArray();
            String ours = VaeLayout.fromLdm(name, 5);
            if (ours.matches(".*\\.attentions\\.\\d+\\.(to_q|to_k|to_v|to_out\\.0)\\.weight")) shape = Arrays.copyOf(shape, 2);
            assertTrue(e.containsKey(ours), name + " -> " + ours + " is not expected");
            assertArrayEquals(shape, e.get(ours), name + " -> " + ours);
        }
        assertEquals(3 * 10, e.keySet().stream().filter(k -> k.startsWith("decoder.up_blocks.0.attentions.")).count());
    }

    /**
     * The config from the shapes alone (no --vae-config), as for the released file: vavae_t's official names and
     * shapes with its channels 4, 8, 16 scaled by 8 so SD's default 32 GroupNorm groups fit (the latent's 32
     * channels, RGB and kernel sizes unscaled); zero-filled. Up block 0 (LDM's up.4) is found to have attention.
     */
    @Test
    void shapesTellWhichUpLevelsHaveAttention() {
        Map<String, RawTensor> ldm = new LinkedHashMap<>();
        TorchCheckpoint.tensorMap(((Map<?, ?>) TorchCheckpoint.read(Fixtures.file("vavae_t.pt"))).get("state_dict"), "vavae_t")
                .forEach((k, v) -> {
                    int[] d = v.shape().dims().clone();
                    for (int i = 0; i < Math.min(2, d.length); i++) if (d[i] == 4 || d[i] == 8 || d[i] == 16) d[i] *= 8;
                    ldm.put(k, RawTensor.ofFloats(new float[(int) numel(d)], Shape.of(d), DType.F32));
                });
        Map<String, RawTensor> ours = VaeLayout.toDiffusersNames(ldm, VaeLayout.layout(ldm), "vavae_t");
        VaeConfig c = VaeLayout.config(ours, null, "vavae_t");
        assertArrayEquals(new boolean[] {true, false, false, false, false}, c.upBlockAttention());
        assertArrayEquals(new int[] {32, 32, 64, 64, 128}, c.blockOutChannels());
        assertEquals(2, c.layersPerBlock());
        assertEquals(32, c.latentChannels());
        Map<String, int[]> expected = new LinkedHashMap<>(VaeLayout.expectedEncoder(c));
        expected.putAll(VaeLayout.expected(c));
        assertEquals(expected.keySet(), ours.keySet());   // loss, foundation model, projection dropped
        assertEquals(3 * 10 + 2 * 10, expected.keySet().stream().filter(k -> k.contains(".attentions.") && !k.contains("mid_block")).count());
        expected.forEach((k, s) -> assertArrayEquals(s, ours.get(k).shape().dims(), k));
    }

    @Test
    void convertedFileHoldsBothHalvesAndTheStatistics() {
        try (WeightStore w = WeightStore.open(TestModels.vavaeTiny())) {
            VaeConfig c = w.vaeConfig();
            assertArrayEquals(new boolean[] {true, false, false, false, false}, c.upBlockAttention());
            assertEquals(1.0, c.scalingFactor());
            Map<String, RawTensor> stats = TorchCheckpoint.tensorMap(TorchCheckpoint.read(Fixtures.file("vavae_t_latents_stats.pt")), "stats");
            float[] mean = stats.get("mean").toFloats(), std = stats.get("std").toFloats();
            for (int i = 0; i < 32; i++) {
                assertEquals(mean[i], c.latentsMean()[i], 0.0);
                assertEquals(std[i], c.latentsStd()[i], 0.0);
            }
            assertEquals(196 + 146, w.names().size());   // decoder + post_quant_conv, encoder + quant_conv
            assertTrue(w.hasVaePart(ModelFiles.VAE_ENCODER) && w.hasVaePart(ModelFiles.VAE_DECODER));
            assertTrue(w.names().stream().allMatch(n -> n.matches("(decoder|encoder|post_quant_conv|quant_conv)\\..*")),
                    w.names().toString());
            String json = w.metadata().get(ModelFiles.CONFIG_KEY);
            assertTrue(json.contains("\"up_block_types\": [\n    \"AttnUpDecoderBlock2D\",\n    \"UpDecoderBlock2D\""), json);
            assertEquals(c, ModelFiles.parseVaeConfig(json, "round trip"));
        }
        // SD files keep their JSON (no up_block_types), and a diffusers config.json's plain up blocks read as none
        try (WeightStore w = WeightStore.open(TestModels.vaeTiny())) {
            assertFalse(w.metadata().get(ModelFiles.CONFIG_KEY).contains("up_block_types"));
            assertFalse(w.vaeConfig().hasUpBlockAttention());
        }
    }

    @Test
    void aConfigWithoutTheAttentionLevelIsRefusedByTheTensors() throws Exception {
        Path cfg = Files.writeString(Files.createTempFile("vavae", ".json"),
                Files.readString(TestModels.vavaeTinyConfig()).replace("AttnUpDecoderBlock2D", "UpDecoderBlock2D"));
        Path in = Fixtures.file("vavae_t.pt");
        String m = assertThrows(DitjException.class, () -> Converter.convert(in, cfg.resolveSibling("o.safetensors"),
                new Converter.Options(DType.F32, 0, cfg, null, null, null, Fixtures.file("vavae_t_latents_stats.pt")))).getMessage();
        // the encoder's lowest level is taken to mirror the decoder's (one attn_resolutions): its attention is the first
        assertTrue(m.startsWith(in + ": unexpected tensor 'encoder.down_blocks.4.attentions.0.group_norm.weight' [16]"), m);
        Files.delete(cfg);
    }

    @Test
    void statisticsMustBePositivePerChannelValues() {
        Path f = Path.of("s.pt");
        float[] ones = new float[4];
        Arrays.fill(ones, 1f);
        RawTensor flat = RawTensor.ofFloats(ones, Shape.of(4), DType.F32);
        assertArrayEquals(new double[] {1, 1, 1, 1}, LatentStats.of(Map.of("mean", flat, "std", flat), 4, f).std());
        RawTensor wrongShape = RawTensor.ofFloats(ones, Shape.of(1, 2, 2, 1), DType.F32);
        assertEquals("s.pt: --latent-stats 'std' is F32 [1, 2, 2, 1]; expected floats of shape [1, 4, 1, 1] or [4] (one per "
                + "latent channel of this VAE)", assertThrows(DitjException.class,
                () -> LatentStats.of(Map.of("mean", flat, "std", wrongShape), 4, f)).getMessage());
        float[] bad = ones.clone();
        bad[2] = 0f;
        RawTensor zero = RawTensor.ofFloats(bad, Shape.of(1, 4, 1, 1), DType.F32);
        assertEquals("s.pt: --latent-stats channel 2 has mean 1.0 and std 0.0; std must be positive and both finite",
                assertThrows(DitjException.class, () -> LatentStats.of(Map.of("mean", flat, "std", zero), 4, f)).getMessage());
        bad[2] = Float.NaN;
        RawTensor nan = RawTensor.ofFloats(bad, Shape.of(4), DType.F32);
        assertTrue(assertThrows(DitjException.class, () -> LatentStats.of(Map.of("mean", nan, "std", flat), 4, f))
                .getMessage().startsWith("s.pt: --latent-stats channel 2 has mean NaN"));
    }
}
