// Emulator tests: integer and bit instructions (32 and 64 bit). One thread per input pair; INT_OUTS results each.
#include <cstdint>

#define INT_OUTS 32
extern "C" __global__ void int_ops(int* out, const int* a, const int* b, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int x = a[i], y = b[i];
    unsigned ux = x, uy = y;
    int* o = out + i * INT_OUTS;
    o[0] = x + y;
    o[1] = x - y;
    o[2] = x * y;
    o[3] = __mulhi(x, y);
    o[4] = __umulhi(ux, uy);
    o[5] = y != 0 ? x / y : 7;
    o[6] = y != 0 ? x % y : 7;
    o[7] = uy != 0 ? ux / uy : 7;
    o[8] = uy != 0 ? ux % uy : 7;
    o[9] = x << (y & 31);
    o[10] = x >> (y & 31);
    o[11] = ux >> (y & 31);
    o[12] = __popc(x);
    o[13] = __clz(x);
    o[14] = __brev(x);
    o[15] = __ffs(x);
    o[16] = min(x, y);
    o[17] = max(x, y);
    o[18] = min(ux, uy);
    o[19] = abs(x);
    o[20] = (x & y) ^ (~x | y);
    o[21] = __byte_perm(x, y, uy & 0x7777);
    o[22] = __funnelshift_l(x, y, y);
    o[23] = __funnelshift_rc(x, y, x);
    int r;
    asm("bfe.u32 %0, %1, %2, %3;" : "=r"(r) : "r"(x), "r"(y & 31), "r"((y >> 8) & 31));
    o[24] = r;
    asm("bfe.s32 %0, %1, %2, %3;" : "=r"(r) : "r"(x), "r"(y & 31), "r"((y >> 8) & 31));
    o[25] = r;
    asm("bfi.b32 %0, %1, %2, %3, %4;" : "=r"(r) : "r"(x), "r"(y), "r"(y & 31), "r"((x >> 8) & 31));
    o[26] = r;
    asm("lop3.b32 %0, %1, %2, %3, 0xb4;" : "=r"(r) : "r"(x), "r"(y), "r"(x * 3));
    o[27] = r;
    o[28] = __sad(x, y, 5u);
    o[29] = __hadd(x, y);
    o[30] = (int)(short)x * (int)(unsigned char)y;
    o[31] = x > y ? __clz(ux ^ uy) : __ffs(y) - 1;
}

#define LONG_OUTS 16
extern "C" __global__ void long_ops(long long* out, const long long* a, const long long* b, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    long long x = a[i], y = b[i];
    unsigned long long ux = x, uy = y;
    long long* o = out + (long long)i * LONG_OUTS;
    o[0] = x + y;
    o[1] = x - y;
    o[2] = x * y;
    o[3] = __mul64hi(x, y);
    o[4] = __umul64hi(ux, uy);
    o[5] = y != 0 ? x / y : 7;
    o[6] = y != 0 ? x % y : 7;
    o[7] = uy != 0 ? ux / uy : 7;
    o[8] = x << (y & 63);
    o[9] = x >> (y & 63);
    o[10] = ux >> (y & 63);
    o[11] = __popcll(x) + 100 * __clzll(x);
    o[12] = __brevll(x);
    o[13] = min(x, y) ^ max(ux, uy);
    o[14] = (long long)(int)x * (long long)(int)y;   // mul.wide.s32
    o[15] = (long long)((unsigned)x) * (unsigned)y;  // mul.wide.u32
}
