package dev.ditj.cpu;

/** Plain-Java micro-kernel (6 × 16) for JVMs started without {@code --add-modules jdk.incubator.vector}. */
final class ScalarMicroKernel implements MicroKernel {
    private static final int NR = 16;

    @Override
    public int nr() {
        return NR;
    }

    @Override
    public void run(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc) {
        float[] acc = new float[MR * NR];
        for (int k = 0; k < kc; k++) {
            int ak = aOff + k * MR, bk = bOff + k * NR;
            for (int i = 0; i < MR; i++) {
                float av = a[ak + i];
                int row = i * NR;
                for (int j = 0; j < NR; j++) acc[row + j] = Math.fma(av, b[bk + j], acc[row + j]);
            }
        }
        for (int i = 0; i < MR; i++) {
            int co = cOff + i * ldc;
            for (int j = 0; j < NR; j++) c[co + j] += acc[i * NR + j];
        }
    }
}
