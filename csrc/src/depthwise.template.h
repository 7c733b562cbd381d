/*
 * depthwise.template.h -- the depthwise kernel family for one element type.
 * Included by depthwise.c with TYPE, SFX and DW_DOUBLE defined; includes
 * depthwise_isa.template.h once per vector path.
 */
#define FN(name) GCONV_CAT(name, SFX)
#define DW_ARGS FN(dw_args)

/* One call of a plane kernel: output rows [oh0, oh1) of one output
   channel and output depth slice, the taps of one filter depth slice. */
typedef struct DW_ARGS {
    const dw_geom *g;
    const TYPE *slice;          /* the input depth slice (the plane in 2-D) */
    int64_t nsl, sstep;         /* general kernel: nsl slices, sstep apart */
    TYPE *y;                    /* output row oh0 */
    const TYPE *w;              /* filter taps (kh, kw) of the slice (general
                                   kernel: of each slice in turn) */
    TYPE bias;
    int first;                  /* start from the bias (else add to y) */
    int stream;                 /* store the output past the caches */
    int64_t oh0, oh1;
    const void *masks;          /* the vector path's border masks */
    const TYPE *zeros;          /* in_w zeros: the rows of the padding */
    dw_pf *pf;                  /* specialised kernels: the next plane's
                                   lines still to ask for (empty ranges:
                                   none), moved on by each pass */
    int64_t pfstep, pfystep;    /* lines of its input, output per chunk */
} DW_ARGS;

/* A row of zeros for the rows of the padding (read only). */
static const TYPE FN(dw_zeros)[DW_ZEROS];

typedef void (*FN(dw_task_fn))(const dw_geom *g, const dw_split *p, const TYPE *w,
                               const TYPE *b, const TYPE *x, TYPE *y,
                               const TYPE *zeros, int64_t u0, int64_t u1);

#if DW_X86
#  define DW_ISA DW_ISA_AVX512
#  include "depthwise_isa.template.h"
#  undef DW_ISA
#  define DW_ISA DW_ISA_AVX512Y
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

#if DW_X86
/* Channels along the vectors: units of vl output channels of one batch
   item (2-D: one band of output rows; rows: one row and strip), each thread
   on its own tiles. */
static gconv_status FN(dw_cb_run)(const dw_geom *g, const dw_split *p, int64_t batch,
                                  gconv_isa_level isa, int64_t vl, const TYPE *weight,
                                  const TYPE *bias, const TYPE *input, TYPE *output)
{
    int64_t th, tw, ntin, ntout;
    dw_cb_sizes(g, vl, sizeof(TYPE), &th, &tw, &ntin, &ntout);
    /* per thread, rounded up to whole cache lines */
    const int64_t per = (ntin + ntout + g->kvol * vl + 15) & ~(int64_t)15;
    const int64_t blocks = (g->groups * g->mult + vl - 1) / vl;
    const int64_t strip = dw_cb_strip(g);
    const int64_t bh = strip > 0 ? 0 : dw_cb_band(g, vl, sizeof(TYPE));
    const int64_t units = blocks * batch * (strip > 0 ? g->in_h * ((g->out_w + strip - 1) / strip)
                                                      : (g->out_h + bh - 1) / bh);
    int nt = p->threads;
    if (nt > units)
        nt = (int)units;
    TYPE *buf = (TYPE *)gconv__alloc(per * nt, sizeof(TYPE));
    if (buf == NULL)
        return GCONV_ERR_NO_MEMORY;
    /* a thread's units in a row share the packed filters of a block */
    const int64_t chunk = units / (4 * (int64_t)nt) > 0 ? units / (4 * (int64_t)nt) : 1;
    const int64_t nchunks = (units + chunk - 1) / chunk;
    GCONV_PRAGMA(omp parallel num_threads(nt) if(nt > 1))
    {
        TYPE *mine = buf + per * dw_thread_id();
        GCONV_PRAGMA(omp for schedule(dynamic, 1))
        for (int64_t c = 0; c < nchunks; c++) {
            const int64_t u0 = c * chunk;
            const int64_t u1 = u0 + chunk < units ? u0 + chunk : units;
            if (strip > 0 && isa == GCONV_ISA_AVX512)
                FN(dw_cb1_task_avx512)(g, batch, weight, bias, input, output, mine, u0, u1);
            else if (strip > 0)
                FN(dw_cb1_task_avx2)(g, batch, weight, bias, input, output, mine, u0, u1);
            else if (isa == GCONV_ISA_AVX512)
                FN(dw_cb_task_avx512)(g, batch, weight, bias, input, output, mine, u0, u1);
            else
                FN(dw_cb_task_avx2)(g, batch, weight, bias, input, output, mine, u0, u1);
        }
    }
    gconv__free(buf);
    return GCONV_OK;
}
#endif

