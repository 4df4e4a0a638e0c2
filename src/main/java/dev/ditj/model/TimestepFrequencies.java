package dev.ditj.model;

/**
 * The 128 frequencies of the DiT timestep embedding, {@code exp(-ln(10000) * k / 128)}, as the float32 bit
 * patterns PyTorch computes them (torch 1.13, x86-64 CPU). PyTorch's float32 exp is not correctly rounded and 17
 * of these differ by one ulp from the correctly rounded value; at t near 999 one ulp of a frequency moves the
 * float32 argument {@code t * f} to a neighbouring float and changes the embedding by ~3e-5, so we ship the
 * table rather than recompute it (see the DiT spec, §4.3 and §8).
 */
public final class TimestepFrequencies {
    public static final int HALF = 128;

    private static final int[] BITS = {
            0x3f800000, 0x3f6e39f8, 0x3f5dafd6, 0x3f4e4bac, 0x3f3ff911, 0x3f32a506,
            0x3f263de0, 0x3f1ab32b, 0x3f0ff59a, 0x3f05f6ee, 0x3ef953ce, 0x3ee80460,
            0x3ed7e89a, 0x3ec8eb24, 0x3ebaf81a, 0x3eadfcff, 0x3ea1e89b, 0x3e96aaea,
            0x3e8c3503, 0x3e827908, 0x3e72d422, 0x3e61f836, 0x3e5247ed, 0x3e43ae7c,
            0x3e361887, 0x3e297409, 0x3e1db040, 0x3e12bd90, 0x3e088d77, 0x3dfe24df,
            0x3dec7fd5, 0x3ddc1464, 0x3dcccccc, 0x3dbe94c8, 0x3db15978, 0x3da50957,
            0x3d99940d, 0x3d8eea6c, 0x3d84fe4c, 0x3d778511, 0x3d6655c1, 0x3d5657e3,
            0x3d477640, 0x3d399d18, 0x3d2cba16, 0x3d20bc1b, 0x3d159348, 0x3d0b30cb,
            0x3d0186e2, 0x3cf11177, 0x3ce054d1, 0x3cd0c1a8, 0x3cc2434e, 0x3cb4c692,
            0x3ca83989, 0x3c9c8b96, 0x3c91ad3a, 0x3c879009, 0x3c7c4d30, 0x3c6ac8e6,
            0x3c5a7bf1, 0x3c4b50b5, 0x3c3d330e, 0x3c301050, 0x3c23d70a, 0x3c187706,
            0x3c0de12e, 0x3c040777, 0x3bf5b9ad, 0x3be4aa45, 0x3bd4ca16, 0x3bc6040a,
            0x3bb8449a, 0x3bab7982, 0x3b9f91cc, 0x3b947daf, 0x3b8a2e75, 0x3b80967c,
            0x3b6f520d, 0x3b5eb47a, 0x3b4f3e33, 0x3b40dac2, 0x3b33770d, 0x3b270153,
            0x3b1b690e, 0x3b109ed8, 0x3b06946d, 0x3afa78f0, 0x3ae91528, 0x3ad8e674,
            0x3ac9d759, 0x3abbd3ea, 0x3aaec98e, 0x3aa2a6f7, 0x3a975c0b, 0x3a8cd9d9,
            0x3a83126e, 0x3a73f1a2, 0x3a6301e3, 0x3a533f24, 0x3a44948a, 0x3a36ee9e,
            0x3a2a3b44, 0x3a1e69a2, 0x3a136a14, 0x3a092e01, 0x39ff4fac, 0x39ed95e4,
            0x39dd1722, 0x39cdbd93, 0x39bf74d6, 0x39b229fb, 0x39a5cb60, 0x399a48a0,
            0x398f9275, 0x39859aa4, 0x3978a80d, 0x3967648c, 0x395753e2, 0x394860c0,
            0x393a7753, 0x392d852a, 0x39217919, 0x39164326, 0x390bd46d, 0x39021f28,
            0x38f22cdd, 0x38e15c8e
    };

    private TimestepFrequencies() {
    }

    /** A fresh copy of the table. */
    public static float[] table() {
        float[] f = new float[HALF];
        for (int k = 0; k < HALF; k++) f[k] = Float.intBitsToFloat(BITS[k]);
        return f;
    }
}
