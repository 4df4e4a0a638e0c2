// Convolution, version 2 (tensor cores; conv.cu is the fp32 reference beside it): 2-D cross-correlation of k = 1 or
// 3 as an implicit GEMM, in one of three samplings (mode, as in conv.cu):
//   out[b, co, y, x] = epilogue(Σ_{ky, kx, ci} W[co, ci, ky, kx] · U[b, ci, y·s - pad + ky, x·s - pad + kx])
//   0 plain: s = 1, pad = (k-1)/2, U = X, output grid = input grid H x W;
//   1 up:    s = 1, pad = (k-1)/2, U the nearest ×2 upsampling U[.., y, x] = X[.., y >> 1, x >> 1], output 2H x 2W;
//   2 down:  s = 2, pad = 0, U = X with one zero row below and one zero column right (F.pad(x, (0, 1, 0, 1)) then
//            Conv2d(stride=2): the VAE encoder's downsampler), output floor(H/2) x floor(W/2);
// U is 0 outside its grid (H x W, 2H x 2W with up), which is the padding of every mode. Neither the upsampled nor the
// padded image is stored: the loader reads X at (row >> up, column >> up) of the tap, so the decoder's upsampling
// and the encoder's padding cost no pass and no memory.
//
// Math: a GEMM with M = B·height·width output pixels (rows), N = Co, K = k²·Ci ordered (ky, kx, ci); A[m, k] is the
//   im2col row of pixel m, gathered on the fly; B = W. mma.sync.m16n8k16 bf16 x bf16 -> fp32 (products exact, sums in
//   fp32), then DitjEpilogue (common.cuh: bias, residual) on the fp32 sums; a bf16 output is rounded to nearest even
//   once.
// Layout: X channel-last bf16 [B, in_height, in_width, Ci] (NHWC; H x W above), Ci a multiple of 8, so the 8
//   channels of one 16-byte cp.async chunk of an im2col row are contiguous and inside one tap. W [Co, ldw] bf16 rows
//   holding [k, k, Ci] (CudaOps converts conv weights once, at upload; convert_conv_weight_bf16 below serves fp32
//   weights), ldw a multiple of 8, columns K..ldw-1 never read. The output is either
//   - _nhwc: channel-last bf16 [B, height, width, Co] (the output grid, = C[M, Co] row-major; Co a multiple of 8)
//     with an optional bf16 residual of the same layout, leaving through ditj_store_tile like the linear layers' C, or
//   - _nchw: fp32 [B, Co, height, width] with an optional fp32 residual, for any Co (the decoder's 3-channel image):
//     the accumulators are staged by columns and leave as 16-byte runs of 4 pixels of one channel.
// Tiles: Tile<BM, BN, ...> of mma_bf16.cuh (the ring, swizzle and ldmatrix feeding described there; the B loader is
//   its TileLoader); A comes from ConvLoader below. Tails: pixels past M, output channels past Co, K steps past K and
//   every padding tap are zero-filled through cp.async's source size 0, so H·W, Co and Ci need no multiple of the
//   tile (only Ci % 8 == 0).
// Launch (dev.ditj.cuda.ConvPlan chooses the tile): grid (ceil(M/BM), ceil(Co/BN)), block 32·WARPS_M·WARPS_N,
//   dynamic shared memory: the ring STAGES·(BM + BN)·64 bytes or the staged accumulators if larger (_nhwc: BM·(BN +
//   8)·4; _nchw: BN·(BM + 4)·4).
// Floor: 2·M·Co·k²·Ci FLOPs; bytes ≥ 2·B·in_height·in_width·Ci (M·Ci/2 for up, about 8·M·Ci for down) + 2·Co·K +
//   M·Co·(2 or 4) (+ the residual), the input read once (L2 serves the 9 taps' re-reads). SD VAE decoder at 256 px
//   (H100: 790 TFLOP/s dense bf16, 4.8 TB/s): 512-channel 3×3 at 64²: 19.3 GFLOP = 24.5 µs against 12.7 MB = 2.6 µs;
//   128-channel 3×3 at 256²: 19.3 GFLOP = 24.5 µs against 33.8 MB = 7.0 µs (+ 16.8 MB, 3.5 µs, with the residual):
//   compute bound, both. The encoder's first downsampler (128 channels, 256² -> 128²): 4.8 GFLOP = 6.1 µs against
//   21.3 MB = 4.4 µs.
#include "mma_bf16.cuh"

