package dev.ditj.emu;

import dev.ditj.cuda.CudaException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns parsed PTX into executable kernels: assigns register slots (declared registers, then one slot per distinct
 * immediate, special register or symbol address), lays out shared and local memory, resolves labels and builds one
 * {@link Insn} per statement. Whatever it does not support is reported here, at module load, with the line and the
 * instruction text: the emulator never guesses.
 */
final class Decoder {
    /** Modifiers that change nothing for a sequential, coherent memory: caching, ordering and scope. */
    private static final Set<String> IGNORED = Set.of("nc", "ca", "cg", "cs", "lu", "cv", "wb", "wt", "volatile", "relaxed",
            "acquire", "release", "acq_rel", "weak", "sc", "gpu", "sys", "cta", "cluster", "L1::no_allocate",
            "L1::evict_last", "L1::evict_first", "L1::evict_normal", "L1::evict_unchanged", "L2::64B", "L2::128B",
            "L2::256B", "L2::evict_last", "L2::evict_first", "L2::evict_normal", "aligned", "uni", "mmio");

    private final Ptx.Module module;
    private final GlobalMemory memory;
    private final Map<String, Long> constOffsets = new HashMap<>(), globalAddresses = new HashMap<>();
    private final byte[] constBank;

    // per function
    private Ptx.Function fn;
    private EmuKernel kernel;
    private Map<String, Integer> regSlots;
    private Map<Long, Integer> constSlots;
    private Map<String, Integer> specialSlots;
    private Map<String, Long> sharedOffsets, localOffsets;
    private int slots;
    /** Register slot (times 32) of the carry flag, allocated on first use in a kernel; -1 before. */
    private int carrySlot = -1;
    private Ptx.Stmt stmt;

    private Decoder(Ptx.Module module, GlobalMemory memory) {
        this.module = module;
        this.memory = memory;
        long constSize = 0;
        for (Ptx.Var v : module.vars) {
            if (v.space.equals("const")) {
                constSize = align(constSize, v.align);
                constOffsets.put(v.name, constSize);
                constSize += v.size;
            }
        }
        constBank = new byte[(int) constSize];
        for (Ptx.Var v : module.vars) {
            if (v.space.equals("const") && v.init != null) {
                System.arraycopy(v.init, 0, constBank, (int) (long) constOffsets.get(v.name), v.init.length);
            } else if (v.space.equals("global")) {
                long addr = memory.alloc(v.size, "module variable " + v.name);
                if (v.init != null) System.arraycopy(v.init, 0, memory.find(addr, v.size).data, 0, v.init.length);
                globalAddresses.put(v.name, addr);
            }
        }
    }

    static EmuModule load(String name, String ptx, GlobalMemory memory) {
        Ptx.Module m;
        try {
            m = Ptx.parse(name, ptx);
        } catch (Ptx.SyntaxError e) {
            throw new CudaException("PTX module " + name + ", line " + e.line + ": " + e.getMessage());
        }
        if (m.addressSize != 64) throw new CudaException("PTX module " + name + ": only .address_size 64 is supported");
        Decoder d = new Decoder(m, memory);
        Map<String, EmuKernel> kernels = new LinkedHashMap<>();
        EmuModule mod = new EmuModule(name, kernels, d.constBank);
        for (Ptx.Function f : m.functions.values()) {
            if (f.entry) kernels.put(f.name, d.kernel(f, mod));
        }
        return mod;
    }

    private static long align(long v, long a) {
        return (v + a - 1) / a * a;
    }

    private CudaException unsupported(String why) {
        return new CudaException("PTX module " + module.name + ", kernel " + fn.name + ", line " + stmt.line()
                + ": unsupported instruction '" + stmt.text() + "': " + why);
    }

    // ------------------------------------------------------------------------------------------ kernel

    private EmuKernel kernel(Ptx.Function f, EmuModule mod) {
        fn = f;
        kernel = new EmuKernel(f.name, mod);
        regSlots = new HashMap<>();
        constSlots = new LinkedHashMap<>();
        specialSlots = new LinkedHashMap<>();
        slots = 0;
        carrySlot = -1;
        for (String r : f.regs.keySet()) regSlots.put(r, slots++);

        // shared memory: module-scope variables, then the function's own; dynamic (.extern) memory after all of them
        sharedOffsets = new HashMap<>();
        List<String> names = new ArrayList<>();
        List<Long> offs = new ArrayList<>();
        long shared = 0;
        List<Ptx.Var> sharedVars = new ArrayList<>();
        for (Ptx.Var v : module.vars) if (v.space.equals("shared")) sharedVars.add(v);
        for (Ptx.Var v : f.vars) if (v.space.equals("shared")) sharedVars.add(v);
        List<Ptx.Var> dynamic = new ArrayList<>();
        for (Ptx.Var v : sharedVars) {
            if (v.extern || v.size == 0) {
                dynamic.add(v);
                kernel.dynamicAlign = Math.max(kernel.dynamicAlign, v.align);
                continue;
            }
            shared = align(shared, v.align);
            sharedOffsets.put(v.name, shared);
            names.add(v.name);
            offs.add(shared);
            shared += v.size;
        }
        kernel.staticShared = (int) shared;
        long dynStart = align(shared, kernel.dynamicAlign);
        for (Ptx.Var v : dynamic) sharedOffsets.put(v.name, dynStart);
        if (!dynamic.isEmpty()) {
            names.add(dynamic.get(0).name + " (dynamic)");
            offs.add(dynStart);
        }
        kernel.sharedNames = names.toArray(new String[0]);
        kernel.sharedOffsets = offs.stream().mapToLong(Long::longValue).toArray();

        localOffsets = new HashMap<>();
        long local = 0;
        for (Ptx.Var v : f.vars) {
            if (v.space.equals("local")) {
                local = align(local, v.align);
                localOffsets.put(v.name, local);
                local += v.size;
            } else if (v.space.equals("const") || v.space.equals("global")) {
                stmt = new Ptx.Stmt(v.line, null, false, "", List.of(), "." + v.space + " " + v.name);
                throw unsupported("function-scope ." + v.space + " variables");
            }
        }
        kernel.localSize = (int) align(local, 16);
        kernel.params = f.params;
        kernel.paramBytes = f.paramBytes;

        List<Insn> code = new ArrayList<>();
        for (Ptx.Stmt s : f.body) {
            stmt = s;
            Insn in;
            try {
                in = decode(s);
            } catch (CudaException e) {
                throw e;
            } catch (RuntimeException e) {
                throw unsupported(e.getMessage() == null ? e.toString() : e.getMessage());
            }
            in.line = s.line();
            in.text = s.text();
            if (s.guard() != null) {
                in.guard = reg(s.guard());
                in.guardNeg = s.guardNeg();
            }
            code.add(in);
        }
        Insn end = new ControlInsns.Exit();   // falling off the end of the body returns
        end.line = f.body.isEmpty() ? f.line : f.body.get(f.body.size() - 1).line();
        end.text = "(end of " + f.name + ")";
        end.cls = Insn.C_CONTROL;
        code.add(end);
        kernel.code = code.toArray(new Insn[0]);
        kernel.registers = slots;
        kernel.constSlots = constSlots.values().stream().mapToInt(i -> i * 32).toArray();
        kernel.constValues = constSlots.keySet().stream().mapToLong(Long::longValue).toArray();
        kernel.specialSlots = new int[specialSlots.size()];
        kernel.specialKinds = new int[specialSlots.size()];
        int i = 0;
        for (Map.Entry<String, Integer> e : specialSlots.entrySet()) {
            kernel.specialSlots[i] = e.getValue() * 32;
            kernel.specialKinds[i++] = specialKind(e.getKey());
        }
        return kernel;
    }

