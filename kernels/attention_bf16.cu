// Multi-head self-attention, version 2 (tensor cores; attention.cu is the fp32 reference beside it), in the manner of
// FlashAttention-2: out[b,t, h·hd + d] = Σ_j softmax_j(scale · q_t·k_j) v_j[d], no T x T matrix in memory.
//
// Math: per warp 16 query rows (one m16 fragment) against tiles of BK keys. S = Q·Kᵀ by mma.sync bf16 x bf16 -> fp32
//   (exact products, fp32 sums); online softmax in registers in base 2: s' = S·(scale·log2 e), running row max m,
//   p = 2^(s' - m) (ex2.approx), the accumulators and the per-thread partial row sums l rescaled by 2^(m_old - m_new);
//   p is rounded to bf16 once, as the A operand of O += P·V, straight from the S accumulators (the m16n8 C layout
//   of two adjacent key octets is the m16k16 A layout: no shared-memory round trip); l sums the unrounded p; one
//   division by l at the end. The only roundings beside fp32 sums are q, k, v (bf16 storage) and p (bf16 operand).
//   Any scale: s' is one fma from S (a negative scale's sign is moved into S, so S's row max gives s''s).
// Head dim 72 = 4·16 + 8, no padding to 80 or 96: in Q·Kᵀ the head dim is the MMA's k, done as four m16n8k16 steps
//   plus one m16n8k8 step (bf16 m16n8k8 exists and costs half a k16 step, so not a cycle is spent on zeros; masking
//   half of a fifth k16 step would waste 10 % of Q·Kᵀ, padding to 96 a third); in P·V the head dim is the MMA's n:
//   nine n8 tiles, exact. Head dims 16i + 8 and 64i work the same way (the layout below needs an odd number of
//   16-byte chunks per row or a multiple of 8); instantiated: 64, 72, 128.
// Head dim 512 (the VAE's single head): a warp's fp32 output for 16 rows x 512 would take 256 registers per thread,
//   so each block computes a 128-wide slice of the output (blockIdx.y = head · 4 + slice) and reads only that slice
//   of V; every slice computes the full Q·Kᵀ over 512 (Q fragments from shared memory per k step instead of
//   registers). That repeats Q·Kᵀ 4 times (2.5x the minimal MMA work) but keeps P in registers and the code the
//   same as for the other head dims, with no exchange of partial scores between warps (which at 16 rows per warp
//   moves as many shared-memory bytes as reading K), and makes 4x the blocks: the VAE's attention (one head over
//   1024 tokens at 256 px) has only 16 tiles of 64 queries for 132 SMs. It is ~0.3 % of the decoder's FLOPs.
// Layout: qkv [B·T, ldq] bf16 (ldq = 3H, H = heads·hd; features which·H + head·hd + d, as timm's Attention lays
//   them out; hd and ldq multiples of 8 so every 16-byte chunk is aligned for cp.async; a sample's T·ldq below 2³¹
//   for 32-bit offsets), written in bf16 by the qkv projection (CudaOps.selfAttention) or converted by
//   convert_bf16_rows (CudaOps.attention given fp32 qkv).
//   out [B·T, H] fp32 (the next op, the output projection, converts its input to bf16 anyway).
// Shared memory: the block's Q tile [BQ][hd], then a STAGES-deep cp.async ring of (K [BK][hd], V [BK][DV]) tiles.
//   Rows of C 16-byte chunks; chunk c of row r lives at chunk r·C + (c ^ (r mod 8)) when C is a multiple of 8
//   (hd 64, 128, 512: rows are whole multiples of 128 bytes, so unswizzled the 8 rows of an ldmatrix phase would all
//   hit one 16-byte bank group) and at r·C + c when C is odd (hd 72: C = 9, consecutive rows already start 4 banks
//   apart, so 8 rows at one chunk fall in 8 distinct bank groups; an XOR there would collide). ldmatrix phases (8
//   consecutive rows at one chunk) and cp.async phases (8 consecutive chunks) are then conflict-free.
// Staging: cp.async.cg 16 bytes, tails (keys or queries past T) zero-filled through the source size (zeros, not
//   stale NaN, so masked keys add 0·0 to P·V). Each warp request copies whole rows (hd 72: 3 rows of 9 chunks, 27
//   lanes; rows longer than 32 chunks in 32-chunk parts), so no sector is fetched by two requests: a 144-byte row of
//   hd 72 spans 5 sectors (90 % sector efficiency, the other 16 bytes belong to the neighbouring head, fetched by
//   its own block from L2); hd 64, 128, 512 rows are whole sectors (100 %).
// Launch (dev.ditj.cuda.AttentionPlan): grid (ceil(T / BQ), heads · HD / DV, B), block 32·WARPS (BQ = 16·WARPS),
//   dynamic shared memory BQ·hd·2 + STAGES·BK·(hd + DV)·2 bytes.
// Floor: 4·B·heads·T²·hd FLOPs; bytes B·T·(3H·2 + H·4). DiT-XL/2 (16 heads of 72), batch 2 with guidance: at
//   256 px (T = 256) 0.60 GFLOP = 0.76 µs at 790 TFLOP/s against 5.9 MB = 1.23 µs at 4.8 TB/s per layer, memory
//   bound; at 512 px (T = 1024) 9.7 GFLOP = 12.2 µs against 23.6 MB = 4.9 µs, compute bound. Why qkv in bf16:
//   fp32 qkv converted while staging would move 9.4 MB per layer at 256 px (1.97 µs, +60 %), double the L2-to-SM
//   traffic of the K/V re-reads (every 64-query block reads its head's K and V: 151 MB bf16 at 512 px, 302 MB fp32,
//   against L2's ~7-10 TB/s, GemmPlan's assumption), and lose cp.async's latency hiding (register staging of a
//   64-key fp32 K/V tile takes 72 registers per thread); the projection writing bf16 also saves 3.5 MB of its own
//   stores. A separate conversion pass (the fallback for fp32 qkv) moves 10.6 MB, 2.2 µs per layer at 256 px.
#include "common.cuh"
#include "tensor_core.cuh"

