package dev.ditj.emu;

/** What every block of one launch shares: the kernel, its parameter buffer and the launch shape. */
final class Launch {
    final EmuKernel kernel;
    final byte[] params;
    final int[] grid, block;
    final int dynamicShared, sharedBytes, threads, warps;
    final GlobalMemory memory;
    final boolean raceCheck, counters;
    final long maxWarpInstructionsPerBlock;

    Launch(EmuKernel kernel, byte[] params, int[] grid, int[] block, int dynamicShared, GlobalMemory memory,
           boolean raceCheck, boolean counters, long maxWarpInstructionsPerBlock) {
        this.kernel = kernel;
        this.params = params;
        this.grid = grid;
        this.block = block;
        this.dynamicShared = dynamicShared;
        int dynStart = (kernel.staticShared + kernel.dynamicAlign - 1) / kernel.dynamicAlign * kernel.dynamicAlign;
        this.sharedBytes = dynamicShared > 0 ? dynStart + dynamicShared : kernel.staticShared;
        this.threads = block[0] * block[1] * block[2];
        this.warps = (threads + 31) / 32;
        this.memory = memory;
        this.raceCheck = raceCheck;
        this.counters = counters;
        this.maxWarpInstructionsPerBlock = maxWarpInstructionsPerBlock;
    }

    long blocks() {
        return (long) grid[0] * grid[1] * grid[2];
    }
}