    // ------------------------------------------------------------------------------------------ operands

    private int reg(String name) {
        Integer s = regSlots.get(name);
        if (s == null) throw unsupported("register " + name + " is not declared");
        return s * 32;
    }

    private int dst(String op) {
        if (op.equals("_")) return -1;
        if (!op.startsWith("%")) throw unsupported("destination " + op + " is not a register");
        return reg(op);
    }

    private int constant(long v) {
        return constSlots.computeIfAbsent(v, k -> slots++) * 32;
    }

    private static final Set<String> SPECIALS = Set.of("%tid.x", "%tid.y", "%tid.z", "%ntid.x", "%ntid.y", "%ntid.z",
            "%ctaid.x", "%ctaid.y", "%ctaid.z", "%nctaid.x", "%nctaid.y", "%nctaid.z", "%laneid", "%warpid", "%nwarpid",
            "%lanemask_eq", "%lanemask_lt", "%lanemask_le", "%lanemask_gt", "%lanemask_ge", "%dynamic_smem_size",
            "%total_smem_size", "%clock", "%clock64", "%clock_hi", "%globaltimer", "%globaltimer_lo", "%globaltimer_hi",
            "%smid", "%nsmid", "%gridid");

    private static int specialKind(String s) {
        return switch (s) {
            case "%tid.x" -> EmuKernel.TID;
            case "%tid.y" -> EmuKernel.TID + 1;
            case "%tid.z" -> EmuKernel.TID + 2;
            case "%ntid.x" -> EmuKernel.NTID;
            case "%ntid.y" -> EmuKernel.NTID + 1;
            case "%ntid.z" -> EmuKernel.NTID + 2;
            case "%ctaid.x" -> EmuKernel.CTAID;
            case "%ctaid.y" -> EmuKernel.CTAID + 1;
            case "%ctaid.z" -> EmuKernel.CTAID + 2;
            case "%nctaid.x" -> EmuKernel.NCTAID;
            case "%nctaid.y" -> EmuKernel.NCTAID + 1;
            case "%nctaid.z" -> EmuKernel.NCTAID + 2;
            case "%laneid" -> EmuKernel.LANEID;
            case "%warpid" -> EmuKernel.WARPID;
            case "%nwarpid" -> EmuKernel.NWARPID;
            case "%lanemask_eq" -> EmuKernel.LANEMASK_EQ;
            case "%lanemask_lt" -> EmuKernel.LANEMASK_LT;
            case "%lanemask_le" -> EmuKernel.LANEMASK_LE;
            case "%lanemask_gt" -> EmuKernel.LANEMASK_GT;
            case "%lanemask_ge" -> EmuKernel.LANEMASK_GE;
            case "%dynamic_smem_size" -> EmuKernel.DYN_SMEM;
            case "%total_smem_size" -> EmuKernel.TOTAL_SMEM;
            case "%nsmid" -> EmuKernel.NSMID;
            default -> EmuKernel.ZERO;   // clocks, timers, smid, gridid: 0 keeps runs deterministic
        };
    }

    /** A source operand of type {@code type}: register, immediate, special register or symbol address. */
    private int src(String op, String type) {
        if (op.startsWith("%")) {
            if (regSlots.containsKey(op)) return reg(op);
            if (SPECIALS.contains(op)) return specialSlots.computeIfAbsent(op, k -> slots++) * 32;
            throw unsupported("unknown register " + op);
        }
        Long sym = symbol(op);
        if (sym != null) return constant(sym);
        return constant(immediate(op, type));
    }

    private int pred(String op) {
        if (op.startsWith("!")) throw unsupported("negated predicate operand " + op + " here");
        return src(op, "pred");
    }

    /** The value of a symbol used as an operand (its address in its state space), or null. */
    private Long symbol(String op) {
        String name = op, rest = null;
        int plus = op.indexOf('+');
        if (plus > 0) {
            name = op.substring(0, plus);
            rest = op.substring(plus + 1);
        }
        Long base = sharedOffsets.get(name);
        if (base == null) base = localOffsets.get(name);
        if (base == null) base = constOffsets.get(name);
        if (base == null) base = globalAddresses.get(name);
        if (base == null) {
            for (Ptx.Param p : fn.params) if (p.name().equals(name)) throw unsupported("taking the address of parameter " + name);
            return null;
        }
        return rest == null ? base : base + Ptx.parseInt(rest, stmt.line());
    }

    private long immediate(String op, String type) {
        if (op.matches("0[fF][0-9a-fA-F]{8}")) {
            int bits = (int) Long.parseLong(op.substring(2), 16);
            return type.equals("f64") ? Double.doubleToRawLongBits(Float.intBitsToFloat(bits)) : bits & 0xffffffffL;
        }
        if (op.matches("0[dD][0-9a-fA-F]{16}")) {
            long bits = Long.parseUnsignedLong(op.substring(2), 16);
            return type.equals("f32") ? Float.floatToRawIntBits((float) Double.longBitsToDouble(bits)) & 0xffffffffL : bits;
        }
        boolean isFloat = op.matches("[-+]?[0-9]*\\.[0-9]*([eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+");
        if (isFloat || type.equals("f32") || type.equals("f64")) {
            if (!op.matches("[-+]?[0-9.eE+-]+")) throw unsupported("bad immediate " + op);
            double d = Double.parseDouble(op);
            if (type.equals("f64")) return Double.doubleToRawLongBits(d);
            if (type.equals("f32")) return Float.floatToRawIntBits((float) d) & 0xffffffffL;
            throw unsupported("floating-point immediate " + op + " for ." + type);
        }
        if (!op.matches("[-+]?(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)[uU]?")) throw unsupported("unknown operand " + op);
        return Ptx.parseInt(op, stmt.line());
    }

    private static boolean isVector(String op) {
        return op.startsWith("{") && op.endsWith("}");
    }

    private static List<String> vectorItems(String op) {
        List<String> out = new ArrayList<>();
        for (String s : op.substring(1, op.length() - 1).split(",")) out.add(s.trim());
        return out;
    }

    private int[] dsts(String op) {
        if (!isVector(op)) return new int[] {dst(op)};
        return vectorItems(op).stream().mapToInt(this::dst).toArray();
    }

    private int[] srcs(String op, String type) {
        if (!isVector(op)) return new int[] {src(op, type)};
        return vectorItems(op).stream().mapToInt(s -> src(s, type)).toArray();
    }

    /** An address operand [base+offset]: base slot (-1 for none), byte offset, and the symbol's space (or -1). */
    private record Addr(int base, long off, int symbolSpace) {
    }

