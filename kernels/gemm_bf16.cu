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
// Tiles: Tile<BM, BN, WARPS_M, WARPS_N, STAGES> of mma_bf16.cuh (one instantiation per kernel name below), which
//   also holds the 4-stage cp.async ring with its swizzled 64-byte rows, the ldmatrix feeding and the row loader
//   shared with conv_bf16.cu: no bank conflicts (checked by the emulator's counters, CudaBf16EmuTest). Tails: rows
//   past M or N and columns past K are zero-filled through cp.async's source size, so K needs no particular multiple.
// Split-K: block z takes K range [z·k_split, (z+1)·k_split) (k_split a multiple of 32). With more than one z the
//   caller passes a workspace as C and no epilogue: the kernel writes raw fp32 partial sums to C + z·M·N, and
//   linear_splitk_reduce_* adds them in z order (deterministic, no atomics) and applies the epilogue.
// Launch (dev.ditj.cuda.GemmPlan chooses tile and splits per shape): grid (ceil(N/BN), ceil(M/BM), splits),
//   block 32·WARPS_M·WARPS_N, dynamic shared memory max(STAGES·(BM + BN)·64, BM·(BN + 8)·4) bytes (the ring, then
//   the epilogue's staging tile: C leaves in 16-byte row segments).
// Floor: 2·M·N·K FLOPs (DiT-XL/2 at 256 px, batch 2 with guidance: 457 GFLOP per forward, 0.58 ms at 790 TFLOP/s
//   dense bf16); bytes (M + N)·K·2 + M·N·4 (C fp32), dominated by the weights at small M (adaLN: M = batch).
#include "mma_bf16.cuh"

namespace gemm_bf16_impl {

using namespace mma_bf16_tiles;

template <class T, class Out>
__device__ __forceinline__ void linear_bf16(Out* c, const __nv_bfloat16* __restrict__ a,
                                            const __nv_bfloat16* __restrict__ w, int m, int n, int k, int lda, int ldw,
                                            int ldc, int k_split, const DitjEpilogue& ep) {
    extern __shared__ __align__(128) unsigned char ditj_smem[];
    const unsigned smem = smem_u32(ditj_smem);
    const int row0 = blockIdx.y * T::BM, col0 = blockIdx.x * T::BN;
    const int k_begin = blockIdx.z * k_split, k_end = min(k, k_begin + k_split);
    TileLoader<T::BM, T::THREADS> la(a, lda, row0, m);
    TileLoader<T::BN, T::THREADS> lw(w, ldw, col0, n);
    float acc[T::MI][T::NI][4] = {};
    mma_mainloop<T>(acc, la, lw, smem, k_begin, k_end);
    // Epilogue through shared memory: the fragments to a [BM][BN + 8] fp32 tile, then to C by rows.
    stage_accumulators<T>(acc, smem);
    ditj_store_tile<T::BM, T::BN, T::THREADS>(c + (int64_t)blockIdx.z * m * ldc, reinterpret_cast<const float*>(ditj_smem),
                                              T::CS, row0, col0, m, n, ldc, ep);
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
        ditj_store4(c + row * ldc + col, ep.four(s, row, col, ldc));
    }, [&](int64_t i) {
        float s = ws[i];
        for (int z = 1; z < splits; z++) s += ws[z * mn + i];
        int64_t row = i / n;
        int col = (int)(i - row * n);
        ditj_store(c + row * ldc + col, ep(s, row, col, ldc));
    });
}

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
