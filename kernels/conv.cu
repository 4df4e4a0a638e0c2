// 2-D convolution (cross-correlation) as an implicit GEMM per image, fp32 (the reference beside conv_bf16.cu), in one
// of three samplings, the same as conv_bf16.cu's (mode):
//   0 plain: out[co][y][x] = bias[co] + Σ_{ci,ky,kx} w[co][ci][ky][kx] · X[ci][y + ky - pad][x + kx - pad],
//            pad (k-1)/2, output grid = input grid;
//   1 up:    the same of the nearest ×2 upsampled input U[ci][y][x] = X[ci][y >> 1][x >> 1] (output grid 2H x 2W);
//   2 down:  stride 2, no padding, of X with one zero row below and one zero column right (F.pad(x, (0, 1, 0, 1))
//            then Conv2d(stride=2), the VAE encoder's downsampler): X[ci][2y + ky][2x + kx], output grid
//            floor(H/2) x floor(W/2) (torch's floor((H + 1 - 3)/2) + 1 for k = 3).
// Taps outside the sampled grid (the padding) read 0; (+ residual[co][p]) in any mode.
// A 64 (output channels) x 64 (output pixels) tile per block of 256 threads, 4x4 outputs per thread; the im2col operand
// is never stored: each K step of 16 gathers its (ci, ky, kx) rows from X into shared memory. Handles 1x1 and 3x3.
// Layout: NCHW fp32, X [B, Ci, in_height, in_width], out and residual [B, Co, height, width], w [Co, Ci, k, k].
// Launch: grid (ceil(height·width/64), ceil(Co/64), B), block 256. Floor: 2·Co·Ci·k²·height·width FLOPs per image.
#include "common.cuh"

#define TM 64
#define TN 64
#define TK 16

extern "C" __global__ void __launch_bounds__(256) conv2d_f32(float* __restrict__ out, const float* __restrict__ x,
                                                             const float* __restrict__ w, const float* __restrict__ bias,
                                                             const float* __restrict__ residual, int ci, int co,
                                                             int height, int width, int in_height, int in_width,
                                                             int ksize, int mode) {
    __shared__ float ws[TK][TM + 4];
    __shared__ float xs[TK][TN + 4];
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int hw = height * width, in_hw = in_height * in_width, kk2 = ksize * ksize, kdim = ci * kk2;
    // tap (ky, kx) of output pixel (y, x) reads the sampled grid at (y·stride - pad + ky, ...), X at that >> up
    const int up = mode == 1, stride = mode == 2 ? 2 : 1, pad = mode == 2 ? 0 : (ksize - 1) / 2;
    const int grid_h = in_height << up, grid_w = in_width << up;
    const int co0 = blockIdx.y * TM, p0 = blockIdx.x * TN, b = blockIdx.z;
    const float* xb = x + (int64_t)b * ci * in_hw;
    float acc[4][4] = {};
    for (int k0 = 0; k0 < kdim; k0 += TK) {
        for (int e = tid; e < TM * TK; e += 256) {
            // weights: rows of w are contiguous along k
            int r = e / TK, kk = e % TK, gk = k0 + kk, gco = co0 + r;
            ws[kk][r] = (gco < co && gk < kdim) ? w[(int64_t)gco * kdim + gk] : 0.0f;
            // input patch: consecutive threads take consecutive pixels of one (ci, ky, kx) row
            int kk2i = e / TN, pi = e % TN, gk2 = k0 + kk2i, p = p0 + pi;
            float v = 0.0f;
            if (gk2 < kdim && p < hw) {
                int c = gk2 / kk2, rr = gk2 % kk2;
                int yy = p / width * stride - pad + rr / ksize, xx = p % width * stride - pad + rr % ksize;
                if (yy >= 0 && yy < grid_h && xx >= 0 && xx < grid_w)
                    v = xb[(int64_t)c * in_hw + (yy >> up) * in_width + (xx >> up)];
            }
            xs[kk2i][pi] = v;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < TK; kk++) {
            float wv[4], xv[4];
#pragma unroll
            for (int i = 0; i < 4; i++) wv[i] = ws[kk][ty * 4 + i];
#pragma unroll
            for (int j = 0; j < 4; j++) xv[j] = xs[kk][tx * 4 + j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(wv[i], xv[j], acc[i][j]);
        }
        __syncthreads();
    }
    float* ob = out + (int64_t)b * co * hw;
    const float* rb = residual != nullptr ? residual + (int64_t)b * co * hw : nullptr;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int c = co0 + ty * 4 + i;
        if (c >= co) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int p = p0 + tx * 4 + j;
            if (p < hw) {
                int64_t o = (int64_t)c * hw + p;
                float v = acc[i][j] + bias[c];
                ob[o] = rb != nullptr ? v + rb[o] : v;
            }
        }
    }
}