    private Addr addr(String op) {
        if (!op.startsWith("[") || !op.endsWith("]")) throw unsupported("expected an address, found " + op);
        String in = op.substring(1, op.length() - 1).trim();
        String head = in, tail = null;
        int plus = in.indexOf('+', 1);
        if (plus > 0) {
            head = in.substring(0, plus).trim();
            tail = in.substring(plus + 1).trim();
        }
        long off = tail == null ? 0 : Ptx.parseInt(tail, stmt.line());
        if (head.startsWith("%")) return new Addr(reg(head), off, -1);
        for (Ptx.Param p : fn.params) if (p.name().equals(head)) return new Addr(-1, p.offset() + off, Cta.S_PARAM);
        if (sharedOffsets.containsKey(head)) return new Addr(-1, sharedOffsets.get(head) + off, Cta.S_SHARED);
        if (localOffsets.containsKey(head)) return new Addr(-1, localOffsets.get(head) + off, Cta.S_LOCAL);
        if (constOffsets.containsKey(head)) return new Addr(-1, constOffsets.get(head) + off, Cta.S_CONST);
        if (globalAddresses.containsKey(head)) return new Addr(-1, globalAddresses.get(head) + off, Cta.S_GLOBAL);
        if (head.matches("-?[0-9].*")) return new Addr(-1, Ptx.parseInt(head, stmt.line()) + off, -1);
        throw unsupported("unknown address " + op);
    }

    // ------------------------------------------------------------------------------------------ opcodes

    /** The opcode's modifiers, without the ones that change nothing here. */
    private List<String> mods(String[] parts) {
        List<String> m = new ArrayList<>();
        for (int i = 1; i < parts.length; i++) if (!IGNORED.contains(parts[i])) m.add(parts[i]);
        return m;
    }

    private static boolean isType(String s) {
        return switch (s) {
            case "b8", "u8", "s8", "b16", "u16", "s16", "f16", "bf16", "b32", "u32", "s32", "f32", "f16x2", "bf16x2",
                 "b64", "u64", "s64", "f64", "pred", "tf32", "b128" -> true;
            default -> false;
        };
    }

    private static int bitsOf(String type) {
        return switch (type) {
            case "pred" -> 1;
            case "b8", "u8", "s8" -> 8;
            case "b16", "u16", "s16", "f16", "bf16" -> 16;
            case "b64", "u64", "s64", "f64" -> 64;
            case "b128" -> 128;
            default -> 32;
        };
    }

    private static int roundMode(String s) {
        return switch (s) {
            case "rn", "rni" -> Fp.RN;
            case "rz", "rzi" -> Fp.RZ;
            case "rm", "rmi" -> Fp.RM;
            case "rp", "rpi" -> Fp.RP;
            default -> -1;
        };
    }

    private void need(int n) {
        if (stmt.operands().size() != n) throw unsupported("expected " + n + " operands, found " + stmt.operands().size());
    }

    private Insn decode(Ptx.Stmt s) {
        String[] parts = s.opcode().split("\\.");
        String op = parts[0];
        List<String> mods = mods(parts);
        List<String> ops = s.operands();
        String type = null;
        for (String m : mods) if (isType(m)) type = m;
        switch (op) {
            case "mov": return mov(type, ops);
            case "add": case "sub": case "mul": case "mad": case "div": case "rem": case "min": case "max": case "abs":
            case "neg": case "fma": case "mul24": case "mad24":
                return mods.contains("cc") ? carry(op, mods, type, ops) : arith(op, mods, type, ops);
            case "addc": case "subc": case "madc":
                return carry(op, mods, type, ops);
            case "and": case "or": case "xor": case "not": case "cnot": case "shl": case "shr": case "popc": case "clz":
            case "brev": case "bfind": case "bfe": case "bfi": case "prmt": case "shf": case "sad":
                return bits(op, mods, type, ops);
            case "lop3": {
                need(5);
                AluInsns.Lop3 l = new AluInsns.Lop3();
                l.d = dst(ops.get(0));
                l.a = src(ops.get(1), "b32");
                l.b = src(ops.get(2), "b32");
                l.c = src(ops.get(3), "b32");
                l.lut = (int) Ptx.parseInt(ops.get(4), s.line()) & 0xff;
                return l;
            }
            case "sqrt": case "rsqrt": case "rcp": case "ex2": case "lg2": case "sin": case "cos": case "tanh":
            case "copysign": case "testp":
                return special(op, mods, type, ops);
            case "setp": return setp(mods, type, ops);
            case "selp": {
                need(4);
                AluInsns.Selp x = new AluInsns.Selp();
                x.d = dst(ops.get(0));
                x.a = src(ops.get(1), type);
                x.b = src(ops.get(2), type);
                x.c = pred(ops.get(3));
                x.cls = Insn.C_MOV;
                return x;
            }
            case "cvt": return cvt(mods, ops);
            case "cvta": return cvta(mods, ops);
            case "ld": case "ldu": return ld(mods, type, ops);
            case "st": return st(mods, type, ops);
            case "atom": case "red": return atom(op.equals("red"), mods, type, ops);
            case "bar": case "barrier": return bar(mods, ops);
            case "membar": case "fence": case "prefetch": case "prefetchu": case "nanosleep": case "pmevent": {
                Insn n = new ControlInsns.Nop();
                n.cls = Insn.C_SYNC;
                return n;
            }
            case "bra": {
                need(1);
                Integer target = fn.labels.get(ops.get(0));
                if (target == null) throw unsupported("unknown label " + ops.get(0));
                ControlInsns.Bra b = new ControlInsns.Bra();
                b.target = target;
                b.cls = Insn.C_CONTROL;
                return b;
            }
            case "ret": case "exit": {
                Insn e = new ControlInsns.Exit();
                e.cls = Insn.C_CONTROL;
                return e;
            }
            case "trap": {
                Insn t = new Insn() {
                    @Override
                    void exec(Warp w, int mask) {
                        throw new EmuFault("trap executed (a failed device-side assert?)", Integer.numberOfTrailingZeros(mask));
                    }
                };
                t.cls = Insn.C_CONTROL;
                return t;
            }
            case "shfl": return shfl(mods, ops);
            case "vote": return vote(mods, ops);
            case "redux": return redux(mods, type, ops);
            case "activemask": {
                WarpInsns.ActiveMask a = new WarpInsns.ActiveMask();
                a.d = dst(ops.get(0));
                a.cls = Insn.C_WARP;
                return a;
            }
            case "mma": return mma(parts, ops);
            case "ldmatrix": return ldmatrix(mods, ops);
            case "cp": return cp(parts, mods, ops);
            default:
                throw unsupported("unknown opcode '" + op + "'");
        }
    }

    private Insn mov(String type, List<String> ops) {
        need(2);
        if (type == null) throw unsupported("mov without a type");
        String d = ops.get(0), a = ops.get(1);
        Insn in;
        if (isVector(a)) {
            AluInsns.Pack p = new AluInsns.Pack();
            List<String> items = vectorItems(a);
            p.part = bitsOf(type) / items.size();
            p.d = dst(d);
            p.srcs = items.stream().mapToInt(x -> src(x, "b" + p.part)).toArray();
            in = p;
        } else if (isVector(d)) {
            AluInsns.Unpack u = new AluInsns.Unpack();
            u.dsts = dsts(d);
            u.part = bitsOf(type) / u.dsts.length;
            u.a = src(a, type);
            in = u;
        } else {
            AluInsns.Mov m = new AluInsns.Mov();
            m.d = dst(d);
            m.a = src(a, type);
            in = m;
        }
        in.cls = Insn.C_MOV;
        return in;
    }

