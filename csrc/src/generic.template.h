/*
 * generic.template.h -- the direct convolution that handles every valid
 * shape: one output row (batch, channel, depth, height) per iteration,
 * accumulated tap by tap over the whole row so the compiler can vectorise
 * along the width.  Included by generic.c with TYPE and SFX defined.
 *
 * Each output element is bias + the sum over (input channel, kd, kh, kw) in
 * that order, computed by exactly one thread: results do not depend on the
 * thread count.
 */
#define FN(name) GCONV_CAT(name, SFX)

static int FN(generic_supports)(const gconv_shape *s, gconv_isa_level isa)
{
    (void)s;
    (void)isa;
    return 1;
}

static int64_t FN(generic_packed_size)(const gconv_shape *s, gconv_isa_level isa)
{
    (void)s;
    (void)isa;
    return 0;  /* runs on the weight as given */
}

static void FN(generic_pack)(const gconv_shape *s, gconv_isa_level isa,
                             const TYPE *weight, TYPE *packed)
{
    (void)s;
    (void)isa;
    (void)weight;
    (void)packed;
}

/* First and one-past-last output index o with 0 <= o * stride + offset < n
   (lo may exceed nout; then the range is empty).  Written so that no
   intermediate overflows for any stride a valid shape allows (up to
   INT64_MAX). */
static void FN(valid_range)(int64_t offset, int64_t stride, int64_t n, int64_t nout,
                            int64_t *lo, int64_t *hi)
{
    int64_t a = offset >= 0 ? 0 : (-offset - 1) / stride + 1;
    int64_t b = n - 1 - offset < 0 ? 0 : (n - 1 - offset) / stride + 1;
    if (b > nout)
        b = nout;
    *lo = a;
    *hi = b > a ? b : a;
}

/* Zero padding is arithmetic on real zeros: a tap over the padding adds
   w * 0, which is 0 for a finite weight (skipped) and NaN for an infinite or
   NaN one (added, when the entry point found such a weight: the shape's
   nonfinite_over_padding).  The same rule holds in every backend (README,
   Security). */
#define GCONV_NONFINITE(v) (!isfinite(v))

#ifndef GCONV_INLINE
#  if defined(__GNUC__) || defined(__clang__)
#    define GCONV_INLINE inline __attribute__((always_inline))
#  else
#    define GCONV_INLINE inline
#  endif
#endif

/* One output row r (batch, channel, depth, height).  pad_nan is a constant
   at each call site, so the common case carries no test for it. */
static GCONV_INLINE void FN(generic_row)(const gconv_shape *s, const TYPE *weight,
                                         const TYPE *bias, const TYPE *input,
                                         TYPE *output, int64_t r, const int pad_nan)
{
    const int64_t od_n = s->out[0], oh_n = s->out[1], ow_n = s->out[2];
    const int64_t in_d = s->in[0], in_h = s->in[1], in_w = s->in[2];
    const int64_t kd_n = s->k[0], kh_n = s->k[1], kw_n = s->k[2];
    int64_t t = r;
    const int64_t oh = t % oh_n;
    t /= oh_n;
    const int64_t od = t % od_n;
    t /= od_n;
    const int64_t oc = t % s->out_channels;
    const int64_t n = t / s->out_channels;
    const int64_t g = oc / s->cout_g;
    TYPE *y = output + r * ow_n;
    const TYPE b0 = bias != NULL ? bias[oc] : (TYPE)0;
    for (int64_t ow = 0; ow < ow_n; ow++)
        y[ow] = b0;

    for (int64_t c = 0; c < s->cin_g; c++) {
        const TYPE *xc = input + (n * s->in_channels + g * s->cin_g + c) * s->in_plane;
        const TYPE *wc = weight + (oc * s->cin_g + c) * s->k_volume;
        for (int64_t kd = 0; kd < kd_n; kd++) {
            const int64_t id = od * s->stride[0] - s->pad[0] + kd * s->dil[0];
            const int d_inside = id >= 0 && id < in_d;
            if (!d_inside && !pad_nan)
                continue;
            for (int64_t kh = 0; kh < kh_n; kh++) {
                const int64_t ih = oh * s->stride[1] - s->pad[1] + kh * s->dil[1];
                const TYPE *w = wc + (kd * kh_n + kh) * kw_n;
                if (!d_inside || ih < 0 || ih >= in_h) {
                    /* every tap of this row lies on the padding */
                    for (int64_t kw = 0; pad_nan && kw < kw_n; kw++) {
                        if (GCONV_NONFINITE(w[kw])) {
                            const TYPE pv = w[kw] * (TYPE)0;
                            for (int64_t ow = 0; ow < ow_n; ow++)
                                y[ow] += pv;
                        }
                    }
                    continue;
                }
                const TYPE *x = xc + (id * in_h + ih) * in_w;
                for (int64_t kw = 0; kw < kw_n; kw++) {
                    const TYPE wv = w[kw];
                    const int64_t off = kw * s->dil[2] - s->pad[2];
                    const int64_t sw = s->stride[2];
                    int64_t lo, hi;
                    FN(valid_range)(off, sw, in_w, ow_n, &lo, &hi);
                    if (pad_nan && GCONV_NONFINITE(wv)) {
                        const TYPE pv = wv * (TYPE)0;
                        for (int64_t ow = 0; ow < lo && ow < ow_n; ow++)
                            y[ow] += pv;
                        for (int64_t ow = hi > lo ? hi : lo; ow < ow_n; ow++)
                            y[ow] += pv;
                    }
                    if (sw == 1) {
                        /* x + off may point before the row: index instead */
                        for (int64_t ow = lo; ow < hi; ow++)
                            y[ow] += wv * x[ow + off];
                    } else {
                        for (int64_t ow = lo; ow < hi; ow++)
                            y[ow] += wv * x[ow * sw + off];
                    }
                }
            }
        }
    }
}

static gconv_status FN(generic_run)(const gconv_shape *s, gconv_isa_level isa,
                                    const TYPE *weight, const TYPE *bias,
                                    const TYPE *input, TYPE *output, int threads)
{
    (void)isa;
    (void)threads;   /* used only by the OpenMP pragma */
    const int64_t rows = s->batch * s->out_channels * s->out[0] * s->out[1];
    const int pad_nan = s->nonfinite_over_padding;

    GCONV_PRAGMA(omp parallel for num_threads(threads) schedule(static))
    for (int64_t r = 0; r < rows; r++) {
        if (pad_nan)
            FN(generic_row)(s, weight, bias, input, output, r, 1);
        else
            FN(generic_row)(s, weight, bias, input, output, r, 0);
    }
    return GCONV_OK;
}

const GCONV_CAT(gconv_kernel, SFX) GCONV_CAT(gconv__generic, SFX) = {
    "generic",
    FN(generic_supports),
    FN(generic_packed_size),
    FN(generic_pack),
    FN(generic_run),
    1,
};

#undef GCONV_NONFINITE
#undef FN
