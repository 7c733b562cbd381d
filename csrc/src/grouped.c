/*
 * grouped.c -- the blocked direct convolution for grouped and dense layers
 * with several input channels per group (in_channels / groups >= 2).
 *
 * Every layer is computed as, per group, a small matrix product
 *
 *     out[oc][pixel] = bias[oc] + sum_k w[oc][k] * x_k[pixel],
 *     k = (input channel, kd, kh, kw) in that order,
 *
 * by register-blocked micro-kernels of two kinds:
 *
 *   - pixels along the vectors: MO output channels x NV vectors of output
 *     pixels, the weights broadcast, the stores straight into the NCHW
 *     output (every level);
 *   - channels along the vectors (AVX-512, channels per group a multiple of
 *     the vector length): P pixels x MV vectors of output channels, the
 *     pixels broadcast from the input, the weights transposed once per call
 *     and each output block transposed in registers; no idle lanes on small
 *     planes (7x7, 14x14) where a pixel vector would be partly empty.
 *
 * The input values x_k[pixel] come from one of three sources (see the plan
 * in grouped.template.h):
 *
 *   - in place:  a 1x1, stride-1, unpadded layer reads the input planes;
 *   - "phase":   the input rows an item needs, copied once into a zero-padded
 *                per-thread buffer split by stride phase, so that every tap
 *                is a fixed offset from the output pixel (the few columns
 *                beyond the output width are computed and not stored, or,
 *                with many output channels per group, the pixels are first
 *                gathered into a tile without them);
 *   - "columns": for the rare layers whose phase buffer would be too large,
 *                a per-thread tile of up to GK_KC taps x one pixel block
 *                gathered straight from the input.
 *
 * Each output is bias + its taps in k order, one fused multiply-add each
 * (out-of-range taps contribute w * 0; the kernels with the channels along
 * the vectors leave out the taps over padding rows and depth slices when
 * every weight is finite, w * 0 then being 0), computed by exactly one
 * thread.  The arithmetic of an output is the same in every source, block
 * shape and work split, and the choice of kernel does not depend on the
 * thread count, so neither do the results.
 *
 * The micro-kernels exist for AVX-512F, AVX2+FMA (chosen at run time by the
 * isa level) and in portable C; all are instantiated from
 * grouped.template.h, once per element type and vector level.
 */
#include "internal.h"

#include <string.h>

#ifdef _OPENMP
#  include <omp.h>
#endif

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#  define GK_X86 1
#  include <immintrin.h>
#else
#  define GK_X86 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define GK_INLINE static inline __attribute__((always_inline))
#  define GK_UNROLL _Pragma("GCC unroll 32")
#else
#  define GK_INLINE static inline
#  define GK_UNROLL
#endif

/* Prefetching the input of the next work item while this one computes:
   nchan runs of bytes bytes, stride apart, from base; issued a few cache
   lines at a time by gk_pf_step. */
typedef struct gk_pf {
    const char *base;
    int64_t stride, bytes, nchan;
    int64_t chan, pos;
} gk_pf;

/* A read prefetch of the cache line at p into the caches (none where the
   compiler has no builtin for it). */
static inline void gk_prefetch(const char *p)
{
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p, 0, 2);
#else
    (void)p;
#endif
}

static void gk_pf_step(gk_pf *pf, int64_t lines)
{
    while (lines-- > 0 && pf->chan < pf->nchan) {
        gk_prefetch(pf->base + pf->chan * pf->stride + pf->pos);
        pf->pos += 64;
        if (pf->pos >= pf->bytes) {
            pf->pos = 0;
            pf->chan++;
        }
    }
}

#define GK_CAT3_(a, b, c) a##_##b##_##c
#define GK_CAT3(a, b, c) GK_CAT3_(a, b, c)

/* Address p + off elements without pointer arithmetic outside an object: a
   masked access may start before a buffer as long as its active lanes are
   inside. */
#define GK_AT(T, p, off) ((T *)(void *)((uintptr_t)(p) + (uintptr_t)((off) * (int64_t)sizeof(*(p)))))

/* One run of output lanes of one vector: lanes [lo, hi) of vector v go to
   out + off + lane (off relative to the output row of the block). */
typedef struct gk_seg {
    int64_t off;
    int v, lo, hi;
} gk_seg;

enum { GK_INPLACE = 0, GK_PHASE = 1, GK_COLS = 2 };  /* see grouped.template.h */

/* A tap of the kernels with the channels along the vectors: its input at
   x + off, its weights in row wo of the kernel's block of weights. */
typedef struct gk_tap {
    int64_t off, wo;
} gk_tap;

#define GK_TCLS 8             /* tap ranges per dimension in a gk_tapset */
#define GK_TAPS_MAX 65536     /* entries of the lists of a gk_tapset */

/* Phase mode with the channels along the vectors: the taps of each output
   pixel in k order, without those over padding depth slices and padding
   rows (there a finite weight adds w * 0 = 0; see gk_tapset_fill).  The
   outputs with the same range of valid kd (kh) form a class; the list of
   depth class d and row class h has cnt[d * nhc + h] taps at
   tap + (d * nhc + h) * K.  ndc == 0: no classes, every pixel takes the
   list of all K taps, which follows the class lists. */
