/*
 * test_alloc_fail.c -- allocation failure in the C core, at every
 * allocation point.
 *
 * Linked with -Wl,--wrap=malloc,--wrap=calloc,... so that every allocation
 * the library's objects make goes through the wrappers below.  For each
 * scenario (shape x dtype x ISA cap x thread count, one-shot call and
 * plan create + execute + destroy) the test first counts the allocations a
 * clean run makes, then reruns it failing the 1st, 2nd, ... allocation and
 * checks: the call returns GCONV_ERR_NO_MEMORY, the output is untouched, a
 * failed creation leaves *plan NULL, and nothing the library allocated is
 * left behind.  It also checks that parameters the gate rejects (overflowing
 * sizes included) cause no allocation at all.
 *
 * Exit status 0 when every check passed.
 */
#include "fuzz_common.h"

#include <errno.h>

/* ---- the wrappers -------------------------------------------------------- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);
int __real_posix_memalign(void **p, size_t align, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void __wrap_free(void *p);
int __wrap_posix_memalign(void **p, size_t align, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);

static int armed;          /* count (and maybe fail) only while armed */
static long calls;         /* allocation calls while armed */
static long fail_at;       /* fail the fail_at-th call (1-based); 0: never */
static long failed;        /* allocations failed on purpose */
static long live;          /* successful allocations not yet freed */

static int fail_now(void)
{
    if (!armed)
        return 0;
    calls++;
    if (fail_at > 0 && calls == fail_at) {
        failed++;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t size)
{
    if (fail_now())
        return NULL;
    void *p = __real_malloc(size);
    if (p != NULL && armed)
        live++;
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (fail_now())
        return NULL;
    void *p = __real_calloc(n, size);
    if (p != NULL && armed)
        live++;
    return p;
}

void *__wrap_realloc(void *q, size_t size)
{
    if (fail_now())
        return NULL;
    void *p = __real_realloc(q, size);
    if (p != NULL && q == NULL && armed)
        live++;
    return p;
}

void __wrap_free(void *p)
{
    if (p != NULL && armed)
        live--;
    __real_free(p);
}

int __wrap_posix_memalign(void **p, size_t align, size_t size)
{
    if (fail_now())
        return ENOMEM;
    int r = __real_posix_memalign(p, align, size);
    if (r == 0 && armed)
        live++;
    return r;
}

void *__wrap_aligned_alloc(size_t align, size_t size)
{
    if (fail_now())
        return NULL;
    void *p = __real_aligned_alloc(align, size);
    if (p != NULL && armed)
        live++;
    return p;
}

/* ---- scenarios ------------------------------------------------------------- */

typedef struct shape_case {
    const char *name;
    int ndim;
    int64_t batch, cin, cout, groups;
    int64_t size[3], k[3], stride[3], pad[3], dil[3];
} shape_case;

static const shape_case cases[] = {
    {"depthwise 3x3", 2, 2, 32, 32, 32, {9, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}},
    {"grouped 3x3 s2", 2, 1, 64, 64, 32, {14, 14}, {3, 3}, {2, 2}, {1, 1}, {1, 1}},
    {"grouped 3x3", 2, 1, 64, 128, 4, {8, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1}},
    {"pointwise g4", 2, 2, 128, 64, 4, {7, 7}, {1, 1}, {1, 1}, {0, 0}, {1, 1}},
    {"dense 5x5", 2, 1, 16, 24, 1, {12, 12}, {5, 5}, {1, 1}, {2, 2}, {1, 1}},
    {"dilated", 2, 1, 8, 8, 2, {11, 11}, {3, 3}, {1, 1}, {2, 2}, {2, 2}},
    {"conv1d", 1, 3, 12, 24, 3, {33}, {5}, {2}, {2}, {1}},
    {"conv3d", 3, 1, 8, 16, 4, {5, 6, 7}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}},
    {"temporal 3x1x1", 3, 2, 32, 32, 2, {6, 5, 6}, {3, 1, 1}, {1, 1, 1}, {1, 0, 0}, {1, 1, 1}},
    {"depthwise 5x5 14x14", 2, 2, 16, 16, 16, {14, 14}, {5, 5}, {1, 1}, {2, 2}, {1, 1}},
};

static void fill_params(gconv_params *p, const shape_case *c)
{
    gconv_params_init(p, c->ndim);
    p->batch = c->batch;
    p->in_channels = c->cin;
    p->out_channels = c->cout;
    p->groups = c->groups;
    for (int d = 0; d < c->ndim; d++) {
        p->input_size[d] = c->size[d];
        p->kernel_size[d] = c->k[d];
        p->stride[d] = c->stride[d];
        p->pad_before[d] = p->pad_after[d] = c->pad[d];
        p->dilation[d] = c->dil[d];
    }
}

