package dev.ditj.model;

import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;

import java.util.IdentityHashMap;

/**
 * Activation buffers of one VAE pass (encoder or decoder) for one batch size and input size: four planned slots that
 * layers take views of, and flat attention buffers sized for the largest attention site.
 */
public final class VaeWorkspace implements AutoCloseable {
    final int batch, height, width;
    private final Ops ops;
    private final Tensor[] slots = new Tensor[4];
    private final IdentityHashMap<Tensor, Integer> taken = new IdentityHashMap<>();
    final Tensor tokens, qkv, attn, proj;

    /**
     * @param slotElements  elements of the largest activation of one image (what each slot holds per image)
     * @param tokenElements tokens × channels of the largest attention site of one image
     */
    VaeWorkspace(Ops ops, String source, int batch, int height, int width, long slotElements, long tokenElements) {
        this.ops = ops;
        this.batch = batch;
        this.height = height;
        this.width = width;
        ops.checkMemory(source, 0, bytes(batch, slotElements, tokenElements));
        for (int i = 0; i < slots.length; i++) slots[i] = ops.alloc(Shape.of(batch * slotElements));
        tokens = ops.alloc(Shape.of(batch * tokenElements));
        qkv = ops.alloc(Shape.of(3 * batch * tokenElements));
        attn = ops.alloc(Shape.of(batch * tokenElements));
        proj = ops.alloc(Shape.of(batch * tokenElements));
    }

    /** The bytes a workspace of these sizes allocates. */
    static long bytes(int batch, long slotElements, long tokenElements) {
        return 4L * batch * (4 * slotElements + 6 * tokenElements);
    }

    /** A view of a free slot with the given shape; slots are few, so a leak shows up at once. */
    Tensor take(int... dims) {
        for (int i = 0; i < slots.length; i++) {
            if (!taken.containsValue(i)) {
                Tensor v = ops.view(slots[i], Shape.of(dims));
                taken.put(v, i);
                return v;
            }
        }
        throw new IllegalStateException("VAE workspace: no free buffer");
    }

    void release(Tensor view) {
        if (taken.remove(view) == null) throw new IllegalStateException("VAE workspace: buffer not taken");
    }

    @Override
    public void close() {
        for (Tensor t : slots) t.close();
        tokens.close();
        qkv.close();
        attn.close();
        proj.close();
    }
}
