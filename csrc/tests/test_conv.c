/*
 * test_conv.c -- gconv_conv_f32 / gconv_conv_f64 against the naive reference
 * of check.h: 1-D, 2-D and 3-D; groups from 1 to depthwise (and depthwise
 * with a channel multiplier); stride, dilation, asymmetric padding, bias or
 * none; batch 0, 1 and more; layer shapes of real networks; and a few hundred
 * random configurations.  Also checks that nothing is written outside the
 * output buffer.
 *
 * Run with GCONV_ISA=generic / avx2 too (ctest does) so every vector path the
 * kernels have is compared with the reference.
 */
#include "check.h"

typedef struct conv_case {
    const char *name;
    int ndim;
    int64_t batch, cin, cout, groups;
    int64_t in[3], k[3], s[3], pb[3], pa[3], dl[3];
    int bias;
} conv_case;

#define GUARD 8

static void params_of(const conv_case *c, gconv_params *p)
{
    gconv_params_init(p, c->ndim);
    p->batch = c->batch;
    p->in_channels = c->cin;
    p->out_channels = c->cout;
    p->groups = c->groups;
    for (int d = 0; d < c->ndim; d++) {
        p->input_size[d] = c->in[d];
        p->kernel_size[d] = c->k[d];
        p->stride[d] = c->s[d] ? c->s[d] : 1;
        p->pad_before[d] = c->pb[d];
        p->pad_after[d] = c->pa[d];
        p->dilation[d] = c->dl[d] ? c->dl[d] : 1;
    }
}

static void describe(const gconv_params *p, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%dd batch=%lld cin=%lld cout=%lld groups=%lld", p->ndim,
                     (long long)p->batch, (long long)p->in_channels,
                     (long long)p->out_channels, (long long)p->groups);
    for (int d = 0; d < p->ndim && n > 0 && (size_t)n < size; d++)
        n += snprintf(buf + n, size - (size_t)n, " [in %lld k %lld s %lld p %lld/%lld d %lld]",
                      (long long)p->input_size[d], (long long)p->kernel_size[d],
                      (long long)p->stride[d], (long long)p->pad_before[d],
                      (long long)p->pad_after[d], (long long)p->dilation[d]);
}

/* Runs one configuration in one dtype; returns 0 when it agrees. */
static int run_case(const char *name, const gconv_params *p, int with_bias, int f64)
{
    char desc[512];
    describe(p, desc, sizeof desc);
    char msg[GCONV_MESSAGE_SIZE];
    gconv_status st = gconv_check_params(p, msg, sizeof msg);
    if (st != GCONV_OK) {
        fprintf(stderr, "%s (%s): test case is invalid: %s\n", name, desc, msg);
        check_failures++;
        return 1;
    }
    int64_t nx, nw, ny;
    CHECK_STATUS(gconv_buffer_sizes(p, &nx, &nw, &ny), GCONV_OK);
    size_t es = f64 ? sizeof(double) : sizeof(float);
    void *x = f64 ? (void *)rand_f64(nx) : (void *)rand_f32(nx);
    void *w = f64 ? (void *)rand_f64(nw) : (void *)rand_f32(nw);
    void *b = NULL;
    if (with_bias)
        b = f64 ? (void *)rand_f64(p->out_channels) : (void *)rand_f32(p->out_channels);
    unsigned char *ybuf = (unsigned char *)malloc((size_t)(ny + 2 * GUARD) * es);
    double *want = (double *)malloc((size_t)(ny > 0 ? ny : 1) * sizeof(double));
    double *absum = (double *)malloc((size_t)(ny > 0 ? ny : 1) * sizeof(double));
    if (!x || !w || (with_bias && !b) || !ybuf || !want || !absum) {
        fprintf(stderr, "%s: out of memory in the test\n", name);
        exit(2);
    }
    memset(ybuf, 0xA5, (size_t)(ny + 2 * GUARD) * es);
    void *y = ybuf + GUARD * es;
    size_t bl = with_bias ? (size_t)p->out_channels : 0;

    if (f64)
        st = gconv_conv_f64(p, nx ? (const double *)x : NULL, (size_t)nx, (const double *)w,
                            (size_t)nw, (const double *)b, bl, ny ? (double *)y : NULL,
                            (size_t)ny, 0);
    else
        st = gconv_conv_f32(p, nx ? (const float *)x : NULL, (size_t)nx, (const float *)w,
                            (size_t)nw, (const float *)b, bl, ny ? (float *)y : NULL,
                            (size_t)ny, 0);
    int bad = 0;
    if (st != GCONV_OK) {
        fprintf(stderr, "%s %s (%s): %s\n", name, f64 ? "f64" : "f32", desc, status_name(st));
        bad = 1;
    } else {
        int64_t terms;
        ref_get get = f64 ? get_f64 : get_f32;
        reference_conv(p, get, x, w, b, want, absum, &terms);
        double ratio = max_error_ratio(get, y, want, absum, ny, terms,
                                       f64 ? 1.1102230246251565e-16 : 5.9604644775390625e-08);
        if (ratio > 1.0) {
            fprintf(stderr, "%s %s (%s): error %.3g times the bound\n", name,
                    f64 ? "f64" : "f32", desc, ratio);
            bad = 1;
        }
        for (size_t i = 0; i < GUARD * es; i++) {
            if (ybuf[i] != 0xA5 || ybuf[(size_t)(GUARD + ny) * es + i] != 0xA5) {
                fprintf(stderr, "%s %s (%s): wrote outside the output\n", name,
                        f64 ? "f64" : "f32", desc);
                bad = 1;
                break;
            }
        }
    }
    check_failures += bad;
    free(x);
    free(w);
    free(b);
    free(ybuf);
    free(want);
    free(absum);
    return bad;
}

