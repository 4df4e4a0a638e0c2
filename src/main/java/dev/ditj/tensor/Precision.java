package dev.ditj.tensor;

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
    BF16
}
