package dev.ditj.cuda;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Kernel parameters as a PTX {@code .entry} declares them, and the check both devices apply to launch arguments:
 * same count, and each argument's Java type matching its parameter ({@link Long} for 8-byte integers and pointers,
 * {@link Integer} for 4-byte integers, {@link Float} for {@code .f32}, {@link Double} for {@code .f64}).
 */
public final class KernelArgs {
    /** One declared parameter: name, PTX type (without the dot) and size in bytes. */
    public record Param(String name, String type, int size) {
    }

    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+([A-Za-z_$][\\w$]*)\\s*\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+(?:\\.ptr\\s+)?(?:\\.(?:global|shared|const|local)\\s+)?"
            + "(?:\\.align\\s+\\d+\\s+)?\\.(\\w+)\\s+([A-Za-z_$][\\w$]*)(?:\\[(\\d+)\\])?");

    private KernelArgs() {
    }

    /** The parameter list of {@code entry} in PTX text, or null when there is no such entry. */
    public static List<Param> parse(String ptx, String entry) {
        Matcher m = ENTRY.matcher(ptx);
        while (m.find()) {
            if (!m.group(1).equals(entry)) continue;
            List<Param> out = new ArrayList<>();
            Matcher p = PARAM.matcher(m.group(2));
            while (p.find()) {
                int elem = switch (p.group(1)) {
                    case "b8", "u8", "s8" -> 1;
                    case "b16", "u16", "s16", "f16", "bf16" -> 2;
                    case "b64", "u64", "s64", "f64" -> 8;
                    default -> 4;
                };
                out.add(new Param(p.group(2), p.group(1), elem * (p.group(3) == null ? 1 : Integer.parseInt(p.group(3)))));
            }
            return out;
        }
        return null;
    }

    /** Checks {@code args} against {@code params}; the message names the kernel, argument and declared type. */
    public static void check(String kernel, List<Param> params, Object[] args) {
        if (args.length != params.size()) {
            throw new CudaException("launch of kernel " + kernel + ": " + args.length + " arguments given, the kernel declares "
                    + params.size() + " parameters " + describe(params));
        }
        for (int i = 0; i < args.length; i++) {
            Param p = params.get(i);
            Object a = args[i];
            String why = null;
            if (a instanceof Long) {
                if (p.size != 8 || p.type.equals("f64")) why = "a Long (8-byte integer or pointer)";
            } else if (a instanceof Integer) {
                if (p.size != 4 || p.type.equals("f32")) why = "an Integer (4-byte integer)";
            } else if (a instanceof Float) {
                if (!p.type.equals("f32")) why = "a Float";
            } else if (a instanceof Double) {
                if (!p.type.equals("f64")) why = "a Double";
            } else {
                why = a == null ? "null" : "a " + a.getClass().getSimpleName() + " (use Long, Integer, Float or Double)";
            }
            if (why != null) {
                throw new CudaException("launch of kernel " + kernel + ": argument " + i + " is " + why + " but parameter " + i
                        + " (" + p.name + ") is ." + p.type + " (" + p.size + " bytes)");
            }
        }
    }

    private static String describe(List<Param> params) {
        StringBuilder s = new StringBuilder("(");
        for (int i = 0; i < params.size(); i++) s.append(i == 0 ? "" : ", ").append('.').append(params.get(i).type).append(' ').append(params.get(i).name);
        return s.append(')').toString();
    }
}
