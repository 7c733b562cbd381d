/*
 * api.template.h -- the typed public entry points, written once for float
 * and double.  Included by api.c with TYPE (float or double) and SFX (f32 or
 * f64) defined; not a header of its own.
 */
#define KERNEL GCONV_CAT(gconv_kernel, SFX)
#define KERNELS GCONV_CAT(gconv__kernels, SFX)
#define FN(name) GCONV_CAT(name, SFX)

/* Whether any of w[0..n) is infinite or NaN.  The exponent bits, all ones
   for Inf and NaN, tested in blocks without an early exit inside a block:
   the compiler vectorises the block loop (a scalar isfinite() loop cost a
   tenth of a call on large weights). */
int GCONV_CAT(gconv__nonfinite, SFX)(const TYPE *w, int64_t n)
{
    const UTYPE exp_mask = EXP_MASK;
    for (int64_t i0 = 0; i0 < n; i0 += 4096) {
        const int64_t m = n - i0 < 4096 ? n - i0 : 4096;
        UTYPE bad = 0;
        for (int64_t i = 0; i < m; i++) {
            UTYPE u;
            memcpy(&u, w + i0 + i, sizeof u);
            bad |= (UTYPE)((u & exp_mask) == exp_mask);
        }
        if (bad)
            return 1;
    }
    return 0;
}

/* Whether a weight with an infinite or NaN value meets zero padding.  The
   padding rule (a tap over the padding adds w * 0, NaN for such a weight) is
   then left to the generic kernel, so that kernels that skip the padding
   need not carry it. */
static int FN(nonfinite_over_padding)(const gconv_shape *s, const TYPE *weight)
{
    int padded = 0;
    for (int j = 0; j < 3; j++)
        padded |= s->pad[j] > 0 || s->pad_after[j] > 0;
    if (!padded || weight == NULL)
        return 0;
    return GCONV_CAT(gconv__nonfinite, SFX)(weight, s->weight_elements);
}

static const KERNEL *FN(select_kernel)(gconv_shape *s, gconv_isa_level isa,
                                       const TYPE *weight)
{
    s->nonfinite_over_padding = 0;
    for (const KERNEL *const *k = KERNELS; *k != NULL; k++) {
        if (!(*k)->supports(s, isa))
            continue;
        if ((*k)->skips_padding) {
            s->nonfinite_over_padding = FN(nonfinite_over_padding)(s, weight);
            if (s->nonfinite_over_padding)
                return &GCONV_CAT(gconv__generic, SFX);
        }
        return *k;
    }
    return NULL;  /* unreachable: the generic kernel supports every shape */
}

gconv_status FN(gconv_conv)(const gconv_params *params,
                            const TYPE *input, size_t input_len,
                            const TYPE *weight, size_t weight_len,
                            const TYPE *bias, size_t bias_len,
                            TYPE *output, size_t output_len,
                            int num_threads)
{
    gconv_shape s;
    gconv_status st = gconv__validate(params, &s, NULL, 0);
    if (st != GCONV_OK)
        return st;
    st = check_buffers(&s, sizeof(TYPE), input, input_len, weight, weight_len,
                       bias, bias_len, output, output_len);
    if (st != GCONV_OK || s.batch == 0)
        return st;

    gconv_isa_level isa = gconv__isa_level();
    const KERNEL *kern = FN(select_kernel)(&s, isa, weight);
    if (kern == NULL)
        return GCONV_ERR_SHAPE;
    int64_t packed_n = kern->packed_size(&s, isa);
    TYPE *packed = NULL;
    if (packed_n > 0) {
        packed = (TYPE *)gconv__alloc(packed_n, sizeof(TYPE));
        if (packed == NULL)
            return GCONV_ERR_NO_MEMORY;
        kern->pack(&s, isa, weight, packed);
    }
    st = kern->run(&s, isa, packed_n > 0 ? packed : weight, bias, input, output,
                   gconv__threads_for(&s, num_threads));
    gconv__free(packed);
    return st;
}

gconv_status FN(gconv_plan_create)(const gconv_params *params,
                                   const TYPE *weight, size_t weight_len,
                                   const TYPE *bias, size_t bias_len,
                                   gconv_plan **plan)
{
    if (plan == NULL)
        return GCONV_ERR_NULL_POINTER;
    *plan = NULL;
    gconv_shape s;
    gconv_status st = gconv__validate(params, &s, NULL, 0);
    if (st != GCONV_OK)
        return st;
    if (weight == NULL)
        return GCONV_ERR_NULL_POINTER;
    if (weight_len != (size_t)s.weight_elements ||
        (bias != NULL && bias_len != (size_t)s.out_channels))
        return GCONV_ERR_BUFFER_SIZE;

    gconv_isa_level isa = gconv__isa_level();
    const KERNEL *kern = FN(select_kernel)(&s, isa, weight);
    if (kern == NULL)
        return GCONV_ERR_SHAPE;
    gconv_plan *p = (gconv_plan *)calloc(1, sizeof *p);
    if (p == NULL)
        return GCONV_ERR_NO_MEMORY;
    int64_t packed_n = kern->packed_size(&s, isa);
    p->shape = s;
    p->elem_size = sizeof(TYPE);
    p->isa = isa;
    p->kernel = kern;
    p->weights = gconv__alloc(packed_n > 0 ? packed_n : s.weight_elements, sizeof(TYPE));
    if (bias != NULL)
        p->bias = gconv__alloc(s.out_channels, sizeof(TYPE));
    if (p->weights == NULL || (bias != NULL && p->bias == NULL)) {
        gconv_plan_destroy(p);
        return GCONV_ERR_NO_MEMORY;
    }
    if (packed_n > 0)
        kern->pack(&s, isa, weight, (TYPE *)p->weights);
    else
        memcpy(p->weights, weight, (size_t)s.weight_elements * sizeof(TYPE));
    if (bias != NULL)
        memcpy(p->bias, bias, (size_t)s.out_channels * sizeof(TYPE));
    *plan = p;
    return GCONV_OK;
}

gconv_status FN(gconv_plan_execute)(const gconv_plan *plan, int64_t batch,
                                    const TYPE *input, size_t input_len,
                                    TYPE *output, size_t output_len,
                                    int num_threads)
{
    if (plan == NULL)
        return GCONV_ERR_NULL_POINTER;
    if (plan->elem_size != sizeof(TYPE))
        return GCONV_ERR_DTYPE;
    gconv_shape s = plan->shape;
    gconv_status st = gconv__shape_with_batch(&s, batch);
    if (st != GCONV_OK)
        return st;
    st = check_buffers(&s, sizeof(TYPE), input, input_len, plan->weights,
                       (size_t)s.weight_elements, plan->bias, (size_t)s.out_channels,
                       output, output_len);
    if (st != GCONV_OK || s.batch == 0)
        return st;
    const KERNEL *kern = (const KERNEL *)plan->kernel;
    return kern->run(&s, plan->isa, (const TYPE *)plan->weights,
                     (const TYPE *)plan->bias, input, output,
                     gconv__threads_for(&s, num_threads));
}

#undef KERNEL
#undef KERNELS
#undef FN
