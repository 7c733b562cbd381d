/*
 * fuzz_common.h -- what the fuzz targets of libgconv share: a reader that
 * turns fuzz bytes into parameters, lengths and values; an independent
 * model of the gate (exact 128-bit arithmetic); a naive reference
 * convolution; guarded buffers.
 *
 * The targets call only the public API (gconv.h).  Any violated expectation
 * prints what went wrong and aborts, which libFuzzer records as a crash.
 *
 * Bounded work: no buffer the harness allocates exceeds FZ_CAP elements and
 * a convolution runs only when it costs at most FZ_WORK multiply-adds, so
 * every input runs in well under a millisecond or two.
 */
#ifndef GCONV_FUZZ_COMMON_H
#define GCONV_FUZZ_COMMON_H

#include "gconv.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__SIZEOF_INT128__)
#  error "the fuzz harness models the gate in 128-bit arithmetic"
#endif
__extension__ typedef __int128 fz_i128;

#define FZ_CAP 4096                 /* elements of any buffer we allocate */
#define FZ_WORK (1 << 19)           /* multiply-adds of a convolution we run */
#define FZ_GUARD 64                 /* guard bytes before and after a buffer */
#define FZ_GUARD_BYTE 0xA5
#define FZ_OUT_FILL 0x5A            /* what an output holds before a call */
#define FZ_MAX_ELEMENTS (INT64_MAX / 8)

#define FZ_CHECK(cond, ...)                                                   \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "gconv fuzz: %s:%d: check failed: %s\n  ",        \
                    __FILE__, __LINE__, #cond);                               \
            fprintf(stderr, __VA_ARGS__);                                     \
            fprintf(stderr, "\n");                                            \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* ---- reading the fuzz input ------------------------------------------------ */

typedef struct fz_reader {
    const uint8_t *p;
    size_t n;
    uint64_t state;   /* a PRNG for when the input runs out */
} fz_reader;

static void fz_init(fz_reader *r, const uint8_t *data, size_t size)
{
    r->p = data;
    r->n = size;
    r->state = 0x9E3779B97F4A7C15ull ^ size;
    for (size_t i = 0; i < size; i++)
        r->state = (r->state ^ data[i]) * 0x100000001B3ull;
}

static uint8_t fz_u8(fz_reader *r)
{
    if (r->n > 0) {
        r->n--;
        return *r->p++;
    }
    r->state ^= r->state << 13;
    r->state ^= r->state >> 7;
    r->state ^= r->state << 17;
    return (uint8_t)(r->state >> 24);
}

static uint64_t fz_u64(fz_reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)fz_u8(r) << (8 * i);
    return v;
}

/* Values at the edges of every range the gate and the kernels care about. */
static const int64_t fz_special[] = {
    0, 1, -1, 2, 3, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
    INT32_MAX, (int64_t)INT32_MAX + 1, INT32_MIN, (int64_t)UINT32_MAX,
    (int64_t)UINT32_MAX + 1, (int64_t)1 << 40, (int64_t)1 << 62,
    FZ_MAX_ELEMENTS, FZ_MAX_ELEMENTS + 1, FZ_MAX_ELEMENTS - 1,
    3037000499, 3037000500, 2097151, 2097152, 46340, 46341, 65536, 65537,
    (int64_t)1 << 31, (int64_t)1 << 20, 1000003, 4, 5, 7, 8, 16, 64,
};

/* A 64-bit field: mostly small (so many inputs describe valid
   convolutions), sometimes negative, special or arbitrary. */
static int64_t fz_field(fz_reader *r)
{
    uint8_t mode = fz_u8(r);
    int sel = mode & 7, hi = mode >> 3;   /* hi in 0..31 */
    switch (sel) {
    case 0:
        return hi % 4;
    case 1:
    case 2:
    case 3:
        return hi % 8 + 1;
    case 4:
        return hi + 1;
    case 5:
        return fz_special[(size_t)hi % (sizeof fz_special / sizeof fz_special[0])];
    case 6:
        return (int64_t)fz_u64(r);
    default:
        return -(int64_t)hi - 1;
    }
}

