package dev.panthera.tensor.spi;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Storage;
import java.lang.foreign.MemorySegment;

/**
 * The reference backend's fused kernels (see {@link FusedKernels} for each contract): plain loops over strided
 * elements in double precision, rounding once on store. Backward kernels accumulate in double arrays and store at
 * the end.
 */
final class ReferenceFused {
    private ReferenceFused() {}

    private static double get(Storage s, long i) {
        return Elements.get(s.segment(), s.dtype(), i);
    }

    private static void set(Storage s, long i, double v) {
        Elements.set(s.segment(), s.dtype(), i, v);
    }

    static void softmax(Storage src, Layout sl, int dim, boolean log, Storage dst, Layout dl) {
        long len = sl.shape().dim(dim), ss = sl.stride(dim), sd = dl.stride(dim);
        StridedCursor cs = new StridedCursor(ReferenceBackend.rowsOf(sl, dim)),
                cd = new StridedCursor(ReferenceBackend.rowsOf(dl, dim));
        double[] row = new double[Math.toIntExact(len)];
        for (long r = 0, rows = sl.numel() / Math.max(len, 1); r < rows && len > 0; r++) {
            long so = cs.next(), dO = cd.next();
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < len; i++) {
                row[i] = get(src, so + i * ss);
                max = Math.max(max, row[i]);
            }
            if (Double.isInfinite(max) && max < 0) max = 0; // an all -inf row gives NaN below, as in PyTorch
            double sum = 0;
            for (int i = 0; i < len; i++) sum += Math.exp(row[i] - max);
            for (int i = 0; i < len; i++) {
                set(dst, dO + i * sd, log ? row[i] - max - Math.log(sum) : Math.exp(row[i] - max) / sum);
            }
        }
    }

    /** The softmax backward of {@link FusedKernels#softmaxBackward} in float64, each result rounded once. */
    static void softmaxBackward(
            Storage out, Layout ol, Storage g, Layout gl, int dim, boolean log, Storage dx, Layout dxl) {
        long len = ol.shape().dim(dim), so = ol.stride(dim), sg = gl.stride(dim), sd = dxl.stride(dim);
        StridedCursor co = new StridedCursor(ReferenceBackend.rowsOf(ol, dim)),
                cg = new StridedCursor(ReferenceBackend.rowsOf(gl, dim)),
                cd = new StridedCursor(ReferenceBackend.rowsOf(dxl, dim));
        for (long r = 0, rows = ol.numel() / Math.max(len, 1); r < rows && len > 0; r++) {
            long oo = co.next(), go = cg.next(), dO = cd.next();
            double sum = 0;
            for (long i = 0; i < len; i++)
                sum += log ? get(g, go + i * sg) : get(g, go + i * sg) * get(out, oo + i * so);
            for (long i = 0; i < len; i++) {
                double o = get(out, oo + i * so), gi = get(g, go + i * sg);
                set(dx, dO + i * sd, log ? gi - Math.exp(o) * sum : o * (gi - sum));
            }
        }
    }

    /** Mean (0 for rms) and 1/sqrt(variance + eps) (mean square for rms) of one row already read into {@code row}. */
    private static double[] moments(double[] row, int len, double eps, boolean rms) {
        double mean = 0, sq = 0;
        if (!rms) {
            for (int i = 0; i < len; i++) mean += row[i];
            mean /= len;
        }
        for (int i = 0; i < len; i++) sq += (row[i] - mean) * (row[i] - mean);
        return new double[] {mean, 1.0 / Math.sqrt(sq / len + eps)};
    }

    private static double param(Storage p, Layout pl, long i) {
        return get(p, pl.offset() + i * pl.stride(0));
    }

    static void norm(
            Storage x,
            Layout xl,
            Storage w,
            Layout wl,
            Storage b,
            Layout bl,
            double eps,
            Storage dst,
            Layout dl,
            boolean rms) {
        int last = xl.rank() - 1;
        int len = Math.toIntExact(xl.shape().dim(last));
        long sx = xl.stride(last), sd = dl.stride(last);
        StridedCursor cx = new StridedCursor(ReferenceBackend.rowsOf(xl, last)),
                cd = new StridedCursor(ReferenceBackend.rowsOf(dl, last));
        double[] row = new double[len];
        for (long r = 0, rows = len == 0 ? 0 : xl.numel() / len; r < rows; r++) {
            long xo = cx.next(), dO = cd.next();
            for (int i = 0; i < len; i++) row[i] = get(x, xo + i * sx);
            double[] m = moments(row, len, eps, rms);
            for (int i = 0; i < len; i++) {
                double v = (row[i] - m[0]) * m[1];
                if (w != null) v *= param(w, wl, i);
                if (b != null) v += param(b, bl, i);
                set(dst, dO + i * sd, v);
            }
        }
    }

    /** dx = g·σ(x)·(1 + x·(1 − σ(x))) in float64, rounded once to dx's dtype. */
    static void siluBackward(Storage x, Layout xl, Storage g, Layout gl, Storage dx, Layout dxl) {
        StridedCursor cx = new StridedCursor(xl), cg = new StridedCursor(gl), cd = new StridedCursor(dxl);
        for (long i = 0, n = xl.numel(); i < n; i++) {
            double v = get(x, cx.next()), s = 1 / (1 + Math.exp(-v));
            set(dx, cd.next(), get(g, cg.next()) * s * (1 + v * (1 - s)));
        }
    }

    static void normBackward(
            Storage x,
            Layout xl,
            Storage w,
            Layout wl,
            Storage dy,
            Layout dyl,
            double eps,
            boolean rms,
            Storage dx,
            Layout dxl,
            Storage dw,
            Layout dwl,
            Storage db,
            Layout dbl) {
        int last = xl.rank() - 1;
        int len = Math.toIntExact(xl.shape().dim(last));
        long sx = xl.stride(last), sy = dyl.stride(last), sd = dxl.stride(last);
        StridedCursor cx = new StridedCursor(ReferenceBackend.rowsOf(xl, last)),
                cy = new StridedCursor(ReferenceBackend.rowsOf(dyl, last)),
                cd = new StridedCursor(ReferenceBackend.rowsOf(dxl, last));
        double[] row = new double[len], xhat = new double[len], g = new double[len];
        double[] gw = new double[len], gb = new double[len];
        for (long r = 0, rows = len == 0 ? 0 : xl.numel() / len; r < rows; r++) {
            long xo = cx.next(), yo = cy.next(), dO = cd.next();
            for (int i = 0; i < len; i++) row[i] = get(x, xo + i * sx);
            double[] m = moments(row, len, eps, rms);
            double meanG = 0, meanGx = 0;
            for (int i = 0; i < len; i++) {
                double d = get(dy, yo + i * sy);
                xhat[i] = (row[i] - m[0]) * m[1];
                g[i] = w == null ? d : d * param(w, wl, i);
                meanG += g[i];
                meanGx += g[i] * xhat[i];
                gw[i] += d * xhat[i];
                gb[i] += d;
            }
            meanG = rms ? 0 : meanG / len;
            meanGx /= len;
            for (int i = 0; i < len; i++) set(dx, dO + i * sd, m[1] * (g[i] - meanG - xhat[i] * meanGx));
        }
        for (int i = 0; i < len; i++) {
            if (dw != null) set(dw, dwl.offset() + i * dwl.stride(0), gw[i]);
            if (db != null) set(db, dbl.offset() + i * dbl.stride(0), gb[i]);
        }
    }

    static void rope(
            Storage x,
            Layout xl,
            Storage cos,
            Layout cl,
            Storage sin,
            Layout sl,
            boolean interleaved,
            Storage dst,
            Layout dl) {
        int r = xl.rank();
        long seq = xl.shape().dim(r - 2), d = xl.shape().dim(r - 1), half = d / 2;
        long sx = xl.stride(r - 1), sd = dl.stride(r - 1), sxs = xl.stride(r - 2), sds = dl.stride(r - 2);
        Layout xOuter = ReferenceBackend.rowsOf(ReferenceBackend.rowsOf(xl, r - 1), r - 2),
                dOuter = ReferenceBackend.rowsOf(ReferenceBackend.rowsOf(dl, r - 1), r - 2);
        StridedCursor cx = new StridedCursor(xOuter), cd = new StridedCursor(dOuter);
        for (long o = 0, outer = xOuter.numel(); o < outer; o++) {
            long xo = cx.next(), dO = cd.next();
            for (long p = 0; p < seq; p++) {
                for (long i = 0; i < half; i++) {
                    double c = get(cos, cl.offset() + p * cl.stride(0) + i * cl.stride(1));
                    double s = get(sin, sl.offset() + p * sl.stride(0) + i * sl.stride(1));
                    long ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + half;
                    double a = get(x, xo + p * sxs + ia * sx), b = get(x, xo + p * sxs + ib * sx);
                    set(dst, dO + p * sds + ia * sd, a * c - b * s);
                    set(dst, dO + p * sds + ib * sd, a * s + b * c);
                }
            }
        }
    }

    /** The shapes of one attention call, read from the layouts. */
    private record Dims(long b, long hq, long lq, long d, long hkv, long lk, long dv) {
        static Dims of(Layout ql, Layout kl, Layout vl) {
            return new Dims(
                    ql.shape().dim(0),
                    ql.shape().dim(1),
                    ql.shape().dim(2),
                    ql.shape().dim(3),
                    kl.shape().dim(1),
                    kl.shape().dim(2),
                    vl.shape().dim(3));
        }

        long group() {
            return hq / hkv;
        }

        /** Keys 0..visible-1 are not hidden by the causal rule for query row i. */
        long visible(long i, boolean causal) {
            return causal ? Math.max(0, Math.min(lk, i + lk - lq + 1)) : lk;
        }
    }

    /**
     * The scores q_i·k_j·scale + mask_ij of one query row into {@code s} for the causally visible keys (−∞ where the
     * mask hides a key); returns their log-sum-exp (−∞ when every key is hidden).
     */
    private static double scores(
            Storage q,
            Layout ql,
            Storage k,
            Layout kl,
            Storage mask,
            Layout ml,
            double scale,
            Dims n,
            long bi,
            long h,
            long i,
            long visible,
            double[] s) {
        long kh = h / n.group();
        double max = Double.NEGATIVE_INFINITY;
        for (long j = 0; j < visible; j++) {
            double add = mask == null ? 0 : get(mask, ml.indexOf(bi, h, i, j));
            double dot = 0;
            if (add != Double.NEGATIVE_INFINITY) {
                for (long e = 0; e < n.d(); e++)
                    dot += get(q, ql.indexOf(bi, h, i, e)) * get(k, kl.indexOf(bi, kh, j, e));
            }
            s[(int) j] = add == Double.NEGATIVE_INFINITY ? add : dot * scale + add;
            max = Math.max(max, s[(int) j]);
        }
        if (max == Double.NEGATIVE_INFINITY) return max;
        double sum = 0;
        for (long j = 0; j < visible; j++) sum += Math.exp(s[(int) j] - max);
        return max + Math.log(sum);
    }

    static void attention(
            Storage q,
            Layout ql,
            Storage k,
            Layout kl,
            Storage v,
            Layout vl,
            Storage mask,
            Layout ml,
            boolean causal,
            double scale,
            Storage dst,
            Layout dl,
            Storage lse,
            Layout lsel) {
        Dims n = Dims.of(ql, kl, vl);
        double[] s = new double[Math.toIntExact(n.lk())];
        for (long bi = 0; bi < n.b(); bi++) {
            for (long h = 0; h < n.hq(); h++) {
                long kh = h / n.group();
                for (long i = 0; i < n.lq(); i++) {
                    long visible = n.visible(i, causal);
                    double l = scores(q, ql, k, kl, mask, ml, scale, n, bi, h, i, visible, s);
                    if (lse != null) set(lse, lsel.indexOf(bi, h, i), l);
                    for (long e = 0; e < n.dv(); e++) {
                        double acc = 0;
                        for (long j = 0; j < visible; j++) {
                            if (s[(int) j] != Double.NEGATIVE_INFINITY)
                                acc += Math.exp(s[(int) j] - l) * get(v, vl.indexOf(bi, kh, j, e));
                        }
                        set(dst, dl.indexOf(bi, h, i, e), l == Double.NEGATIVE_INFINITY ? Double.NaN : acc);
                    }
                }
            }
        }
    }

    static void attentionBackward(
            Storage q,
            Layout ql,
            Storage k,
            Layout kl,
            Storage v,
            Layout vl,
            Storage mask,
            Layout ml,
            boolean causal,
            double scale,
            Storage out,
            Layout ol,
            Storage lse,
            Layout lsel,
            Storage dOut,
            Layout dol,
            Storage dq,
            Layout dql,
            Storage dk,
            Layout dkl,
            Storage dv,
            Layout dvl) {
        Dims n = Dims.of(ql, kl, vl);
        Layout cq = Layout.contiguous(ql.shape()),
                ck = Layout.contiguous(kl.shape()),
                cv = Layout.contiguous(vl.shape());
        double[] gq = new double[Math.toIntExact(ql.numel())],
                gk = new double[Math.toIntExact(kl.numel())],
                gv = new double[Math.toIntExact(vl.numel())];
        double[] s = new double[Math.toIntExact(n.lk())];
        for (long bi = 0; bi < n.b(); bi++) {
            for (long h = 0; h < n.hq(); h++) {
                long kh = h / n.group();
                for (long i = 0; i < n.lq(); i++) {
                    long visible = n.visible(i, causal);
                    double l = get(lse, lsel.indexOf(bi, h, i));
                    if (l == Double.NEGATIVE_INFINITY) continue; // a row that sees no key has no gradient
                    scores(q, ql, k, kl, mask, ml, scale, n, bi, h, i, visible, s);
                    double delta = 0; // rowsum(dO ∘ O)
                    for (long e = 0; e < n.dv(); e++)
                        delta += get(dOut, dol.indexOf(bi, h, i, e)) * get(out, ol.indexOf(bi, h, i, e));
                    for (long j = 0; j < visible; j++) {
                        if (s[(int) j] == Double.NEGATIVE_INFINITY) continue;
                        double p = Math.exp(s[(int) j] - l), dp = 0;
                        for (long e = 0; e < n.dv(); e++) {
                            double go = get(dOut, dol.indexOf(bi, h, i, e));
                            dp += go * get(v, vl.indexOf(bi, kh, j, e));
                            gv[(int) cv.indexOf(bi, kh, j, e)] += p * go;
                        }
                        double ds = p * (dp - delta) * scale;
                        for (long e = 0; e < n.d(); e++) {
                            gq[(int) cq.indexOf(bi, h, i, e)] += ds * get(k, kl.indexOf(bi, kh, j, e));
                            gk[(int) ck.indexOf(bi, kh, j, e)] += ds * get(q, ql.indexOf(bi, h, i, e));
                        }
                    }
                }
            }
        }
        store(gq, dq, dql);
        store(gk, dk, dkl);
        store(gv, dv, dvl);
    }

    /** Row-major values into a (contiguous) destination, or nothing when it is not wanted. */
    private static void store(double[] values, Storage dst, Layout dl) {
        if (dst == null) return;
        MemorySegment seg = dst.segment();
        DType t = dst.dtype();
        StridedCursor c = new StridedCursor(dl);
        for (double value : values) Elements.set(seg, t, c.next(), value);
    }
}
