/*
 * test_threads.c -- concurrency of the C API.
 *
 *  - Results are bitwise identical for every thread count (1..6, default).
 *  - Many POSIX threads calling the one-shot functions and executing one
 *    shared plan at once, with different shapes, dtypes and thread counts,
 *    while another thread creates and destroys plans, get bitwise the
 *    results of serial calls.
 *  - Calls made from inside the caller's own OpenMP parallel region work.
 *  - An absurd thread count (INT_MAX) is capped instead of making the
 *    OpenMP runtime create threads until it fails and exits the process.
 *
 * Built with and without OpenMP; the build without it also runs under
 * ThreadSanitizer (make tsan) to show the API has no data races of its own.
 * Exit status 0 when every check passed.
 */
#include "gconv.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#  include <omp.h>
#endif

static int failures;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

#define EXPECT(cond, ...)                                                       \
    do {                                                                        \
        if (!(cond)) {                                                          \
            pthread_mutex_lock(&fail_lock);                                     \
            failures++;                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fprintf(stderr, "\n");                                              \
            pthread_mutex_unlock(&fail_lock);                                   \
        }                                                                       \
    } while (0)

typedef struct job {
    const char *name;
    gconv_params p;
    int is_f64;
    size_t nx, nw, nb, ny, elem;
    void *x, *w, *b, *ref;     /* ref: the serial result with 1 thread */
    gconv_plan *plan;          /* shared by every thread */
} job;

static job jobs[8];
static int njobs;

static void add_job(const char *name, int ndim, int64_t batch, int64_t cin, int64_t cout,
                    int64_t groups, const int64_t *size, const int64_t *k,
                    const int64_t *stride, const int64_t *pad, int is_f64)
{
    job *j = &jobs[njobs++];
    j->name = name;
    j->is_f64 = is_f64;
    gconv_params_init(&j->p, ndim);
    j->p.batch = batch;
    j->p.in_channels = cin;
    j->p.out_channels = cout;
    j->p.groups = groups;
    for (int d = 0; d < ndim; d++) {
        j->p.input_size[d] = size[d];
        j->p.kernel_size[d] = k[d];
        j->p.stride[d] = stride[d];
        j->p.pad_before[d] = pad[d];
        j->p.pad_after[d] = pad[d] + (d == 0);   /* asymmetric */
    }
    int64_t a, b, c;
    gconv_status st = gconv_buffer_sizes(&j->p, &a, &b, &c);
    EXPECT(st == GCONV_OK, "%s: %d", name, (int)st);
    j->elem = is_f64 ? 8 : 4;
    j->nx = (size_t)a;
    j->nw = (size_t)b;
    j->nb = (size_t)cout;
    j->ny = (size_t)c;
    j->x = malloc(j->nx * j->elem);
    j->w = malloc(j->nw * j->elem);
    j->b = malloc(j->nb * j->elem);
    j->ref = malloc(j->ny * j->elem);
    uint64_t s = 0x1234567u + (uint64_t)njobs;
    void *arrs[3] = {j->x, j->w, j->b};
    size_t ns[3] = {j->nx, j->nw, j->nb};
    for (int t = 0; t < 3; t++)
        for (size_t i = 0; i < ns[t]; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            double v = ((double)(s >> 11) / 9007199254740992.0) * 2.0 - 1.0;
            if (is_f64)
                ((double *)arrs[t])[i] = v;
            else
                ((float *)arrs[t])[i] = (float)v;
        }
}

static gconv_status run_job(const job *j, void *y, int threads, int use_plan)
{
    if (use_plan)
        return j->is_f64
            ? gconv_plan_execute_f64(j->plan, j->p.batch, j->x, j->nx, y, j->ny, threads)
            : gconv_plan_execute_f32(j->plan, j->p.batch, j->x, j->nx, y, j->ny, threads);
    return j->is_f64
        ? gconv_conv_f64(&j->p, j->x, j->nx, j->w, j->nw, j->b, j->nb, y, j->ny, threads)
        : gconv_conv_f32(&j->p, j->x, j->nx, j->w, j->nw, j->b, j->nb, y, j->ny, threads);
}