/* An optional override: most of the time keep `usual`. */
static int64_t fz_field_or(fz_reader *r, int64_t usual)
{
    uint8_t b = fz_u8(r);
    if (b < 176)
        return usual;
    return fz_field(r);
}

static size_t fz_struct_size(fz_reader *r)
{
    uint8_t b = fz_u8(r);
    switch (b % 16) {
    case 0:
        return 0;
    case 1:
        return sizeof(gconv_params) - 8;
    case 2:
        return sizeof(gconv_params) + 8 * (size_t)(b >> 4);
    case 3:
        return (size_t)fz_u8(r);
    default:
        return sizeof(gconv_params);
    }
}

/* Parameters from the input.  They live in a heap block of exactly the size
   the struct_size claims (at least the struct), so a library that read past
   what the caller said it has would be caught by the sanitizers. */
static gconv_params *fz_params(fz_reader *r)
{
    size_t ss = fz_struct_size(r);
    size_t bytes = ss > sizeof(gconv_params) ? ss : sizeof(gconv_params);
    gconv_params *p = (gconv_params *)calloc(1, bytes);
    FZ_CHECK(p != NULL, "calloc");
    uint8_t b = fz_u8(r);
    int ndim = 1 + b % 3;
    if (b >= 240)
        ndim = (int)(int8_t)fz_u8(r);       /* anything, 0 and negatives too */
    gconv_params_init(p, ndim >= 1 && ndim <= 3 ? ndim : 1);
    p->struct_size = ss;
    p->ndim = ndim;
    p->batch = fz_field_or(r, fz_u8(r) % 3);
    int64_t groups = 1 + fz_u8(r) % 4;
    p->groups = fz_field_or(r, groups);
    p->in_channels = fz_field_or(r, groups * (1 + fz_u8(r) % 3));
    p->out_channels = fz_field_or(r, groups * (1 + fz_u8(r) % 3));
    for (int d = 0; d < GCONV_MAX_DIMS; d++) {
        int64_t k = 1 + fz_u8(r) % 3;
        p->kernel_size[d] = fz_field_or(r, k);
        p->input_size[d] = fz_field_or(r, k + fz_u8(r) % 5);
        p->stride[d] = fz_field_or(r, 1 + fz_u8(r) % 3);
        p->dilation[d] = fz_field_or(r, 1 + fz_u8(r) % 2);
        p->pad_before[d] = fz_field_or(r, fz_u8(r) % 3);
        p->pad_after[d] = fz_field_or(r, fz_u8(r) % 3);
    }
    return p;
}

/* The ISA the kernels may use for this input: unset, generic or avx2. */
static void fz_set_isa(fz_reader *r)
{
    switch (fz_u8(r) % 4) {
    case 1:
        setenv("GCONV_ISA", "generic", 1);
        break;
    case 2:
        setenv("GCONV_ISA", "avx2", 1);
        break;
    default:
        unsetenv("GCONV_ISA");
        break;
    }
}

static int fz_threads(fz_reader *r)
{
    return (int)(fz_u8(r) % 8) - 2;   /* -2..5: default and explicit counts */
}

/* ---- an independent model of the gate -------------------------------------- */

/* What the library must find for these parameters, computed with exact
   128-bit arithmetic, and the sizes of a valid convolution. */
typedef struct fz_model {
    gconv_status status;
    int64_t out[GCONV_MAX_DIMS];
    int64_t n_in, n_w, n_out, n_b;   /* element counts when status is OK */
    int64_t cin_g, cout_g, k_volume, in_plane, out_plane;
} fz_model;

static int fz_over(fz_i128 v)
{
    return v > (fz_i128)FZ_MAX_ELEMENTS;
}

