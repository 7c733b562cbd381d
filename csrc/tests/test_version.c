/*
 * test_version.c -- the header's version macros, the library's version
 * functions and the version the build system read from the header agree;
 * the build information functions answer sensibly.
 */
#include "check.h"

#ifndef GCONV_EXPECTED_VERSION
#  error "the build passes GCONV_EXPECTED_VERSION (the version CMake read from gconv.h)"
#endif

int main(void)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%d.%d.%d", GCONV_VERSION_MAJOR, GCONV_VERSION_MINOR,
             GCONV_VERSION_PATCH);
    CHECK(strcmp(buf, GCONV_VERSION_STRING) == 0);
    CHECK(strcmp(GCONV_VERSION_STRING, GCONV_EXPECTED_VERSION) == 0);
    CHECK(strcmp(gconv_version(), GCONV_VERSION_STRING) == 0);
    CHECK(gconv_version_number() == GCONV_VERSION_NUMBER);
    CHECK(GCONV_VERSION_NUMBER == GCONV_VERSION_MAJOR * 10000 + GCONV_VERSION_MINOR * 100 +
                                      GCONV_VERSION_PATCH);
#if GCONV_VERSION_NUMBER < 100
#  error "GCONV_VERSION_NUMBER must be usable in #if"
#endif

    const char *isa = gconv_isa();
    CHECK(isa != NULL);
    CHECK(strcmp(isa, "avx512") == 0 || strcmp(isa, "avx2") == 0 ||
          strcmp(isa, "generic") == 0);
    const char *want = getenv("GCONV_TEST_EXPECT_ISA");
    if (want != NULL)
        CHECK(strcmp(isa, want) == 0);
#ifdef GCONV_EXPECT_OPENMP
    CHECK(gconv_has_openmp() == GCONV_EXPECT_OPENMP);
#endif
    CHECK(gconv_default_threads() >= 1);
    printf("gconv %s (header %s), ISA %s, OpenMP %d\n", gconv_version(),
           GCONV_VERSION_STRING, isa, gconv_has_openmp());
    return check_report("test_version");
}
