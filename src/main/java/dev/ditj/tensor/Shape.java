package dev.ditj.tensor;

import java.util.Arrays;

/** An immutable list of dimensions, row-major (the last dimension varies fastest). */
public final class Shape {
    private final int[] dims;

    private Shape(int[] dims) {
        for (int d : dims) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(dims));
        }
        this.dims = dims;
    }

    public static Shape of(int... dims) {
        return new Shape(dims.clone());
    }

    public static Shape of(long... dims) {
        int[] d = new int[dims.length];
        for (int i = 0; i < dims.length; i++) d[i] = Math.toIntExact(dims[i]);
        return new Shape(d);
    }

    public int rank() {
        return dims.length;
    }

    public int dim(int i) {
        return dims[i < 0 ? dims.length + i : i];
    }

    public int[] dims() {
        return dims.clone();
    }

    public long numel() {
        long n = 1;
        for (int d : dims) n *= d;
        return n;
    }

    /** Number of elements as an int, for host arrays; fails clearly for tensors too big for one Java array. */
    public int size() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 16) throw new IllegalStateException("tensor " + this + " is too large for one array");
        return (int) n;
    }

    /** Same elements, new dimensions; the element count must match. */
    public Shape reshape(int... newDims) {
        Shape s = of(newDims);
        if (s.numel() != numel()) throw new IllegalArgumentException("cannot reshape " + this + " to " + s);
        return s;
    }

    /** Product of the dimensions from {@code from} (inclusive) to the end. */
    public long numelFrom(int from) {
        long n = 1;
        for (int i = from; i < dims.length; i++) n *= dims[i];
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
