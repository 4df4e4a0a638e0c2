package dev.ditj.tensor;

/**
 * A handle to a backend-owned array: shape plus storage the model never touches directly.
 * Only the backend that made a tensor can read or write it.
 */
public interface Tensor extends AutoCloseable {
    Shape shape();

    /** Element type: float32 for activations and weights, int32 for class labels. */
    DType dtype();

    default long numel() {
        return shape().numel();
    }

    default int dim(int i) {
        return shape().dim(i);
    }

    /** Releases backend storage. Using the tensor afterwards is an error. */
    @Override
    void close();
}
