/*
 * depthwise.c -- the depthwise kernel family: every shape whose groups have
 * exactly one input channel (in_channels == groups), channel multipliers
 * (several output channels per group) included, 1-D, 2-D and 3-D, float
 * and double.
 *
 * Each output plane (batch item, output channel) is the correlation of one
 * input plane with one small filter.  The kernels vectorise along the
 * output width (the NCHW layout is fixed) and keep the accumulators of
 * several output rows in registers:
 *
 *   - specialised kernels (depthwise_chunk.template.h) for square 3x3, 5x5
 *     and 7x7 filters with stride 1 or 2 in height and width, and 3x3 with
 *     stride 1 and a dilation (any depth kernel, stride, dilation and
 *     padding).  They walk the input rows of a group of R output rows (7
 *     for 3x3 stride 1, else 4) once, load each shifted input vector once
 *     and add it into every output row that uses it; the taps stay in
 *     registers (9 taps, or any filter at stride 2) or are broadcast from
 *     memory at each use (AVX-512, 7x7 at stride 1: column by column
 *     instead, each tap broadcast once per group of rows, k7_body).
 *     Stride 2 takes the even and odd lanes of two vectors (AVX-512: and
 *     shifts them with valign for the further taps).
 *     Dilated rows go phase by phase (rows oh, oh + d, ... share input rows
 *     like those of an undilated filter).  3x3 and 5x5 at stride 1 on rows
 *     of at most two vectors, all of whose chunks are border chunks, have
 *     kernels of their own (AVX-512: dw_k3s1n, dw_k5s1n).
 *   - a general kernel for every other depthwise shape (1-D, rectangular,
 *     even or large filters, other strides and dilations): blocks of four
 *     vectors (or one) of several output rows a pass (4 and 8 with AVX-512;
 *     one row at width strides of 3 and more, and for the rows left over),
 *     one tap at a time, the taps of every depth slice summed in
 *     registers, each output's in the same order whatever the rows of its
 *     pass.  Filters of one tap column at width stride 1 (7x1, 11x1, ...)
 *     take passes of their own: a block's masks made once for all its
 *     rows, only the vectors that leave the row masked.  Planes under a
 *     filter of one tap in height and width at stride 1 are taken as one
 *     long row.
 *   - channels along the vectors for small 2-D planes, for 2-D filters
 *     without a specialised kernel (in bands of output rows when the plane
 *     is large) and for 1-D rows (dw_cb_ok says which): a vector's worth of
 *     channels is transposed into a tile (1-D: a strip of the row at a
 *     time) with
 *     zero padding, each FMA makes one output position of all of them, and
 *     the output tile is transposed back.  For 3x3, 5x5 and 7x7 filters at
 *     stride 1 each input vector of a tile row is loaded once and
 *     multiplied by the row's taps (in registers) into every output that
 *     uses it.  It wins on rows of at most 8 elements (whose vectors the
 *     row kernels fill poorly) and for 5x5 and larger filters, where the
 *     row kernels broadcast each tap from memory at every use.
 *   - flat planes (AVX-512, 3x3 at stride 1 with padding 1, rows of at
 *     most four vectors, planes of at most 256, dw_tp_ok): the plane is
 *     one flat array, one load per vector and a permute across two vectors
 *     for the rows above and below; the taps of the columns j - 1 and
 *     j + 1 are summed over the three rows and the sums moved by a lane, so
 *     no lane idles but in the last vector and nothing is transposed.  3-D
 *     (3x3 in height and width, any depth taps): each output depth slice
 *     is the bias plus the flat-plane sums of the input slices under its
 *     depth taps, added slice by slice.
 *
 * The row kernels do not copy the padding: vectors whose taps all lie
 * inside the input row use plain loads, those at the borders masked loads
 * that read zeros outside the row (their masks computed once per task);
 * padding rows are read from a row of zeros by the specialised kernels and
 * skipped by the general one.  Their only buffer is that zero row, static
 * unless the rows are very long; the channel-blocked path has a tile, an
 * output tile (1-D: none) and the packed filters per thread (at most
 * 160 KB).  With the specialised kernels, 3-D filters add one depth
 * slice at a time into the output.  Outputs far
 * larger than the caches are written with streaming stores.
 *
 * Each output element is bias + the products of its taps, accumulated with
 * fused multiply-adds in (kd, kh, kw) order (specialised stride-1 kernels:
 * even and odd kh in two chains, added at the end; AVX-512 7x7 at stride 1
 * in (kd, kw, kh) order on those chains; flat planes: the column kw = 0
 * sum, then the kw = 1 taps, plus the kw = 2 sum).  What an element's
 * arithmetic is depends only on its position (vectors start at fixed
 * multiples of the vector length, which kernel runs depends on the shape),
 * never on how rows, channels or planes were split among threads, so
 * results are bitwise identical for any thread count.
 *
 * Vector paths, from one kernel source (depthwise_isa.template.h): AVX-512F
 * on 512-bit vectors, AVX-512VL on 256-bit vectors for rows of at most 8
 * (float) / 4 (double) elements, AVX2+FMA (x86 only, compiled with target
 * attributes and chosen at run time from the isa level), and portable C on
 * the compiler's 16-byte vectors (or plain arrays) running the general
 * kernel.
 */
