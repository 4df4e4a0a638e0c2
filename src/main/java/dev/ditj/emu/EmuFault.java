package dev.ditj.emu;

/** A fault raised while executing one instruction in one lane; {@link Cta} adds kernel, block, thread and line. */
final class EmuFault extends RuntimeException {
    final int lane;

    EmuFault(String message, int lane) {
        super(message, null, false, false);
        this.lane = lane;
    }
}