    private static boolean isFloat(String type) {
        return type != null && (type.startsWith("f") || type.startsWith("bf"));
    }

    private Insn arith(String op, List<String> mods, String type, List<String> ops) {
        if (type == null) throw unsupported("no type");
        if (isFloat(type)) return floatArith(op, mods, type, ops);
        AluInsns.IntOp x = new AluInsns.IntOp();
        x.bits = bitsOf(type);
        x.signed = type.startsWith("s");
        boolean lo = mods.contains("lo"), hi = mods.contains("hi"), wide = mods.contains("wide");
        x.op = switch (op) {
            case "add" -> mods.contains("sat") ? AluInsns.ADD_SAT : AluInsns.ADD;
            case "sub" -> mods.contains("sat") ? AluInsns.SUB_SAT : AluInsns.SUB;
            case "mul" -> hi ? AluInsns.MUL_HI : wide ? AluInsns.MUL_WIDE : AluInsns.MUL_LO;
            case "mad" -> hi ? AluInsns.MAD_HI : wide ? AluInsns.MAD_WIDE : AluInsns.MAD_LO;
            case "mul24" -> hi ? -1 : AluInsns.MUL24_LO;
            case "mad24" -> hi ? -1 : AluInsns.MAD24_LO;
            case "div" -> AluInsns.DIV;
            case "rem" -> AluInsns.REM;
            case "min" -> AluInsns.MIN;
            case "max" -> AluInsns.MAX;
            case "abs" -> AluInsns.ABS;
            case "neg" -> AluInsns.NEG;
            default -> -1;
        };
        if (x.op < 0) throw unsupported(op + " for ." + type);
        if ((op.equals("mul") || op.equals("mad")) && !lo && !hi && !wide) throw unsupported("integer mul/mad needs .lo/.hi/.wide");
        boolean unary = op.equals("abs") || op.equals("neg");
        boolean ternary = op.equals("mad") || op.equals("mad24");
        need(unary ? 2 : ternary ? 4 : 3);
        x.d = dst(ops.get(0));
        x.a = src(ops.get(1), type);
        if (!unary) x.b = src(ops.get(2), type);
        if (ternary) x.c = src(ops.get(3), wide ? (x.signed ? "s" : "u") + x.bits * 2 : type);
        x.cls = Insn.C_INT;
        return x;
    }

    /**
     * Extended-precision integer arithmetic through the carry flag: add/sub/mad with .cc write it, addc/subc/madc
     * read it (and write it with .cc). The flag is a hidden per-lane register of the kernel.
     */
    private Insn carry(String op, List<String> mods, String type, List<String> ops) {
        if (type == null || isFloat(type)) throw unsupported("carry arithmetic needs an integer type");
        AluInsns.Carry x = new AluInsns.Carry();
        x.bits = bitsOf(type);
        if (x.bits != 32 && x.bits != 64) throw unsupported("carry arithmetic on ." + type);
        String base = op.endsWith("c") ? op.substring(0, op.length() - 1) : op;
        x.carryIn = op.endsWith("c");
        x.carryOut = mods.contains("cc");
        x.kind = switch (base) {
            case "add" -> AluInsns.Carry.ADD;
            case "sub" -> AluInsns.Carry.SUB;
            case "mad" -> mods.contains("hi") ? AluInsns.Carry.MAD_HI : mods.contains("lo") ? AluInsns.Carry.MAD_LO : -1;
            default -> -1;
        };
        if (x.kind < 0) throw unsupported(op + " with carry");
        boolean mad = base.equals("mad");
        need(mad ? 4 : 3);
        x.d = dst(ops.get(0));
        x.a = src(ops.get(1), type);
        x.b = src(ops.get(2), type);
        if (mad) x.c = src(ops.get(3), type);
        if (carrySlot < 0) carrySlot = slots++ * 32;
        x.cf = carrySlot;
        x.cls = Insn.C_INT;
        return x;
    }

    private Insn floatArith(String op, List<String> mods, String type, List<String> ops) {
        int mode = Fp.RN;
        for (String m : mods) if (roundMode(m) >= 0) mode = roundMode(m);
        boolean ftz = mods.contains("ftz"), sat = mods.contains("sat");
        for (String m : mods) {
            if (!isType(m) && roundMode(m) < 0 && !Set.of("ftz", "sat", "approx", "full", "NaN").contains(m)) {
                throw unsupported("modifier ." + m);
            }
        }
        int fop = switch (op) {
            case "add" -> FloatOps.ADD;
            case "sub" -> FloatOps.SUB;
            case "mul" -> FloatOps.MUL;
            case "fma", "mad" -> FloatOps.FMA;
            case "div" -> mods.contains("approx") ? FloatOps.DIV_APPROX : FloatOps.DIV;
            case "min" -> mods.contains("NaN") ? FloatOps.MIN_NAN : FloatOps.MIN;
            case "max" -> mods.contains("NaN") ? FloatOps.MAX_NAN : FloatOps.MAX;
            case "abs" -> FloatOps.ABS;
            case "neg" -> FloatOps.NEG;
            default -> -1;
        };
        if (fop < 0) throw unsupported(op + " for ." + type);
        boolean unary = fop == FloatOps.ABS || fop == FloatOps.NEG;
        boolean ternary = fop == FloatOps.FMA;
        need(unary ? 2 : ternary ? 4 : 3);
        int d = dst(ops.get(0)), a = src(ops.get(1), type);
        int b = unary ? -1 : src(ops.get(2), type), c = ternary ? src(ops.get(3), type) : -1;
        switch (type) {
            case "f32": {
                FloatOps.F32 f = new FloatOps.F32();
                f.op = fop;
                f.mode = mode;
                f.ftz = ftz;
                f.sat = sat;
                f.d = d;
                f.a = a;
                f.b = b;
                f.c = c;
                f.cls = fop == FloatOps.DIV || fop == FloatOps.DIV_APPROX ? Insn.C_SFU : Insn.C_FP32;
                return f;
            }
            case "f64": {
                FloatOps.F64 f = new FloatOps.F64();
                f.op = fop;
                f.mode = mode;
                f.d = d;
                f.a = a;
                f.b = b;
                f.c = c;
                f.cls = Insn.C_FP64;
                return f;
            }
            case "f16", "f16x2", "bf16", "bf16x2": {
                if (fop == FloatOps.DIV || fop == FloatOps.DIV_APPROX || mode != Fp.RN) throw unsupported(op + " for ." + type);
                FloatOps.Half h = new FloatOps.Half();
                h.op = fop;
                h.bf16 = type.startsWith("bf");
                h.x2 = type.endsWith("x2");
                h.ftz = ftz;
                h.sat = sat;
                h.d = d;
                h.a = a;
                h.b = b;
                h.c = c;
                h.cls = Insn.C_HALF;
                return h;
            }
            default:
                throw unsupported("type ." + type);
        }
    }

