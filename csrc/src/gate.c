/*
 * gate.c -- the validation gate of libgconv: the one function that decides
 * whether a gconv_params describes a convolution, and says why not.
 *
 * The checks, their order and the message texts mirror gconv/_gate.py
 * exactly; tests/test_c_gate.py holds the two to each other.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- a bounded message writer ------------------------------------------ */

typedef struct msgbuf {
    char *buf;
    size_t size;
    size_t len;
} msgbuf;

static void msg_add(msgbuf *m, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void msg_add(msgbuf *m, const char *fmt, ...)
{
    if (m->buf == NULL || m->size == 0 || m->len + 1 >= m->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->buf + m->len, m->size - m->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    m->len += (size_t)n;
    if (m->len >= m->size)
        m->len = m->size - 1;
}

static gconv_status fail(msgbuf *m, gconv_status st, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static gconv_status fail(msgbuf *m, gconv_status st, const char *fmt, ...)
{
    if (m->buf != NULL && m->size > 0) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(m->buf, m->size, fmt, ap);
        va_end(ap);
        m->len = n < 0 ? 0 : ((size_t)n >= m->size ? m->size - 1 : (size_t)n);
    }
    return st;
}

/* ---- divisors of a 64-bit number ----------------------------------------

   The GroupsError message lists the group counts that divide both channel
   counts, i.e. the divisors of their gcd.  Channel counts can be anything up
   to 2^60, so the divisors come from a factorisation (trial division, then
   Miller-Rabin and Pollard's rho), never from trying every candidate. */

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m)
{
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 u128;
    return (uint64_t)(((u128)a * b) % m);
#else
    uint64_t r = 0;
    a %= m;
    while (b) {
        if (b & 1)
            r = (r >= m - a) ? r - (m - a) : r + a;
        a = (a >= m - a) ? a - (m - a) : a + a;
        b >>= 1;
    }
    return r;
#endif
}

static uint64_t powmod(uint64_t a, uint64_t e, uint64_t m)
{
    uint64_t r = 1 % m;
    a %= m;
    while (e) {
        if (e & 1)
            r = mulmod(r, a, m);
        a = mulmod(a, a, m);
        e >>= 1;
    }
    return r;
}

static int is_prime(uint64_t n)
{
    static const uint64_t bases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    if (n < 2)
        return 0;
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        if (n % bases[i] == 0)
            return n == bases[i];
    }
    uint64_t d = n - 1;
    int r = 0;
    while ((d & 1) == 0) {
        d >>= 1;
        r++;
    }
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        uint64_t x = powmod(bases[i], d, n);
        if (x == 1 || x == n - 1)
            continue;
        int composite = 1;
        for (int j = 1; j < r; j++) {
            x = mulmod(x, x, n);
            if (x == n - 1) {
                composite = 0;
                break;
            }
        }
        if (composite)
            return 0;
    }
    return 1;
}

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* A non-trivial factor of the odd composite n (Pollard's rho, Floyd cycle
   finding, deterministic sequence of constants). */
static uint64_t rho_factor(uint64_t n)
{
    for (uint64_t c = 1;; c++) {
        uint64_t x = 2, y = 2, d = 1;
        while (d == 1) {
            x = (mulmod(x, x, n) + c) % n;
            y = (mulmod(y, y, n) + c) % n;
            y = (mulmod(y, y, n) + c) % n;
            d = gcd_u64(x > y ? x - y : y - x, n);
        }
        if (d != n)
            return d;
    }
}

typedef struct factors {
    uint64_t p[64];
    int e[64];
    int count;
} factors;

static void add_factor(factors *f, uint64_t p)
{
    for (int i = 0; i < f->count; i++) {
        if (f->p[i] == p) {
            f->e[i]++;
            return;
        }
    }
    f->p[f->count] = p;  /* n < 2^64 has fewer than 64 prime factors */
    f->e[f->count] = 1;
    f->count++;
}

static void factor_rec(factors *f, uint64_t n)
{
    if (n == 1)
        return;
    if (is_prime(n)) {
        add_factor(f, n);
        return;
    }
    uint64_t d = rho_factor(n);
    factor_rec(f, d);
    factor_rec(f, n / d);
}

static void factorize(uint64_t n, factors *f)
{
    f->count = 0;
    for (uint64_t p = 2; p < 1000 && p * p <= n; p += (p == 2 ? 1 : 2)) {
        while (n % p == 0) {
            add_factor(f, p);
            n /= p;
        }
    }
    factor_rec(f, n);
}

/* What the message shows of the divisors: how many there are, the smallest
   few and the largest few. */
#define GCONV_SHOW_ALL 16
#define GCONV_SHOW_HEAD 8
#define GCONV_SHOW_TAIL 4