typedef struct gk_tapset {
    int ndc, nhc;
    int64_t drng[GK_TCLS][2], hrng[GK_TCLS][2];   /* [kd_lo, kd_hi) of class d */
    int64_t cnt[GK_TCLS * GK_TCLS];
    gk_tap *tap;
} gk_tapset;

#define GK_MAXPH 16         /* stride phases per dimension in phase mode */
#define GK_KC 256           /* taps per column tile */
#define GK_PHASE_BUF 65536  /* elements: phase buffer per thread, soft cap */
#define GK_MIN_FLOPS_PER_THREAD 400000.0
#define GK_PREFETCH_BYTES 8.0e6     /* see plan: inputs larger than this are prefetched */
#define GK_WLOCAL_BYTES 524288.0     /* ocv: a thread's own copy of a group's weights up to this */
#define GK_INPLACE_AHEAD 2          /* in place: blocks ahead that are prefetched */
#define GK_MAX_THREADS 256

/* How one call is split up; filled by the plan function of each ISA. */
typedef struct gk_plan {
    int mode;                        /* GK_INPLACE, GK_PHASE or GK_COLS */
    int depth;                       /* in place: taps over depth (see plan) */
    int compact;                     /* phase mode: pixel tiles without the extra columns */
    int ocv, mv;                     /* output channels along the vectors, mv vectors at a time */
    int prefetch;                    /* fetch the next item's input ahead */
    int64_t K;                       /* taps: cin_g * kernel volume */
    int mo, nob, nv;                 /* oc per block, blocks per group, vectors per pixel block */
    int64_t occ, nocc;               /* oc blocks per item, items per group's channels */
    /* phase mode */
    int nphh, nphw;                  /* stride phases used, rows and columns */
    int64_t phh[GK_MAXPH], phw[GK_MAXPH];
    int64_t Wq, Ws, CB, ncb, RB, RBq, nrb, planes, plq;
    /* in place and columns */
    int64_t npb, nfullvec;           /* pixel blocks per plane; full vectors per plane */
    int64_t ntail;                   /* in place: blocks of plane tails a group (see plan) */
    int64_t kc;                      /* taps per pixel tile */
    /* all */
    int64_t noff;                    /* entries of the offset table */
    int64_t bufsz, tile;             /* elements of per-thread buffer; where its tile starts */
    int64_t items;
    int nt;
} gk_plan;

static int64_t gk_ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* Cache lines a gk_pf_step call fetches so that steps calls cover all of
   pf (0 when pf is empty). */
static int64_t gk_pf_lines(const gk_pf *pf, int64_t steps)
{
    return pf->nchan > 0 ? gk_ceil_div(pf->nchan * gk_ceil_div(pf->bytes, 64), steps) : 0;
}

/* Range [*lo, *hi) of j in [0, n) with 0 <= base + j * step < limit. */
static void gk_valid(int64_t base, int64_t step, int64_t limit, int64_t n,
                     int64_t *lo, int64_t *hi)
{
    int64_t a = base >= 0 ? 0 : (-base + step - 1) / step;
    int64_t b = limit - 1 - base < 0 ? 0 : (limit - 1 - base) / step + 1;
    if (b > n)
        b = n;
    if (a > b)
        a = b;
    *lo = a;
    *hi = b;
}

/* The distinct ranges [lo, hi) of the taps k < kn that outputs o < n read
   inside the input (o * stride - pad + k * dil in [0, in)), into rng;
   0 when there are more than GK_TCLS. */
static int gk_tap_ranges(int64_t n, int64_t stride, int64_t pad, int64_t dil, int64_t in,
                         int64_t kn, int64_t rng[GK_TCLS][2])
{
    int count = 0;
    for (int64_t o = 0; o < n; o++) {
        int64_t lo, hi;
        gk_valid(o * stride - pad, dil, in, kn, &lo, &hi);
        int i = 0;
        while (i < count && (rng[i][0] != lo || rng[i][1] != hi))
            i++;
        if (i == count) {
            if (count == GK_TCLS)
                return 0;
            rng[count][0] = lo;
            rng[count][1] = hi;
            count++;
        }
    }
    return count;
}

#if GK_X86   /* (the kernels with the channels along the vectors are AVX-512 only) */
/* The class of output o in dimension dim (0 depth, 1 rows) of ts. */
static int gk_tap_class(const gk_tapset *ts, const gconv_shape *s, int dim, int64_t o)
{
    int64_t lo, hi;
    gk_valid(o * s->stride[dim] - s->pad[dim], s->dil[dim], s->in[dim], s->k[dim], &lo, &hi);
    const int64_t(*rng)[2] = dim == 0 ? ts->drng : ts->hrng;
    const int count = dim == 0 ? ts->ndc : ts->nhc;
    int i = 0;
    while (i < count - 1 && (rng[i][0] != lo || rng[i][1] != hi))
        i++;
    return i;
}
#endif