#include "internal.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef _OPENMP
#  include <omp.h>
#endif

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#  define DW_X86 1
#  include <immintrin.h>
#else
#  define DW_X86 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define DW_INLINE static inline __attribute__((always_inline))
#  define DW_NOINLINE __attribute__((noinline))
#else
#  define DW_INLINE static inline
#  define DW_NOINLINE
#endif

/* Full unrolling of the small constant-trip loops of the kernels.
   GCONV_NO_FORCED_UNROLL leaves it to the compiler: clang's sanitizers
   spend minutes instrumenting the fully unrolled kernels. */
#if defined(GCONV_NO_FORCED_UNROLL)
#  define DW_UNROLL
#elif defined(__clang__)
#  define DW_UNROLL _Pragma("unroll")
#elif defined(__GNUC__) && __GNUC__ >= 8
#  define DW_UNROLL _Pragma("GCC unroll 64")
#else
#  define DW_UNROLL
#endif

/* The portable path's vectors: the compiler's 16-byte vector types where it
   has them (SIMD on SSE2 and NEON), else arrays of 8 (4) elements (also
   on 32-bit x86 without SSE2, whose ABI passes no vectors in registers). */
#ifndef DW_GVEC
#  if (defined(__GNUC__) || defined(__clang__)) && !(defined(__i386__) && !defined(__SSE2__))
#    define DW_GVEC 1
#  else
#    define DW_GVEC 0
#  endif
#endif
#define DW_ISA_GENERIC 0
#define DW_ISA_AVX2 1
#define DW_ISA_AVX512 2
#define DW_ISA_AVX512Y 3   /* AVX-512VL on 256-bit vectors */

#define DW_RMAX 7          /* output rows per pass of a specialised kernel */
#define DW_CMAX 4          /* vectors per pass of the general kernel */
#define DW_KMAX 7          /* largest specialised filter side */
#define DW_NI_MAX ((DW_RMAX - 1) * 2 + DW_KMAX)   /* input rows per pass */
#define DW_ZEROS 4096      /* static zero row (longer rows: allocated) */
#define DW_TP_MAXV 256     /* vectors of a plane of the flat-plane kernel */

/* Input and output of at least this many bytes: the output bypasses the
   caches (it would only evict the input before anyone reads it back). */
#define DW_STREAM_BYTES (24 << 20)

/* The specialised row kernels (dw_task) store with streaming stores from
   this many bytes in and out on: they ask for the next plane's output
   lines while they compute (a store to a line that is not in the caches
   waits for it to be read), which beats the streaming stores up to about
   twice the last-level cache.  Float32, batch 8, alternated with PyTorch:
   3x3 on 56x56 (29 MB) 0.84 -> 0.58 ms, on 112x112 (26 MB) 0.58 ->
   0.54 ms, 7x7 on 56x56 (19 MB) unchanged. */
