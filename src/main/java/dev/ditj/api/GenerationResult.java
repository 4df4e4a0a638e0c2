package dev.ditj.api;

import dev.ditj.image.Pixels;
import dev.ditj.image.Png;
import dev.ditj.tensor.HostTensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Generated images: the decoder output as float CHW arrays in about [-1, 1], their 8-bit RGB form (the official
 * sample.py mapping), PNG bytes per image or as a grid (with the generation parameters inside), and the final
 * latents when requested.
 */
public final class GenerationResult {
    /** Images per grid row, as DiT's sample.py saves them. */
    public static final int GRID_COLUMNS = 4;

    private final HostTensor images;
    private final HostTensor latents;
    private final long samplingNanos, decodeNanos;
    private final GenerationInfo info;
    private final ClassLabels labels;
    private final int[] classes, imageIndices;

    GenerationResult(HostTensor images, HostTensor latents, long samplingNanos, long decodeNanos, GenerationInfo info,
                     ClassLabels labels, int[] classes, int[] imageIndices) {
        this.images = images;
        this.latents = latents;
        this.samplingNanos = samplingNanos;
        this.decodeNanos = decodeNanos;
        this.info = info;
        this.labels = labels;
        this.classes = classes;
        this.imageIndices = imageIndices;
    }

    /** How these images were made (stored in their PNGs). */
    public GenerationInfo info() {
        return info;
    }

    /** The class of image i. */
    public int classId(int i) {
        return classes[i];
    }

    /** Image i's index in its run (its noise stream; see {@link GenerationRequest#imageIndices()}). */
    public int imageIndex(int i) {
        return imageIndices[i];
    }

    public int count() {
        return images.shape().dim(0);
    }

    public int channels() {
        return images.shape().dim(1);
    }

    public int height() {
        return images.shape().dim(2);
    }

    public int width() {
        return images.shape().dim(3);
    }

    /** All decoder outputs [N, C, H, W]. */
    public HostTensor images() {
        return images;
    }

    /** The final latents [N, C, I, I], or null unless requested. */
    public HostTensor latents() {
        return latents;
    }

    /** Image i as HWC 8-bit pixels. */
    public byte[] pixels(int i) {
        int per = channels() * height() * width();
        return Pixels.toRgb8(images.data(), i * per, channels(), height(), width());
    }

    /** Image i as a PNG file's bytes, with the generation parameters as text entries. */
    public byte[] png(int i) {
        return Png.withText(Png.encode(width(), height(), channels(), pixels(i)),
                info.pngText(labels, new int[] {classes[i]}, new int[] {imageIndices[i]}));
    }

    /** All images in one PNG, {@link #GRID_COLUMNS} per row with torchvision's 2-pixel padding (one image: as is). */
    public byte[] gridPng() {
        return gridPng(GRID_COLUMNS);
    }

    /** All images in one PNG, {@code columns} per row with torchvision's 2-pixel padding (one image: as is). */
    public byte[] gridPng(int columns) {
        List<byte[]> all = new ArrayList<>();
        for (int i = 0; i < count(); i++) all.add(pixels(i));
        byte[] grid = Pixels.grid(all, height(), width(), channels(), columns);
        return Png.withText(Png.encode(Pixels.gridWidth(count(), width(), columns),
                Pixels.gridHeight(count(), height(), columns), channels(), grid),
                info.pngText(labels, classes, imageIndices));
    }

    public double samplingSeconds() {
        return samplingNanos / 1e9;
    }

    public double decodeSeconds() {
        return decodeNanos / 1e9;
    }
}
