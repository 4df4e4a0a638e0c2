package dev.ditj.cli;

import dev.ditj.DitjException;
import dev.ditj.io.Npy;
import dev.ditj.io.RawTensor;
import dev.ditj.tensor.DType;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Shape;

import java.nio.file.Path;
import java.util.Arrays;

/** .npy reading and writing with the shape checks and messages the commands need. */
final class Npys {
    private Npys() {
    }

    static HostTensor readFloats(Path file, String what) {
        RawTensor t = Npy.read(file);
        return new HostTensor(t.shape(), t.toFloats());
    }

    /** A float array whose shape must equal {@code expected} (-1 = any size in that dimension). */
    static HostTensor readFloats(Path file, String what, int... expected) {
        HostTensor t = readFloats(file, what);
        int[] d = t.shape().dims();
        boolean ok = d.length == expected.length;
        for (int i = 0; ok && i < d.length; i++) ok = expected[i] < 0 || expected[i] == d[i];
        if (!ok) {
            throw new DitjException(file + ": " + what + " has shape " + t.shape() + ", expected "
                    + Arrays.toString(expected).replace("-1", "*"));
        }
        return t;
    }

    static int[] readInts(Path file, String what, int length) {
        RawTensor t = Npy.read(file);
        if (t.shape().rank() != 1 || (length >= 0 && t.shape().dim(0) != length)) {
            throw new DitjException(file + ": " + what + " has shape " + t.shape() + ", expected ["
                    + (length >= 0 ? length : "N") + "]");
        }
        return t.toInts();
    }

    /** A 1-D float array (float32 or float64; integers refused: they are DiT timesteps, not times). */
    static float[] readFloatVector(Path file, String what, int length) {
        RawTensor t = Npy.read(file);
        if (t.shape().rank() != 1 || t.shape().dim(0) != length || !t.dtype().isFloat()) {
            throw new DitjException(file + ": " + what + " has shape " + t.shape() + " and dtype " + t.dtype()
                    + ", expected float32 [" + length + "]");
        }
        return t.toFloats();
    }

    static void writeFloats(Path file, HostTensor t) {
        Npy.write(file, RawTensor.ofFloats(t.data(), t.shape(), DType.F32));
    }

    static void writeBytes(Path file, byte[] data, int... dims) {
        Npy.write(file, RawTensor.ofBytes(data, Shape.of(dims)));
    }
}
