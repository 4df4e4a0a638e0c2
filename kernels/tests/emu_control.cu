// Emulator tests: divergence and reconvergence, data-dependent loops, early exit, predication, local-memory arrays.
#include <cstdint>

// Each thread runs a data-dependent loop (Collatz steps) with a nested divergent branch.
extern "C" __global__ void collatz(int* steps, const int* start, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned v = start[i];
    int s = 0;
    while (v != 1 && s < 1000) {
        if (v & 1) {
            v = 3 * v + 1;
        } else {
            v >>= 1;
        }
        s++;
    }
    steps[i] = s;
}

// Divergent switch, then a warp-wide value computed after reconvergence (shfl needs the converged warp).
extern "C" __global__ void diverge_reconverge(int* out, const int* in, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = i < n ? in[i] : 0;
    int r;
    switch (v & 3) {
        case 0: r = v * 2; break;
        case 1: r = v + 100; for (int k = 0; k < (v & 7); k++) r ^= k * 31; break;
        case 2: r = -v; break;
        default: r = v * v; break;
    }
    r += __shfl_xor_sync(0xffffffffu, r, 1);
    if (i < n) out[i] = r;
}

// A per-thread array indexed by data: nvcc puts it in local memory (.local depot).
extern "C" __global__ void local_array(int* out, const int* in, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int hist[16];
    for (int k = 0; k < 16; k++) hist[k] = 0;
    int v = in[i];
    for (int k = 0; k < 8; k++) {
        hist[(v >> (4 * k)) & 15] += k + 1;
    }
    int acc = 0;
    for (int k = 0; k < 16; k++) acc = acc * 7 + hist[k];
    out[i] = acc;
}

// 2D/3D grid and block indices.
extern "C" __global__ void indices(int* out) {
    int bx = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    int tx = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    int nt = blockDim.x * blockDim.y * blockDim.z;
    int lane;
    asm("mov.u32 %0, %%laneid;" : "=r"(lane));
    out[bx * nt + tx] = (blockIdx.z << 24) | (blockIdx.y << 16) | (threadIdx.z << 12) | (threadIdx.y << 8) | (lane << 1) |
                        (tx == 0);
}
