// Normalisations.
// modulated_layernorm: out = LN(x)·(1 + scale) + shift over rows of H (no affine, eps), shift/scale = chunks of
//   the per-sample modulation mod [B, k·H]; out fp32 [rows, H] (_f32) or bf16 with rows ld apart (_bf16: the A
//   operand of the next GEMM, rounded to nearest even once). A block takes LN_ROWS rows of one sample. Vector path
//   (vec: H a multiple of 4, at most 128·LN_VEC, operands 16-byte aligned; the host decides): the block stages the
//   sample's shift and 1 + scale in shared memory once, then each warp holds a row in registers (one 16-byte load per
//   4 elements), takes the mean, then the centred variance from the registers (fp32, as before), and writes 16-byte
//   (fp32) or 8-byte (bf16) groups. Scalar path: the same per element, x read three times.
//   Launch: grid (ceil(tokens / LN_ROWS), B), block 256, dynamic shared memory 8·H bytes (vector path, else 0).
//   Floor: x read + out written + 2·H·4 bytes of mod per sample; the vector path moves x + out + 2·H·4 per block
//   (≤ 1.1x the floor at LN_ROWS = 16).
// group_norm: per (sample, group) mean and variance accumulated in float64 (up to 262,144 values; no atomics, so
//   deterministic), then y = x·(rstd·γ) + (β - mean·rstd·γ), optionally SiLU. One block per (sample, group).
//   Launch: grid (groups, B), block 256. Floor: 3 reads + 1 write per element.
#include "common.cuh"

namespace norm_impl {

constexpr int LN_THREADS = 256, LN_ROWS = 16, LN_VEC = 12;   // LN_VEC float4 per lane: H <= 1536 in registers

template <class Out>
__device__ __forceinline__ void modulated_layernorm(Out* __restrict__ out, int ld, const float* __restrict__ x,
                                                    const float* __restrict__ mod, int h, int tokens, int mod_stride,
                                                    int shift_chunk, int scale_chunk, float eps, int vec) {
    extern __shared__ float4 ln_mod[];   // vector path: [h / 4] shift, then [h / 4] 1 + scale
    const int b = blockIdx.y, t0 = blockIdx.x * LN_ROWS, t1 = min(tokens, t0 + LN_ROWS);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const float* shift = mod + (int64_t)b * mod_stride + shift_chunk * h;
    const float* scale = mod + (int64_t)b * mod_stride + scale_chunk * h;
    if (!vec) {
        for (int t = t0 + warp; t < t1; t += LN_THREADS / 32) {
            const int64_t row = (int64_t)b * tokens + t;
            const float* xr = x + row * h;
            float s = 0.0f;
            for (int i = lane; i < h; i += 32) s += xr[i];
            const float mean = ditj_warp_sum(s) / h;
            float q = 0.0f;
            for (int i = lane; i < h; i += 32) {
                float d = xr[i] - mean;
                q = fmaf(d, d, q);
            }
            const float rstd = rsqrtf(ditj_warp_sum(q) / h + eps);
            for (int i = lane; i < h; i += 32) ditj_store(out + row * ld + i, (xr[i] - mean) * rstd * (1.0f + scale[i]) + shift[i]);
        }
        return;
    }
    const int h4 = h / 4;
    for (int i = threadIdx.x; i < h4; i += LN_THREADS) {
        float4 sc = ditj_ld4(scale + 4 * i);
        ln_mod[i] = ditj_ld4(shift + 4 * i);
        ln_mod[h4 + i] = make_float4(1.0f + sc.x, 1.0f + sc.y, 1.0f + sc.z, 1.0f + sc.w);
    }
    __syncthreads();
    for (int t = t0 + warp; t < t1; t += LN_THREADS / 32) {
        const int64_t row = (int64_t)b * tokens + t;
        const float* xr = x + row * h;
        float4 v[LN_VEC];
        float s = 0.0f;
#pragma unroll
        for (int j = 0; j < LN_VEC; j++) {
            const int i = lane + 32 * j;
            v[j] = i < h4 ? ditj_ld4(xr + 4 * i) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            s += (v[j].x + v[j].y) + (v[j].z + v[j].w);
        }
        const float mean = ditj_warp_sum(s) / h;
        float q = 0.0f;
#pragma unroll
        for (int j = 0; j < LN_VEC; j++) {
            if (lane + 32 * j < h4) {
                float4 d = make_float4(v[j].x - mean, v[j].y - mean, v[j].z - mean, v[j].w - mean);
                q = fmaf(d.x, d.x, fmaf(d.y, d.y, fmaf(d.z, d.z, fmaf(d.w, d.w, q))));
            }
        }
        const float rstd = rsqrtf(ditj_warp_sum(q) / h + eps);
#pragma unroll
        for (int j = 0; j < LN_VEC; j++) {
            const int i = lane + 32 * j;
            if (i < h4) {
                const float4 sh = ln_mod[i], sc = ln_mod[h4 + i];
                ditj_store4(out + row * ld + 4 * i,
                            make_float4((v[j].x - mean) * rstd * sc.x + sh.x, (v[j].y - mean) * rstd * sc.y + sh.y,
                                        (v[j].z - mean) * rstd * sc.z + sh.z, (v[j].w - mean) * rstd * sc.w + sh.w));
            }
        }
    }
}

}  // namespace norm_impl
using namespace norm_impl;  // named: an anonymous namespace puts a hash of the checkout path into the PTX

