/*
 * failmalloc_preload.c -- an LD_PRELOAD library (glibc/Linux) that makes the
 * N-th allocation *made by code of one shared object* fail, so a test can
 * exercise allocation failure inside the C core of the Python extension
 * (gconv/_ccore*.so) while Python, NumPy and the OpenMP runtime allocate as
 * usual.  Used by tests/test_hardening.py:
 *
 *   cc -shared -fPIC -O1 failmalloc_preload.c -o failmalloc.so
 *   LD_PRELOAD=$PWD/failmalloc.so python ...
 *
 * and, from Python through ctypes:
 *
 *   failmalloc_arm(b"_ccore", n)   watch the object whose path contains
 *                                  "_ccore"; fail its n-th allocation
 *                                  from now on (n = 0: only count)
 *   failmalloc_calls()             allocations it made since arming
 *   failmalloc_failed()            allocations failed on purpose
 *   failmalloc_disarm()
 *
 * An allocation belongs to the object whose code called malloc (the return
 * address of the allocation function).  Not thread-safe: arm it around
 * single-threaded calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);

int failmalloc_arm(const char *name, long n);
void failmalloc_disarm(void);
long failmalloc_calls(void);
long failmalloc_failed(void);

#define MAX_RANGES 8
static uintptr_t lo[MAX_RANGES], hi[MAX_RANGES];
static int nranges, armed;
static long calls, fail_at, failed;

static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    const char *name = (const char *)data;
    if (info->dlpi_name == NULL || strstr(info->dlpi_name, name) == NULL)
        return 0;
    for (int i = 0; i < info->dlpi_phnum && nranges < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            lo[nranges] = info->dlpi_addr + ph->p_vaddr;
            hi[nranges] = lo[nranges] + ph->p_memsz;
            nranges++;
        }
    }
    return 1;
}

int failmalloc_arm(const char *name, long n)
{
    armed = 0;
    nranges = 0;
    dl_iterate_phdr(find_object, (void *)name);
    calls = failed = 0;
    fail_at = n;
    armed = nranges > 0;
    return nranges;
}

void failmalloc_disarm(void)
{
    armed = 0;
}

long failmalloc_calls(void)
{
    return calls;
}

long failmalloc_failed(void)
{
    return failed;
}

/* Whether this allocation, called from `caller`, is to fail. */
static int fail_now(void *caller)
{
    if (!armed)
        return 0;
    uintptr_t a = (uintptr_t)caller;
    for (int i = 0; i < nranges; i++) {
        if (a >= lo[i] && a < hi[i]) {
            calls++;
            if (fail_at > 0 && calls == fail_at) {
                failed++;
                return 1;
            }
            return 0;
        }
    }
    return 0;
}

void *malloc(size_t size)
{
    if (fail_now(__builtin_return_address(0)))
        return NULL;
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    if (fail_now(__builtin_return_address(0)))
        return NULL;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    if (fail_now(__builtin_return_address(0)))
        return NULL;
    return __libc_realloc(p, size);
}

int posix_memalign(void **p, size_t align, size_t size)
{
    if (fail_now(__builtin_return_address(0)))
        return ENOMEM;
    void *q = __libc_memalign(align, size);
    if (q == NULL)
        return ENOMEM;
    *p = q;
    return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
    if (fail_now(__builtin_return_address(0)))
        return NULL;
    return __libc_memalign(align, size);
}