#define DW_SPEC_STREAM_BYTES (64 << 20)

/* The general kernel asks for the next plane's lines at once when a plane
   and its outputs take at most DW_GEN_PF_PLANE bytes and the whole call at
   least DW_GEN_PF_BYTES (dw_task). */
#define DW_GEN_PF_PLANE (64 << 10)
#define DW_GEN_PF_BYTES (4 << 20)

/* The address ranges [x, xend) and [y, yend) of the input and output lines
   that a specialised kernel asks for while it computes a plane: the next
   plane's (dw_task). */
typedef struct dw_pf {
    uintptr_t x, xend, y, yend;
} dw_pf;

/* Below this many multiply-adds a call runs on one thread: starting the
   team would cost more than it saves. */
#define DW_SMALL_WORK 40000

#if DW_X86
/* AVX-512VL (256-bit AVX-512 instructions): every AVX-512 CPU but the Xeon
   Phi has it. */
static int dw_has_avx512vl(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vl");
}
#endif

/* The specialised filters: side, stride (height and width alike) and
   whether dilated (the same dilation > 1 in height and width; 3x3 stride 1
   only).  The kernels of each vector path come in this order. */
static const int dw_specs[][3] = {
    {3, 1, 0}, {3, 2, 0}, {5, 1, 0}, {5, 2, 0}, {7, 1, 0}, {7, 2, 0}, {3, 1, 1},
};
#define DW_NSPECS ((int)(sizeof dw_specs / sizeof dw_specs[0]))

/* The normalised geometry of one call, shared by every task. */
typedef struct dw_geom {
    int64_t groups, mult;            /* mult: output channels per group */
    int64_t in_d, in_h, in_w, out_d, out_h, out_w;
    int64_t kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw;
    int64_t in_plane, out_plane, kvol;
    int spec;                        /* index into dw_specs, or -1: general */
    int stream;                      /* streaming stores for the output */
} dw_geom;

static int dw_spec_of(const gconv_shape *s)
{
    if (s->k[1] != s->k[2] || s->stride[1] != s->stride[2] || s->dil[1] != s->dil[2])
        return -1;
    const int dilated = s->dil[1] > 1;
    for (int i = 0; i < DW_NSPECS; i++) {
        if (s->k[1] == dw_specs[i][0] && s->stride[1] == dw_specs[i][1] &&
            dilated == dw_specs[i][2])
            return i;
    }
    return -1;
}

static void dw_geom_init(dw_geom *g, const gconv_shape *s)
{
    g->groups = s->groups;
    g->mult = s->cout_g;
    g->in_d = s->in[0];
    g->in_h = s->in[1];
    g->in_w = s->in[2];
    g->out_d = s->out[0];
    g->out_h = s->out[1];
    g->out_w = s->out[2];
    g->kd = s->k[0];
    g->kh = s->k[1];
    g->kw = s->k[2];
    g->sd = s->stride[0];
    g->sh = s->stride[1];
    g->sw = s->stride[2];
    g->pd = s->pad[0];
    g->ph = s->pad[1];
    g->pw = s->pad[2];
    g->dd = s->dil[0];
    g->dh = s->dil[1];
    g->dw = s->dil[2];
    g->in_plane = s->in_plane;
    g->out_plane = s->out_plane;
    g->kvol = s->k_volume;
    g->spec = dw_spec_of(s);
    g->stream = 0;
    /* a filter of one tap in height and width at stride 1 without padding
       maps each input plane element to the same output element: the
       planes are taken as one row (full vectors however narrow the rows) */
    if (g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->out_h == g->in_h &&
        g->out_w == g->in_w && g->in_h > 1) {
        g->in_w = g->out_w = g->in_h * g->in_w;
        g->in_h = g->out_h = 1;
        g->spec = -1;
    }
}

/* How the work of a call is cut into units for the threads: every
   (batch item, group) plane, cut further into blocks of output channels
   (of the group) and of output rows (depth x height) while there are too
   few planes to keep the threads busy.  The cut changes which thread
   computes an output, never how. */
