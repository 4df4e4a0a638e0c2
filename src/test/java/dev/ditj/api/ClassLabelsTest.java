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
}