    private Insn bits(String op, List<String> mods, String type, List<String> ops) {
        if (type == null) throw unsupported("no type");
        AluInsns.IntOp x = new AluInsns.IntOp();
        x.bits = bitsOf(type);
        x.signed = type.startsWith("s");
        x.cls = Insn.C_INT;
        int n;
        switch (op) {
            case "and" -> { x.op = AluInsns.AND; n = 3; }
            case "or" -> { x.op = AluInsns.OR; n = 3; }
            case "xor" -> { x.op = AluInsns.XOR; n = 3; }
            case "not" -> { x.op = AluInsns.NOT; n = 2; }
            case "cnot" -> { x.op = AluInsns.CNOT; n = 2; }
            case "shl" -> { x.op = AluInsns.SHL; n = 3; }
            case "shr" -> { x.op = AluInsns.SHR; n = 3; }
            case "popc" -> { x.op = AluInsns.POPC; n = 2; }
            case "clz" -> { x.op = AluInsns.CLZ; n = 2; }
            case "brev" -> { x.op = AluInsns.BREV; n = 2; }
            case "bfind" -> { x.op = mods.contains("shiftamt") ? AluInsns.BFIND_SHIFT : AluInsns.BFIND; n = 2; }
            case "bfe" -> { x.op = AluInsns.BFE; n = 4; }
            case "bfi" -> { x.op = AluInsns.BFI; n = 5; }
            case "sad" -> { x.op = AluInsns.SAD; n = 4; }
            case "prmt" -> {
                for (String m : mods) if (!isType(m)) throw unsupported("prmt mode ." + m + " (only the default mode)");
                x.op = AluInsns.PRMT;
                n = 4;
            }
            case "shf" -> {
                boolean left = mods.contains("l"), wrap = mods.contains("wrap");
                if (!left && !mods.contains("r")) throw unsupported("shf without .l/.r");
                x.op = left ? (wrap ? AluInsns.SHF_L_WRAP : AluInsns.SHF_L_CLAMP) : (wrap ? AluInsns.SHF_R_WRAP : AluInsns.SHF_R_CLAMP);
                n = 4;
            }
            default -> throw unsupported(op);
        }
        need(n);
        x.d = dst(ops.get(0));
        String shiftType = op.equals("shl") || op.equals("shr") ? "u32" : type;
        x.a = src(ops.get(1), type);
        if (n > 2) x.b = src(ops.get(2), op.equals("bfe") ? "u32" : shiftType);
        if (n > 3) x.c = src(ops.get(3), op.equals("bfe") || op.equals("bfi") || op.equals("shf") ? "u32" : type);
        if (n > 4) x.e = src(ops.get(4), "u32");
        return x;
    }

    private Insn special(String op, List<String> mods, String type, List<String> ops) {
        if (type == null) throw unsupported("no type");
        int mode = Fp.RN;
        boolean approx = mods.contains("approx");
        for (String m : mods) if (roundMode(m) >= 0) mode = roundMode(m);
        int fop = switch (op) {
            case "sqrt" -> approx ? FloatOps.SQRT_APPROX : FloatOps.SQRT;
            case "rsqrt" -> FloatOps.RSQRT;
            case "rcp" -> approx ? FloatOps.RCP_APPROX : FloatOps.RCP;
            case "ex2" -> FloatOps.EX2;
            case "lg2" -> FloatOps.LG2;
            case "sin" -> FloatOps.SIN;
            case "cos" -> FloatOps.COS;
            case "tanh" -> FloatOps.TANH;
            case "copysign" -> FloatOps.COPYSIGN;
            default -> {
                String t = null;
                for (String m : mods) if (!isType(m)) t = m;
                if (t == null) throw unsupported("testp without a test");
                yield switch (t) {
                    case "finite" -> FloatOps.TESTP_FINITE;
                    case "infinite" -> FloatOps.TESTP_INFINITE;
                    case "number" -> FloatOps.TESTP_NUMBER;
                    case "notanumber" -> FloatOps.TESTP_NOTANUMBER;
                    case "normal" -> FloatOps.TESTP_NORMAL;
                    case "subnormal" -> FloatOps.TESTP_SUBNORMAL;
                    default -> throw unsupported("testp." + t);
                };
            }
        };
        boolean binary = fop == FloatOps.COPYSIGN;
        need(binary ? 3 : 2);
        if (type.equals("f32")) {
            FloatOps.F32 f = new FloatOps.F32();
            f.op = fop;
            f.mode = mode;
            f.ftz = mods.contains("ftz");
            f.d = dst(ops.get(0));
            f.a = src(ops.get(1), type);
            if (binary) f.b = src(ops.get(2), type);
            f.cls = fop == FloatOps.COPYSIGN || fop >= FloatOps.TESTP_FINITE ? Insn.C_FP32 : Insn.C_SFU;
            return f;
        }
        if (type.equals("f64")) {
            if (fop == FloatOps.EX2 || fop == FloatOps.LG2 || fop == FloatOps.SIN || fop == FloatOps.COS || fop == FloatOps.TANH) {
                throw unsupported(op + ".f64");
            }
            FloatOps.F64 f = new FloatOps.F64();
            f.op = fop;
            f.mode = mode;
            f.d = dst(ops.get(0));
            f.a = src(ops.get(1), type);
            if (binary) f.b = src(ops.get(2), type);
            f.cls = Insn.C_FP64;
            return f;
        }
        throw unsupported(op + " for ." + type);
    }

    private Insn setp(List<String> mods, String type, List<String> ops) {
        if (type == null) throw unsupported("no type");
        AluInsns.Setp x = new AluInsns.Setp();
        String cmp = null, bool = null;
        for (String m : mods) {
            if (isType(m)) continue;
            if (m.equals("ftz")) x.ftz = true;
            else if (m.equals("and") || m.equals("or") || m.equals("xor")) bool = m;
            else cmp = m;
        }
        if (cmp == null) throw unsupported("setp without a comparison");
        boolean isF = isFloat(type);
        x.kind = !isF ? AluInsns.K_INT : switch (type) {
            case "f32" -> AluInsns.K_F32;
            case "f64" -> AluInsns.K_F64;
            case "f16" -> AluInsns.K_F16;
            case "bf16" -> AluInsns.K_BF16;
            default -> throw unsupported("setp for ." + type);
        };
        x.bits = bitsOf(type);
        x.signed = type.startsWith("s");
        x.cmp = switch (cmp) {
            case "eq" -> AluInsns.EQ;
            case "ne" -> AluInsns.NE;
            case "lt", "lo" -> AluInsns.LT;
            case "le", "ls" -> AluInsns.LE;
            case "gt", "hi" -> AluInsns.GT;
            case "ge", "hs" -> AluInsns.GE;
            case "equ" -> AluInsns.EQU;
            case "neu" -> AluInsns.NEU;
            case "ltu" -> AluInsns.LTU;
            case "leu" -> AluInsns.LEU;
            case "gtu" -> AluInsns.GTU;
            case "geu" -> AluInsns.GEU;
            case "num" -> AluInsns.NUM;
            case "nan" -> AluInsns.NAN;
            default -> throw unsupported("comparison ." + cmp);
        };
        if (!isF && x.cmp > AluInsns.GE) throw unsupported("comparison ." + cmp + " on integers");
        if (cmp.equals("lo") || cmp.equals("ls") || cmp.equals("hi") || cmp.equals("hs")) x.signed = false;
        need(bool == null ? 3 : 4);
        String d = ops.get(0);
        int bar = d.indexOf('|');
        if (bar >= 0) {
            x.p = dst(d.substring(0, bar).trim());
            x.q = dst(d.substring(bar + 1).trim());
        } else {
            x.p = dst(d);
        }
        x.a = src(ops.get(1), type);
        x.b = src(ops.get(2), type);
        if (bool != null) {
            String c = ops.get(3);
            x.cNeg = c.startsWith("!");
            x.c = src(x.cNeg ? c.substring(1) : c, "pred");
            x.boolOp = switch (bool) {
                case "and" -> AluInsns.AND;
                case "or" -> AluInsns.OR;
                default -> AluInsns.XOR;
            };
        }
        x.cls = isF ? (x.kind == AluInsns.K_F64 ? Insn.C_FP64 : Insn.C_FP32) : Insn.C_INT;
        return x;
    }