namespace attn_bf16_impl {

// HD: head dim (the k of Q·Kᵀ); DV: output columns per block (HD, or a slice of it); WARPS x 16 query rows per
// block; BK keys per tile; STAGES tiles in flight.
template <int HD_, int DV_, int WARPS_, int BK_, int STAGES_>
struct Attn {
    static constexpr int HD = HD_, DV = DV_, WARPS = WARPS_, BK = BK_, STAGES = STAGES_;
    static constexpr int THREADS = 32 * WARPS, BQ = 16 * WARPS, SLICES = HD / DV;
    static constexpr int CQ = HD / 8, CV = DV / 8;              // 16-byte chunks per Q/K row, per V row
    static constexpr int K16 = HD / 16;                          // m16n8k16 steps of Q·Kᵀ ...
    static constexpr bool K8 = HD % 16 == 8;                      // ... and an m16n8k8 step
    static constexpr int NS = BK / 8, NO = DV / 8;                // n8 tiles of S and of O
    static constexpr bool Q_IN_REGISTERS = HD <= 128;
    static constexpr int Q_BYTES = BQ * HD * 2, K_BYTES = BK * HD * 2, STAGE_BYTES = K_BYTES + BK * DV * 2;
    static_assert(HD % 8 == 0 && DV % 8 == 0 && HD % DV == 0, "whole 16-byte chunks");
    static_assert(BK % 32 == 0, "the k8 step's ldmatrix.x4 reads 32 keys");
    static_assert(STAGES >= 2, "at least double buffering");
};

// Byte offset of chunk c of row r in a tile of C-chunk rows (the layout in the header).
template <int C>
__device__ __forceinline__ unsigned chunk_at(int r, int c) {
    static_assert(C % 2 == 1 || C % 8 == 0, "conflict-free rows: an odd number of chunks or a multiple of 8");
    return (unsigned)(r * C + (C % 8 == 0 ? c ^ (r & 7) : c)) * 16u;
}

// Copies rows [row0, row0 + R) x C chunks of a bf16 matrix (rows ld elements apart) to a tile laid out by
// chunk_at<C>, rows from rows_end on zero-filled (source: the matrix's row 0). Whole rows per warp request (see the
// header): a lane copies chunk c of rows first, first + STEP, ...; what does not depend on row0 is set once.
template <int R, int C, int WARPS>
struct RowLoader {
    static constexpr int ROWS_PER_REQ = C <= 32 ? 32 / C : 1, PARTS = C <= 32 ? 1 : C / 32;
    static constexpr int STEP = WARPS * ROWS_PER_REQ / PARTS, ITERS = (R + STEP - 1) / STEP;
    static_assert(C <= 32 || (C % 32 == 0 && WARPS % PARTS == 0), "long rows in whole 32-chunk parts");
    const __nv_bfloat16* m;
    int first, c;   // this lane's first row (R: an idle lane) and its chunk

