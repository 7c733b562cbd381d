/*
 * api.c -- the public entry points of libgconv: parameters, version, status
 * messages, shape queries, one-shot convolution and plans.  The typed
 * functions come from api.template.h, once for float and once for double.
 */
#include "internal.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#  include <omp.h>
#endif

struct gconv_plan {
    gconv_shape shape;        /* as validated at creation */
    size_t elem_size;         /* sizeof(float) or sizeof(double) */
    gconv_isa_level isa;      /* the level the weights were packed for */
    const void *kernel;       /* gconv_kernel_f32 or gconv_kernel_f64 */
    void *weights;            /* packed weights, or a plain copy */
    void *bias;               /* a copy, or NULL */
};

/* ---- version and messages ------------------------------------------------ */

const char *gconv_version(void)
{
    return GCONV_VERSION_STRING;
}

int gconv_version_number(void)
{
    return GCONV_VERSION_NUMBER;
}

const char *gconv_strerror(gconv_status status)
{
    switch (status) {
    case GCONV_OK:
        return "success";
    case GCONV_ERR_GROUPS:
        return "invalid groups: in_channels and out_channels must both be "
               "divisible by groups >= 1";
    case GCONV_ERR_SHAPE:
        return "invalid shape: a size, kernel, stride, dilation or padding is out "
               "of range";
    case GCONV_ERR_OVERFLOW:
        return "a size overflows 64-bit arithmetic";
    case GCONV_ERR_BUFFER_SIZE:
        return "a buffer length does not match the shape";
    case GCONV_ERR_NULL_POINTER:
        return "a required pointer is NULL";
    case GCONV_ERR_STRUCT_SIZE:
        return "params->struct_size is not valid: initialise params with "
               "gconv_params_init()";
    case GCONV_ERR_DTYPE:
        return "the plan was created for the other dtype";
    case GCONV_ERR_NO_MEMORY:
        return "out of memory";
    case GCONV_ERR_OVERLAP:
        return "the output buffer overlaps an input buffer";
    }
    return "unknown status";
}

/* ---- parameters and shape queries ------------------------------------------ */

void gconv_params_init(gconv_params *params, int ndim)
{
    if (params == NULL)
        return;
    memset(params, 0, sizeof *params);
    params->struct_size = sizeof *params;
    params->ndim = ndim;
    params->batch = 1;
    params->groups = 1;
    for (int d = 0; d < GCONV_MAX_DIMS; d++) {
        params->stride[d] = 1;
        params->dilation[d] = 1;
    }
}

gconv_status gconv_output_shape(const gconv_params *params,
                                int64_t out_size[GCONV_MAX_DIMS],
                                int64_t *out_elements)
{
    gconv_shape s;
    gconv_status st = gconv__validate(params, &s, NULL, 0);
    if (st != GCONV_OK)
        return st;
    if (out_size != NULL) {
        int off = 3 - s.ndim;
        for (int d = 0; d < GCONV_MAX_DIMS; d++)
            out_size[d] = d < s.ndim ? s.out[off + d] : 0;
    }
    if (out_elements != NULL)
        *out_elements = s.output_elements;
    return GCONV_OK;
}

gconv_status gconv_buffer_sizes(const gconv_params *params, int64_t *input_elements,
                                int64_t *weight_elements, int64_t *output_elements)
{
    gconv_shape s;
    gconv_status st = gconv__validate(params, &s, NULL, 0);
    if (st != GCONV_OK)
        return st;
    if (input_elements != NULL)
        *input_elements = s.input_elements;
    if (weight_elements != NULL)
        *weight_elements = s.weight_elements;
    if (output_elements != NULL)
        *output_elements = s.output_elements;
    return GCONV_OK;
}

/* ---- buffers --------------------------------------------------------------- */

static int overlaps(const void *a, size_t a_bytes, const void *b, size_t b_bytes)
{
    uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
    if (a == NULL || b == NULL || a_bytes == 0 || b_bytes == 0)
        return 0;
    return pa < pb + b_bytes && pb < pa + a_bytes;
}

/* Buffer pointers and lengths against a validated shape.  A pointer may be
   NULL only where its length must be 0 (bias: NULL means no bias). */
