package dev.ditj.cpu;

/**
 * The innermost GEMM loop: a {@code MR × nr()} tile of C from an A micro-panel {@code [kc][MR]} and a B micro-panel
 * {@code [kc][nr()]}, added to the tile ({@code C += A·B}).
 */
interface MicroKernel {
    int MR = 6;

    int nr();

    void run(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc);

    /** The Vector API kernel when the incubator module is present, else plain Java. */
    static MicroKernel best() {
        if (Boolean.getBoolean("ditj.cpu.scalar")) return new ScalarMicroKernel();
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            try {
                return (MicroKernel) Class.forName("dev.ditj.cpu.VectorMicroKernel").getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError e) {
                return new ScalarMicroKernel();
            }
        }
        return new ScalarMicroKernel();
    }
}