extern "C" __global__ void __launch_bounds__(LN_THREADS)
    modulated_layernorm_f32(float* __restrict__ out, const float* __restrict__ x, const float* __restrict__ mod, int h,
                            int tokens, int mod_stride, int shift_chunk, int scale_chunk, float eps, int vec) {
    modulated_layernorm(out, h, x, mod, h, tokens, mod_stride, shift_chunk, scale_chunk, eps, vec);
}

extern "C" __global__ void __launch_bounds__(LN_THREADS)
    modulated_layernorm_bf16(__nv_bfloat16* __restrict__ out, int ld, const float* __restrict__ x,
                             const float* __restrict__ mod, int h, int tokens, int mod_stride, int shift_chunk,
                             int scale_chunk, float eps, int vec) {
    modulated_layernorm(out, ld, x, mod, h, tokens, mod_stride, shift_chunk, scale_chunk, eps, vec);
}

// modulated_rmsnorm_f32: out = x·rsqrt(mean(x²) + eps)·weight·(1 + scale) + shift (LightningDiT's RMSNorm, then
//   adaLN), shift/scale chunks of mod as in modulated_layernorm. One warp per row, x read twice (fp32 sums).
//   Launch: grid ceil(rows / 8), block 256. Floor: x read + out written + weight and mod.
extern "C" __global__ void __launch_bounds__(256)
    modulated_rmsnorm_f32(float* __restrict__ out, const float* __restrict__ x, const float* __restrict__ weight,
                          const float* __restrict__ mod, int h, int rows, int tokens, int mod_stride, int shift_chunk,
                          int scale_chunk, float eps) {
    const int row = blockIdx.x * 8 + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows) return;
    const float* xr = x + (int64_t)row * h;
    const float* shift = mod + (int64_t)(row / tokens) * mod_stride + shift_chunk * h;
    const float* scale = mod + (int64_t)(row / tokens) * mod_stride + scale_chunk * h;
    float q = 0.0f;
    for (int i = lane; i < h; i += 32) q = fmaf(xr[i], xr[i], q);
    const float rrms = rsqrtf(ditj_warp_sum(q) / h + eps);
    for (int i = lane; i < h; i += 32) out[(int64_t)row * h + i] = xr[i] * rrms * weight[i] * (1.0f + scale[i]) + shift[i];
}

extern "C" __global__ void __launch_bounds__(256) group_norm_f32(float* __restrict__ out, const float* __restrict__ x,
                                                                 const float* __restrict__ gamma,
                                                                 const float* __restrict__ beta, int channels,
                                                                 int spatial, int groups, float eps, int silu) {
    __shared__ double partial[8];
    const int g = blockIdx.x, b = blockIdx.y, cpg = channels / groups;
    const int64_t n = (int64_t)cpg * spatial;
    const float* xg = x + ((int64_t)b * channels + (int64_t)g * cpg) * spatial;
    float* og = out + ((int64_t)b * channels + (int64_t)g * cpg) * spatial;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

    double s = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += xg[i];
    s = ditj_warp_sum_d(s);
    if (lane == 0) partial[warp] = s;
    __syncthreads();
    double total = 0.0;
    for (int w = 0; w < blockDim.x / 32; w++) total += partial[w];
    const double mean = total / n;
    __syncthreads();

    double v = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        double d = xg[i] - mean;
        v += d * d;
    }
    v = ditj_warp_sum_d(v);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    double var = 0.0;
    for (int w = 0; w < blockDim.x / 32; w++) var += partial[w];
    const double rstd = 1.0 / sqrt(var / n + eps);

    for (int c = 0; c < cpg; c++) {
        const double sc = rstd * gamma[g * cpg + c];
        const float mul = (float)sc, add = (float)(beta[g * cpg + c] - mean * sc);
        const float* xc = xg + (int64_t)c * spatial;
        float* oc = og + (int64_t)c * spatial;
        for (int i = threadIdx.x; i < spatial; i += blockDim.x) {
            float y = xc[i] * mul + add;
            oc[i] = silu ? ditj_silu(y) : y;
        }
    }
}
