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

// fp32 SIMT GEMM as the CPU-exact kernels do it: C[M,N] = A[M,K] · B[K,N] (row-major), 64x64 tile per block of
// 16x16 threads, 4x4 outputs per thread, K in steps of 16 through shared memory; any M, N, K (zero-padded tiles).
// Each output is a chain of fmaf in k order, so the result is bit-exact against the same loop in Java.
extern "C" __global__ void sgemm_tiled(float* C, const float* A, const float* B, int M, int N, int K) {
    __shared__ float As[16][64 + 4];   // As[k][m], padded against bank conflicts of the transposed stores
    __shared__ float Bs[16][64];       // Bs[k][n]
    int tx = threadIdx.x, ty = threadIdx.y, tid = ty * 16 + tx;
    int m0 = blockIdx.y * 64, n0 = blockIdx.x * 64;
    float acc[4][4] = {};
    for (int k0 = 0; k0 < K; k0 += 16) {
        for (int i = tid; i < 64 * 16; i += 256) {
            int r = i / 16, c = i % 16;
            As[c][r] = (m0 + r < M && k0 + c < K) ? A[(size_t)(m0 + r) * K + k0 + c] : 0.f;
            int kr = i / 64, nc = i % 64;
            Bs[kr][nc] = (k0 + kr < K && n0 + nc < N) ? B[(size_t)(k0 + kr) * N + n0 + nc] : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < 16; kk++) {
            float a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) a[i] = As[kk][ty * 4 + i];
#pragma unroll
            for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx * 4 + j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            int m = m0 + ty * 4 + i, n = n0 + tx * 4 + j;
            if (m < M && n < N) C[(size_t)m * N + n] = acc[i][j];
        }
    }
}

// Vector loads and stores (v2, v4) in global and shared memory, and generic addressing: a pointer that is shared
// memory for odd threads and global memory for even ones, so nvcc must use generic ld/st.
extern "C" __global__ void vector_io(float4* out4, const float4* in4, int2* out2, const int2* in2, float* scratch,
                                     float* out) {
    __shared__ float4 s4[64];
    __shared__ float sf[64];
    int t = threadIdx.x;
    float4 v = in4[t];
    s4[t] = make_float4(v.w, v.z, v.y, v.x * 2.f);
    int2 p = in2[t];
    out2[t] = make_int2(p.y, p.x ^ t);
    __syncthreads();
    out4[t] = s4[63 - t];
    float* where = (t & 1) ? &sf[t] : &scratch[t];
    *where = v.x + (float)t;
    __syncthreads();
    out[t] = (t & 1) ? sf[t] : scratch[t];
}
