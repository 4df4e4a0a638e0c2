package dev.ditj.cli;

import dev.ditj.Compare;
import dev.ditj.TestModels;
import dev.ditj.image.Pixels;
import dev.ditj.image.Png;
import dev.ditj.io.Npy;
import dev.ditj.io.RawTensor;
import dev.ditj.sampling.NoiseSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

import static dev.ditj.cli.CliTest.ditj;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ditj encode} and {@code ditj reconstruct} end to end against diffusers' fixtures, and their refusals. */
class EncodeCliTest {
    private static final int PER = 64 * 64 * 3;
    private static final Path EMOJI_VAE = Path.of(System.getProperty("ditj.basedir", "."), "weights/emoji-vae.safetensors");

    @TempDir
    Path tmp;

    /** Image {@code i} of vae_decode_pixels.npy (the encoder fixtures' input) as an RGB PNG. */
    private Path png(int i) {
        Path p = tmp.resolve("in" + i + ".png");
        Png.write(p, 64, 64, 3, Arrays.copyOfRange(TestModels.bytes("vae_decode_pixels.npy"), i * PER, (i + 1) * PER));
        return p;
    }

    private static float[] channels(float[] moments, int from, int count) {
        float[] out = new float[2 * count * 64];
        for (int b = 0; b < 2; b++) System.arraycopy(moments, (b * 8 + from) * 64, out, b * count * 64, count * 64);
        return out;
    }