    private static int valueType(String t) {
        return switch (t) {
            case "f32" -> FloatOps.T_F32;
            case "f64" -> FloatOps.T_F64;
            case "f16", "f16x2" -> FloatOps.T_F16;
            case "bf16", "bf16x2" -> FloatOps.T_BF16;
            default -> FloatOps.T_INT;
        };
    }

    private Insn cvt(List<String> mods, List<String> ops) {
        FloatOps.Cvt c = new FloatOps.Cvt();
        List<String> types = new ArrayList<>();
        c.mode = -1;
        for (String m : mods) {
            if (isType(m)) types.add(m);
            else if (m.equals("ftz")) c.ftz = true;
            else if (m.equals("sat")) c.sat = true;
            else if (roundMode(m) >= 0) {
                c.mode = roundMode(m);
                c.intRound = m.endsWith("i");
            } else throw unsupported("cvt modifier ." + m);
        }
        if (types.size() != 2) throw unsupported("cvt needs a destination and a source type");
        String dt = types.get(0), at = types.get(1);
        c.dType = valueType(dt);
        c.aType = valueType(at);
        c.dBits = bitsOf(dt);
        c.aBits = bitsOf(at);
        c.dSigned = dt.startsWith("s");
        c.aSigned = at.startsWith("s");
        boolean fToI = c.aType != FloatOps.T_INT && c.dType == FloatOps.T_INT;
        boolean iToF = c.aType == FloatOps.T_INT && c.dType != FloatOps.T_INT;
        boolean narrowing = c.aType != FloatOps.T_INT && c.dType != FloatOps.T_INT && bitsOf(dt) < bitsOf(at) && !dt.endsWith("x2");
        if (c.mode < 0) {
            if (fToI || iToF || narrowing) throw unsupported("cvt between these types needs a rounding modifier");
            c.mode = Fp.RN;
        } else if (fToI && !c.intRound || iToF && c.intRound) {
            throw unsupported("wrong kind of rounding modifier for this conversion");
        }
        if (dt.endsWith("x2")) {
            if (!at.equals("f32")) throw unsupported("packed cvt from ." + at);
            need(3);
            c.pack2 = true;
            c.d = dst(ops.get(0));
            c.a = src(ops.get(1), "f32");
            c.b = src(ops.get(2), "f32");
        } else {
            need(2);
            if (at.endsWith("x2") || dt.equals("tf32") || at.equals("tf32")) throw unsupported("cvt ." + dt + "." + at);
            c.d = dst(ops.get(0));
            c.a = src(ops.get(1), at);
        }
        c.cls = Insn.C_CVT;
        return c;
    }

    private static int space(List<String> mods) {
        for (String m : mods) {
            switch (m) {
                case "global": return Cta.S_GLOBAL;
                case "shared", "shared::cta": return Cta.S_SHARED;
                case "local": return Cta.S_LOCAL;
                case "const": return Cta.S_CONST;
                case "param", "param::entry": return Cta.S_PARAM;
                default:
            }
        }
        return Cta.S_GENERIC;
    }

    private Insn cvta(List<String> mods, List<String> ops) {
        need(2);
        boolean to = mods.contains("to");
        int sp = space(mods);
        long win = switch (sp) {
            case Cta.S_GLOBAL -> 0;
            case Cta.S_SHARED -> GlobalMemory.SHARED_WINDOW;
            case Cta.S_LOCAL -> GlobalMemory.LOCAL_WINDOW;
            case Cta.S_CONST -> GlobalMemory.CONST_WINDOW;
            default -> throw unsupported("cvta for this state space");
        };
        MemInsns.Cvta c = new MemInsns.Cvta();
        c.delta = to ? -win : win;
        c.to32 = mods.contains("u32");
        c.d = dst(ops.get(0));
        c.a = src(ops.get(1), "u64");
        c.cls = Insn.C_INT;
        return c;
    }

    private int vecCount(List<String> mods) {
        for (String m : mods) {
            if (m.equals("v2")) return 2;
            if (m.equals("v4")) return 4;
            if (m.equals("v8")) throw unsupported(".v8");
        }
        return 1;
    }

    private void checkMemMods(List<String> mods) {
        for (String m : mods) {
            if (isType(m) || m.equals("v2") || m.equals("v4") || m.startsWith("global") || m.startsWith("shared")
                    || m.equals("local") || m.equals("const") || m.startsWith("param")) continue;
            if (m.equals("L2::cache_hint")) continue;
            throw unsupported("memory modifier ." + m);
        }
    }

    private Insn ld(List<String> mods, String type, List<String> ops) {
        checkMemMods(mods);
        if (type == null) throw unsupported("no type");
        if (type.equals("b128")) throw unsupported(".b128 loads");
        int n = vecCount(mods);
        if (ops.size() < 2) throw unsupported("ld needs a destination and an address");
        Addr a = addr(ops.get(1));
        int sp = space(mods);
        if (sp == Cta.S_GENERIC && a.symbolSpace >= 0) sp = a.symbolSpace;
        int size = bitsOf(type) / 8;
        boolean signed = type.startsWith("s");
        if (sp == Cta.S_PARAM && n == 1) {
            if (a.base >= 0) throw unsupported("register-addressed parameter load");
            MemInsns.LdParam p = new MemInsns.LdParam();
            p.d = dst(ops.get(0));
            p.size = Math.max(1, size);
            p.off = (int) a.off;
            if (p.off + p.size > fn.paramBytes) throw unsupported("parameter load past the parameter list");
            p.signed = signed;
            p.cls = Insn.C_PARAM;
            return p;
        }
        if (size == 0) throw unsupported("predicate load");
        MemInsns.Ld l = new MemInsns.Ld();
        l.space = sp;
        l.size = size;
        l.signed = signed;
        l.base = a.base;
        l.off = a.off;
        l.dsts = dsts(ops.get(0));
        if (l.dsts.length != n) throw unsupported("vector width and destination count differ");
        l.cls = sp == Cta.S_SHARED ? Insn.C_LD_SHARED : sp == Cta.S_LOCAL ? Insn.C_LOCAL : Insn.C_LD_GLOBAL;
        return l;
    }