/* Classes and sizes of a tap set: ndc = 0 when the pixels have no padding
   to leave out or the lists would be too long.  Returns the entries
   needed, all lists together. */
static int64_t gk_tapset_plan(const gconv_shape *s, int64_t K, gk_tapset *ts)
{
    memset(ts, 0, sizeof *ts);
    ts->ndc = gk_tap_ranges(s->out[0], s->stride[0], s->pad[0], s->dil[0], s->in[0], s->k[0],
                            ts->drng);
    ts->nhc = gk_tap_ranges(s->out[1], s->stride[1], s->pad[1], s->dil[1], s->in[1], s->k[1],
                            ts->hrng);
    if (ts->ndc == 0 || ts->nhc == 0 || (ts->ndc == 1 && ts->nhc == 1) ||
        (int64_t)ts->ndc * ts->nhc * K > GK_TAPS_MAX)
        ts->ndc = ts->nhc = 0;
    return ((int64_t)ts->ndc * ts->nhc + 1) * K;
}

/* Fills the lists of ts (ts->tap holding gk_tapset_plan's entries) from the
   tap offsets off[k], k = ((c * KD + kd) * KH + kh) * KW + kw; the weights
   of tap k are row k of each block (see transpose_weights). */
static void gk_tapset_fill(const gconv_shape *s, int64_t K, const int64_t *off, gk_tapset *ts)
{
    const int64_t KD = s->k[0], KH = s->k[1], KW = s->k[2];
    gk_tap *full = ts->tap + (int64_t)ts->ndc * ts->nhc * K;
    for (int64_t k = 0; k < K; k++) {
        full[k].off = off[k];
        full[k].wo = k;
    }
    for (int d = 0; d < ts->ndc; d++) {
        for (int h = 0; h < ts->nhc; h++) {
            gk_tap *t = ts->tap + ((int64_t)d * ts->nhc + h) * K;
            const gk_tap *f = full;
            for (int64_t c = 0; c < K / (KD * KH * KW); c++)
                for (int64_t kd = 0; kd < KD; kd++)
                    for (int64_t kh = 0; kh < KH; kh++, f += KW)
                        if (kd >= ts->drng[d][0] && kd < ts->drng[d][1] &&
                            kh >= ts->hrng[h][0] && kh < ts->hrng[h][1])
                            for (int64_t kw = 0; kw < KW; kw++)
                                *t++ = f[kw];
            ts->cnt[d * ts->nhc + h] = t - (ts->tap + ((int64_t)d * ts->nhc + h) * K);
        }
    }
}

/* Whether the kernel has taps over depth only: 1 x 1 in height and width,
   at stride 1 there and without padding (the in-place depth taps of the
   plan). */
static int gk_depth_only(const gconv_shape *s)
{
    int depth = s->k[1] == 1 && s->k[2] == 1;
    for (int d = 1; d < 3; d++)
        depth = depth && s->stride[d] == 1 && s->pad[d] == 0 && s->pad_after[d] == 0;
    return depth;
}

/* Bytes of n elements of elem bytes rounded up to whole cache lines (the
   parts of a call's one allocation stay 64-byte aligned); -1 when that
   would pass INT64_MAX / 4. */
static int64_t gk_bytes(int64_t n, size_t elem)
{
    const int64_t limit = INT64_MAX / 4;
    if (n < 0 || (uint64_t)n > (uint64_t)(limit - 63) / elem)
        return -1;
    return ((int64_t)((uint64_t)n * elem) + 63) / 64 * 64;
}

/* a + b for byte counts of at most INT64_MAX / 4 each; -1 past that. */
static int64_t gk_add_bytes(int64_t a, int64_t b)
{
    return a > INT64_MAX / 4 - b ? -1 : a + b;
}

/* Threads for a call of this many multiply-adds: one for small problems. */
static int gk_threads(int threads, double flops, int64_t items)
{
    int64_t nt = threads < 1 ? 1 : threads;
    int64_t by_work = (int64_t)(flops / GK_MIN_FLOPS_PER_THREAD);
    if (by_work < 1)
        by_work = 1;
    if (nt > by_work)
        nt = by_work;
    if (nt > items)
        nt = items;
    if (nt > GK_MAX_THREADS)
        nt = GK_MAX_THREADS;   /* bounds the per-thread buffers of one call */
    return nt < 1 ? 1 : (int)nt;
}

static int gk_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* ---- portable C ------------------------------------------------------------ */

typedef struct { float v[4]; } gk_gv_f32;
typedef struct { int lo, hi; } gk_gmask;   /* lanes [lo, hi) */
typedef struct { double v[4]; } gk_gv_f64;