static gconv_status check_buffers(const gconv_shape *s, size_t elem,
                                  const void *input, size_t input_len,
                                  const void *weight, size_t weight_len,
                                  const void *bias, size_t bias_len,
                                  const void *output, size_t output_len)
{
    size_t n_in = (size_t)s->input_elements, n_w = (size_t)s->weight_elements;
    size_t n_out = (size_t)s->output_elements, n_b = (size_t)s->out_channels;
    if ((input == NULL && n_in > 0) || weight == NULL || (output == NULL && n_out > 0))
        return GCONV_ERR_NULL_POINTER;
    if (input_len != n_in || weight_len != n_w || output_len != n_out ||
        (bias != NULL && bias_len != n_b))
        return GCONV_ERR_BUFFER_SIZE;
    if (overlaps(output, n_out * elem, input, n_in * elem) ||
        overlaps(output, n_out * elem, weight, n_w * elem) ||
        (bias != NULL && overlaps(output, n_out * elem, bias, n_b * elem)))
        return GCONV_ERR_OVERLAP;
    return GCONV_OK;
}

/* ---- memory, threads ------------------------------------------------------- */

void *gconv__alloc(int64_t elements, size_t elem_size)
{
    const size_t align = 64;
    if (elements < 0 || (uint64_t)elements > (SIZE_MAX - 2 * align) / elem_size)
        return NULL;
    size_t bytes = (size_t)elements * elem_size + align + sizeof(void *);
    unsigned char *raw = (unsigned char *)malloc(bytes);
    if (raw == NULL)
        return NULL;
    uintptr_t start = (uintptr_t)(raw + sizeof(void *));
    uintptr_t aligned = (start + align - 1) & ~(uintptr_t)(align - 1);
    unsigned char *p = raw + (aligned - (uintptr_t)raw);
    memcpy(p - sizeof(void *), &raw, sizeof(void *));
    return p;
}

void gconv__free(void *ptr)
{
    if (ptr == NULL)
        return;
    void *raw;
    memcpy(&raw, (unsigned char *)ptr - sizeof(void *), sizeof(void *));
    free(raw);
}

int gconv__threads(int num_threads)
{
#ifdef _OPENMP
    int usual = omp_get_max_threads();
    if (num_threads <= 0)
        return usual;
    if (num_threads > usual) {
        /* More threads than max(4 x processors, the OpenMP default) cannot
           speed a call up, and a huge request would make the OpenMP runtime
           terminate the process when it cannot create them. */
        int procs = omp_get_num_procs();
        int cap = procs > INT_MAX / 4 ? INT_MAX : 4 * procs;
        int limit = omp_get_thread_limit();
        if (cap < usual)
            cap = usual;
        if (cap > limit)
            cap = limit;
        if (num_threads > cap)
            num_threads = cap;
    }
    return num_threads;
#else
    (void)num_threads;
    return 1;
#endif
}

int gconv__threads_for(const gconv_shape *s, int num_threads)
{
    int threads = gconv__threads(num_threads);
    /* Work in multiply-adds; below GCONV_WORK_PER_THREAD per thread, waking
       another thread costs more than it saves.  Kernels give identical
       results for any thread count, so this only changes the speed. */
    int64_t work = s->output_elements;
    if (s->cin_g > 0 && s->k_volume > 0 && work <= INT64_MAX / s->cin_g / s->k_volume)
        work *= s->cin_g * s->k_volume;
    else
        work = INT64_MAX;
    int64_t useful = work / GCONV_WORK_PER_THREAD + 1;
    return useful < threads ? (int)useful : threads;
}

int gconv_has_openmp(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int gconv_default_threads(void)
{
    return gconv__threads(0);
}

const char *gconv_isa(void)
{
    return gconv__isa_name(gconv__isa_level());
}

void gconv_plan_destroy(gconv_plan *plan)
{
    if (plan == NULL)
        return;
    gconv__free(plan->weights);
    gconv__free(plan->bias);
    free(plan);
}

/* ---- the typed entry points ------------------------------------------------ */

#define TYPE float
#define SFX f32
#define UTYPE uint32_t               /* the bits of a TYPE */
#define EXP_MASK UINT32_C(0x7f800000)
#include "api.template.h"
#undef TYPE
#undef SFX
#undef UTYPE
#undef EXP_MASK

#define TYPE double
#define SFX f64
#define UTYPE uint64_t
#define EXP_MASK UINT64_C(0x7ff0000000000000)
#include "api.template.h"
#undef TYPE
#undef SFX
#undef UTYPE
#undef EXP_MASK
