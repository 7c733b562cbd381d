/*
 * kernels.c -- the kernel families the plans choose from, most specialised
 * first.  The first whose `supports` accepts a shape on the CPU's vector
 * level runs it; the generic kernel, last, accepts every shape.
 */
#include "internal.h"

const gconv_kernel_f32 *const gconv__kernels_f32[] = {
    &gconv__depthwise_f32,
    &gconv__grouped_f32,
    &gconv__generic_f32,
    NULL,
};

const gconv_kernel_f64 *const gconv__kernels_f64[] = {
    &gconv__depthwise_f64,
    &gconv__grouped_f64,
    &gconv__generic_f64,
    NULL,
};
