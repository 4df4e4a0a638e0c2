package dev.ditj.emu;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The syntax of a PTX module as nvcc writes it: directives, variables, entries and functions with their parameter
 * lists, register declarations, labels and instruction statements (guard, opcode, operands, source line). The
 * meaning is {@link Decoder}'s business; this class only splits text.
 */
final class Ptx {
    private Ptx() {
    }

    /** One instruction: {@code @!%p1 opcode a, b, c;} at {@code line}. */
    record Stmt(int line, String guard, boolean guardNeg, String opcode, List<String> operands, String text) {
    }

    /** A variable in a state space (.shared, .local, .const, .global), module- or function-scoped. */
    static final class Var {
        String name, space, type;
        int align = 1, elemSize = 1;
        long size;              // bytes; 0 for .extern .shared (dynamic shared memory)
        boolean extern;
        byte[] init;            // initial contents (.const/.global), or null
        int line;
    }

    /** A kernel parameter at its byte offset in the parameter buffer. */
    record Param(String name, String type, int size, int align, int offset) {
    }

    static final class Function {
        String name;
        boolean entry;
        int line;
        final List<Param> params = new ArrayList<>();
        int paramBytes;
        final Map<String, String> regs = new LinkedHashMap<>();   // register name -> declared type
        final List<Var> vars = new ArrayList<>();
        final List<Stmt> body = new ArrayList<>();
        final Map<String, Integer> labels = new LinkedHashMap<>(); // label -> index of the next statement
    }

    static final class Module {
        String name, version, target;
        int addressSize = 64;
        final List<Var> vars = new ArrayList<>();
        final Map<String, Function> functions = new LinkedHashMap<>();
    }

    /** A syntax error with the line it was found on. */
    static final class SyntaxError extends RuntimeException {
        final int line;

        SyntaxError(int line, String message) {
            super(message);
            this.line = line;
        }
    }

    // ------------------------------------------------------------------------------------------ tokens

    private enum Kind { STMT, LABEL, OPEN, CLOSE }

    private record Token(Kind kind, String text, int line) {
    }

    /** Splits the text into statements, labels and block braces, dropping comments. */
    private static List<Token> tokenize(String src) {
        List<Token> out = new ArrayList<>();
        StringBuilder buf = new StringBuilder();
        int line = 1, startLine = 1, operandDepth = 0, n = src.length();
        boolean inString = false;
        for (int i = 0; i < n; i++) {
            char c = src.charAt(i);
            if (c == '\n') {
                line++;
                // .version, .target, .address_size, .file and .loc end at the line end, without ';'
                String b = buf.toString().trim();
                if (operandDepth == 0 && !inString && (b.startsWith(".version") || b.startsWith(".target")
                        || b.startsWith(".address_size") || b.startsWith(".file") || b.startsWith(".loc"))) {
                    out.add(new Token(Kind.STMT, b, startLine));
                    buf.setLength(0);
                    continue;
                }
            }
            if (inString) {
                buf.append(c);
                if (c == '"') inString = false;
                continue;
            }
            if (c == '/' && i + 1 < n && src.charAt(i + 1) == '/') {
                while (i + 1 < n && src.charAt(i + 1) != '\n') i++;
                continue;
            }
            if (c == '/' && i + 1 < n && src.charAt(i + 1) == '*') {
                int end = src.indexOf("*/", i + 2);
                if (end < 0) throw new SyntaxError(line, "unterminated comment");
                for (int k = i; k < end; k++) if (src.charAt(k) == '\n') line++;
                i = end + 1;
                continue;
            }
            boolean empty = buf.toString().isBlank();
            if (empty && !Character.isWhitespace(c)) startLine = line;
            switch (c) {
                case '"' -> {
                    inString = true;
                    buf.append(c);
                }
                case ';' -> {
                    if (operandDepth != 0) throw new SyntaxError(startLine, "unbalanced braces before ';'");
                    if (!empty) out.add(new Token(Kind.STMT, buf.toString().trim(), startLine));
                    buf.setLength(0);
                }
                case '{' -> {
                    String b = buf.toString();
                    if (empty || (operandDepth == 0 && (b.contains(".entry") || b.contains(".func")))) {
                        if (!empty) out.add(new Token(Kind.STMT, b.trim(), startLine));
                        out.add(new Token(Kind.OPEN, "{", line));
                        buf.setLength(0);
                    } else {
                        operandDepth++;
                        buf.append(c);
                    }
                }
                case '}' -> {
                    if (operandDepth > 0) {
                        operandDepth--;
                        buf.append(c);
                    } else {
                        if (!empty) throw new SyntaxError(startLine, "missing ';' before '}': " + buf.toString().trim());
                        out.add(new Token(Kind.CLOSE, "}", line));
                    }
                }
                case ':' -> {
                    String b = buf.toString().trim();
                    boolean label = operandDepth == 0 && !b.isEmpty() && b.matches("[A-Za-z_$%][A-Za-z0-9_$]*")
                            && !(i + 1 < n && src.charAt(i + 1) == ':');
                    if (label) {
                        out.add(new Token(Kind.LABEL, b, startLine));
                        buf.setLength(0);
                    } else {
                        buf.append(c);
                    }
                }
                default -> buf.append(c);
            }
        }
        if (!buf.toString().isBlank()) throw new SyntaxError(startLine, "missing ';' at end: " + buf.toString().trim());
        return out;
    }

