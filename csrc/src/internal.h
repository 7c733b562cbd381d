/* internal.h -- what the sources of libgconv share and nothing else sees. */
#ifndef GCONV_INTERNAL_H
#define GCONV_INTERNAL_H

#include "gconv.h"

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#  define GCONV_HIDDEN __attribute__((visibility("hidden")))
#else
#  define GCONV_HIDDEN
#endif

/* OpenMP pragmas that vanish (without -Wunknown-pragmas noise) when the
   compiler has no OpenMP. */
#ifdef _OPENMP
#  define GCONV_PRAGMA(x) _Pragma(#x)
#else
#  define GCONV_PRAGMA(x)
#endif

/* Token pasting for the float/double templates (*.template.h): a file
   defines TYPE and SFX, then includes the template. */
#define GCONV_CAT_(a, b) a##_##b
#define GCONV_CAT(a, b) GCONV_CAT_(a, b)

/* Memory aligned to 64 bytes (a cache line, an AVX-512 register); NULL when
   the size does not fit or the allocation fails. */
GCONV_HIDDEN void *gconv__alloc(int64_t elements, size_t elem_size);
GCONV_HIDDEN void gconv__free(void *ptr);

/* Whether any of w[0..n) is infinite or NaN (api.c). */
GCONV_HIDDEN int gconv__nonfinite_f32(const float *w, int64_t n);
GCONV_HIDDEN int gconv__nonfinite_f64(const double *w, int64_t n);

/* Largest element count any buffer may have: its size in bytes (8 per
   element at most) must fit in int64_t and size_t (on a 32-bit target the
   address space is the tighter limit). */
#if SIZE_MAX / 8 < INT64_MAX / 8
#  define GCONV_MAX_ELEMENTS ((int64_t)(SIZE_MAX / 8))
#else
#  define GCONV_MAX_ELEMENTS (INT64_MAX / 8)
#endif

/*
 * A validated convolution in normalised 3-D form.  A 1-D problem has
 * d == h == 1 in every spatial triple, a 2-D problem d == 1; the unused
 * dimensions have kernel 1, stride 1, dilation 1 and no padding.  Index 0 is
 * depth, 1 height, 2 width.
 */
typedef struct gconv_shape {
    int ndim;
    int64_t batch;
    int64_t in_channels, out_channels, groups;
    int64_t cin_g, cout_g;                 /* channels per group */
    int64_t in[3], k[3], stride[3], pad[3], pad_after[3], dil[3], out[3];
    int64_t in_plane;                      /* in[0] * in[1] * in[2] */
    int64_t out_plane;                     /* out[0] * out[1] * out[2] */
    int64_t k_volume;                      /* k[0] * k[1] * k[2] */
    int64_t input_elements, weight_elements, output_elements;  /* batch as given */
    /* Set by the entry points, not the gate: a weight is infinite or NaN and
       there is zero padding, so taps over the padding must add w * 0 = NaN.
       Such calls always run on the generic kernel. */
    int nonfinite_over_padding;
} gconv_shape;

/* The gate.  Validates params, fills *shape (when not NULL) and writes the
   message (when msg is not NULL). */
GCONV_HIDDEN gconv_status gconv__validate(const gconv_params *params,
                                          gconv_shape *shape,
                                          char *msg, size_t msg_size);

/* Recomputes the batch-dependent element counts of a validated shape for
   another batch; GCONV_ERR_OVERFLOW / GCONV_ERR_SHAPE when it does not fit. */
GCONV_HIDDEN gconv_status gconv__shape_with_batch(gconv_shape *shape, int64_t batch);

/* ---- kernels ------------------------------------------------------------

   A kernel family implements one strategy for one dtype.  The plan picks the
   first family whose `supports` accepts the shape on this CPU.  Kernels run
   only on validated shapes, never fail on arguments, and must give results
   that do not depend on the number of threads (threads split outputs, never
   one output's sum). */

typedef enum gconv_isa_level {
    GCONV_ISA_GENERIC = 0,
    GCONV_ISA_AVX2 = 1,     /* AVX2 + FMA */
    GCONV_ISA_AVX512 = 2    /* AVX-512 F */
} gconv_isa_level;

/* The vector level kernels may use: the CPU's best, lowered by the
   environment variable GCONV_ISA ("generic", "avx2", "avx512"). */
GCONV_HIDDEN gconv_isa_level gconv__isa_level(void);
GCONV_HIDDEN const char *gconv__isa_name(gconv_isa_level level);

/* Thread count for a call: num_threads if > 0, else the OpenMP default. */
GCONV_HIDDEN int gconv__threads(int num_threads);

/* Multiply-adds below which a second thread does not pay for its wake-up. */
#define GCONV_WORK_PER_THREAD 262144

/* The thread count for one call on a validated shape: gconv__threads(),
   lowered so that each thread gets at least GCONV_WORK_PER_THREAD of work. */
GCONV_HIDDEN int gconv__threads_for(const gconv_shape *s, int num_threads);

#define GCONV_KERNEL_STRUCT(T, SUFFIX)                                          \
    typedef struct gconv_kernel_##SUFFIX {                                      \
        const char *name;                                                       \
        /* non-zero when this kernel handles the shape at this ISA level */     \
        int (*supports)(const gconv_shape *s, gconv_isa_level isa);             \
        /* elements of packed weight storage; 0: run takes the weight as is */  \
        int64_t (*packed_size)(const gconv_shape *s, gconv_isa_level isa);      \
        /* fill packed (packed_size elements) from the PyTorch-layout weight */ \
        void (*pack)(const gconv_shape *s, gconv_isa_level isa,                 \
                     const T *weight, T *packed);                               \
        /* compute the whole output for s->batch items from the packed weight \
           (or the plain weight when packed_size is 0); returns GCONV_OK or  \
           GCONV_ERR_NO_MEMORY (then the output is untouched) */                \
        gconv_status (*run)(const gconv_shape *s, gconv_isa_level isa,          \
                            const T *packed, const T *bias,                     \
                            const T *input, T *output, int threads);            \
        /* non-zero when run leaves the taps over zero padding out, which is  \
           exact only for finite weights: a shape whose Inf or NaN weights    \
           meet padding then goes to the generic kernel, which multiplies    \
           them by the zeros (s->nonfinite_over_padding) */                   \
        int skips_padding;                                                      \
    } gconv_kernel_##SUFFIX;

GCONV_KERNEL_STRUCT(float, f32)
GCONV_KERNEL_STRUCT(double, f64)

/* The kernel families, most specialised first, NULL-terminated. */
GCONV_HIDDEN extern const gconv_kernel_f32 *const gconv__kernels_f32[];
GCONV_HIDDEN extern const gconv_kernel_f64 *const gconv__kernels_f64[];

/* Depthwise shapes (one input channel per group, any channel multiplier). */
GCONV_HIDDEN extern const gconv_kernel_f32 gconv__depthwise_f32;
GCONV_HIDDEN extern const gconv_kernel_f64 gconv__depthwise_f64;

/* The generic direct convolution: handles every valid shape. */
GCONV_HIDDEN extern const gconv_kernel_f32 gconv__generic_f32;
GCONV_HIDDEN extern const gconv_kernel_f64 gconv__generic_f64;

/* The blocked convolution for layers with several input channels per group
   (grouped.c). */
GCONV_HIDDEN extern const gconv_kernel_f32 gconv__grouped_f32;
GCONV_HIDDEN extern const gconv_kernel_f64 gconv__grouped_f64;

#endif /* GCONV_INTERNAL_H */