typedef struct dw_split {
    int threads;
    int64_t planes, units, chunk;   /* chunk: units per scheduling grab */
    int64_t mblocks, mper;          /* channel blocks of mper channels */
    int64_t rblocks, rper;          /* row blocks of rper rows */
} dw_split;

static void dw_split_init(dw_split *p, const gconv_shape *s, const dw_geom *g, int threads)
{
    const int64_t rows = g->out_d * g->out_h;
    /* output elements times taps; saturates instead of overflowing */
    const double work = (double)s->output_elements * (double)s->k_volume;
    p->threads = threads < 1 ? 1 : threads;
    if (work < (double)DW_SMALL_WORK)
        p->threads = 1;
    p->planes = s->batch * s->groups;
    p->mblocks = 1;
    p->mper = s->cout_g;
    p->rblocks = 1;
    p->rper = rows;
    if (p->threads > 1) {
        const int64_t want = 4 * (int64_t)p->threads;
        if (p->planes < want) {
            /* rows first (blocks of at least DW_RMAX rows), then channels */
            int64_t rb = (want + p->planes - 1) / p->planes;
            int64_t rb_max = (rows + DW_RMAX - 1) / DW_RMAX;
            if (rb > rb_max)
                rb = rb_max;
            if (rb < 1)
                rb = 1;
            p->rper = (rows + rb - 1) / rb;
            p->rblocks = (rows + p->rper - 1) / p->rper;
            if (p->planes * p->rblocks < want && s->cout_g > 1) {
                int64_t have = p->planes * p->rblocks;
                int64_t mb = (want + have - 1) / have;
                if (mb > s->cout_g)
                    mb = s->cout_g;
                p->mper = (s->cout_g + mb - 1) / mb;
                p->mblocks = (s->cout_g + p->mper - 1) / p->mper;
            }
        }
    }
    p->units = p->planes * p->mblocks * p->rblocks;
    p->chunk = p->units / (8 * (int64_t)p->threads);
    if (p->chunk < 1)
        p->chunk = 1;
}

/* The helpers of the vector paths below: only x86 builds have those paths
   (elsewhere every layer takes the portable kernels). */
#if DW_X86

/* ---- small planes, channels along the vectors (dw_cb_task) ---------------- */

/* Largest tile + output tile + packed filters of one thread, in bytes. */
#define DW_CB_BYTES (160 << 10)

/* Tile, output tile and filters of a band of rows of a larger plane. */
#define DW_CB_BAND_BYTES (64 << 10)
/* A band of one row of filters without a specialised kernel (RepLKNet's
   31x31 on rows of 28 and 56 take 178 and 236 KB in float32): batch 8,
   2 threads, against the row kernels, float32 256 x 28x28 44 -> 9.5 ms,
   128 x 56x56 83 -> 19 ms, float64 157 -> 39 ms. */
#define DW_CB_ROW_BYTES (512 << 10)

/* Output positions per strip of a 1-D row (a multiple of the 16 positions
   of a register block). */
#define DW_CB1_STRIP 256

/* A 2-D call: one depth slice in and out, the output slice reading the
   input slice through a filter of one depth tap.  A 3-D layer of one slice
   whose output slice lies over depth padding (depth padding 1, stride 5)
   is not: its output is the bias alone, which the 3-D loops give. */
static int dw_is_2d(const dw_geom *g)
{
    return g->in_d == 1 && g->kd == 1 && g->out_d == 1 && g->pd == 0;
}

/* A call of independent rows: 1-D, or 2-D with a filter of one row at
   height stride 1 without height padding (each output row is the 1-D
   correlation of its input row).  Planes of several rows of at most 24
   are not: the channel-blocked kernel takes them whole, as planes (a strip
   a row made each row's transposes cost more than its FMAs).  Float32,
   batch 8, 2 threads, against strips: 1x7 on 320 x 14x14 100 -> 55 us,
   1x11 108 -> 62 us, 1x21 132 -> 91 us, float64 1x7 140 -> 98 us; 1x7
   on 128 x 17x17 59 -> 39 us; rows of 28 were 13 % faster in float32
   but 9 % slower in float64, and stay rows. */
