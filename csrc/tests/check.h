/*
 * check.h -- what the C tests share: CHECK macros that count failures, a
 * deterministic random generator, and the naive reference convolution the
 * library's results are compared with.  Uses only the public header.
 */
#ifndef GCONV_TEST_CHECK_H
#define GCONV_TEST_CHECK_H

#include "gconv.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures = 0;

static inline void check_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, what);
    check_failures++;
}

#define CHECK(cond)                                                     \
    do {                                                                \
        if (!(cond))                                                    \
            check_fail(__FILE__, __LINE__, #cond);                      \
    } while (0)

static inline const char *status_name(gconv_status st)
{
    switch (st) {
    case GCONV_OK: return "GCONV_OK";
    case GCONV_ERR_GROUPS: return "GCONV_ERR_GROUPS";
    case GCONV_ERR_SHAPE: return "GCONV_ERR_SHAPE";
    case GCONV_ERR_OVERFLOW: return "GCONV_ERR_OVERFLOW";
    case GCONV_ERR_BUFFER_SIZE: return "GCONV_ERR_BUFFER_SIZE";
    case GCONV_ERR_NULL_POINTER: return "GCONV_ERR_NULL_POINTER";
    case GCONV_ERR_STRUCT_SIZE: return "GCONV_ERR_STRUCT_SIZE";
    case GCONV_ERR_DTYPE: return "GCONV_ERR_DTYPE";
    case GCONV_ERR_NO_MEMORY: return "GCONV_ERR_NO_MEMORY";
    case GCONV_ERR_OVERLAP: return "GCONV_ERR_OVERLAP";
    }
    return "(unknown)";
}

static inline void check_status_at(const char *file, int line, const char *expr,
                            gconv_status got, gconv_status want)
{
    if (got != want) {
        fprintf(stderr, "%s:%d: %s returned %s (%d), expected %s (%d)\n", file, line,
                expr, status_name(got), (int)got, status_name(want), (int)want);
        check_failures++;
    }
}

#define CHECK_STATUS(expr, want) \
    check_status_at(__FILE__, __LINE__, #expr, (expr), (want))

static inline int check_report(const char *name)
{
    if (check_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

/* ---- deterministic random numbers (xorshift64*) ----------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static inline void rng_seed(uint64_t seed)
{
    rng_state = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    if (rng_state == 0)
        rng_state = 1;
}

static inline uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* uniform integer in [lo, hi] */
static inline int64_t rng_int(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_next() % (uint64_t)(hi - lo + 1));
}

/* uniform in [-1, 1) */
static inline double rng_unit(void)
{
    return (double)(rng_next() >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static inline float *rand_f32(int64_t n)
{
    float *a = (float *)malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    for (int64_t i = 0; a != NULL && i < n; i++)
        a[i] = (float)rng_unit();
    return a;
}

static inline double *rand_f64(int64_t n)
{
    double *a = (double *)malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    for (int64_t i = 0; a != NULL && i < n; i++)
        a[i] = rng_unit();
    return a;
}

/* ---- the reference convolution -------------------------------------------------

   Straight from the definition in gconv.h, in double, with the spatial
   dimensions padded to three (leading size-1 dimensions).  Also returns, per
   output element, the sum of |terms| (for an error bound) and the number of
   terms. */

typedef struct ref_dims {
    int64_t in[3], k[3], s[3], pb[3], dl[3], out[3];
} ref_dims;

static inline void ref_dims_of(const gconv_params *p, ref_dims *r)
{
    int off = 3 - p->ndim;
    int64_t osz[GCONV_MAX_DIMS];
    gconv_output_shape(p, osz, NULL);
    for (int j = 0; j < 3; j++) {
        r->in[j] = r->k[j] = r->s[j] = r->dl[j] = r->out[j] = 1;
        r->pb[j] = 0;
    }
    for (int d = 0; d < p->ndim; d++) {
        r->in[off + d] = p->input_size[d];
        r->k[off + d] = p->kernel_size[d];
        r->s[off + d] = p->stride[d];
        r->pb[off + d] = p->pad_before[d];
        r->dl[off + d] = p->dilation[d];
        r->out[off + d] = osz[d];
    }
}

/* x, w, b are read through the getter so one reference serves both dtypes. */
typedef double (*ref_get)(const void *a, int64_t i);

static inline double get_f32(const void *a, int64_t i) { return (double)((const float *)a)[i]; }
static inline double get_f64(const void *a, int64_t i) { return ((const double *)a)[i]; }

static inline void reference_conv(const gconv_params *p, ref_get get, const void *x,
                           const void *w, const void *b, double *y, double *absum,
                           int64_t *terms)
{
    ref_dims r;
    ref_dims_of(p, &r);
    const int64_t cin_g = p->in_channels / p->groups;
    const int64_t cout_g = p->out_channels / p->groups;
    const int64_t in_plane = r.in[0] * r.in[1] * r.in[2];
    const int64_t k_vol = r.k[0] * r.k[1] * r.k[2];
    int64_t idx = 0;
    *terms = cin_g * k_vol + (b != NULL);
    for (int64_t n = 0; n < p->batch; n++)
        for (int64_t o = 0; o < p->out_channels; o++) {
            const int64_t g = o / cout_g;
            for (int64_t z = 0; z < r.out[0]; z++)
                for (int64_t v = 0; v < r.out[1]; v++)
                    for (int64_t u = 0; u < r.out[2]; u++, idx++) {
                        double acc = b != NULL ? get(b, o) : 0.0;
                        double mag = fabs(acc);
                        for (int64_t c = 0; c < cin_g; c++) {
                            const int64_t ic = g * cin_g + c;
                            for (int64_t kz = 0; kz < r.k[0]; kz++)
                                for (int64_t kv = 0; kv < r.k[1]; kv++)
                                    for (int64_t ku = 0; ku < r.k[2]; ku++) {
                                        int64_t iz = z * r.s[0] - r.pb[0] + kz * r.dl[0];
                                        int64_t iv = v * r.s[1] - r.pb[1] + kv * r.dl[1];
                                        int64_t iu = u * r.s[2] - r.pb[2] + ku * r.dl[2];
                                        if (iz < 0 || iz >= r.in[0] || iv < 0 ||
                                            iv >= r.in[1] || iu < 0 || iu >= r.in[2])
                                            continue;
                                        double xv = get(x, (n * p->in_channels + ic) * in_plane +
                                                               (iz * r.in[1] + iv) * r.in[2] + iu);
                                        double wv = get(w, ((o * cin_g + c) * r.k[0] + kz) *
                                                               r.k[1] * r.k[2] +
                                                           kv * r.k[2] + ku);
                                        acc += xv * wv;
                                        mag += fabs(xv * wv);
                                    }
                        }
                        y[idx] = acc;
                        absum[idx] = mag;
                    }
        }
}

/* Largest |got - want| / bound over the output, where bound is the classic
   error bound of a sum of `terms` products in precision eps (plus a little
   for the inputs' rounding), so a ratio above 1 is a wrong result. */
static inline double max_error_ratio(ref_get get, const void *got, const double *want,
                              const double *absum, int64_t n, int64_t terms, double eps)
{
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double bound = 2.0 * (double)(terms + 2) * eps * absum[i] + 1e-300;
        double err = fabs(get(got, i) - want[i]);
        double ratio = err / bound;
        if (!(ratio <= worst))   /* NaN counts as worst */
            worst = ratio != ratio ? INFINITY : ratio;
    }
    return worst;
}

#endif /* GCONV_TEST_CHECK_H */
