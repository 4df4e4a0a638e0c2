package dev.ditj.api;

import dev.ditj.DitjException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClassLabelsTest {
    private static final ClassLabels IMAGENET = ClassLabels.imagenet();

    private static String error(ClassLabels labels, String query) {
        return assertThrows(DitjException.class, () -> labels.resolve(query)).getMessage();
    }

    @Test
    void imagenetHasTheStandardOrder() {
        assertEquals(1000, IMAGENET.size());
        assertEquals(1000, IMAGENET.names().size());
        assertEquals(List.of("tench", "Tinca tinca"), IMAGENET.synonyms(0));
        assertEquals(List.of("goldfish", "Carassius auratus"), IMAGENET.synonyms(1));
        assertEquals("macaw", IMAGENET.name(88));
        assertEquals("golden retriever", IMAGENET.name(207));
        assertEquals(List.of("Arctic fox", "white fox", "Alopex lagopus"), IMAGENET.synonyms(279));
        assertEquals("otter", IMAGENET.name(360));
        assertEquals("lesser panda", IMAGENET.name(387));
        assertEquals("red panda", IMAGENET.synonyms(387).get(1));
        assertEquals("balloon", IMAGENET.name(417));
        assertEquals("geyser", IMAGENET.name(974));
        assertEquals(List.of("valley", "vale"), IMAGENET.synonyms(979));
        assertEquals(List.of("toilet tissue", "toilet paper", "bathroom tissue"), IMAGENET.synonyms(999));
    }

    @Test
    void resolvesIdsAndNames() {
        assertEquals(0, IMAGENET.resolve("0"));
        assertEquals(999, IMAGENET.resolve(" 999 "));
        assertEquals(207, IMAGENET.resolve("golden retriever"));
        assertEquals(387, IMAGENET.resolve("red panda"));
        assertEquals(279, IMAGENET.resolve("white fox"));
        assertEquals(1, IMAGENET.resolve("Carassius auratus"));
        assertEquals(207, IMAGENET.resolve("golden retr"));
        assertEquals(207, IMAGENET.resolve("  Golden_Retriever "));
        assertEquals(279, IMAGENET.resolve("ARCTIC-FOX"));
        assertEquals(974, IMAGENET.resolve("geyser"));
        // An exact display name beats another class's identical synonym ("ruffed grouse, partridge" is 82).
        assertEquals(86, IMAGENET.resolve("partridge"));
        assertArrayEquals(new int[] {88, 979, 417}, IMAGENET.resolveAll(List.of("macaw", "valley", "417")));
    }

    @Test
    void outOfRangeIdNamesTheRange() {
        assertTrue(error(IMAGENET, "1000").contains("0..999"), error(IMAGENET, "1000"));
        assertTrue(error(IMAGENET, "-1").contains("0..999"));
        assertTrue(error(IMAGENET, "99999999999999999999999").contains("0..999"));
    }

    @Test
    void ambiguousNamesListCandidates() {
        String golden = error(IMAGENET, "gold");
        assertTrue(golden.contains("ambiguous"), golden);
        assertTrue(golden.contains("goldfish (1)") && golden.contains("goldfinch (11)"), golden);
        String crane = error(IMAGENET, "crane"); // two classes share the name: bird 134, machine 517
        assertTrue(crane.contains("(134)") && crane.contains("(517)"), crane);
    }

    @Test
    void unknownNamesSuggestCloseMatches() {
        String msg = error(IMAGENET, "goldfsh");
        assertTrue(msg.startsWith("class 'goldfsh' is unknown; did you mean: goldfish (1)"), msg);
        assertTrue(msg.contains("--list-classes"), msg);
        assertTrue(error(IMAGENET, "golden retriver").contains("golden retriever (207)"));
        assertTrue(error(IMAGENET, "retriever").contains("golden retriever (207)")); // substring, not prefix
        String none = error(IMAGENET, "qqqqqqqqqqqqqqqqqqqq");
        assertFalse(none.contains("did you mean"), none);
        assertTrue(none.contains("--list-classes"), none);
    }

    @Test
    void customAndNumericLabels() {
        ClassLabels emoji = ClassLabels.of(List.of("Smileys & Emotion", "People & Body", "Animals & Nature",
                "Food & Drink", "Travel & Places", "Activities", "Objects", "Symbols", "Flags"));
        assertEquals(9, emoji.size());
        assertEquals(0, emoji.resolve("smileys"));
        assertEquals(5, emoji.resolve("ACTIVITIES"));
        assertEquals(3, emoji.resolve("3"));
        assertTrue(error(emoji, "9").contains("0..8"));
        assertTrue(error(emoji, "Flgs").contains("Flags (8)"));

        ClassLabels numeric = ClassLabels.numeric(10);
        assertFalse(numeric.hasNames());
        assertEquals("7", numeric.name(7));
        assertEquals(7, numeric.resolve("7"));
        assertTrue(error(numeric, "dog").contains("no class names"));
        assertThrows(DitjException.class, () -> ClassLabels.of(List.of("a", " , ")));
    }

    @Test
    void listingHasOneAlignedLinePerClass() {
        String[] lines = IMAGENET.listing().split("\n");
        assertEquals(1000, lines.length);
        assertEquals("  0  tench, Tinca tinca", lines[0]);
        assertEquals("207  golden retriever", lines[207]);
    }

    /** Subgroup classes of two categories, as the bundled emoji model names them, with the categories as groups. */
    private static final ClassLabels GROUPED = ClassLabels.of(
            List.of("Objects: tool, tool", "Objects: book-paper, book-paper", "Objects: other-object, other-object",
                    "Flags: flag, flag", "Flags: country-flag, country-flag"),
            List.of(new ClassGroup("Objects, things", new int[] {0, 1, 2}, new double[] {26, 15, 9}),
                    new ClassGroup("Flags", new int[] {3, 4}, new double[] {7, 240})));

    @Test
    void groupsAreSelectedByNameAndClassesStillResolve() {
        assertEquals(GROUPED.groups().get(0), GROUPED.select("objects"));
        assertEquals(GROUPED.groups().get(0), GROUPED.select("Things"));
        assertEquals(GROUPED.groups().get(0), GROUPED.select("obj")); // a group prefix beats the classes' names
        assertEquals(GROUPED.groups().get(1), GROUPED.select(" FLAGS "));
        // a class's own synonym matching exactly beats a group matching only by prefix ("flag" vs "Flags")
        assertArrayEquals(new int[] {3}, GROUPED.select("flag").classes());
        assertArrayEquals(new int[] {1}, GROUPED.select("book paper").classes());
        assertArrayEquals(new int[] {1}, GROUPED.select("objects: book").classes());
        assertArrayEquals(new int[] {4}, GROUPED.select("4").classes()); // ids are always classes
        assertEquals("Flags: country-flag", GROUPED.select("4").name());
        assertEquals(1, GROUPED.resolve("book-paper"));
        assertArrayEquals(new int[] {0, 2}, GROUPED.resolveAll(List.of("tool", "other object")));
        assertEquals(List.of(GROUPED.groups().get(1), GROUPED.select("tool")), GROUPED.selectAll(List.of("flags", "0")));

        String unknown = assertThrows(DitjException.class, () -> GROUPED.select("objcts")).getMessage();
        assertTrue(unknown.contains("Objects (group)"), unknown);
        ClassLabels twoF = ClassLabels.of(List.of("a", "b"), List.of(new ClassGroup("fruit", new int[] {0}, new double[] {1}),
                new ClassGroup("fish", new int[] {1}, new double[] {1})));
        String ambiguous = assertThrows(DitjException.class, () -> twoF.select("f")).getMessage();
        assertTrue(ambiguous.contains("ambiguous") && ambiguous.contains("fruit") && ambiguous.contains("fish"), ambiguous);
        assertTrue(GROUPED.listing().contains("group Objects, things: 3 classes (0 1 2)"), GROUPED.listing());
        assertTrue(ClassLabels.of(List.of("a")).groups().isEmpty());
    }

    @Test
    void badGroupsAreRefusedByName() {
        String range = assertThrows(DitjException.class, () -> ClassLabels.of(List.of("a", "b"),
                List.of(new ClassGroup("pair", new int[] {0, 2}, new double[] {1, 1})))).getMessage();
        assertTrue(range.contains("'pair'") && range.contains("class 2") && range.contains("0..1"), range);
        for (double bad : new double[] {0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
            String w = assertThrows(DitjException.class, () -> new ClassGroup("g", new int[] {0}, new double[] {bad})).getMessage();
            assertTrue(w.contains("'g'") && w.contains("weight"), w);
        }
        assertThrows(DitjException.class, () -> new ClassGroup("g", new int[] {0, 0}, new double[] {1, 1}));
        assertThrows(DitjException.class, () -> new ClassGroup("g", new int[] {}, new double[] {}));
        assertThrows(DitjException.class, () -> new ClassGroup("g", new int[] {0, 1}, new double[] {1}));
        assertThrows(DitjException.class, () -> new ClassGroup(" ", new int[] {0}, new double[] {1}));
        assertThrows(DitjException.class, () -> new ClassGroup(" , ", new int[] {0}, new double[] {1}));
    }

    @Test
    void groupDrawsFollowTheWeightsAndAreFixedBySeedAndIndex() {
        ClassGroup g = new ClassGroup("g", new int[] {5, 7, 9}, new double[] {1, 3, 6});
        long seed = new java.util.Random().nextLong(); // any seed: the rates must hold for all of them
        int n = 20000;
        int[] counts = new int[10];
        for (int i = 0; i < n; i++) {
            int c = g.draw(seed, i);
            counts[c]++;
            assertEquals(c, g.draw(seed, i), "same seed and index, same class");
        }
        assertEquals(n, counts[5] + counts[7] + counts[9]);
        // binomial standard deviations at n = 20000 are <= 0.0035: 5 of them is a failure by chance ~1 in 10^6
        assertEquals(0.1, counts[5] / (double) n, 0.0175, "weight 1 of 10");
        assertEquals(0.3, counts[7] / (double) n, 0.0175, "weight 3 of 10");
        assertEquals(0.6, counts[9] / (double) n, 0.0175, "weight 6 of 10");
        int differ = 0;
        for (int i = 0; i < 200; i++) if (g.draw(seed, i) != g.draw(seed + 1, i)) differ++;
        assertTrue(differ > 60, "another seed draws other classes: " + differ + " of 200 differ");
        assertEquals(4, ClassGroup.of(4, "x").draw(seed, 3));
    }
}
