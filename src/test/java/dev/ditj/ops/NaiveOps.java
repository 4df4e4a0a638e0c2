package dev.ditj.ops;

import dev.ditj.tensor.DType;
import dev.ditj.tensor.HostTensor;
import dev.ditj.tensor.Ops;
import dev.ditj.tensor.Shape;
import dev.ditj.tensor.Tensor;

/**
 * The most literal implementation of {@link Ops}: plain loops straight from the definitions, float64 arithmetic
 * throughout, no blocking, no threads. It checks the fast CPU backend, which in turn checks the GPU kernels.
 */
public final class NaiveOps implements Ops {

    static final class T implements Tensor {
        final Shape shape;
        final float[] f;
        final int[] i;

        T(Shape shape, float[] f, int[] i) {
            this.shape = shape;
            this.f = f;
            this.i = i;
        }

        @Override
        public Shape shape() {
            return shape;
        }

        @Override
        public DType dtype() {
            return f != null ? DType.F32 : DType.I32;
        }

        @Override
        public void close() {
        }
    }

    private static float[] f(Tensor t) {
        return ((T) t).f;
    }

    @Override
    public String name() {
        return "naive";
    }

    @Override
    public Tensor alloc(Shape shape) {
        return new T(shape, new float[shape.size()], null);
    }

    @Override
    public Tensor allocInts(Shape shape) {
        return new T(shape, null, new int[shape.size()]);
    }

    @Override
    public Tensor upload(HostTensor host) {
        return new T(host.shape(), host.data().clone(), null);
    }

    @Override
    public Tensor view(Tensor base, Shape shape) {
        T b = (T) base;
        return new T(shape, b.f, b.i);
    }

    @Override
    public void write(Tensor dst, float[] values) {
        System.arraycopy(values, 0, f(dst), 0, values.length);
    }

    @Override
    public void writeInts(Tensor dst, int[] values) {
        System.arraycopy(values, 0, ((T) dst).i, 0, values.length);
    }

    @Override
    public float[] read(Tensor src) {
        return java.util.Arrays.copyOf(f(src), src.shape().size());
    }

    @Override
    public void copy(Tensor dst, long dstOffset, Tensor src, long srcOffset, long count) {
        System.arraycopy(f(src), (int) srcOffset, f(dst), (int) dstOffset, (int) count);
    }

