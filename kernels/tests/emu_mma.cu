// Emulator tests: tensor-core instructions (mma.sync, ldmatrix) and cp.async pipelines, through inline PTX as our
// real GEMM kernels use them.
#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

__device__ __forceinline__ unsigned smem_addr(const void* p) {
    return (unsigned)__cvta_generic_to_shared(p);
}

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(smem_addr(smem)), "l"(gmem));
}

// C[M,N] = A[M,K] · B[N,K]^T (both row-major, bf16), f32 accumulate. One block of 4 warps computes a 64x32 tile:
// warp w owns rows 16w..16w+15 and all 32 columns (4 n8 fragments). K is consumed in 32-wide stages, double-buffered
// with cp.async. M % 64 == 0, N % 32 == 0, K % 32 == 0.
extern "C" __global__ void gemm_bf16_mma(float* C, const __nv_bfloat16* A, const __nv_bfloat16* B, int M, int N, int K) {
    __shared__ __align__(16) __nv_bfloat16 As[2][64][40];  // 32 + 8 padding halves per row against bank conflicts
    __shared__ __align__(16) __nv_bfloat16 Bs[2][32][40];
    int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    int m0 = blockIdx.y * 64, n0 = blockIdx.x * 32;
    float acc[4][4] = {};

    auto load_stage = [&](int stage, int k0) {
        // A tile: 64 rows x 32 halves = 256 chunks of 16 bytes; B tile: 32 x 32 = 128 chunks. 128 threads.
        for (int c = tid; c < 256; c += 128) {
            int r = c >> 2, col = (c & 3) * 8;
            cp_async16(&As[stage][r][col], A + (size_t)(m0 + r) * K + k0 + col);
        }
        {
            int r = tid >> 2, col = (tid & 3) * 8;
            cp_async16(&Bs[stage][r][col], B + (size_t)(n0 + r) * K + k0 + col);
        }
        asm volatile("cp.async.commit_group;");
    };

    int stages = K / 32;
    load_stage(0, 0);
    for (int s = 0; s < stages; s++) {
        if (s + 1 < stages) {
            load_stage((s + 1) & 1, (s + 1) * 32);
            asm volatile("cp.async.wait_group 1;");
        } else {
            asm volatile("cp.async.wait_group 0;");
        }
        __syncthreads();
        int st = s & 1;
        for (int kk = 0; kk < 32; kk += 16) {
            unsigned a0, a1, a2, a3;
            // x4: lanes 0-15 address rows 0-15 at k, lanes 16-31 rows 0-15 at k+8.
            const __nv_bfloat16* pa = &As[st][warp * 16 + (lane & 15)][kk + (lane >> 4) * 8];
            asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                         : "=r"(a0), "=r"(a1), "=r"(a2), "=r"(a3) : "r"(smem_addr(pa)));
            for (int j = 0; j < 4; j++) {
                unsigned b0, b1;
                // x2: lanes 0-7 rows n at k, lanes 8-15 rows n at k+8 (B stored n-major = "col" operand).
                const __nv_bfloat16* pb = &Bs[st][j * 8 + (lane & 7)][kk + ((lane >> 3) & 1) * 8];
                asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];"
                             : "=r"(b0), "=r"(b1) : "r"(smem_addr(pb)));
                asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
                             "{%8,%9}, {%0,%1,%2,%3};"
                             : "+f"(acc[j][0]), "+f"(acc[j][1]), "+f"(acc[j][2]), "+f"(acc[j][3])
                             : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
            }
        }
        __syncthreads();
    }
    int g = lane >> 2, tq = lane & 3;
    for (int j = 0; j < 4; j++) {
        int row = m0 + warp * 16 + g, col = n0 + j * 8 + tq * 2;
        C[(size_t)row * N + col] = acc[j][0];
        C[(size_t)row * N + col + 1] = acc[j][1];
        C[(size_t)(row + 8) * N + col] = acc[j][2];
        C[(size_t)(row + 8) * N + col + 1] = acc[j][3];
    }
}

// One m16n8k8 f16 mma by one warp, fragments loaded straight from global memory by the documented layout:
// A 16x8 row-major, B 8x8 (k x n) given as B^T row-major (n x k), C 16x8 row-major, D = A·B + C.
extern "C" __global__ void mma_m16n8k8_f16(float* D, const __half* A, const __half* Bt, const float* C) {
    int lane = threadIdx.x, g = lane >> 2, tq = lane & 3;
    __half2 a0 = __halves2half2(A[g * 8 + tq * 2], A[g * 8 + tq * 2 + 1]);
    __half2 a1 = __halves2half2(A[(g + 8) * 8 + tq * 2], A[(g + 8) * 8 + tq * 2 + 1]);
    __half2 b0 = __halves2half2(Bt[g * 8 + tq * 2], Bt[g * 8 + tq * 2 + 1]);
    float c0 = C[g * 8 + tq * 2], c1 = C[g * 8 + tq * 2 + 1], c2 = C[(g + 8) * 8 + tq * 2], c3 = C[(g + 8) * 8 + tq * 2 + 1];
    float d0, d1, d2, d3;
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%7,%8,%9,%10};"
                 : "=f"(d0), "=f"(d1), "=f"(d2), "=f"(d3)
                 : "r"(*(unsigned*)&a0), "r"(*(unsigned*)&a1), "r"(*(unsigned*)&b0), "f"(c0), "f"(c1), "f"(c2), "f"(c3));
    D[g * 8 + tq * 2] = d0;
    D[g * 8 + tq * 2 + 1] = d1;
    D[(g + 8) * 8 + tq * 2] = d2;
    D[(g + 8) * 8 + tq * 2 + 1] = d3;
}

// ldmatrix x1/x2/x4 with and without .trans on a 32x8 matrix of 16-bit values staged in shared memory;
// out[lane * 8 + r] = register r of the lane (x1: 1, x2: 2, x4: 4 registers; then the .trans versions).
extern "C" __global__ void ldmatrix_all(unsigned* out, const unsigned short* in) {
    __shared__ __align__(16) unsigned short m[32 * 8];
    int lane = threadIdx.x;
    for (int k = 0; k < 8; k++) m[lane * 8 + k] = in[lane * 8 + k];
    __syncwarp();
    unsigned addr = smem_addr(&m[lane * 8]);
    unsigned r0, r1, r2, r3, r4, r5, r6;
    asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];" : "=r"(r0) : "r"(addr));
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];" : "=r"(r1), "=r"(r2) : "r"(addr));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r3), "=r"(r4), "=r"(r5), "=r"(r6) : "r"(addr));
    unsigned* o = out + lane * 8;
    o[0] = r0; o[1] = r1; o[2] = r2; o[3] = r3; o[4] = r4; o[5] = r5; o[6] = r6; o[7] = 0;
}

// A cp.async copy whose wait is left out when skip_wait != 0: the data must not be there yet when read.
extern "C" __global__ void cp_async_wait(float* out, const float* in, int skip_wait) {
    __shared__ __align__(16) float s[128];
    int t = threadIdx.x;
    s[t * 4] = -1.f; s[t * 4 + 1] = -1.f; s[t * 4 + 2] = -1.f; s[t * 4 + 3] = -1.f;
    __syncthreads();
    cp_async16(&s[t * 4], &in[t * 4]);
    asm volatile("cp.async.commit_group;");
    if (!skip_wait) asm volatile("cp.async.wait_all;");
    __syncthreads();
    for (int k = 0; k < 4; k++) out[t * 4 + k] = s[(t * 4 + k + 4) % 128];
}