/* Hand-picked cases: every feature alone and together, in 1, 2 and 3 dims. */
static const conv_case cases[] = {
    /* name            nd batch cin cout g   in            k          s          pb         pa         dl      bias */
    {"1d plain",        1, 1, 1, 1, 1, {7}, {3}, {1}, {0}, {0}, {1}, 0},
    {"1d groups",       1, 2, 6, 9, 3, {17}, {3}, {1}, {1}, {1}, {1}, 1},
    {"1d stride dil",   1, 3, 4, 4, 2, {31}, {5}, {3}, {2}, {0}, {2}, 1},
    {"1d asym pad",     1, 1, 8, 4, 4, {10}, {4}, {2}, {3}, {0}, {1}, 0},
    {"1d depthwise",    1, 2, 16, 16, 16, {50}, {7}, {1}, {3}, {3}, {1}, 1},
    {"1d k = padded",   1, 1, 2, 2, 1, {3}, {5}, {1}, {1}, {1}, {1}, 1},
    {"1d batch 0",      1, 0, 4, 4, 2, {9}, {3}, {1}, {1}, {1}, {1}, 1},
    {"2d plain",        2, 1, 3, 5, 1, {8, 9}, {3, 3}, {1, 1}, {0, 0}, {0, 0}, {1, 1}, 1},
    {"2d resnext-ish",  2, 2, 32, 32, 8, {12, 12}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
    {"2d stride 2",     2, 1, 16, 32, 4, {15, 14}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0},
    {"2d dilation",     2, 1, 6, 6, 3, {13, 11}, {3, 2}, {1, 2}, {2, 1}, {2, 0}, {2, 3}, 1},
    {"2d asymmetric",   2, 3, 4, 8, 2, {7, 10}, {2, 5}, {3, 1}, {0, 4}, {1, 0}, {1, 1}, 1},
    {"2d depthwise",    2, 2, 24, 24, 24, {20, 20}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
    {"2d dw s2",        2, 1, 24, 24, 24, {21, 20}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0},
    {"2d dw 5x5",       2, 1, 16, 16, 16, {14, 14}, {5, 5}, {1, 1}, {2, 2}, {2, 2}, {1, 1}, 1},
    {"2d dw mult 2",    2, 2, 8, 16, 8, {16, 16}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
    {"2d 1x1 groups",   2, 2, 24, 12, 3, {9, 9}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, {1, 1}, 1},
    {"2d 1x1 s2",       2, 1, 8, 8, 2, {9, 9}, {1, 1}, {2, 2}, {0, 0}, {0, 0}, {1, 1}, 0},
    {"2d big pad",      2, 1, 2, 4, 2, {3, 3}, {3, 3}, {1, 1}, {4, 4}, {4, 4}, {1, 1}, 1},
    {"2d width 1",      2, 1, 4, 4, 4, {9, 1}, {3, 1}, {1, 1}, {1, 0}, {1, 0}, {1, 1}, 1},
    {"2d wide",         2, 1, 4, 8, 2, {3, 67}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
    {"2d cin_g 1 cout_g 3", 2, 1, 4, 12, 4, {10, 10}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
    {"2d cin_g 5 cout_g 1", 2, 1, 20, 4, 4, {10, 10}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
    {"2d batch 0",      2, 0, 8, 8, 4, {6, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
    {"3d plain",        3, 1, 2, 3, 1, {5, 6, 7}, {3, 3, 3}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, {1, 1, 1}, 1},
    {"3d groups",       3, 2, 8, 8, 4, {6, 7, 8}, {3, 3, 3}, {1, 2, 1}, {1, 1, 1}, {1, 0, 1}, {1, 1, 1}, 1},
    {"3d dw dil",       3, 1, 6, 6, 6, {7, 8, 9}, {2, 3, 3}, {1, 1, 2}, {0, 2, 1}, {1, 2, 1}, {2, 2, 1}, 0},
    {"3d 1x1x1",        3, 2, 6, 4, 2, {3, 4, 5}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, {1, 1, 1}, 1},
    /* layers of real networks at batch 1 (from the benchmark shapes) */
    {"resnext50_s1",    2, 1, 128, 128, 32, {56, 56}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
    {"resnext50_s2_down", 2, 1, 256, 256, 32, {28, 28}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0},
    {"mbv2_dw_56",      2, 1, 144, 144, 144, {56, 56}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
    {"mbv2_dw_112_s2",  2, 1, 96, 96, 96, {56, 56}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0},
    {"effb0_dw5_14",    2, 1, 672, 672, 672, {14, 14}, {5, 5}, {1, 1}, {2, 2}, {2, 2}, {1, 1}, 1},
    {"shufflenet_g3",   2, 1, 240, 60, 3, {28, 28}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, {1, 1}, 1},
    {"regnetx_gw24",    2, 1, 168, 168, 7, {14, 14}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
    {"dw_mult2",        2, 1, 32, 64, 32, {28, 28}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
};

/* A random valid configuration, small enough for the reference. */
static void random_params(gconv_params *p, int *with_bias)
{
    int ndim = (int)rng_int(1, 3);
    gconv_params_init(p, ndim);
    int64_t groups = rng_int(1, 6);
    int64_t cin_g = rng_int(1, 5), cout_g = rng_int(1, 5);
    if (rng_int(0, 3) == 0) { /* depthwise-like */
        groups = rng_int(2, 24);
        cin_g = 1;
        cout_g = rng_int(1, 2);
    }
    p->groups = groups;
    p->in_channels = groups * cin_g;
    p->out_channels = groups * cout_g;
    p->batch = rng_int(0, 3);
    for (int d = 0; d < ndim; d++) {
        int64_t k = rng_int(1, ndim == 3 ? 3 : 5);
        int64_t dil = rng_int(1, 3);
        int64_t span = dil * (k - 1) + 1;
        int64_t pb = rng_int(0, 3), pa = rng_int(0, 3);
        int64_t in_min = span - pb - pa > 1 ? span - pb - pa : 1;
        p->input_size[d] = rng_int(in_min, in_min + (ndim == 3 ? 6 : 15));
        p->kernel_size[d] = k;
        p->dilation[d] = dil;
        p->stride[d] = rng_int(1, 3);
        p->pad_before[d] = pb;
        p->pad_after[d] = pa;
    }
    *with_bias = (int)rng_int(0, 1);
}

int main(void)
{
    const size_t ncases = sizeof cases / sizeof cases[0];
    printf("gconv %s, ISA %s, OpenMP %d, default threads %d\n", gconv_version(),
           gconv_isa(), gconv_has_openmp(), gconv_default_threads());
    for (size_t i = 0; i < ncases; i++) {
        gconv_params p;
        params_of(&cases[i], &p);
        for (int f64 = 0; f64 <= 1; f64++) {
            rng_seed(1000 + i);
            run_case(cases[i].name, &p, cases[i].bias, f64);
        }
    }
    for (int i = 0; i < 300; i++) {
        gconv_params p;
        int with_bias;
        rng_seed(77 + (uint64_t)i);
        random_params(&p, &with_bias);
        char name[32];
        snprintf(name, sizeof name, "random #%d", i);
        run_case(name, &p, with_bias, i % 2);
    }
    return check_report("test_conv");
}