static void setup(void)
{
    int64_t s2[2] = {28, 28}, k3[2] = {3, 3}, one[3] = {1, 1, 1}, p1[3] = {1, 1, 1};
    int64_t s2b[2] = {17, 23}, st2[2] = {2, 2}, k1[2] = {1, 1}, p0[3] = {0, 0, 0};
    int64_t s1[1] = {301}, k5[1] = {5}, st3[1] = {3}, p2[1] = {2};
    int64_t s3[3] = {6, 9, 10}, k333[3] = {3, 3, 3};
    add_job("depthwise 3x3", 2, 2, 64, 64, 64, s2, k3, one, p1, 0);
    add_job("grouped 3x3 s2", 2, 1, 64, 128, 8, s2b, k3, st2, p1, 1);
    add_job("pointwise g4", 2, 3, 64, 32, 4, s2, k1, one, p0, 0);
    add_job("dense 3x3", 2, 1, 32, 32, 1, s2, k3, one, p1, 0);
    add_job("conv1d", 1, 4, 24, 48, 3, s1, k5, st3, p2, 1);
    add_job("conv3d", 3, 1, 16, 16, 4, s3, k333, one, p1, 0);
    for (int i = 0; i < njobs; i++) {
        job *j = &jobs[i];
        gconv_status st = run_job(j, j->ref, 1, 0);
        EXPECT(st == GCONV_OK, "%s serial: %d", j->name, (int)st);
        st = j->is_f64 ? gconv_plan_create_f64(&j->p, j->w, j->nw, j->b, j->nb, &j->plan)
                       : gconv_plan_create_f32(&j->p, j->w, j->nw, j->b, j->nb, &j->plan);
        EXPECT(st == GCONV_OK, "%s plan: %d", j->name, (int)st);
    }
}

/* Every thread count gives the serial result, bit for bit. */
static void thread_counts(void)
{
    for (int i = 0; i < njobs; i++) {
        job *j = &jobs[i];
        void *y = malloc(j->ny * j->elem);
        for (int t = 0; t <= 6; t++)
            for (int use_plan = 0; use_plan < 2; use_plan++) {
                memset(y, 0, j->ny * j->elem);
                gconv_status st = run_job(j, y, t, use_plan);
                EXPECT(st == GCONV_OK && memcmp(y, j->ref, j->ny * j->elem) == 0,
                       "%s with %d threads (plan %d) differs from 1 thread", j->name, t,
                       use_plan);
            }
        free(y);
    }
}

#define WORKERS 8
#define ROUNDS 12

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int r = 0; r < ROUNDS; r++) {
        const job *j = &jobs[(id + r) % njobs];
        void *y = malloc(j->ny * j->elem);
        int threads = (id + r) % 4;            /* 0 (default), 1, 2, 3 */
        int use_plan = (id + r) % 2;
        gconv_status st = run_job(j, y, threads, use_plan);
        EXPECT(st == GCONV_OK && memcmp(y, j->ref, j->ny * j->elem) == 0,
               "worker %d round %d: %s (%d threads, plan %d) differs from serial", id, r,
               j->name, threads, use_plan);
        free(y);
    }
    return NULL;
}

/* Creates, executes and destroys plans of its own while the workers run. */
static void *planner(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS * 2; r++) {
        const job *j = &jobs[r % njobs];
        gconv_plan *plan = NULL;
        gconv_status st = j->is_f64
            ? gconv_plan_create_f64(&j->p, j->w, j->nw, j->b, j->nb, &plan)
            : gconv_plan_create_f32(&j->p, j->w, j->nw, j->b, j->nb, &plan);
        EXPECT(st == GCONV_OK, "planner: %d", (int)st);
        char msg[GCONV_MESSAGE_SIZE];
        gconv_params bad = j->p;
        bad.groups = 7;
        EXPECT(gconv_check_params(&bad, msg, sizeof msg) == GCONV_ERR_GROUPS &&
                   strstr(msg, "groups=7") != NULL,
               "planner: message %s", msg);
        gconv_plan_destroy(plan);
    }
    return NULL;
}