#define GK_GENERIC_OPS(T, VT)                                                   \
    GK_INLINE VT gk_g_set1_##T(T s) { VT r; for (int i = 0; i < 4; i++) r.v[i] = s; return r; } \
    GK_INLINE VT gk_g_load_##T(const T *p) { VT r; for (int i = 0; i < 4; i++) r.v[i] = p[i]; return r; } \
    GK_INLINE VT gk_g_fma_##T(VT a, VT b, VT c)                                 \
    { VT r; for (int i = 0; i < 4; i++) r.v[i] = a.v[i] * b.v[i] + c.v[i]; return r; } \
    GK_INLINE void gk_g_mstore_##T(T *p, int lo, int hi, VT v)                  \
    { for (int i = lo; i < hi; i++) p[i] = v.v[i]; }                             \
    GK_INLINE VT gk_g_mload_##T(VT acc, int lo, int hi, const T *p)             \
    { for (int i = lo; i < hi; i++) acc.v[i] = p[i]; return acc; }             \
    GK_INLINE void gk_g_store_##T(T *p, VT v) { for (int i = 0; i < 4; i++) p[i] = v.v[i]; } \
    GK_INLINE VT gk_g_loadz_##T(const T *p, int lo, int hi)                    \
    { VT r; for (int i = 0; i < 4; i++) r.v[i] = i >= lo && i < hi ? p[i] : (T)0; return r; } \
    GK_INLINE VT gk_g_loadzm_##T(const T *p, gk_gmask m)                       \
    { return gk_g_loadz_##T(p, m.lo, m.hi); }                                  \
    GK_INLINE VT gk_g_even_##T(VT a, VT b)                                      \
    { VT r = {{a.v[0], a.v[2], b.v[0], b.v[2]}}; return r; }                   \
    GK_INLINE VT gk_g_odd_##T(VT a, VT b)                                       \
    { VT r = {{a.v[1], a.v[3], b.v[1], b.v[3]}}; return r; }

GK_INLINE gk_gmask gk_g_mask(int lo, int hi)
{
    gk_gmask m;
    m.lo = lo;
    m.hi = hi;
    return m;
}

GK_GENERIC_OPS(float, gk_gv_f32)
GK_GENERIC_OPS(double, gk_gv_f64)

/* The position of item it of phase mode: group g, batch n, output depth
   od, row block rbi, column block cbi, output-channel share occi (occi
   fastest).  The images of a group follow each other, so its weights
   stay in the second-level cache from one image to the next, and each
   thread reads the weights of its own groups only; with the images
   outermost every image read all the groups' weights again, from memory
   once another library's call had evicted them.  Batch 8, 2 threads,
   float32, alternated with PyTorch: 2048 channels of 7x7 in 32 groups
   (4.7 MB of weights) 2.60-2.70 -> 2.25 ms, 3-D 1024 channels of
   2x7x7 in 32 groups, 3x3x3 (3.5 MB) 2.65-2.76 -> 2.23 ms. */
typedef struct gk_pos {
    int64_t n, g, od, rbi, cbi, occi;
} gk_pos;

static gk_pos gk_item_pos(const gk_plan *p, const gconv_shape *s, int64_t it)
{
    gk_pos q;
    int64_t t = it;
    q.occi = t % p->nocc;
    t /= p->nocc;
    q.cbi = t % p->ncb;
    t /= p->ncb;
    q.rbi = t % p->nrb;
    t /= p->nrb;
    q.od = t % s->out[0];
    t /= s->out[0];
    q.n = t % s->batch;
    q.g = t / s->batch;
    return q;
}

#define GTARGET
#define VL 4

#define TYPE float
#define SFX f32
#define ISA generic
#define VT gk_gv_f32
#define V_SET1(s) gk_g_set1_float(s)
#define V_LOAD(p) gk_g_load_float(p)
#define V_FMA(a, b, c) gk_g_fma_float(a, b, c)
#define V_MSTORE(p, lo, hi, v) gk_g_mstore_float(p, lo, hi, v)
#define V_MLOAD(acc, lo, hi, p) gk_g_mload_float(acc, lo, hi, p)
#define V_STORE(p, v) gk_g_store_float(p, v)
#define V_LOADZ(p, lo, hi) gk_g_loadz_float(p, lo, hi)
#define GK_MASKT gk_gmask
#define V_MASK(lo, hi) gk_g_mask(lo, hi)
#define V_LOADZM(p, m) gk_g_loadzm_float(p, m)
#define V_EVEN(a, b) gk_g_even_float(a, b)
#define V_ODD(a, b) gk_g_odd_float(a, b)
#define GK_MOMAX 4
#define GK_NVMAX 2
#define GK_VARIANTS(X) X(1, 1) X(1, 2) X(2, 1) X(2, 2) X(3, 1) X(3, 2) X(4, 1) X(4, 2)
#include "grouped.template.h"
#undef TYPE
#undef SFX
#undef VT
#undef V_SET1
#undef V_LOAD
#undef V_FMA
#undef V_MSTORE
#undef V_MLOAD
#undef V_STORE
#undef V_LOADZ
#undef GK_MASKT
#undef V_MASK
#undef V_LOADZM
#undef V_EVEN
#undef V_ODD

#define TYPE double
#define SFX f64
#define VT gk_gv_f64
#define V_SET1(s) gk_g_set1_double(s)
#define V_LOAD(p) gk_g_load_double(p)
#define V_FMA(a, b, c) gk_g_fma_double(a, b, c)
#define V_MSTORE(p, lo, hi, v) gk_g_mstore_double(p, lo, hi, v)
#define V_MLOAD(acc, lo, hi, p) gk_g_mload_double(acc, lo, hi, p)
#define V_STORE(p, v) gk_g_store_double(p, v)
#define V_LOADZ(p, lo, hi) gk_g_loadz_double(p, lo, hi)
#define GK_MASKT gk_gmask
#define V_MASK(lo, hi) gk_g_mask(lo, hi)
#define V_LOADZM(p, m) gk_g_loadzm_double(p, m)
#define V_EVEN(a, b) gk_g_even_double(a, b)
#define V_ODD(a, b) gk_g_odd_double(a, b)
#include "grouped.template.h"
#undef TYPE
#undef SFX
#undef VT
#undef V_SET1
#undef V_LOAD
#undef V_FMA
#undef V_MSTORE
#undef V_MLOAD
#undef V_STORE
#undef V_LOADZ
#undef GK_MASKT
#undef V_MASK
#undef V_LOADZM
#undef V_EVEN
#undef V_ODD
#undef ISA
#undef GK_MOMAX
#undef GK_NVMAX
#undef GK_VARIANTS
#undef GTARGET
#undef VL

#if GK_X86

/* ---- AVX2 + FMA ------------------------------------------------------------ */

#define GTARGET __attribute__((target("avx2,fma")))

GK_INLINE GTARGET __m256i gk_avx2_mask32(int lo, int hi)
{
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(hi), iota),
                            _mm256_cmpgt_epi32(iota, _mm256_set1_epi32(lo - 1)));
}

