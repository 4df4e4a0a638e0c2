// Elementwise kernels: one thread per element, grid-stride loops (any grid covers any n).
// Launch: block 256, grid min(ceil(n/256), 4096). Floor: memory bound (bytes listed per kernel).
#include "common.cuh"

// out = x / (1 + exp(-x)). 8 B/element.
extern "C" __global__ void silu_f32(float* __restrict__ out, const float* __restrict__ in, int64_t n) {
    DITJ_FOR(i, n) out[i] = ditj_silu(in[i]);
}

// out = a + b. 12 B/element.
extern "C" __global__ void add_f32(float* __restrict__ out, const float* __restrict__ a, const float* __restrict__ b,
                                   int64_t n) {
    DITJ_FOR(i, n) out[i] = a[i] + b[i];
}

// x[r, i] += mod[r / tokens, gate_chunk·h + i] · y[r, i] (adaLN-Zero gated residual). 12 B/element.
extern "C" __global__ void gated_residual_f32(float* __restrict__ x, const float* __restrict__ y,
                                              const float* __restrict__ mod, int64_t n, int h, int tokens,
                                              int mod_stride, int gate_chunk) {
    DITJ_FOR(i, n) {
        int64_t r = i / h;
        x[i] += mod[(r / tokens) * mod_stride + gate_chunk * h + i % h] * y[i];
    }
}

// x[i] += rows[i % per] (a per-token table added to every sample). 12 B/element.
extern "C" __global__ void add_token_table_f32(float* __restrict__ x, const float* __restrict__ rows, int64_t n,
                                               int64_t per) {
    DITJ_FOR(i, n) x[i] += rows[i % per];
}

// out = x · mul[c] / div + add[c] for x [B, C, per] (latent (de)normalisation). 8 B/element.
extern "C" __global__ void channel_affine_f32(float* __restrict__ out, const float* __restrict__ x,
                                              const float* __restrict__ mul, const float* __restrict__ add, float div,
                                              int64_t n, int channels, int64_t per) {
    DITJ_FOR(i, n) {
        int c = (int)((i / per) % channels);
        out[i] = x[i] * mul[c] / div + add[c];
    }
}

// Classifier-free guidance: out [N, C, per] = cond rows of mo [2N, C, per], channels < guided as u + s·(c - u).
extern "C" __global__ void cfg_combine_f32(float* __restrict__ out, const float* __restrict__ mo, int64_t half,
                                           int channels, int64_t per, int guided, float scale) {
    DITJ_FOR(i, half) {
        float cond = mo[i];
        if ((i / per) % channels < guided) {
            float uncond = mo[half + i];
            out[i] = uncond + scale * (cond - uncond);
        } else {
            out[i] = cond;
        }
    }
}