    __device__ __forceinline__ RowLoader(const __nv_bfloat16* matrix) : m(matrix) {
        const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
        if (C <= 32) {
            first = lane / C < ROWS_PER_REQ ? warp * ROWS_PER_REQ + lane / C : R;   // lanes past the last whole row idle
            c = lane % C;
        } else {
            first = warp / PARTS;
            c = (warp % PARTS) * 32 + lane;
        }
    }

    // Element offsets within one sample's rows fit in 32 bits (T·3H < 2³¹).
    __device__ __forceinline__ void load(unsigned tile, int ld, int row0, int rows_end) const {
        const int off = (row0 + first) * ld + c * 8;
#pragma unroll
        for (int i = 0; i < ITERS; i++) {
            const int r = first + i * STEP;
            if (r >= R) break;
            const bool ok = row0 + r < rows_end;
            cp_async16(tile + chunk_at<C>(r, c), m + (ok ? off + i * STEP * ld : c * 8), ok ? 16 : 0);
        }
    }
};

__device__ __forceinline__ float ex2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

// Two fp32 values as a bf16x2 register (lo in the low half), rounded to nearest even.
__device__ __forceinline__ unsigned pack_bf16(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<unsigned*>(&v);
}

template <class A>
__device__ __forceinline__ void attention_bf16(float* __restrict__ out, const __nv_bfloat16* __restrict__ qkv, int tokens,
                                               int heads, int ldq, float scale) {
    extern __shared__ __align__(128) unsigned char ditj_smem[];
    const unsigned qs = smem_u32(ditj_smem), ring = qs + A::Q_BYTES;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
    const int h = heads * A::HD, head = blockIdx.y / A::SLICES, slice = blockIdx.y % A::SLICES;
    const int q0 = blockIdx.x * A::BQ, tiles = (tokens + A::BK - 1) / A::BK;
    const __nv_bfloat16* q = qkv + (int64_t)blockIdx.z * tokens * ldq + head * A::HD;
    const __nv_bfloat16 *k = q + h, *v = q + 2 * h + slice * A::DV;

    const RowLoader<A::BK, A::CQ, A::WARPS> lk(k);
    const RowLoader<A::BK, A::CV, A::WARPS> lv(v);
    auto load = [&](int it) {   // tile it into its stage; empty groups past the end keep the wait count uniform
        if (it < tiles) {
            const unsigned stage = ring + (it % A::STAGES) * A::STAGE_BYTES;
            lk.load(stage, ldq, it * A::BK, tokens);
            lv.load(stage + A::K_BYTES, ldq, it * A::BK, tokens);
        }
        cp_async_commit();
    };
    RowLoader<A::BQ, A::CQ, A::WARPS>(q).load(qs, ldq, q0, tokens);   // in tile 0's group
#pragma unroll 1
    for (int s = 0; s < A::STAGES - 1; s++) load(s);

    const bool active = q0 + warp * 16 < tokens;   // a warp whose 16 rows are all past T only helps staging
    // s' = s·c2 with c2 = |scale|·log2(e) (at least the smallest normal float, so that a masked -inf stays -inf when
    // scale = 0), the sign of a negative scale moved into s: the row max of s then gives that of s'.
    const bool negate = scale < 0.0f;
    const float c2 = fmaxf(fabsf(scale) * 1.4426950408889634f, 1.17549435e-38f);
    const int qrow = warp * 16 + (lane & 15);       // this lane's ldmatrix row of the warp's Q fragment
    float o[A::NO][4] = {};
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};   // rows g and g + 8
    unsigned qf[A::Q_IN_REGISTERS ? A::K16 : 1][4], qf8[2];

