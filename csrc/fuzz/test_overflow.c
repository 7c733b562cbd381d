/*
 * test_overflow.c -- size arithmetic of the C API.
 *
 * Element counts and byte sizes that overflow 32 or 64 bits (or the address
 * space, on a 32-bit target) must be rejected with GCONV_ERR_OVERFLOW before
 * anything is allocated or touched -- including products that wrap around
 * to a small, plausible number -- and large but representable counts must
 * come out exact (no 32-bit truncation anywhere).  Builds as C99 on 32- and
 * 64-bit targets (no 128-bit integers needed).
 *
 * Exit status 0 when every check passed.
 */
#include "gconv.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int failures, checks;

#define EXPECT(cond, ...)                                                       \
    do {                                                                        \
        checks++;                                                               \
        if (!(cond)) {                                                          \
            failures++;                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fprintf(stderr, "\n");                                              \
        }                                                                       \
    } while (0)

/* The largest element count a buffer may have: 8 * count must fit in
   int64_t and in size_t. */
#define MAX_EL ((int64_t)((uint64_t)(SIZE_MAX < INT64_MAX ? SIZE_MAX : INT64_MAX) / 8))
#define BIG MAX_EL   /* the largest valid stride or dilation */
#define BIG32 ((uint64_t)SIZE_MAX <= UINT32_MAX)   /* a 32-bit target */

static gconv_params p1(int64_t batch, int64_t cin, int64_t cout, int64_t groups,
                       int64_t size, int64_t k)
{
    gconv_params p;
    gconv_params_init(&p, 1);
    p.batch = batch;
    p.in_channels = cin;
    p.out_channels = cout;
    p.groups = groups;
    p.input_size[0] = size;
    p.kernel_size[0] = k;
    return p;
}

static gconv_params p3(int64_t batch, int64_t cin, int64_t cout, const int64_t size[3],
                       const int64_t k[3])
{
    gconv_params p;
    gconv_params_init(&p, 3);
    p.batch = batch;
    p.in_channels = cin;
    p.out_channels = cout;
    for (int d = 0; d < 3; d++) {
        p.input_size[d] = size[d];
        p.kernel_size[d] = k[d];
    }
    return p;
}

/* The status every entry point gives for p, checked to be the same for the
   queries, the one-shot calls and plan creation, with small buffers whose
   lengths are the counts a wrap-around would produce.  Nothing may be
   written to the output or to the query results. */
static void expect_status(const char *what, const gconv_params *p, gconv_status want,
                          size_t wrapped_len)
{
    char msg[GCONV_MESSAGE_SIZE];
    gconv_status st = gconv_check_params(p, msg, sizeof msg);
    EXPECT(st == want, "%s: gconv_check_params gave %d (%s), expected %d", what, (int)st,
           msg, (int)want);
    int64_t a = -1, b = -1, c = -1, out[3] = {-1, -1, -1};
    EXPECT(gconv_buffer_sizes(p, &a, &b, &c) == want, "%s: buffer_sizes", what);
    EXPECT(gconv_output_shape(p, out, NULL) == want, "%s: output_shape", what);
    if (want != GCONV_OK)
        EXPECT(a == -1 && b == -1 && c == -1 && out[0] == -1, "%s: a failing query wrote",
               what);
    if (want == GCONV_OK)
        return;
    float xf[8] = {0}, wf[8] = {0}, bf[8] = {0}, yf[8];
    double xd[8] = {0}, wd[8] = {0}, bd[8] = {0}, yd[8];
    size_t n = wrapped_len <= 8 ? wrapped_len : 8;
    memset(yf, 0x5A, sizeof yf);
    memset(yd, 0x5A, sizeof yd);
    st = gconv_conv_f32(p, xf, n, wf, n, bf, n, yf, n, 1);
    EXPECT(st == want, "%s: gconv_conv_f32 gave %d, expected %d", what, (int)st, (int)want);
    st = gconv_conv_f64(p, xd, n, wd, n, bd, n, yd, n, 1);
    EXPECT(st == want, "%s: gconv_conv_f64 gave %d, expected %d", what, (int)st, (int)want);
    unsigned char *u = (unsigned char *)yf, *v = (unsigned char *)yd;
    int untouched = 1;
    for (size_t i = 0; i < sizeof yf; i++)
        untouched &= u[i] == 0x5A;
    for (size_t i = 0; i < sizeof yd; i++)
        untouched &= v[i] == 0x5A;
    EXPECT(untouched, "%s: output written by a rejected call", what);
    gconv_plan *plan = (gconv_plan *)&plan;
    st = gconv_plan_create_f32(p, wf, n, NULL, 0, &plan);
    EXPECT(st == want && plan == NULL, "%s: plan_create gave %d", what, (int)st);
}

