/*
 * gconv.h -- grouped convolution, the public C API of libgconv.
 *
 * gconv computes the grouped N-d cross-correlation of PyTorch's
 * torch.nn.functional.conv1d/2d/3d on dense, C-contiguous, channels-first
 * arrays:
 *
 *   input   (batch, in_channels,  in_size[0..ndim-1])
 *   weight  (out_channels, in_channels / groups, kernel[0..ndim-1])
 *   bias    (out_channels)                         optional (NULL)
 *   output  (batch, out_channels, out_size[0..ndim-1])
 *
 *   out_size[d] = (in_size[d] + pad_before[d] + pad_after[d]
 *                  - dilation[d] * (kernel[d] - 1) - 1) / stride[d] + 1
 *
 * Padding is implicit zeros that take part in the arithmetic: a tap over the
 * padding adds weight * 0, so an infinite or NaN weight there gives NaN, as
 * IEEE arithmetic on an explicitly padded input would.  Every entry point
 * validates its arguments with the same gate as the Python package (see
 * gconv_check_params) and reports the outcome as a gconv_status; nothing is
 * written to the output unless the call returns GCONV_OK.  The library never
 * aborts and never prints.
 *
 * Typical use:
 *
 *   gconv_params p;
 *   gconv_params_init(&p, 2);             // 2-D, every field at its default
 *   p.batch = 1; p.in_channels = 64; p.out_channels = 64; p.groups = 32;
 *   p.input_size[0] = p.input_size[1] = 56;
 *   p.kernel_size[0] = p.kernel_size[1] = 3;
 *   p.pad_before[0] = p.pad_before[1] = p.pad_after[0] = p.pad_after[1] = 1;
 *   char msg[GCONV_MESSAGE_SIZE];
 *   gconv_status st = gconv_check_params(&p, msg, sizeof msg);
 *   if (st != GCONV_OK) { fprintf(stderr, "%s\n", msg); ... }
 *   st = gconv_conv_f32(&p, x, nx, w, nw, b, nb, y, ny, 0);
 *
 * Thread safety: every function may be called concurrently from any number
 * of threads, also from inside the caller's own OpenMP parallel regions.  A
 * plan is immutable after creation and may be executed by several threads at
 * once.  libgconv has no mutable global state of its own.  It reads
 * process-wide state owned by others: the CPU's features (detected by the
 * compiler runtime when the library is loaded, read-only afterwards), the
 * environment variable GCONV_ISA (read with getenv() at every call: changing
 * the environment while another thread is inside gconv is the C library's
 * setenv()/getenv() race, so don't), and the OpenMP settings of the calling
 * thread (omp_get_max_threads(), omp_get_num_procs(), omp_get_thread_limit()).
 *
 * Untrusted parameters and buffers: every size is checked with overflow-free
 * 64-bit arithmetic before anything is allocated; the library never reads or
 * writes outside the buffers given (their lengths are checked against the
 * shape) and never leaves partial results: see the README, section Security.
 */
#ifndef GCONV_H
#define GCONV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ---------------------------------------------------------- */

#define GCONV_VERSION_MAJOR 0
#define GCONV_VERSION_MINOR 1
#define GCONV_VERSION_PATCH 0
#define GCONV_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons */
#define GCONV_VERSION_NUMBER \
    (GCONV_VERSION_MAJOR * 10000 + GCONV_VERSION_MINOR * 100 + GCONV_VERSION_PATCH)

#if defined(_WIN32) && defined(GCONV_SHARED_BUILD)
#  define GCONV_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#  define GCONV_API __attribute__((visibility("default")))
#else
#  define GCONV_API
#endif

/* Version of the library actually linked, e.g. "0.1.0". */
GCONV_API const char *gconv_version(void);
/* GCONV_VERSION_NUMBER of the library actually linked. */
GCONV_API int gconv_version_number(void);

/* ---- status codes ----------------------------------------------------- */

typedef enum gconv_status {
    GCONV_OK = 0,
    /* groups < 1, or in_channels / out_channels not divisible by groups */
    GCONV_ERR_GROUPS = 1,
    /* a bad shape: ndim outside 1..3, a size < 1, stride or dilation < 1,
       negative padding, a kernel larger than the padded input */
    GCONV_ERR_SHAPE = 2,
    /* an element count or byte size that does not fit in int64_t / size_t */
    GCONV_ERR_OVERFLOW = 3,
    /* a buffer length that does not match the shape in the parameters */
    GCONV_ERR_BUFFER_SIZE = 4,
    /* a required pointer is NULL */
    GCONV_ERR_NULL_POINTER = 5,
    /* params->struct_size is not one this library knows */
    GCONV_ERR_STRUCT_SIZE = 6,
    /* a plan executed with the other dtype's function */
    GCONV_ERR_DTYPE = 7,
    /* memory allocation failed; the output is untouched */
    GCONV_ERR_NO_MEMORY = 8,
    /* the output buffer overlaps an input buffer */
    GCONV_ERR_OVERLAP = 9
} gconv_status;

/* A static, generic English description of a status (never NULL). */
GCONV_API const char *gconv_strerror(gconv_status status);

/* Large enough for every message gconv_check_params writes. */
#define GCONV_MESSAGE_SIZE 1024

/* ---- parameters ------------------------------------------------------- */

#define GCONV_MAX_DIMS 3

/*
 * The parameters of one convolution.  Always initialise with
 * gconv_params_init() and then set fields: new fields are only ever appended
 * and struct_size tells the library which ones the caller knows about, so
 * programs built against an older header keep working with a newer library.
 * Entries of the per-dimension arrays at index >= ndim are ignored.
 */