typedef struct divisor_summary {
    uint64_t count;
    uint64_t head[GCONV_SHOW_ALL];   /* smallest, ascending */
    int nhead;
    uint64_t tail[GCONV_SHOW_TAIL];  /* largest, ascending */
    int ntail;
} divisor_summary;

static void keep_smallest(uint64_t *arr, int *n, int cap, uint64_t v)
{
    int i = *n;
    if (i == cap) {
        if (v >= arr[cap - 1])
            return;
        i = cap - 1;
    } else {
        (*n)++;
    }
    while (i > 0 && arr[i - 1] > v) {
        arr[i] = arr[i - 1];
        i--;
    }
    arr[i] = v;
}

static void keep_largest(uint64_t *arr, int *n, int cap, uint64_t v)
{
    /* ascending; drop the smallest when full */
    if (*n == cap) {
        if (v <= arr[0])
            return;
        int i = 0;
        while (i + 1 < cap && arr[i + 1] < v) {
            arr[i] = arr[i + 1];
            i++;
        }
        arr[i] = v;
        return;
    }
    int i = (*n)++;
    while (i > 0 && arr[i - 1] > v) {
        arr[i] = arr[i - 1];
        i--;
    }
    arr[i] = v;
}

static void summarise_divisors(uint64_t n, divisor_summary *s)
{
    factors f;
    int exps[64];
    factorize(n, &f);
    s->count = 1;
    for (int i = 0; i < f.count; i++)
        s->count *= (uint64_t)(f.e[i] + 1);
    s->nhead = s->ntail = 0;
    for (int i = 0; i < f.count; i++)
        exps[i] = 0;
    for (;;) {
        uint64_t d = 1;
        for (int i = 0; i < f.count; i++)
            for (int j = 0; j < exps[i]; j++)
                d *= f.p[i];
        keep_smallest(s->head, &s->nhead, GCONV_SHOW_ALL, d);
        keep_largest(s->tail, &s->ntail, GCONV_SHOW_TAIL, d);
        int i = 0;
        while (i < f.count && exps[i] == f.e[i]) {
            exps[i] = 0;
            i++;
        }
        if (i == f.count)
            break;
        exps[i]++;
    }
}

static void msg_divisors(msgbuf *m, uint64_t n)
{
    divisor_summary s;
    summarise_divisors(n, &s);
    msg_add(m, "[");
    if (s.count <= GCONV_SHOW_ALL) {
        for (int i = 0; i < s.nhead; i++)
            msg_add(m, "%s%llu", i ? ", " : "", (unsigned long long)s.head[i]);
        msg_add(m, "]");
    } else {
        for (int i = 0; i < GCONV_SHOW_HEAD; i++)
            msg_add(m, "%llu, ", (unsigned long long)s.head[i]);
        msg_add(m, "...");
        for (int i = 0; i < s.ntail; i++)
            msg_add(m, ", %llu", (unsigned long long)s.tail[i]);
        msg_add(m, "] (%llu values)", (unsigned long long)s.count);
    }
}

/* "9 or 12": the multiples of groups nearest to c, below (when positive) and
   above (when it fits in int64_t). */
static void msg_nearest(msgbuf *m, int64_t c, int64_t groups)
{
    int64_t below = c - c % groups;
    int has_above = below <= INT64_MAX - groups;
    int64_t above = has_above ? below + groups : 0;
    if (below > 0 && has_above)
        msg_add(m, "%lld or %lld", (long long)below, (long long)above);
    else if (below > 0)
        msg_add(m, "%lld", (long long)below);
    else
        msg_add(m, "%lld", (long long)above);
}

static gconv_status groups_error(msgbuf *m, int64_t cin, int64_t cout, int64_t groups)
{
    int bad_in = groups >= 1 && cin % groups != 0;
    int bad_out = groups >= 1 && cout % groups != 0;
    fail(m, GCONV_ERR_GROUPS, "%s", "");
    if (groups < 1) {
        msg_add(m, "groups=%lld is not valid: groups must be a positive integer "
                   "that divides both in_channels and out_channels.",
                (long long)groups);
    } else if (bad_in && bad_out) {
        msg_add(m, "in_channels=%lld and out_channels=%lld are not divisible by "
                   "groups=%lld: each group must receive the same whole number of "
                   "input channels and produce the same whole number of output "
                   "channels.",
                (long long)cin, (long long)cout, (long long)groups);
    } else if (bad_in) {
        msg_add(m, "in_channels=%lld is not divisible by groups=%lld: each group "
                   "must receive the same whole number of input channels.",
                (long long)cin, (long long)groups);
    } else {
        msg_add(m, "out_channels=%lld is not divisible by groups=%lld: each group "
                   "must produce the same whole number of output channels.",
                (long long)cout, (long long)groups);
    }
    msg_add(m, " For in_channels=%lld, out_channels=%lld the valid groups are ",
            (long long)cin, (long long)cout);
    msg_divisors(m, gcd_u64((uint64_t)cin, (uint64_t)cout));
    if (groups >= 1) {
        msg_add(m, "; with groups=%lld, use ", (long long)groups);
        if (bad_in) {
            msg_add(m, "in_channels ");
            msg_nearest(m, cin, groups);
        }
        if (bad_in && bad_out)
            msg_add(m, " and ");
        if (bad_out) {
            msg_add(m, "out_channels ");
            msg_nearest(m, cout, groups);
        }
    }
    msg_add(m, ".");
    return GCONV_ERR_GROUPS;
}