static void expect_counts(const char *what, const gconv_params *p, int64_t n_in,
                          int64_t n_w, int64_t n_out)
{
    int64_t a = -1, b = -1, c = -1;
    gconv_status st = gconv_buffer_sizes(p, &a, &b, &c);
    int fits = n_in <= MAX_EL && n_w <= MAX_EL && n_out <= MAX_EL;
    if (!fits) {
        /* only on a 32-bit target: the address space is the limit */
        EXPECT(st == GCONV_ERR_OVERFLOW, "%s: %d on a 32-bit target", what, (int)st);
        return;
    }
    EXPECT(st == GCONV_OK, "%s: status %d", what, (int)st);
    EXPECT(a == n_in && b == n_w && c == n_out,
           "%s: counts %lld %lld %lld, expected %lld %lld %lld", what, (long long)a,
           (long long)b, (long long)c, (long long)n_in, (long long)n_w, (long long)n_out);
}

/* Valid shapes with more than 2^31 / 2^32 elements: exact counts, and a
   buffer length that is off by 2^32 (what a truncation to 32 bits would not
   see) is rejected without touching anything. */
static void large_counts(void)
{
    gconv_params p = p1(1, 65536, 1, 1, 65537, 1);          /* 2^32 + 2^16 */
    expect_counts("input 2^32 + 2^16", &p, 4295032832LL, 65536, 65537);
    p = p1(2, 1, 1, 1, (int64_t)1 << 31, 1);                 /* 2^32 exactly */
    expect_counts("input 2^32", &p, (int64_t)1 << 32, 1, (int64_t)1 << 32);
    p = p1(1, 1, 1, 1, INT32_MAX, 1);
    expect_counts("input 2^31 - 1", &p, INT32_MAX, 1, INT32_MAX);
    p = p1(1, 1, 1, 1, (int64_t)INT32_MAX + 1, 1);
    expect_counts("input 2^31", &p, (int64_t)INT32_MAX + 1, 1, (int64_t)INT32_MAX + 1);
    p = p1(1, 1, 1, 1, 1, 1);
    p.pad_before[0] = (int64_t)1 << 32;
    p.pad_after[0] = 5;
    expect_counts("output 2^32 + 6 from padding", &p, 1, 1, ((int64_t)1 << 32) + 6);
    int64_t size[3] = {2048, 2048, 2048}, k[3] = {1, 1, 1};
    p = p3(1, 1, 1, size, k);                                /* 2^33 */
    expect_counts("3-D input 2^33", &p, (int64_t)1 << 33, 1, (int64_t)1 << 33);
    int64_t ks[3] = {1024, 1024, 4096};
    int64_t ss[3] = {1024, 1024, 4096};
    p = p3(1, 1, 1, ss, ks);                                 /* kernel volume 2^32 */
    expect_counts("kernel volume 2^32", &p, (int64_t)1 << 32, (int64_t)1 << 32, 1);

    /* counts exactly at the limit and one past it */
    p = p1(1, 1, 1, 1, MAX_EL, 1);
    expect_counts("input at the limit", &p, MAX_EL, 1, MAX_EL);
    p = p1(1, 1, 1, 1, MAX_EL - 1, 1);
    p.pad_after[0] = 1;
    expect_counts("padded input at the limit", &p, MAX_EL - 1, 1, MAX_EL);
    p = p1(1, 1, 1, 1, MAX_EL, 1);
    p.pad_after[0] = 1;
    expect_status("padded input one past the limit", &p, GCONV_ERR_OVERFLOW, 1);
    p = p1(2, 1, 1, 1, MAX_EL / 2 + 1, 1);
    expect_status("batch x plane one past the limit", &p, GCONV_ERR_OVERFLOW, 2);

    /* lengths that a 32-bit truncation would confuse */
#if SIZE_MAX > UINT32_MAX
    {
        p = p1(1, 65536, 1, 1, 65537, 1);
        float x[16] = {0}, w[16] = {0}, y[16];
        memset(y, 0x5A, sizeof y);
        size_t true_in = (size_t)4295032832ULL;
        size_t lens[3] = {true_in & 0xFFFFFFFFu, true_in - ((size_t)1 << 32) + 1,
                          true_in + ((size_t)1 << 32)};
        for (int i = 0; i < 3; i++) {
            gconv_status st = gconv_conv_f32(&p, x, lens[i], w, 65536, NULL, 0, y, 65537, 1);
            EXPECT(st == GCONV_ERR_BUFFER_SIZE, "input length %zu for %zu elements: %d",
                   lens[i], true_in, (int)st);
        }
        unsigned char *u = (unsigned char *)y;
        for (size_t i = 0; i < sizeof y; i++)
            EXPECT(u[i] == 0x5A, "output byte %zu written", i);
    }
#endif
}

