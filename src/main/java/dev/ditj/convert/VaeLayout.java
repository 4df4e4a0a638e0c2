package dev.ditj.convert;

import com.google.gson.JsonObject;
import dev.ditj.DitjException;
import dev.ditj.io.RawTensor;
import dev.ditj.model.VaeConfig;
import dev.ditj.tensor.Shape;
import dev.ditj.weights.ModelFiles;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * SD-style VAEs in their three namings: diffusers (current {@code to_q/to_k/to_v/to_out.0} and the
 * deprecated {@code query/key/value/proj_attn}) and the original LDM/CompVis names (standalone files and the
 * {@code first_stage_model.} part of full SD checkpoints, and VA-VAE's, whose lowest up level has attention blocks).
 * Everything is mapped to current diffusers names, the names ditj files use; the encoder and quant_conv, decoder and
 * post_quant_conv are kept (loss, VA-VAE's foundation model and projection are training-only).
 */
final class VaeLayout {
    private VaeLayout() {
    }

    static final String DIFFUSERS = "diffusers";
    static final String LDM = "ldm";

    /** The VAE part of a checkpoint, prefixes stripped ({@code first_stage_model.} or {@code vae.}); null if none. */
    static Map<String, RawTensor> vaePart(Map<String, RawTensor> all) {
        for (String prefix : new String[] {"first_stage_model.", "vae."}) {
            if (all.keySet().stream().anyMatch(k -> k.startsWith(prefix + "decoder."))) {
                Map<String, RawTensor> out = new LinkedHashMap<>();
                all.forEach((k, v) -> {
                    if (k.startsWith(prefix)) out.put(k.substring(prefix.length()), v);
                });
                return out;
            }
        }
        return all.containsKey("decoder.conv_in.weight") ? all : null;
    }

    static String layout(Map<String, RawTensor> t) {
        return t.keySet().stream().anyMatch(k -> k.startsWith("decoder.mid.")) ? LDM : DIFFUSERS;
    }

    /**
     * Encoder, quant_conv, decoder and post_quant_conv tensors under current diffusers names (attention weights
     * squeezed to [C, C]); everything else (loss, VA-VAE's foundation model and projection) is training-only.
     */
    static Map<String, RawTensor> toDiffusersNames(Map<String, RawTensor> t, String layout, String file) {
        int levels = countLevels(t, layout);
        Map<String, RawTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, RawTensor> e : t.entrySet()) {
            String k = e.getKey();
            if (!k.startsWith("decoder.") && !k.startsWith("post_quant_conv.") && !k.startsWith("encoder.")
                    && !k.startsWith("quant_conv.")) {
                continue;
            }
            String name = layout.equals(LDM) ? fromLdm(k, levels) : fromOldDiffusers(k);
            if (name == null) throw new DitjException(file + ": unexpected VAE tensor '" + k + "'");
            RawTensor v = e.getValue();
            if (name.matches("(en|de)coder\\.(mid_block|up_blocks\\.\\d+|down_blocks\\.\\d+)\\.attentions\\.\\d+\\.(to_q|to_k|to_v|to_out\\.0)\\.weight")
                    && v.shape().rank() > 2) {
                v = squeeze(v, file, k); // LDM stores these as 1x1 convolutions
            }
            if (out.put(name, v) != null) throw new DitjException(file + ": tensor '" + name + "' appears twice");
        }
        return out;
    }

    private static RawTensor squeeze(RawTensor v, String file, String name) {
        int[] d = v.shape().dims();
        for (int i = 2; i < d.length; i++) {
            if (d[i] != 1) throw new DitjException(file + ": tensor '" + name + "' has shape " + v.shape() + ", expected [C, C, 1, 1]");
        }
        return new RawTensor(v.dtype(), Shape.of(d[0], d[1]), v.data());
    }

    private static int countLevels(Map<String, RawTensor> t, String layout) {
        Pattern p = Pattern.compile(layout.equals(LDM) ? "decoder\\.up\\.(\\d+)\\..*" : "decoder\\.up_blocks\\.(\\d+)\\..*");
        int max = -1;
        for (String k : t.keySet()) {
            Matcher m = p.matcher(k);
            if (m.matches()) max = Math.max(max, Integer.parseInt(m.group(1)));
        }
        return max + 1;
    }

    private static final Map<String, String> OLD_ATTENTION = Map.of(
            "query", "to_q", "key", "to_k", "value", "to_v", "proj_attn", "to_out.0");

    private static String fromOldDiffusers(String k) {
        Matcher m = Pattern.compile("((?:en|de)coder\\.(?:mid_block|up_blocks\\.\\d+|down_blocks\\.\\d+)\\.attentions\\.\\d+\\.)(query|key|value|proj_attn)(\\..*)").matcher(k);
        return m.matches() ? m.group(1) + OLD_ATTENTION.get(m.group(2)) + m.group(3) : k;
    }

    private static final Map<String, String> LDM_ATTENTION = Map.of(
            "norm", "group_norm", "q", "to_q", "k", "to_k", "v", "to_v", "proj_out", "to_out.0");

    /**
     * LDM → diffusers for encoder and decoder keys, null for an unknown one; the decoder's up-block index is reversed
     * (LDM counts from the highest resolution), the encoder's down-block index is not (both count from it).
     */
    static String fromLdm(String k, int levels) {
        if (k.startsWith("post_quant_conv.") || k.startsWith("quant_conv.")) return k;
        Matcher m = Pattern.compile("(encoder|decoder)\\.(.*)").matcher(k);
        if (!m.matches()) return null;
        String name = m.group(1).equals("decoder") ? ldmDecoderPart(m.group(2), levels) : ldmEncoderPart(m.group(2));
        return name == null ? null : m.group(1) + "." + name;
    }

    /** conv_in, conv_out, norm_out and the mid block, named alike in both halves; null for other keys. */
    private static String ldmCommonPart(String k) {
        if (k.startsWith("conv_in.") || k.startsWith("conv_out.")) return k;
        if (k.startsWith("norm_out.")) return "conv_norm_out." + k.substring("norm_out.".length());
        Matcher m = Pattern.compile("mid\\.block_([12])\\.(.*)").matcher(k);
        if (m.matches()) return "mid_block.resnets." + (Integer.parseInt(m.group(1)) - 1) + "." + resnetPart(m.group(2));
        m = Pattern.compile("mid\\.attn_1\\.(norm|q|k|v|proj_out)\\.(weight|bias)").matcher(k);
        if (m.matches()) return "mid_block.attentions.0." + LDM_ATTENTION.get(m.group(1)) + "." + m.group(2);
        return null;
    }

    private static String ldmDecoderPart(String k, int levels) {
        String common = ldmCommonPart(k);
        if (common != null) return common;
        Matcher m = Pattern.compile("up\\.(\\d+)\\.block\\.(\\d+)\\.(.*)").matcher(k);
        if (m.matches()) {
            int i = levels - 1 - Integer.parseInt(m.group(1));
            return "up_blocks." + i + ".resnets." + m.group(2) + "." + resnetPart(m.group(3));
        }
        m = Pattern.compile("up\\.(\\d+)\\.attn\\.(\\d+)\\.(norm|q|k|v|proj_out)\\.(weight|bias)").matcher(k);
        if (m.matches()) {
            int i = levels - 1 - Integer.parseInt(m.group(1));
            return "up_blocks." + i + ".attentions." + m.group(2) + "." + LDM_ATTENTION.get(m.group(3)) + "." + m.group(4);
        }
        m = Pattern.compile("up\\.(\\d+)\\.upsample\\.conv\\.(weight|bias)").matcher(k);
        if (m.matches()) return "up_blocks." + (levels - 1 - Integer.parseInt(m.group(1))) + ".upsamplers.0.conv." + m.group(2);
        return null;
    }

    private static String ldmEncoderPart(String k) {
        String common = ldmCommonPart(k);
        if (common != null) return common;
        Matcher m = Pattern.compile("down\\.(\\d+)\\.block\\.(\\d+)\\.(.*)").matcher(k);
        if (m.matches()) return "down_blocks." + m.group(1) + ".resnets." + m.group(2) + "." + resnetPart(m.group(3));
        m = Pattern.compile("down\\.(\\d+)\\.attn\\.(\\d+)\\.(norm|q|k|v|proj_out)\\.(weight|bias)").matcher(k);
        if (m.matches()) {
            return "down_blocks." + m.group(1) + ".attentions." + m.group(2) + "." + LDM_ATTENTION.get(m.group(3)) + "." + m.group(4);
        }
        m = Pattern.compile("down\\.(\\d+)\\.downsample\\.conv\\.(weight|bias)").matcher(k);
        if (m.matches()) return "down_blocks." + m.group(1) + ".downsamplers.0.conv." + m.group(2);
        return null;
    }

    private static String resnetPart(String s) {
        return s.startsWith("nin_shortcut.") ? "conv_shortcut." + s.substring("nin_shortcut.".length()) : s;
    }

    /**
     * The decoder config: from a diffusers config.json when there is one (checked against the weights later),
     * else read from the tensor shapes with SD's defaults for what shapes cannot tell (32 GroupNorm groups,
     * scaling factor 0.18215) unless {@code overrides} gives them.
     */
    static VaeConfig config(Map<String, RawTensor> d, JsonObject diffusersConfig, String file) {
        if (diffusersConfig != null) return ModelFiles.parseVaeConfig(diffusersConfig.toString(), file);
        int levels = 0;
        while (d.containsKey("decoder.up_blocks." + levels + ".resnets.0.conv1.weight")) levels++;
        if (levels == 0) throw new DitjException(file + ": missing tensor 'decoder.up_blocks.0.resnets.0.conv1.weight'");
        int[] channels = new int[levels];
        for (int i = 0; i < levels; i++) {
            channels[levels - 1 - i] = shape(d, "decoder.up_blocks." + i + ".resnets.0.conv1.weight", file).dim(0);
        }
        int resnets = 0;
        while (d.containsKey("decoder.up_blocks.0.resnets." + resnets + ".conv1.weight")) resnets++;
        boolean[] upAttention = new boolean[levels];
        for (int i = 0; i < levels; i++) upAttention[i] = d.containsKey("decoder.up_blocks." + i + ".attentions.0.to_q.weight");
        return new VaeConfig(shape(d, "decoder.conv_in.weight", file).dim(1),
                shape(d, "decoder.conv_out.weight", file).dim(0), channels, resnets - 1, 32,
                d.containsKey("decoder.mid_block.attentions.0.to_q.weight"), d.containsKey("post_quant_conv.weight"),
                0.18215, null, null, upAttention);
    }

    /** Every decoder tensor for this config, in execution order, with its shape. */
    static Map<String, int[]> expected(VaeConfig c) {
        Map<String, int[]> e = new LinkedHashMap<>();
        int[] boc = c.blockOutChannels();
        int levels = boc.length, top = boc[levels - 1], lc = c.latentChannels();
        if (c.usePostQuantConv()) conv(e, "post_quant_conv", lc, lc, 1);
        conv(e, "decoder.conv_in", top, lc, 3);
        resnet(e, "decoder.mid_block.resnets.0", top, top);
        if (c.midBlockAttention()) attention(e, "decoder.mid_block.attentions.0", top);
        resnet(e, "decoder.mid_block.resnets.1", top, top);
        int in = top;
        for (int i = 0; i < levels; i++) {
            int out = boc[levels - 1 - i];
            for (int j = 0; j <= c.layersPerBlock(); j++) {
                resnet(e, "decoder.up_blocks." + i + ".resnets." + j, j == 0 ? in : out, out);
                if (c.upBlockAttention()[i]) attention(e, "decoder.up_blocks." + i + ".attentions." + j, out);
            }
            if (i < levels - 1) conv(e, "decoder.up_blocks." + i + ".upsamplers.0.conv", out, out, 3);
            in = out;
        }
        e.put("decoder.conv_norm_out.weight", new int[] {boc[0]});
        e.put("decoder.conv_norm_out.bias", new int[] {boc[0]});
        conv(e, "decoder.conv_out", c.outChannels(), boc[0], 3);
        return e;
    }

    /**
     * Every encoder tensor for this config, in execution order, with its shape: diffusers' Encoder with
     * {@code layers_per_block} ResNet blocks per level (the decoder has one more), attention where
     * {@link VaeConfig#downBlockAttention} says, then quant_conv when the config has quant convs.
     */
    static Map<String, int[]> expectedEncoder(VaeConfig c) {
        Map<String, int[]> e = new LinkedHashMap<>();
        int[] boc = c.blockOutChannels();
        int levels = boc.length, top = boc[levels - 1], moments = 2 * c.latentChannels();
        conv(e, "encoder.conv_in", boc[0], c.outChannels(), 3);
        int in = boc[0];
        for (int i = 0; i < levels; i++) {
            for (int j = 0; j < c.layersPerBlock(); j++) {
                resnet(e, "encoder.down_blocks." + i + ".resnets." + j, j == 0 ? in : boc[i], boc[i]);
                if (c.downBlockAttention(i)) attention(e, "encoder.down_blocks." + i + ".attentions." + j, boc[i]);
            }
            if (i < levels - 1) conv(e, "encoder.down_blocks." + i + ".downsamplers.0.conv", boc[i], boc[i], 3);
            in = boc[i];
        }
        resnet(e, "encoder.mid_block.resnets.0", top, top);
        if (c.midBlockAttention()) attention(e, "encoder.mid_block.attentions.0", top);
        resnet(e, "encoder.mid_block.resnets.1", top, top);
        e.put("encoder.conv_norm_out.weight", new int[] {top});
        e.put("encoder.conv_norm_out.bias", new int[] {top});
        conv(e, "encoder.conv_out", moments, top, 3);
        if (c.usePostQuantConv()) conv(e, "quant_conv", moments, moments, 1);
        return e;
    }

    /** Whether a tensor (current diffusers name) belongs to the encoder half. */
    static boolean isEncoderTensor(String name) {
        return name.startsWith("encoder.") || name.startsWith("quant_conv.");
    }

    private static void conv(Map<String, int[]> e, String name, int out, int in, int k) {
        e.put(name + ".weight", new int[] {out, in, k, k});
        e.put(name + ".bias", new int[] {out});
    }

    private static void attention(Map<String, int[]> e, String name, int ch) {
        e.put(name + ".group_norm.weight", new int[] {ch});
        e.put(name + ".group_norm.bias", new int[] {ch});
        for (String p : new String[] {"to_q", "to_k", "to_v", "to_out.0"}) {
            e.put(name + "." + p + ".weight", new int[] {ch, ch});
            e.put(name + "." + p + ".bias", new int[] {ch});
        }
    }

    private static void resnet(Map<String, int[]> e, String name, int in, int out) {
        e.put(name + ".norm1.weight", new int[] {in});
        e.put(name + ".norm1.bias", new int[] {in});
        conv(e, name + ".conv1", out, in, 3);
        e.put(name + ".norm2.weight", new int[] {out});
        e.put(name + ".norm2.bias", new int[] {out});
        conv(e, name + ".conv2", out, out, 3);
        if (in != out) conv(e, name + ".conv_shortcut", out, in, 1);
    }

    private static Shape shape(Map<String, RawTensor> d, String name, String file) {
        RawTensor r = d.get(name);
        if (r == null) throw new DitjException(file + ": missing tensor '" + name + "'");
        return r.shape();
    }
}
