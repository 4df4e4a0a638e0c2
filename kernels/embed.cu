// Embeddings of the DiT conditioning.
// embedding_lookup: out[b, :] = table[labels[b], :] (one thread per output element; labels are checked on the host).
// timestep_frequencies: out[b] = [cos(t_b·f_k)]_k ++ [sin(t_b·f_k)]_k, the product rounded to float32 first and the
//   cos/sin evaluated in float64 then rounded, like the CPU backend (t·f reaches ~1000 rad); fp32 out, or bf16
//   with rows ld apart (_bf16: the timestep MLP's GEMM operand, rounded to nearest even once).
// Launch: grid-stride, block 256. Negligible cost.
#include "common.cuh"

extern "C" __global__ void embedding_lookup_f32(float* __restrict__ out, const float* __restrict__ table,
                                                const int* __restrict__ labels, int64_t n, int h) {
    DITJ_FOR(i, n) out[i] = table[(int64_t)labels[i / h] * h + i % h];
}

template <class Out>
__device__ __forceinline__ void timestep_frequencies(Out* __restrict__ out, int ld, const float* __restrict__ t,
                                                     const float* __restrict__ freqs, int batch, int half) {
    DITJ_FOR(i, (int64_t)batch * half) {
        int b = (int)(i / half), k = (int)(i % half);
        float arg = t[b] * freqs[k];
        ditj_store(out + (int64_t)b * ld + k, (float)cos((double)arg));
        ditj_store(out + (int64_t)b * ld + half + k, (float)sin((double)arg));
    }
}

extern "C" __global__ void timestep_frequencies_f32(float* __restrict__ out, const float* __restrict__ t,
                                                    const float* __restrict__ freqs, int batch, int half) {
    timestep_frequencies(out, 2 * half, t, freqs, batch, half);
}

extern "C" __global__ void timestep_frequencies_bf16(__nv_bfloat16* __restrict__ out, int ld, const float* __restrict__ t,
                                                     const float* __restrict__ freqs, int batch, int half) {
    timestep_frequencies(out, ld, t, freqs, batch, half);
}