namespace conv_bf16_impl {   // named, not anonymous: an anonymous namespace puts a path hash into the PTX

using namespace mma_bf16_tiles;

// A rows of the implicit GEMM (rows [m0, m0 + ROWS) of an M x K im2col matrix, the stage tile as TileLoader makes
// it): thread t moves chunk t mod 4 (channels ci..ci+7 of tap (ky, kx)) of rows t/4 + i·STEP. Row m is output pixel
// (b, y, x); its chunk comes from X[b, (y·s - pad + ky) >> up, (x·s - pad + kx) >> up, ci..ci+7], or is zero (source
// size 0, address x) for a tap outside U's grid, a row past M or k past K. The thread's (k, ky, kx, ci) advance by 32
// per load, so loads must come in k order from k_begin (mma_mainloop's order; its k0 argument is not needed).
template <int ROWS, int THREADS>
struct ConvLoader {
    static constexpr int STEP = THREADS / 4, PER = (ROWS + STEP - 1) / STEP;
    const __nv_bfloat16* x;
    const __nv_bfloat16* image[PER];   // the row's sample in x
    int py[PER], px[PER];              // the row's tap (0, 0) in U: y·s - pad (far outside the grid for rows past M)
    int grid_h, grid_w, in_width, channels, ksize, up;
    int k, ky, kx, ci;                 // the thread's chunk at the next load
    unsigned dst;

    __device__ __forceinline__ ConvLoader(const __nv_bfloat16* x_, int height, int width, int in_height, int in_width_,
                                          int channels_, int ksize_, int mode, int m0, int m_end, int k_begin)
        : x(x_), grid_h(in_height << (mode == 1)), grid_w(in_width_ << (mode == 1)), in_width(in_width_),
          channels(channels_), ksize(ksize_), up(mode == 1) {
        const int r = threadIdx.x >> 2, ch = threadIdx.x & 3, hw = height * width;
        const int stride = mode == 2 ? 2 : 1, pad = mode == 2 ? 0 : ksize_ >> 1;
        const int64_t image_elems = (int64_t)in_height * in_width * channels;
#pragma unroll
        for (int i = 0; i < PER; i++) {
            int ri = r + i * STEP, m = m0 + ri;
            bool valid = ri < ROWS && m < m_end;
            int b = valid ? m / hw : 0, p = valid ? m - b * hw : 0;
            py[i] = valid ? p / width * stride - pad : -(1 << 20);
            px[i] = p % width * stride - pad;
            image[i] = x + b * image_elems;
        }
        k = k_begin + ch * 8;
        int tap = k / channels;
        ci = k - tap * channels;
        ky = tap / ksize;
        kx = tap - ky * ksize;
        dst = swizzled(r, ch);
    }