static int dw_is_rows(const dw_geom *g)
{
    return dw_is_2d(g) && g->kh == 1 && g->sh == 1 && g->out_h == g->in_h &&
           (g->in_h == 1 || g->out_w > 24);
}

/* The strip length of a call of rows (the row rounded up to whole blocks
   of 16 when shorter), 0 for other calls. */
static int64_t dw_cb_strip(const dw_geom *g)
{
    if (!dw_is_rows(g))
        return 0;
    return g->out_w < DW_CB1_STRIP ? (g->out_w + 15) / 16 * 16 : DW_CB1_STRIP;
}

/* Input rows under a band of b output rows (2-D). */
static double dw_cb_tile_rows(const dw_geom *g, double b)
{
    return (b - 1) * (double)g->sh + (double)(g->kh - 1) * (double)g->dh + 1;
}

/* Bytes of a band of b output rows (2-D): tile, output tile and filters. */
static double dw_cb_band_bytes(const dw_geom *g, double b, int64_t vl, size_t elem)
{
    const double th = dw_cb_tile_rows(g, b);
    const double tw = (double)(g->out_w - 1) * (double)g->sw + (double)(g->kw - 1) * (double)g->dw + 1;
    return (th * tw + b * (double)g->out_w + (double)g->kvol) * (double)vl * (double)elem;
}

/* Output rows per band of a 2-D call: the whole plane when its tiles fit
   DW_CB_BYTES, else as many as fit DW_CB_BAND_BYTES (at least 1; 0: not
   even one row fits DW_CB_BYTES, or DW_CB_ROW_BYTES for filters without a
   specialised kernel, whose other kernels load an input vector per FMA).
   A band whose tile would hold more than twice its rows (a tall filter)
   grows up to DW_CB_BYTES: 21x1 on 64 x 56x56, float32, batch 8, 2
   threads, bands of 1 row (21 tile rows each) 2.1 ms, of 12 rows 0.65 ms. */
static int64_t dw_cb_band(const dw_geom *g, int64_t vl, size_t elem)
{
    if (dw_cb_band_bytes(g, (double)g->out_h, vl, elem) <= (double)DW_CB_BYTES)
        return g->out_h;
    if (dw_cb_band_bytes(g, 1, vl, elem) > (double)(g->spec < 0 ? DW_CB_ROW_BYTES : DW_CB_BYTES))
        return 0;
    int64_t b = 1;
    while (b < g->out_h && dw_cb_band_bytes(g, (double)(2 * b), vl, elem) <= (double)DW_CB_BAND_BYTES)
        b *= 2;
    /* tall filters: bands of rows far fewer than the filter's would
       transpose each input row many times; up to DW_CB_BYTES instead */
    while (b < g->out_h && dw_cb_tile_rows(g, (double)b) > 2.0 * (double)b &&
           dw_cb_band_bytes(g, (double)(b + 1), vl, elem) <= (double)DW_CB_BYTES)
        b++;
    return b < g->out_h ? b : g->out_h;
}

/* The sizes of a thread's buffers for blocks of vl channels of elem bytes: tile th x tw
   positions (ntin elements), output tile ntout elements, then the packed
   filters (kvol * vl elements).  2-D: a band of dw_cb_band output rows;
   rows: one strip, and no output tile (the results go from registers to
   the rows).  Only for shapes dw_cb_ok accepts. */
static void dw_cb_sizes(const dw_geom *g, int64_t vl, size_t elem, int64_t *th, int64_t *tw,
                        int64_t *ntin, int64_t *ntout)
{
    const int64_t strip = dw_cb_strip(g);
    if (strip > 0) {
        *th = 1;
        *tw = (strip - 1) * g->sw + (g->kw - 1) * g->dw + 1;
        *ntin = *tw * vl;
        *ntout = 0;
        return;
    }
    const int64_t band = dw_cb_band(g, vl, elem);
    *th = (band - 1) * g->sh + (g->kh - 1) * g->dh + 1;
    *tw = (g->out_w - 1) * g->sw + (g->kw - 1) * g->dw + 1;
    *ntin = *th * *tw * vl;
    *ntout = band * g->out_w * vl;
}

