// Emulator tests: warp collectives: shfl (all modes, with and without width), vote, redux, activemask.
#include <cstdint>

#define W_OUTS 14
extern "C" __global__ void warp_ops(int* out, const int* in) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    int v = in[t];
    int* o = out + t * W_OUTS;
    o[0] = __shfl_sync(0xffffffffu, v, (v & 31));
    o[1] = __shfl_up_sync(0xffffffffu, v, 3);
    o[2] = __shfl_down_sync(0xffffffffu, v, 5);
    o[3] = __shfl_xor_sync(0xffffffffu, v, 6);
    o[4] = __shfl_sync(0xffffffffu, v, 2, 8);
    o[5] = __shfl_up_sync(0xffffffffu, v, 1, 16);
    o[6] = __shfl_down_sync(0xffffffffu, v, 2, 4);
    o[7] = __all_sync(0xffffffffu, v > -1000);
    o[8] = __any_sync(0xffffffffu, v > 900);
    o[9] = (int)__ballot_sync(0xffffffffu, v & 1);
    o[10] = __reduce_add_sync(0xffffffffu, v);
    o[11] = __reduce_min_sync(0xffffffffu, v) ^ __reduce_max_sync(0xffffffffu, (unsigned)v);
    o[12] = (int)__activemask();
    float f = __int_as_float(v);
    o[13] = __float_as_int(__shfl_xor_sync(0xffffffffu, f, 16));
}

// Warp sum of floats with a butterfly, only in the lanes that pass a per-warp condition (whole warps diverge).
extern "C" __global__ void warp_sum(float* out, const float* in) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    float v = in[t];
    if ((t >> 5) % 3 != 1) {
        for (int m = 16; m > 0; m >>= 1) v += __shfl_xor_sync(0xffffffffu, v, m);
    }
    out[t] = v;
}
