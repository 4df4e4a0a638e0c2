package dev.ditj.emu;

/**
 * A pre-decoded instruction. Operands are register slots: {@code reg * 32} into the warp's register file (laid out
 * [register][lane], so an instruction walks 32 consecutive longs); immediates, symbols and special registers are
 * slots too, filled before the warp runs, so no instruction tests what kind of operand it has.
 *
 * <p>Plain instructions implement {@link #exec} for the lanes in {@code mask} and the executor advances the pc;
 * control instructions ({@link #control} true) move the warp's lanes themselves in {@link Cta}.
 */
abstract class Insn {
    /** Statistic classes (see {@link LaunchStats}). */
    static final int C_INT = 0, C_FP32 = 1, C_FP64 = 2, C_HALF = 3, C_CVT = 4, C_MOV = 5, C_LD_GLOBAL = 6,
            C_ST_GLOBAL = 7, C_LD_SHARED = 8, C_ST_SHARED = 9, C_LOCAL = 10, C_ATOMIC = 11, C_WARP = 12, C_MMA = 13,
            C_CONTROL = 14, C_SYNC = 15, C_SFU = 16, C_PARAM = 17, C_CP_ASYNC = 18, C_COUNT = 19;

    int line;
    String text;
    /** Guard predicate slot, or -1. */
    int guard = -1;
    boolean guardNeg;
    int cls = C_INT;

    abstract void exec(Warp w, int mask);

    boolean control() {
        return false;
    }

    /** Control instructions: run with the lanes of the current group that pass the guard. */
    void control(Cta cta, Warp w, int mask) {
        throw new IllegalStateException();
    }

    static int lanes(int mask) {
        return Integer.bitCount(mask);
    }
}
