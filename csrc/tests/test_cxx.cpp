// test_cxx.cpp -- gconv.h used from C++: it compiles (with -Wall -Wextra
// -Wpedantic), its declarations have C linkage (the link against libgconv
// succeeds), and a small convolution gives the expected numbers.
#include "gconv.h"

#include <cstdio>
#include <cstring>
#include <vector>

static_assert(GCONV_VERSION_NUMBER >= 0, "version macros are constant expressions");

int main()
{
    gconv_params p;
    gconv_params_init(&p, 1);
    p.batch = 1;
    p.in_channels = 4;
    p.out_channels = 2;
    p.groups = 2;
    p.input_size[0] = 5;
    p.kernel_size[0] = 3;
    p.pad_before[0] = 1;
    p.pad_after[0] = 1;

    int64_t nx = 0, nw = 0, ny = 0;
    if (gconv_buffer_sizes(&p, &nx, &nw, &ny) != GCONV_OK || nx != 20 || nw != 12 || ny != 10)
        return 1;
    // input channel c holds c + 1 everywhere, every weight is 1: an interior
    // output of group g is 3 * (sum of its two channels' values)
    std::vector<double> x(20), w(12, 1.0), b(2, 0.5), y(10, -1.0);
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < 5; i++)
            x[c * 5 + i] = c + 1;
    gconv_status st = gconv_conv_f64(&p, x.data(), x.size(), w.data(), w.size(), b.data(),
                                     b.size(), y.data(), y.size(), 0);
    if (st != GCONV_OK) {
        std::printf("conv failed: %s\n", gconv_strerror(st));
        return 1;
    }
    if (y[2] != 0.5 + 3 * (1 + 2) || y[5 + 2] != 0.5 + 3 * (3 + 4) || y[0] != 0.5 + 2 * 3)
        return 1;

    char msg[GCONV_MESSAGE_SIZE];
    p.out_channels = 3;
    if (gconv_check_params(&p, msg, sizeof msg) != GCONV_ERR_GROUPS ||
        std::strstr(msg, "out_channels=3 is not divisible by groups=2") == nullptr)
        return 1;

    gconv_plan *plan = nullptr;
    p.out_channels = 2;
    if (gconv_plan_create_f32(&p, nullptr, 0, nullptr, 0, &plan) != GCONV_ERR_NULL_POINTER ||
        plan != nullptr)
        return 1;
    gconv_plan_destroy(plan);
    std::printf("test_cxx: gconv %s from C++: ok\n", gconv_version());
    return 0;
}
