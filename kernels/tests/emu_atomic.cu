// Emulator tests: atomics and reductions in global and shared memory.
#include <cstdint>

// counters: [0] int add (red), [1] int max, [2] int min, [3] or, [4] xor, [5] exch (any), [6] inc wrap 17,
// [7] cas chain, [8..9] u64 add, [10] float add (red), [11] float add with result used.
extern "C" __global__ void atomics(int* counters, int* tickets, const int* in, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int v = in[i];
    atomicAdd(&counters[0], v);
    atomicMax(&counters[1], v);
    atomicMin(&counters[2], v);
    atomicOr(&counters[3], 1 << (v & 31));
    atomicXor(&counters[4], v);
    atomicInc((unsigned*)&counters[6], 16u);
    int old = counters[7];
    int assumed;
    do {
        assumed = old;
        old = atomicCAS(&counters[7], assumed, assumed + 1);
    } while (old != assumed);
    atomicAdd((unsigned long long*)&counters[8], (unsigned long long)(unsigned)v << 20);
    atomicAdd((float*)&counters[10], 0.5f);
    tickets[i] = (int)atomicAdd((float*)&counters[11], 1.0f);
}

// Shared-memory histogram, then merged into global with red.
extern "C" __global__ void histogram(int* hist, const int* in, int n) {
    __shared__ int h[16];
    int t = threadIdx.x;
    if (t < 16) h[t] = 0;
    __syncthreads();
    for (int i = blockIdx.x * blockDim.x + t; i < n; i += gridDim.x * blockDim.x) atomicAdd(&h[in[i] & 15], 1);
    __syncthreads();
    if (t < 16) atomicAdd(&hist[t], h[t]);
}
