/*
 * test_plan.c -- plans: create / execute / destroy in both dtypes, with and
 * without bias; a plan gives bitwise the one-shot result; executing with a
 * batch other than the creation one; the plan owns copies of the weights;
 * dtype mismatch; bad lengths, batches and pointers; out of memory.  On every
 * failure the output must be untouched.
 */
#include "check.h"

static void layer(gconv_params *p, int ndim)
{
    gconv_params_init(p, ndim);
    p->batch = 2;
    p->in_channels = 48;
    p->out_channels = 48;
    p->groups = 12;
    for (int d = 0; d < ndim; d++) {
        p->input_size[d] = ndim == 3 ? 6 : 11 + d;
        p->kernel_size[d] = 3;
        p->pad_before[d] = p->pad_after[d] = 1;
    }
}

static void other_layers(gconv_params *p, int which)
{
    gconv_params_init(p, 2);
    p->batch = 1;
    for (int d = 0; d < 2; d++) {
        p->input_size[d] = 19;
        p->kernel_size[d] = which == 2 ? 1 : 3;
        p->pad_before[d] = p->pad_after[d] = which == 2 ? 0 : 1;
        p->stride[d] = which == 1 ? 2 : 1;
    }
    if (which == 0 || which == 1) { /* depthwise */
        p->in_channels = p->out_channels = p->groups = 40;
    } else {                        /* grouped 1x1 */
        p->in_channels = 60;
        p->out_channels = 30;
        p->groups = 3;
    }
}

#define DEFINE_PLAN_TEST(T, SFX, RAND)                                                       \
    static void plan_vs_oneshot_##SFX(const gconv_params *p0, int with_bias)               \
    {                                                                                       \
        gconv_params p = *p0;                                                               \
        int64_t nx, nw, ny;                                                                 \
        CHECK_STATUS(gconv_buffer_sizes(&p, &nx, &nw, &ny), GCONV_OK);                      \
        T *w = RAND(nw), *b = with_bias ? RAND(p.out_channels) : NULL;                      \
        size_t bl = with_bias ? (size_t)p.out_channels : 0;                                 \
        gconv_plan *plan = (gconv_plan *)&plan; /* must be overwritten */                   \
        CHECK_STATUS(gconv_plan_create_##SFX(&p, w, (size_t)nw, b, bl, &plan), GCONV_OK);   \
        CHECK(plan != NULL && plan != (gconv_plan *)&plan);                                 \
        /* the plan holds copies: scribbling on the caller's arrays changes nothing */     \
        T *w_keep = (T *)malloc((size_t)nw * sizeof(T));                                    \
        T *b_keep = with_bias ? (T *)malloc(bl * sizeof(T)) : NULL;                         \
        memcpy(w_keep, w, (size_t)nw * sizeof(T));                                          \
        if (with_bias)                                                                      \
            memcpy(b_keep, b, bl * sizeof(T));                                              \
        for (int64_t i = 0; i < nw; i++)                                                    \
            w[i] = (T)12345;                                                                \
        for (size_t i = 0; i < bl; i++)                                                     \
            b[i] = (T)-777;                                                                 \
        const int64_t batches[] = {p0->batch, 1, 3, 0, 2};                                  \
        for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {                \
            p.batch = batches[bi];                                                          \
            CHECK_STATUS(gconv_buffer_sizes(&p, &nx, NULL, &ny), GCONV_OK);                 \
            T *x = RAND(nx);                                                                \
            T *y1 = (T *)malloc((size_t)(ny + 1) * sizeof(T));                              \
            T *y2 = (T *)malloc((size_t)(ny + 1) * sizeof(T));                              \
            memset(y1, 0x11, (size_t)(ny + 1) * sizeof(T));                                 \
            memset(y2, 0x22, (size_t)(ny + 1) * sizeof(T));                                 \
            CHECK_STATUS(gconv_plan_execute_##SFX(plan, p.batch, nx ? x : NULL, (size_t)nx, \
                                                  ny ? y1 : NULL, (size_t)ny, 0),           \
                         GCONV_OK);                                                         \
            CHECK_STATUS(gconv_conv_##SFX(&p, nx ? x : NULL, (size_t)nx, w_keep,           \
                                          (size_t)nw, b_keep, bl, ny ? y2 : NULL,          \
                                          (size_t)ny, 0),                                   \
                         GCONV_OK);                                                         \
            CHECK(memcmp(y1, y2, (size_t)ny * sizeof(T)) == 0);                             \
            /* the element after the output is not written */                              \
            unsigned char tail1[sizeof(T)], tail2[sizeof(T)];                               \
            memset(tail1, 0x11, sizeof(T));                                                 \
            memset(tail2, 0x22, sizeof(T));                                                 \
            CHECK(memcmp(y1 + ny, tail1, sizeof(T)) == 0);                                  \
            CHECK(memcmp(y2 + ny, tail2, sizeof(T)) == 0);                                  \
            free(x);                                                                        \
            free(y1);                                                                       \
            free(y2);                                                                       \
        }                                                                                   \
        gconv_plan_destroy(plan);                                                           \
        free(w);                                                                            \
        free(b);                                                                            \
        free(w_keep);                                                                       \
        free(b_keep);                                                                       \
    }