    __device__ __forceinline__ void load(unsigned tile, int, int k_end) {
        const bool in_k = k < k_end;
#pragma unroll
        for (int i = 0; i < PER; i++) {
            if (PER * STEP > ROWS && (threadIdx.x >> 2) + i * STEP >= ROWS) break;
            int yy = py[i] + ky, xx = px[i] + kx;
            bool ok = in_k && (unsigned)yy < (unsigned)grid_h && (unsigned)xx < (unsigned)grid_w;
            const __nv_bfloat16* src = ok ? image[i] + ((yy >> up) * in_width + (xx >> up)) * channels + ci : x;
            cp_async16(tile + dst + i * STEP * 64, src, ok ? 16 : 0);
        }
        k += 32;
        ci += 32;
        while (ci >= channels) {   // at most once for Ci ≥ 32, 32 / Ci times below
            ci -= channels;
            if (++kx == ksize) {
                kx = 0;
                ++ky;
            }
        }
    }
};

// The accumulators to a [BN][BM + 4] fp32 tile (by columns) at cs, over the ring (waits for every warp first). A
// lane's value pair (row r, columns c, c + 1) goes to two rows of cs. With BM a multiple of 16, 2·(BM + 4) ≡ 8
// (mod 32): the 4 column pairs of an mma fragment start 8 banks apart and its 8 rows follow in consecutive banks, so
// each store instruction touches 32 distinct banks.
template <class T>
__device__ __forceinline__ void stage_accumulators_by_column(const float (&acc)[T::MI][T::NI][4], float* cs) {
    constexpr int CT = T::BM + 4;
    static_assert(2 * CT % 32 == 8, "fragment stores by column without bank conflicts");
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int wm = warp / T::WARPS_N, wn = warp % T::WARPS_N, g = lane >> 2, tq = lane & 3;
    __syncthreads();
#pragma unroll
    for (int i = 0; i < T::MI; i++) {
#pragma unroll
        for (int j = 0; j < T::NI; j++) {
#pragma unroll
            for (int h = 0; h < 2; h++) {
                int r = wm * T::WM + i * 16 + g + 8 * h, col = wn * T::WN + j * 8 + 2 * tq;
                cs[col * CT + r] = acc[i][j][2 * h];
                cs[(col + 1) * CT + r] = acc[i][j][2 * h + 1];
            }
        }
    }
    __syncthreads();
}

// The by-column staged tile through the epilogue to NCHW fp32 out [B, co, hw]: each thread takes 4 consecutive
// rows (pixels) of one column (channel) at a time, a 16-byte store where they are 4 pixels of one image.
template <class T>
__device__ __forceinline__ void store_tile_nchw(float* out, const float* cs, int row0, int col0, int m, int co, int hw,
                                                const DitjEpilogue& ep) {
    constexpr int CT = T::BM + 4, QUADS = T::BM / 4;
    const bool vec = (hw & 3) == 0 && ((uintptr_t)out & 15) == 0 && ((uintptr_t)ep.residual & 15) == 0 && ep.gate == nullptr;
#pragma unroll 1
    for (int e = threadIdx.x; e < T::BN * QUADS; e += T::THREADS) {
        int c = e / QUADS, r = e % QUADS * 4, col = col0 + c, row = row0 + r;
        if (col >= co || row >= m) continue;
        float4 v = *reinterpret_cast<const float4*>(cs + c * CT + r);
        if (vec && row + 3 < m) {   // rows r..r+3 lie in one image: hw and r are multiples of 4
            int b = row / hw;
            int64_t idx = ((int64_t)b * co + col) * hw + (row - b * hw);
            st_global_v4(out + idx, ep.four_rows(v, col, idx));
        } else {   // one at a time (the rotation keeps the four in registers without unrolling the loop)
#pragma unroll 1
            for (int q = 0; q < 4 && row + q < m; q++) {
                int b = (row + q) / hw;
                int64_t idx = ((int64_t)b * co + col) * hw + (row + q - b * hw);
                out[idx] = ep.at(v.x, row + q, col, idx);
                v = make_float4(v.y, v.z, v.w, v.x);
            }
        }
    }
}

template <class T, bool NCHW>
__device__ __forceinline__ void conv_bf16(void* out, const __nv_bfloat16* __restrict__ x,
                                          const __nv_bfloat16* __restrict__ w, int batch, int height, int width,
                                          int in_height, int in_width, int ci, int co, int ksize, int mode, int ldw,
                                          const DitjEpilogue& ep) {
    extern __shared__ __align__(128) unsigned char ditj_smem[];
    const unsigned smem = smem_u32(ditj_smem);
    const int hw = height * width, m = batch * hw, k = ksize * ksize * ci;
    const int row0 = blockIdx.x * T::BM, col0 = blockIdx.y * T::BN;
    ConvLoader<T::BM, T::THREADS> la(x, height, width, in_height, in_width, ci, ksize, mode, row0, m, 0);
    TileLoader<T::BN, T::THREADS> lw(w, ldw, col0, co);
    float acc[T::MI][T::NI][4] = {};
    mma_mainloop<T>(acc, la, lw, smem, 0, k);
    float* cs = reinterpret_cast<float*>(ditj_smem);
    if constexpr (NCHW) {
        stage_accumulators_by_column<T>(acc, cs);
        store_tile_nchw<T>(static_cast<float*>(out), cs, row0, col0, m, co, hw, ep);
    } else {
        stage_accumulators<T>(acc, smem);
        ditj_store_tile<T::BM, T::BN, T::THREADS>(static_cast<__nv_bfloat16*>(out), cs, T::CS, row0, col0, m, co, ep);
    }
}

}  // namespace conv_bf16_impl
using namespace conv_bf16_impl;

