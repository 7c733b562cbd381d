/*
 * depthwise.template.h -- the depthwise kernel family for one element type.
 * Included by depthwise.c with TYPE, SFX and DW_DOUBLE defined; includes
 * depthwise_isa.template.h once per vector path.
 */
#define FN(name) GCONV_CAT(name, SFX)
#define DW_ARGS FN(dw_args)

/* One call of a row kernel: R consecutive output rows (one depth slice) of
   one output channel, the taps of one filter depth slice kd. */
typedef struct DW_ARGS {
    const TYPE *xr[DW_NI_MAX];  /* specialised: input row oh0*S - ph + i, or NULL */
    TYPE *yr[DW_RMAX];          /* the R output rows */
    const TYPE *slice;          /* general: the input depth slice */
    const TYPE *w;              /* filter taps (kh, kw) of slice kd */
    TYPE bias;
    int first;                  /* start from the bias (else from yr) */
    int R;
    int64_t oh0;                /* first output row (general kernel) */
    const dw_geom *g;
} DW_ARGS;

typedef void (*FN(dw_task_fn))(const dw_geom *g, const TYPE *w, const TYPE *b,
                               const TYPE *x, TYPE *y, int64_t n, int64_t grp,
                               int64_t m0, int64_t m1, int64_t r0, int64_t r1);

#if DW_X86
#  define DW_ISA DW_ISA_AVX512
#  include "depthwise_isa.template.h"
#  undef DW_ISA
#  define DW_ISA DW_ISA_AVX2
#  include "depthwise_isa.template.h"
#  undef DW_ISA
#endif
#define DW_ISA DW_ISA_GENERIC
#include "depthwise_isa.template.h"
#undef DW_ISA

static int FN(dw_supports)(const gconv_shape *s, gconv_isa_level isa)
{
    (void)isa;
    return s->cin_g == 1;
}

static int64_t FN(dw_packed_size)(const gconv_shape *s, gconv_isa_level isa)
{
    (void)s;
    (void)isa;
    return 0;  /* the filters are read as given, broadcast tap by tap */
}

static void FN(dw_pack)(const gconv_shape *s, gconv_isa_level isa,
                        const TYPE *weight, TYPE *packed)
{
    (void)s;
    (void)isa;
    (void)weight;
    (void)packed;
}

static gconv_status FN(dw_run)(const gconv_shape *s, gconv_isa_level isa,
                               const TYPE *weight, const TYPE *bias,
                               const TYPE *input, TYPE *output, int threads)
{
    dw_geom g;
    dw_split p;
    dw_geom_init(&g, s);
    dw_split_init(&p, s, threads);

    FN(dw_task_fn) task = FN(dw_task_generic);
#if DW_X86
    if (isa == GCONV_ISA_AVX512)
        task = FN(dw_task_avx512);
    else if (isa == GCONV_ISA_AVX2)
        task = FN(dw_task_avx2);
#else
    (void)isa;
#endif

    const int64_t units = p.units, chunk = p.chunk;
    const int nt = p.threads;
    GCONV_PRAGMA(omp parallel for num_threads(nt) schedule(dynamic, chunk) if(nt > 1))
    for (int64_t u = 0; u < units; u++) {
        int64_t t = u;
        const int64_t rb = t % p.rblocks;
        t /= p.rblocks;
        const int64_t mb = t % p.mblocks;
        const int64_t plane = t / p.mblocks;
        const int64_t n = plane / g.groups, grp = plane % g.groups;
        const int64_t m0 = mb * p.mper;
        const int64_t m1 = m0 + p.mper < g.mult ? m0 + p.mper : g.mult;
        const int64_t r0 = rb * p.rper;
        const int64_t rows = g.out_d * g.out_h;
        const int64_t r1 = r0 + p.rper < rows ? r0 + p.rper : rows;
        task(&g, weight, bias, input, output, n, grp, m0, m1, r0, r1);
    }
    return GCONV_OK;
}

const GCONV_CAT(gconv_kernel, SFX) GCONV_CAT(gconv__depthwise, SFX) = {
    "depthwise",
    FN(dw_supports),
    FN(dw_packed_size),
    FN(dw_pack),
    FN(dw_run),
};

#undef DW_ARGS
#undef FN