static int failures;

#define EXPECT(cond, ...)                                                       \
    do {                                                                        \
        if (!(cond)) {                                                          \
            failures++;                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fprintf(stderr, "\n");                                              \
        }                                                                       \
    } while (0)

typedef struct buffers {
    void *x, *w, *b, *y, *y_ref;
    size_t nx, nw, nb, ny, elem;
} buffers;

static void make_buffers(buffers *bf, const fz_model *m, int is_f64)
{
    bf->elem = is_f64 ? 8 : 4;
    bf->nx = (size_t)m->n_in;
    bf->nw = (size_t)m->n_w;
    bf->nb = (size_t)m->n_b;
    bf->ny = (size_t)m->n_out;
    bf->x = __real_malloc(bf->nx * bf->elem);
    bf->w = __real_malloc(bf->nw * bf->elem);
    bf->b = __real_malloc(bf->nb * bf->elem);
    bf->y = __real_malloc(bf->ny * bf->elem);
    bf->y_ref = __real_malloc(bf->ny * bf->elem);
    uint64_t s = 12345;
    void *arrs[3] = {bf->x, bf->w, bf->b};
    size_t ns[3] = {bf->nx, bf->nw, bf->nb};
    for (int a = 0; a < 3; a++) {
        for (size_t i = 0; i < ns[a]; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            double v = (double)((int)(s >> 59) - 16) / 8.0;
            if (is_f64)
                ((double *)arrs[a])[i] = v;
            else
                ((float *)arrs[a])[i] = (float)v;
        }
    }
}

static void free_buffers(buffers *bf)
{
    __real_free(bf->x);
    __real_free(bf->w);
    __real_free(bf->b);
    __real_free(bf->y);
    __real_free(bf->y_ref);
}

/* One run of a scenario with the current fault setting: 0 = one-shot, 1 =
   plan.  Returns the status of the first failing step (or OK). */
static gconv_status run_once(int mode, const gconv_params *p, const buffers *bf,
                             int is_f64, int threads, int *plan_left_null)
{
    *plan_left_null = 1;
    if (mode == 0) {
        if (is_f64)
            return gconv_conv_f64(p, bf->x, bf->nx, bf->w, bf->nw, bf->b, bf->nb, bf->y,
                                  bf->ny, threads);
        return gconv_conv_f32(p, bf->x, bf->nx, bf->w, bf->nw, bf->b, bf->nb, bf->y,
                              bf->ny, threads);
    }
    gconv_plan *plan = (gconv_plan *)&plan;
    gconv_status st = is_f64
        ? gconv_plan_create_f64(p, bf->w, bf->nw, bf->b, bf->nb, &plan)
        : gconv_plan_create_f32(p, bf->w, bf->nw, bf->b, bf->nb, &plan);
    if (st != GCONV_OK) {
        *plan_left_null = plan == NULL;
        return st;
    }
    st = is_f64 ? gconv_plan_execute_f64(plan, p->batch, bf->x, bf->nx, bf->y, bf->ny,
                                         threads)
                : gconv_plan_execute_f32(plan, p->batch, bf->x, bf->nx, bf->y, bf->ny,
                                         threads);
    gconv_plan_destroy(plan);
    return st;
}

static long total_points, total_runs;

