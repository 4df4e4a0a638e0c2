// The memory-bound image ops of the VAE decoder on channel-last bf16 activations (CudaOps in Precision.BF16 keeps
// every image tensor whose channel count C is a multiple of 8 as [B, pixels, C] bf16; conv_bf16.cu reads and writes
// that layout). Layout: a pixel's C channels are 2·C contiguous bytes, so every kernel here moves whole 16-byte
// chunks of 8 channels (16-byte loads and stores; tensors start 16-byte aligned). Math: bf16 in, fp32 arithmetic,
// bf16 out rounded to nearest even (fp32 where the output is float32). Launch: grid-stride, block 256, unless noted.
// Floors (bytes per element, at 4.8 TB/s on an H100): listed per kernel; SD VAE at 256 px, 128 channels at 256²:
// 8.4 M elements, 16.8 MB per bf16 pass.
//
// GroupNorm (+ SiLU) is a pass of its own rather than folded into the next convolution's prologue: the fold would
// apply the affine map and SiLU's exponential to every A element each time a tap and a warp column read it (9·WARPS_N
// times per element for a 3×3), in the tensor-core kernel's main loop, and would have to keep the zero padding zero
// after normalisation; the pass costs 3 x 2 bytes per element and stays off the compute-bound kernel. Three kernels:
// per-block partial statistics, per-group statistics, then the normalisation; statistics in fp32, merged as
// (count, mean, M2) triples (Chan et al.), in a fixed order (deterministic, no atomics).
#include "common.cuh"

namespace image_bf16_impl {   // named, not anonymous: an anonymous namespace puts a path hash into the PTX

__device__ __forceinline__ void unpack8(uint4 u, float (&v)[8]) {
    const unsigned w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 f = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&w[i]));
        v[2 * i] = f.x;
        v[2 * i + 1] = f.y;
    }
}

__device__ __forceinline__ uint4 pack8(const float (&v)[8]) {
    unsigned w[4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
        __nv_bfloat162 h = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
        w[i] = *reinterpret_cast<unsigned*>(&h);
    }
    return make_uint4(w[0], w[1], w[2], w[3]);
}

__device__ __forceinline__ void load8(const __nv_bfloat16* p, float (&v)[8]) {
    unpack8(*reinterpret_cast<const uint4*>(p), v);
}

__device__ __forceinline__ void store8(__nv_bfloat16* p, const float (&v)[8]) {
    *reinterpret_cast<uint4*>(p) = pack8(v);
}

// Merges statistics (nb values, mean mb, sum of squared deviations qb) into (n, mean, q).
__device__ __forceinline__ void chan_merge(float& n, float& mean, float& q, float nb, float mb, float qb) {
    if (nb == 0.0f) return;
    float nn = n + nb, d = mb - mean;
    mean += d * (nb / nn);
    q += qb + d * d * (n * nb / nn);
    n = nn;
}

}  // namespace image_bf16_impl
using namespace image_bf16_impl;

// GroupNorm step 1: statistics of each channel over a range of pixels. Block (blk, b) takes pixels [blk·per_block,
// (blk + 1)·per_block) of sample b of x [B, hw, C]; thread t reads chunk t mod (C/8) of pixels t / (C/8), + rows,
// ... (rows = 256 / (C/8) pixels per sweep, C ≤ 2048), keeping per channel the sums of x - (its first value) and their
// squares (the shift spares a channel whose spread is small against its mean the cancellation of sum(x²) - n·mean²),
// then per channel (count, mean, M2) merged over the block's rows. part [B, blocks, 3, C]: count, mean, M2 of channel c in block blk. Launch: grid (blocks, B),
// block 256. Floor: 2 bytes per element.
extern "C" __global__ void __launch_bounds__(256) group_norm_nhwc_partials(float* __restrict__ part,
                                                                         const __nv_bfloat16* __restrict__ x, int hw,
                                                                         int channels, int per_block) {
    constexpr int STR = 256 + 4;   // thread partials by channel slot: a warp's reads per channel hit 32 banks
    __shared__ float s_mean[8 * STR], s_m2[8 * STR], s_n[256];
    const int chunks = channels / 8, rows = 256 / chunks, t = threadIdx.x, j8 = t % chunks, r = t / chunks;
    const int b = blockIdx.y, p0 = blockIdx.x * per_block, p1 = min(hw, p0 + per_block);
    const __nv_bfloat16* xc = x + (int64_t)b * hw * channels + j8 * 8;
    float shift[8], s1[8], s2[8];
    int n = 0;
#pragma unroll
    for (int j = 0; j < 8; j++) shift[j] = s1[j] = s2[j] = 0.0f;
    if (r < rows && p0 + r < p1) {
        load8(xc + (int64_t)(p0 + r) * channels, shift);
        n = 1;
#pragma unroll 4
        for (int p = p0 + r + rows; p < p1; p += rows, n++) {
            float v[8];
            load8(xc + (int64_t)p * channels, v);
#pragma unroll
            for (int j = 0; j < 8; j++) {
                float d = v[j] - shift[j];
                s1[j] += d;
                s2[j] = fmaf(d, d, s2[j]);
            }
        }
    }
#pragma unroll
    for (int j = 0; j < 8; j++) {
        float m = n > 0 ? s1[j] / n : 0.0f;
        s_mean[j * STR + t] = shift[j] + m;
        s_m2[j * STR + t] = fmaxf(s2[j] - s1[j] * m, 0.0f);
    }
    s_n[t] = (float)n;
    __syncthreads();
    for (int c = t; c < channels; c += 256) {
        const int slot = (c & 7) * STR + c / 8;
        float cn = 0.0f, cm = 0.0f, cq = 0.0f;
        for (int i = 0; i < rows; i++) {
            int ti = i * chunks;
            chan_merge(cn, cm, cq, s_n[ti + c / 8], s_mean[slot + ti], s_m2[slot + ti]);
        }
        float* o = part + ((int64_t)b * gridDim.x + blockIdx.x) * 3 * channels + c;
        o[0] = cn;
        o[channels] = cm;
        o[2 * channels] = cq;
    }
}