// The instantiations, one kernel name each: conv_bf16_<BM>x<BN>_<output layout>.
#define DITJ_CONV_BF16(name, TILE, NCHW, OUT, RESIDUAL, EPILOGUE)                                                     \
    extern "C" __global__ void __launch_bounds__(TILE::THREADS)                                                       \
        name(OUT* out, const __nv_bfloat16* __restrict__ x, const __nv_bfloat16* __restrict__ w, const float* bias,    \
             const RESIDUAL* residual, int batch, int height, int width, int in_height, int in_width, int ci, int co,  \
             int ksize, int mode, int ldw) {                                                                          \
        conv_bf16<TILE, NCHW>(out, x, w, batch, height, width, in_height, in_width, ci, co, ksize, mode, ldw,          \
                              EPILOGUE);                                                                              \
    }

#define DITJ_NHWC_EPILOGUE DitjEpilogue{bias, nullptr, nullptr, DITJ_ACT_NONE, 0, 1, residual}
#define DITJ_NCHW_EPILOGUE DitjEpilogue{bias, residual, nullptr, DITJ_ACT_NONE, 0, 1}

DITJ_CONV_BF16(conv_bf16_128x128_nhwc, T128x128, false, __nv_bfloat16, __nv_bfloat16, DITJ_NHWC_EPILOGUE)
DITJ_CONV_BF16(conv_bf16_128x64_nhwc, T128x64, false, __nv_bfloat16, __nv_bfloat16, DITJ_NHWC_EPILOGUE)
DITJ_CONV_BF16(conv_bf16_64x64_nhwc, T64x64, false, __nv_bfloat16, __nv_bfloat16, DITJ_NHWC_EPILOGUE)
DITJ_CONV_BF16(conv_bf16_64x64_nchw, T64x64, true, float, float, DITJ_NCHW_EPILOGUE)

// out[o, (ky·k + kx)·Ci + ci] = bf16(w[o, ci, ky, kx]) (round to nearest even) for the K = k²·Ci columns, 0 from K to
// ld: an fp32 conv weight [Co, Ci, k, k] as the GEMM's B operand (CudaOps converts constant weights on the host at
// upload; this pass serves the others). Launch: grid-stride, block 256. Floor: 6 bytes per element.
extern "C" __global__ void convert_conv_weight_bf16(__nv_bfloat16* __restrict__ out, const float* __restrict__ w, int co,
                                                    int ci, int taps, int ld) {
    DITJ_FOR(i, (int64_t)co * ld) {
        int64_t o = i / ld;
        int col = (int)(i - o * ld), tap = col / ci;
        out[i] = __float2bfloat16_rn(col < taps * ci ? w[(o * ci + col - tap * ci) * taps + tap] : 0.0f);
    }
}
