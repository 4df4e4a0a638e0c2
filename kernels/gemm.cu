// Linear layers, version 1 (the fp32 reference; gemm_bf16.cu is the tensor-core version):
// C[M,N] = epilogue(A[M,K] · W[N,K]ᵀ) in fp32 (PyTorch Linear weight layout; epilogue: bias, activation, optional
// gated residual, see DitjEpilogue in common.cuh).
// Tiled SIMT GEMM: a 64x64 tile of C per block of 256 threads, 4x4 outputs per thread in registers, K in steps of
// 16 staged through shared memory (stored k-major and padded so the inner loop reads without bank conflicts); loads
// are coalesced along K; the results leave through a shared tile by rows (ditj_store_tile). Launch: grid
// (ceil(N/64), ceil(M/64)), block 256. Floor: 2·M·N·K FLOPs; A is read N/64 times and W M/64 times from L2.
#include "common.cuh"

constexpr int BM = 64, BN = 64, BK = 16;

extern "C" __global__ void __launch_bounds__(256) linear_f32(float* c, const float* __restrict__ a,
                                                             const float* __restrict__ w, int m, int n, int k,
                                                             const float* bias, int act, const float* residual,
                                                             const float* gate, int gate_stride, int tokens) {
    const DitjEpilogue ep{bias, residual, gate, act, gate_stride, tokens};
    __shared__ float as[BK][BM + 4];
    __shared__ float ws[BK][BN + 4];
    __shared__ __align__(16) float cs[BM][BN + 4];
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;
    float acc[4][4] = {};
    for (int k0 = 0; k0 < k; k0 += BK) {
        // 64 rows x 16 k of A and of W: 4 elements per thread, consecutive threads along k
        for (int e = tid; e < BM * BK; e += 256) {
            int r = e / BK, kk = e % BK;
            int gr = row0 + r, gk = k0 + kk;
            as[kk][r] = (gr < m && gk < k) ? a[(int64_t)gr * k + gk] : 0.0f;
            int gn = col0 + r;
            ws[kk][r] = (gn < n && gk < k) ? w[(int64_t)gn * k + gk] : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; kk++) {
            float av[4], wv[4];
#pragma unroll
            for (int i = 0; i < 4; i++) av[i] = as[kk][ty * 4 + i];
#pragma unroll
            for (int j = 0; j < 4; j++) wv[j] = ws[kk][tx * 4 + j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(av[i], wv[j], acc[i][j]);
        }
        __syncthreads();
    }
    // the results through shared memory to C by rows (ditj_store_tile: coalesced, the epilogue's code once)
#pragma unroll
    for (int i = 0; i < 4; i++) {
        *reinterpret_cast<float4*>(&cs[ty * 4 + i][tx * 4]) = make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
    }
    __syncthreads();
    ditj_store_tile<BM, BN, 256>(c, &cs[0][0], BN + 4, row0, col0, m, n, ep);
}
