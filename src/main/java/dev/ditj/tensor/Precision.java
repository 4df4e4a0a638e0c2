package dev.ditj.tensor;

import dev.ditj.InvalidArgumentException;

import java.util.Locale;

/**
 * The arithmetic a backend uses for its heavy ops, chosen when the backend is created. Tensors stay float32 at the
 * {@link Ops} interface either way.
 */
public enum Precision {
    /** float32 storage and arithmetic everywhere (the reference). */
    FP32,
    /**
     * Linear layers on bf16 tensor cores: weights stored in bf16 (half the memory), activations rounded to bf16 as
     * GEMM operands, fp32 accumulation and fp32 outputs; every other op stays float32.
     */
    BF16;

    /** The name users type and images record ("fp32", "bf16"). */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Precision parse(String s) {
        for (Precision p : values()) {
            if (p.label().equals(s.trim().toLowerCase(Locale.ROOT))) return p;
        }
        throw new InvalidArgumentException("precision", "'" + s + "' is unknown: use fp32 or bf16");
    }
}