// Where channel c's scale (shift = 0) or shift (1) sits in a sample's 2·C coefficients: element c mod 4 of float4
// q·C/8 + c/8, q = (c mod 8)/4 + 2·shift. The normalisation's four 16-byte coefficient loads for a chunk of 8
// channels (quarters q = 0..3) then read consecutive 16-byte pieces across a warp.
__device__ __forceinline__ int coef_at(int c, int channels, int shift) {
    return (((c & 7) >> 2) + 2 * shift) * (channels / 8) * 4 + (c >> 3) * 4 + (c & 3);
}

// GroupNorm step 2: per (sample, group) the partials of its channels over all blocks merged (a warp per group, each
// lane a fixed share, then a fixed shuffle tree), then per channel coef [B, 2·C] = scale rstd·γ[c] and shift β[c] -
// mean·scale, placed by coef_at. Launch: grid (ceil(groups / 8), B), block 256: warp w of block x takes group 8x + w.
extern "C" __global__ void __launch_bounds__(256) group_norm_nhwc_finalize(float* __restrict__ coef,
                                                                         const float* __restrict__ part,
                                                                         const float* __restrict__ gamma,
                                                                         const float* __restrict__ beta, int blocks,
                                                                         int channels, int groups, float eps) {
    const int b = blockIdx.y, cpg = channels / groups, lane = threadIdx.x & 31, g = blockIdx.x * 8 + (threadIdx.x >> 5);
    const float* pb = part + (int64_t)b * blocks * 3 * channels;
    float* scale = coef + (int64_t)b * 2 * channels;
    if (g < groups) {
        float n = 0.0f, mean = 0.0f, q = 0.0f;
        for (int i = lane; i < blocks * cpg; i += 32) {
            const float* p = pb + (int64_t)(i / cpg) * 3 * channels + g * cpg + i % cpg;
            chan_merge(n, mean, q, p[0], p[channels], p[2 * channels]);
        }
        for (int o = 16; o > 0; o >>= 1) {
            float n2 = __shfl_down_sync(0xffffffffu, n, o), m2 = __shfl_down_sync(0xffffffffu, mean, o);
            float q2 = __shfl_down_sync(0xffffffffu, q, o);
            chan_merge(n, mean, q, n2, m2, q2);
        }
        mean = __shfl_sync(0xffffffffu, mean, 0);
        const float rstd = rsqrtf(__shfl_sync(0xffffffffu, q / n, 0) + eps);
        for (int c = g * cpg + lane; c < (g + 1) * cpg; c += 32) {
            float s = rstd * gamma[c];
            scale[coef_at(c, channels, 0)] = s;
            scale[coef_at(c, channels, 1)] = beta[c] - mean * s;
        }
    }
}

// GroupNorm step 3: out = x·scale[c] + shift[c], then SiLU if silu, over x, out [B, hw, C] (may alias). Floor: 4
// bytes per element (the coefficients come from L1).
extern "C" __global__ void group_norm_nhwc_apply(__nv_bfloat16* out, const __nv_bfloat16* x, const float* __restrict__ coef,
                                                 int64_t hw, int channels, int64_t chunks, int silu) {
    DITJ_FOR(i, chunks) {
        int64_t e = i * 8, b = e / (hw * channels);
        const int q = channels / 2;   // floats between the coefficient quarters
        const float* s = coef + b * 2 * channels + (e % channels) / 2;
        float v[8];
        load8(x + e, v);
        float4 s0 = *reinterpret_cast<const float4*>(s), s1 = *reinterpret_cast<const float4*>(s + q);
        float4 h0 = *reinterpret_cast<const float4*>(s + 2 * q), h1 = *reinterpret_cast<const float4*>(s + 3 * q);
        const float sc[8] = {s0.x, s0.y, s0.z, s0.w, s1.x, s1.y, s1.z, s1.w};
        const float sh[8] = {h0.x, h0.y, h0.z, h0.w, h1.x, h1.y, h1.z, h1.w};
#pragma unroll
        for (int j = 0; j < 8; j++) {
            float y = fmaf(v[j], sc[j], sh[j]);
            v[j] = silu ? ditj_silu(y) : y;
        }
        store8(out + e, v);
    }
}

