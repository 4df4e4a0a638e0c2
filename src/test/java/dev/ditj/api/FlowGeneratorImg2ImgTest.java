package dev.ditj.api;

import dev.ditj.TestModels;
import dev.ditj.cpu.CpuOps;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Shape;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Image-to-image through the generator on the flow models (SiT, REPA): at strength 1 a flow sampler starts at its
 * noise end, where the interpolant is the noise itself, so the images are exactly the text-to-image ones (dopri5
 * included, whose guided state is the doubled batch); below 1 they are not.
 */
class FlowGeneratorImg2ImgTest {
    private static float[] latents(GenerationRequest r, Path model) {
        try (CpuOps ops = new CpuOps(); Generator g = Generator.load(model, TestModels.vaeTiny(), ops)) {
            return g.generate(r).latents().data();
        }
    }

    private static void check(Path model, SamplerKind sampler, int side) {
        SplittableRandom rng = new SplittableRandom(3);
        float[] picture = new float[4 * side * side];
        for (int i = 0; i < picture.length; i++) picture[i] = (float) rng.nextGaussian();
        GenerationRequest.Builder b = GenerationRequest.builder(3, 7).sampler(sampler).steps(6).cfgScale(4f).seed(11)
                .keepLatent(true);
        float[] plain = latents(b.build(), model);
        HostTensor x0 = new HostTensor(Shape.of(1, 4, side, side), picture);
        assertArrayEquals(plain, latents(b.initImage(InitImage.ofLatents(x0, 1)).build(), model), sampler + " strength 1");
        float[] half = latents(b.initImage(InitImage.ofLatents(x0, 0.5)).build(), model);
        assertFalse(java.util.Arrays.equals(plain, half), sampler + " strength 0.5");
    }

    @Test
    void sitStrengthOneIsTextToImage() {
        for (SamplerKind s : new SamplerKind[] {SamplerKind.EULER, SamplerKind.DOPRI5, SamplerKind.EULER_MARUYAMA}) {
            check(TestModels.sitT(), s, 8);
        }
    }

    @Test
    void repaStrengthOneIsTextToImage() {
        check(TestModels.repaT(), SamplerKind.HEUN, 8);
    }
}
