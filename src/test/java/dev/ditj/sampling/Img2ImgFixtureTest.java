package dev.ditj.sampling;

import dev.ditj.CpuBackendTest;
import dev.ditj.TestModels;
import dev.ditj.api.InitImage;
import dev.ditj.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Image-to-image on the CPU backend against diffusers' schedulers and pipelines (see {@link Img2ImgChains}). */
class Img2ImgFixtureTest extends CpuBackendTest {
    @Test
    void addNoiseMatchesDiffusers() {
        Img2ImgChains.addNoise(ops);
    }

    /** Gray levels as PIL's convert("L"), binarised, nearest to latent size: the pipeline's mask, exactly. */
    @Test
    void maskMatchesDiffusersMaskProcessor() {
        HostTensor x0 = TestModels.floats("img2img_x0.npy");
        float[] m = InitImage.ofLatents(x0, 1).withMask(Img2ImgChains.mask()).latentMask(8);
        assertArrayEquals(TestModels.floats("img2img_mask_latent.npy").data(), m);
    }

    @Test
    void chainsMatchDiffusers() {
        Img2ImgChains.chains(ops, Img2ImgChains.Chain.values());
    }

    @Test
    void chainFromPixelsMatchesDiffusers() {
        Img2ImgChains.fromPixels(ops);
    }
}
