package dev.ditj.ops;

import dev.ditj.Compare;
import dev.ditj.tensor.Ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Runs one op case on a backend under test and on a reference backend and compares. */
public final class OpHarness {
    private OpHarness() {
    }

    public static void check(OpCases.Case c, Ops underTest, Ops reference) {
        float[] expected = c.run().apply(reference);
        float[] actual = c.run().apply(underTest);
        if (c.tolerance() == 0) {
            assertArrayEquals(expected, actual, 0f, c.name() + " (" + underTest.name() + " vs " + reference.name() + ")");
        } else {
            Compare.assertRelL2(actual, expected, c.tolerance(), c.name() + " (" + underTest.name() + " vs " + reference.name() + ")");
        }
    }
}
