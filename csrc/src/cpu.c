/*
 * cpu.c -- which vector path the kernels may take on this CPU.  Decided at
 * every call and plan creation from the CPU's features (read-only after the
 * compiler runtime's detection at load time) and the GCONV_ISA environment
 * variable, so there is no mutable global state (gconv.h, Thread safety).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static gconv_isa_level cpu_best(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return GCONV_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return GCONV_ISA_AVX2;
#endif
    return GCONV_ISA_GENERIC;
}

gconv_isa_level gconv__isa_level(void)
{
    gconv_isa_level best = cpu_best();
    const char *want = getenv("GCONV_ISA");
    gconv_isa_level cap = best;
    if (want != NULL) {
        if (strcmp(want, "generic") == 0)
            cap = GCONV_ISA_GENERIC;
        else if (strcmp(want, "avx2") == 0)
            cap = GCONV_ISA_AVX2;
    }
    return cap < best ? cap : best;
}

const char *gconv__isa_name(gconv_isa_level level)
{
    switch (level) {
    case GCONV_ISA_AVX512:
        return "avx512";
    case GCONV_ISA_AVX2:
        return "avx2";
    case GCONV_ISA_GENERIC:
        break;
    }
    return "generic";
}
