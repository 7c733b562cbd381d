/*
 * example.c -- using libgconv from C.
 *
 * Convolves the grouped 3x3 layer of ResNeXt-50's first stage (128 -> 128
 * channels in 32 groups of 4, 56x56, padding 1), checks a few outputs
 * against a direct computation, runs the same layer through a plan, and
 * shows what the library says about a configuration whose channels do not
 * split into whole groups (12 -> 11 channels, groups=3).  Exits 0 when all
 * is as expected.
 *
 * Build (see README.md, "Using the C library"):
 *   cc example.c $(pkg-config --cflags --libs gconv)
 *   cc example.c $(python -m gconv --cflags --libs)
 *   cmake -S . -B build && cmake --build build      (find_package(gconv))
 */
#include <gconv.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deterministic test data in [-1, 1). */
static float value(uint32_t i, uint32_t salt)
{
    uint32_t h = (i + 1u) * 2654435761u ^ salt * 40503u;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    return (float)(h % 20001u) / 10000.0f - 1.0f;
}

static double absval(double v) { return v < 0 ? -v : v; }

int main(void)
{
    printf("libgconv %s (header %s), vector path %s, OpenMP %s\n", gconv_version(),
           GCONV_VERSION_STRING, gconv_isa(), gconv_has_openmp() ? "yes" : "no");

    /* ---- the layer -------------------------------------------------------- */
    gconv_params p;
    gconv_params_init(&p, 2);
    p.batch = 1;
    p.in_channels = 128;
    p.out_channels = 128;
    p.groups = 32;
    p.input_size[0] = p.input_size[1] = 56;
    p.kernel_size[0] = p.kernel_size[1] = 3;
    p.pad_before[0] = p.pad_before[1] = 1;
    p.pad_after[0] = p.pad_after[1] = 1;

    char msg[GCONV_MESSAGE_SIZE];
    gconv_status st = gconv_check_params(&p, msg, sizeof msg);
    if (st != GCONV_OK) {
        fprintf(stderr, "unexpected: %s\n", msg);
        return 1;
    }
    int64_t nx, nw, ny, out[GCONV_MAX_DIMS];
    gconv_buffer_sizes(&p, &nx, &nw, &ny);
    gconv_output_shape(&p, out, NULL);
    printf("ResNeXt-50 stage 1: input 1x128x56x56, weight 128x4x3x3, groups 32 "
           "-> output 1x128x%lldx%lld\n", (long long)out[0], (long long)out[1]);

    float *x = malloc((size_t)nx * sizeof *x);
    float *w = malloc((size_t)nw * sizeof *w);
    float *b = malloc(128 * sizeof *b);
    float *y = malloc((size_t)ny * sizeof *y);
    float *y2 = malloc((size_t)ny * sizeof *y2);
    if (!x || !w || !b || !y || !y2) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (int64_t i = 0; i < nx; i++) x[i] = value((uint32_t)i, 1);
    for (int64_t i = 0; i < nw; i++) w[i] = value((uint32_t)i, 2) * 0.2f;
    for (int64_t i = 0; i < 128; i++) b[i] = value((uint32_t)i, 3);

    st = gconv_conv_f32(&p, x, (size_t)nx, w, (size_t)nw, b, 128, y, (size_t)ny, 0);
    if (st != GCONV_OK) {
        fprintf(stderr, "gconv_conv_f32: %s\n", gconv_strerror(st));
        return 1;
    }

    /* ---- check some outputs against the definition ---------------------------
       output[o][i][j] = bias[o] + sum over the 4 input channels of o's group
       and the 3x3 taps, with zeros outside the input. */
    const int probes[][3] = {{0, 0, 0}, {5, 10, 20}, {37, 55, 55}, {127, 28, 0}, {64, 0, 55}};
    int bad = 0;
    for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
        int o = probes[k][0], i = probes[k][1], j = probes[k][2];
        int g = o / 4;
        double want = b[o], mag = absval(b[o]);
        for (int c = 0; c < 4; c++)
            for (int di = 0; di < 3; di++)
                for (int dj = 0; dj < 3; dj++) {
                    int ii = i - 1 + di, jj = j - 1 + dj;
                    if (ii < 0 || ii >= 56 || jj < 0 || jj >= 56)
                        continue;
                    double t = (double)x[((g * 4 + c) * 56 + ii) * 56 + jj] *
                               (double)w[((o * 4 + c) * 3 + di) * 3 + dj];
                    want += t;
                    mag += absval(t);
                }
        double got = y[((size_t)o * 56 + (size_t)i) * 56 + (size_t)j];
        int ok = absval(got - want) <= 1e-5 * (mag + 1.0);
        printf("  y[0][%3d][%2d][%2d] = %+.6f   direct %+.6f   %s\n", o, i, j, got, want,
               ok ? "ok" : "MISMATCH");
        bad |= !ok;
    }

    /* ---- the same layer through a plan (weights packed once) ---------------- */
    gconv_plan *plan = NULL;
    st = gconv_plan_create_f32(&p, w, (size_t)nw, b, 128, &plan);
    if (st == GCONV_OK)
        st = gconv_plan_execute_f32(plan, 1, x, (size_t)nx, y2, (size_t)ny, 0);
    gconv_plan_destroy(plan);
    if (st != GCONV_OK || memcmp(y, y2, (size_t)ny * sizeof *y) != 0) {
        fprintf(stderr, "plan: %s, %s\n", gconv_strerror(st),
                st == GCONV_OK ? "different result" : "failed");
        bad = 1;
    } else {
        printf("  plan: same result, bit for bit\n");
    }

    /* ---- a configuration that cannot be split into groups --------------------- */
    gconv_params q;
    gconv_params_init(&q, 2);
    q.in_channels = 12;
    q.out_channels = 11;
    q.groups = 3;
    q.input_size[0] = q.input_size[1] = 8;
    q.kernel_size[0] = q.kernel_size[1] = 3;
    st = gconv_check_params(&q, msg, sizeof msg);
    printf("in_channels=12, out_channels=11, groups=3 -> %s (%d):\n  %s\n",
           gconv_strerror(st), (int)st, msg);
    if (st != GCONV_ERR_GROUPS)
        bad = 1;
    /* every entry point refuses it the same way, writing nothing */
    y[0] = 42.0f;
    st = gconv_conv_f32(&q, x, 12 * 64, w, 11 * 4 * 9, NULL, 0, y, 11 * 36, 0);
    if (st != GCONV_ERR_GROUPS || y[0] != 42.0f)
        bad = 1;

    free(x);
    free(w);
    free(b);
    free(y);
    free(y2);
    printf(bad ? "FAILED\n" : "all as expected\n");
    return bad;
}