/* Products and sums that overflow 64 bits, including ones that wrap around
   to small positive numbers a careless gate would accept. */
static void overflowing(void)
{
    gconv_params p;
    /* 3 * 6148914691236517206 = 2^64 + 2: wraps to 2 */
    p = p1(3, 6148914691236517206LL, 1, 1, 1, 1);
    expect_status("batch x channels wraps to 2", &p, GCONV_ERR_OVERFLOW, 2);
    /* 2^32 * 2^32 = 2^64: wraps to 0 */
    int64_t s2[3] = {(int64_t)1 << 32, (int64_t)1 << 32, 1}, k1[3] = {1, 1, 1};
    p = p3(1, 1, 1, s2, k1);
    expect_status("plane 2^32 x 2^32 wraps to 0", &p, GCONV_ERR_OVERFLOW, 0);
    /* (2^32 + 1)(2^32 - 1) = 2^64 - 1: wraps to -1 */
    int64_t s3[3] = {((int64_t)1 << 32) + 1, ((int64_t)1 << 32) - 1, 1};
    p = p3(1, 1, 1, s3, k1);
    expect_status("plane wraps to -1", &p, GCONV_ERR_OVERFLOW, 1);
    /* kernel volume 2^21 * 2^21 * 2^22 = 2^64 */
    int64_t kk[3] = {(int64_t)1 << 21, (int64_t)1 << 21, (int64_t)1 << 22};
    p = p3(1, 1, 1, kk, kk);
    expect_status("kernel volume wraps to 0", &p, GCONV_ERR_OVERFLOW, 0);
    /* weight: out_channels * in_channels/groups * volume */
    p = p1(1, (int64_t)1 << 31, (int64_t)1 << 31, 1, 1, 1);
    expect_status("weight 2^62 elements", &p, GCONV_ERR_OVERFLOW, 1);
    p = p1(1, (int64_t)1 << 32, (int64_t)1 << 32, 1, 1, 1);
    expect_status("weight 2^64 wraps to 0", &p, GCONV_ERR_OVERFLOW, 0);
    /* output plane from padding: 3 dims of 2^21 + 1 */
    int64_t one[3] = {1, 1, 1};
    p = p3(1, 1, 1, one, one);
    for (int d = 0; d < 3; d++)
        p.pad_before[d] = (int64_t)1 << 21;
    expect_status("output plane 2^63 from padding", &p, GCONV_ERR_OVERFLOW, 1);
    /* sums: paddings and sizes near INT64_MAX */
    p = p1(1, 1, 1, 1, INT64_MAX, 1);
    expect_status("input size INT64_MAX", &p, GCONV_ERR_OVERFLOW, 1);
    p = p1(1, 1, 1, 1, 1, 1);
    p.pad_before[0] = p.pad_after[0] = INT64_MAX;
    expect_status("padding INT64_MAX twice", &p, GCONV_ERR_OVERFLOW, 1);
    p.pad_before[0] = INT64_MAX;
    p.pad_after[0] = 0;
    expect_status("padding INT64_MAX + input 1", &p, GCONV_ERR_OVERFLOW, 1);
    /* the dilated kernel: dilation * (kernel - 1) */
    p = p1(1, 1, 1, 1, 1, 2);
    p.dilation[0] = INT64_MAX;
    p.pad_before[0] = 4;
    expect_status("dilation INT64_MAX, kernel 2", &p, GCONV_ERR_OVERFLOW, 1);
    p = p1(1, 1, 1, 1, 1, ((int64_t)1 << 32) + 1);
    p.dilation[0] = (int64_t)1 << 32;
    expect_status("dilation 2^32 x (kernel - 1) 2^32", &p, GCONV_ERR_OVERFLOW, 1);
    /* negative values never turn into huge unsigned ones */
    p = p1(-1, 1, 1, 1, 4, 1);
    expect_status("batch -1", &p, GCONV_ERR_SHAPE, 1);
    p = p1(1, INT64_MIN, 1, 1, 4, 1);
    expect_status("in_channels INT64_MIN", &p, GCONV_ERR_SHAPE, 1);
    p = p1(1, 4, 4, INT64_MIN, 4, 1);
    expect_status("groups INT64_MIN", &p, GCONV_ERR_GROUPS, 1);
    p = p1(1, 4, 4, -2, 4, 1);
    expect_status("groups -2", &p, GCONV_ERR_GROUPS, 1);
    p = p1(1, 1, 1, 1, 4, 1);
    p.pad_before[0] = INT64_MIN;
    expect_status("padding INT64_MIN", &p, GCONV_ERR_SHAPE, 1);
    p = p1(1, 1, 1, 1, 4, INT64_MIN);
    expect_status("kernel INT64_MIN", &p, GCONV_ERR_SHAPE, 1);
    p = p1(1, 1, 1, 1, 4, 1);
    p.stride[0] = INT64_MIN;
    expect_status("stride INT64_MIN", &p, GCONV_ERR_SHAPE, 1);
}

