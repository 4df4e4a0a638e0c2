// Emulator tests: shared memory (static and dynamic), barriers, a block reduction, named barriers.
#include <cstdint>

// Tree reduction in static shared memory: one sum per block of 256 threads.
extern "C" __global__ void block_sum(float* out, const float* in, int n) {
    __shared__ float buf[256];
    int t = threadIdx.x;
    int i = blockIdx.x * 256 + t;
    buf[t] = i < n ? in[i] : 0.f;
    __syncthreads();
    for (int s = 128; s > 0; s >>= 1) {
        if (t < s) buf[t] += buf[t + s];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = buf[0];
}

// Dynamic shared memory: reverses each block's slice (blockDim floats), plus __syncthreads_count.
extern "C" __global__ void reverse_dynamic(int* out, const int* in, int* counts) {
    extern __shared__ int dyn[];
    int t = threadIdx.x;
    int base = blockIdx.x * blockDim.x;
    dyn[t] = in[base + t];
    int c = __syncthreads_count(dyn[t] & 1);
    out[base + t] = dyn[blockDim.x - 1 - t];
    if (t == 0) counts[blockIdx.x] = c;
}

// Producer/consumer with named barriers: warp 0 writes, bar.arrive; warp 1 waits with bar.sync and reads.
extern "C" __global__ void named_barrier(int* out) {
    __shared__ int slot[32];
    int t = threadIdx.x;
    if (t < 32) {
        slot[t] = t * t + 1;
        asm volatile("bar.arrive 1, 64;" ::: "memory");
    } else {
        asm volatile("bar.sync 1, 64;" ::: "memory");
        out[t - 32] = slot[63 - t];
    }
}

// A read of shared memory before any write: the emulator poisons shared memory (NaN pattern) at launch.
extern "C" __global__ void read_uninitialized(float* out) {
    __shared__ float s[64];
    if (threadIdx.x == 0) s[1] = 1.f;
    __syncthreads();
    out[threadIdx.x] = s[threadIdx.x];
}
