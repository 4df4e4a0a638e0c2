// Sampler updates, in place on the latents x [N, C, per] from a prediction mo [N, Co, per] (ε in channels [0, C),
// the learned variance interpolation v in [C, 2C)); same float32 operation order as the CPU backend so the whole
// loop stays on the device. Coefficients come from the float64 schedules, rounded on the host.
// With per a multiple of 4 and 16-byte aligned operands, each thread takes groups of 4 elements (one channel of one
// sample, so their prediction elements are consecutive too) with 16-byte accesses (ditj_for_vec4).
// Launch: grid-stride, block 256, 4 elements per thread. Floor: 12 B/element (x read and written, ε), + 4 per
// extra operand (v, noise, x0 written, x0_prev).
#include "common.cuh"

__device__ __forceinline__ int64_t ditj_pred_index(int64_t i, int channels, int out_channels, int64_t per) {
    int64_t b = i / (channels * per), rest = i % (channels * per);
    return b * out_channels * per + rest;
}

// The update of element i, or of the 4 elements from i: x' = f(x, ε, v, z, aux) with v the prediction's second
// half (or 0), z a per-element operand (noise, or 0) and aux a second result, stored to `aux` where not null.
template <class F>
__device__ __forceinline__ void ditj_step(float* __restrict__ x, const float* __restrict__ mo, const float* __restrict__ v,
                                          const float* __restrict__ z, float* __restrict__ aux, int64_t n, int channels,
                                          int out_channels, int64_t per, F f) {
    const bool vec = (per & 3) == 0 && ditj_aligned16(x, mo, z, aux);
    ditj_for_vec4(n, vec, [&](int64_t i) {
        const int64_t e = ditj_pred_index(i, channels, out_channels, per);
        const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        float4 xv = ditj_ld4(x + i), ev = ditj_ld4(mo + e), vv = v != nullptr ? ditj_ld4(v + e) : zero,
               zv = z != nullptr ? ditj_ld4(z + i) : zero, av;
        ditj_st4(x + i, make_float4(f(xv.x, ev.x, vv.x, zv.x, av.x), f(xv.y, ev.y, vv.y, zv.y, av.y),
                                    f(xv.z, ev.z, vv.z, zv.z, av.z), f(xv.w, ev.w, vv.w, zv.w, av.w)));
        if (aux != nullptr) ditj_st4(aux + i, av);
    }, [&](int64_t i) {
        const int64_t e = ditj_pred_index(i, channels, out_channels, per);
        float a;
        x[i] = f(x[i], mo[e], v != nullptr ? v[e] : 0.0f, z != nullptr ? z[i] : 0.0f, a);
        if (aux != nullptr) aux[i] = a;
    });
}

// DiT's p_sample: x0 = c1·x - c2·ε; mean = pc1·x0 + pc2·x; x = mean + [noise] exp(0.5·logvar)·z
extern "C" __global__ void ddpm_step_f32(float* __restrict__ x, const float* __restrict__ mo,
                                         const float* __restrict__ noise, int64_t n, int channels, int out_channels,
                                         int64_t per, float c1, float c2, float pc1, float pc2, float min_log,
                                         float max_log, int learned, float fixed_log, int add_noise) {
    ditj_step(x, mo, learned ? mo + channels * per : nullptr, add_noise ? noise : nullptr, nullptr, n, channels,
              out_channels, per, [&](float xv, float eps, float v, float z, float&) {
        float x0 = c1 * xv - c2 * eps;
        float mean = pc1 * x0 + pc2 * xv;
        float log_var = fixed_log;
        if (learned) {
            float frac = (v + 1.0f) / 2.0f;
            log_var = frac * max_log + (1.0f - frac) * min_log;
        }
        return add_noise ? mean + (float)exp((double)(0.5f * log_var)) * z : mean;
    });
}

// DDIM (official ddim_sample): ε re-derived from the x0 prediction.
extern "C" __global__ void ddim_step_f32(float* __restrict__ x, const float* __restrict__ mo,
                                         const float* __restrict__ noise, int64_t n, int channels, int out_channels,
                                         int64_t per, float c1, float c2, float sqrt_ab_prev, float sigma,
                                         float sqrt_rest, int add_noise) {
    ditj_step(x, mo, nullptr, add_noise ? noise : nullptr, nullptr, n, channels, out_channels, per,
              [&](float xv, float e, float, float z, float&) {
        float scaled = c1 * xv;
        float x0 = scaled - c2 * e;
        float eps = (scaled - x0) / c2;
        float mp = x0 * sqrt_ab_prev + sqrt_rest * eps;
        return add_noise ? mp + sigma * z : mp;
    });
}

// DPM-Solver++(2M): x0 = (x - σs·ε)/αs; x = r·x - a·x0 [- 0.5a·(inv_r0·(x0 - x0_prev))]. Also writes x0.
extern "C" __global__ void dpm_solver_step_f32(float* __restrict__ x, const float* __restrict__ mo,
                                               float* __restrict__ x0_out, const float* __restrict__ x0_prev, int64_t n,
                                               int channels, int out_channels, int64_t per, float sigma_s,
                                               float alpha_s, float ratio, float a, int second, float inv_r0) {
    // x0_prev rides in the z slot, x0 leaves as aux
    ditj_step(x, mo, nullptr, second ? x0_prev : nullptr, x0_out, n, channels, out_channels, per,
              [&](float xv, float e, float, float prev, float& pred) {
        pred = (xv - sigma_s * e) / alpha_s;
        float next = ratio * xv - a * pred;
        if (second) next = next - (0.5f * a) * (inv_r0 * (pred - prev));
        return next;
    });
}

// Inpainting's latent blending (diffusers' inpainting pipeline with a non-inpainting model): x = (1-m)·keep + m·x,
// elementwise over equal shapes; for the binary masks it is given, each element is keep or x exactly. 16 B/element.
extern "C" __global__ void mask_blend_f32(float* __restrict__ x, const float* __restrict__ keep,
                                          const float* __restrict__ mask, int64_t n) {
    ditj_for_vec4(n, ditj_aligned16(x, keep, mask), [&](int64_t i) {
        float4 u = ditj_ld4(x + i), k = ditj_ld4(keep + i), m = ditj_ld4(mask + i);
        ditj_st4(x + i, make_float4((1.f - m.x) * k.x + m.x * u.x, (1.f - m.y) * k.y + m.y * u.y,
                                    (1.f - m.z) * k.z + m.z * u.z, (1.f - m.w) * k.w + m.w * u.w));
    }, [&](int64_t i) { x[i] = (1.f - mask[i]) * keep[i] + mask[i] * x[i]; });
}

// Flow-matching samplers (Euler, Heun, dopri5, Euler-Maruyama): out = a·x + b·y, the one update they are built from.
// out may be x or y (no restrict: each element is read before it is written). 12 B/element.
extern "C" __global__ void scaled_add_f32(float* out, const float* x, const float* y, int64_t n, float a, float b) {
    ditj_for_vec4(n, ditj_aligned16(out, x, y), [&](int64_t i) {
        float4 u = ditj_ld4(x + i), v = ditj_ld4(y + i);
        ditj_st4(out + i, make_float4(a * u.x + b * v.x, a * u.y + b * v.y, a * u.z + b * v.z, a * u.w + b * v.w));
    }, [&](int64_t i) { out[i] = a * x[i] + b * y[i]; });
}
