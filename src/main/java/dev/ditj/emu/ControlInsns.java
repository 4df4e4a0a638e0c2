package dev.ditj.emu;

/** Branches, exit, CTA barriers, bar.warp.sync and instructions that change nothing the emulator models. */
final class ControlInsns {
    private ControlInsns() {
    }

    static final class Bra extends Insn {
        int target;

        @Override
        boolean control() {
            return true;
        }

        @Override
        void control(Cta cta, Warp w, int m) {
            w.branch(m, target);
        }

        @Override
        void exec(Warp w, int mask) {
        }
    }

    static final class Exit extends Insn {
        @Override
        boolean control() {
            return true;
        }

        @Override
        void control(Cta cta, Warp w, int m) {
            if (m == 0) {
                if (++w.pc >= w.minOther) w.regroup();
                return;
            }
            w.exited |= m;
            w.park(m);
        }

        @Override
        void exec(Warp w, int mask) {
        }
    }

    /**
     * bar.sync / bar.arrive / bar.red (and their barrier.* spellings): id and optional thread count, counted per
     * thread; without a count every thread of the block must arrive (an exited thread never does).
     */
    static final class Bar extends Insn {
        int id, count = -1;     // slots; count -1 = all threads of the block
        boolean arrive;
        int redKind;            // 0 none, 1 popc.u32, 2 and.pred, 3 or.pred
        int d = -1, pred = -1;
        boolean predNeg;

        @Override
        boolean control() {
            return true;
        }

        @Override
        void control(Cta cta, Warp w, int m) {
            if (m == 0) {
                if (++w.pc >= w.minOther) w.regroup();
                return;
            }
            int lane0 = Integer.numberOfTrailingZeros(m);
            int bid = (int) w.r[id + lane0];
            if (bid < 0 || bid > 15) throw new EmuFault("barrier id " + bid + " outside 0..15", lane0);
            int expected = count < 0 ? cta.launch.threads : (int) w.r[count + lane0];
            if (expected <= 0 || expected > cta.launch.threads && count >= 0) {
                throw new EmuFault("barrier thread count " + expected + " (block has " + cta.launch.threads + ")", lane0);
            }
            cta.lastBarrier = bid;
            int red = 0;
            if (redKind != 0) {
                for (int a = m; a != 0; a &= a - 1) {
                    int l = Integer.numberOfTrailingZeros(a);
                    boolean p = (w.r[pred + l] != 0) != predNeg;
                    red += switch (redKind) {
                        case 1 -> p ? 1 : 0;
                        case 2 -> p ? 0 : 1;    // and: count the false ones
                        default -> p ? 1 : 0;
                    };
                }
            }
            if (arrive) {
                if (++w.pc >= w.minOther) w.regroup();
                cta.arrive(bid, Integer.bitCount(m), expected, red);
                return;
            }
            for (int a = m; a != 0; a &= a - 1) w.barOf[Integer.numberOfTrailingZeros(a)] = bid;
            w.blocked |= m;
            w.park(m);
            cta.arrive(bid, Integer.bitCount(m), expected, red);
            w.regroup();
        }

        void release(Warp w, int lane, int red) {
            if (d < 0) return;
            w.r[d + lane] = switch (redKind) {
                case 1 -> red;
                case 2 -> red == 0 ? 1 : 0;
                default -> red != 0 ? 1 : 0;
            };
        }

        @Override
        void exec(Warp w, int mask) {
        }
    }

    /** bar.warp.sync membermask: the lanes wait until every lane of the mask has reached one. */
    static final class WarpSync extends Insn {
        int mask;

        @Override
        boolean control() {
            return true;
        }

        @Override
        void control(Cta cta, Warp w, int m) {
            if (m == 0) {
                if (++w.pc >= w.minOther) w.regroup();
                return;
            }
            int mm = (int) w.r[mask + Integer.numberOfTrailingZeros(m)];
            if ((m & ~mm) != 0) throw new EmuFault(String.format("bar.warp.sync by lanes 0x%08x outside its member mask 0x%08x", m, mm),
                    Integer.numberOfTrailingZeros(m & ~mm));
            if ((mm & ~(w.warpSync | m)) == 0) {
                // every lane of the mask is here: the waiters continue after their own bar.warp.sync
                for (int a = w.warpSync; a != 0; a &= a - 1) w.lanePc[Integer.numberOfTrailingZeros(a)]++;
                w.active |= w.warpSync;
                w.warpSync = 0;
                w.pc++;
                w.regroup();
                return;
            }
            w.warpSync |= m;
            w.park(m);
        }

        @Override
        void exec(Warp w, int mask) {
        }
    }

    /** membar, fence, prefetch, pragmas: ordering the emulator provides anyway. */
    static final class Nop extends Insn {
        @Override
        void exec(Warp w, int mask) {
        }
    }
}