    // ------------------------------------------------------------------------------------------ module

    static Module parse(String name, String src) {
        Module m = new Module();
        m.name = name;
        List<Token> toks = tokenize(src);
        for (int i = 0; i < toks.size(); i++) {
            Token t = toks.get(i);
            switch (t.kind) {
                case STMT -> {
                    String s = t.text;
                    if (s.startsWith(".version")) m.version = s.substring(8).trim();
                    else if (s.startsWith(".target")) m.target = s.substring(7).trim();
                    else if (s.startsWith(".address_size")) m.addressSize = Integer.parseInt(s.substring(13).trim());
                    else if (s.startsWith(".file") || s.startsWith(".loc") || s.startsWith(".pragma")) {
                        // debug information and hints: nothing to execute
                    } else if (isFunctionHeader(s)) {
                        Function f = header(s, t.line);
                        if (i + 1 < toks.size() && toks.get(i + 1).kind == Kind.OPEN) {
                            i = body(f, toks, i + 2);
                            m.functions.put(f.name, f);
                        } // else a prototype (.extern .func ...;): only calls would need it
                    } else if (isVariable(s)) {
                        m.vars.add(variable(s, t.line));
                    } else {
                        throw new SyntaxError(t.line, "unsupported module-level directive: " + s);
                    }
                }
                case LABEL -> throw new SyntaxError(t.line, "label outside a function: " + t.text);
                case OPEN, CLOSE -> throw new SyntaxError(t.line, "unexpected brace at module level");
            }
        }
        return m;
    }

    private static boolean isFunctionHeader(String s) {
        return s.matches("(?s)^(\\.(visible|extern|weak)\\s+)*\\.(entry|func)\\b.*");
    }

    private static boolean isVariable(String s) {
        return s.matches("(?s)^(\\.(visible|extern|weak)\\s+)*\\.(shared|const|global|local)\\b.*");
    }

    private static Function header(String s, int line) {
        Function f = new Function();
        f.line = line;
        f.entry = s.contains(".entry");
        int open = s.indexOf('(');
        String head = open < 0 ? s : s.substring(0, open);
        if (!f.entry && head.trim().endsWith(")")) throw new SyntaxError(line, ".func with return values: " + s);
        String[] words = head.trim().split("\\s+");
        f.name = words[words.length - 1];
        if (!f.entry && s.indexOf('(') >= 0 && s.substring(0, s.indexOf('(')).trim().endsWith(".func")) {
            // ".func (.param ...) name (...)": return value list first
            int close = s.indexOf(')');
            int open2 = s.indexOf('(', close);
            f.name = s.substring(close + 1, open2 < 0 ? s.length() : open2).trim();
            open = open2;
        }
        if (open >= 0) {
            int close = s.lastIndexOf(')');
            String list = s.substring(open + 1, close).trim();
            int offset = 0;
            if (!list.isEmpty()) {
                for (String p : list.split(",")) {
                    Param prm = param(p.trim(), offset, line);
                    offset = prm.offset + prm.size;
                    f.params.add(prm);
                }
            }
            f.paramBytes = offset;
        }
        return f;
    }