/* Whether channels along the vectors (vl lanes of elem bytes) beat the row
   kernels, as measured on 2-D planes whose tiles fit the caches, with at
   least 4 blocks of channels to share among threads (what is chosen depends
   on the shape alone, so results do not depend on the thread count): float
   on AVX2 always; on rows of at most 8 elements (double on AVX-512: with 5x5
   and larger filters); for filters of 7x7 and more, and on AVX2 (double)
   5x5 and more.  (3-D stays on the row kernels.)  Alternated with
   PyTorch calls, which evict the caches, 5x5 on 14- and 28-wide rows was
   faster on the row kernels with AVX-512.  1-D rows (and 2-D filters of
   one row) go in strips, for filters of 5 taps and more: their row kernels
   load one input vector per FMA (9 taps at batch 1: 78 -> 98 GFLOP/s, 31
   taps: 83 -> 140).  So do 2-D filters of 5 taps and more that have no
   specialised row kernel, in bands of rows on large planes (7x1 on 56x56:
   29 -> 40 GFLOP/s, 5x5 dilated 2: 46 -> 88, 4x4 stride 2: 18 -> 45; at
   3 taps the transposes cost more than they save at batch 8).
   Channels one vector's worth (16 float32 with AVX-512: InceptionNeXt's
   bands) go too, for rows, and for 2-D from batch 2 (the threads then
   share batch items), against the row kernels, 2 threads, float32 16 x
   56x56: batch 8 1x11 62 -> 44 us, 1x7 50 -> 38 us, 3x5 87 -> 61 us, 4x4
   93 -> 85 us; batch 1 4x4 11.9 -> 14.4 us (so not at batch 1); 1-D 31
   taps on 16 x 4000 at batch 1 24 -> 12 us.  A partial second block (20
   or 24 channels) was slower under 4x4 (batch 8 115 -> 149 us): those
   stay.  The paths give the same sums, so the batch changes no result. */
