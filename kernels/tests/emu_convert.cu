// Emulator tests: cvt in all directions (int<->int, int<->float with every rounding mode, f16/bf16, saturation).
#include <cstdint>
#include <cuda_fp16.h>
#include <cuda_bf16.h>

#define CF_OUTS 24
extern "C" __global__ void convert_from_float(int* out, const float* a, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float x = a[i];
    int* o = out + i * CF_OUTS;
    o[0] = __float2int_rn(x);
    o[1] = __float2int_rz(x);
    o[2] = __float2int_rd(x);
    o[3] = __float2int_ru(x);
    o[4] = (int)__float2uint_rn(x);
    o[5] = (int)__float2uint_rz(x);
    long long l = __float2ll_rn(x);
    o[6] = (int)l;
    o[7] = (int)(l >> 32);
    unsigned long long ul = __float2ull_rz(x);
    o[8] = (int)ul;
    o[9] = (int)(ul >> 32);
    o[10] = __half_as_ushort(__float2half_rn(x));
    o[11] = __half_as_ushort(__float2half_rz(x));
    o[12] = __bfloat16_as_ushort(__float2bfloat16_rn(x));
    o[13] = __bfloat16_as_ushort(__float2bfloat16_rz(x));
    __half2 h2 = __floats2half2_rn(x, -x * 3.f);
    o[14] = *reinterpret_cast<int*>(&h2);
    __nv_bfloat162 b2 = __floats2bfloat162_rn(x * 0.37f, x);
    o[15] = *reinterpret_cast<int*>(&b2);
    o[16] = (int)(signed char)__float2int_rn(x);
    o[17] = (int)(unsigned short)x;
    short s;
    asm("cvt.rni.sat.s16.f32 %0, %1;" : "=h"(s) : "f"(x));
    o[18] = s;
    unsigned char uc;
    unsigned short us;
    asm("cvt.rzi.sat.u8.f32 %0, %1;" : "=h"(us) : "f"(x));
    uc = (unsigned char)us;
    o[19] = uc;
    o[20] = __float_as_int(__half2float(__float2half_rn(x)));
    o[21] = __float_as_int(__bfloat162float(__float2bfloat16_rn(x)));
    o[22] = __float_as_int(__int2float_rz(__float_as_int(x)));
    o[23] = __float_as_int(__uint2float_ru((unsigned)__float_as_int(x)));
}

#define CI_OUTS 16
extern "C" __global__ void convert_from_int(float* out, const long long* a, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    long long x = a[i];
    float* o = out + i * CI_OUTS;
    o[0] = (float)x;
    o[1] = __ll2float_rz(x);
    o[2] = __ll2float_rd(x);
    o[3] = __ll2float_ru(x);
    o[4] = (float)(unsigned long long)x;
    o[5] = (float)(int)x;
    o[6] = __int2float_rd((int)x);
    o[7] = (float)(unsigned)x;
    o[8] = (float)(short)x;
    o[9] = (float)(unsigned char)x;
    o[10] = (float)((double)x * 0.5);
    o[11] = __int_as_float((int)(long long)(double)(unsigned)x);
    o[12] = __int_as_float((int)__double2ll_rz((double)x * 1.25));
    o[13] = __int_as_float((int)((unsigned)x >> 16) & 0xffff) ;
    o[14] = __half2float(__ushort_as_half((unsigned short)x));
    o[15] = __bfloat162float(__ushort_as_bfloat16((unsigned short)x));
}
