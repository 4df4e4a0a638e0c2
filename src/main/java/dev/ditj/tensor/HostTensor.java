package dev.ditj.tensor;

/** A float32 array on the Java heap with a shape: what crosses between files, the user and a backend. */
public record HostTensor(Shape shape, float[] data) {
    public HostTensor {
        if (data.length != shape.numel()) {
            throw new IllegalArgumentException("data length " + data.length + " does not match shape " + shape);
        }
    }

    public static HostTensor zeros(int... dims) {
        Shape s = Shape.of(dims);
        return new HostTensor(s, new float[s.size()]);
    }
}