    private static Param param(String s, int offset, int line) {
        String[] w = s.split("\\s+");
        if (!w[0].equals(".param")) throw new SyntaxError(line, "unsupported parameter: " + s);
        String type = null;
        int align = 0;
        String name = null;
        for (int k = 1; k < w.length; k++) {
            String x = w[k];
            if (x.equals(".align")) align = Integer.parseInt(w[++k]);
            else if (x.equals(".ptr") || x.equals(".global") || x.equals(".shared") || x.equals(".const")
                    || x.equals(".local")) continue;
            else if (x.startsWith(".")) type = x.substring(1);
            else name = x;
        }
        if (type == null || name == null) throw new SyntaxError(line, "cannot read parameter: " + s);
        int size = typeSize(type, line);
        int count = 1;
        int br = name.indexOf('[');
        if (br >= 0) {
            count = Integer.parseInt(name.substring(br + 1, name.indexOf(']')));
            name = name.substring(0, br);
        }
        if (align == 0) align = size;
        offset = (offset + align - 1) / align * align;
        return new Param(name, type, size * count, align, offset);
    }

    private static int body(Function f, List<Token> toks, int i) {
        int depth = 1;
        for (; i < toks.size(); i++) {
            Token t = toks.get(i);
            switch (t.kind) {
                case OPEN -> depth++;       // inline-asm scopes: registers declared in them are function-wide here
                case CLOSE -> {
                    if (--depth == 0) return i;
                }
                case LABEL -> f.labels.put(t.text, f.body.size());
                case STMT -> statement(f, t.text, t.line);
            }
        }
        throw new SyntaxError(f.line, "function " + f.name + " has no closing brace");
    }

    private static void statement(Function f, String s, int line) {
        if (s.startsWith(".reg")) {
            regs(f, s, line);
        } else if (s.startsWith(".local") || s.startsWith(".shared") || s.startsWith(".const") || s.startsWith(".global")) {
            f.vars.add(variable(s, line));
        } else if (s.startsWith(".pragma") || s.startsWith(".loc") || s.startsWith(".maxntid")
                || s.startsWith(".reqntid") || s.startsWith(".minnctapersm") || s.startsWith(".maxnreg")) {
            // hints and debug information
        } else if (s.startsWith(".")) {
            throw new SyntaxError(line, "unsupported directive: " + s);
        } else {
            f.body.add(instruction(s, line));
        }
    }

    private static void regs(Function f, String s, int line) {
        String rest = s.substring(4).trim();
        String type = null;
        while (rest.startsWith(".")) {
            int sp = firstSpace(rest);
            String w = rest.substring(1, sp);
            if (!w.startsWith("v")) type = w;
            else throw new SyntaxError(line, "vector registers are not supported: " + s);
            rest = rest.substring(sp).trim();
        }
        if (type == null) throw new SyntaxError(line, "register declaration without a type: " + s);
        for (String part : rest.split(",")) {
            String p = part.trim();
            int lt = p.indexOf('<');
            if (lt >= 0) {
                String base = p.substring(0, lt);
                int count = Integer.parseInt(p.substring(lt + 1, p.indexOf('>')));
                for (int k = 0; k < count; k++) f.regs.put(base + k, type);
            } else {
                f.regs.put(p, type);
            }
        }
    }

    private static int firstSpace(String s) {
        for (int k = 0; k < s.length(); k++) if (Character.isWhitespace(s.charAt(k))) return k;
        return s.length();
    }

    static Var variable(String s, int line) {
        Var v = new Var();
        v.line = line;
        String init = null;
        int eq = s.indexOf('=');
        if (eq >= 0) {
            init = s.substring(eq + 1).trim();
            s = s.substring(0, eq).trim();
        }
        String[] w = s.split("\\s+");
        for (int k = 0; k < w.length; k++) {
            String x = w[k];
            switch (x) {
                case ".visible", ".weak" -> {
                }
                case ".extern" -> v.extern = true;
                case ".shared", ".const", ".global", ".local" -> v.space = x.substring(1);
                case ".align" -> v.align = Integer.parseInt(w[++k]);
                default -> {
                    if (x.startsWith(".")) {
                        v.type = x.substring(1);
                        v.elemSize = typeSize(v.type, line);
                    } else {
                        String name = x;
                        long count = 1;
                        int br = name.indexOf('[');
                        if (br >= 0) {
                            String dims = name.substring(br);
                            name = name.substring(0, br);
                            for (String d : dims.substring(1, dims.length() - 1).split("\\]\\[")) {
                                count *= d.isEmpty() ? 0 : Long.parseLong(d.trim());
                            }
                        }
                        v.name = name;
                        v.size = count * v.elemSize;
                    }
                }
            }
        }
        if (v.name == null || v.type == null) throw new SyntaxError(line, "cannot read variable: " + s);
        if (init != null) v.init = initializer(init, v, line);
        return v;
    }