#if DW_X86
/* Narrow planes: the units of the split; with AVX2 each thread has two
   zeroed row buffers (the AVX-512 kernels read the input planes as they
   are). */
static gconv_status FN(dw_nw_run)(const dw_geom *g, const dw_split *p, gconv_isa_level isa,
                                  int64_t vl, const TYPE *weight, const TYPE *bias,
                                  const TYPE *input, TYPE *output)
{
    const int copies = isa != GCONV_ISA_AVX512;
    /* per buffer, rounded up to whole cache lines */
    const int64_t half = copies ? (dw_nw_buf(g, vl) + 15) & ~(int64_t)15 : 0;
    int nt = p->threads;
    if (nt > p->units)
        nt = (int)p->units;
    TYPE *buf = NULL;
    if (copies) {
        buf = (TYPE *)gconv__alloc(2 * half * nt, sizeof(TYPE));
        if (buf == NULL)
            return GCONV_ERR_NO_MEMORY;
    }
    const int64_t chunk = p->chunk;
    const int64_t blocks = (p->units + chunk - 1) / chunk;
    GCONV_PRAGMA(omp parallel num_threads(nt) if(nt > 1))
    {
        TYPE *mine = NULL;
        if (copies) {
            mine = buf + 2 * half * dw_thread_id();
            memset(mine, 0, (size_t)(2 * half) * sizeof(TYPE));
        }
        GCONV_PRAGMA(omp for schedule(dynamic, 1))
        for (int64_t blk = 0; blk < blocks; blk++) {
            const int64_t u0 = blk * chunk;
            const int64_t u1 = u0 + chunk < p->units ? u0 + chunk : p->units;
            if (isa == GCONV_ISA_AVX512)
                FN(dw_nw_task_avx512)(g, p, weight, bias, input, output, NULL, 0, u0, u1);
            else
                FN(dw_nw_task_avx2)(g, p, weight, bias, input, output, mine, half, u0, u1);
        }
    }
    gconv__free(buf);
    return GCONV_OK;
}
#endif

#if DW_X86
/* Flat planes: output planes in order, blocks of them per grab. */
static gconv_status FN(dw_tp_run)(const dw_geom *g, const dw_split *p, int64_t batch,
                                  const TYPE *weight, const TYPE *bias, const TYPE *input,
                                  TYPE *output)
{
    const int64_t units = batch * g->groups * g->mult * g->out_d;
    const int nt = p->threads;
    int64_t chunk = units / (8 * (int64_t)nt);
    chunk = chunk < 1 ? 1 : chunk;
    const int64_t blocks = (units + chunk - 1) / chunk;
    FN(dw_tp_ctx_avx512) c;   /* the masks and permutes, shared */
    FN(tp_ctx_init_avx512)(&c, g);
    GCONV_PRAGMA(omp parallel for num_threads(nt) schedule(dynamic, 1) if(nt > 1))
    for (int64_t blk = 0; blk < blocks; blk++) {
        const int64_t u0 = blk * chunk;
        FN(dw_tp_task_avx512)(g, &c, weight, bias, input, output, u0,
                              u0 + chunk < units ? u0 + chunk : units);
    }
    (void)nt;
    return GCONV_OK;
}
#endif

