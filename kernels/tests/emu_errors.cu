// Emulator tests: kernels that fail on purpose (out-of-bounds store, barrier deadlock).
#include <cstdint>

// Writes n+1 elements: the last store is past the end of an n-element buffer.
extern "C" __global__ void store_past_end(float* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n) out[i] = (float)i;
}

// Only the first half of the block reaches the barrier.
extern "C" __global__ void barrier_deadlock(int* out) {
    __shared__ int s[64];
    int t = threadIdx.x;
    s[t] = t;
    if (t < 32) {
        __syncthreads();
        out[t] = s[63 - t];
    }
}

// Reads the other warp's shared-memory slot without a barrier in between: a race the emulator's check reports.
extern "C" __global__ void shared_race(int* out) {
    __shared__ int s[64];
    int t = threadIdx.x;
    s[t] = t;
    out[t] = s[(t + 32) % 64];
}

// A full-warp shuffle executed by half a warp: undefined on hardware, an error in the emulator.
extern "C" __global__ void diverged_shuffle(int* out) {
    int t = threadIdx.x;
    int v = t * 3;
    if (t < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
    out[t] = v;
}
