// The tensor-core GEMM machinery shared by gemm_bf16.cu (linear layers) and conv_bf16.cu (implicit-GEMM
// convolution), built on the PTX wrappers of tensor_core.cuh; header only. C_tile += A_tile · B_tileᵀ with A rows
// and B rows of bf16 along K:
// - Tile<BM, BN, WARPS_M, WARPS_N, STAGES>: a block computes BM x BN of C with WARPS_M x WARPS_N warps, each warp
//   (BM/WARPS_M) x (BN/WARPS_N) as 16x8 mma.sync.m16n8k16 tiles (bf16 x bf16 -> fp32) fed by ldmatrix.x4.
// - K advances 32 at a time through a STAGES-deep cp.async ring in dynamic shared memory: per stage BM + BN rows of
//   64 bytes (A rows first), 16-byte chunk c of row r stored at chunk c ^ ((r / 2) mod 4), so the cp.async stores
//   (8 lanes = 2 rows per phase) and the ldmatrix reads (8 consecutive rows at one chunk) both hit 8 distinct
//   16-byte bank groups: no bank conflicts.
// - The ring is filled by two loaders (one per operand) with load(stage tile, k0, k_end), called for k0 = k_begin,
//   k_begin + 32, ... in that order: thread t moves 16-byte chunk t mod 4 of rows t/4, t/4 + T/4, ... (T threads, a
//   multiple of 32, so those rows share the chunk's swizzle). TileLoader reads a row-major matrix; conv_bf16.cu's
//   loader gathers im2col rows.
// - The accumulators leave through shared memory (stage_accumulators) to an epilogue by rows (ditj_store_tile).
#pragma once
#include "common.cuh"
#include "tensor_core.cuh"

namespace mma_bf16_tiles {   // named, not anonymous: an anonymous namespace puts a path hash into the PTX

template <int BM_, int BN_, int WARPS_M_, int WARPS_N_, int STAGES_>
struct Tile {
    static constexpr int BM = BM_, BN = BN_, WARPS_M = WARPS_M_, WARPS_N = WARPS_N_, STAGES = STAGES_;
    static constexpr int BK = 32;   // k per stage: 64-byte rows
    static constexpr int THREADS = 32 * WARPS_M * WARPS_N;
    static constexpr int WM = BM / WARPS_M, WN = BN / WARPS_N, MI = WM / 16, NI = WN / 8;
    static constexpr int A_BYTES = BM * BK * 2, STAGE_BYTES = (BM + BN) * BK * 2;
    static constexpr int CS = BN + 8;   // row stride (floats) of the accumulators staged by stage_accumulators
    static_assert(WM % 16 == 0 && WN % 16 == 0, "warp tiles are whole 16x16 ldmatrix.x4 blocks");
    static_assert(BN % 32 == 0, "a quarter-warp reads 128 bytes of one staged row in the epilogue");
    static_assert(STAGES >= 3, "a pipeline of at least 3 stages");
};

// Byte offset of 16-byte chunk c (0..3) of row r in a tile of 64-byte rows (the swizzle described above).
__device__ __forceinline__ unsigned swizzled(int r, int c) {
    return r * 64 + ((c ^ ((r >> 1) & 3)) << 4);
}

// Copies rows [r0, r0 + ROWS) x columns [k0, k0 + 32) of a row-major bf16 matrix into swizzled stage tiles, rows
// from rows_end and columns from k_end on as zeros. What does not depend on k0 is set once. Rows past the end and
// chunks past K get source size 0 (nothing is read) and an address inside the matrix.
template <int ROWS, int THREADS>
struct TileLoader {
    static constexpr int STEP = THREADS / 4, PER = (ROWS + STEP - 1) / STEP;
    const __nv_bfloat16* src[PER];   // row t/4 + i·STEP, chunk t mod 4, at k = 0 (row 0 for rows past the end)
    bool valid[PER];                 // that row exists (and is a row of the tile)
    unsigned dst;                    // row t/4's chunk in a stage tile (the others follow STEP rows apart)
    int col;

    __device__ __forceinline__ TileLoader(const __nv_bfloat16* g, int ld, int r0, int rows_end) {
        int r = threadIdx.x >> 2, ch = threadIdx.x & 3;
        col = ch * 8;
#pragma unroll
        for (int i = 0; i < PER; i++) {
            int ri = r + i * STEP;
            valid[i] = ri < ROWS && r0 + ri < rows_end;
            src[i] = g + (int64_t)(valid[i] ? r0 + ri : 0) * ld + col;
        }
        dst = swizzled(r, ch);
    }