static void concurrent(void)
{
    pthread_t tids[WORKERS + 1];
    for (int i = 0; i < WORKERS; i++)
        EXPECT(pthread_create(&tids[i], NULL, worker, (void *)(intptr_t)i) == 0, "create");
    EXPECT(pthread_create(&tids[WORKERS], NULL, planner, NULL) == 0, "create");
    for (int i = 0; i <= WORKERS; i++)
        pthread_join(tids[i], NULL);
}

#ifdef _OPENMP
/* Calls from inside the caller's own parallel region. */
static void inside_openmp(void)
{
    int bad = 0;
#pragma omp parallel num_threads(3) reduction(+ : bad)
    {
        for (int i = omp_get_thread_num(); i < njobs; i += 3) {
            job *j = &jobs[i];
            void *y = malloc(j->ny * j->elem);
            if (run_job(j, y, 2, i % 2) != GCONV_OK ||
                memcmp(y, j->ref, j->ny * j->elem) != 0)
                bad++;
            free(y);
        }
    }
    EXPECT(bad == 0, "%d calls from a parallel region differ", bad);
}

static long threads_now(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long n = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "Threads:", 8) == 0)
            n = strtol(line + 8, NULL, 10);
    if (f != NULL)
        fclose(f);
    return n;
}

/* num_threads = INT_MAX on a call with enough work for hundreds of threads:
   the OpenMP runtime keeps a call's team alive afterwards, so the process's
   thread count shows how many the call started. */
static void absurd_thread_count(void)
{
    gconv_params p;
    gconv_params_init(&p, 2);
    p.in_channels = p.out_channels = 64;
    p.input_size[0] = p.input_size[1] = 66;
    p.kernel_size[0] = p.kernel_size[1] = 3;   /* 64*64*9*64*64 = 151M multiply-adds */
    int64_t nx, nw, ny;
    gconv_buffer_sizes(&p, &nx, &nw, &ny);
    float *x = calloc((size_t)nx, 4), *w = calloc((size_t)nw, 4), *y = malloc((size_t)ny * 4);
    int procs = omp_get_num_procs();
    long cap = 4L * procs > omp_get_max_threads() ? 4L * procs : omp_get_max_threads();
    gconv_status st = gconv_conv_f32(&p, x, (size_t)nx, w, (size_t)nw, NULL, 0, y,
                                     (size_t)ny, INT_MAX);
    long now = threads_now();
    EXPECT(st == GCONV_OK, "INT_MAX threads: %d", (int)st);
    EXPECT(now <= cap + 1 || now < 0, "num_threads=INT_MAX started %ld threads (cap %ld)",
           now - 1, cap);
    printf("test_threads: num_threads=INT_MAX ran with at most %ld threads (cap %ld)\n",
           now - 1, cap);
    free(x);
    free(w);
    free(y);
}
#endif

int main(void)
{
    setup();
#ifdef _OPENMP
    absurd_thread_count();
#endif
    thread_counts();
    concurrent();
#ifdef _OPENMP
    inside_openmp();
#endif
    for (int i = 0; i < njobs; i++) {
        gconv_plan_destroy(jobs[i].plan);
        free(jobs[i].x);
        free(jobs[i].w);
        free(jobs[i].b);
        free(jobs[i].ref);
    }
    printf("test_threads (%s): %d jobs, %d workers x %d rounds + a planner, %d failures\n",
           gconv_has_openmp() ? "OpenMP" : "no OpenMP", njobs, WORKERS, ROUNDS, failures);
    return failures == 0 ? 0 : 1;
}