/* Huge strides and dilations that are valid (up to the element limit, BIG):
   the border arithmetic must not overflow (regression: the generic kernel's
   first-valid-output formula added the stride to the padding), and the
   results are right.  Beyond the limit they are GCONV_ERR_OVERFLOW. */
static void huge_valid_steps(void)
{
    gconv_params p = p1(1, 1, 1, 1, 3, 1);
    p.stride[0] = BIG;
    p.pad_before[0] = 5;
    float x[3] = {1, 2, 3}, w[1] = {2}, b[1] = {0.5f}, y[1] = {-1};
    gconv_status st = gconv_conv_f32(&p, x, 3, w, 1, b, 1, y, 1, 1);
    EXPECT(st == GCONV_OK && y[0] == 0.5f, "stride BIG over padding: %d, %g",
           (int)st, (double)y[0]);
    p.pad_before[0] = 0;
    st = gconv_conv_f32(&p, x, 3, w, 1, b, 1, y, 1, 1);
    EXPECT(st == GCONV_OK && y[0] == 2.5f, "stride BIG: %d, %g", (int)st,
           (double)y[0]);
    p = p1(1, 1, 1, 1, 3, 1);
    p.dilation[0] = BIG;            /* kernel 1: the dilation spans nothing */
    p.pad_before[0] = 1;
    p.stride[0] = 2;
    float y2[2] = {-1, -1};
    st = gconv_conv_f32(&p, x, 3, w, 1, NULL, 0, y2, 2, 1);
    EXPECT(st == GCONV_OK && y2[0] == 0.0f && y2[1] == 4.0f,
           "dilation BIG with kernel 1: %d, %g %g", (int)st, (double)y2[0],
           (double)y2[1]);
    /* 2-D, both strides huge, depth-wise layout */
    gconv_params q;
    gconv_params_init(&q, 2);
    q.in_channels = q.out_channels = q.groups = 2;
    q.input_size[0] = 3;
    q.input_size[1] = 4;
    q.kernel_size[0] = 2;
    q.kernel_size[1] = 1;
    q.stride[0] = BIG;
    q.stride[1] = BIG - 1;
    q.pad_before[0] = q.pad_after[0] = 1;
    q.pad_before[1] = q.pad_after[1] = 3;
    double xd[24], wd[4] = {1, 10, 100, 1000}, yd[2] = {-1, -1};
    for (int i = 0; i < 24; i++)
        xd[i] = i + 1;
    st = gconv_conv_f64(&q, xd, 24, wd, 4, NULL, 0, yd, 2, 2);
    /* output (0,0) of channel c reads rows -1 and 0 at column -3: padding */
    EXPECT(st == GCONV_OK && yd[0] == 0.0 && yd[1] == 0.0, "2-D huge strides: %d, %g %g",
           (int)st, yd[0], yd[1]);
    /* one past the limit, and INT64_MAX itself */
    p = p1(1, 1, 1, 1, 3, 1);
    p.stride[0] = BIG + 1;
    expect_status("stride BIG + 1", &p, GCONV_ERR_OVERFLOW, 1);
    p.stride[0] = INT64_MAX;
    expect_status("stride INT64_MAX", &p, GCONV_ERR_OVERFLOW, 1);
    p = p1(1, 1, 1, 1, 3, 1);
    p.dilation[0] = INT64_MAX;
    expect_status("dilation INT64_MAX", &p, GCONV_ERR_OVERFLOW, 1);
}

