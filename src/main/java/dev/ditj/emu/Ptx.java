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
        /** Return values of a .func (its "(.param ...)" list before the name). */
        final List<Param> returns = new ArrayList<>();
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
        new Inliner(m).run();
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
            String rets = s.substring(s.indexOf('(') + 1, close).trim();
            int roff = 0;
            if (!rets.isEmpty()) {
                for (String r : rets.split(",")) {
                    Param prm = param(r.trim(), roff, line);
                    roff = prm.offset + prm.size;
                    f.returns.add(prm);
                }
            }
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
        // Nested scopes (call sequences, inline asm): their .param declarations are per-thread memory with names
        // made unique per scope, since nvcc reuses param0/retval0 in every call sequence.
        List<Map<String, String>> scopes = new ArrayList<>();
        scopes.add(new LinkedHashMap<>());
        for (; i < toks.size(); i++) {
            Token t = toks.get(i);
            switch (t.kind) {
                case OPEN -> {
                    depth++;
                    scopes.add(new LinkedHashMap<>());
                }
                case CLOSE -> {
                    scopes.remove(scopes.size() - 1);
                    if (--depth == 0) return i;
                }
                case LABEL -> f.labels.put(t.text, f.body.size());
                case STMT -> {
                    if (t.text.startsWith(".param")) {
                        Var v = scopedParam(t.text, t.line, f);
                        scopes.get(scopes.size() - 1).put(v.name.substring(0, v.name.indexOf("__s")), v.name);
                        f.vars.add(v);
                    } else if (t.text.startsWith(".reg") && scopes.size() > 1) {
                        // registers of an inner scope (inline asm) shadow the function's: give them their own names
                        Function tmp = new Function();
                        regs(tmp, t.text, t.line);
                        int id = scopeCounter++;
                        tmp.regs.forEach((name, type) -> {
                            String unique = name + "__s" + id;
                            f.regs.put(unique, type);
                            scopes.get(scopes.size() - 1).put(name, unique);
                        });
                    } else {
                        Map<String, String> renames = new LinkedHashMap<>();
                        for (Map<String, String> m : scopes) renames.putAll(m);
                        statement(f, renames.isEmpty() ? t.text : Inliner.rename(t.text, renames), t.line);
                    }
                }
            }
        }
        throw new SyntaxError(f.line, "function " + f.name + " has no closing brace");
    }

    private static int scopeCounter;

    /** A {@code .param} declared inside a function body: per-thread (local) memory, uniquely named. */
    private static Var scopedParam(String s, int line, Function f) {
        Param prm = param(s, 0, line);
        Var v = new Var();
        v.line = line;
        v.space = "local";
        v.type = "b8";
        v.align = prm.align();
        v.size = prm.size();
        v.name = prm.name() + "__s" + (scopeCounter++);
        return v;
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

    /**
     * Expands every {@code call} of a {@code .func} in place (functions have no stack here): the callee's
     * registers, labels and local memory get a per-call-site prefix, its parameters and return values become the
     * caller's argument and result buffers (per-thread memory), and {@code ret} becomes a branch past the inlined
     * body. Recursion is reported as unsupported.
     */
    static final class Inliner {
        private final Module module;
        private final java.util.Set<String> done = new java.util.HashSet<>(), active = new java.util.HashSet<>();
        private int sites;

        Inliner(Module module) {
            this.module = module;
        }

        void run() {
            for (Function f : module.functions.values()) expand(f);
        }

        private void expand(Function f) {
            if (done.contains(f.name)) return;
            if (!active.add(f.name)) throw new SyntaxError(f.line, "recursive call of " + f.name + " is not supported");
            boolean hasCall = f.body.stream().anyMatch(st -> isCall(st.opcode()));
            if (hasCall) {
                List<Stmt> body = new ArrayList<>();
                Map<String, Integer> labels = new LinkedHashMap<>();
                Map<Integer, List<String>> labelsAt = new java.util.HashMap<>();
                f.labels.forEach((name, at) -> labelsAt.computeIfAbsent(at, k -> new ArrayList<>()).add(name));
                for (int i = 0; i <= f.body.size(); i++) {
                    for (String l : labelsAt.getOrDefault(i, List.of())) labels.put(l, body.size());
                    if (i == f.body.size()) break;
                    Stmt st = f.body.get(i);
                    if (isCall(st.opcode())) {
                        inline(f, st, body, labels);
                    } else {
                        body.add(st);
                    }
                }
                f.body.clear();
                f.body.addAll(body);
                f.labels.clear();
                f.labels.putAll(labels);
            }
            localParamAccesses(f);
            active.remove(f.name);
            done.add(f.name);
        }

        private static boolean isCall(String opcode) {
            return opcode.equals("call") || opcode.startsWith("call.");
        }

        private void inline(Function caller, Stmt call, List<Stmt> body, Map<String, Integer> labels) {
            if (call.guard() != null) throw new SyntaxError(call.line(), "predicated call is not supported: " + call.text());
            List<String> ops = call.operands();
            int k = 0;
            List<String> results = List.of(), args = List.of();
            if (!ops.isEmpty() && ops.get(0).startsWith("(")) results = list(ops.get(k++));
            if (k >= ops.size()) throw new SyntaxError(call.line(), "call without a target: " + call.text());
            String target = ops.get(k++);
            if (k < ops.size()) args = list(ops.get(k++));
            if (k < ops.size()) throw new SyntaxError(call.line(), "indirect calls are not supported: " + call.text());
            Function callee = module.functions.get(target);
            if (callee == null || callee.entry) {
                throw new SyntaxError(call.line(), "call of " + target + ": no .func with a body in this module");
            }
            expand(callee);
            if (callee.params.size() != args.size() || callee.returns.size() != results.size()) {
                throw new SyntaxError(call.line(), "call of " + target + " with the wrong number of arguments");
            }
            String prefix = "__c" + (sites++) + "_";
            Map<String, String> renames = new LinkedHashMap<>();
            for (int i = 0; i < args.size(); i++) renames.put(callee.params.get(i).name(), args.get(i));
            for (int i = 0; i < results.size(); i++) renames.put(callee.returns.get(i).name(), results.get(i));
            callee.regs.forEach((r, type) -> {
                String n = "%" + prefix + r.substring(1);
                renames.put(r, n);
                caller.regs.put(n, type);
            });
            for (Var v : callee.vars) {
                Var c = copy(v);
                c.name = prefix + v.name;
                renames.put(v.name, c.name);
                caller.vars.add(c);
            }
            callee.labels.keySet().forEach(l -> renames.put(l, prefix + l));
            String end = prefix + "return";
            Map<Integer, List<String>> labelsAt = new java.util.HashMap<>();
            callee.labels.forEach((name, at) -> labelsAt.computeIfAbsent(at, x -> new ArrayList<>()).add(name));
            for (int i = 0; i < callee.body.size(); i++) {
                for (String l : labelsAt.getOrDefault(i, List.of())) labels.put(prefix + l, body.size());
                Stmt st = callee.body.get(i);
                if (st.opcode().equals("ret") || st.opcode().startsWith("ret.")) {
                    body.add(new Stmt(st.line(), st.guard() == null ? null : renameWord(st.guard(), renames),
                            st.guardNeg(), "bra.uni", List.of(end), st.text()));
                } else {
                    List<String> r = new ArrayList<>();
                    for (String o : st.operands()) r.add(rename(o, renames));
                    body.add(new Stmt(st.line(), st.guard() == null ? null : renameWord(st.guard(), renames),
                            st.guardNeg(), st.opcode(), r, st.text()));
                }
            }
            for (String l : labelsAt.getOrDefault(callee.body.size(), List.of())) labels.put(prefix + l, body.size());
            labels.put(end, body.size());
        }

        /** ld/st.param on per-thread parameter buffers become ld/st.local. */
        private static void localParamAccesses(Function f) {
            java.util.Set<String> locals = new java.util.HashSet<>();
            for (Var v : f.vars) if (v.space.equals("local")) locals.add(v.name);
            for (int i = 0; i < f.body.size(); i++) {
                Stmt st = f.body.get(i);
                String op = st.opcode();
                if (!(op.startsWith("ld.param") || op.startsWith("st.param"))) continue;
                String addr = op.startsWith("ld") ? st.operands().get(1) : st.operands().get(0);
                String sym = addr.replaceAll("[\\[\\]\\s]", "").split("\\+")[0];
                if (locals.contains(sym)) {
                    f.body.set(i, new Stmt(st.line(), st.guard(), st.guardNeg(), op.replaceFirst("\\.param", ".local"),
                            st.operands(), st.text()));
                }
            }
        }

        private static Var copy(Var v) {
            Var c = new Var();
            c.name = v.name;
            c.space = v.space;
            c.type = v.type;
            c.align = v.align;
            c.elemSize = v.elemSize;
            c.size = v.size;
            c.extern = v.extern;
            c.init = v.init;
            c.line = v.line;
            return c;
        }

        private static List<String> list(String parenthesized) {
            String in = parenthesized.trim();
            in = in.substring(1, in.length() - 1).trim();
            List<String> out = new ArrayList<>();
            if (!in.isEmpty()) for (String x : in.split(",")) out.add(x.trim());
            return out;
        }

        private static final java.util.regex.Pattern WORD = java.util.regex.Pattern.compile("[%$A-Za-z_][A-Za-z0-9_$]*");

        /** Replaces whole identifiers (registers, labels, symbols) found in {@code renames}. */
        static String rename(String text, Map<String, String> renames) {
            java.util.regex.Matcher m = WORD.matcher(text);
            StringBuilder sb = new StringBuilder();
            int last = 0;
            while (m.find()) {
                if (m.start() > 0) {
                    char before = text.charAt(m.start() - 1);
                    if (Character.isLetterOrDigit(before) || before == '.' || before == '_') continue; // part of a number or suffix
                }
                String r = renames.get(m.group());
                if (r != null) {
                    sb.append(text, last, m.start()).append(r);
                    last = m.end();
                }
            }
            return sb.append(text.substring(last)).toString();
        }

        private static String renameWord(String w, Map<String, String> renames) {
            return renames.getOrDefault(w, w);
        }
    }
}
