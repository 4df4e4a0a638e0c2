// Emulator tests: fp32 and fp64 arithmetic, rounding modes, .ftz, min/max, approximate transcendentals.
#include <cstdint>

#define F_OUTS 32
extern "C" __global__ void float_ops(float* out, const float* a, const float* b, const float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float x = a[i], y = b[i], z = c[i];
    float* o = out + i * F_OUTS;
    o[0] = x + y;
    o[1] = x - y;
    o[2] = x * y;
    o[3] = fmaf(x, y, z);
    o[4] = x / y;
    o[5] = sqrtf(fabsf(x));
    o[6] = __fadd_rz(x, y);
    o[7] = __fmul_ru(x, y);
    o[8] = __fmaf_rd(x, y, z);
    o[9] = __fdiv_rz(x, y);
    o[10] = __frcp_rn(y);
    o[11] = fminf(x, y);
    o[12] = fmaxf(x, z);
    o[13] = fabsf(x) - y;
    o[14] = copysignf(x, y);
    o[15] = floorf(x);
    o[16] = ceilf(x);
    o[17] = truncf(x);
    o[18] = rintf(x);
    o[19] = __saturatef(x);
    o[20] = x > y ? z : x;
    float r;
    asm("add.ftz.f32 %0, %1, %2;" : "=f"(r) : "f"(x), "f"(y));
    o[21] = r;
    asm("mul.rn.ftz.sat.f32 %0, %1, %2;" : "=f"(r) : "f"(x), "f"(z));
    o[22] = r;
    o[23] = __fsub_ru(x, z);
    o[24] = __fsqrt_rd(fabsf(y));
    o[25] = __fadd_rd(x, z);
    o[26] = __fmaf_rz(x, z, y);
    o[27] = __fmul_rz(y, z);
    o[28] = isnan(x + y) ? 1.f : (isinf(x * y) ? 2.f : 3.f);
    o[29] = __fmaf_ru(y, z, x);
    o[30] = fdimf(x, y);
    o[31] = fmodf(x, y);
}

// Approximate instructions: results compared with a tolerance documented in the emulator.
#define A_OUTS 12
extern "C" __global__ void approx_ops(float* out, const float* a, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float x = a[i];
    float* o = out + i * A_OUTS;
    o[0] = __expf(x);
    o[1] = __logf(fabsf(x) + 0.5f);
    o[2] = rsqrtf(fabsf(x) + 0.25f);
    o[3] = __sinf(x);
    o[4] = __cosf(x);
    float r;
    asm("tanh.approx.f32 %0, %1;" : "=f"(r) : "f"(x));
    o[5] = r;
    o[6] = __fdividef(x, 1.5f + x * x);
    o[7] = expf(x);
    o[8] = exp2f(x);
    asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
    o[9] = r;
    asm("sqrt.approx.f32 %0, %1;" : "=f"(r) : "f"(fabsf(x)));
    o[10] = r;
    asm("lg2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(fabsf(x) + 1.f));
    o[11] = r;
}

#define D_OUTS 16
extern "C" __global__ void double_ops(double* out, const double* a, const double* b, const double* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    double x = a[i], y = b[i], z = c[i];
    double* o = out + i * D_OUTS;
    o[0] = x + y;
    o[1] = x - y;
    o[2] = x * y;
    o[3] = fma(x, y, z);
    o[4] = x / y;
    o[5] = sqrt(fabs(x));
    o[6] = __dadd_rz(x, y);
    o[7] = __dmul_ru(x, y);
    o[8] = fmin(x, y);
    o[9] = fmax(x, z);
    o[10] = floor(x);
    o[11] = (double)(float)x;          // cvt.rn.f32.f64 then back
    o[12] = (double)__double2float_rz(y);
    o[13] = __drcp_rn(y);
    o[14] = x > y ? -z : fabs(z);
    o[15] = __fma_rd(x, y, z);
}

// CUDA's full-precision math library, as our real kernels use it (expf, tanhf, erff, ...): long instruction
// sequences with branches; sinf/cosf of large arguments take the slow path (a local array and a .const table).
#define L_OUTS 10
extern "C" __global__ void libm_ops(float* out, const float* a, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float x = a[i];
    float* o = out + i * L_OUTS;
    o[0] = sinf(x);
    o[1] = cosf(x);
    o[2] = tanhf(x);
    o[3] = logf(fabsf(x));
    o[4] = expf(x * 0.01f);
    o[5] = erff(x * 0.001f);
    o[6] = atan2f(x, 3.f);
    o[7] = powf(fabsf(x) * 1e-3f, 0.37f);
    o[8] = rsqrtf(fabsf(x));
    o[9] = log1pf(fabsf(x) * 1e-4f);
}
