package dev.ditj.cli;

import dev.ditj.DitjException;
import dev.ditj.api.ClassGroup;
import dev.ditj.api.GenerationDefaults;
import dev.ditj.convert.Converter;
import dev.ditj.model.ModelFamily;
import dev.ditj.tensor.DType;
import dev.ditj.weights.ModelFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Convert a PyTorch DiT, SiT, REPA, LightningDiT, SD-VAE or VA-VAE checkpoint (.pt, .ckpt, .bin, "
                + ".safetensors or a diffusers folder) into a ditj model file. Never executes code from the checkpoint.")
final class ConvertCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "INPUT", description = "checkpoint file or diffusers folder")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.safetensors")
    Path output;

    @Option(names = "--dtype", defaultValue = "fp32", paramLabel = "fp32|bf16|fp16|int8",
            description = "storage dtype of the weights (default: ${DEFAULT-VALUE}); int8: layer weights in 8 bits with a "
                    + "scale per output channel, the rest fp16 (half of fp16's size)")
    String dtype;

    @Option(names = "--num-heads", defaultValue = "0", paramLabel = "N",
            description = "DiT attention heads; needed only for hidden sizes outside the official S/B/L/XL family")
    int numHeads;

    @Option(names = "--vae-config", paramLabel = "config.json",
            description = "diffusers-style VAE config to use (for LDM files: group count, scaling/shift factors)")
    Path vaeConfig;

    @Option(names = "--latent-stats", paramLabel = "latents_stats.pt",
            description = "a VAE's per-channel latent statistics {'mean', 'std'} (VA-VAE: needed; its pipeline decodes "
                    + "z * std + mean)")
    Path latentStats;

    @Option(names = "--class-names", paramLabel = "FILE",
            description = "class names to store with a DiT: one per line (synonyms comma-separated)")
    Path classNames;

    @Option(names = "--class-groups", paramLabel = "FILE",
            description = "named groups of the classes to store with a DiT (needs --class-names), JSON: "
                    + "[{\"name\": \"Objects, objects\", \"classes\": [ids], \"weights\": [numbers]}, ...]; "
                    + "asking generate for a group draws one of its classes per image, by weight")
    Path classGroups;

    @Option(names = "--generate-defaults", paramLabel = "JSON",
            description = "recommended generation settings to store with a DiT, e.g. '{\"sampler\":\"ddim\",\"steps\":50,\"cfg_scale\":3}'")
    String generateDefaults;

    @Option(names = "--family", paramLabel = "dit|sit|repa|lightningdit",
            description = "what a DiT-architecture checkpoint is: dit (noise-predicting diffusion), sit (flow "
                    + "matching, velocity), repa (SiT trained with REPA, t = 1 noise) or lightningdit. SiT's network is "
                    + "DiT's, so the keys cannot tell; default: lightningdit when the keys hold its layers, repa when "
                    + "the file holds REPA's projector heads, else from a training checkpoint's args, else sit for a "
                    + "file named SiT-*, else dit")
    String family;

    @Override
    public Integer call() {
        DType storage = DType.parseStorage(dtype);
        List<String> names = null;
        if (classNames != null) {
            try {
                names = Files.readAllLines(classNames, StandardCharsets.UTF_8).stream().filter(s -> !s.isBlank()).toList();
            } catch (IOException e) {
                throw new DitjException(classNames + ": cannot read class names: " + e.getMessage());
            }
        }
        List<ClassGroup> groups = null;
        if (classGroups != null) {
            if (names == null) throw new UsageException("--class-groups needs --class-names");
            try {
                groups = ModelFiles.parseClassGroups(Files.readString(classGroups, StandardCharsets.UTF_8), classGroups.toString());
            } catch (IOException e) {
                throw new DitjException(classGroups + ": cannot read class groups: " + e.getMessage());
            }
        }
        if (generateDefaults != null) generateDefaults = GenerationDefaults.parse(generateDefaults, "--generate-defaults").toJson();
        ModelFamily f = family == null ? null : parseFamily(family);
        Converter.Report r = Converter.convert(input, output,
                new Converter.Options(storage, numHeads, vaeConfig, names, generateDefaults, f, latentStats, groups));
        System.out.printf("converted %s (%s, %d tensors, %,d parameters, %s) -> %s%n", input, r.layout(), r.tensors(),
                r.parameters(), dtype, output);
        if (r.family() != null) System.out.printf("family: %s (%s)%n", r.family().displayName, r.familyReason());
        if (r.vaeParts() != null) System.out.println("holds: " + r.vaeParts());
        return 0;
    }

    private static ModelFamily parseFamily(String s) {
        try {
            return ModelFamily.parse(s, "--family");
        } catch (DitjException e) {
            throw new UsageException(e.getMessage());
        }
    }
}