typedef struct gconv_params {
    size_t  struct_size;                  /* = sizeof(gconv_params) */
    int     ndim;                         /* spatial dimensions, 1..3 */
    int64_t batch;                        /* >= 0; 0 gives an empty output */
    int64_t in_channels;                  /* >= 1 */
    int64_t out_channels;                 /* >= 1 */
    int64_t groups;                       /* >= 1, divides both channel counts */
    int64_t input_size[GCONV_MAX_DIMS];   /* >= 1 */
    int64_t kernel_size[GCONV_MAX_DIMS];  /* >= 1 */
    int64_t stride[GCONV_MAX_DIMS];       /* >= 1, default 1 */
    int64_t pad_before[GCONV_MAX_DIMS];   /* >= 0, default 0 */
    int64_t pad_after[GCONV_MAX_DIMS];    /* >= 0, default 0 */
    int64_t dilation[GCONV_MAX_DIMS];     /* >= 1, default 1 */
} gconv_params;

/* Sets struct_size and ndim, batch 1, groups 1, strides and dilations 1,
   paddings 0, and every size, channel count and kernel extent 0 (which the
   gate rejects until the caller sets them). */
GCONV_API void gconv_params_init(gconv_params *params, int ndim);

/*
 * The validation gate.  Returns GCONV_OK or the status every entry point
 * would return for these parameters, and writes a detailed, NUL-terminated
 * message into msg (if msg is not NULL and msg_size > 0; truncated to
 * msg_size - 1 characters).  For GCONV_ERR_GROUPS the message names the
 * numbers, why they are invalid, the valid group counts and the nearest valid
 * channel counts -- the same text the Python package raises.
 */
GCONV_API gconv_status gconv_check_params(const gconv_params *params,
                                          char *msg, size_t msg_size);

/*
 * Output spatial sizes (out_size[0..ndim-1]) and, if out_elements is not
 * NULL, the output's element count.  Validates first.
 */
GCONV_API gconv_status gconv_output_shape(const gconv_params *params,
                                          int64_t out_size[GCONV_MAX_DIMS],
                                          int64_t *out_elements);

/*
 * Element counts the buffers must have: input, weight, output.  Any pointer
 * may be NULL.  Validates first.
 */
GCONV_API gconv_status gconv_buffer_sizes(const gconv_params *params,
                                          int64_t *input_elements,
                                          int64_t *weight_elements,
                                          int64_t *output_elements);

/* ---- one-shot convolution --------------------------------------------- */

/*
 * Convolves.  Each buffer is given with its length in elements, which must
 * equal the count the shape implies (gconv_buffer_sizes); bias may be NULL
 * (then bias_len is ignored) or hold out_channels elements.  num_threads <= 0
 * uses the OpenMP default (omp_get_max_threads()); a count above
 * max(4 * omp_get_num_procs(), that default) or above omp_get_thread_limit()
 * is lowered to it, and calls with little work use fewer threads.  The result
 * is bitwise identical for every thread count.  The output must not overlap
 * the inputs (GCONV_ERR_OVERLAP).  On any error the output is untouched; on
 * GCONV_ERR_NO_MEMORY nothing has been leaked.
 */
GCONV_API gconv_status gconv_conv_f32(const gconv_params *params,
                                      const float *input, size_t input_len,
                                      const float *weight, size_t weight_len,
                                      const float *bias, size_t bias_len,
                                      float *output, size_t output_len,
                                      int num_threads);

GCONV_API gconv_status gconv_conv_f64(const gconv_params *params,
                                      const double *input, size_t input_len,
                                      const double *weight, size_t weight_len,
                                      const double *bias, size_t bias_len,
                                      double *output, size_t output_len,
                                      int num_threads);

/* ---- plans: pack the weights once, convolve many inputs --------------- */

typedef struct gconv_plan gconv_plan;   /* opaque */

/*
 * Validates, copies and packs weight (and bias, which may be NULL) for the
 * given parameters and stores a new plan in *plan (set to NULL on failure).
 * The caller's arrays are not referenced after the call returns.
 */
GCONV_API gconv_status gconv_plan_create_f32(const gconv_params *params,
                                             const float *weight, size_t weight_len,
                                             const float *bias, size_t bias_len,
                                             gconv_plan **plan);
GCONV_API gconv_status gconv_plan_create_f64(const gconv_params *params,
                                             const double *weight, size_t weight_len,
                                             const double *bias, size_t bias_len,
                                             gconv_plan **plan);

/*
 * Runs a plan on an input of `batch` items (any batch >= 0; the other sizes
 * are the plan's).  Lengths are element counts, as for gconv_conv_f32.
 */
GCONV_API gconv_status gconv_plan_execute_f32(const gconv_plan *plan, int64_t batch,
                                              const float *input, size_t input_len,
                                              float *output, size_t output_len,
                                              int num_threads);
GCONV_API gconv_status gconv_plan_execute_f64(const gconv_plan *plan, int64_t batch,
                                              const double *input, size_t input_len,
                                              double *output, size_t output_len,
                                              int num_threads);

/* Frees a plan; NULL is allowed. */
GCONV_API void gconv_plan_destroy(gconv_plan *plan);

/* ---- build and machine information ------------------------------------ */

/* The vector path the kernels use on this CPU: "avx512", "avx2" or "generic". */
GCONV_API const char *gconv_isa(void);
/* 1 if the library was built with OpenMP, else 0. */
GCONV_API int gconv_has_openmp(void);
/* Threads a call with num_threads <= 0 uses (1 without OpenMP). */
GCONV_API int gconv_default_threads(void);

#ifdef __cplusplus
}
#endif

#endif /* GCONV_H */