GK_INLINE GTARGET __m256i gk_avx2_mask64(int lo, int hi)
{
    const __m256i iota = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_and_si256(_mm256_cmpgt_epi64(_mm256_set1_epi64x(hi), iota),
                            _mm256_cmpgt_epi64(iota, _mm256_set1_epi64x(lo - 1)));
}

/* Lanes [lo, hi) of p[lane], the others zero. */
GK_INLINE GTARGET __m256 gk_avx2_loadz_f32(const float *p, int lo, int hi)
{
    return _mm256_maskload_ps(p, gk_avx2_mask32(lo, hi));
}

GK_INLINE GTARGET __m256d gk_avx2_loadz_f64(const double *p, int lo, int hi)
{
    return _mm256_maskload_pd(p, gk_avx2_mask64(lo, hi));
}

/* The even and the odd elements of the 2 * VL elements a, b. */
GK_INLINE GTARGET __m256 gk_avx2_even_f32(__m256 a, __m256 b)
{
    __m256 e = _mm256_shuffle_ps(a, b, 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8));
}

GK_INLINE GTARGET __m256 gk_avx2_odd_f32(__m256 a, __m256 b)
{
    __m256 e = _mm256_shuffle_ps(a, b, 0xDD);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8));
}

#define ISA avx2
#define GK_MOMAX 6
#define GK_NVMAX 6
#define GK_VARIANTS(X)                                                      \
    X(1, 1) X(1, 2) X(1, 3) X(1, 4) X(1, 5) X(1, 6)                         \
    X(2, 1) X(2, 2) X(2, 3) X(2, 4) X(2, 5)                                 \
    X(3, 1) X(3, 2) X(3, 3)                                                 \
    X(4, 1) X(4, 2) X(4, 3)                                                 \
    X(5, 1) X(5, 2)                                                         \
    X(6, 1) X(6, 2)

#define TYPE float
#define SFX f32
#define VL 8
#define VT __m256
#define V_SET1(s) _mm256_set1_ps(s)
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_MSTORE(p, lo, hi, v) _mm256_maskstore_ps(p, gk_avx2_mask32(lo, hi), v)
#define V_MLOAD(acc, lo, hi, p)                                             \
    _mm256_blendv_ps(acc, _mm256_maskload_ps(p, gk_avx2_mask32(lo, hi)),    \
                     _mm256_castsi256_ps(gk_avx2_mask32(lo, hi)))
#define V_STORE(p, v) _mm256_storeu_ps(p, v)
#define V_LOADZ(p, lo, hi) gk_avx2_loadz_f32(p, lo, hi)
#define GK_MASKT __m256i
#define V_MASK(lo, hi) gk_avx2_mask32(lo, hi)
#define V_LOADZM(p, m) _mm256_maskload_ps(p, m)
#define V_EVEN(a, b) gk_avx2_even_f32(a, b)
#define V_ODD(a, b) gk_avx2_odd_f32(a, b)
#include "grouped.template.h"
#undef TYPE
#undef SFX
#undef VL
#undef VT
#undef V_SET1
#undef V_LOAD
#undef V_FMA
#undef V_MSTORE
#undef V_MLOAD
#undef V_STORE
#undef V_LOADZ
#undef GK_MASKT
#undef V_MASK
#undef V_LOADZM
#undef V_EVEN
#undef V_ODD

