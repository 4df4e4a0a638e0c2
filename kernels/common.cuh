// Helpers shared by the kernel families (header only; no kernels here).
#pragma once
#include <cstdint>
#include <cuda_bf16.h>

// Grid-stride loop over [0, n).
#define DITJ_FOR(i, n) \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

// 16-byte accesses for the memory-bound kernels: whether every pointer is 16-byte aligned (null counts as aligned),
// float4 loads and stores, and the grid-stride loop of an elementwise kernel that runs body4(i) on the groups
// i = 0, 4, 8, ... below n - 3 (only where vec) and body1(i) on the elements after them.
template <class... P>
__device__ __forceinline__ bool ditj_aligned16(const P*... p) {
    return (((((uintptr_t)p) & 15) == 0) && ...);
}
__device__ __forceinline__ float4 ditj_ld4(const float* p) {
    return *reinterpret_cast<const float4*>(p);
}
__device__ __forceinline__ void ditj_st4(float* p, float4 v) {
    *reinterpret_cast<float4*>(p) = v;
}
template <class F4, class F1>
__device__ __forceinline__ void ditj_for_vec4(int64_t n, bool vec, F4 body4, F1 body1) {
    const int64_t n4 = vec ? n / 4 : 0;
    DITJ_FOR(g, n4) body4(4 * g);
    DITJ_FOR(i, n - 4 * n4) body1(4 * n4 + i);
}

// The activations of the linear layers, as the CPU backend writes them (GELU-tanh as v / (1 + exp(-2u))).
#define DITJ_ACT_NONE 0
#define DITJ_ACT_SILU 1
#define DITJ_ACT_GELU_TANH 2

__device__ __forceinline__ float ditj_silu(float v) { return v / (1.0f + expf(-v)); }

__device__ __forceinline__ float ditj_gelu_tanh(float v) {
    const float k = 1.5957691216057308f;  // 2 * sqrt(2 / pi)
    return v / (1.0f + expf(-k * (v + 0.044715f * v * v * v)));
}

// Both activations are v / (1 + exp(-z)) (z = v for SiLU, 2u for GELU-tanh): one exponential in the code.
__device__ __forceinline__ float ditj_activate(float v, int act) {
    if (act == DITJ_ACT_NONE) return v;
    float z = act == DITJ_ACT_GELU_TANH ? 1.5957691216057308f * (v + 0.044715f * v * v * v) : v;
    return v / (1.0f + expf(-z));
}

// The epilogue of every linear kernel (fp32 SIMT and bf16 tensor-core, any tile, and the split-K reduction):
//   v = act(acc + bias[col]);  then, with a residual, v = residual[row, col] + gate[row / tokens, col] · v
// (the adaLN-Zero gated residual x + gate ⊙ y; without a gate, a plain residual add). Null pointers switch parts
// off; residual may alias the output (each element is read and written by the same thread). gate points at the
// gate chunk of the modulation tensor, whose rows are gate_stride apart.
struct DitjEpilogue {
    const float* bias;
    const float* residual;
    const float* gate;
    int act, gate_stride, tokens;

    __device__ __forceinline__ float operator()(float acc, int64_t row, int col, int n) const {
        float v = ditj_activate(acc + (bias != nullptr ? bias[col] : 0.0f), act);
        if (residual != nullptr) {
            float g = gate != nullptr ? gate[(row / tokens) * gate_stride + col] : 1.0f;
            v = residual[row * n + col] + g * v;
        }
        return v;
    }

