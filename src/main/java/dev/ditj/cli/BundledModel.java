package dev.ditj.cli;

import dev.ditj.DitjException;

import java.nio.file.Files;
import java.nio.file.Path;

/** The model shipped in {@code weights/} of a ditj checkout or distribution (the launcher sets ditj.home). */
final class BundledModel {
    static final String DIT = "emoji-dit.safetensors";
    static final String VAE = "emoji-vae.safetensors";

    private BundledModel() {
    }

    static Path dit() {
        return find(DIT, "--model");
    }

    static Path vae() {
        return find(VAE, "--vae");
    }

    private static Path find(String name, String option) {
        String home = System.getProperty("ditj.home", ".");
        Path p = Path.of(home, "weights", name);
        if (Files.isRegularFile(p)) return p;
        throw new DitjException("no " + option + " given and no bundled model at " + p.toAbsolutePath());
    }
}
