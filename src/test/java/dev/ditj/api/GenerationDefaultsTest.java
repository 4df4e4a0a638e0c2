package dev.ditj.api;

import dev.ditj.DitjException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The autoguidance keys of a model's generation defaults: parsed, written back, refused when bad. */
class GenerationDefaultsTest {
    @Test
    void guideModelAndScaleRoundTrip() {
        GenerationDefaults d = GenerationDefaults.parse("{\"sampler\":\"ddim\",\"steps\":50,\"cfg_scale\":7,"
                + "\"guide_model\":\"small.safetensors\",\"guide_scale\":1.5}", "m.safetensors");
        assertEquals("small.safetensors", d.guideModel());
        assertEquals(1.5f, d.guideScale());
        assertEquals(d, GenerationDefaults.parse(d.toJson(), "m.safetensors"));
        GenerationDefaults none = GenerationDefaults.parse("{\"steps\":20}", "m.safetensors");
        assertNull(none.guideModel());
        assertEquals(1f, none.guideScale());
        assertTrue(!none.toJson().contains("guide"), none.toJson());
    }

    @Test
    void badGuideSettingsAreRefusedWithTheirKey() {
        String[][] cases = {
                {"{\"guide_model\":\"g.safetensors\",\"guide_scale\":0.5}", "'guide_scale'"},
                {"{\"guide_model\":\"dir/g.safetensors\"}", "'guide_model'"},
                {"{\"guide_model\":\" \"}", "'guide_model'"},
                {"{\"guide_model\":3}", "'guide_model'"},
                {"{\"guide_scale\":2}", "'guide_scale' without 'guide_model'"},
        };
        for (String[] c : cases) {
            DitjException e = assertThrows(DitjException.class, () -> GenerationDefaults.parse(c[0], "m.safetensors"),
                    c[0]);
            assertTrue(e.getMessage().contains(c[1]) && e.getMessage().contains("m.safetensors"), e.getMessage());
        }
    }
}
