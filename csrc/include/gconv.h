/*
 * gconv.h -- grouped convolution: the public C API of libgconv.
 *
 * This header is the whole API.  It is C99 and C++ compatible, needs only
 * <stddef.h> and <stdint.h>, and every name it declares starts with gconv_
 * or GCONV_.
 *
 * What it computes
 * ----------------
 * The grouped N-d cross-correlation of PyTorch's
 * torch.nn.functional.conv1d / conv2d / conv3d (padding_mode="zeros"), on
 * dense, C-contiguous ("row-major"), channels-first arrays:
 *
 *   input   (batch, in_channels,  in_size[0], ..., in_size[ndim-1])
 *   weight  (out_channels, in_channels / groups, kernel[0], ..., kernel[ndim-1])
 *   bias    (out_channels)                                 optional (NULL)
 *   output  (batch, out_channels, out_size[0], ..., out_size[ndim-1])
 *
 *   out_size[d] = (in_size[d] + pad_before[d] + pad_after[d]
 *                  - dilation[d] * (kernel[d] - 1) - 1) / stride[d] + 1
 *
 *   output[n, o, y...] = bias[o] + sum over c < in_channels / groups and the
 *       kernel taps k... of weight[o, c, k...] * input[n, g * (in_channels /
 *       groups) + c, y... * stride - pad_before + k... * dilation]
 *   where g = o / (out_channels / groups) is the group of output channel o
 *   and input positions outside the array read as zero.
 *
 * Padding is implicit zeros that take part in the arithmetic: a tap over the
 * padding adds weight * 0, so an infinite or NaN weight there gives NaN, as
 * IEEE arithmetic on an explicitly padded input would.
 *
 * The groups split the channels into `groups` independent convolutions, so
 * in_channels and out_channels must both be divisible by groups.
 *
 * Errors
 * ------
 * Every entry point validates its arguments with the same gate as the Python
 * package (gconv_check_params) and returns a gconv_status.  On any status
 * other than GCONV_OK nothing has been written to the output buffer.  The
 * library never aborts, never prints, never reads or writes outside the
 * buffers it is given (with their lengths as stated), and keeps no global
 * mutable state.  gconv_check_params writes a detailed message (the text the
 * Python package raises); gconv_strerror gives a short one for any status.
 *
 * Typical use
 * -----------
 *   gconv_params p;
 *   gconv_params_init(&p, 2);               // 2-D, every field at its default
 *   p.batch = 1; p.in_channels = 128; p.out_channels = 128; p.groups = 32;
 *   p.input_size[0] = p.input_size[1] = 56;
 *   p.kernel_size[0] = p.kernel_size[1] = 3;
 *   p.pad_before[0] = p.pad_before[1] = p.pad_after[0] = p.pad_after[1] = 1;
 *
 *   char msg[GCONV_MESSAGE_SIZE];
 *   if (gconv_check_params(&p, msg, sizeof msg) != GCONV_OK) {
 *       fprintf(stderr, "gconv: %s\n", msg);   // says what would be valid
 *       return 1;
 *   }
 *   int64_t nx, nw, ny;
 *   gconv_buffer_sizes(&p, &nx, &nw, &ny);   // element counts
 *   ... allocate x (nx floats), w (nw), b (out_channels), y (ny) ...
 *   gconv_status st = gconv_conv_f32(&p, x, nx, w, nw, b, 128, y, ny, 0);
 *
 * Building against it
 * -------------------
 *   pkg-config:        cc prog.c $(pkg-config --cflags --libs gconv)
 *   CMake:             find_package(gconv 0.1 REQUIRED)
 *                      target_link_libraries(prog PRIVATE gconv::gconv)
 *                      (gconv::gconv_static for the static library)
 *   Python package:    cc prog.c $(python -m gconv --cflags --libs)
 *
 * Threads
 * -------
 * Every function may be called concurrently from any number of threads.  A
 * plan is immutable after creation and may be executed by several threads at
 * once.  Within one call the work is split over at most num_threads OpenMP
 * threads (when the library was built with OpenMP; small problems use
 * fewer); each output element is computed by one thread in a fixed order, so
 * the result is bitwise identical for every thread count.  (It may differ in the last bits between CPUs with
 * different vector units, between float paths chosen by GCONV_ISA, and
 * between library versions.)
 *
 * Calls may also come from inside the caller's own OpenMP parallel regions.
 * libgconv has no mutable global state of its own.  It reads process-wide
 * state owned by others: the CPU's features (detected by the compiler runtime
 * when the library is loaded, read-only afterwards), the environment variable
 * GCONV_ISA (read with getenv() at every call: changing the environment while
 * another thread is inside gconv is the C library's setenv()/getenv() race,
 * so don't), and the OpenMP settings of the calling thread
 * (omp_get_max_threads(), omp_get_num_procs(), omp_get_thread_limit()).
 *
 * Environment
 * -----------
 * GCONV_ISA=generic|avx2 caps the vector path the kernels take (see
 * gconv_isa()); OMP_NUM_THREADS sets the default thread count (OpenMP's).
 *
 * Untrusted parameters and buffers
 * --------------------------------
 * Every size is checked with overflow-free 64-bit arithmetic before anything
 * is allocated; the library never reads or writes outside the buffers given
 * (their lengths are checked against the shape) and never leaves partial
 * results: see the README, section Security.
 */
