// Linear layers, version 2 (tensor cores; gemm.cu is the fp32 reference beside it):
// C[M,N] = epilogue(A[M,K] · W[N,K]ᵀ) with A and W in bf16, fp32 accumulation, C in fp32 or bf16.
//
// Math: mma.sync.m16n8k16 bf16 x bf16 -> fp32 (products exact, sums in fp32), then DitjEpilogue (common.cuh: bias,
//   activation, gated residual) on the fp32 accumulators; a bf16 C is rounded to nearest even once, at the store.
// Layout: A [M, lda], W [N, ldw] (PyTorch's Linear weight) row-major bf16, lda and ldw multiples of 8 so rows start
//   16-byte aligned for cp.async (CudaOps uses multiples of 16: rows start on 32-byte sectors); columns K..ld-1 are
//   never read; C [M, N] with rows ldc apart (a bf16 C that feeds the next GEMM has that GEMM's padded rows). A
//   comes from a producer that writes bf16 (a normalisation, an activation, this kernel's bf16 C) or, for fp32
//   activations, from convert_bf16_rows.
// Tiles: Tile<BM, BN, WARPS_M, WARPS_N, STAGES> (one instantiation per kernel name below): a block computes BM x BN
//   of C with WARPS_M x WARPS_N warps, each warp (BM/WARPS_M) x (BN/WARPS_N) as 16x8 mma tiles fed by ldmatrix.x4.
//   K advances 32 at a time through a STAGES-deep cp.async ring in dynamic shared memory: per stage BM + BN rows of
//   64 bytes, 16-byte chunk c of row r stored at chunk c ^ ((r / 2) mod 4), so the cp.async stores (8 lanes = 2
//   rows per phase) and the ldmatrix reads (8 consecutive rows at one chunk) both hit 8 distinct 16-byte bank
//   groups: no bank conflicts (checked by the emulator's counters, CudaBf16EmuTest). Tails: rows past M or N and
//   columns past K are zero-filled through cp.async's source size, so K needs no particular multiple.
// Split-K: block z takes K range [z·k_split, (z+1)·k_split) (k_split a multiple of 32). With more than one z the
//   caller passes a workspace as C and no epilogue: the kernel writes raw fp32 partial sums to C + z·M·N, and
//   linear_splitk_reduce_* adds them in z order (deterministic, no atomics) and applies the epilogue.
// Launch (dev.ditj.cuda.GemmPlan chooses tile and splits per shape): grid (ceil(N/BN), ceil(M/BM), splits),
//   block 32·WARPS_M·WARPS_N, dynamic shared memory max(STAGES·(BM + BN)·64, BM·(BN + 8)·4) bytes (the ring, then
//   the epilogue's staging tile: C leaves in 16-byte row segments).
// Floor: 2·M·N·K FLOPs (DiT-XL/2 at 256 px, batch 2 with guidance: 457 GFLOP per forward, 0.58 ms at 790 TFLOP/s
//   dense bf16); bytes (M + N)·K·2 + M·N·4 (C fp32), dominated by the weights at small M (adaLN: M = batch).
#include "common.cuh"
#include "tensor_core.cuh"