/* a * b * c ... of non-negative factors, saturating just above the limit */
static fz_i128 fz_prod(const int64_t *v, int n)
{
    fz_i128 r = 1;
    for (int i = 0; i < n; i++) {
        r *= v[i];
        if (fz_over(r))
            return (fz_i128)FZ_MAX_ELEMENTS + 1;
    }
    return r;
}

static fz_model fz_model_params(const gconv_params *p)
{
    fz_model m;
    memset(&m, 0, sizeof m);
    m.status = GCONV_OK;
    if (p == NULL) {
        m.status = GCONV_ERR_NULL_POINTER;
        return m;
    }
    if (p->struct_size != sizeof(gconv_params)) {
        m.status = GCONV_ERR_STRUCT_SIZE;
        return m;
    }
    if (p->ndim < 1 || p->ndim > 3 || p->batch < 0 || p->in_channels < 1 ||
        p->out_channels < 1) {
        m.status = GCONV_ERR_SHAPE;
        return m;
    }
    if (p->groups < 1 || p->in_channels % p->groups || p->out_channels % p->groups) {
        m.status = GCONV_ERR_GROUPS;
        return m;
    }
    int nd = p->ndim;
    for (int d = 0; d < nd; d++) {
        /* in the gate's order: a stride or dilation beyond the element limit
           is an overflow, the other out-of-range values a shape error */
        if (p->input_size[d] < 1 || p->kernel_size[d] < 1 || p->stride[d] < 1) {
            m.status = GCONV_ERR_SHAPE;
            return m;
        }
        if (fz_over(p->stride[d])) {
            m.status = GCONV_ERR_OVERFLOW;
            return m;
        }
        if (p->dilation[d] < 1) {
            m.status = GCONV_ERR_SHAPE;
            return m;
        }
        if (fz_over(p->dilation[d])) {
            m.status = GCONV_ERR_OVERFLOW;
            return m;
        }
        if (p->pad_before[d] < 0 || p->pad_after[d] < 0) {
            m.status = GCONV_ERR_SHAPE;
            return m;
        }
    }
    for (int d = 0; d < nd; d++) {
        fz_i128 padded = (fz_i128)p->input_size[d] + p->pad_before[d] + p->pad_after[d];
        fz_i128 span = (fz_i128)p->dilation[d] * (p->kernel_size[d] - 1);
        if (fz_over(padded) || fz_over(span)) {
            m.status = GCONV_ERR_OVERFLOW;
            return m;
        }
        span += 1;
        if (span > padded) {
            m.status = GCONV_ERR_SHAPE;
            return m;
        }
        m.out[d] = (int64_t)((padded - span) / p->stride[d] + 1);
    }
    m.cin_g = p->in_channels / p->groups;
    m.cout_g = p->out_channels / p->groups;
    fz_i128 in_plane = fz_prod(p->input_size, nd);
    fz_i128 out_plane = fz_prod(m.out, nd);
    fz_i128 kvol = fz_prod(p->kernel_size, nd);
    int64_t wf[2] = {p->out_channels, m.cin_g};
    fz_i128 wcount = fz_prod(wf, 2);
    if (fz_over(in_plane) || fz_over(out_plane)) {
        m.status = GCONV_ERR_OVERFLOW;
        return m;
    }
    if (fz_over(kvol) || fz_over(wcount) || fz_over(wcount * kvol)) {
        m.status = GCONV_ERR_OVERFLOW;
        return m;
    }
    m.in_plane = (int64_t)in_plane;
    m.out_plane = (int64_t)out_plane;
    m.k_volume = (int64_t)kvol;
    m.n_w = (int64_t)(wcount * kvol);
    m.n_b = p->out_channels;
    int64_t fi[3] = {p->batch, p->in_channels, m.in_plane};
    int64_t fo[3] = {p->batch, p->out_channels, m.out_plane};
    fz_i128 n_in = p->batch == 0 ? 0 : fz_prod(fi, 3);
    fz_i128 n_out = p->batch == 0 ? 0 : fz_prod(fo, 3);
    if (fz_over(n_in) || fz_over(n_out)) {
        m.status = GCONV_ERR_OVERFLOW;
        return m;
    }
    m.n_in = (int64_t)n_in;
    m.n_out = (int64_t)n_out;
    return m;
}