#ifndef GCONV_H
#define GCONV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ----------------------------------------------------------

   The three numbers below are the one source of the version: the build
   (CMake and setup.py) reads them, and the shared library's soname is
   libgconv.so.<MAJOR>.  Within one MAJOR version the ABI only grows: new
   functions and new status codes may appear, existing ones keep their
   meaning and signature. */

#define GCONV_VERSION_MAJOR 0
#define GCONV_VERSION_MINOR 1
#define GCONV_VERSION_PATCH 0

#define GCONV_STRINGIFY_(x) #x
#define GCONV_STRINGIFY(x) GCONV_STRINGIFY_(x)
/* "MAJOR.MINOR.PATCH" of this header */
#define GCONV_VERSION_STRING                                         \
    GCONV_STRINGIFY(GCONV_VERSION_MAJOR) "."                         \
    GCONV_STRINGIFY(GCONV_VERSION_MINOR) "."                         \
    GCONV_STRINGIFY(GCONV_VERSION_PATCH)
/* MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons */
#define GCONV_VERSION_NUMBER \
    (GCONV_VERSION_MAJOR * 10000 + GCONV_VERSION_MINOR * 100 + GCONV_VERSION_PATCH)

/* GCONV_API marks the exported functions.  The library is built with hidden
   visibility, so these are the only symbols it exports. */
#if defined(_WIN32) && defined(GCONV_SHARED_BUILD)
#  define GCONV_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#  define GCONV_API __attribute__((visibility("default")))
#else
#  define GCONV_API
#endif

/* Version of the library actually linked, e.g. "0.1.0" (compare with
   GCONV_VERSION_STRING, the header's). */
GCONV_API const char *gconv_version(void);
/* GCONV_VERSION_NUMBER of the library actually linked. */
GCONV_API int gconv_version_number(void);

/* ---- status codes -------------------------------------------------------

   Every fallible function returns one of these.  The numeric values are
   part of the ABI and never change. */

typedef enum gconv_status {
    GCONV_OK = 0,
    /* groups < 1, or in_channels / out_channels not divisible by groups
       (Python: gconv.GroupsError) */
    GCONV_ERR_GROUPS = 1,
    /* a bad shape: ndim outside 1..3, batch < 0, a channel count, input size
       or kernel size < 1, stride or dilation < 1, negative padding, a
       (dilated) kernel larger than the padded input; also a negative batch
       given to gconv_plan_execute_*  (Python: gconv.ShapeError) */
    GCONV_ERR_SHAPE = 2,
    /* an element count or byte size that would not fit in int64_t / size_t:
       every buffer must hold fewer than INT64_MAX / 8 elements
       (Python: gconv.ShapeError, same message) */
    GCONV_ERR_OVERFLOW = 3,
    /* a buffer length that is not the element count the parameters imply
       (see gconv_buffer_sizes); bias, when not NULL, must have out_channels */
    GCONV_ERR_BUFFER_SIZE = 4,
    /* a required pointer is NULL (params, plan, weight, the plan out-pointer,
       or input / output while they must hold elements) */
    GCONV_ERR_NULL_POINTER = 5,
    /* params->struct_size is not a size this library knows: params was not
       initialised with gconv_params_init(), or the program was compiled
       against a newer gconv.h than the library it runs with */
    GCONV_ERR_STRUCT_SIZE = 6,
    /* a plan executed with the other dtype's function (a _f32 plan given to
       gconv_plan_execute_f64 or the reverse) */
    GCONV_ERR_DTYPE = 7,
    /* memory allocation failed */
    GCONV_ERR_NO_MEMORY = 8,
    /* the output buffer overlaps the input, weight or bias buffer */
    GCONV_ERR_OVERLAP = 9
} gconv_status;