namespace gemm_bf16_impl {

template <int BM_, int BN_, int WARPS_M_, int WARPS_N_, int STAGES_>
struct Tile {
    static constexpr int BM = BM_, BN = BN_, WARPS_M = WARPS_M_, WARPS_N = WARPS_N_, STAGES = STAGES_;
    static constexpr int BK = 32;   // k per stage: 64-byte rows
    static constexpr int THREADS = 32 * WARPS_M * WARPS_N;
    static constexpr int WM = BM / WARPS_M, WN = BN / WARPS_N, MI = WM / 16, NI = WN / 8;
    static constexpr int A_BYTES = BM * BK * 2, STAGE_BYTES = (BM + BN) * BK * 2;
    static_assert(WM % 16 == 0 && WN % 16 == 0, "warp tiles are whole 16x16 ldmatrix.x4 blocks");
    static_assert(BN % 32 == 0, "a quarter-warp reads 128 bytes of one staged row in the epilogue");
    static_assert(STAGES >= 3, "a pipeline of at least 3 stages");
};

// Byte offset of 16-byte chunk c (0..3) of row r in a tile of 64-byte rows (the swizzle described above).
__device__ __forceinline__ unsigned swizzled(int r, int c) {
    return r * 64 + ((c ^ ((r >> 1) & 3)) << 4);
}

// Copies rows [r0, r0 + ROWS) x columns [k0, k0 + 32) of a row-major bf16 matrix into swizzled stage tiles, rows
// from rows_end and columns from k_end on as zeros. Thread t moves 16-byte chunk t mod 4 of rows t/4, t/4 + T/4, ...
// (T = THREADS, a multiple of 32, so those rows share the chunk's swizzle); what does not depend on k0 is set once.
// Rows past the end and chunks past K get source size 0 (nothing is read) and an address inside the matrix.
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

template <class T, class Out>
__device__ __forceinline__ void linear_bf16(Out* c, const __nv_bfloat16* __restrict__ a,
                                            const __nv_bfloat16* __restrict__ w, int m, int n, int k, int lda, int ldw,
                                            int ldc, int k_split, const DitjEpilogue& ep) {
    extern __shared__ __align__(128) unsigned char ditj_smem[];
    const unsigned smem = smem_u32(ditj_smem);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int wm = warp / T::WARPS_N, wn = warp % T::WARPS_N;
    const int row0 = blockIdx.y * T::BM, col0 = blockIdx.x * T::BN;
    const int k_begin = blockIdx.z * k_split, k_end = min(k, k_begin + k_split);
    const int tiles = k_end > k_begin ? (k_end - k_begin + T::BK - 1) / T::BK : 0;

    const TileLoader<T::BM, T::THREADS> la(a, lda, row0, m);
    const TileLoader<T::BN, T::THREADS> lw(w, ldw, col0, n);
    auto load = [&](int t) {
        if (t < tiles) {
            unsigned stage = smem + (t % T::STAGES) * T::STAGE_BYTES;
            int k0 = k_begin + t * T::BK;
            la.load(stage, k0, k_end);
            lw.load(stage + T::A_BYTES, k0, k_end);
        }
        asm volatile("cp.async.commit_group;");   // empty groups past the end keep the wait count uniform
    };

    float acc[T::MI][T::NI][4] = {};
#pragma unroll 1
    for (int t = 0; t < T::STAGES - 1; t++) load(t);
    for (int t = 0; t < tiles; t++) {
        asm volatile("cp.async.wait_group %0;" ::"n"(T::STAGES - 2));
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

    // Epilogue through shared memory (the ring is drained: only empty cp.async groups are left): the fragments go
    // to a [BM][BN + 8] fp32 tile (the padding puts the 4 rows of a half-warp's 8-byte stores in distinct banks),
    // then to C by rows (ditj_store_tile).
    constexpr int CS = T::BN + 8;
    const float* cs = reinterpret_cast<const float*>(ditj_smem);
    const int g = lane >> 2, tq = lane & 3;
    __syncthreads();
#pragma unroll
    for (int i = 0; i < T::MI; i++) {
#pragma unroll
        for (int j = 0; j < T::NI; j++) {
#pragma unroll
            for (int h = 0; h < 2; h++) {
                int r = wm * T::WM + i * 16 + g + 8 * h, col = wn * T::WN + j * 8 + 2 * tq;
                st_shared_v2(smem + 4 * (r * CS + col), acc[i][j][2 * h], acc[i][j][2 * h + 1]);
            }
        }
    }
    __syncthreads();
    ditj_store_tile<T::BM, T::BN, T::THREADS>(c + (int64_t)blockIdx.z * m * ldc, cs, CS, row0, col0, m, n, ldc, ep);
}

// Four columns at a time (16-byte loads of every split) where the epilogue and C allow it: n is then a multiple
// of 4, so a group never crosses a row.
template <class Out>
__device__ __forceinline__ void splitk_reduce(Out* c, int ldc, const float* __restrict__ ws, int splits, int m, int n,
                                              const DitjEpilogue& ep) {
    const int64_t mn = (int64_t)m * n;
    const bool vec = ep.vec4_ok(n) && (ldc & 3) == 0 && ditj_aligned16(ws) && ((uintptr_t)c & (4 * sizeof(Out) - 1)) == 0;
    ditj_for_vec4(mn, vec, [&](int64_t i) {
        float4 s = ditj_ld4(ws + i);
        for (int z = 1; z < splits; z++) {
            float4 p = ditj_ld4(ws + z * mn + i);
            s = make_float4(s.x + p.x, s.y + p.y, s.z + p.z, s.w + p.w);
        }
        int64_t row = i / n;
        int col = (int)(i - row * n);
        ditj_store4(c + row * ldc + col, ep.four(s, row, col, n));
    }, [&](int64_t i) {
        float s = ws[i];
        for (int z = 1; z < splits; z++) s += ws[z * mn + i];
        int64_t row = i / n;
        int col = (int)(i - row * n);
        ditj_store(c + row * ldc + col, ep(s, row, col, n));
    });
}

using T128x128 = Tile<128, 128, 2, 4, 4>;
using T128x64 = Tile<128, 64, 2, 2, 4>;
using T96x96 = Tile<96, 96, 2, 2, 4>;
using T64x64 = Tile<64, 64, 2, 2, 4>;
using T16x128 = Tile<16, 128, 1, 4, 4>;

}  // namespace gemm_bf16_impl
using namespace gemm_bf16_impl;  // named, not anonymous: an anonymous namespace puts a path hash into the PTX

// The instantiations, one kernel name each: linear_bf16_<BM>x<BN>_<C type>.
#define DITJ_LINEAR_BF16(name, TILE, OUT)                                                                              \
    extern "C" __global__ void __launch_bounds__(TILE::THREADS)                                                       \
        name(OUT* c, const __nv_bfloat16* __restrict__ a, const __nv_bfloat16* __restrict__ w, int m, int n, int k,    \
             int lda, int ldw, int ldc, int k_split, const float* bias, int act, const float* residual,                \
             const float* gate, int gate_stride, int tokens) {                                                         \
        linear_bf16<TILE, OUT>(c, a, w, m, n, k, lda, ldw, ldc, k_split,                                               \
                               DitjEpilogue{bias, residual, gate, act, gate_stride, tokens});                          \
    }

DITJ_LINEAR_BF16(linear_bf16_128x128_f32, T128x128, float)
DITJ_LINEAR_BF16(linear_bf16_128x64_f32, T128x64, float)
DITJ_LINEAR_BF16(linear_bf16_96x96_f32, T96x96, float)
DITJ_LINEAR_BF16(linear_bf16_64x64_f32, T64x64, float)
DITJ_LINEAR_BF16(linear_bf16_16x128_f32, T16x128, float)
DITJ_LINEAR_BF16(linear_bf16_128x128_bf16, T128x128, __nv_bfloat16)
DITJ_LINEAR_BF16(linear_bf16_128x64_bf16, T128x64, __nv_bfloat16)
DITJ_LINEAR_BF16(linear_bf16_96x96_bf16, T96x96, __nv_bfloat16)
DITJ_LINEAR_BF16(linear_bf16_64x64_bf16, T64x64, __nv_bfloat16)
DITJ_LINEAR_BF16(linear_bf16_16x128_bf16, T16x128, __nv_bfloat16)

// C[row·ldc + col] = epilogue(sum over z in order of ws[z·M·N + row·N + col]): the split-K reduction.
// Launch: grid-stride, block 256, 4 elements per thread. Floor: splits·4 + 4 (+ 8 with a residual) bytes per element.
extern "C" __global__ void linear_splitk_reduce_f32(float* c, int ldc, const float* __restrict__ ws, int splits, int m,
                                                   int n, const float* bias, int act, const float* residual,
                                                   const float* gate, int gate_stride, int tokens) {
    splitk_reduce(c, ldc, ws, splits, m, n, DitjEpilogue{bias, residual, gate, act, gate_stride, tokens});
}

extern "C" __global__ void linear_splitk_reduce_bf16(__nv_bfloat16* c, int ldc, const float* __restrict__ ws,
                                                    int splits, int m, int n, const float* bias, int act,
                                                    const float* residual, const float* gate, int gate_stride,
                                                    int tokens) {
    splitk_reduce(c, ldc, ws, splits, m, n, DitjEpilogue{bias, residual, gate, act, gate_stride, tokens});
}

// out[r, c] = bf16(act(in[r, c])) (round to nearest even) for c < cols, 0 for cols <= c < ld: an fp32 [rows, cols]
// activation as a GEMM operand (act as in DitjEpilogue: SiLU makes SiLU(c) for the adaLN GEMM in one pass).
// Launch: grid-stride, block 256. Floor: 6 bytes per element.
extern "C" __global__ void convert_bf16_rows(__nv_bfloat16* __restrict__ out, const float* __restrict__ in, int rows,
                                             int cols, int ld, int act) {
    DITJ_FOR(i, (int64_t)rows * ld) {
        int64_t r = i / ld;
        int col = (int)(i - r * ld);
        out[i] = __float2bfloat16_rn(col < cols ? ditj_activate(in[r * cols + col], act) : 0.0f);
    }
}