/* The model's counts for another batch (a plan executed on it). */
static gconv_status fz_model_batch(fz_model *m, const gconv_params *p, int64_t batch)
{
    if (batch < 0)
        return GCONV_ERR_SHAPE;
    int64_t fi[3] = {batch, p->in_channels, m->in_plane};
    int64_t fo[3] = {batch, p->out_channels, m->out_plane};
    fz_i128 n_in = batch == 0 ? 0 : fz_prod(fi, 3);
    fz_i128 n_out = batch == 0 ? 0 : fz_prod(fo, 3);
    if (fz_over(n_in) || fz_over(n_out))
        return GCONV_ERR_OVERFLOW;
    m->n_in = (int64_t)n_in;
    m->n_out = (int64_t)n_out;
    return GCONV_OK;
}

/* Checks gconv_check_params (with and without a message buffer of a fuzzed
   size), gconv_output_shape and gconv_buffer_sizes against the model. */
static fz_model fz_check_gate(fz_reader *r, const gconv_params *p)
{
    fz_model m = fz_model_params(p);
    size_t msg_size = fz_u8(r) % 4 == 0 ? (size_t)fz_u8(r) % 64 : GCONV_MESSAGE_SIZE;
    char *msg = msg_size ? (char *)malloc(msg_size) : NULL;
    if (msg_size)
        memset(msg, 'x', msg_size);
    gconv_status st = gconv_check_params(p, msg, msg_size);
    FZ_CHECK(st == m.status, "gconv_check_params gave %d, the model %d", (int)st,
             (int)m.status);
    if (msg_size) {
        size_t len = strnlen(msg, msg_size);
        FZ_CHECK(len < msg_size, "message not NUL-terminated within %zu bytes", msg_size);
        if (st == GCONV_OK)
            FZ_CHECK(len == 0, "a message for GCONV_OK: %s", msg);
        else if (msg_size > 1)
            FZ_CHECK(len > 0, "no message for status %d", (int)st);
        if (st != GCONV_OK && msg_size == GCONV_MESSAGE_SIZE)
            FZ_CHECK(len < GCONV_MESSAGE_SIZE - 1, "message truncated: %s", msg);
    }
    free(msg);
    FZ_CHECK(gconv_check_params(p, NULL, 0) == st, "status depends on the message buffer");
    FZ_CHECK(gconv_strerror(st) != NULL, "gconv_strerror");

    int64_t out[GCONV_MAX_DIMS] = {-7, -7, -7}, n_out = -7, a = -7, b = -7, c = -7;
    gconv_status so = gconv_output_shape(p, out, &n_out);
    gconv_status sb = gconv_buffer_sizes(p, &a, &b, &c);
    FZ_CHECK(so == st && sb == st, "output_shape %d / buffer_sizes %d vs check %d",
             (int)so, (int)sb, (int)st);
    FZ_CHECK(gconv_output_shape(p, NULL, NULL) == st, "output_shape(NULL, NULL)");
    FZ_CHECK(gconv_buffer_sizes(p, NULL, NULL, NULL) == st, "buffer_sizes(NULL...)");
    if (st == GCONV_OK) {
        for (int d = 0; d < p->ndim; d++)
            FZ_CHECK(out[d] == m.out[d], "out[%d] = %lld, model %lld", d,
                     (long long)out[d], (long long)m.out[d]);
        for (int d = p->ndim; d < GCONV_MAX_DIMS; d++)
            FZ_CHECK(out[d] == 0, "out[%d] = %lld beyond ndim", d, (long long)out[d]);
        FZ_CHECK(n_out == m.n_out && c == m.n_out && a == m.n_in && b == m.n_w,
                 "counts in=%lld w=%lld out=%lld/%lld, model %lld %lld %lld",
                 (long long)a, (long long)b, (long long)c, (long long)n_out,
                 (long long)m.n_in, (long long)m.n_w, (long long)m.n_out);
    } else {
        FZ_CHECK(out[0] == -7 && out[1] == -7 && out[2] == -7 && n_out == -7 &&
                     a == -7 && b == -7 && c == -7,
                 "a failing query wrote its outputs");
    }
    return m;
}

