package dev.ditj.io;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.ditj.DitjException;

import java.math.BigDecimal;

/**
 * JSON read from files (model configs, generation defaults, safetensors headers), with errors in our words: Gson's
 * messages carry advice for programmers ("Use JsonReader.setStrictness(...)") and a link, over two lines.
 * {@code what} names the file (and the field) in every message.
 */
public final class Json {
    private Json() {
    }

    /** {@code text} as a JSON object (Gson's lenient syntax, as {@link JsonParser#parseString} reads it). */
    public static JsonObject parseObject(String text, String what) {
        if (text == null) throw new DitjException(what + ": missing");
        JsonElement e;
        try {
            e = JsonParser.parseString(text);
        } catch (JsonParseException ex) {
            throw new DitjException(what + ": not valid JSON (" + syntaxError(ex) + ")", ex);
        }
        if (!e.isJsonObject()) throw new DitjException(what + ": expected a JSON object, found " + show(e));
        return e.getAsJsonObject();
    }

    /**
     * Gson's parse error as one line without its advice, e.g. "unterminated object at line 1 column 9". Takes
     * what Gson throws: {@link JsonParseException}, its {@code MalformedJsonException}/{@code EOFException}, or the
     * {@link IllegalStateException} of a streaming read.
     */
    public static String syntaxError(Exception e) {
        Throwable t = e;
        while (t instanceof JsonParseException && t.getCause() != null) t = t.getCause();
        String m = t.getMessage() == null ? "" : t.getMessage();
        int nl = m.indexOf('\n');
        if (nl >= 0) m = m.substring(0, nl); // the second line is a link to Gson's troubleshooting guide
        m = m.replace("Use JsonReader.setStrictness(Strictness.LENIENT) to accept malformed JSON", "malformed JSON")
                .replaceFirst(" path \\$.*$", "") // Gson's JSONPath of the position; line and column suffice
                .strip();
        if (m.isEmpty()) return "malformed JSON";
        return Character.toLowerCase(m.charAt(0)) + m.substring(1);
    }

    /** A JSON number that is an integer in int range. */
    public static int intValue(JsonElement v, String what) {
        if (v != null && v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber()) {
            try {
                return new BigDecimal(v.getAsString()).intValueExact();
            } catch (ArithmeticException | NumberFormatException ignored) {
                // fractional, out of range, or a lenient non-number: refused below
            }
        }
        throw new DitjException(what + " must be an integer, got " + show(v));
    }

    /** A finite JSON number. */
    public static double doubleValue(JsonElement v, String what) {
        if (v != null && v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber()) {
            try {
                double d = v.getAsDouble();
                if (Double.isFinite(d)) return d;
            } catch (NumberFormatException ignored) {
                // a lenient non-number: refused below
            }
        }
        throw new DitjException(what + " must be a finite number, got " + show(v));
    }

    public static boolean boolValue(JsonElement v, String what) {
        if (v != null && v.isJsonPrimitive() && v.getAsJsonPrimitive().isBoolean()) return v.getAsBoolean();
        throw new DitjException(what + " must be true or false, got " + show(v));
    }

    public static String stringValue(JsonElement v, String what) {
        if (v != null && v.isJsonPrimitive() && v.getAsJsonPrimitive().isString()) return v.getAsString();
        throw new DitjException(what + " must be a string, got " + show(v));
    }

    /** A JSON value for a message: short, one line (JSON escapes newlines in strings). */
    private static String show(JsonElement v) {
        if (v == null || v.isJsonNull()) return "null";
        if (v.isJsonArray()) return "an array";
        if (v.isJsonObject()) return "an object";
        JsonPrimitive p = v.getAsJsonPrimitive();
        String s = p.toString();
        return s.length() <= 40 ? s : s.substring(0, 37) + "...";
    }
}
