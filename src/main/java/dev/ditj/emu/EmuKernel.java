package dev.ditj.emu;

import dev.ditj.cuda.Device;

import java.util.List;

/** A decoded {@code .entry}: its code, register-file size, constant slots, parameters and memory footprint. */
final class EmuKernel implements Device.Kernel {
    static final int TID = 0, NTID = 3, CTAID = 6, NCTAID = 9, LANEID = 12, WARPID = 13, NWARPID = 14,
            LANEMASK_EQ = 15, LANEMASK_LT = 16, LANEMASK_LE = 17, LANEMASK_GT = 18, LANEMASK_GE = 19,
            DYN_SMEM = 20, TOTAL_SMEM = 21, ZERO = 22, NSMID = 23;

    final String name;
    final EmuModule module;
    Insn[] code;
    int registers;
    int[] constSlots;
    long[] constValues;
    int[] specialSlots, specialKinds;
    List<Ptx.Param> params;
    int paramBytes;
    int staticShared, dynamicAlign = 16, localSize;
    /** Global atomics whose outcome depends on the order of blocks: run the blocks one after another. */
    boolean sequentialBlocks;
    /** Names of shared variables at their offsets, for error messages. */
    String[] sharedNames;
    long[] sharedOffsets;

    EmuKernel(String name, EmuModule module) {
        this.name = name;
        this.module = module;
    }

    @Override
    public String name() {
        return name;
    }

    String sharedName(long offset) {
        String best = "dynamic shared memory";
        if (offset < staticShared) best = "shared memory";
        for (int i = 0; i < sharedOffsets.length; i++) if (sharedOffsets[i] <= offset) best = sharedNames[i];
        return best;
    }
}
