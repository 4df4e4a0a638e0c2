// Pure data movement between layouts (one thread per output element, grid-stride; bandwidth bound, 8 B/element).
// patchify:    x [B, C, S, S] -> out [B·T, C·p·p], token gy·G + gx, feature (c·p + ky)·p + kx.
// unpatchify:  x [B·T, p·p·Co] (feature (py·p + px)·Co + c) -> out [B, Co, S, S].
// upsample_nearest2x: out [P, 2H, 2W] = x [P, H, W] at (y/2, x/2).
// channels_to_tokens: [B, C, N] -> [B·N, C]; tokens_to_channels: [B·N, C] -> [B, C, N] (+ residual).
#include "common.cuh"

extern "C" __global__ void patchify_f32(float* __restrict__ out, const float* __restrict__ x, int64_t n, int ch,
                                        int side, int p) {
    const int g = side / p, feat = ch * p * p;
    DITJ_FOR(i, n) {
        int64_t bt = i / feat;
        int f = (int)(i % feat), c = f / (p * p), ky = (f / p) % p, kx = f % p;
        int64_t b = bt / (g * g);
        int t = (int)(bt % (g * g)), gy = t / g, gx = t % g;
        out[i] = x[((b * ch + c) * side + gy * p + ky) * side + gx * p + kx];
    }
}

extern "C" __global__ void unpatchify_f32(float* __restrict__ out, const float* __restrict__ x, int64_t n, int ch,
                                          int side, int p) {
    const int g = side / p;
    DITJ_FOR(i, n) {
        int xx = (int)(i % side), y = (int)((i / side) % side);
        int64_t bc = i / ((int64_t)side * side);
        int c = (int)(bc % ch);
        int64_t b = bc / ch;
        int gy = y / p, py = y % p, gx = xx / p, px = xx % p;
        out[i] = x[(b * g * g + gy * g + gx) * (int64_t)(p * p * ch) + (py * p + px) * ch + c];
    }
}

extern "C" __global__ void upsample_nearest2x_f32(float* __restrict__ out, const float* __restrict__ x, int64_t n,
                                                  int height, int width) {
    DITJ_FOR(i, n) {
        int xx = (int)(i % (2 * width)), y = (int)((i / (2 * width)) % (2 * height));
        int64_t plane = i / (4LL * height * width);
        out[i] = x[(plane * height + y / 2) * width + xx / 2];
    }
}

extern "C" __global__ void channels_to_tokens_f32(float* __restrict__ out, const float* __restrict__ x, int64_t n,
                                                  int ch, int64_t tokens) {
    DITJ_FOR(i, n) {
        int c = (int)(i % ch);
        int64_t bt = i / ch, b = bt / tokens, t = bt % tokens;
        out[i] = x[(b * ch + c) * tokens + t];
    }
}

extern "C" __global__ void tokens_to_channels_f32(float* __restrict__ out, const float* __restrict__ tok,
                                                  const float* __restrict__ residual, int64_t n, int ch,
                                                  int64_t tokens) {
    DITJ_FOR(i, n) {
        int64_t t = i % tokens, bc = i / tokens, b = bc / ch;
        int c = (int)(bc % ch);
        float v = tok[(b * tokens + t) * ch + c];
        out[i] = residual != nullptr ? v + residual[i] : v;
    }
}
