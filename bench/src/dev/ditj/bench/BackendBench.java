package dev.ditj.bench;

import dev.ditj.RandomModels;
import dev.ditj.api.GenerationRequest;
import dev.ditj.api.Generator;
import dev.ditj.api.SamplerKind;
import dev.ditj.cuda.CudaOps;
import dev.ditj.cuda.JCudaDevice;
import dev.ditj.model.Dit;
import dev.ditj.model.DitConfig;
import dev.ditj.model.VaeDecoder;
import dev.ditj.model.VaeWorkspace;
import dev.ditj.sampling.DdpmSampler;
import dev.ditj.sampling.GaussianDiffusion;
import dev.ditj.sampling.GuidedDit;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;
import dev.ditj.weights.WeightStore;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Model-level timings of the CUDA backend for {@code tools/device-check} (markdown rows on stdout): one DiT-XL/2
 * 256 px denoising step with classifier-free guidance (1 image = model batch 2), run directly and replayed as a
 * captured graph; the SD VAE decode at 256 px; a whole 250-step DDPM image. Random weights.
 */
public final class BackendBench {
    private BackendBench() {
    }

    public static void main(String[] args) throws Exception {
        // "smoke": tiny models on the emulator, to check this harness without a GPU
        boolean smoke = args.length > 0 && args[0].equals("smoke");
        try (CudaOps ops = smoke ? new CudaOps(new dev.ditj.emu.EmulatedDevice(), "emu") : new CudaOps(JCudaDevice.open(), "cuda")) {
            System.out.println("| ditj CUDA backend (fp32 kernels v1) on " + ops.device().name() + " | time |");
            System.out.println("|---|---|");
            DitConfig c = smoke ? new DitConfig(4, 8, 2, 64, 1, 2, 4.0, 1000, true) : RandomModels.ditXl2(256);
            dev.ditj.model.VaeConfig vc = smoke
                    ? new dev.ditj.model.VaeConfig(4, 3, new int[] {32, 32}, 1, 16, true, true, 0.18215, null, null)
                    : RandomModels.sdVae();
            int side = c.inputSize(), image = side * vc.downsamplingFactor();
            try (WeightStore w = RandomModels.dit(c, 1); Dit dit = new Dit(c, w, ops);
                 Tensor x = ops.upload(new HostTensor(Shape.of(1, 4, side, side), new float[4 * side * side]));
                 Tensor pred = ops.alloc(Shape.of(1, 8, side, side));
                 GuidedDit model = new GuidedDit(dit, new int[] {207}, 4f, 3)) {
                DdpmSampler s = new DdpmSampler(GaussianDiffusion.create("250"));
                model.prepare(new int[] {500});
                Runnable step = () -> {
                    model.predict(x, 0, pred);
                    ops.ddpmStep(x, pred, null, s.coefficients(0, true));
                };
                int reps = smoke ? 2 : 20;
                double direct = best(ops, step, reps);
                try (Ops.Graph g = ops.capture(step)) {
                    double graph = best(ops, g::replay, reps);
                    row(c.familyName() + " " + image + " px, CFG batch 2, one DDPM step (direct launches)", direct);
                    row(c.familyName() + " " + image + " px, CFG batch 2, one DDPM step (CUDA graph replay)", graph);
                }
            }
            try (WeightStore w = RandomModels.vae(vc, 2); VaeDecoder vae = new VaeDecoder(vc, w, ops);
                 VaeWorkspace ws = vae.workspace(1, side, side);
                 Tensor z = ops.upload(new HostTensor(Shape.of(1, 4, side, side), new float[4 * side * side]));
                 Tensor img = ops.alloc(Shape.of(1, 3, image, image))) {
                row("VAE decode " + Arrays.toString(vc.blockOutChannels()) + ", " + image + " px, batch 1",
                        best(ops, () -> vae.decode(ws, z, img), smoke ? 1 : 5));
            }
            Path dir = Files.createTempDirectory("ditj-bench");
            Path ditFile = RandomModels.ditFile(c, 1, DType.BF16, dir.resolve("dit.safetensors"));
            Path vaeFile = RandomModels.vaeFile(vc, 2, DType.BF16, dir.resolve("vae.safetensors"));
            try (Generator g = Generator.load(ditFile, vaeFile, ops)) {
                GenerationRequest r = GenerationRequest.builder(207).seed(0).sampler(SamplerKind.DDPM).steps(smoke ? 3 : 250).build();
                g.generate(r);
                long t0 = System.nanoTime();
                g.generate(r);
                row("one " + image + " px image: " + c.familyName() + " DDPM " + r.steps() + " steps, CFG 4, + VAE decode",
                        (System.nanoTime() - t0) / 1e6);
            } finally {
                Files.deleteIfExists(ditFile);
                Files.deleteIfExists(vaeFile);
                Files.deleteIfExists(dir);
            }
        }
    }

    /** Best of n runs, in milliseconds (after one warm-up). */
    private static double best(Ops ops, Runnable work, int n) {
        work.run();
        ops.synchronize();
        double[] t = new double[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            work.run();
            ops.synchronize();
            t[i] = (System.nanoTime() - t0) / 1e6;
        }
        return Arrays.stream(t).min().orElse(Double.NaN);
    }

    private static void row(String what, double ms) {
        System.out.printf(Locale.ROOT, "| %s | %.2f ms |%n", what, ms);
    }
}