#define TYPE double
#define SFX f64
#define VL 4
#define VT __m256d
#define V_SET1(s) _mm256_set1_pd(s)
#define V_LOAD(p) _mm256_loadu_pd(p)
#define V_FMA(a, b, c) _mm256_fmadd_pd(a, b, c)
#define V_MSTORE(p, lo, hi, v) _mm256_maskstore_pd(p, gk_avx2_mask64(lo, hi), v)
#define V_MLOAD(acc, lo, hi, p)                                             \
    _mm256_blendv_pd(acc, _mm256_maskload_pd(p, gk_avx2_mask64(lo, hi)),    \
                     _mm256_castsi256_pd(gk_avx2_mask64(lo, hi)))
#define V_STORE(p, v) _mm256_storeu_pd(p, v)
#define V_LOADZ(p, lo, hi) gk_avx2_loadz_f64(p, lo, hi)
#define GK_MASKT __m256i
#define V_MASK(lo, hi) gk_avx2_mask64(lo, hi)
#define V_LOADZM(p, m) _mm256_maskload_pd(p, m)
#define V_EVEN(a, b) _mm256_permute4x64_pd(_mm256_unpacklo_pd(a, b), 0xD8)
#define V_ODD(a, b) _mm256_permute4x64_pd(_mm256_unpackhi_pd(a, b), 0xD8)
#include "grouped.template.h"
#undef TYPE
#undef SFX
#undef VL
#undef VT
#undef V_SET1
#undef V_LOAD
#undef V_FMA
#undef V_MSTORE
#undef V_MLOAD
#undef V_STORE
#undef V_LOADZ
#undef GK_MASKT
#undef V_MASK
#undef V_LOADZM
#undef V_EVEN
#undef V_ODD
#undef ISA
#undef GK_MOMAX
#undef GK_NVMAX
#undef GK_VARIANTS
#undef GTARGET

/* ---- AVX-512F -------------------------------------------------------------- */

#define GTARGET __attribute__((target("avx512f,avx2,fma")))

/* Lanes [lo, hi) of a 16- or 8-lane vector, 0 <= lo <= hi <= lanes. */
#define GK_M16(lo, hi) ((__mmask16)((0xFFFFu << (lo)) & (0xFFFFu >> (16 - (hi)))))
#define GK_M8(lo, hi) ((__mmask8)((0xFFu << (lo)) & (0xFFu >> (8 - (hi)))))

GK_INLINE GTARGET __m512 gk_avx512_even_f32(__m512 a, __m512 b)
{
    const __m512i idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22,
                                          24, 26, 28, 30);
    return _mm512_permutex2var_ps(a, idx, b);
}

GK_INLINE GTARGET __m512 gk_avx512_odd_f32(__m512 a, __m512 b)
{
    const __m512i idx = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23,
                                          25, 27, 29, 31);
    return _mm512_permutex2var_ps(a, idx, b);
}

GK_INLINE GTARGET __m512d gk_avx512_even_f64(__m512d a, __m512d b)
{
    const __m512i idx = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    return _mm512_permutex2var_pd(a, idx, b);
}

GK_INLINE GTARGET __m512d gk_avx512_odd_f64(__m512d a, __m512d b)
{
    const __m512i idx = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
    return _mm512_permutex2var_pd(a, idx, b);
}

/* c[i][j] = r[j][i]: a 16 x 16 transpose in four rounds of shuffles. */
GK_INLINE GTARGET void gk_avx512_tr16(const __m512 r[16], __m512 c[16])
{
    __m512 t[16], u[16];
    GK_UNROLL
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* u[4i + c], 128-bit lane L: rows 4i..4i+3 of column 4L + c */
    GK_UNROLL
    for (int i = 0; i < 4; i++) {
        u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    GK_UNROLL
    for (int k = 0; k < 4; k++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88);
        __m512 v1 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xDD);
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
        __m512 v3 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xDD);
        c[k] = _mm512_shuffle_f32x4(v0, v2, 0x88);
        c[k + 8] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
        c[k + 4] = _mm512_shuffle_f32x4(v1, v3, 0x88);
        c[k + 12] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
    }
}

GK_INLINE GTARGET void gk_avx512_tr8d(const __m512d r[8], __m512d c[8])
{
    __m512d t[8];
    GK_UNROLL
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_pd(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_pd(r[2 * i], r[2 * i + 1]);
    }
    /* t[2i + c], 128-bit lane L: rows 2i, 2i+1 of column 2L + c */
    GK_UNROLL
    for (int k = 0; k < 2; k++) {
        __m512d v0 = _mm512_shuffle_f64x2(t[k], t[2 + k], 0x88);
        __m512d v1 = _mm512_shuffle_f64x2(t[k], t[2 + k], 0xDD);
        __m512d v2 = _mm512_shuffle_f64x2(t[4 + k], t[6 + k], 0x88);
        __m512d v3 = _mm512_shuffle_f64x2(t[4 + k], t[6 + k], 0xDD);
        c[k] = _mm512_shuffle_f64x2(v0, v2, 0x88);
        c[k + 4] = _mm512_shuffle_f64x2(v0, v2, 0xDD);
        c[k + 2] = _mm512_shuffle_f64x2(v1, v3, 0x88);
        c[k + 6] = _mm512_shuffle_f64x2(v1, v3, 0xDD);
    }
}

