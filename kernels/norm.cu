// Normalisations.
// modulated_layernorm: out = LN(x)·(1 + scale) + shift over rows of H (no affine, eps), shift/scale = chunks of
//   the per-sample modulation mod [B, k·H]. One warp per row, two passes (mean, then centred variance) over
//   registers/L1. Launch: grid ceil(rows/8), block 256. Floor: 3 reads + 1 write per element.
// group_norm: per (sample, group) mean and variance accumulated in float64 (up to 262,144 values; no atomics, so
//   deterministic), then y = x·(rstd·γ) + (β - mean·rstd·γ), optionally SiLU. One block per (sample, group).
//   Launch: grid (groups, B), block 256. Floor: 3 reads + 1 write per element.
#include "common.cuh"

extern "C" __global__ void modulated_layernorm_f32(float* __restrict__ out, const float* __restrict__ x,
                                                   const float* __restrict__ mod, int rows, int h, int tokens,
                                                   int mod_stride, int shift_chunk, int scale_chunk, float eps) {
    const int warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
    if (warp >= rows) return;
    const float* xr = x + (int64_t)warp * h;
    float s = 0.0f;
    for (int i = lane; i < h; i += 32) s += xr[i];
    const float mean = ditj_warp_sum(s) / h;
    float v = 0.0f;
    for (int i = lane; i < h; i += 32) {
        float d = xr[i] - mean;
        v = fmaf(d, d, v);
    }
    const float rstd = rsqrtf(ditj_warp_sum(v) / h + eps);
    const float* mb = mod + (int64_t)(warp / tokens) * mod_stride;
    const float* shift = mb + shift_chunk * h;
    const float* scale = mb + scale_chunk * h;
    float* o = out + (int64_t)warp * h;
    for (int i = lane; i < h; i += 32) o[i] = (xr[i] - mean) * rstd * (1.0f + scale[i]) + shift[i];
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
