package dev.ditj.model;

import dev.ditj.RandomModels;
import dev.ditj.convert.Converter;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Parameter counts of every official config against the DiT spec's table, and of the SD VAE decoder. */
class ConfigTest {
    @ParameterizedTest
    @CsvSource({
            "12, 384, 6, 2, 32865056, 98304", "12, 384, 6, 4, 32920448, 24576", "12, 384, 6, 8, 33142016, 6144",
            "12, 768, 12, 2, 130315808, 196608", "12, 768, 12, 4, 130426496, 49152", "12, 768, 12, 8, 130869248, 12288",
            "24, 1024, 16, 2, 457840672, 262144", "24, 1024, 16, 4, 457988224, 65536", "24, 1024, 16, 8, 458578432, 16384",
            "28, 1152, 16, 2, 674834720, 294912", "28, 1152, 16, 4, 675000704, 73728", "28, 1152, 16, 8, 675664640, 18432"})
    void officialFamilyMatchesSpec(int depth, int hidden, int heads, int patch, long params, long posEmbed) {
        DitConfig c = new DitConfig(4, 32, patch, hidden, depth, heads, 4.0, 1000, true);
        assertEquals(params, c.parameterCount());
        long total = Converter.expectedTensors(c).values().stream()
                .mapToLong(d -> java.util.Arrays.stream(d).asLongStream().reduce(1, (a, b) -> a * b)).sum();
        assertEquals(params + posEmbed, total, "tensor list = trainable + pos_embed");
        assertEquals(2 + 4 + 1 + 1 + 10 * depth + 4, Converter.expectedTensors(c).size());
    }

    @Test
    void sdVaeDecoderHasTheSpecsParameterCount() {
        var shapes = Converter.expectedTensors(RandomModels.sdVae());
        long n = shapes.values().stream()
                .mapToLong(d -> java.util.Arrays.stream(d).asLongStream().reduce(1, (a, b) -> a * b)).sum();
        assertEquals(49_490_199L, n);
        assertEquals(140, shapes.size());
        assertEquals(8, RandomModels.sdVae().downsamplingFactor());
    }
}
