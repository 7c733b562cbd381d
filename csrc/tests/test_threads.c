/*
 * test_threads.c -- the result does not depend on the thread count: one-shot
 * and plan, float and double, on shapes that take different kernels, with 1
 * to 8 threads and the default, compared bit for bit.
 */
#include "check.h"

typedef struct shape {
    int64_t batch, cin, cout, groups, h, w, k, stride, pad;
} shape;

static const shape shapes[] = {
    {2, 64, 64, 4, 32, 32, 3, 1, 1},      /* grouped 3x3 */
    {2, 128, 128, 32, 28, 28, 3, 1, 1},   /* ResNeXt-like */
    {1, 96, 96, 96, 56, 56, 3, 2, 1},     /* depthwise, stride 2 */
    {2, 144, 144, 144, 40, 40, 3, 1, 1},  /* depthwise */
    {2, 240, 60, 3, 28, 28, 1, 1, 0},     /* grouped 1x1 */
    {1, 32, 64, 32, 48, 48, 5, 1, 2},     /* channel multiplier 2, 5x5 */
};

static void params_of(const shape *s, gconv_params *p)
{
    gconv_params_init(p, 2);
    p->batch = s->batch;
    p->in_channels = s->cin;
    p->out_channels = s->cout;
    p->groups = s->groups;
    p->input_size[0] = s->h;
    p->input_size[1] = s->w;
    for (int d = 0; d < 2; d++) {
        p->kernel_size[d] = s->k;
        p->stride[d] = s->stride;
        p->pad_before[d] = p->pad_after[d] = s->pad;
    }
}

static const int thread_counts[] = {1, 2, 3, 4, 7, 8, 0};
#define NT (sizeof thread_counts / sizeof thread_counts[0])

#define DEFINE_THREAD_TEST(T, SFX, RAND)                                                  \
    static void threads_##SFX(const gconv_params *p)                                    \
    {                                                                                    \
        int64_t nx, nw, ny;                                                              \
        CHECK_STATUS(gconv_buffer_sizes(p, &nx, &nw, &ny), GCONV_OK);                    \
        T *x = RAND(nx), *w = RAND(nw), *b = RAND(p->out_channels);                      \
        T *first = (T *)malloc((size_t)ny * sizeof(T));                                  \
        T *y = (T *)malloc((size_t)ny * sizeof(T));                                      \
        gconv_plan *plan = NULL;                                                         \
        CHECK_STATUS(gconv_plan_create_##SFX(p, w, (size_t)nw, b,                       \
                                             (size_t)p->out_channels, &plan), GCONV_OK); \
        CHECK_STATUS(gconv_conv_##SFX(p, x, (size_t)nx, w, (size_t)nw, b,               \
                                      (size_t)p->out_channels, first, (size_t)ny, 1),    \
                     GCONV_OK);                                                          \
        for (size_t t = 0; t < NT; t++) {                                                \
            memset(y, 0, (size_t)ny * sizeof(T));                                        \
            CHECK_STATUS(gconv_conv_##SFX(p, x, (size_t)nx, w, (size_t)nw, b,           \
                                          (size_t)p->out_channels, y, (size_t)ny,        \
                                          thread_counts[t]),                             \
                         GCONV_OK);                                                      \
            if (memcmp(y, first, (size_t)ny * sizeof(T)) != 0) {                         \
                fprintf(stderr, #SFX " one-shot: %d threads differ from 1 (groups %lld)\n", \
                        thread_counts[t], (long long)p->groups);                        \
                check_failures++;                                                        \
            }                                                                            \
            memset(y, 0, (size_t)ny * sizeof(T));                                        \
            CHECK_STATUS(gconv_plan_execute_##SFX(plan, p->batch, x, (size_t)nx, y,     \
                                                  (size_t)ny, thread_counts[t]),         \
                         GCONV_OK);                                                      \
            if (memcmp(y, first, (size_t)ny * sizeof(T)) != 0) {                         \
                fprintf(stderr, #SFX " plan: %d threads differ from 1 (groups %lld)\n",  \
                        thread_counts[t], (long long)p->groups);                        \
                check_failures++;                                                        \
            }                                                                            \
        }                                                                                \
        gconv_plan_destroy(plan);                                                        \
        free(x);                                                                         \
        free(w);                                                                         \
        free(b);                                                                         \
        free(first);                                                                     \
        free(y);                                                                         \
    }

DEFINE_THREAD_TEST(float, f32, rand_f32)
DEFINE_THREAD_TEST(double, f64, rand_f64)

int main(void)
{
    printf("OpenMP %d, default threads %d, ISA %s\n", gconv_has_openmp(),
           gconv_default_threads(), gconv_isa());
    CHECK(gconv_default_threads() >= 1);
    if (!gconv_has_openmp())
        CHECK(gconv_default_threads() == 1);
    rng_seed(11);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        gconv_params p;
        params_of(&shapes[i], &p);
        threads_f32(&p);
        threads_f64(&p);
    }
    return check_report("test_threads");
}