/* A short, static, English description of a status; never NULL (an unknown
   value gives "unknown status").  For the detailed message of a parameter
   error (GROUPS, SHAPE, OVERFLOW, STRUCT_SIZE, NULL_POINTER) call
   gconv_check_params. */
GCONV_API const char *gconv_strerror(gconv_status status);

/* Large enough for every message gconv_check_params writes. */
#define GCONV_MESSAGE_SIZE 1024

/* ---- parameters ---------------------------------------------------------- */

#define GCONV_MAX_DIMS 3

/*
 * The parameters of one convolution.  Always initialise with
 * gconv_params_init() and then set fields.  struct_size is how the library
 * tells which version of this struct the caller was compiled with: fields
 * are only ever appended (with defaults that keep the old behaviour), a
 * library accepts the struct_size of its own header and of every older one,
 * and rejects a larger one (a program compiled against a newer header) with
 * GCONV_ERR_STRUCT_SIZE rather than ignore fields it does not know.
 *
 * Spatial dimension d (0 <= d < ndim) is the d-th axis after the channel
 * axis: for 2-D, d = 0 is the height and d = 1 the width.  Entries of the
 * per-dimension arrays at index >= ndim are ignored.
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
    int64_t pad_before[GCONV_MAX_DIMS];   /* >= 0, default 0 (zeros) */
    int64_t pad_after[GCONV_MAX_DIMS];    /* >= 0, default 0 (zeros) */
    int64_t dilation[GCONV_MAX_DIMS];     /* >= 1, default 1 */
} gconv_params;

/* Sets every byte of *params to zero, then struct_size =
   sizeof(gconv_params), ndim, batch 1, groups 1, strides and dilations 1.
   Paddings are 0; channel counts, input sizes and kernel sizes are 0, which
   the gate rejects until the caller sets them.  ndim is stored as given (an
   ndim outside 1..3 is reported by the gate).  NULL is ignored. */
GCONV_API void gconv_params_init(gconv_params *params, int ndim);

/*
 * The validation gate: exactly the checks the Python package applies to the
 * same numbers, in the same order, with the same message text.  Returns
 * GCONV_OK or the status every entry point returns for these parameters, and
 * writes a NUL-terminated message into msg when msg is not NULL and msg_size
 * > 0 (truncated to msg_size - 1 characters; GCONV_MESSAGE_SIZE is always
 * enough; "" for GCONV_OK).
 *
 * For GCONV_ERR_GROUPS the message names the numbers, says why they are
 * invalid, lists the valid group counts (the divisors of gcd(in_channels,
 * out_channels)) and the nearest valid channel counts for the requested
 * groups, e.g.
 *
 *   out_channels=11 is not divisible by groups=3: each group must produce the
 *   same whole number of output channels. For in_channels=12, out_channels=11
 *   the valid groups are [1]; with groups=3, use out_channels 9 or 12.
 *
 * The checks, first failure wins: params not NULL; struct_size; ndim in 1..3;
 * batch >= 0; in_channels >= 1; out_channels >= 1; groups; then for each
 * spatial dimension input size, kernel size, stride, dilation, padding; then
 * for each dimension the padded size, the dilated kernel's span and whether
 * it fits; then the element counts of the input, output and weight.
 */
GCONV_API gconv_status gconv_check_params(const gconv_params *params,
                                          char *msg, size_t msg_size);

/*
 * The output's spatial sizes: out_size[d] for d < ndim (the other entries
 * are set to 0), and the output's element count in *out_elements.  Either
 * pointer may be NULL.  Validates first; on failure nothing is written.
 */
GCONV_API gconv_status gconv_output_shape(const gconv_params *params,
                                          int64_t out_size[GCONV_MAX_DIMS],
                                          int64_t *out_elements);

/*
 * The element counts the buffers must have: input (batch * in_channels *
 * prod(in_size)), weight (out_channels * in_channels / groups *
 * prod(kernel)) and output (batch * out_channels * prod(out_size)).  Any
 * pointer may be NULL.  Validates first; on failure nothing is written.
 */
