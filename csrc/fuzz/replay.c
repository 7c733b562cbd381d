/*
 * replay.c -- a main() for the fuzz targets without libFuzzer, so they can
 * be built with any C compiler and run under valgrind or GCC's sanitizers:
 *
 *   replay FILE|DIR ...      runs each file (each file of each directory)
 *   replay -random=N [-seed=S] [-max_len=L]
 *                            also runs N pseudo-random inputs (fixed seed)
 *
 * Exits 0 when every input passed (a failing input aborts with a message).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        exit(2);
    }
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    return 1;
}

static long run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: no such file or directory: %s\n", path);
        exit(2);
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path);
    DIR *d = opendir(path);
    long count = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        count += run_path(sub);
    }
    if (d != NULL)
        closedir(d);
    return count;
}

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

int main(int argc, char **argv)
{
    long files = 0, random_n = 0, max_len = 256;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "-random=", 8) == 0)
            random_n = atol(argv[i] + 8);
        else if (strncmp(argv[i], "-seed=", 6) == 0)
            seed = strtoull(argv[i] + 6, NULL, 10);
        else if (strncmp(argv[i], "-max_len=", 9) == 0)
            max_len = atol(argv[i] + 9);
        else
            files += run_path(argv[i]);
    }
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    static uint8_t buf[1 << 16];
    if (max_len < 1 || max_len > (long)sizeof buf)
        max_len = sizeof buf;
    for (long k = 0; k < random_n; k++) {
        size_t len = (size_t)(next(&s) % (uint64_t)max_len);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)(next(&s) >> 32);
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("replay: %ld files and %ld random inputs passed\n", files, random_n);
    return 0;
}