    __device__ __forceinline__ void load(unsigned tile, int k0, int k_end) const {
        int bytes = min(max(k_end - k0 - col, 0), 8) * 2;
        int k = bytes > 0 ? k0 : -col;   // past K: the row start
#pragma unroll
        for (int i = 0; i < PER; i++) {
            if (PER * STEP > ROWS && (threadIdx.x >> 2) + i * STEP >= ROWS) break;
            cp_async16(tile + dst + i * STEP * 64, src[i] + k, valid[i] ? bytes : 0);
        }
    }
};

// The main loop: acc (zeroed by the caller) += A[rows of la] · B[rows of lb]ᵀ over k in [k_begin, k_end), through
// the ring at shared address smem. On return the ring is drained (only empty cp.async groups are left) but other
// warps may still read it: synchronise before reusing the memory (stage_accumulators does).
template <class T, class LoaderA, class LoaderB>
__device__ __forceinline__ void mma_mainloop(float (&acc)[T::MI][T::NI][4], LoaderA& la, LoaderB& lb, unsigned smem,
                                             int k_begin, int k_end) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int wm = warp / T::WARPS_N, wn = warp % T::WARPS_N;
    const int tiles = k_end > k_begin ? (k_end - k_begin + T::BK - 1) / T::BK : 0;
    auto load = [&](int t) {
        if (t < tiles) {
            unsigned stage = smem + (t % T::STAGES) * T::STAGE_BYTES;
            int k0 = k_begin + t * T::BK;
            la.load(stage, k0, k_end);
            lb.load(stage + T::A_BYTES, k0, k_end);
        }
        cp_async_commit();   // empty groups past the end keep the wait count uniform
    };

#pragma unroll 1
    for (int t = 0; t < T::STAGES - 1; t++) load(t);
    for (int t = 0; t < tiles; t++) {
        cp_async_wait<T::STAGES - 2>();
        __syncthreads();              // tile t has landed for every thread, and every warp is done with tile t - 1
        load(t + T::STAGES - 1);      // into the stage tile t - 1 used
        const unsigned as = smem + (t % T::STAGES) * T::STAGE_BYTES, bs = as + T::A_BYTES;
#pragma unroll
        for (int kc = 0; kc < 4; kc += 2) {   // two k16 steps: 16-byte chunks kc and kc + 1 of each row
            unsigned af[T::MI][4], bf[T::NI / 2][4];
#pragma unroll
            for (int i = 0; i < T::MI; i++) {
                // matrices: rows 0-7 / 8-15 at chunk kc (a0, a1), the same rows at chunk kc + 1 (a2, a3)
                ldmatrix_x4(af[i], as + swizzled(wm * T::WM + i * 16 + (lane & 15), kc + (lane >> 4)));
            }
#pragma unroll
            for (int j = 0; j < T::NI / 2; j++) {
                // matrices: n 0-7 at chunks kc, kc + 1 (b0, b1 of n-tile 2j), n 8-15 likewise (n-tile 2j + 1)
                ldmatrix_x4(bf[j], bs + swizzled(wn * T::WN + j * 16 + (lane & 7) + ((lane >> 4) << 3),
                                                 kc + ((lane >> 3) & 1)));
            }
#pragma unroll
            for (int i = 0; i < T::MI; i++) {
#pragma unroll
                for (int j = 0; j < T::NI; j++) mma_bf16(acc[i][j], af[i], bf[j / 2][(j & 1) * 2], bf[j / 2][(j & 1) * 2 + 1]);
            }
        }
    }
}

// The accumulators to a [BM][CS] fp32 tile at shared address smem (over the ring: waits for every warp first), for
// an epilogue that leaves by rows (ditj_store_tile). CS = BN + 8 puts the 4 rows of a half-warp's 8-byte stores in
// distinct banks.
template <class T>
__device__ __forceinline__ void stage_accumulators(const float (&acc)[T::MI][T::NI][4], unsigned smem) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int wm = warp / T::WARPS_N, wn = warp % T::WARPS_N, g = lane >> 2, tq = lane & 3;
    __syncthreads();
#pragma unroll
    for (int i = 0; i < T::MI; i++) {
#pragma unroll
        for (int j = 0; j < T::NI; j++) {
#pragma unroll
            for (int h = 0; h < 2; h++) {
                int r = wm * T::WM + i * 16 + g + 8 * h, col = wn * T::WN + j * 8 + 2 * tq;
                st_shared_v2(smem + 4 * (r * T::CS + col), acc[i][j][2 * h], acc[i][j][2 * h + 1]);
            }
        }
    }
    __syncthreads();
}

// The tile shapes of the kernels (dev.ditj.cuda.GemmPlan.Tile mirrors this list).
using T128x128 = Tile<128, 128, 2, 4, 4>;
using T128x64 = Tile<128, 64, 2, 2, 4>;
using T96x96 = Tile<96, 96, 2, 2, 4>;
using T64x64 = Tile<64, 64, 2, 2, 4>;
using T16x128 = Tile<16, 128, 1, 4, 4>;

}  // namespace mma_bf16_tiles