static gconv_status FN(dw_run)(const gconv_shape *s, gconv_isa_level isa,
                               const TYPE *weight, const TYPE *bias,
                               const TYPE *input, TYPE *output, int threads)
{
    dw_geom g;
    dw_split p;
    dw_geom_init(&g, s);
    dw_split_init(&p, s, &g, threads);
    /* arrays much larger than the caches: the output is stored with
       streaming stores (2-D only: 3-D reads its partial sums back) */
    g.stream = isa != GCONV_ISA_GENERIC && g.kd == 1 &&
               (double)(s->input_elements + s->output_elements) * sizeof(TYPE) >=
                   (double)DW_STREAM_BYTES;

#if DW_X86
    /* 3x3 on rows of at most two vectors: the plane as one flat array */
    if (isa == GCONV_ISA_AVX512 && dw_tp_ok(&g, 64 / (int64_t)sizeof(TYPE)))
        return FN(dw_tp_run)(&g, &p, s->batch, weight, bias, input, output);
    if (isa == GCONV_ISA_AVX512 || isa == GCONV_ISA_AVX2) {
        const int64_t vl = (isa == GCONV_ISA_AVX512 ? 64 : 32) / (int64_t)sizeof(TYPE);
        if (dw_cb_ok(&g, vl, sizeof(TYPE), s->batch))
            return FN(dw_cb_run)(&g, &p, s->batch, isa, vl, weight, bias, input, output);
    }
#endif

#if DW_X86
    /* 5x5 and 7x7 on rows of one vector (AVX-512 5x5: up to two) */
    if (isa == GCONV_ISA_AVX512 || isa == GCONV_ISA_AVX2) {
        const int64_t vl = (isa == GCONV_ISA_AVX512 ? 64 : 32) / (int64_t)sizeof(TYPE);
        if (dw_nw_ok(&g, vl, isa == GCONV_ISA_AVX512))
            return FN(dw_nw_run)(&g, &p, isa, vl, weight, bias, input, output);
    }
#endif

    FN(dw_task_fn) task = FN(dw_task_generic);
#if DW_X86
    /* rows of at most half a 512-bit vector run on 256-bit vectors */
    if (isa == GCONV_ISA_AVX512 && g.out_w <= 32 / (int64_t)sizeof(TYPE) && dw_has_avx512vl())
        task = FN(dw_task_avx512y);
    else if (isa == GCONV_ISA_AVX512)
        task = FN(dw_task_avx512);
    else if (isa == GCONV_ISA_AVX2)
        task = FN(dw_task_avx2);
#else
    (void)isa;
#endif

    /* the specialised kernels read padding rows from a row of zeros */
    const TYPE *zeros = FN(dw_zeros);
    TYPE *zalloc = NULL;
    if (g.spec >= 0 && g.in_w > DW_ZEROS) {
        zalloc = (TYPE *)gconv__alloc(g.in_w, sizeof(TYPE));
        if (zalloc == NULL)
            return GCONV_ERR_NO_MEMORY;
        for (int64_t i = 0; i < g.in_w; i++)
            zalloc[i] = (TYPE)0;
        zeros = zalloc;
    }

    /* blocks of p.chunk units, handed out one by one */
    const int64_t chunk = p.chunk;
    const int64_t blocks = (p.units + chunk - 1) / chunk;
    const int nt = p.threads;
    GCONV_PRAGMA(omp parallel for num_threads(nt) schedule(dynamic, 1) if(nt > 1))
    for (int64_t blk = 0; blk < blocks; blk++) {
        const int64_t u0 = blk * chunk;
        const int64_t u1 = u0 + chunk < p.units ? u0 + chunk : p.units;
        task(&g, &p, weight, bias, input, output, zeros, u0, u1);
    }
    (void)nt;  /* unused without OpenMP */
    gconv__free(zalloc);
    return GCONV_OK;
}

const GCONV_CAT(gconv_kernel, SFX) GCONV_CAT(gconv__depthwise, SFX) = {
    "depthwise",
    FN(dw_supports),
    FN(dw_packed_size),
    FN(dw_pack),
    FN(dw_run),
    1,
};

#undef DW_ARGS
#undef FN