    @Override
    public void linear(Tensor out, Tensor x, Tensor w, Tensor bias, Activation act) {
        float[] o = f(out), xf = f(x), wf = f(w), b = bias == null ? null : f(bias);
        int n = w.dim(0), k = w.dim(1), m = (int) (x.numel() / k);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = b == null ? 0 : b[j];
                for (int kk = 0; kk < k; kk++) s += (double) xf[i * k + kk] * wf[j * k + kk];
                if (act == Activation.SILU) s = s / (1 + Math.exp(-s));
                if (act == Activation.GELU_TANH) s = 0.5 * s * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (s + 0.044715 * s * s * s)));
                o[i * n + j] = (float) s;
            }
        }
    }

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        float[] o = f(out), x = f(a), y = f(b);
        for (int i = 0; i < out.numel(); i++) o[i] = (float) ((double) x[i] + y[i]);
    }

    @Override
    public void silu(Tensor out, Tensor x) {
        float[] o = f(out), v = f(x);
        for (int i = 0; i < out.numel(); i++) o[i] = (float) (v[i] / (1 + Math.exp(-(double) v[i])));
    }

    @Override
    public void addTokenTable(Tensor x, Tensor rows, int tokens) {
        float[] xf = f(x), r = f(rows);
        for (int i = 0; i < x.numel(); i++) xf[i] = (float) ((double) xf[i] + r[(int) (i % rows.numel())]);
    }

    @Override
    public void embeddingLookup(Tensor out, Tensor table, Tensor labels) {
        int h = table.dim(1);
        int[] y = ((T) labels).i;
        for (int b = 0; b < y.length; b++) System.arraycopy(f(table), y[b] * h, f(out), b * h, h);
    }

    @Override
    public void timestepFrequencies(Tensor out, Tensor t, Tensor freqs) {
        float[] o = f(out), tv = f(t), fr = f(freqs);
        int half = (int) freqs.numel();
        for (int b = 0; b < t.numel(); b++) {
            for (int k = 0; k < half; k++) {
                float arg = tv[b] * fr[k];
                o[b * 2 * half + k] = (float) Math.cos(arg);
                o[b * 2 * half + half + k] = (float) Math.sin(arg);
            }
        }
    }

    @Override
    public void modulatedLayerNorm(Tensor out, Tensor x, Tensor mod, int shiftChunk, int scaleChunk, int tokens, float eps) {
        float[] o = f(out), xf = f(x), m = f(mod);
        int h = x.dim(-1), rows = (int) (x.numel() / h), ms = mod.dim(-1);
        for (int r = 0; r < rows; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < h; i++) mean += xf[r * h + i];
            mean /= h;
            for (int i = 0; i < h; i++) var += (xf[r * h + i] - mean) * (xf[r * h + i] - mean);
            var /= h;
            int b = r / tokens;
            for (int i = 0; i < h; i++) {
                double norm = (xf[r * h + i] - mean) / Math.sqrt(var + eps);
                o[r * h + i] = (float) (norm * (1 + m[b * ms + scaleChunk * h + i]) + m[b * ms + shiftChunk * h + i]);
            }
        }
    }

    @Override
    public void modulatedRmsNorm(Tensor out, Tensor x, Tensor weight, Tensor mod, int shiftChunk, int scaleChunk, int tokens,
                                 float eps) {
        float[] o = f(out), xf = f(x), w = f(weight), m = f(mod);
        int h = x.dim(-1), rows = (int) (x.numel() / h), ms = mod.dim(-1);
        for (int r = 0; r < rows; r++) {
            double sq = 0;
            for (int i = 0; i < h; i++) sq += (double) xf[r * h + i] * xf[r * h + i];
            double rms = Math.sqrt(sq / h + eps);
            int b = r / tokens;
            for (int i = 0; i < h; i++) {
                double norm = xf[r * h + i] / rms * w[i];
                o[r * h + i] = (float) (norm * (1 + m[b * ms + scaleChunk * h + i]) + m[b * ms + shiftChunk * h + i]);
            }
        }
    }

    @Override
    public void swiglu(Tensor out, Tensor x) {
        float[] o = f(out), xf = f(x);
        int n = out.dim(-1), rows = (int) (out.numel() / n);
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < n; i++) {
                double a = xf[r * 2 * n + i], g = xf[r * 2 * n + n + i];
                o[r * n + i] = (float) (a / (1 + Math.exp(-a)) * g);
            }
        }
    }

    @Override
    public void rotaryQk(Tensor qkv, Tensor cos, Tensor sin, int tokens, int heads) {
        float[] q = f(qkv), c = f(cos), s = f(sin);
        int h = qkv.dim(-1) / 3, hd = h / heads, rows = (int) (qkv.numel() / (3 * h));
        for (int r = 0; r < rows; r++) {
            int t = r % tokens;
            for (int which = 0; which < 2; which++) {
                for (int head = 0; head < heads; head++) {
                    for (int d = 0; d < hd; d += 2) {
                        int i = r * 3 * h + which * h + head * hd + d;
                        double x0 = q[i], x1 = q[i + 1];
                        q[i] = (float) (x0 * c[t * hd + d] - x1 * s[t * hd + d]);
                        q[i + 1] = (float) (x1 * c[t * hd + d + 1] + x0 * s[t * hd + d + 1]);
                    }
                }
            }
        }
    }

    @Override
    public void gatedResidual(Tensor x, Tensor y, Tensor mod, int gateChunk, int tokens) {
        float[] xf = f(x), yf = f(y), m = f(mod);
        int h = x.dim(-1), ms = mod.dim(-1);
        for (int i = 0; i < x.numel(); i++) {
            int r = i / h, c = i % h;
            xf[i] = (float) (xf[i] + (double) m[(r / tokens) * ms + gateChunk * h + c] * yf[i]);
        }
    }

    @Override
    public void attention(Tensor out, Tensor qkv, int batch, int tokens, int heads, float scale) {
        float[] o = f(out), q = f(qkv);
        int h = out.dim(-1), hd = h / heads;
        double[] p = new double[tokens];
        for (int b = 0; b < batch; b++) {
            for (int head = 0; head < heads; head++) {
                for (int i = 0; i < tokens; i++) {
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j < tokens; j++) {
                        double s = 0;
                        for (int d = 0; d < hd; d++) {
                            s += (double) q[(b * tokens + i) * 3 * h + head * hd + d] * q[(b * tokens + j) * 3 * h + h + head * hd + d];
                        }
                        p[j] = s * scale;
                        max = Math.max(max, p[j]);
                    }
                    for (int j = 0; j < tokens; j++) {
                        p[j] = Math.exp(p[j] - max);
                        sum += p[j];
                    }
                    for (int d = 0; d < hd; d++) {
                        double acc = 0;
                        for (int j = 0; j < tokens; j++) acc += p[j] / sum * q[(b * tokens + j) * 3 * h + 2 * h + head * hd + d];
                        o[(b * tokens + i) * h + head * hd + d] = (float) acc;
                    }
                }
            }
        }
    }

    @Override
    public void patchify(Tensor out, Tensor x, int p) {
        float[] o = f(out), xf = f(x);
        int bs = x.dim(0), c = x.dim(1), s = x.dim(2), g = s / p;
        for (int b = 0; b < bs; b++)
            for (int gy = 0; gy < g; gy++)
                for (int gx = 0; gx < g; gx++)
                    for (int ch = 0; ch < c; ch++)
                        for (int ky = 0; ky < p; ky++)
                            for (int kx = 0; kx < p; kx++)
                                o[((b * g * g) + gy * g + gx) * c * p * p + (ch * p + ky) * p + kx] =
                                        xf[((b * c + ch) * s + gy * p + ky) * s + gx * p + kx];
    }

    @Override
    public void unpatchify(Tensor out, Tensor x, int p, int c) {
        float[] o = f(out), xf = f(x);
        int bs = out.dim(0), s = out.dim(2), g = s / p;
        for (int b = 0; b < bs; b++)
            for (int gy = 0; gy < g; gy++)
                for (int gx = 0; gx < g; gx++)
                    for (int py = 0; py < p; py++)
                        for (int px = 0; px < p; px++)
                            for (int ch = 0; ch < c; ch++)
                                o[((b * c + ch) * s + gy * p + py) * s + gx * p + px] =
                                        xf[((b * g * g) + gy * g + gx) * p * p * c + (py * p + px) * c + ch];
    }

    @Override
    public void conv2d(Tensor out, Tensor x, Tensor w, Tensor bias, Tensor residual) {
        float[] o = f(out), xf = f(x), wf = f(w), bf = f(bias), rf = residual == null ? null : f(residual);
        int bs = x.dim(0), ci = x.dim(1), hh = x.dim(2), ww = x.dim(3), co = w.dim(0), k = w.dim(2), pad = (k - 1) / 2;
        for (int b = 0; b < bs; b++)
            for (int oc = 0; oc < co; oc++)
                for (int y = 0; y < hh; y++)
                    for (int xx = 0; xx < ww; xx++) {
                        double s = bf[oc];
                        for (int ic = 0; ic < ci; ic++)
                            for (int ky = 0; ky < k; ky++)
                                for (int kx = 0; kx < k; kx++) {
                                    int yy = y + ky - pad, xs = xx + kx - pad;
                                    if (yy < 0 || yy >= hh || xs < 0 || xs >= ww) continue;
                                    s += (double) wf[((oc * ci + ic) * k + ky) * k + kx] * xf[((b * ci + ic) * hh + yy) * ww + xs];
                                }
                        int idx = ((b * co + oc) * hh + y) * ww + xx;
                        o[idx] = (float) (rf == null ? s : s + rf[idx]);
                    }
    }

    /**
     * As torch writes it, step by step: {@code xp = F.pad(x, (0, 1, 0, 1))} materialised ([B, Ci, H+1, W+1], zeros in
     * the last row and column), then {@code Conv2d(k=3, stride=2, padding=0)} over xp with torch's output size
     * {@code floor((H + 1 - 3) / 2) + 1}, every tap inside xp.
     */
    @Override
    public void downsampleConv2d(Tensor out, Tensor x, Tensor w, Tensor bias) {
        float[] o = f(out), xf = f(x), wf = f(w), bf = f(bias);
        int bs = x.dim(0), ci = x.dim(1), hh = x.dim(2), ww = x.dim(3), co = w.dim(0), k = w.dim(2), stride = 2;
        int ph = hh + 1, pw = ww + 1;
        double[] xp = new double[bs * ci * ph * pw];
        for (int p = 0; p < bs * ci; p++)
            for (int y = 0; y < hh; y++)
                for (int xx = 0; xx < ww; xx++) xp[(p * ph + y) * pw + xx] = xf[(p * hh + y) * ww + xx];
        int oh = Math.floorDiv(ph - k, stride) + 1, ow = Math.floorDiv(pw - k, stride) + 1;
        if (oh < 1 || ow < 1 || out.dim(2) != oh || out.dim(3) != ow) {
            throw new IllegalArgumentException("downsampleConv2d: torch gives " + oh + "x" + ow + " for " + x.shape() + ", out " + out.shape());
        }
        for (int b = 0; b < bs; b++)
            for (int oc = 0; oc < co; oc++)
                for (int y = 0; y < oh; y++)
                    for (int xx = 0; xx < ow; xx++) {
                        double s = bf[oc];
                        for (int ic = 0; ic < ci; ic++)
                            for (int ky = 0; ky < k; ky++)
                                for (int kx = 0; kx < k; kx++)
                                    s += (double) wf[((oc * ci + ic) * k + ky) * k + kx]
                                            * xp[((b * ci + ic) * ph + y * stride + ky) * pw + xx * stride + kx];
                        o[((b * co + oc) * oh + y) * ow + xx] = (float) s;
                    }
    }

    @Override
    public void groupNorm(Tensor out, Tensor x, Tensor gamma, Tensor beta, int groups, float eps, boolean silu) {
        float[] o = f(out), xf = f(x), g = f(gamma), be = f(beta);
        int bs = x.dim(0), c = x.dim(1), sp = (int) x.shape().numelFrom(2), cpg = c / groups;
        for (int b = 0; b < bs; b++)
            for (int gr = 0; gr < groups; gr++) {
                int off = (b * c + gr * cpg) * sp, n = cpg * sp;
                double mean = 0, var = 0;
                for (int i = 0; i < n; i++) mean += xf[off + i];
                mean /= n;
                for (int i = 0; i < n; i++) var += (xf[off + i] - mean) * (xf[off + i] - mean);
                var /= n;
                for (int i = 0; i < n; i++) {
                    int ch = gr * cpg + i / sp;
                    double v = (xf[off + i] - mean) / Math.sqrt(var + eps) * g[ch] + be[ch];
                    if (silu) v = v / (1 + Math.exp(-v));
                    o[off + i] = (float) v;
                }
            }
    }

    @Override
    public void upsampleNearest2x(Tensor out, Tensor x) {
        float[] o = f(out), xf = f(x);
        int planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
        for (int p = 0; p < planes; p++)
            for (int y = 0; y < 2 * h; y++)
                for (int xx = 0; xx < 2 * w; xx++) o[(p * 2 * h + y) * 2 * w + xx] = xf[(p * h + y / 2) * w + xx / 2];
    }

    @Override
    public void channelsToTokens(Tensor out, Tensor x) {
        float[] o = f(out), xf = f(x);
        int bs = x.dim(0), c = x.dim(1), n = (int) x.shape().numelFrom(2);
        for (int b = 0; b < bs; b++)
            for (int ch = 0; ch < c; ch++)
                for (int t = 0; t < n; t++) o[(b * n + t) * c + ch] = xf[(b * c + ch) * n + t];
    }

    @Override
    public void tokensToChannels(Tensor out, Tensor tokens, Tensor residual) {
        float[] o = f(out), tf = f(tokens), rf = residual == null ? null : f(residual);
        int bs = out.dim(0), c = out.dim(1), n = (int) out.shape().numelFrom(2);
        for (int b = 0; b < bs; b++)
            for (int ch = 0; ch < c; ch++)
                for (int t = 0; t < n; t++) {
                    int idx = (b * c + ch) * n + t;
                    double v = tf[(b * n + t) * c + ch];
                    o[idx] = (float) (rf == null ? v : v + rf[idx]);
                }
    }

    @Override
    public void channelAffine(Tensor out, Tensor x, float[] mul, float div, float[] add) {
        float[] o = f(out), xf = f(x);
        int c = x.dim(1), per = (int) x.shape().numelFrom(2);
        for (int i = 0; i < x.numel(); i++) {
            int ch = (i / per) % c;
            o[i] = (float) ((double) xf[i] * mul[ch] / div + add[ch]);
        }
    }

    @Override
    public void cfgCombine(Tensor out, Tensor modelOut, int guidedChannels, float scale) {
        float[] o = f(out), m = f(modelOut);
        int c = out.dim(1), mc = modelOut.dim(1), per = (int) out.shape().numelFrom(2), half = modelOut.dim(0) / 2;
        for (int i = 0; i < out.numel(); i++) {
            int b = i / (c * per), ch = (i / per) % c, s = i % per;
            if (ch < guidedChannels) {
                double cond = m[((b % half) * mc + ch) * per + s], uncond = m[((half + b % half) * mc + ch) * per + s];
                o[i] = (float) (uncond + scale * (cond - uncond));
            } else {
                o[i] = m[(b * mc + ch) * per + s];
            }
        }
    }

    @Override
    public void scaledAdd(Tensor out, float a, Tensor x, float b, Tensor y) {
        float[] o = f(out), xf = f(x), yf = f(y);
        for (int i = 0; i < out.numel(); i++) o[i] = (float) ((double) a * xf[i] + (double) b * yf[i]);
    }

    @Override
    public void maskBlend(Tensor x, Tensor keep, Tensor mask) {
        float[] xf = f(x), k = f(keep), m = f(mask);
        for (int i = 0; i < x.numel(); i++) xf[i] = (float) ((1.0 - m[i]) * k[i] + (double) m[i] * xf[i]);
    }

    @Override
    public void ddpmStep(Tensor x, Tensor modelOut, Tensor noise, DdpmCoefficients k) {
        float[] xf = f(x), m = f(modelOut), z = noise == null ? null : f(noise);
        int c = x.dim(1), per = (int) x.shape().numelFrom(2), oc = modelOut.dim(1);
        for (int i = 0; i < x.numel(); i++) {
            int b = i / (c * per), ch = (i / per) % c, s = i % per;
            double xv = xf[i], eps = m[(b * oc + ch) * per + s];
            double x0 = (double) k.sqrtRecipAlphasCumprod() * xv - (double) k.sqrtRecipm1AlphasCumprod() * eps;
            double mean = (double) k.posteriorMeanCoef1() * x0 + (double) k.posteriorMeanCoef2() * xv;
            double logVar = k.fixedLogVariance();
            if (k.learnedVariance()) {
                double frac = (m[(b * oc + c + ch) * per + s] + 1.0) / 2;
                logVar = frac * k.maxLog() + (1 - frac) * k.minLog();
            }
            xf[i] = (float) (k.addNoise() ? mean + Math.exp(0.5 * logVar) * z[i] : mean);
        }
    }

    @Override
    public void ddimStep(Tensor x, Tensor modelOut, Tensor noise, DdimCoefficients k) {
        float[] xf = f(x), m = f(modelOut), z = noise == null ? null : f(noise);
        int c = x.dim(1), per = (int) x.shape().numelFrom(2), oc = modelOut.dim(1);
        for (int i = 0; i < x.numel(); i++) {
            int b = i / (c * per), ch = (i / per) % c, s = i % per;
            double xv = xf[i], eps = m[(b * oc + ch) * per + s];
            double x0 = (double) k.sqrtRecipAlphasCumprod() * xv - (double) k.sqrtRecipm1AlphasCumprod() * eps;
            double e = ((double) k.sqrtRecipAlphasCumprod() * xv - x0) / k.sqrtRecipm1AlphasCumprod();
            double mp = x0 * k.sqrtAlphasCumprodPrev() + (double) k.sqrtOneMinusPrevMinusSigma2() * e;
            xf[i] = (float) (k.addNoise() ? mp + (double) k.sigma() * z[i] : mp);
        }
    }

    @Override
    public void dpmSolverStep(Tensor x, Tensor modelOut, Tensor x0, Tensor x0Prev, DpmSolverCoefficients k) {
        float[] xf = f(x), m = f(modelOut), d0 = f(x0), d1 = k.secondOrder() ? f(x0Prev) : null;
        int c = x.dim(1), per = (int) x.shape().numelFrom(2), oc = modelOut.dim(1);
        for (int i = 0; i < x.numel(); i++) {
            int b = i / (c * per), ch = (i / per) % c, s = i % per;
            double xv = xf[i];
            double pred = (xv - (double) k.sigmaS() * m[(b * oc + ch) * per + s]) / k.alphaS();
            d0[i] = (float) pred;
            double next = (double) k.ratio() * xv - (double) k.a() * pred;
            if (k.secondOrder()) next -= 0.5 * k.a() * ((double) k.invR0() * (pred - d1[i]));
            xf[i] = (float) next;
        }
    }
}
