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

/* First and one-past-last output index o with 0 <= o * stride + offset < n. */
static void FN(valid_range)(int64_t offset, int64_t stride, int64_t n, int64_t nout,
                            int64_t *lo, int64_t *hi)
{
    int64_t a = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    int64_t b = n - 1 - offset < 0 ? 0 : (n - 1 - offset) / stride + 1;
    if (b > nout)
        b = nout;
    *lo = a;
    *hi = b > a ? b : a;
}

static gconv_status FN(generic_run)(const gconv_shape *s, gconv_isa_level isa,
                                    const TYPE *weight, const TYPE *bias,
                                    const TYPE *input, TYPE *output, int threads)
{
    (void)isa;
    (void)threads;  /* unused without OpenMP */
    const int64_t rows = s->batch * s->out_channels * s->out[0] * s->out[1];
    const int64_t od_n = s->out[0], oh_n = s->out[1], ow_n = s->out[2];
    const int64_t in_d = s->in[0], in_h = s->in[1], in_w = s->in[2];
    const int64_t kd_n = s->k[0], kh_n = s->k[1], kw_n = s->k[2];

    GCONV_PRAGMA(omp parallel for num_threads(threads) schedule(static))
    for (int64_t r = 0; r < rows; r++) {
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
                if (id < 0 || id >= in_d)
                    continue;
                for (int64_t kh = 0; kh < kh_n; kh++) {
                    const int64_t ih = oh * s->stride[1] - s->pad[1] + kh * s->dil[1];
                    if (ih < 0 || ih >= in_h)
                        continue;
                    const TYPE *x = xc + (id * in_h + ih) * in_w;
                    const TYPE *w = wc + (kd * kh_n + kh) * kw_n;
                    for (int64_t kw = 0; kw < kw_n; kw++) {
                        const TYPE wv = w[kw];
                        const int64_t off = kw * s->dil[2] - s->pad[2];
                        const int64_t sw = s->stride[2];
                        int64_t lo, hi;
                        FN(valid_range)(off, sw, in_w, ow_n, &lo, &hi);
                        if (sw == 1) {
                            const TYPE *xs = x + off;
                            for (int64_t ow = lo; ow < hi; ow++)
                                y[ow] += wv * xs[ow];
                        } else {
                            for (int64_t ow = lo; ow < hi; ow++)
                                y[ow] += wv * x[ow * sw + off];
                        }
                    }
                }
            }
        }
    }
    return GCONV_OK;
}

const GCONV_CAT(gconv_kernel, SFX) GCONV_CAT(gconv__generic, SFX) = {
    "generic",
    FN(generic_supports),
    FN(generic_packed_size),
    FN(generic_pack),
    FN(generic_run),
};

#undef FN
