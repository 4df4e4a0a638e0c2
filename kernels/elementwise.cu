// Elementwise kernels: grid-stride loops (any grid covers any n) with 16-byte accesses where every operand is
// 16-byte aligned (ditj_for_vec4: groups of 4, then the tail one by one), else one element at a time.
// Launch: block 256, grid min(ceil(n/1024), 4096) (4 elements per thread). Floor: memory bound (bytes per kernel).
#include "common.cuh"

// out = x / (1 + exp(-x)). 8 B/element.
extern "C" __global__ void silu_f32(float* __restrict__ out, const float* __restrict__ in, int64_t n) {
    ditj_for_vec4(n, ditj_aligned16(out, in), [&](int64_t i) {
        float4 v = ditj_ld4(in + i);
        ditj_st4(out + i, make_float4(ditj_silu(v.x), ditj_silu(v.y), ditj_silu(v.z), ditj_silu(v.w)));
    }, [&](int64_t i) { out[i] = ditj_silu(in[i]); });
}

// out[r, i] = silu(x[r, i])·x[r, f + i] for x [rows, 2f] (SwiGLU's gate over the two halves of one projection).
// Groups of 4 stay in one row when f is a multiple of 4. 12 B/element.
extern "C" __global__ void swiglu_f32(float* __restrict__ out, const float* __restrict__ x, int64_t n, int f) {
    ditj_for_vec4(n, (f & 3) == 0 && ditj_aligned16(out, x), [&](int64_t i) {
        const float* a = x + (i / f) * 2 * f + i % f;
        float4 u = ditj_ld4(a), g = ditj_ld4(a + f);
        ditj_st4(out + i, make_float4(ditj_silu(u.x) * g.x, ditj_silu(u.y) * g.y, ditj_silu(u.z) * g.z, ditj_silu(u.w) * g.w));
    }, [&](int64_t i) {
        const float* a = x + (i / f) * 2 * f + i % f;
        out[i] = ditj_silu(a[0]) * a[f];
    });
}

// Rotary position embedding in place on q and k of qkv [rows, 3h]: thread i takes pair i of the 2h/2 pairs of q
// and k in a row, turning (x0, x1) at feature d = (2i mod hd) of token t = row mod tokens by cos/sin [tokens, hd]:
// x0' = x0·cos[d] - x1·sin[d], x1' = x1·cos[d+1] + x0·sin[d+1]. 16 B per pair + the tables.
extern "C" __global__ void rotary_qk_f32(float* __restrict__ qkv, const float* __restrict__ cos_t,
                                         const float* __restrict__ sin_t, int64_t pairs, int h, int hd, int tokens) {
    DITJ_FOR(i, pairs) {
        const int64_t row = i / h;
        const int f = (int)(i % h) * 2;
        const int64_t t = ((row % tokens) * hd) + f % hd;
        float* p = qkv + row * 3 * h + f;
        const float x0 = p[0], x1 = p[1];
        p[0] = x0 * cos_t[t] - x1 * sin_t[t];
        p[1] = x1 * cos_t[t + 1] + x0 * sin_t[t + 1];
    }
}

// out = a + b. 12 B/element.
extern "C" __global__ void add_f32(float* __restrict__ out, const float* __restrict__ a, const float* __restrict__ b,
                                   int64_t n) {
    ditj_for_vec4(n, ditj_aligned16(out, a, b), [&](int64_t i) {
        float4 u = ditj_ld4(a + i), v = ditj_ld4(b + i);
        ditj_st4(out + i, make_float4(u.x + v.x, u.y + v.y, u.z + v.z, u.w + v.w));
    }, [&](int64_t i) { out[i] = a[i] + b[i]; });
}

// x[r, i] += mod[r / tokens, gate_chunk·h + i] · y[r, i] (adaLN-Zero gated residual; the DiT fuses it into its GEMMs,
// this is the op on its own). A thread takes one column (vec: 4 columns, 16-byte accesses; the host decides) of
// GR_ROWS rows of one sample and loads the gate once for them. Launch: grid (ceil(h / (128·width)),
// ceil(tokens / GR_ROWS), B), block 128. Floor: 12 B/element + the gate once per sample (traffic: + 1/GR_ROWS of it
// per element).
constexpr int GR_ROWS = 16;

