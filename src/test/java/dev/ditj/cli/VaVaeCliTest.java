package dev.ditj.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.ditj.Compare;
import dev.ditj.Fixtures;
import dev.ditj.TestModels;
import dev.ditj.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.ditj.cli.CliTest.ditj;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI contract for the VA-VAE: convert with --latent-stats, info, decode with the file's mean/std; refusals. */
class VaVaeCliTest {
    @TempDir
    Path tmp;

    private static String f(String fixture) {
        return Fixtures.file(fixture).toString();
    }

    @Test
    void convertInfoAndDecodeApplyTheLatentStatistics() {
        Path vae = tmp.resolve("v.safetensors");
        CliTest.Run r = ditj("convert", f("vavae_t.pt"), "--latent-stats", f("vavae_t_latents_stats.pt"), "--vae-config",
                TestModels.vavaeTinyConfig().toString(), "-o", vae.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("(vavae-ldm, 342 tensors"), r.out());

        CliTest.Run info = ditj("info", vae.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("kind:        VA-VAE encoder and decoder (f16, 32 latent channels, channels [4, 4, 8, 8, 16], "
                + "attention after each ResNet block of up block 0 (latent size x1) and in the mid block, per-channel latent "
                + "mean/std stored, scaling 1.0)"), info.out());
        assertTrue(info.out().contains("latents:     mean/std from vavae_t_latents_stats.pt (sha256 "), info.out());

        Path out = tmp.resolve("img.npy");
        r = ditj("decode", "--vae", vae.toString(), "--latent", f("vavae_t_decode_z.npy"), "-o", out.toString(),
                "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        Compare.assertRelL2(Npy.read(out).toFloats(), TestModels.floats("vavae_t_decode_out.npy").data(), 1e-5,
                "cli vavae decode");
    }

    /** Each refusal is one line on stderr, exit 1, and no output file. */
    private void refused(String expected, String... args) {
        Path out = tmp.resolve("x.safetensors");
        String[] all = new String[args.length + 3];
        all[0] = "convert";
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "-o";
        all[args.length + 2] = out.toString();
        CliTest.Run r = ditj(all);
        assertEquals(1, r.code(), r.out() + r.err());
        assertEquals("ditj: error: " + expected + "\n", r.err());
        assertTrue(Files.notExists(out), "wrote " + out);
    }

    @Test
    void refusesWhatWouldDecodeWrongly() throws Exception {
        String cfg = TestModels.vavaeTinyConfig().toString(), stats = f("vavae_t_latents_stats.pt");
        refused(f("vavae_t.pt") + ": a VA-VAE (attention in the decoder's up blocks) needs --latent-stats latents_stats.pt "
                + "(the per-channel mean/std its pipeline de-normalises latents with)", f("vavae_t.pt"), "--vae-config", cfg);
        refused(f("dit_a.pt") + ": --latent-stats applies to a VAE (VA-VAE's latents_stats.pt); this is a DiT-architecture "
                + "network", f("dit_a.pt"), "--num-heads", "2", "--latent-stats", stats);
        Path missing = tmp.resolve("nope.pt");
        refused(missing + ": --latent-stats: no such file", f("vavae_t.pt"), "--vae-config", cfg, "--latent-stats",
                missing.toString());
        // an SD VAE's config gives its own normalisation; without it, it has 4 latent channels, the statistics 32
        refused(f("vae_tiny_ldm.ckpt") + ": the VAE config's scaling_factor 0.18215 contradicts --latent-stats (decoded as "
                + "z * std + mean, scaling factor 1)", f("vae_tiny_ldm.ckpt"), "--vae-config",
                TestModels.vaeTinyConfig().toString(), "--latent-stats", stats);
        JsonObject sd = JsonParser.parseString(Files.readString(TestModels.vaeTinyConfig())).getAsJsonObject();
        sd.remove("scaling_factor");
        Path sdConfig = Files.writeString(tmp.resolve("sd.json"), sd.toString());
        refused(stats + ": --latent-stats 'mean' is F32 [1, 32, 1, 1]; expected floats of shape [1, 4, 1, 1] or [4] (one "
                + "per latent channel of this VAE)", f("vae_tiny_ldm.ckpt"), "--vae-config", sdConfig.toString(),
                "--latent-stats", stats);
        refused(f("lightningdit_t.pt") + ": --latent-stats must be a dict of exactly the tensors 'mean' and 'std' (as "
                + "latents_stats.pt is); found a dict of 27: [pos_embed, x_embedder.proj.weight, x_embedder.proj.bias, "
                + "t_embedder.mlp.0.weight] ...", f("vavae_t.pt"), "--vae-config", cfg, "--latent-stats", f("lightningdit_t.pt"));
        refused(f("vae_tiny_ldm.ckpt") + ": --latent-stats must be a dict of exactly the tensors 'mean' and 'std' (as "
                + "latents_stats.pt is); found a dict of 1: [state_dict]", f("vavae_t.pt"), "--vae-config", cfg,
                "--latent-stats", f("vae_tiny_ldm.ckpt"));
    }
}