static int dw_cb_ok(const dw_geom *g, int64_t vl, size_t elem, int64_t batch)
{
    if (g->out_plane < 1)
        return 0;
    /* channels in whole blocks: two or more, or one (a vector's worth) for
       rows and for 2-D at batch 2 and more (below) */
    const int64_t ch = g->groups * g->mult;
    if (dw_is_rows(g)) {
        /* rows: in strips, two blocks of channels or more (or one), filters
           of 5 taps and more (13 when dilated: those strips load each tap's
           vectors anew) */
        const double tw = (double)(DW_CB1_STRIP - 1) * (double)g->sw +
                          (double)(g->kw - 1) * (double)g->dw + 1;
        if ((ch >= 2 * vl || ch == vl) && g->kw >= (g->dw == 1 ? 5 : 13) &&
            (tw + (double)g->kw) * (double)vl * (double)elem <= (double)DW_CB_BYTES)
            return 1;
        /* else the row kernels, 2-D too: dw_cb_run takes every call of
           rows in strips (a 2-D one once went there with a stride of 2^31 - 1,
           whose strip tile asked for 1 TB) */
        return 0;
    }
    /* 2-D: one depth slice in and out, read without depth padding */
    if (!dw_is_2d(g) || g->in_h < 2)
        return 0;
    const int64_t band = dw_cb_band(g, vl, elem);
    if (band < 1)
        return 0;
    /* vertical filters (one tap column, width stride 1) on rows of 2.5
       vectors and more: the general kernel's vertical passes, which make a
       block's masks once (dw_gen_vert).  Float32, 64 x 56x56, batch 8, 2
       threads, against these bands: 7x1 300 -> 204 us, 21x1 568 -> 343 us;
       float64 750 -> 472, 1255 -> 647 us; 128 x 28x28 (1.75 vectors
       float32, 3.5 float64): 7x1 float32 109 -> 149 us (so not there),
       float64 211 -> 198 us */
    if (g->kw == 1 && g->sw == 1 && 2 * g->out_w >= 5 * vl)
        return 0;
    /* filters of 5 taps and more without a specialised row kernel (the
       general kernel loads an input vector per FMA): in bands */
    if (g->spec < 0 && g->kvol >= 5 && (ch >= 2 * vl || (ch == vl && batch >= 2)))
        return 1;
    /* the others: small planes whose tiles fit whole */
    if (band < g->out_h || g->kh < 2 || (ch + vl - 1) / vl < 4)
        return 0;
    const int avx512 = vl * (int64_t)elem == 64, narrow = g->out_w <= 8;
    /* float32 5x5 at stride 1, batch 8, 2 threads, against the specialised
       kernels: rows of 17 +70 %, 20 +53 %, 24 +36 % (alternated with
       PyTorch: 17 +74 %, 20 +44 %, 24 +10 %); 28 +8 % alone but 3 to 8 %
       slower alternated, 32 20 % slower; rows of 9 to 16 take the
       narrow-plane kernel (5 % faster) */
    /* float32 5x5 at width stride 2 on rows of 9 to 12 (a vector a third
       or more idle, its lanes split into evens and odds), against the
       specialised kernel, alternated with PyTorch: 288 x 19x19 batch 8
       141-145 -> 87-95 us, batch 1 25-27 -> 21-22 us.  3x3 there gained
       timed alone (768 x 17x17, batch 8, 199 -> 129 us) but lost
       alternated (217-234 -> 278-324 us): it stays on the specialised
       kernel. */
    if (elem == sizeof(float))
        return !avx512 || narrow || g->kvol >= 49 ||
               (g->kvol >= 25 && g->sh == 1 && g->sw == 1 && g->out_w > vl && g->out_w <= 24) ||
               (g->kvol >= 25 && g->sw == 2 && g->out_w <= 12);
    if (!avx512)
        return narrow || g->kvol >= 25;
    /* float64 5x5 on rows of 10 to 20 would be 19 to 75 % faster timed
       alone, but 14x14 at batch 8 alternated with PyTorch's float64 calls
       was 40 % slower (0.66 -> 0.93 ms): those stay on the specialised
       kernels */
    return g->kvol >= 49 || (narrow && g->kvol >= 25);
}

/* Whether the 2-D channel-blocked task asks for the next unit's planes
   while it computes: for arrays far larger than the caches, and for arrays
   larger than the second-level caches (DW_CB_PF_BYTES in and out) when a
   unit makes at least 8 FMAs per element it reads or writes.  Otherwise
   the prefetches cost more than the misses they save (3x3 on 7x7 planes
   at batch 8, 3 MB: 8% faster without; 4x4 stride 2 on 28x28, 8 MB: 12%;
   but 5x5 on 14x14, 8 MB: 22% slower without, 7x7 on 14x14, 5 MB: 3%). */
#define DW_CB_PF_BYTES (4 << 20)
static int dw_cb_prefetches(const dw_geom *g, int64_t batch, size_t elem)
{
    if (g->stream)
        return 1;
    const double planes = (double)batch * (double)(g->groups * g->mult);
    const double in = (double)g->in_plane, out = (double)g->out_plane;
    return planes * (in + out) * (double)elem >= (double)DW_CB_PF_BYTES &&
           (double)g->kvol * out >= 8 * (in + out);
}

/* ---- narrow planes (dw_nw_task) -------------------------------------------- */

#define DW_NW_MAX 8192     /* elements of one of a thread's two row buffers */

/* Row pitch of the narrow-plane buffers (AVX2; with AVX-512, the vectors
   a row is loaded as): whole vectors, one more than an output row takes,
   so at least the columns its vectors read over the taps of a row
   (kw <= vl + 1), and every row starts a cache line of its own: the rows
   are stored, and their vectors loaded, whole and aligned. */
static int64_t dw_nw_pitch(const dw_geom *g, int64_t vl)
{
    return (g->out_w > vl ? 3 : 2) * vl;
}