DEFINE_PLAN_TEST(float, f32, rand_f32)
DEFINE_PLAN_TEST(double, f64, rand_f64)

/* Output untouched: fill with a pattern, compare after. */
static int untouched(const void *buf, size_t bytes, unsigned char pattern)
{
    const unsigned char *c = (const unsigned char *)buf;
    for (size_t i = 0; i < bytes; i++)
        if (c[i] != pattern)
            return 0;
    return 1;
}

static void plan_errors(void)
{
    gconv_params p;
    layer(&p, 2);
    int64_t nx, nw, ny;
    CHECK_STATUS(gconv_buffer_sizes(&p, &nx, &nw, &ny), GCONV_OK);
    float *w = rand_f32(nw), *b = rand_f32(p.out_channels), *x = rand_f32(nx);
    float *y = (float *)malloc((size_t)ny * sizeof(float));
    double *xd = rand_f64(nx), *yd = (double *)malloc((size_t)ny * sizeof(double));
    size_t bl = (size_t)p.out_channels;
    gconv_plan *plan = NULL, *sentinel = (gconv_plan *)&plan;

    /* creation failures leave *plan NULL */
    CHECK_STATUS(gconv_plan_create_f32(&p, w, (size_t)nw, b, bl, NULL), GCONV_ERR_NULL_POINTER);
    plan = sentinel;
    CHECK_STATUS(gconv_plan_create_f32(NULL, w, (size_t)nw, b, bl, &plan), GCONV_ERR_NULL_POINTER);
    CHECK(plan == NULL);
    plan = sentinel;
    CHECK_STATUS(gconv_plan_create_f32(&p, NULL, (size_t)nw, b, bl, &plan), GCONV_ERR_NULL_POINTER);
    CHECK(plan == NULL);
    plan = sentinel;
    CHECK_STATUS(gconv_plan_create_f32(&p, w, (size_t)nw - 1, b, bl, &plan), GCONV_ERR_BUFFER_SIZE);
    CHECK(plan == NULL);
    plan = sentinel;
    CHECK_STATUS(gconv_plan_create_f32(&p, w, (size_t)nw, b, bl + 1, &plan), GCONV_ERR_BUFFER_SIZE);
    CHECK(plan == NULL);
    gconv_params bad = p;
    bad.out_channels = 44; /* 44 % 12 != 0 */
    plan = sentinel;
    CHECK_STATUS(gconv_plan_create_f64(&bad, xd, (size_t)nw, NULL, 0, &plan), GCONV_ERR_GROUPS);
    CHECK(plan == NULL);
    bad = p;
    bad.struct_size = 0;
    plan = sentinel;
    CHECK_STATUS(gconv_plan_create_f32(&bad, w, (size_t)nw, b, bl, &plan), GCONV_ERR_STRUCT_SIZE);
    CHECK(plan == NULL);
    bad = p;
    bad.kernel_size[1] = 99;
    plan = sentinel;
    CHECK_STATUS(gconv_plan_create_f32(&bad, w, (size_t)nw, b, bl, &plan), GCONV_ERR_SHAPE);
    CHECK(plan == NULL);

    /* out of memory: a weight of 2^55 elements cannot be copied anywhere.  The
       length is only claimed; the allocation fails before anything is read. */
    bad = p;
    bad.batch = 1;
    bad.in_channels = 1;
    bad.groups = 1;
    bad.out_channels = (int64_t)1 << 55;
    bad.ndim = 1;
    bad.input_size[0] = 1;
    bad.kernel_size[0] = 1;
    bad.pad_before[0] = bad.pad_after[0] = 0;
    CHECK_STATUS(gconv_check_params(&bad, NULL, 0), GCONV_OK);
    if (sizeof(size_t) >= 8) {
        plan = sentinel;
        CHECK_STATUS(gconv_plan_create_f32(&bad, w, (size_t)1 << 55, NULL, 0, &plan),
                     GCONV_ERR_NO_MEMORY);
        CHECK(plan == NULL);
        plan = sentinel;
        CHECK_STATUS(gconv_plan_create_f64(&bad, xd, (size_t)1 << 55, NULL, 0, &plan),
                     GCONV_ERR_NO_MEMORY);
        CHECK(plan == NULL);
    }

    /* execution failures leave the output untouched */
    CHECK_STATUS(gconv_plan_create_f32(&p, w, (size_t)nw, b, bl, &plan), GCONV_OK);
    size_t yb = (size_t)ny * sizeof(float), ydb = (size_t)ny * sizeof(double);
    memset(y, 0x5A, yb);
    memset(yd, 0x5A, ydb);
    CHECK_STATUS(gconv_plan_execute_f64(plan, p.batch, xd, (size_t)nx, yd, (size_t)ny, 0),
                 GCONV_ERR_DTYPE);
    CHECK(untouched(yd, ydb, 0x5A));
    CHECK_STATUS(gconv_plan_execute_f32(NULL, p.batch, x, (size_t)nx, y, (size_t)ny, 0),
                 GCONV_ERR_NULL_POINTER);
    CHECK_STATUS(gconv_plan_execute_f32(plan, p.batch, NULL, (size_t)nx, y, (size_t)ny, 0),
                 GCONV_ERR_NULL_POINTER);
    CHECK_STATUS(gconv_plan_execute_f32(plan, p.batch, x, (size_t)nx, NULL, (size_t)ny, 0),
                 GCONV_ERR_NULL_POINTER);
    CHECK_STATUS(gconv_plan_execute_f32(plan, p.batch, x, (size_t)nx - 1, y, (size_t)ny, 0),
                 GCONV_ERR_BUFFER_SIZE);
    CHECK_STATUS(gconv_plan_execute_f32(plan, p.batch, x, (size_t)nx, y, (size_t)ny + 1, 0),
                 GCONV_ERR_BUFFER_SIZE);
    /* lengths for batch 2 given with batch 1 */
    CHECK_STATUS(gconv_plan_execute_f32(plan, 1, x, (size_t)nx, y, (size_t)ny, 0),
                 GCONV_ERR_BUFFER_SIZE);
    CHECK_STATUS(gconv_plan_execute_f32(plan, -1, x, (size_t)nx, y, (size_t)ny, 0),
                 GCONV_ERR_SHAPE);
    CHECK_STATUS(gconv_plan_execute_f32(plan, INT64_MAX / 2, x, (size_t)nx, y, (size_t)ny, 0),
                 GCONV_ERR_OVERFLOW);
    /* output inside the input */
    CHECK_STATUS(gconv_plan_execute_f32(plan, 1, x, (size_t)nx / 2, x + 1, (size_t)ny / 2, 0),
                 GCONV_ERR_OVERLAP);
    CHECK(untouched(y, yb, 0x5A));
    gconv_plan_destroy(plan);

    /* an f64 plan refuses the f32 executor */
    CHECK_STATUS(gconv_plan_create_f64(&p, xd, (size_t)nw, NULL, 0, &plan), GCONV_OK);
    CHECK_STATUS(gconv_plan_execute_f32(plan, p.batch, x, (size_t)nx, y, (size_t)ny, 0),
                 GCONV_ERR_DTYPE);
    CHECK(untouched(y, yb, 0x5A));
    CHECK_STATUS(gconv_plan_execute_f64(plan, p.batch, xd, (size_t)nx, yd, (size_t)ny, 1),
                 GCONV_OK);
    gconv_plan_destroy(plan);
    gconv_plan_destroy(NULL);

    free(w);
    free(b);
    free(x);
    free(y);
    free(xd);
    free(yd);
}

int main(void)
{
    rng_seed(5);
    for (int ndim = 1; ndim <= 3; ndim++) {
        gconv_params p;
        layer(&p, ndim);
        plan_vs_oneshot_f32(&p, 1);
        plan_vs_oneshot_f64(&p, 1);
        plan_vs_oneshot_f32(&p, 0);
        plan_vs_oneshot_f64(&p, 0);
    }
    for (int which = 0; which < 3; which++) {
        gconv_params p;
        other_layers(&p, which);
        plan_vs_oneshot_f32(&p, 1);
        plan_vs_oneshot_f64(&p, which != 1);
    }
    plan_errors();
    return check_report("test_plan");
}