    @Test
    void encodeWritesTheNormalisedMeanAndTheMoments() {
        Path z = tmp.resolve("z.npy"), m = tmp.resolve("m.npy");
        CliTest.Run r = ditj("encode", "--vae", TestModels.vaeTiny().toString(), png(0).toString(), png(1).toString(),
                "-o", z.toString(), "--moments", m.toString(), "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        float[] expected = TestModels.floats("vae_encode_moments.npy").data();
        RawTensor moments = Npy.read(m), latent = Npy.read(z);
        assertArrayEquals(new int[] {2, 8, 8, 8}, moments.shape().dims());
        assertArrayEquals(new int[] {2, 4, 8, 8}, latent.shape().dims());
        Compare.assertRelL2(moments.toFloats(), expected, 1e-5, "cli moments");
        float[] mean = channels(expected, 0, 4);
        for (int i = 0; i < mean.length; i++) mean[i] *= 0.18215f;
        Compare.assertRelL2(latent.toFloats(), mean, 1e-5, "cli latent");

        // --sample: mean + std * eps, eps from the seed; the same seed gives the same latent
        Path s = tmp.resolve("s.npy");
        r = ditj("encode", "--vae", TestModels.vaeTiny().toString(), png(0).toString(), png(1).toString(), "-o", s.toString(),
                "--sample", "--seed", "3", "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        float[] eps = new float[2 * 4 * 64], logvar = channels(expected, 4, 4), want = new float[eps.length];
        NoiseSource.seeded(3).initial(eps, 2, 4 * 64);
        float[] mu = channels(expected, 0, 4);
        for (int i = 0; i < eps.length; i++) want[i] = (float) ((mu[i] + Math.exp(0.5 * logvar[i]) * eps[i]) * 0.18215);
        Compare.assertRelL2(Npy.read(s).toFloats(), want, 1e-5, "cli sample");
    }

    /** Alpha is composited on white: a fully transparent image encodes as a white one; gray is replicated. */
    @Test
    void alphaIsCompositedOnWhite() {
        Path clear = tmp.resolve("clear.png"), white = tmp.resolve("white.png"), gray = tmp.resolve("gray.png");
        byte[] rgba = new byte[64 * 64 * 4], rgb = new byte[PER], g = new byte[64 * 64];
        for (int i = 0; i < 64 * 64; i++) {
            rgba[4 * i] = (byte) (i * 7);      // any colour, alpha 0
            g[i] = (byte) 255;
        }
        Arrays.fill(rgb, (byte) 255);
        Png.write(clear, 64, 64, 4, rgba);
        Png.write(white, 64, 64, 3, rgb);
        Png.write(gray, 64, 64, 1, g);
        String vae = TestModels.vaeTiny().toString();
        Path a = tmp.resolve("a.npy"), b = tmp.resolve("b.npy");
        assertEquals(0, ditj("encode", "--vae", vae, clear.toString(), gray.toString(), "-o", a.toString(), "--backend", "cpu").code());
        assertEquals(0, ditj("encode", "--vae", vae, white.toString(), white.toString(), "-o", b.toString(), "--backend", "cpu").code());
        assertArrayEquals(Npy.read(b).toFloats(), Npy.read(a).toFloats());
        assertArrayEquals(new byte[] {(byte) 128, (byte) 128, (byte) 128}, Pixels.onWhite(new byte[] {0, 0, 0, (byte) 127}, 4));
    }

    @Test
    void reconstructWritesTheRoundTripAndItsPsnr() throws Exception {
        Path out = tmp.resolve("out.png");
        CliTest.Run r = ditj("reconstruct", "--vae", TestModels.vaeTiny().toString(), png(0).toString(), "-o", out.toString(),
                "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        byte[] expected = Pixels.toRgb8(TestModels.floats("vae_encode_recon.npy").data(), 0, 3, 64, 64);
        Png.Decoded d = Png.decode(Files.readAllBytes(out));
        Compare.assertPixels(d.pixels(), expected, 0.001, "reconstruction");
        double psnr = ReconstructCommand.psnr(Arrays.copyOf(TestModels.bytes("vae_decode_pixels.npy"), PER), d.pixels());
        assertTrue(r.out().contains(String.format(Locale.ROOT, "PSNR %.2f dB", psnr)), r.out());
        assertEquals(20 * Math.log10(255 / 1.0), ReconstructCommand.psnr(new byte[] {0, 0}, new byte[] {1, 1}), 1e-12);
    }

    @Test
    void infoSaysWhichHalvesAFileHolds() {
        CliTest.Run r = ditj("info", TestModels.vaeTiny().toString());
        assertTrue(r.out().contains("kind:        VAE encoder and decoder (VaeConfig["), r.out());
        r = ditj("info", EMOJI_VAE.toString());
        assertTrue(r.out().contains("kind:        VAE encoder and decoder (VaeConfig["), r.out());
        r = ditj("info", TestModels.decoderOnly(EMOJI_VAE).toString());
        assertTrue(r.out().contains("kind:        VAE decoder (VaeConfig["), r.out());
    }

    /** One line on stderr, the exit code, and nothing written. */
    private void refused(int code, String expected, String... args) {
        Path out = tmp.resolve("x.npy");
        String[] all = Arrays.copyOf(args, args.length + 4);
        all[args.length] = "-o";
        all[args.length + 1] = out.toString();
        all[args.length + 2] = "--backend";
        all[args.length + 3] = "cpu";
        CliTest.Run r = ditj(all);
        assertEquals(code, r.code(), r.out() + r.err());
        assertTrue(r.err().startsWith("ditj: error: " + expected) && r.err().indexOf('\n') == r.err().length() - 1, r.err());
        assertFalse(Files.exists(out), "wrote " + out);
    }

    @Test
    void refusals() throws Exception {
        String vae = TestModels.vaeTiny().toString(), in = png(0).toString();
        Path text = Files.writeString(tmp.resolve("notes.png"), "not an image");
        refused(1, text + ": not a PNG file (images are read from 8-bit PNGs)", "encode", "--vae", vae, text.toString());
        refused(1, text + ": not a PNG file", "reconstruct", "--vae", vae, text.toString());
        Path odd = tmp.resolve("odd.png");
        Png.write(odd, 60, 64, 3, new byte[60 * 64 * 3]);
        refused(1, odd + ": image is 60x64; this VAE takes widths and heights that are multiples of 8 (nearest: 56x64)",
                "encode", "--vae", vae, odd.toString());
        refused(1, odd + ": image is 60x64; this VAE takes", "reconstruct", "--vae", vae, odd.toString());
        refused(1, odd + ": image is 60x64, but " + in + " is 64x64; encode images of one size", "encode", "--vae", vae, in,
                odd.toString());
        Path decoderOnly = TestModels.decoderOnly(EMOJI_VAE);
        refused(1, decoderOnly + ": this VAE file holds no encoder (decoder only)", "encode", "--vae", decoderOnly.toString(), in);
        refused(1, decoderOnly + ": this VAE file holds no encoder", "reconstruct", "--vae", decoderOnly.toString(), in);
        refused(2, "--sample needs --seed N", "encode", "--vae", vae, in, "--sample");
        refused(2, "--seed applies to --sample only", "encode", "--vae", vae, in, "--seed", "1");
        Path missing = tmp.resolve("missing.png");
        refused(1, missing + ": cannot read", "encode", "--vae", vae, missing.toString());
    }
}