/* Elements of one narrow-plane buffer: every padded input row. */
static int64_t dw_nw_buf(const dw_geom *g, int64_t vl)
{
    return (g->out_h + g->kh - 1) * dw_nw_pitch(g, vl);
}

/* Whether the narrow-plane task takes the layer on vectors of vl lanes:
   2-D, a specialised 5x5 or 7x7 filter at stride 1 without dilation,
   output rows of more than half a vector and at most one (3x3 filters were
   slower than the specialised kernels), with AVX-512 (wide) also 5x5 on
   rows of up to two vectors, every input column inside the buffer row
   (the vectors a row is loaded as), and the filter no wider than vl + 1:
   a row's taps read the columns [kw, kw + vl) of its buffer row, two
   vectors (AVX2 float64 7x7 once read the next row's first columns,
   wrong where the left padding was narrower than 2).  AVX-512 float32
   5x5 on rows of two vectors, against the specialised kernels, 2
   threads: 240 x 28x28 batch 8 271 -> 233 us, batch 1 33.7 -> 28.3 us,
   96 x 20x20 to 32x32 batch 8 11 to 21 % faster (before the narrow-plane
   kernels read the planes directly, with tap columns outermost, they
   were slower at batch 1). */
static int dw_nw_ok(const dw_geom *g, int64_t vl, int wide)
{
    if (g->spec < 0 || dw_specs[g->spec][1] != 1 || dw_specs[g->spec][2] || !dw_is_2d(g))
        return 0;
    const int64_t wmax = wide && g->kw == 5 ? 2 * vl : vl;
    if (g->out_w * 2 <= vl || g->out_w > wmax || g->kw < 5 || g->kw - 1 > vl ||
        g->out_h > DW_NW_MAX)
        return 0;
    return g->pw + g->in_w <= dw_nw_pitch(g, vl) && dw_nw_buf(g, vl) <= DW_NW_MAX;
}

/* Whether the flat-plane task takes the layer on vectors of vl lanes
   (AVX-512): 3x3 in height and width at stride 1 without dilation and with
   padding 1 on every side (2-D, or 3-D with any depth taps, stride,
   padding and dilation), rows of at most four vectors, planes of at most
   DW_TP_MAXV vectors, an output small enough for plain stores.  3-D
   against the row kernels (which read their partial sums back a depth
   tap at a time), 3x3x3 at batch 8, 2 threads: float32 216 x 8 x 14x14
   1.12 -> 0.60 ms, 256 x 8 x 28x28 4.1 -> 3.2 ms; float64 216 x 8 x
   14x14 1.95 -> 1.20 ms, 256 x 8 x 28x28 (memory-bound, 206 MB) 8.1 to
   9.2 -> 7.6 to 8.5 ms. */
static int dw_tp_ok(const dw_geom *g, int64_t vl)
{
    if (g->kh != 3 || g->kw != 3 || g->sh != 1 || g->sw != 1 || g->dh != 1 || g->dw != 1 ||
        g->ph != 1 || g->pw != 1)
        return 0;
    /* rows of up to four vectors, whole ones too (float32 48x48 at batch
       8, 2 threads: 112 -> 93 us against the row kernels, 64x64 91 -> 80 us;
       float64 24x24 55 -> 43 us, 32x32 92 -> 79 us); on rows of five to
       eight vectors the row kernels were as fast or faster (float32
       112x112 at batch 1 32 against 37 us, 80x80 at batch 8 274 against
       297 us) */
    const int rows_ok = g->out_w <= 4 * vl;
    return g->out_h == g->in_h && g->out_w == g->in_w && rows_ok && !g->stream &&
           g->out_h * g->out_w <= DW_TP_MAXV * vl;
}

static int dw_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

#endif /* DW_X86 */

#define TYPE float
#define SFX f32
#define DW_DOUBLE 0
#include "depthwise.template.h"
#undef TYPE
#undef SFX
#undef DW_DOUBLE

#define TYPE double
#define SFX f64
#define DW_DOUBLE 1
#include "depthwise.template.h"
#undef TYPE
#undef SFX
#undef DW_DOUBLE