#define ISA avx512
/* channels along the vectors: MV channel vectors x P pixels, P * MV + MV + 1
   <= 32 registers */
#define GK_OVARIANTS_AVX512(X)                                              \
    X(1, 1) X(1, 2) X(1, 3) X(1, 4) X(1, 5) X(1, 6) X(1, 7) X(1, 8)         \
    X(1, 9) X(1, 10) X(1, 11) X(1, 12) X(1, 13) X(1, 14) X(1, 15) X(1, 16)  \
    X(2, 1) X(2, 2) X(2, 3) X(2, 4) X(2, 5) X(2, 6) X(2, 7) X(2, 8)         \
    X(2, 9) X(2, 10) X(2, 11) X(2, 12) X(2, 13) X(2, 14)                    \
    X(3, 1) X(3, 2) X(3, 3) X(3, 4) X(3, 5) X(3, 6) X(3, 7) X(3, 8) X(3, 9) \
    X(4, 1) X(4, 2) X(4, 3) X(4, 4) X(4, 5) X(4, 6)
/* and R whole rows of NP pixels a pass, MV * R * NP + MV + 1 <= 32 too */
#define GK_ORMAX 4
#define GK_ORVARIANTS_AVX512(X)                                             \
    X(1, 2, 2) X(1, 3, 2) X(1, 4, 2) X(1, 2, 3) X(1, 3, 3) X(1, 4, 3)        \
    X(1, 2, 4) X(1, 3, 4) X(1, 4, 4) X(1, 2, 5) X(1, 3, 5) X(1, 4, 5)        \
    X(1, 2, 6) X(1, 3, 6) X(1, 4, 6) X(1, 2, 7) X(1, 3, 7) X(1, 4, 7)        \
    X(1, 2, 8) X(1, 3, 8) X(1, 2, 9) X(1, 3, 9) X(1, 2, 10) X(1, 3, 10)      \
    X(1, 2, 11) X(1, 2, 12) X(1, 2, 13) X(1, 2, 14) X(1, 2, 15) X(2, 2, 2)   \
    X(2, 3, 2) X(2, 4, 2) X(2, 2, 3) X(2, 3, 3) X(2, 4, 3) X(2, 2, 4)        \
    X(2, 3, 4) X(2, 2, 5) X(2, 2, 6) X(2, 2, 7) X(3, 2, 2) X(3, 3, 2)        \
    X(3, 4, 2) X(3, 2, 3) X(3, 3, 3) X(3, 2, 4) X(4, 2, 2) X(4, 3, 2)        \
    X(4, 2, 3)
#define GK_MOMAX 8
#define GK_NVMAX 6
#define GK_VARIANTS(X)                                                      \
    X(1, 1) X(1, 2) X(1, 3) X(1, 4) X(1, 5) X(1, 6)                         \
    X(2, 1) X(2, 2) X(2, 3) X(2, 4) X(2, 5) X(2, 6)                         \
    X(3, 1) X(3, 2) X(3, 3) X(3, 4) X(3, 5) X(3, 6)                         \
    X(4, 1) X(4, 2) X(4, 3) X(4, 4) X(4, 5) X(4, 6)                         \
    X(5, 1) X(5, 2) X(5, 3) X(5, 4) X(5, 5)                                 \
    X(6, 1) X(6, 2) X(6, 3) X(6, 4)                                         \
    X(7, 1) X(7, 2) X(7, 3)                                                 \
    X(8, 1) X(8, 2) X(8, 3)

#define TYPE float
#define SFX f32
#define VL 16
#define VT __m512
/* output channels along the vectors: kernels X(MV, P) for MV vectors of
   channels x P pixels, and the 16 x 16 transpose */
#define GK_OCV 1
#define GK_OMVMAX 4
#define GK_OPMAX 16
#define V_TRANSPOSE(r, c) gk_avx512_tr16(r, c)
#define GK_OVARIANTS(X) GK_OVARIANTS_AVX512(X)
#define GK_ORVARIANTS(X) GK_ORVARIANTS_AVX512(X)
#define V_SET1(s) _mm512_set1_ps(s)
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_MSTORE(p, lo, hi, v) _mm512_mask_storeu_ps(p, GK_M16(lo, hi), v)
#define V_MLOAD(acc, lo, hi, p) _mm512_mask_loadu_ps(acc, GK_M16(lo, hi), p)
#define V_STORE(p, v) _mm512_storeu_ps(p, v)
#define V_LOADZ(p, lo, hi) _mm512_maskz_loadu_ps(GK_M16(lo, hi), p)
#define GK_MASKT __mmask16
#define V_MASK(lo, hi) GK_M16(lo, hi)
#define V_LOADZM(p, m) _mm512_maskz_loadu_ps(m, p)
#define V_EVEN(a, b) gk_avx512_even_f32(a, b)
#define V_ODD(a, b) gk_avx512_odd_f32(a, b)
#include "grouped.template.h"
#undef GK_OCV
#undef GK_OMVMAX
#undef GK_OPMAX
#undef V_TRANSPOSE
#undef GK_OVARIANTS
#undef GK_ORVARIANTS
#undef TYPE
#undef SFX
#undef VL
#undef VT
#undef V_SET1
#undef V_LOAD
#undef V_FMA
#undef V_MSTORE
#undef V_MLOAD
#undef V_STORE
#undef V_LOADZ
#undef GK_MASKT
#undef V_MASK
#undef V_LOADZM
#undef V_EVEN
#undef V_ODD

