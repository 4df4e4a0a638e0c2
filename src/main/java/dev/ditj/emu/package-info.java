/**
 * The emulated CUDA device: a Java interpreter for the PTX that nvcc 13 emits for our kernels, behind the same
 * {@link dev.ditj.cuda.Device} interface as the real GPU, so the CUDA backend and every kernel run (and are checked)
 * in CI without a GPU.
 *
 * <h2>How it works</h2>
 * <ul>
 *   <li>{@code Ptx} splits a module into directives, variables, entries, registers, labels and instructions;
 *       {@code Decoder} turns each instruction into an {@code Insn} object once, at load. Operands become register
 *       slots: immediates, symbol addresses and special registers get slots of their own, filled before a warp runs,
 *       so instructions never test operand kinds. Anything not supported is rejected at load, naming module, kernel,
 *       line and instruction text.</li>
 *   <li>A warp's register file is one {@code long[]} laid out [register][lane]: an instruction loops over 32
 *       consecutive values. Every lane has a pc; the lanes at the lowest pc form the current group and execute
 *       together (tinygrad's scheme): a divergent branch splits the group, and paths reconverge where their pcs
 *       meet, without a reconvergence stack.</li>
 *   <li>{@code Cta} runs a block: its warps round-robin, each until its lanes have exited or wait at a barrier.
 *       Barriers count arriving threads ({@code bar.sync/arrive/red}, named barriers with counts); when nothing can
 *       run and threads still wait, the block is deadlocked and the error says which barrier, how many threads
 *       arrived and how many exited. {@link dev.ditj.emu.EmulatedDevice} runs the blocks of a grid on a thread pool
 *       (one {@code Cta} per worker); kernels whose global atomics make results depend on block order run their
 *       blocks in order, so every result is deterministic.</li>
 *   <li>Memory: each global allocation is its own byte array at a 256-byte aligned address, separated by unmapped
 *       gaps; shared memory (static, then {@code .extern} dynamic) per block; local depots per thread; the module's
 *       {@code .const} bank; generic addresses map shared/local/const through 4 GiB windows. Every access is bounds-
 *       and alignment-checked; the error names kernel, block, thread, PTX line, address and the nearest (or freed)
 *       allocation. Shared and local memory are filled with 0xff bytes (a NaN pattern) at every launch. An optional
 *       check ({@code raceCheck(true)}) reports shared-memory races: a load or store of a 4-byte word that another
 *       warp stored (or, for a store, loaded) since the last barrier; atomics are not races, and lanes of one warp
 *       are ordered by its lockstep execution.</li>
 *   <li>{@code cp.async} copies are checked at issue and land at {@code cp.async.wait_group}/{@code wait_all}, so a
 *       missing wait reads stale data, as it may on hardware.</li>
 *   <li>{@link dev.ditj.emu.LaunchStats}: per launch (and per kernel), warp-instructions by class,
 *       thread-instructions, global bytes loaded/stored; with {@code efficiencyCounters(true)} also what decides
 *       speed on the real chip, exactly by the hardware's rules ({@code MemoryModel}): shared-memory wavefronts and
 *       bank conflicts per kind of access (ld/st.shared, ldmatrix, cp.async) and per instruction, global sectors
 *       against requested bytes, traffic against a caller's floor, tensor-core share of instructions.</li>
 * </ul>
 *
 * <h2>Instructions</h2>
 * Integer/bit: add sub (.sat) mul mad (.lo .hi .wide) mul24 mad24 div rem min max abs neg and or xor not cnot shl
 * shr popc clz brev bfind (.shiftamt) bfe bfi prmt (default mode) shf (.l .r .wrap .clamp) lop3 sad, on 8-64-bit
 * and predicate types. Floating point: add sub mul fma mad div (.rn .rz .rm .rp, .approx, .full) min max (.NaN) abs
 * neg sqrt rsqrt rcp ex2 lg2 sin cos tanh copysign testp with .ftz and .sat on f32, f64, and f16/bf16 (scalar and
 * x2) add sub mul fma min max neg abs. setp (all integer and float comparisons, .and/.or/.xor, two outputs), selp,
 * mov (incl. vector pack/unpack), cvt in every direction between integer, f32, f64, f16, bf16 (rounding modes, .sat,
 * .ftz, packed f16x2/bf16x2). Memory: ld (incl. ldu, .nc, .v2/.v4, all spaces incl. generic and .param) st atom and
 * red (add min max and or xor exch cas inc dec; global, shared, generic; 32/64-bit, f32, f64) cvta, prefetch,
 * membar/fence. Control: bra ret exit trap, bar.sync / bar.arrive / bar.red (popc, and, or) / barrier.*,
 * bar.warp.sync. Warp: shfl.sync (up down bfly idx, with segment width and the validity predicate), vote.sync (all
 * any uni ballot), redux.sync, activemask, mma.sync.aligned m16n8k8/m16n8k16 (f16, bf16; f32 or f16 accumulators)
 * and m16n8k4/m16n8k8 (tf32), ldmatrix.sync.aligned.m8n8 x1/x2/x4 (.trans), cp.async (.ca .cg, src-size) with
 * commit_group, wait_group and wait_all. Special registers: %tid %ntid %ctaid %nctaid %laneid %warpid %nwarpid
 * %lanemask_* %dynamic_smem_size %total_smem_size (clocks and timers read 0).
 *
 * Calls to {@code .func} (without return values) are inlined per call site, with scoped {@code .param} and
 * {@code .reg}; carry arithmetic ({@code add.cc}, {@code addc}, {@code madc}) chains through a per-lane carry flag.
 *
 * <p>Not supported (rejected at load): .func with return values, indirect calls, textures and surfaces, wgmma, TMA
 * and bulk copies, mbarrier, clusters, prmt modes, FP8 conversions, vector and f16x2 atomics, {@code .b128}.
 * Approximate instructions are computed in double precision and rounded once (at least as accurate as the
 * hardware; see {@code FloatOps} for the hardware's documented errors); mma sums in double.
 */
package dev.ditj.emu;
