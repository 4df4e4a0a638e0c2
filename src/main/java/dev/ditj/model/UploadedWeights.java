package dev.ditj.model;

import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Ops.ConstantKind;
import dev.ditj.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/** A model's weights on a backend: uploads them one by one and frees them all together. */
final class UploadedWeights implements AutoCloseable {
    private final Ops ops;
    private final List<Tensor> tensors = new ArrayList<>();

    UploadedWeights(Ops ops) {
        this.ops = ops;
    }

    /** Uploads one weight; if that fails, frees everything uploaded so far, so a half-loaded model leaks nothing. */
    Tensor upload(HostTensor host, ConstantKind kind) {
        try {
            Tensor t = ops.constant(host, kind);
            tensors.add(t);
            return t;
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public void close() {
        tensors.forEach(Tensor::close);
        tensors.clear();
    }
}