    for (int it = 0; it < tiles; it++) {
        cp_async_wait<A::STAGES - 2>();
        __syncthreads();          // tile it (and Q) landed for every thread; every warp is done with tile it - 1
        load(it + A::STAGES - 1);  // into the stage tile it - 1 used
        if (!active) continue;
        if (A::Q_IN_REGISTERS && it == 0) {
#pragma unroll
            for (int kk = 0; kk < A::K16; kk++) ldmatrix_x4(qf[kk], qs + chunk_at<A::CQ>(qrow, 2 * kk + (lane >> 4)));
        }
        if (A::K8 && it == 0) ldmatrix_x2(qf8, qs + chunk_at<A::CQ>(qrow, 2 * A::K16));
        const unsigned ks = ring + (it % A::STAGES) * A::STAGE_BYTES, vs = ks + A::K_BYTES;

        // S = Q·Kᵀ: per k16 step, K fragments for 16 keys per ldmatrix.x4 (n8 tiles 2j, 2j + 1)
        float s[A::NS][4] = {};
#pragma unroll
        for (int kk = 0; kk < A::K16; kk++) {
            unsigned a[4];
            if (A::Q_IN_REGISTERS) {
#pragma unroll
                for (int i = 0; i < 4; i++) a[i] = qf[A::Q_IN_REGISTERS ? kk : 0][i];
            } else {
                ldmatrix_x4(a, qs + chunk_at<A::CQ>(qrow, 2 * kk + (lane >> 4)));
            }
#pragma unroll
            for (int j = 0; j < A::NS / 2; j++) {
                unsigned b[4];
                ldmatrix_x4(b, ks + chunk_at<A::CQ>(16 * j + (lane & 7) + ((lane >> 4) << 3), 2 * kk + ((lane >> 3) & 1)));
                mma_bf16(s[2 * j], a, b[0], b[1]);
                mma_bf16(s[2 * j + 1], a, b[2], b[3]);
            }
        }
        if (A::K8) {   // the last 8 of the head dim: one m16n8k8 step, K fragments for 32 keys per ldmatrix.x4
#pragma unroll
            for (int j = 0; j < A::NS / 4; j++) {
                unsigned b[4];
                ldmatrix_x4(b, ks + chunk_at<A::CQ>(32 * j + lane, 2 * A::K16));
#pragma unroll
                for (int i = 0; i < 4; i++) mma_bf16_k8(s[4 * j + i], qf8, b[i]);
            }
        }

        // online softmax: lane holds keys 8j + 2t, 8j + 2t + 1 of rows g (s[j][0..1]) and g + 8 (s[j][2..3])
        const int keys_left = tokens - it * A::BK;
        if (negate || keys_left < A::BK) {
#pragma unroll
            for (int j = 0; j < A::NS; j++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    if (negate) s[j][e] = -s[j][e];
                    if (8 * j + 2 * t + (e & 1) >= keys_left) s[j][e] = -INFINITY;
                }
            }
        }
#pragma unroll
        for (int r = 0; r < 2; r++) {
            float mx = -INFINITY;
#pragma unroll
            for (int j = 0; j < A::NS; j++) mx = fmaxf(mx, fmaxf(s[j][2 * r], s[j][2 * r + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(m[r], fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2)) * c2);
            const float base = mx == -INFINITY ? 0.0f : mx;   // a row without a key yet stays at p = 0
            const float alpha = ex2(m[r] - base);
            m[r] = mx;
            l[r] *= alpha;
#pragma unroll
            for (int n = 0; n < A::NO; n++) {
                o[n][2 * r] *= alpha;
                o[n][2 * r + 1] *= alpha;
            }
#pragma unroll
            for (int j = 0; j < A::NS; j++) {
                s[j][2 * r] = ex2(fmaf(s[j][2 * r], c2, -base));
                s[j][2 * r + 1] = ex2(fmaf(s[j][2 * r + 1], c2, -base));
                l[r] += s[j][2 * r] + s[j][2 * r + 1];
            }
        }

        // O += P·V: P's A fragment for keys 16kk..16kk+15 is S tiles 2kk, 2kk + 1; V fragments by ldmatrix.trans
#pragma unroll
        for (int kk = 0; kk < A::BK / 16; kk++) {
            const unsigned p[4] = {pack_bf16(s[2 * kk][0], s[2 * kk][1]), pack_bf16(s[2 * kk][2], s[2 * kk][3]),
                                   pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]), pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3])};
            const int vrow = 16 * kk + (lane & 15);