    // Four consecutive outputs (col a multiple of 4, col + 3 < n) with 16-byte loads; only where vec4_ok(n).
    __device__ __forceinline__ float4 four(float4 acc, int64_t row, int col, int n) const {
        float4 b = bias != nullptr ? *reinterpret_cast<const float4*>(bias + col) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        float4 v = make_float4(ditj_activate(acc.x + b.x, act), ditj_activate(acc.y + b.y, act),
                               ditj_activate(acc.z + b.z, act), ditj_activate(acc.w + b.w, act));
        if (residual != nullptr) {
            float4 g = gate != nullptr ? *reinterpret_cast<const float4*>(gate + (row / tokens) * gate_stride + col)
                                       : make_float4(1.0f, 1.0f, 1.0f, 1.0f);
            float4 r = *reinterpret_cast<const float4*>(residual + row * n + col);
            v = make_float4(r.x + g.x * v.x, r.y + g.y * v.y, r.z + g.z * v.z, r.w + g.w * v.w);
        }
        return v;
    }

    // Whether four() may be used: rows of n and of the gate a multiple of 4 floats, every operand 16-byte aligned.
    __device__ __forceinline__ bool vec4_ok(int n) const {
        auto aligned = [](const void* p) { return ((uintptr_t)p & 15) == 0; };
        return (n & 3) == 0 && (gate_stride & 3) == 0 && aligned(bias) && aligned(residual) && aligned(gate);
    }
};

__device__ __forceinline__ void ditj_store(float* p, float v) {
    *p = v;
}
__device__ __forceinline__ void ditj_store(__nv_bfloat16* p, float v) {
    *p = __float2bfloat16_rn(v);
}
__device__ __forceinline__ void ditj_store4(float* p, float4 v) {
    *reinterpret_cast<float4*>(p) = v;
}
__device__ __forceinline__ void ditj_store4(__nv_bfloat16* p, float4 v) {
    __nv_bfloat162 lo = __floats2bfloat162_rn(v.x, v.y), hi = __floats2bfloat162_rn(v.z, v.w);
    *reinterpret_cast<uint2*>(p) = make_uint2(*reinterpret_cast<unsigned*>(&lo), *reinterpret_cast<unsigned*>(&hi));
}

// The end of a linear kernel: the block's BM x BN fp32 results, staged in shared memory (cs, rows CS floats apart,
// CS a multiple of 4), go through the epilogue to C at (row0, col0), C's rows ldc elements apart (ldc >= n: a bf16
// GEMM operand's padded rows). Each thread takes 4 consecutive columns of a row at a time: 16-byte loads and stores
// along rows, and the epilogue's code once, in a loop, rather than once per accumulator register. Rows from m and
// columns from n on are skipped.
template <int BM, int BN, int THREADS, class Out>
__device__ __forceinline__ void ditj_store_tile(Out* c, const float* cs, int CS, int row0, int col0, int m, int n,
                                                int ldc, const DitjEpilogue& ep) {
    const bool vec = ep.vec4_ok(n) && (ldc & 3) == 0 && ((uintptr_t)c & (4 * sizeof(Out) - 1)) == 0;
#pragma unroll 1
    for (int e = threadIdx.x; e < BM * BN / 4; e += THREADS) {
        int r = e / (BN / 4), cc = e % (BN / 4) * 4;
        int64_t row = row0 + r;
        int col = col0 + cc;
        if (row >= m || col >= n) continue;
        float4 v = *reinterpret_cast<const float4*>(cs + r * CS + cc);
        Out* p = c + row * ldc + col;
        if (vec && col + 3 < n) {
            ditj_store4(p, ep.four(v, row, col, n));
        } else {   // one at a time (the rotation keeps the four in registers without unrolling the loop)
#pragma unroll 1
            for (int q = 0; q < 4 && col + q < n; q++) {
                ditj_store(p + q, ep(v.x, row, col + q, n));
                v = make_float4(v.y, v.z, v.w, v.x);
            }
        }
    }
}

template <int BM, int BN, int THREADS, class Out>
__device__ __forceinline__ void ditj_store_tile(Out* c, const float* cs, int CS, int row0, int col0, int m, int n,
                                                const DitjEpilogue& ep) {
    ditj_store_tile<BM, BN, THREADS>(c, cs, CS, row0, col0, m, n, n, ep);
}

__device__ __forceinline__ float ditj_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float ditj_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ double ditj_warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