/* ---- checked arithmetic ------------------------------------------------- */

static int mul_ok(int64_t a, int64_t b, int64_t *r)
{
    /* a, b >= 0 */
    if (a != 0 && b > GCONV_MAX_ELEMENTS / a)
        return 0;
    *r = a * b;
    return 1;
}

/* ---- the gate ------------------------------------------------------------ */

static const char *const dim_names[3] = {"0", "1", "2"};

static gconv_status fill_counts(gconv_shape *s, int64_t batch, msgbuf *m)
{
    int64_t in_el, out_el;
    if (!mul_ok(batch, s->in_channels, &in_el) || !mul_ok(in_el, s->in_plane, &in_el))
        return fail(m, GCONV_ERR_OVERFLOW,
                    "the input's element count overflows 64-bit arithmetic");
    if (!mul_ok(batch, s->out_channels, &out_el) || !mul_ok(out_el, s->out_plane, &out_el))
        return fail(m, GCONV_ERR_OVERFLOW,
                    "the output's element count overflows 64-bit arithmetic");
    s->batch = batch;
    s->input_elements = in_el;
    s->output_elements = out_el;
    return GCONV_OK;
}

gconv_status gconv__validate(const gconv_params *p, gconv_shape *out_shape,
                             char *msg, size_t msg_size)
{
    msgbuf m = {msg, msg_size, 0};
    gconv_shape s;
    if (msg != NULL && msg_size > 0)
        msg[0] = '\0';

    if (p == NULL)
        return fail(&m, GCONV_ERR_NULL_POINTER, "params is NULL");
    /* The only layout so far.  A later version that appends fields keeps
       accepting this size (filling the new fields with their defaults);
       a size larger than ours comes from a newer header, whose extra fields
       this library cannot honour, so it is refused, not ignored. */
    if (p->struct_size != sizeof(gconv_params))
        return fail(&m, GCONV_ERR_STRUCT_SIZE,
                    "params->struct_size=%llu is not a size this library "
                    "(libgconv %s, sizeof(gconv_params)=%llu) knows: initialise "
                    "params with gconv_params_init(), and run with a libgconv at "
                    "least as new as the gconv.h the program was compiled with",
                    (unsigned long long)p->struct_size, GCONV_VERSION_STRING,
                    (unsigned long long)sizeof(gconv_params));
    if (p->ndim < 1 || p->ndim > GCONV_MAX_DIMS)
        return fail(&m, GCONV_ERR_SHAPE,
                    "ndim=%d is not supported: gconv convolves 1, 2 or 3 spatial "
                    "dimensions", p->ndim);
    if (p->batch < 0)
        return fail(&m, GCONV_ERR_SHAPE, "batch=%lld must be >= 0", (long long)p->batch);
    if (p->in_channels < 1)
        return fail(&m, GCONV_ERR_SHAPE, "in_channels=%lld must be >= 1",
                    (long long)p->in_channels);
    if (p->out_channels < 1)
        return fail(&m, GCONV_ERR_SHAPE, "out_channels=%lld must be >= 1",
                    (long long)p->out_channels);
    if (p->groups < 1 || p->in_channels % p->groups != 0 ||
        p->out_channels % p->groups != 0)
        return groups_error(&m, p->in_channels, p->out_channels, p->groups);

    memset(&s, 0, sizeof s);
    s.ndim = p->ndim;
    s.in_channels = p->in_channels;
    s.out_channels = p->out_channels;
    s.groups = p->groups;
    s.cin_g = p->in_channels / p->groups;
    s.cout_g = p->out_channels / p->groups;
    for (int j = 0; j < 3; j++) {
        s.in[j] = s.k[j] = s.stride[j] = s.dil[j] = s.out[j] = 1;
        s.pad[j] = s.pad_after[j] = 0;
    }

    int off = 3 - p->ndim;  /* spatial dim d of params is dim off + d here */
    for (int d = 0; d < p->ndim; d++) {
        const char *dn = dim_names[d];
        if (p->input_size[d] < 1)
            return fail(&m, GCONV_ERR_SHAPE,
                        "input size %lld in spatial dimension %s must be >= 1",
                        (long long)p->input_size[d], dn);
        if (p->kernel_size[d] < 1)
            return fail(&m, GCONV_ERR_SHAPE,
                        "kernel size %lld in spatial dimension %s must be >= 1",
                        (long long)p->kernel_size[d], dn);
        if (p->stride[d] < 1)
            return fail(&m, GCONV_ERR_SHAPE,
                        "stride %lld in spatial dimension %s must be >= 1",
                        (long long)p->stride[d], dn);
        if (p->stride[d] > GCONV_MAX_ELEMENTS)
            return fail(&m, GCONV_ERR_OVERFLOW,
                        "stride %lld in spatial dimension %s overflows 64-bit "
                        "arithmetic", (long long)p->stride[d], dn);
        if (p->dilation[d] < 1)
            return fail(&m, GCONV_ERR_SHAPE,
                        "dilation %lld in spatial dimension %s must be >= 1",
                        (long long)p->dilation[d], dn);
        if (p->dilation[d] > GCONV_MAX_ELEMENTS)
            return fail(&m, GCONV_ERR_OVERFLOW,
                        "dilation %lld in spatial dimension %s overflows 64-bit "
                        "arithmetic", (long long)p->dilation[d], dn);
        if (p->pad_before[d] < 0 || p->pad_after[d] < 0)
            return fail(&m, GCONV_ERR_SHAPE,
                        "padding (%lld before, %lld after) in spatial dimension %s "
                        "must be >= 0",
                        (long long)p->pad_before[d], (long long)p->pad_after[d], dn);
    }
    for (int d = 0; d < p->ndim; d++) {
        const char *dn = dim_names[d];
        int64_t in = p->input_size[d], k = p->kernel_size[d];
        int64_t pb = p->pad_before[d], pa = p->pad_after[d], dil = p->dilation[d];
        int64_t padded, span;
        if (pb > GCONV_MAX_ELEMENTS - in || pa > GCONV_MAX_ELEMENTS - in - pb)
            return fail(&m, GCONV_ERR_OVERFLOW,
                        "the padded input size in spatial dimension %s overflows "
                        "64-bit arithmetic", dn);
        padded = in + pb + pa;
        if (!mul_ok(dil, k - 1, &span))
            return fail(&m, GCONV_ERR_OVERFLOW,
                        "the dilated kernel size in spatial dimension %s overflows "
                        "64-bit arithmetic", dn);
        span += 1;
        if (span > padded)
            return fail(&m, GCONV_ERR_SHAPE,
                        "the kernel (size %lld, dilation %lld, so it spans %lld) is "
                        "larger than the padded input (size %lld + padding %lld + "
                        "%lld = %lld) in spatial dimension %s",
                        (long long)k, (long long)dil, (long long)span, (long long)in,
                        (long long)pb, (long long)pa, (long long)padded, dn);
        int j = off + d;
        s.in[j] = in;
        s.k[j] = k;
        s.stride[j] = p->stride[d];
        s.dil[j] = dil;
        s.pad[j] = pb;
        s.pad_after[j] = pa;
        s.out[j] = (padded - span) / p->stride[d] + 1;
    }

    int64_t w_el;
    if (!mul_ok(s.in[0], s.in[1], &s.in_plane) || !mul_ok(s.in_plane, s.in[2], &s.in_plane))
        return fail(&m, GCONV_ERR_OVERFLOW,
                    "the input's element count overflows 64-bit arithmetic");
    if (!mul_ok(s.out[0], s.out[1], &s.out_plane) ||
        !mul_ok(s.out_plane, s.out[2], &s.out_plane))
        return fail(&m, GCONV_ERR_OVERFLOW,
                    "the output's element count overflows 64-bit arithmetic");
    if (!mul_ok(s.k[0], s.k[1], &s.k_volume) || !mul_ok(s.k_volume, s.k[2], &s.k_volume) ||
        !mul_ok(s.out_channels, s.cin_g, &w_el) || !mul_ok(w_el, s.k_volume, &w_el))
        return fail(&m, GCONV_ERR_OVERFLOW,
                    "the weight's element count overflows 64-bit arithmetic");
    s.weight_elements = w_el;
    gconv_status st = fill_counts(&s, p->batch, &m);
    if (st != GCONV_OK)
        return st;
    if (out_shape != NULL)
        *out_shape = s;
    return GCONV_OK;
}

gconv_status gconv__shape_with_batch(gconv_shape *s, int64_t batch)
{
    msgbuf m = {NULL, 0, 0};
    if (batch < 0)
        return GCONV_ERR_SHAPE;
    return fill_counts(s, batch, &m);
}

gconv_status gconv_check_params(const gconv_params *params, char *msg, size_t msg_size)
{
    return gconv__validate(params, NULL, msg, msg_size);
}
