package dev.ditj.api;

import dev.ditj.InvalidArgumentException;
import dev.ditj.TestModels;
import dev.ditj.cpu.CpuOps;
import dev.ditj.tensor.HostTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** What {@link Generator#check} refuses in an image-to-image request, naming the field, before any work. */
class InitImageRequestTest {
    private static CpuOps ops;
    private static Generator g;

    @BeforeAll
    static void setUp() {
        ops = new CpuOps();
        g = Generator.load(TestModels.ditA(), TestModels.vaeTiny(), ops);
    }

    @AfterAll
    static void tearDown() {
        g.close();
        ops.close();
    }

    private static void refused(String field, String problem, GenerationRequest.Builder b) {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> g.check(b.build()));
        assertEquals(field + " " + problem, e.getMessage());
    }

    private static GenerationRequest.Builder request(InitImage init) {
        return GenerationRequest.builder(1, 2, 3).sampler(SamplerKind.DDIM).steps(10).initImage(init);
    }

    @Test
    void refusals() {
        refused("initImage", "is 32x32 pixels, but dit_a.safetensors with vae_tiny.safetensors takes 64x64 images",
                request(InitImage.ofPixels(HostTensor.zeros(1, 3, 32, 32), 0.5)));
        refused("initImage", "holds 2 pictures; give one for all images or one per image (3)",
                request(InitImage.ofLatents(HostTensor.zeros(2, 4, 8, 8), 0.5)));
        refused("initImage", "latents are [1, 4, 16, 16], but dit_a.safetensors takes [P, 4, 8, 8]",
                request(InitImage.ofLatents(HostTensor.zeros(1, 4, 16, 16), 0.5)));
        refused("mask", "is 32x32, but the picture is 64x64 pixels (8x8 latents)",
                request(InitImage.ofLatents(HostTensor.zeros(1, 4, 8, 8), 0.5).withMask(HostTensor.zeros(1, 1, 32, 32))));
        refused("strength", "keeps no step of 10 (int(10 * 0.09) = 0): use at least 1/10 or more steps, got 0.09",
                request(InitImage.ofLatents(HostTensor.zeros(1, 4, 8, 8), 0.09)));
        assertThrows(InvalidArgumentException.class, () -> InitImage.ofLatents(HostTensor.zeros(1, 4, 8, 8), 0));
        assertThrows(InvalidArgumentException.class, () -> InitImage.ofLatents(HostTensor.zeros(1, 4, 8, 8), 1.01));
        assertThrows(InvalidArgumentException.class, () -> new InitImage(null, null, 0.5, null));
    }
}