#pragma unroll
            for (int n = 0; n < A::NO / 2; n++) {
                unsigned b[4];
                ldmatrix_x4_trans(b, vs + chunk_at<A::CV>(vrow, 2 * n + (lane >> 4)));
                mma_bf16(o[2 * n], p, b[0], b[1]);
                mma_bf16(o[2 * n + 1], p, b[2], b[3]);
            }
            if (A::NO % 2 == 1) {
                unsigned b[2];
                ldmatrix_x2_trans(b, vs + chunk_at<A::CV>(vrow, A::NO - 1));
                mma_bf16(o[A::NO - 1], p, b[0], b[1]);
            }
        }
    }

    if (!active) return;
#pragma unroll
    for (int r = 0; r < 2; r++) {
        float sum = l[r];
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        sum += __shfl_xor_sync(0xffffffffu, sum, 2);
        const int row = q0 + warp * 16 + g + 8 * r;
        if (row >= tokens) continue;
        const float inv = 1.0f / sum;
        float* dst = out + ((int64_t)blockIdx.z * tokens + row) * h + head * A::HD + slice * A::DV + 2 * t;
#pragma unroll
        for (int n = 0; n < A::NO; n++) {
            *reinterpret_cast<float2*>(dst + 8 * n) = make_float2(o[n][2 * r] * inv, o[n][2 * r + 1] * inv);
        }
    }
}

using D64 = Attn<64, 64, 4, 64, 3>;
using D72 = Attn<72, 72, 4, 64, 3>;
using D128 = Attn<128, 128, 4, 64, 2>;
using D512 = Attn<512, 128, 4, 32, 2>;

}  // namespace attn_bf16_impl
using namespace attn_bf16_impl;  // named, not anonymous: an anonymous namespace puts a path hash into the PTX

// One kernel per head dim: attention_bf16_d<hd>. Arguments as attention_f32_* except qkv (bf16, rows ldq apart).
#define DITJ_ATTENTION_BF16(name, A)                                                                                   \
    extern "C" __global__ void __launch_bounds__(A::THREADS)                                                           \
        name(float* out, const __nv_bfloat16* __restrict__ qkv, int tokens, int heads, int ldq, float scale) {          \
        attention_bf16<A>(out, qkv, tokens, heads, ldq, scale);                                                        \
    }

DITJ_ATTENTION_BF16(attention_bf16_d64, D64)
DITJ_ATTENTION_BF16(attention_bf16_d72, D72)
DITJ_ATTENTION_BF16(attention_bf16_d128, D128)
DITJ_ATTENTION_BF16(attention_bf16_d512, D512)