    private Insn st(List<String> mods, String type, List<String> ops) {
        checkMemMods(mods);
        if (type == null) throw unsupported("no type");
        if (type.equals("b128")) throw unsupported(".b128 stores");
        int n = vecCount(mods);
        if (ops.size() < 2) throw unsupported("st needs an address and a value");
        Addr a = addr(ops.get(0));
        int sp = space(mods);
        if (sp == Cta.S_GENERIC && a.symbolSpace >= 0) sp = a.symbolSpace;
        if (sp == Cta.S_PARAM || sp == Cta.S_CONST) throw unsupported("store to ." + (sp == Cta.S_PARAM ? "param" : "const"));
        MemInsns.St s = new MemInsns.St();
        s.space = sp;
        s.size = bitsOf(type) / 8;
        s.base = a.base;
        s.off = a.off;
        s.srcs = srcs(ops.get(1), type);
        if (s.srcs.length != n) throw unsupported("vector width and source count differ");
        s.cls = sp == Cta.S_SHARED ? Insn.C_ST_SHARED : sp == Cta.S_LOCAL ? Insn.C_LOCAL : Insn.C_ST_GLOBAL;
        return s;
    }

    private Insn atom(boolean red, List<String> mods, String type, List<String> ops) {
        if (type == null) throw unsupported("no type");
        MemInsns.Atom a = new MemInsns.Atom();
        a.space = space(mods);
        String opName = null;
        for (String m : mods) {
            if (isType(m) || m.equals("global") || m.startsWith("shared")) continue;
            if (m.equals("L2::cache_hint")) continue;
            if (opName != null) throw unsupported("atomic modifier ." + m);
            opName = m;
        }
        if (opName == null) throw unsupported("atomic without an operation");
        a.op = switch (opName) {
            case "add" -> MemInsns.A_ADD;
            case "min" -> MemInsns.A_MIN;
            case "max" -> MemInsns.A_MAX;
            case "and" -> MemInsns.A_AND;
            case "or" -> MemInsns.A_OR;
            case "xor" -> MemInsns.A_XOR;
            case "exch" -> MemInsns.A_EXCH;
            case "cas" -> MemInsns.A_CAS;
            case "inc" -> MemInsns.A_INC;
            case "dec" -> MemInsns.A_DEC;
            default -> throw unsupported("atomic operation ." + opName);
        };
        a.kind = switch (type) {
            case "f32" -> AluInsns.K_F32;
            case "f64" -> AluInsns.K_F64;
            case "b32", "u32", "s32", "b64", "u64", "s64" -> AluInsns.K_INT;
            default -> throw unsupported("atomics on ." + type);
        };
        if (a.kind != AluInsns.K_INT && a.op != MemInsns.A_ADD && a.op != MemInsns.A_MIN && a.op != MemInsns.A_MAX
                && a.op != MemInsns.A_EXCH) throw unsupported("atomic ." + opName + " on ." + type);
        a.size = bitsOf(type) / 8;
        a.signed = type.startsWith("s");
        int i = 0;
        if (!red) a.d = dst(ops.get(i++));
        Addr ad = addr(ops.get(i++));
        if (a.space == Cta.S_GENERIC && ad.symbolSpace >= 0) a.space = ad.symbolSpace;
        a.base = ad.base;
        a.off = ad.off;
        a.b = src(ops.get(i++), type);
        if (a.op == MemInsns.A_CAS) a.c = src(ops.get(i++), type);
        if (i < ops.size() && !mods.contains("L2::cache_hint")) throw unsupported("too many operands");
        // Results that depend on the order of blocks (returned old values, float sums) make the grid run in order.
        if (a.space == Cta.S_GLOBAL || a.space == Cta.S_GENERIC) {
            if (!red || a.kind != AluInsns.K_INT || a.op == MemInsns.A_EXCH || a.op == MemInsns.A_INC || a.op == MemInsns.A_DEC) {
                kernel.sequentialBlocks = true;
            }
        }
        a.cls = Insn.C_ATOMIC;
        return a;
    }

    private Insn bar(List<String> mods, List<String> ops) {
        if (mods.contains("warp")) {
            need(1);
            ControlInsns.WarpSync w = new ControlInsns.WarpSync();
            w.mask = src(ops.get(0), "b32");
            w.cls = Insn.C_SYNC;
            return w;
        }
        ControlInsns.Bar b = new ControlInsns.Bar();
        b.cls = Insn.C_SYNC;
        List<String> rest = new ArrayList<>(ops);
        if (mods.contains("red")) {
            String kind = null;
            for (String m : mods) if (m.equals("popc") || m.equals("and") || m.equals("or")) kind = m;
            if (kind == null) throw unsupported("bar.red without popc/and/or");
            b.redKind = switch (kind) {
                case "popc" -> 1;
                case "and" -> 2;
                default -> 3;
            };
            b.d = dst(rest.remove(0));
            String p = rest.remove(rest.size() - 1);
            b.predNeg = p.startsWith("!");
            b.pred = src(b.predNeg ? p.substring(1) : p, "pred");
        } else if (mods.contains("arrive")) {
            b.arrive = true;
        } else if (!mods.contains("sync") && !mods.isEmpty()) {
            throw unsupported("barrier kind");
        }
        if (rest.isEmpty() || rest.size() > 2) throw unsupported("barrier operands");
        b.id = src(rest.get(0), "u32");
        if (rest.size() == 2) b.count = src(rest.get(1), "u32");
        if (b.arrive && b.count < 0) throw unsupported("bar.arrive needs a thread count");
        return b;
    }

    private int memberMaskOperand(List<String> ops, int i) {
        if (ops.size() <= i) throw unsupported("missing member mask");
        return src(ops.get(i), "b32");
    }

    private Insn shfl(List<String> mods, List<String> ops) {
        if (!mods.contains("sync")) throw unsupported("shfl without .sync (deprecated)");
        need(5);
        WarpInsns.Shfl s = new WarpInsns.Shfl();
        s.mode = mods.contains("up") ? WarpInsns.UP : mods.contains("down") ? WarpInsns.DOWN
                : mods.contains("bfly") ? WarpInsns.BFLY : mods.contains("idx") ? WarpInsns.IDX : -1;
        if (s.mode < 0) throw unsupported("shfl mode");
        String d = ops.get(0);
        int bar = d.indexOf('|');
        if (bar >= 0) {
            s.d = dst(d.substring(0, bar).trim());
            s.p = dst(d.substring(bar + 1).trim());
        } else {
            s.d = dst(d);
        }
        s.a = src(ops.get(1), "b32");
        s.b = src(ops.get(2), "b32");
        s.c = src(ops.get(3), "b32");
        s.mask = memberMaskOperand(ops, 4);
        s.cls = Insn.C_WARP;
        return s;
    }

    private Insn vote(List<String> mods, List<String> ops) {
        if (!mods.contains("sync")) throw unsupported("vote without .sync (deprecated)");
        need(3);
        WarpInsns.Vote v = new WarpInsns.Vote();
        v.mode = mods.contains("all") ? WarpInsns.ALL : mods.contains("any") ? WarpInsns.ANY
                : mods.contains("uni") ? WarpInsns.UNI : mods.contains("ballot") ? WarpInsns.BALLOT : -1;
        if (v.mode < 0) throw unsupported("vote mode");
        v.d = dst(ops.get(0));
        String a = ops.get(1);
        v.aNeg = a.startsWith("!");
        v.a = src(v.aNeg ? a.substring(1) : a, "pred");
        v.mask = memberMaskOperand(ops, 2);
        v.cls = Insn.C_WARP;
        return v;
    }