/* ---- guarded buffers ---------------------------------------------------------

   A buffer is a heap block: FZ_GUARD guard bytes, the elements, FZ_GUARD
   guard bytes.  `ptr`/`len` are what the library is given, which the fuzz
   input may make wrong (NULL, a wrong length): a length is only ever larger
   than the block when it differs from what the shape needs, so a library
   that honours the contract never reads or writes past the block. */

typedef struct fz_buf {
    unsigned char *block;  /* malloc'd; NULL when ptr is NULL or shared */
    size_t block_bytes;
    void *ptr;             /* handed to the library (may be NULL) */
    size_t len;            /* claimed length in elements */
    size_t alloc_elems;    /* elements actually behind ptr */
} fz_buf;

/* A claimed length: the right one most of the time, else one that is off. */
static size_t fz_claim(fz_reader *r, int64_t need, int *null_ptr)
{
    uint8_t mode = fz_u8(r);
    size_t n = (size_t)need;
    *null_ptr = 0;
    switch (mode % 24) {
    case 0:
        return n + 1;
    case 1:
        return n > 0 ? n - 1 : 1;
    case 2:
        *null_ptr = 1;
        return n;
    case 3:
        *null_ptr = 1;
        return 0;
    case 4:
        return 0;
    case 5:
        return n ^ ((size_t)1 << 32);   /* what a 32-bit truncation would confuse */
    case 6:
        return SIZE_MAX - (size_t)(mode >> 5);
    case 7:
        return (size_t)fz_u64(r);
    default:
        return n;
    }
}

/* Allocates the buffer behind a claim.  When the right length is larger
   than we may allocate, a claim equal to it is bumped so that it is wrong. */
static void fz_buf_make(fz_buf *b, size_t claim, int64_t need, int null_ptr,
                        size_t elem)
{
    memset(b, 0, sizeof *b);
    if (need > FZ_CAP && claim == (size_t)need)
        claim++;
    b->len = claim;
    if (null_ptr)
        return;
    size_t n = claim <= FZ_CAP ? claim : 16;
    b->alloc_elems = n;
    b->block_bytes = n * elem + 2 * FZ_GUARD;
    b->block = (unsigned char *)malloc(b->block_bytes);
    FZ_CHECK(b->block != NULL, "malloc");
    memset(b->block, FZ_GUARD_BYTE, b->block_bytes);
    b->ptr = b->block + FZ_GUARD;
}

static void fz_buf_free(fz_buf *b)
{
    free(b->block);
    b->block = NULL;
}

/* Fills a buffer with small exact values (sums stay exact in float), with a
   few non-finite ones when `specials` says so. */
static void fz_fill(fz_reader *r, fz_buf *b, int is_f64, int specials)
{
    static const double nonfinite[3] = {INFINITY, -INFINITY, NAN};
    if (b->ptr == NULL)
        return;
    for (size_t i = 0; i < b->alloc_elems; i++) {
        double v = (double)((int)(fz_u8(r) % 9) - 4);
        if (is_f64)
            ((double *)b->ptr)[i] = v;
        else
            ((float *)b->ptr)[i] = (float)v;
    }
    if (specials && b->alloc_elems > 0) {
        int count = 1 + fz_u8(r) % 3;
        for (int k = 0; k < count; k++) {
            size_t i = ((size_t)fz_u8(r) << 8 | fz_u8(r)) % b->alloc_elems;
            double v = nonfinite[fz_u8(r) % 3];
            if (is_f64)
                ((double *)b->ptr)[i] = v;
            else
                ((float *)b->ptr)[i] = (float)v;
        }
    }
}