    private static byte[] initializer(String init, Var v, int line) {
        String body = init.startsWith("{") ? init.substring(1, init.lastIndexOf('}')) : init;
        String[] items = body.split(",");
        byte[] out = new byte[(int) v.size];
        int k = 0;
        for (String item : items) {
            String it = item.trim();
            if (it.isEmpty()) continue;
            long bits;
            if (it.matches("0[fF][0-9a-fA-F]{8}")) bits = Long.parseLong(it.substring(2), 16);
            else if (it.matches("0[dD][0-9a-fA-F]{16}")) bits = Long.parseUnsignedLong(it.substring(2), 16);
            else if (it.startsWith("generic(") || it.matches("[A-Za-z_$].*")) {
                throw new SyntaxError(line, "address initializers are not supported: " + it);
            } else bits = parseInt(it, line);
            for (int b = 0; b < v.elemSize && k * v.elemSize + b < out.length; b++) {
                out[k * v.elemSize + b] = (byte) (bits >>> (8 * b));
            }
            k++;
        }
        return out;
    }

    static long parseInt(String s, int line) {
        String t = s.trim();
        boolean neg = t.startsWith("-");
        if (neg) t = t.substring(1);
        if (t.endsWith("U") || t.endsWith("u")) t = t.substring(0, t.length() - 1);
        long v;
        try {
            if (t.startsWith("0x") || t.startsWith("0X")) v = Long.parseUnsignedLong(t.substring(2), 16);
            else if (t.length() > 1 && t.startsWith("0") && t.chars().allMatch(Character::isDigit)) v = Long.parseLong(t, 8);
            else if (t.startsWith("0b") || t.startsWith("0B")) v = Long.parseUnsignedLong(t.substring(2), 2);
            else v = Long.parseUnsignedLong(t);
        } catch (NumberFormatException e) {
            throw new SyntaxError(line, "bad integer: " + s);
        }
        return neg ? -v : v;
    }

    private static Stmt instruction(String s, int line) {
        String text = s.replaceAll("\\s+", " ").trim();
        String rest = text;
        String guard = null;
        boolean neg = false;
        if (rest.startsWith("@")) {
            int sp = rest.indexOf(' ');
            guard = rest.substring(1, sp);
            if (guard.startsWith("!")) {
                neg = true;
                guard = guard.substring(1);
            }
            rest = rest.substring(sp + 1).trim();
        }
        int sp = rest.indexOf(' ');
        String opcode = sp < 0 ? rest : rest.substring(0, sp);
        List<String> ops = new ArrayList<>();
        if (sp >= 0) ops = splitOperands(rest.substring(sp + 1), line);
        return new Stmt(line, guard, neg, opcode, ops, text);
    }

    /** Splits at top-level commas (not inside {} or []). */
    static List<String> splitOperands(String s, int line) {
        List<String> out = new ArrayList<>();
        int depth = 0, start = 0;
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            if (c == '{' || c == '[' || c == '(') depth++;
            else if (c == '}' || c == ']' || c == ')') depth--;
            else if (c == ',' && depth == 0) {
                out.add(s.substring(start, k).trim());
                start = k + 1;
            }
        }
        if (depth != 0) throw new SyntaxError(line, "unbalanced brackets: " + s);
        String last = s.substring(start).trim();
        if (!last.isEmpty()) out.add(last);
        return out;
    }

    static int typeSize(String type, int line) {
        return switch (type) {
            case "b8", "u8", "s8", "pred" -> 1;
            case "b16", "u16", "s16", "f16", "bf16" -> 2;
            case "b32", "u32", "s32", "f32", "f16x2", "bf16x2", "tf32" -> 4;
            case "b64", "u64", "s64", "f64" -> 8;
            case "b128" -> 16;
            default -> throw new SyntaxError(line, "unknown type ." + type);
        };
    }
}
