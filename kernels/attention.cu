// Multi-head self-attention without mask, fused (flash-style online softmax; no N x N matrix in global memory):
// out[b,t, h*hd + d] = Σ_j softmax_j(scale · q·k_j) v_j[d], with q, k, v read from qkv [B*T, 3H] (features
// which*H + h*hd + d, as DiT's timm Attention lays them out).
// One warp per query row. Per tile of KT keys the block stages K in shared memory (row stride hd+1: conflict-free);
// lane j computes the score of key j, the warp keeps a running max and sum, and each lane accumulates DCH output
// dimensions (lane + 32·i) reading V rows from global (coalesced across lanes).
// Two instantiations: head dim <= 128 (8 warps, KT 32) and <= 512 (4 warps, KT 16; the VAE's single 512-wide head).
// Launch: grid (ceil(T / warps), heads, B), block 32·warps. Floor: 4·B·heads·T²·hd FLOPs.
#include "common.cuh"

template <int DCH, int WARPS, int KT>
__device__ void attention_impl(float* __restrict__ out, const float* __restrict__ qkv, int tokens, int heads, int hd,
                               float scale) {
    extern __shared__ float smem[];
    const int stride = hd + 1;
    float* ks = smem;                      // [KT][hd+1]
    float* qs = smem + KT * stride;        // [WARPS][hd+1]
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int h = heads * hd, ld = 3 * h, head = blockIdx.y, b = blockIdx.z;
    const int row = blockIdx.x * WARPS + warp;
    const bool active = row < tokens;
    const float* base = qkv + (int64_t)b * tokens * ld;
    if (active) {
        for (int d = lane; d < hd; d += 32) qs[warp * stride + d] = base[(int64_t)row * ld + head * hd + d] * scale;
    }
    float acc[DCH];
#pragma unroll
    for (int i = 0; i < DCH; i++) acc[i] = 0.0f;
    float m = -INFINITY, l = 0.0f;
    for (int j0 = 0; j0 < tokens; j0 += KT) {
        __syncthreads();
        for (int e = threadIdx.x; e < KT * hd; e += 32 * WARPS) {
            int j = e / hd, d = e % hd;
            ks[j * stride + d] = j0 + j < tokens ? base[(int64_t)(j0 + j) * ld + h + head * hd + d] : 0.0f;
        }
        __syncthreads();
        if (!active) continue;
        // lane j: the score of key j0 + j
        float s = -INFINITY;
        if (lane < KT && j0 + lane < tokens) {
            float dot = 0.0f;
            const float* q = qs + warp * stride;
            const float* kr = ks + lane * stride;
            for (int d = 0; d < hd; d++) dot = fmaf(q[d], kr[d], dot);
            s = dot;
        }
        float mNew = fmaxf(m, ditj_warp_max(s));
        float p = s == -INFINITY ? 0.0f : expf(s - mNew);
        float alpha = m == -INFINITY ? 0.0f : expf(m - mNew);
        l = l * alpha + ditj_warp_sum(p);
        m = mNew;
#pragma unroll
        for (int i = 0; i < DCH; i++) acc[i] *= alpha;
        int kn = min(KT, tokens - j0);
        for (int j = 0; j < kn; j++) {
            float pj = __shfl_sync(0xffffffffu, p, j);
            const float* vr = base + (int64_t)(j0 + j) * ld + 2 * h + head * hd;
#pragma unroll
            for (int i = 0; i < DCH; i++) {
                int d = lane + 32 * i;
                if (d < hd) acc[i] = fmaf(pj, vr[d], acc[i]);
            }
        }
    }
    if (active) {
        float inv = 1.0f / l;
        float* o = out + ((int64_t)b * tokens + row) * h + head * hd;
#pragma unroll
        for (int i = 0; i < DCH; i++) {
            int d = lane + 32 * i;
            if (d < hd) o[d] = acc[i] * inv;
        }
    }
}

// head dim <= 128; dynamic shared memory (32 + 8) * (hd + 1) floats
extern "C" __global__ void __launch_bounds__(256) attention_f32_d128(float* out, const float* qkv, int tokens, int heads,
                                                                     int hd, float scale) {
    attention_impl<4, 8, 32>(out, qkv, tokens, heads, hd, scale);
}

// head dim <= 512; dynamic shared memory (16 + 4) * (hd + 1) floats
extern "C" __global__ void __launch_bounds__(128) attention_f32_d512(float* out, const float* qkv, int tokens, int heads,
                                                                     int hd, float scale) {
    attention_impl<16, 4, 16>(out, qkv, tokens, heads, hd, scale);
}