/* Depth-wise 2-D planes with enough channels for the channel-blocked
   kernels: a stride of one output row or a dilation of one filter row may
   be as large as the gate allows, and nothing may multiply it by the tile
   width (regression: the row step of a filter one row high, and the step
   to the second output row of a band of one, overflowed).  Checked against
   a direct sum. */
static double dw_ref(const gconv_params *p, const double *x, const double *w, int64_t c,
                     int64_t oh, int64_t ow)
{
    double acc = 0;
    for (int64_t i = 0; i < p->kernel_size[0]; i++)
        for (int64_t j = 0; j < p->kernel_size[1]; j++) {
            /* oh is 0 where the stride is huge, i is 0 where the dilation is */
            int64_t ih = (oh > 0 ? oh * p->stride[0] : 0) - p->pad_before[0] +
                         (i > 0 ? i * p->dilation[0] : 0);
            int64_t iw = ow * p->stride[1] - p->pad_before[1] + j * p->dilation[1];
            if (ih < 0 || ih >= p->input_size[0] || iw < 0 || iw >= p->input_size[1])
                continue;
            acc += w[(c * p->kernel_size[0] + i) * p->kernel_size[1] + j] *
                   x[(c * p->input_size[0] + ih) * p->input_size[1] + iw];
        }
    return acc;
}

