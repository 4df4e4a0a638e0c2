// Emulator tests of the efficiency counters (LaunchStats): access patterns whose shared-memory wavefronts and
// global-memory sectors are known exactly. Strides come in as parameters so nvcc cannot fold the patterns.
#include <cstdint>

__device__ __forceinline__ unsigned smem_addr(const void* p) {
    return (unsigned)__cvta_generic_to_shared(p);
}

// 32-bit stores then loads of shared word (t * stride) mod 1024 (the loads at the neighbouring word i ^ 1, which
// has the same bank pattern): stride 1 is conflict-free, 2 is a 2-way, 32 a 32-way conflict, 0 a broadcast.
extern "C" __global__ void shared_stride(float* out, int stride) {
    __shared__ float s[1024];
    int t = threadIdx.x;
    int i = (t * stride) & 1023;
    s[i] = (float)t;
    __syncthreads();
    out[t] = s[i ^ 1];
}

// 64-bit (float2) and 128-bit (float4) shared stores and loads at element t * stride.
extern "C" __global__ void shared_vector(float* out, int stride) {
    __shared__ float2 s2[512];
    __shared__ float4 s4[512];
    int t = threadIdx.x;
    s2[(t * stride) & 511] = make_float2(t, 1.f);
    s4[(t * stride) & 511] = make_float4(t, 1.f, 2.f, 3.f);
    __syncthreads();
    float2 a = s2[(t * stride) & 511];
    float4 b = s4[(t * stride) & 511];
    out[t] = a.x + a.y + b.x + b.w;
}

// One warp: cp.async of 16-byte chunks into a tile of 32 rows of row_bytes (lane l: row l / 4 + 8 · rep, chunk l % 4),
// then ldmatrix.x4 of the four 8x8 matrices whose rows are 0-7, 8-15, 16-23, 24-31 at chunk 0. With swizzle != 0
// the 16-byte chunk c of row r is stored at chunk c ^ ((r >> 1) & 3) (the GEMM's layout for 64-byte rows).
extern "C" __global__ void tile_copy_ldmatrix(unsigned* out, const uint4* in, int row_bytes, int swizzle) {
    __shared__ __align__(128) unsigned char tile[32 * 128];
    int lane = threadIdx.x;
    for (int rep = 0; rep < 4; rep++) {
        int row = lane / 4 + 8 * rep, chunk = lane % 4;
        int phys = swizzle ? chunk ^ ((row >> 1) & 3) : chunk;
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(smem_addr(tile + row * row_bytes + phys * 16)),
                     "l"(in + rep * 32 + lane));
    }
    asm volatile("cp.async.wait_all;");
    __syncwarp();
    int row = lane;
    int phys = swizzle ? ((row >> 1) & 3) : 0;
    unsigned r0, r1, r2, r3;
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(smem_addr(tile + row * row_bytes + phys * 16)));
    out[lane * 4] = r0;
    out[lane * 4 + 1] = r1;
    out[lane * 4 + 2] = r2;
    out[lane * 4 + 3] = r3;
}

// Global loads of in[t * stride + offset] (32-bit), then a coalesced store out[t].
extern "C" __global__ void global_stride(float* out, const float* in, int stride, int offset) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    out[t] = in[t * stride + offset];
}
