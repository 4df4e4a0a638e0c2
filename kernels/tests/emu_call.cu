// Emulator tests: calls of non-inlined device functions (.func with parameters and a returned struct, nested and
// under divergence) and the CUDA math library's slow paths that use them (double sin/cos of huge arguments: the
// Payne-Hanek reduction, with carry arithmetic in inline-asm scopes).
#include <cstdint>

struct Pair {
    float a;
    double b;
};

__device__ __noinline__ float twice(float x) { return 2.0f * x; }

__device__ __noinline__ Pair mix(float x, double y, int k) {
    Pair p;
    p.a = twice(x) + (float)k;
    p.b = y * k - x;
    return p;
}

extern "C" __global__ void calls(float* outf, double* outd, const float* x, const double* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    Pair p = {0.0f, 0.0};
    if (i % 3 != 0) p = mix(x[i], y[i], i);   // only some lanes call
    outf[i] = p.a;
    outd[i] = p.b;
}

extern "C" __global__ void huge_trig(double* out, const double* x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    out[2 * i] = sin(x[i]);
    out[2 * i + 1] = cos(x[i]);
}