GCONV_API gconv_status gconv_buffer_sizes(const gconv_params *params,
                                          int64_t *input_elements,
                                          int64_t *weight_elements,
                                          int64_t *output_elements);

/* ---- one-shot convolution ------------------------------------------------- */

/*
 * Convolves input with weight (plus bias) into output.
 *
 * Each buffer comes with its length in elements, which must be exactly the
 * count the parameters imply (gconv_buffer_sizes), else
 * GCONV_ERR_BUFFER_SIZE.  bias may be NULL (no bias; bias_len is then
 * ignored) or hold out_channels elements.  input and output may be NULL only
 * when batch is 0 (their lengths are then 0, and the call does nothing).
 * Buffers need no particular alignment.  The output must not overlap the
 * input, weight or bias (GCONV_ERR_OVERLAP); the inputs may overlap each
 * other.  The inputs are never modified.
 *
 * num_threads > 0 uses at most that many threads, num_threads <= 0 at most
 * the OpenMP default (omp_get_max_threads(), i.e. OMP_NUM_THREADS or the core
 * count); a count above max(4 * omp_get_num_procs(), that default) or above
 * omp_get_thread_limit() is lowered to it, and small problems use fewer.
 * Without OpenMP it is ignored.  The result is bitwise identical for every
 * thread count.
 *
 * The status is the first failure of, in order: the gate
 * (gconv_check_params), NULL pointers, buffer lengths, overlap, memory.  On
 * any failure the output is untouched; on GCONV_ERR_NO_MEMORY nothing has
 * been leaked.
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

/* ---- plans: pack the weights once, convolve many inputs ------------------- */

/* An opaque, immutable convolution with its weights (and bias) copied and
   rearranged for the kernel that suits the shape on this CPU.  Executing a
   plan gives the same numbers as the one-shot function on the same data. */
typedef struct gconv_plan gconv_plan;

/*
 * Validates the parameters (as gconv_check_params), copies and packs weight
 * (weight_len elements, as for gconv_conv_f32) and bias (NULL for none, else
 * out_channels elements), and stores a new plan in *plan.  On failure *plan
 * is set to NULL (when plan itself is not NULL: a NULL plan gives
 * GCONV_ERR_NULL_POINTER).  params->batch is only validated: each execution
 * gives its own batch.  The caller's arrays are not referenced after the
 * call returns.  Free the plan with gconv_plan_destroy.
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
 * Runs a plan on an input of `batch` items (any batch >= 0, not necessarily
 * the one the plan was created with; the other sizes are the plan's).  The
 * lengths are element counts: batch * in_channels * prod(in_size) for the
 * input and batch * out_channels * prod(out_size) for the output.  A plan
 * created by a _f32 function must be run by gconv_plan_execute_f32, and a
 * _f64 one by gconv_plan_execute_f64 (else GCONV_ERR_DTYPE).  Errors,
 * threads and overlap are as for gconv_conv_f32; a negative batch gives
 * GCONV_ERR_SHAPE and one whose element counts overflow GCONV_ERR_OVERFLOW.
 */
GCONV_API gconv_status gconv_plan_execute_f32(const gconv_plan *plan, int64_t batch,
                                              const float *input, size_t input_len,
                                              float *output, size_t output_len,
                                              int num_threads);
GCONV_API gconv_status gconv_plan_execute_f64(const gconv_plan *plan, int64_t batch,
                                              const double *input, size_t input_len,
                                              double *output, size_t output_len,
                                              int num_threads);

/* Frees a plan and everything it holds; NULL is allowed. */
GCONV_API void gconv_plan_destroy(gconv_plan *plan);

/* ---- build and machine information ---------------------------------------- */

/* The vector path the kernels take on this CPU: "avx512", "avx2" or
   "generic" (the best the CPU has, lowered by the environment variable
   GCONV_ISA=generic|avx2 as read at the time of the call).  A static
   string. */
GCONV_API const char *gconv_isa(void);
/* 1 if the library was built with OpenMP, else 0 (then every call runs on
   the calling thread). */
GCONV_API int gconv_has_openmp(void);
/* The most threads a call with num_threads <= 0 uses: the OpenMP default
   (omp_get_max_threads()), or 1 without OpenMP. */
GCONV_API int gconv_default_threads(void);

#ifdef __cplusplus
}
#endif

#endif /* GCONV_H */