static void scenario(const shape_case *c, int is_f64, const char *isa, int threads,
                     int mode)
{
    gconv_params p;
    fill_params(&p, c);
    fz_model m = fz_model_params(&p);
    EXPECT(m.status == GCONV_OK, "%s is not a valid case", c->name);
    buffers bf;
    make_buffers(&bf, &m, is_f64);

    /* the clean run: count the allocation points */
    int plan_null;
    memset(bf.y, 0x5A, bf.ny * bf.elem);
    armed = 1;
    calls = failed = live = 0;
    fail_at = 0;
    gconv_status st = run_once(mode, &p, &bf, is_f64, threads, &plan_null);
    armed = 0;
    long points = calls;
    EXPECT(st == GCONV_OK, "%s: clean run gave %d", c->name, (int)st);
    EXPECT(live == 0, "%s: %ld allocations left after a clean run", c->name, live);
    fz_compare_reference(&p, &m, p.batch, is_f64, bf.x, bf.w, bf.b, bf.y);
    memcpy(bf.y_ref, bf.y, bf.ny * bf.elem);

    for (long k = 1; k <= points + 1; k++) {
        memset(bf.y, 0x5A, bf.ny * bf.elem);
        armed = 1;
        calls = failed = live = 0;
        fail_at = k;
        st = run_once(mode, &p, &bf, is_f64, threads, &plan_null);
        armed = 0;
        total_runs++;
        EXPECT(live == 0, "%s (%s, %s, isa %s, %d threads): failing allocation %ld "
               "leaked %ld blocks", c->name, mode ? "plan" : "one-shot",
               is_f64 ? "f64" : "f32", isa, threads, k, live);
        if (failed) {
            EXPECT(st == GCONV_ERR_NO_MEMORY, "%s (%s): failing allocation %ld/%ld gave "
                   "status %d", c->name, mode ? "plan" : "one-shot", k, points, (int)st);
            EXPECT(plan_null, "%s: a failed plan creation left *plan set", c->name);
            int untouched = 1;
            for (size_t i = 0; i < bf.ny * bf.elem; i++)
                untouched &= ((unsigned char *)bf.y)[i] == 0x5A;
            EXPECT(untouched, "%s (%s): output written by a call that failed "
                   "allocation %ld", c->name, mode ? "plan" : "one-shot", k);
        } else {
            EXPECT(k == points + 1, "%s: allocation %ld of %ld did not happen", c->name,
                   k, points);
            EXPECT(st == GCONV_OK, "%s: run past the last allocation gave %d", c->name,
                   (int)st);
            EXPECT(memcmp(bf.y, bf.y_ref, bf.ny * bf.elem) == 0,
                   "%s: result differs from the clean run", c->name);
        }
    }
    total_points += points;
    free_buffers(&bf);
}

/* Rejected parameters must not allocate anything. */
static void rejected_without_allocation(void)
{
    static const struct { int64_t cin, cout, groups, size, k, pad, stride, batch; } bad[] = {
        {12, 11, 3, 8, 3, 0, 1, 1},                          /* groups */
        {4, 4, 1, 2, 5, 0, 1, 1},                            /* kernel > input */
        {1, 1, 1, 4, 1, FZ_MAX_ELEMENTS, 1, 1},              /* padding overflow */
        {1, 1, 1, (int64_t)1 << 40, 1, 0, 1, (int64_t)1 << 40},  /* input count */
        {(int64_t)1 << 31, (int64_t)1 << 31, 1, 1, 1, 0, 1, 1},  /* weight count */
        {3, 3, 1, 1, 1, 6148914691236517206LL / 3, 1, 9},        /* out count wraps */
    };
    float dummy[16] = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gconv_params p;
        gconv_params_init(&p, 1);
        p.in_channels = bad[i].cin;
        p.out_channels = bad[i].cout;
        p.groups = bad[i].groups;
        p.input_size[0] = bad[i].size;
        p.kernel_size[0] = bad[i].k;
        p.pad_before[0] = p.pad_after[0] = bad[i].pad;
        p.stride[0] = bad[i].stride;
        p.batch = bad[i].batch;
        gconv_status expect = gconv_check_params(&p, NULL, 0);
        EXPECT(expect != GCONV_OK, "rejected case %zu was accepted", i);
        armed = 1;
        calls = failed = live = 0;
        fail_at = 0;
        gconv_plan *plan = NULL;
        gconv_status s1 = gconv_conv_f32(&p, dummy, 16, dummy, 16, NULL, 0, dummy + 8, 8, 1);
        gconv_status s2 = gconv_plan_create_f32(&p, dummy, 16, NULL, 0, &plan);
        armed = 0;
        EXPECT(s1 == expect && s2 == expect, "case %zu: %d %d vs %d", i, (int)s1, (int)s2,
               (int)expect);
        EXPECT(calls == 0, "rejected case %zu made %ld allocations", i, calls);
    }
}

int main(void)
{
    static const char *isas[] = {NULL, "generic", "avx2"};
    static const int thread_counts[] = {1, 2};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int is_f64 = 0; is_f64 < 2; is_f64++)
            for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
                if (isas[i] == NULL)
                    unsetenv("GCONV_ISA");
                else
                    setenv("GCONV_ISA", isas[i], 1);
                for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++)
                    for (int mode = 0; mode < 2; mode++)
                        scenario(&cases[c], is_f64, isas[i] ? isas[i] : "best",
                                 thread_counts[t], mode);
            }
    unsetenv("GCONV_ISA");
    rejected_without_allocation();
    printf("test_alloc_fail: %ld allocation points over %zu scenarios, %ld faulted runs, "
           "%d failures\n", total_points,
           (size_t)(sizeof cases / sizeof cases[0]) * 2 * 3 * 2 * 2, total_runs, failures);
    return failures == 0 ? 0 : 1;
}