#define TYPE double
#define SFX f64
#define VL 8
#define VT __m512d
#define V_SET1(s) _mm512_set1_pd(s)
#define V_LOAD(p) _mm512_loadu_pd(p)
#define V_FMA(a, b, c) _mm512_fmadd_pd(a, b, c)
#define V_MSTORE(p, lo, hi, v) _mm512_mask_storeu_pd(p, GK_M8(lo, hi), v)
#define V_MLOAD(acc, lo, hi, p) _mm512_mask_loadu_pd(acc, GK_M8(lo, hi), p)
#define V_STORE(p, v) _mm512_storeu_pd(p, v)
#define V_LOADZ(p, lo, hi) _mm512_maskz_loadu_pd(GK_M8(lo, hi), p)
#define GK_MASKT __mmask8
#define V_MASK(lo, hi) GK_M8(lo, hi)
#define V_LOADZM(p, m) _mm512_maskz_loadu_pd(m, p)
#define V_EVEN(a, b) gk_avx512_even_f64(a, b)
#define V_ODD(a, b) gk_avx512_odd_f64(a, b)
#define GK_OCV 1
#define GK_OMVMAX 4
#define GK_OPMAX 16
#define V_TRANSPOSE(r, c) gk_avx512_tr8d(r, c)
#define GK_OVARIANTS(X) GK_OVARIANTS_AVX512(X)
#define GK_ORVARIANTS(X) GK_ORVARIANTS_AVX512(X)
#include "grouped.template.h"
#undef GK_OCV
#undef GK_OMVMAX
#undef GK_OPMAX
#undef V_TRANSPOSE
#undef GK_OVARIANTS
#undef GK_ORVARIANTS
#undef TYPE
#undef SFX
#undef VL
#undef VT
#undef V_SET1
#undef V_LOAD
#undef V_FMA
#undef V_MSTORE
#undef V_MLOAD
#undef V_STORE
#undef V_LOADZ
#undef GK_MASKT
#undef V_MASK
#undef V_LOADZM
#undef V_EVEN
#undef V_ODD
#undef ISA
#undef GK_MOMAX
#undef GK_NVMAX
#undef GK_VARIANTS
#undef GTARGET

#endif /* GK_X86 */

/* ---- the kernel family ----------------------------------------------------- */

static int grouped_supports(const gconv_shape *s, gconv_isa_level isa)
{
    (void)isa;
    return s->cin_g >= 2;
}

static int64_t grouped_packed_size(const gconv_shape *s, gconv_isa_level isa)
{
    (void)s;
    (void)isa;
    return 0;  /* reads the weight in its PyTorch layout */
}

#define GK_FAMILY(T, SFX)                                                      \
    static void grouped_pack_##SFX(const gconv_shape *s, gconv_isa_level isa,  \
                                   const T *weight, T *packed)                 \
    {                                                                          \
        (void)s;                                                               \
        (void)isa;                                                             \
        (void)weight;                                                          \
        (void)packed;                                                          \
    }                                                                          \
    static gconv_status grouped_run_##SFX(const gconv_shape *s, gconv_isa_level isa, \
                                          const T *weight, const T *bias,      \
                                          const T *input, T *output, int threads) \
    {                                                                          \
        GK_DISPATCH_##SFX                                                      \
        return run_##SFX##_generic(s, weight, bias, input, output, threads);   \
    }                                                                          \
    const gconv_kernel_##SFX gconv__grouped_##SFX = {                          \
        "grouped", grouped_supports, grouped_packed_size, grouped_pack_##SFX,  \
        grouped_run_##SFX, 0 /* checks its weights before leaving taps out */   \
    };

#if GK_X86
#  define GK_DISPATCH_f32                                                      \
    if (isa >= GCONV_ISA_AVX512)                                               \
        return run_f32_avx512(s, weight, bias, input, output, threads);        \
    if (isa >= GCONV_ISA_AVX2)                                                 \
        return run_f32_avx2(s, weight, bias, input, output, threads);
#  define GK_DISPATCH_f64                                                      \
    if (isa >= GCONV_ISA_AVX512)                                               \
        return run_f64_avx512(s, weight, bias, input, output, threads);        \
    if (isa >= GCONV_ISA_AVX2)                                                 \
        return run_f64_avx2(s, weight, bias, input, output, threads);
#else
#  define GK_DISPATCH_f32 (void)isa;
#  define GK_DISPATCH_f64 (void)isa;
#endif

GK_FAMILY(float, f32)
GK_FAMILY(double, f64)