// Nearest ×2: out [P, 2H, 2W, C] = x [P, H, W, C] at (y/2, x/2), by 16-byte chunks. Floor: 2·(1/4 + 1) bytes per
// output element (the VAE's upsampling never runs this: conv_bf16 reads through it).
extern "C" __global__ void upsample_nearest2x_nhwc(__nv_bfloat16* __restrict__ out, const __nv_bfloat16* __restrict__ x,
                                                   int64_t chunks, int height, int width, int channels) {
    DITJ_FOR(i, chunks) {
        int64_t e = i * 8, pix = e / channels;
        int c = (int)(e - pix * channels), xx = (int)(pix % (2 * width)), y = (int)(pix / (2 * width) % (2 * height));
        int64_t plane = pix / (4LL * height * width);
        *reinterpret_cast<uint4*>(out + e) =
            *reinterpret_cast<const uint4*>(x + ((plane * height + y / 2) * width + xx / 2) * channels + c);
    }
}

// out = a + b over n elements (n a multiple of 8). Floor: 6 bytes per element.
extern "C" __global__ void add_nhwc(__nv_bfloat16* out, const __nv_bfloat16* a, const __nv_bfloat16* b, int64_t chunks) {
    DITJ_FOR(i, chunks) {
        float u[8], v[8];
        load8(a + i * 8, u);
        load8(b + i * 8, v);
#pragma unroll
        for (int j = 0; j < 8; j++) u[j] += v[j];
        store8(out + i * 8, u);
    }
}

// Channel-last [B, N, C] bf16 is already token rows [B·N, C]: out (fp32) = x, 4 elements per thread (n4 = n / 4), so
// both sides of a warp's access are contiguous (8 and 16 bytes per lane).
// Floor: 6 bytes per element.
extern "C" __global__ void channels_to_tokens_nhwc(float* __restrict__ out, const __nv_bfloat16* __restrict__ x,
                                                   int64_t n4) {
    DITJ_FOR(i, n4) *reinterpret_cast<float4*>(out + i * 4) = ditj_ld4(x + i * 4);
}

// Token rows tok [B·N, C] (fp32) back to channel-last bf16: out = tok (+ residual [B, N, C] bf16 if not null), 4
// elements per thread (n4 = n / 4). Floor: 8 bytes per element with the residual.
extern "C" __global__ void tokens_to_channels_nhwc(__nv_bfloat16* out, const float* __restrict__ tok,
                                                   const __nv_bfloat16* residual, int64_t n4) {
    DITJ_FOR(i, n4) {
        float4 v = *reinterpret_cast<const float4*>(tok + i * 4);
        if (residual != nullptr) {
            float4 r = ditj_ld4(residual + i * 4);
            v = make_float4(v.x + r.x, v.y + r.y, v.z + r.z, v.w + r.w);
        }
        ditj_store4(out + i * 4, v);
    }
}

// The boundary into the layout: x [B, C, hw] fp32 (NCHW) to out [B, hw, C] bf16 (+ residual [B, hw, C] bf16 if not
// null). Thread i takes channels 8j..8j+7 of one pixel, pixels fastest (the fp32 reads coalesce; the 16-byte writes
// are C·2 bytes apart). Runs where an fp32 tensor meets the bf16 image ops (uploaded tensors, the fp32
// convolution's output for Ci % 8 != 0). Floor: 6 bytes per element.
extern "C" __global__ void to_channels_last_bf16(__nv_bfloat16* out, const float* __restrict__ x,
                                                 const __nv_bfloat16* residual, int64_t hw, int channels,
                                                 int64_t chunks) {
    const int per = channels / 8;
    DITJ_FOR(i, chunks) {
        int64_t pix = i % hw, bj = i / hw, b = bj / per;
        int c0 = (int)(bj % per) * 8;
        int64_t o = (b * hw + pix) * channels + c0;
        float v[8];
#pragma unroll
        for (int j = 0; j < 8; j++) v[j] = x[(b * channels + c0 + j) * hw + pix];
        if (residual != nullptr) {
            float r[8];
            load8(residual + o, r);
#pragma unroll
            for (int j = 0; j < 8; j++) v[j] += r[j];
        }
        store8(out + o, v);
    }
}