    private Insn redux(List<String> mods, String type, List<String> ops) {
        if (!mods.contains("sync")) throw unsupported("redux without .sync");
        if (type == null || isFloat(type)) throw unsupported("redux on ." + type);
        need(3);
        WarpInsns.Redux x = new WarpInsns.Redux();
        x.op = mods.contains("add") ? WarpInsns.R_ADD : mods.contains("min") ? WarpInsns.R_MIN
                : mods.contains("max") ? WarpInsns.R_MAX : mods.contains("and") ? WarpInsns.R_AND
                : mods.contains("or") ? WarpInsns.R_OR : mods.contains("xor") ? WarpInsns.R_XOR : -1;
        if (x.op < 0) throw unsupported("redux operation");
        x.signed = type.equals("s32");
        x.d = dst(ops.get(0));
        x.a = src(ops.get(1), type);
        x.mask = memberMaskOperand(ops, 2);
        x.cls = Insn.C_WARP;
        return x;
    }

    private Insn mma(String[] parts, List<String> ops) {
        // mma.sync.aligned.m16n8k16.row.col.dtype.atype.btype.ctype
        List<String> p = Arrays.asList(parts);
        if (!p.contains("sync") || !p.contains("aligned")) throw unsupported("mma without .sync.aligned");
        String shape = null;
        List<String> types = new ArrayList<>();
        for (String x : p) {
            if (x.matches("m\\d+n\\d+k\\d+")) shape = x;
            else if (isType(x)) types.add(x);
            else if (!Set.of("mma", "sync", "aligned", "row", "col").contains(x)) throw unsupported("mma modifier ." + x);
        }
        if (!p.contains("row") || !p.contains("col")) throw unsupported("mma layouts other than .row.col");
        if (types.size() != 4) throw unsupported("mma needs d, a, b, c types");
        String dt = types.get(0), at = types.get(1), bt = types.get(2), ct = types.get(3);
        if (!at.equals(bt)) throw unsupported("mixed mma input types");
        WarpInsns.Mma m = new WarpInsns.Mma();
        int aRegs, bRegs;
        switch (shape + "." + at) {
            case "m16n8k16.f16", "m16n8k16.bf16" -> { m.k = 16; aRegs = 4; bRegs = 2; }
            case "m16n8k8.f16", "m16n8k8.bf16" -> { m.k = 8; aRegs = 2; bRegs = 1; }
            case "m16n8k8.tf32" -> { m.k = 8; aRegs = 4; bRegs = 2; }
            case "m16n8k4.tf32" -> { m.k = 4; aRegs = 2; bRegs = 1; }
            default -> throw unsupported("mma shape/type " + shape + "." + at);
        }
        m.aKind = at.equals("f16") ? AluInsns.K_F16 : at.equals("bf16") ? AluInsns.K_BF16 : AluInsns.K_F32;
        if (!(dt.equals("f32") || dt.equals("f16")) || !(ct.equals("f32") || ct.equals("f16"))) throw unsupported("mma accumulator ." + dt);
        if (!at.equals("f16") && (dt.equals("f16") || ct.equals("f16"))) throw unsupported("f16 accumulators with ." + at + " inputs");
        m.dKind = dt.equals("f32") ? AluInsns.K_F32 : AluInsns.K_F16;
        m.cKind = ct.equals("f32") ? AluInsns.K_F32 : AluInsns.K_F16;
        need(4);
        m.d = dsts(ops.get(0));
        m.a = srcs(ops.get(1), "b32");
        m.b = srcs(ops.get(2), "b32");
        m.c = srcs(ops.get(3), ct);
        int accRegs = dt.equals("f32") ? 4 : 2;
        if (m.d.length != accRegs || m.a.length != aRegs || m.b.length != bRegs || m.c.length != (ct.equals("f32") ? 4 : 2)) {
            throw unsupported("mma fragment register counts");
        }
        for (int x : m.d) if (x < 0) throw unsupported("mma with a sink destination");
        m.cls = Insn.C_MMA;
        return m;
    }

    private Insn ldmatrix(List<String> mods, List<String> ops) {
        if (!mods.contains("sync") || !mods.contains("m8n8") || !mods.contains("b16")) {
            throw unsupported("only ldmatrix.sync.aligned.m8n8.xN{.trans}.shared.b16");
        }
        MemInsns.LdMatrix l = new MemInsns.LdMatrix();
        l.num = mods.contains("x4") ? 4 : mods.contains("x2") ? 2 : mods.contains("x1") ? 1 : -1;
        if (l.num < 0) throw unsupported("ldmatrix count");
        l.trans = mods.contains("trans");
        l.space = space(mods) == Cta.S_SHARED ? Cta.S_SHARED : Cta.S_GENERIC;
        need(2);
        l.dsts = dsts(ops.get(0));
        if (l.dsts.length != l.num) throw unsupported("ldmatrix destination count");
        for (int x : l.dsts) if (x < 0) throw unsupported("ldmatrix with a sink destination");
        Addr a = addr(ops.get(1));
        if (a.base < 0) throw unsupported("ldmatrix needs a register address");
        l.base = a.base;
        l.off = a.off;
        l.cls = Insn.C_LD_SHARED;
        return l;
    }

    private Insn cp(String[] parts, List<String> mods, List<String> ops) {
        if (parts.length < 2 || !parts[1].equals("async") || (parts.length > 2 && parts[2].equals("bulk"))) {
            throw unsupported("only cp.async (no bulk copies or TMA)");
        }
        if (mods.contains("commit_group")) {
            Insn c = new MemInsns.CpCommit();
            c.cls = Insn.C_CP_ASYNC;
            return c;
        }
        if (mods.contains("wait_group") || mods.contains("wait_all")) {
            MemInsns.CpWait w = new MemInsns.CpWait();
            if (mods.contains("wait_group")) {
                need(1);
                w.n = (int) Ptx.parseInt(ops.get(0), stmt.line());
            }
            w.cls = Insn.C_CP_ASYNC;
            return w;
        }
        if (mods.contains("mbarrier")) throw unsupported("cp.async.mbarrier");
        if (!mods.contains("shared") && !mods.contains("shared::cta") || !mods.contains("global")) {
            throw unsupported("cp.async must be .shared.global");
        }
        MemInsns.CpAsync c = new MemInsns.CpAsync();
        boolean hint = mods.contains("L2::cache_hint");
        int n = ops.size() - (hint ? 1 : 0);
        if (n < 3 || n > 4) throw unsupported("cp.async operands");
        Addr d = addr(ops.get(0)), s = addr(ops.get(1));
        if (d.base < 0 || s.base < 0) throw unsupported("cp.async needs register addresses");
        c.dBase = d.base;
        c.dOff = d.off;
        c.sBase = s.base;
        c.sOff = s.off;
        c.size = (int) Ptx.parseInt(ops.get(2), stmt.line());
        if (c.size != 4 && c.size != 8 && c.size != 16) throw unsupported("cp.async size " + c.size);
        if (mods.contains("cg") && c.size != 16) throw unsupported("cp.async.cg copies 16 bytes");
        if (n == 4) c.srcSize = src(ops.get(3), "u32");
        c.cls = Insn.C_CP_ASYNC;
        return c;
    }
}
