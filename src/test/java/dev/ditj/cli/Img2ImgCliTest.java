package dev.ditj.cli;

import dev.ditj.Compare;
import dev.ditj.TestModels;
import dev.ditj.image.Png;
import dev.ditj.io.Npy;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static dev.ditj.cli.CliTest.ditj;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ditj generate --init-image} end to end against diffusers' img2img and inpainting chains (the first image of
 * each recorded pair: picture 0, class 3, its noise), and its refusals.
 */
class Img2ImgCliTest {
    private static final int SIDE = 64, PER = SIDE * SIDE * 3, LATENT = 4 * 8 * 8;
    private static final Path EMOJI_VAE = Path.of(System.getProperty("ditj.basedir", "."), "weights/emoji-vae.safetensors");

    @TempDir
    Path tmp;

    /** Picture 0 of the fixtures (vae_decode_pixels.npy, whose latent is img2img_x0.npy's first). */
    private static byte[] picture() {
        return Arrays.copyOf(TestModels.bytes("vae_decode_pixels.npy"), PER);
    }

    private Path png(String name, int width, int height, byte[] rgb) {
        Path p = tmp.resolve(name);
        Png.write(p, width, height, 3, rgb);
        return p;
    }

    /** Image 0 of the recorded noise, as --noise takes it. */
    private Path noise() {
        Path p = tmp.resolve("noise.npy");
        float[] all = TestModels.floats("img2img_noise.npy").data();
        Npys.writeFloats(p, new HostTensor(Shape.of(1, 4, 8, 8), Arrays.copyOf(all, LATENT)));
        return p;
    }

    /** Runs a DDIM-10 (ddim10 respacing) img2img of class 3 and compares its latent with image 0 of {@code fixture}. */
    private Path matches(String fixture, String... extra) {
        Path latent = tmp.resolve("latent.npy"), out = tmp.resolve("out.png");
        String[] base = {"generate", "--model", TestModels.ditA().toString(), "--vae", TestModels.vaeTiny().toString(),
                "--class", "3", "--sampler", "ddim", "--steps", "10", "--respacing", "ddim10", "--cfg-scale", "4",
                "--cfg-channels", "3", "--noise", noise().toString(), "--save-latent", latent.toString(), "-o",
                out.toString(), "--backend", "cpu"};
        String[] args = Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        CliTest.Run r = ditj(args);
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(Files.exists(out));
        float[] expected = Arrays.copyOf(TestModels.floats(fixture).data(), LATENT);
        Compare.assertRelL2(Npy.read(latent).toFloats(), expected, 1e-5, "cli " + fixture + " " + String.join(" ", extra));
        return out;
    }

    @Test
    void initImageMatchesDiffusersImg2Img() throws Exception {
        Path out = matches("img2img_ddim10_s06_final.npy", "--init-image", png("in.png", SIDE, SIDE, picture()).toString(),
                "--strength", "0.6");
        String parameters = Png.readText(Files.readAllBytes(out)).get("parameters");
        assertTrue(parameters.contains(", Denoising strength: 0.6") && !parameters.contains("Inpainting"), parameters);
    }

    @Test
    void maskMatchesDiffusersInpainting() {
        Path mask = png("mask.png", SIDE, SIDE, TestModels.bytes("img2img_mask_rgb.npy"));
        matches("img2img_ddim10_mask_s08_final.npy", "--init-image", png("in.png", SIDE, SIDE, picture()).toString(),
                "--strength", "0.8", "--mask", mask.toString());
    }

    /** --resize crops the centred square: picture 0 between two 8-pixel bands is picture 0 again (no scaling). */
    @Test
    void resizeTakesTheCentredSquare() {
        int w = SIDE + 16;
        byte[] wide = new byte[w * SIDE * 3], p = picture();
        Arrays.fill(wide, (byte) 250);
        for (int y = 0; y < SIDE; y++) System.arraycopy(p, y * SIDE * 3, wide, (y * w + 8) * 3, SIDE * 3);
        matches("img2img_ddim10_s06_final.npy", "--init-image", png("wide.png", w, SIDE, wide).toString(),
                "--strength", "0.6", "--resize");
    }

    /** The fixture DiT and VAE refuse {@code args}: one line on stderr, exit code 2, nothing written. */
    private void refused(String expected, String... args) {
        String[] base = {"--model", TestModels.ditA().toString(), "--vae", TestModels.vaeTiny().toString(),
                "--sampler", "ddim", "--steps", "10"};
        String[] all = Arrays.copyOf(base, base.length + args.length);
        System.arraycopy(args, 0, all, base.length, args.length);
        refusedWith(expected, all);
    }

    private void refusedWith(String expected, String... args) {
        Path out = tmp.resolve("refused.png");
        String[] all = Arrays.copyOf(new String[] {"generate", "-o", out.toString(), "--backend", "cpu"}, 5 + args.length);
        System.arraycopy(args, 0, all, 5, args.length);
        CliTest.Run r = ditj(all);
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().startsWith("ditj: error: " + expected) && r.err().indexOf('\n') == r.err().length() - 1, r.err());
        assertFalse(Files.exists(out), "wrote " + out);
    }

    @Test
    void refusals() throws Exception {
        String in = png("in.png", SIDE, SIDE, picture()).toString();
        Path text = Files.writeString(tmp.resolve("notes.png"), "not an image");
        refused(text + ": not a PNG file (images are read from 8-bit PNGs)", "--init-image", text.toString());
        refused(text + ": not a PNG file", "--init-image", in, "--mask", text.toString());
        Path small = png("small.png", 32, 32, new byte[32 * 32 * 3]);
        refused(small + ": image is 32x32, but the model makes 64x64 images; give a picture of that size, or --resize "
                + "to centre-crop and scale it", "--init-image", small.toString());
        refused(small + ": mask is 32x32, but the picture " + in + " is 64x64; give a mask of its size",
                "--init-image", in, "--mask", small.toString());
        refused("--strength must be in (0, 1], got 0.0", "--init-image", in, "--strength", "0");
        refused("--strength must be in (0, 1], got 1.5", "--init-image", in, "--strength", "1.5");
        refused("--strength keeps no step of 10 (int(10 * 0.05) = 0): use at least 1/10 or more steps, got 0.05",
                "--init-image", in, "--strength", "0.05");
        refused("--strength needs --init-image IN.png", "--strength", "0.5");
        refused("--mask needs --init-image IN.png", "--mask", in);
        refused("--resize needs --init-image IN.png", "--resize");
        // the bundled VAE as files converted before ditj kept encoders hold it
        Path decoderOnly = TestModels.decoderOnly(EMOJI_VAE);
        refusedWith(decoderOnly + ": this VAE file holds no encoder (decoder only); --init-image needs a VAE converted with "
                + "its encoder's weights", "--vae", decoderOnly.toString(), "--init-image", in);
    }
}