/* A copy of a whole block (guards included), to prove it unchanged later. */
static unsigned char *fz_snapshot(const fz_buf *b)
{
    if (b->block == NULL)
        return NULL;
    unsigned char *s = (unsigned char *)malloc(b->block_bytes);
    FZ_CHECK(s != NULL, "malloc");
    memcpy(s, b->block, b->block_bytes);
    return s;
}

static void fz_same(const fz_buf *b, unsigned char *snap, const char *what)
{
    if (b->block != NULL)
        FZ_CHECK(memcmp(b->block, snap, b->block_bytes) == 0, "%s was modified", what);
    free(snap);
}

static void fz_guards_intact(const fz_buf *b, size_t elem, const char *what)
{
    if (b->block == NULL)
        return;
    size_t body = b->alloc_elems * elem;
    for (size_t i = 0; i < FZ_GUARD; i++) {
        FZ_CHECK(b->block[i] == FZ_GUARD_BYTE, "%s: guard byte %zu before it written",
                 what, FZ_GUARD - i);
        FZ_CHECK(b->block[FZ_GUARD + body + i] == FZ_GUARD_BYTE,
                 "%s: guard byte %zu after it written", what, i);
    }
}

static int fz_overlap(const void *a, size_t a_bytes, const void *b, size_t b_bytes)
{
    uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
    if (a == NULL || b == NULL || a_bytes == 0 || b_bytes == 0)
        return 0;
    return pa < pb + b_bytes && pb < pa + a_bytes;
}

/* The status the buffer checks must give for a valid shape (model m). */
static gconv_status fz_expect_buffers(const fz_model *m, size_t elem,
                                      const fz_buf *x, const fz_buf *w,
                                      const void *bias_ptr, size_t bias_len,
                                      const fz_buf *y)
{
    if ((x->ptr == NULL && m->n_in > 0) || w->ptr == NULL ||
        (y->ptr == NULL && m->n_out > 0))
        return GCONV_ERR_NULL_POINTER;
    if (x->len != (size_t)m->n_in || w->len != (size_t)m->n_w ||
        y->len != (size_t)m->n_out || (bias_ptr != NULL && bias_len != (size_t)m->n_b))
        return GCONV_ERR_BUFFER_SIZE;
    size_t ob = (size_t)m->n_out * elem;
    if (fz_overlap(y->ptr, ob, x->ptr, (size_t)m->n_in * elem) ||
        fz_overlap(y->ptr, ob, w->ptr, (size_t)m->n_w * elem) ||
        fz_overlap(y->ptr, ob, bias_ptr, (size_t)m->n_b * elem))
        return GCONV_ERR_OVERLAP;
    return GCONV_OK;
}

/* ---- the naive reference ------------------------------------------------------

   Zero padding is arithmetic on real zeros: a tap over the padding adds
   weight * 0, which is NaN for an infinite or NaN weight (the README's rule,
   the same as padding explicitly and convolving without padding). */

static double fz_get(const void *buf, int is_f64, int64_t i)
{
    return is_f64 ? ((const double *)buf)[i] : (double)((const float *)buf)[i];
}

/* The layer of a failed comparison, on stderr, so that a crash input can be
   turned into a test without decoding it by hand. */
