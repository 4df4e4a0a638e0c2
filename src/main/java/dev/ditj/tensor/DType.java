package dev.ditj.tensor;

import dev.ditj.InvalidArgumentException;

import java.util.Locale;

/** Element types of stored and computed tensors. */
public enum DType {
    F32(4, "F32"), F16(2, "F16"), BF16(2, "BF16"), F64(8, "F64"),
    I64(8, "I64"), I32(4, "I32"), I16(2, "I16"), I8(1, "I8"), U8(1, "U8"), BOOL(1, "BOOL");

    public final int bytes;
    /** The dtype string used by the safetensors format. */
    public final String safetensorsName;

    DType(int bytes, String safetensorsName) {
        this.bytes = bytes;
        this.safetensorsName = safetensorsName;
    }

    public boolean isFloat() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }

    public static DType fromSafetensors(String name) {
        for (DType d : values()) {
            if (d.safetensorsName.equals(name)) return d;
        }
        throw new IllegalArgumentException("unsupported safetensors dtype '" + name + "'");
    }

    /**
     * Parses the user-facing storage names fp32 / fp16 / bf16 (also f32, float32, ...) and int8 (I8: layer weights in
     * 8 bits with per-row scales, the rest fp16; see {@code weights.Int8Rows}).
     */
    public static DType parseStorage(String s) {
        switch (s.toLowerCase(Locale.ROOT)) {
            case "fp32": case "f32": case "float32": return F32;
            case "fp16": case "f16": case "float16": case "half": return F16;
            case "bf16": case "bfloat16": return BF16;
            case "int8": case "i8": return I8;
            default: throw new InvalidArgumentException("dtype", "'" + s + "' is unknown: use fp32, fp16, bf16 or int8");
        }
    }
}
