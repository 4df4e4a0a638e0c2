// Helpers shared by the kernel families (header only; no kernels here).
#pragma once
#include <cstdint>

// Grid-stride loop over [0, n).
#define DITJ_FOR(i, n) \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

// The activations of the linear layers, as the CPU backend writes them (GELU-tanh as v / (1 + exp(-2u))).
#define DITJ_ACT_NONE 0
#define DITJ_ACT_SILU 1
#define DITJ_ACT_GELU_TANH 2

__device__ __forceinline__ float ditj_silu(float v) { return v / (1.0f + expf(-v)); }

__device__ __forceinline__ float ditj_gelu_tanh(float v) {
    const float k = 1.5957691216057308f;  // 2 * sqrt(2 / pi)
    return v / (1.0f + expf(-k * (v + 0.044715f * v * v * v)));
}

__device__ __forceinline__ float ditj_activate(float v, int act) {
    return act == DITJ_ACT_SILU ? ditj_silu(v) : act == DITJ_ACT_GELU_TANH ? ditj_gelu_tanh(v) : v;
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