static void fz_print_layer(const gconv_params *p, int is_f64, int has_bias)
{
    fprintf(stderr, "gconv fuzz: %s ndim %d batch %lld cin %lld cout %lld groups %lld bias %d"
                    " isa %s\n", is_f64 ? "f64" : "f32", p->ndim, (long long)p->batch,
            (long long)p->in_channels, (long long)p->out_channels, (long long)p->groups,
            has_bias, getenv("GCONV_ISA") ? getenv("GCONV_ISA") : "auto");
    static const char *names[6] = {"input", "kernel", "stride", "pad_before", "pad_after",
                                   "dilation"};
    const int64_t *rows[6] = {p->input_size, p->kernel_size, p->stride, p->pad_before,
                              p->pad_after, p->dilation};
    for (int r = 0; r < 6; r++) {
        fprintf(stderr, "  %-10s", names[r]);
        for (int d = 0; d < p->ndim; d++)
            fprintf(stderr, " %lld", (long long)rows[r][d]);
        fprintf(stderr, "\n");
    }
}

/* Compares the library's output y with the reference for every element. */
static void fz_compare_reference(const gconv_params *p, const fz_model *m, int64_t batch,
                                 int is_f64, const void *x, const void *w,
                                 const void *bias, const void *y)
{
    int nd = p->ndim;
    int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, st[3] = {1, 1, 1}, dl[3] = {1, 1, 1};
    int64_t pb[3] = {0, 0, 0}, out[3] = {1, 1, 1};
    for (int d = 0; d < nd; d++) {       /* right-align into 3-D */
        int j = 3 - nd + d;
        in[j] = p->input_size[d];
        k[j] = p->kernel_size[d];
        st[j] = p->stride[d];
        dl[j] = p->dilation[d];
        pb[j] = p->pad_before[d];
        out[j] = m->out[d];
    }
    int64_t cin = p->in_channels, cout = p->out_channels;
    int64_t oi = 0;
    for (int64_t n = 0; n < batch; n++)
    for (int64_t oc = 0; oc < cout; oc++)
    for (int64_t o0 = 0; o0 < out[0]; o0++)
    for (int64_t o1 = 0; o1 < out[1]; o1++)
    for (int64_t o2 = 0; o2 < out[2]; o2++, oi++) {
        int64_t g = oc / m->cout_g;
        double acc = bias ? fz_get(bias, is_f64, oc) : 0.0, mag = fabs(acc);
        for (int64_t c = 0; c < m->cin_g; c++)
        for (int64_t k0 = 0; k0 < k[0]; k0++)
        for (int64_t k1 = 0; k1 < k[1]; k1++)
        for (int64_t k2 = 0; k2 < k[2]; k2++) {
            int64_t i0 = o0 * st[0] - pb[0] + k0 * dl[0];
            int64_t i1 = o1 * st[1] - pb[1] + k1 * dl[1];
            int64_t i2 = o2 * st[2] - pb[2] + k2 * dl[2];
            double wv = fz_get(w, is_f64, (((oc * m->cin_g + c) * k[0] + k0) * k[1] + k1)
                                              * k[2] + k2);
            double xv = 0.0;
            if (i0 >= 0 && i0 < in[0] && i1 >= 0 && i1 < in[1] && i2 >= 0 && i2 < in[2])
                xv = fz_get(x, is_f64,
                            (((n * cin + g * m->cin_g + c) * in[0] + i0) * in[1] + i1)
                                * in[2] + i2);
            acc += wv * xv;
            mag += fabs(wv * xv);
        }
        double got = fz_get(y, is_f64, oi);
        double tol = (is_f64 ? 1e-12 : 1e-5) * mag;
        int same = isnan(acc) ? isnan(got) : isinf(acc) ? got == acc : fabs(got - acc) <= tol;
        if (!same)
            fz_print_layer(p, is_f64, bias != NULL);
        FZ_CHECK(same, "output %lld is %.17g, the reference %.17g", (long long)oi, got, acc);
    }
}

static int64_t fz_work(const fz_model *m)
{
    int64_t f[3] = {m->n_out, m->cin_g, m->k_volume};
    fz_i128 w = fz_prod(f, 3);   /* saturates above FZ_MAX_ELEMENTS */
    return w > FZ_WORK ? FZ_WORK + 1 : (int64_t)w;
}

#endif /* GCONV_FUZZ_COMMON_H */