extern "C" __global__ void __launch_bounds__(128)
    gated_residual_f32(float* __restrict__ x, const float* __restrict__ y, const float* __restrict__ mod, int h,
                       int tokens, int mod_stride, int gate_chunk, int vec) {
    const int b = blockIdx.z, t0 = blockIdx.y * GR_ROWS, t1 = min(tokens, t0 + GR_ROWS);
    const int c = (blockIdx.x * blockDim.x + threadIdx.x) * (vec ? 4 : 1);
    if (c >= h) return;
    const float* gate = mod + (int64_t)b * mod_stride + gate_chunk * h + c;
    if (vec) {
        const float4 g = ditj_ld4(gate);
        for (int t = t0; t < t1; t++) {
            const int64_t o = ((int64_t)b * tokens + t) * h + c;
            float4 xv = ditj_ld4(x + o), yv = ditj_ld4(y + o);
            ditj_st4(x + o, make_float4(xv.x + g.x * yv.x, xv.y + g.y * yv.y, xv.z + g.z * yv.z, xv.w + g.w * yv.w));
        }
    } else {
        const float g = *gate;
        for (int t = t0; t < t1; t++) {
            const int64_t o = ((int64_t)b * tokens + t) * h + c;
            x[o] += g * y[o];
        }
    }
}

// x[b·per + i] += rows[i] for every sample b (a per-token table, per = T·H): a thread takes element i (or 4 from i)
// of the table once and adds it to every sample. 8 B/element + the table once.
extern "C" __global__ void add_token_table_f32(float* __restrict__ x, const float* __restrict__ rows, int64_t n,
                                               int64_t per) {
    ditj_for_vec4(per, (per & 3) == 0 && ditj_aligned16(x, rows), [&](int64_t i) {
        const float4 r = ditj_ld4(rows + i);
        for (int64_t j = i; j < n; j += per) {
            float4 v = ditj_ld4(x + j);
            ditj_st4(x + j, make_float4(v.x + r.x, v.y + r.y, v.z + r.z, v.w + r.w));
        }
    }, [&](int64_t i) {
        const float r = rows[i];
        for (int64_t j = i; j < n; j += per) x[j] += r;
    });
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

// Classifier-free guidance as the official forward_with_cfg: mo [2N, Co, per] holds N conditional rows, then N
// unconditional ones; out [M, C, per] (M = N or 2N rows, C <= Co channels) takes row b's first C channels from mo, the
// channels < guided as u + s·(c - u) of image b mod N (so both halves of a 2N out carry the guided values). With
// guided = 0, mo needs only the M rows. (With per a multiple of 4 a group stays in one channel.) 8 B/element, + 4 in
// guided channels.
extern "C" __global__ void cfg_combine_f32(float* __restrict__ out, const float* __restrict__ mo, int64_t n,
                                           int channels, int mo_channels, int64_t per, int64_t half_rows, int guided,
                                           float scale) {
    auto one = [&](float cond, float uncond) { return uncond + scale * (cond - uncond); };
    const int64_t row = (int64_t)channels * per, mo_row = (int64_t)mo_channels * per;
    ditj_for_vec4(n, (per & 3) == 0 && ditj_aligned16(out, mo), [&](int64_t i) {
        const int64_t b = i / row, r = i % row;
        float4 c;
        if (r / per < guided) {
            const int64_t img = b % half_rows;
            c = ditj_ld4(mo + img * mo_row + r);
            float4 u = ditj_ld4(mo + (half_rows + img) * mo_row + r);
            c = make_float4(one(c.x, u.x), one(c.y, u.y), one(c.z, u.z), one(c.w, u.w));
        } else {
            c = ditj_ld4(mo + b * mo_row + r);
        }
        ditj_st4(out + i, c);
    }, [&](int64_t i) {
        const int64_t b = i / row, r = i % row;
        if (r / per < guided) {
            const int64_t img = b % half_rows;
            out[i] = one(mo[img * mo_row + r], mo[(half_rows + img) * mo_row + r]);
        } else {
            out[i] = mo[b * mo_row + r];
        }
    });
}