static void huge_steps_depthwise(void)
{
    enum { C = 64, H = 3, W = 12 };
    static double x[C * H * W], w[C * 25], y[C * 16 * W], yr[C * 16 * W];
    static float xf[C * H * W], wf[C * 25], yf[C * 16 * W];
    for (int i = 0; i < C * H * W; i++)
        xf[i] = (float)(x[i] = (i * 7 % 23) - 11);
    for (int i = 0; i < C * 25; i++)
        wf[i] = (float)(w[i] = (i * 5 % 17) - 8);
    /* kernel height, width, stride and dilation in height, padding in height */
    static const int64_t cases[][5] = {
        {1, 5, 2, BIG, 3}, {1, 7, 1, BIG, 1}, {1, 5, BIG, 1, 2}, {3, 3, BIG, 1, 1},
        {5, 5, BIG, 1, 2}, {2, 5, BIG, 2, 0}, {1, 9, BIG, BIG, 0},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        gconv_params p;
        gconv_params_init(&p, 2);
        p.in_channels = p.out_channels = p.groups = C;
        p.input_size[0] = H;
        p.input_size[1] = W;
        p.kernel_size[0] = cases[t][0];
        p.kernel_size[1] = cases[t][1];
        p.stride[0] = cases[t][2];
        p.dilation[0] = cases[t][3];
        p.pad_before[0] = p.pad_after[0] = cases[t][4];
        p.pad_before[1] = p.pad_after[1] = cases[t][1] / 2;
        int64_t n_in = 0, n_w = 0, n_out = 0;
        gconv_status st = gconv_buffer_sizes(&p, &n_in, &n_w, &n_out);
        EXPECT(st == GCONV_OK && n_in == C * H * W && n_out <= C * 16 * W,
               "case %zu: sizes %d", t, (int)st);
        if (st != GCONV_OK || n_out > C * 16 * W)
            continue;
        const int64_t oh_n = n_out / (C * W);
        for (int64_t c = 0; c < C; c++)
            for (int64_t oh = 0; oh < oh_n; oh++)
                for (int64_t ow = 0; ow < W; ow++)
                    yr[(c * oh_n + oh) * W + ow] = dw_ref(&p, x, w, c, oh, ow);
        for (int threads = 1; threads <= 2; threads++) {
            st = gconv_conv_f64(&p, x, (size_t)n_in, w, (size_t)n_w, NULL, 0, y,
                                (size_t)n_out, threads);
            int bad = 0;
            for (int64_t i = 0; i < n_out; i++)
                bad += y[i] != yr[i];
            EXPECT(st == GCONV_OK && bad == 0, "case %zu float64, %d threads: %d, %d wrong",
                   t, threads, (int)st, bad);
            st = gconv_conv_f32(&p, xf, (size_t)n_in, wf, (size_t)n_w, NULL, 0, yf,
                                (size_t)n_out, threads);
            bad = 0;
            for (int64_t i = 0; i < n_out; i++)
                bad += yf[i] != (float)yr[i];   /* small integers: exact */
            EXPECT(st == GCONV_OK && bad == 0, "case %zu float32, %d threads: %d, %d wrong",
                   t, threads, (int)st, bad);
        }
    }
}

/* A plan executed on a batch that overflows, or is negative. */
static void plan_batches(void)
{
    gconv_params p = p1(1, 1, 1, 1, (int64_t)1 << 20, 1);
    float w[1] = {1};
    gconv_plan *plan = NULL;
    gconv_status st = gconv_plan_create_f32(&p, w, 1, NULL, 0, &plan);
    EXPECT(st == GCONV_OK && plan != NULL, "plan: %d", (int)st);
    if (plan == NULL)
        return;
    float x[4] = {0}, y[4];
    memset(y, 0x5A, sizeof y);
    st = gconv_plan_execute_f32(plan, (int64_t)1 << 40, x, 4, y, 4, 1);
    EXPECT(st == GCONV_ERR_OVERFLOW, "batch 2^40 x 2^20: %d", (int)st);
    st = gconv_plan_execute_f32(plan, INT64_MAX, x, 4, y, 4, 1);
    EXPECT(st == GCONV_ERR_OVERFLOW, "batch INT64_MAX: %d", (int)st);
    st = gconv_plan_execute_f32(plan, -1, x, 4, y, 4, 1);
    EXPECT(st == GCONV_ERR_SHAPE, "batch -1: %d", (int)st);
    st = gconv_plan_execute_f32(plan, INT64_MIN, x, 4, y, 4, 1);
    EXPECT(st == GCONV_ERR_SHAPE, "batch INT64_MIN: %d", (int)st);
    st = gconv_plan_execute_f32(plan, 0, NULL, 0, NULL, 0, 1);
    EXPECT(st == GCONV_OK, "batch 0: %d", (int)st);
    unsigned char *u = (unsigned char *)y;
    for (size_t i = 0; i < sizeof y; i++)
        EXPECT(u[i] == 0x5A, "output byte %zu written", i);
    gconv_plan_destroy(plan);
}

int main(void)
{
    large_counts();
    overflowing();
    huge_valid_steps();
    huge_steps_depthwise();
    plan_batches();
    printf("test_overflow (%d-bit size_t): %d checks, %d failures\n",
           BIG32 ? 32 : 64, checks, failures);
    return failures == 0 ? 0 : 1;
}
