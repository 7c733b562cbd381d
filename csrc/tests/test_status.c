/*
 * test_status.c -- every status code, from the gate and from the entry
 * points, with its message; message truncation; and that on every failure
 * nothing is written to the output (nor to the shape queries' outputs).
 */
#include "check.h"

#define MSG_IS(p, want_status, want_msg)                                           \
    do {                                                                           \
        char msg_[GCONV_MESSAGE_SIZE];                                             \
        CHECK_STATUS(gconv_check_params((p), msg_, sizeof msg_), (want_status));   \
        if (strcmp(msg_, (want_msg)) != 0) {                                       \
            fprintf(stderr, "%s:%d: message\n  got:  %s\n  want: %s\n", __FILE__,  \
                    __LINE__, msg_, (want_msg));                                   \
            check_failures++;                                                      \
        }                                                                          \
    } while (0)

#define MSG_HAS(p, want_status, part)                                              \
    do {                                                                           \
        char msg_[GCONV_MESSAGE_SIZE];                                             \
        CHECK_STATUS(gconv_check_params((p), msg_, sizeof msg_), (want_status));   \
        if (strstr(msg_, (part)) == NULL) {                                        \
            fprintf(stderr, "%s:%d: message lacks \"%s\": %s\n", __FILE__,         \
                    __LINE__, (part), msg_);                                       \
            check_failures++;                                                      \
        }                                                                          \
    } while (0)

/* A valid 2-D layer: 12 -> 12 channels, 3 groups, 8x8, 3x3, padding 1. */
static void base(gconv_params *p)
{
    gconv_params_init(p, 2);
    p->batch = 2;
    p->in_channels = 12;
    p->out_channels = 12;
    p->groups = 3;
    p->input_size[0] = p->input_size[1] = 8;
    p->kernel_size[0] = p->kernel_size[1] = 3;
    p->pad_before[0] = p->pad_before[1] = p->pad_after[0] = p->pad_after[1] = 1;
}

static void test_strerror(void)
{
    const gconv_status all[] = {GCONV_OK, GCONV_ERR_GROUPS, GCONV_ERR_SHAPE,
                                GCONV_ERR_OVERFLOW, GCONV_ERR_BUFFER_SIZE,
                                GCONV_ERR_NULL_POINTER, GCONV_ERR_STRUCT_SIZE,
                                GCONV_ERR_DTYPE, GCONV_ERR_NO_MEMORY, GCONV_ERR_OVERLAP};
    const size_t n = sizeof all / sizeof all[0];
    /* the values are ABI */
    for (size_t i = 0; i < n; i++)
        CHECK((int)all[i] == (int)i);
    for (size_t i = 0; i < n; i++) {
        const char *s = gconv_strerror(all[i]);
        CHECK(s != NULL && strlen(s) > 0);
        CHECK(strcmp(s, "unknown status") != 0);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(s, gconv_strerror(all[j])) != 0);
    }
    CHECK(strcmp(gconv_strerror(GCONV_OK), "success") == 0);
    CHECK(strcmp(gconv_strerror((gconv_status)10), "unknown status") == 0);
    CHECK(strcmp(gconv_strerror((gconv_status)-1), "unknown status") == 0);
}

static void test_gate_messages(void)
{
    gconv_params p;
    char msg[GCONV_MESSAGE_SIZE];

    base(&p);
    memset(msg, 'x', sizeof msg);
    CHECK_STATUS(gconv_check_params(&p, msg, sizeof msg), GCONV_OK);
    CHECK(msg[0] == '\0');
    CHECK_STATUS(gconv_check_params(&p, NULL, 0), GCONV_OK);

    /* ---- groups: the example of the contract, and the other forms ---- */
    base(&p);
    p.out_channels = 11;
    MSG_IS(&p, GCONV_ERR_GROUPS,
           "out_channels=11 is not divisible by groups=3: each group must produce the "
           "same whole number of output channels. For in_channels=12, out_channels=11 "
           "the valid groups are [1]; with groups=3, use out_channels 9 or 12.");
    base(&p);
    p.in_channels = 10;
    MSG_IS(&p, GCONV_ERR_GROUPS,
           "in_channels=10 is not divisible by groups=3: each group must receive the "
           "same whole number of input channels. For in_channels=10, out_channels=12 "
           "the valid groups are [1, 2]; with groups=3, use in_channels 9 or 12.");
    base(&p);
    p.in_channels = 10;
    p.out_channels = 14;
    p.groups = 4;
    MSG_IS(&p, GCONV_ERR_GROUPS,
           "in_channels=10 and out_channels=14 are not divisible by groups=4: each "
           "group must receive the same whole number of input channels and produce "
           "the same whole number of output channels. For in_channels=10, "
           "out_channels=14 the valid groups are [1, 2]; with groups=4, use "
           "in_channels 8 or 12 and out_channels 12 or 16.");
    base(&p);
    p.groups = 0;
    MSG_IS(&p, GCONV_ERR_GROUPS,
           "groups=0 is not valid: groups must be a positive integer that divides both "
           "in_channels and out_channels. For in_channels=12, out_channels=12 the valid "
           "groups are [1, 2, 3, 4, 6, 12].");
    base(&p);
    p.groups = -5;
    MSG_HAS(&p, GCONV_ERR_GROUPS, "groups=-5 is not valid");
    /* groups larger than the channels: nearest is only "above" */
    base(&p);
    p.out_channels = 5;
    p.in_channels = 5;
    p.groups = 7;
    MSG_HAS(&p, GCONV_ERR_GROUPS, "use in_channels 7 and out_channels 7.");
    /* many valid groups: summarised */
    base(&p);
    p.in_channels = 720720;
    p.out_channels = 720720;
    p.groups = 7207;
    MSG_HAS(&p, GCONV_ERR_GROUPS, "the valid groups are [1, 2, 3, 4, 5, 6, 7, 8, ..., "
                                  "180180, 240240, 360360, 720720] (240 values)");
    /* huge channel counts (factorised, not enumerated) */
    base(&p);
    p.in_channels = (int64_t)1 << 40;
    p.out_channels = ((int64_t)1 << 40) + 1;
    p.groups = 2;
    MSG_HAS(&p, GCONV_ERR_GROUPS, "the valid groups are [1]");

    /* ---- shape ---- */
    base(&p);
    p.ndim = 0;
    MSG_IS(&p, GCONV_ERR_SHAPE,
           "ndim=0 is not supported: gconv convolves 1, 2 or 3 spatial dimensions");
    base(&p);
    p.ndim = 4;
    CHECK_STATUS(gconv_check_params(&p, NULL, 0), GCONV_ERR_SHAPE);
    base(&p);
    p.batch = -1;
    MSG_IS(&p, GCONV_ERR_SHAPE, "batch=-1 must be >= 0");
    base(&p);
    p.in_channels = 0;
    MSG_IS(&p, GCONV_ERR_SHAPE, "in_channels=0 must be >= 1");
    base(&p);
    p.out_channels = -3;
    MSG_IS(&p, GCONV_ERR_SHAPE, "out_channels=-3 must be >= 1");
    base(&p);
    p.input_size[1] = 0;
    MSG_IS(&p, GCONV_ERR_SHAPE, "input size 0 in spatial dimension 1 must be >= 1");
    base(&p);
    p.kernel_size[0] = 0;
    MSG_IS(&p, GCONV_ERR_SHAPE, "kernel size 0 in spatial dimension 0 must be >= 1");
    base(&p);
    p.stride[1] = 0;
    MSG_IS(&p, GCONV_ERR_SHAPE, "stride 0 in spatial dimension 1 must be >= 1");
    base(&p);
    p.dilation[0] = -2;
    MSG_IS(&p, GCONV_ERR_SHAPE, "dilation -2 in spatial dimension 0 must be >= 1");
    base(&p);
    p.pad_after[1] = -1;
    MSG_IS(&p, GCONV_ERR_SHAPE,
           "padding (1 before, -1 after) in spatial dimension 1 must be >= 0");
    base(&p);
    p.kernel_size[1] = 5;
    p.dilation[1] = 3;
    MSG_IS(&p, GCONV_ERR_SHAPE,
           "the kernel (size 5, dilation 3, so it spans 13) is larger than the padded "
           "input (size 8 + padding 1 + 1 = 10) in spatial dimension 1");
    /* entries beyond ndim are ignored */
    base(&p);
    p.ndim = 1;
    p.kernel_size[1] = 0;
    p.stride[2] = -4;
    CHECK_STATUS(gconv_check_params(&p, NULL, 0), GCONV_OK);
    /* an earlier field's error wins over a later one's */
    base(&p);
    p.out_channels = 11;
    p.stride[0] = 0;
    CHECK_STATUS(gconv_check_params(&p, NULL, 0), GCONV_ERR_GROUPS);

    /* ---- overflow ---- */
    base(&p);
    p.pad_before[0] = INT64_MAX;
    MSG_IS(&p, GCONV_ERR_OVERFLOW,
           "the padded input size in spatial dimension 0 overflows 64-bit arithmetic");
    base(&p);
    p.dilation[1] = (int64_t)1 << 59;   /* allowed, but (kernel - 1) times it is not */
    MSG_IS(&p, GCONV_ERR_OVERFLOW,
           "the dilated kernel size in spatial dimension 1 overflows 64-bit arithmetic");
    base(&p);
    p.input_size[0] = p.input_size[1] = (int64_t)1 << 31;
    MSG_IS(&p, GCONV_ERR_OVERFLOW, "the input's element count overflows 64-bit arithmetic");
    base(&p);
    p.input_size[0] = p.input_size[1] = (int64_t)1 << 29;
    MSG_IS(&p, GCONV_ERR_OVERFLOW, "the input's element count overflows 64-bit arithmetic");
    base(&p);
    p.input_size[0] = 1;
    p.pad_after[0] = (int64_t)1 << 40;
    p.pad_after[1] = (int64_t)1 << 30;
    MSG_IS(&p, GCONV_ERR_OVERFLOW, "the output's element count overflows 64-bit arithmetic");
    base(&p);
    p.in_channels = p.out_channels = p.groups = (int64_t)1 << 40;
    p.kernel_size[0] = 1;
    p.kernel_size[1] = (int64_t)1 << 21;
    p.pad_after[1] = (int64_t)1 << 21;
    p.batch = 0;
    MSG_IS(&p, GCONV_ERR_OVERFLOW, "the weight's element count overflows 64-bit arithmetic");
    base(&p);
    p.batch = INT64_MAX;
    MSG_IS(&p, GCONV_ERR_OVERFLOW, "the input's element count overflows 64-bit arithmetic");
    /* the largest counts that fit are accepted (validated, never allocated) */
    base(&p);
    p.ndim = 1;
    p.in_channels = p.out_channels = p.groups = 1;
    p.input_size[0] = (INT64_MAX / 8);
    p.kernel_size[0] = 1;
    p.pad_before[0] = p.pad_after[0] = 0;
    p.batch = 1;
    CHECK_STATUS(gconv_check_params(&p, NULL, 0), GCONV_OK);
    p.input_size[0]++;
    CHECK_STATUS(gconv_check_params(&p, NULL, 0), GCONV_ERR_OVERFLOW);

    /* ---- struct size and NULL ---- */
    base(&p);
    p.struct_size = 0;
    MSG_HAS(&p, GCONV_ERR_STRUCT_SIZE, "initialise params with gconv_params_init()");
    p.struct_size = sizeof(gconv_params) - 8;
    CHECK_STATUS(gconv_check_params(&p, NULL, 0), GCONV_ERR_STRUCT_SIZE);
    p.struct_size = sizeof(gconv_params) + 8; /* from a newer header */
    CHECK_STATUS(gconv_check_params(&p, NULL, 0), GCONV_ERR_STRUCT_SIZE);
    MSG_IS((const gconv_params *)NULL, GCONV_ERR_NULL_POINTER, "params is NULL");

    /* ---- truncation: never more than msg_size bytes, always terminated ---- */
    base(&p);
    p.out_channels = 11;
    char small[16];
    memset(small, '#', sizeof small);
    CHECK_STATUS(gconv_check_params(&p, small, 10), GCONV_ERR_GROUPS);
    CHECK(strcmp(small, "out_chann") == 0);
    for (size_t i = 10; i < sizeof small; i++)
        CHECK(small[i] == '#');
    memset(small, '#', sizeof small);
    CHECK_STATUS(gconv_check_params(&p, small, 1), GCONV_ERR_GROUPS);
    CHECK(small[0] == '\0' && small[1] == '#');
    memset(small, '#', sizeof small);
    CHECK_STATUS(gconv_check_params(&p, small, 0), GCONV_ERR_GROUPS);
    CHECK(small[0] == '#');
    /* every message fits GCONV_MESSAGE_SIZE: the longest groups message */
    p.in_channels = (int64_t)1 << 59;   /* gcd 2^58: 59 divisors, all long */
    p.out_channels = (int64_t)3 << 58;
    p.groups = INT64_MAX - 2;
    CHECK_STATUS(gconv_check_params(&p, msg, sizeof msg), GCONV_ERR_GROUPS);
    CHECK(strlen(msg) < sizeof msg - 1);
    CHECK(msg[strlen(msg) - 1] == '.');
}

static void test_queries(void)
{
    gconv_params p;
    int64_t out[GCONV_MAX_DIMS], n, a, b, c;

    base(&p);
    CHECK_STATUS(gconv_output_shape(&p, out, &n), GCONV_OK);
    CHECK(out[0] == 8 && out[1] == 8 && out[2] == 0 && n == 2 * 12 * 64);
    CHECK_STATUS(gconv_output_shape(&p, NULL, NULL), GCONV_OK);
    CHECK_STATUS(gconv_buffer_sizes(&p, &a, &b, &c), GCONV_OK);
    CHECK(a == 2 * 12 * 64 && b == 12 * 4 * 9 && c == 2 * 12 * 64);
    CHECK_STATUS(gconv_buffer_sizes(&p, NULL, NULL, NULL), GCONV_OK);

    p.ndim = 3;
    p.input_size[2] = 5;
    p.kernel_size[2] = 2;
    p.stride[0] = 3;
    p.dilation[2] = 4;
    p.pad_before[2] = 2;
    p.pad_after[2] = 0;
    /* (8+2-3)/3+1 = 3, 8, (5+2-4-1)/1+1 = 3 */
    CHECK_STATUS(gconv_output_shape(&p, out, &n), GCONV_OK);
    CHECK(out[0] == 3 && out[1] == 8 && out[2] == 3 && n == 2 * 12 * 72);

    /* failures write nothing */
    base(&p);
    p.groups = 5;
    out[0] = out[1] = out[2] = n = a = b = c = -42;
    CHECK_STATUS(gconv_output_shape(&p, out, &n), GCONV_ERR_GROUPS);
    CHECK_STATUS(gconv_buffer_sizes(&p, &a, &b, &c), GCONV_ERR_GROUPS);
    CHECK(out[0] == -42 && out[1] == -42 && out[2] == -42 && n == -42);
    CHECK(a == -42 && b == -42 && c == -42);
    CHECK_STATUS(gconv_output_shape(NULL, out, &n), GCONV_ERR_NULL_POINTER);
    CHECK_STATUS(gconv_buffer_sizes(NULL, &a, &b, &c), GCONV_ERR_NULL_POINTER);

    /* batch 0 is valid and empty */
    base(&p);
    p.batch = 0;
    CHECK_STATUS(gconv_buffer_sizes(&p, &a, &b, &c), GCONV_OK);
    CHECK(a == 0 && b == 12 * 4 * 9 && c == 0);

    gconv_params_init(NULL, 2); /* ignored */
    gconv_params_init(&p, 7);
    CHECK(p.struct_size == sizeof p && p.ndim == 7 && p.batch == 1 && p.groups == 1);
    CHECK(p.stride[2] == 1 && p.dilation[0] == 1 && p.pad_after[1] == 0);
    CHECK_STATUS(gconv_check_params(&p, NULL, 0), GCONV_ERR_SHAPE);
}

/* Every failure of the one-shot entry points, checking the output each time. */
#define DEFINE_ENTRY_TEST(T, SFX, RAND)                                                   \
    static void entry_##SFX(void)                                                       \
    {                                                                                    \
        gconv_params p, q;                                                               \
        base(&p);                                                                        \
        int64_t nx, nw, ny;                                                              \
        CHECK_STATUS(gconv_buffer_sizes(&p, &nx, &nw, &ny), GCONV_OK);                   \
        size_t NX = (size_t)nx, NW = (size_t)nw, NY = (size_t)ny, NB = 12;               \
        T *x = RAND(nx), *w = RAND(nw), *b = RAND(12);                                   \
        T *y = (T *)malloc(NY * sizeof(T));                                              \
        T *big = RAND(nx + ny);                                                          \
        const size_t YB = NY * sizeof(T);                                                \
        memset(y, 0x3C, YB);                                                             \
        /* a bad value in every field the gate looks at */                              \
        q = p; q.groups = 5;                                                             \
        CHECK_STATUS(gconv_conv_##SFX(&q, x, NX, w, NW, b, NB, y, NY, 0), GCONV_ERR_GROUPS); \
        q = p; q.out_channels = 11;                                                      \
        CHECK_STATUS(gconv_conv_##SFX(&q, x, NX, w, NW, b, NB, y, NY, 0), GCONV_ERR_GROUPS); \
        q = p; q.kernel_size[0] = 11;                                                    \
        CHECK_STATUS(gconv_conv_##SFX(&q, x, NX, w, NW, b, NB, y, NY, 0), GCONV_ERR_SHAPE); \
        q = p; q.stride[1] = 0;                                                          \
        CHECK_STATUS(gconv_conv_##SFX(&q, x, NX, w, NW, b, NB, y, NY, 0), GCONV_ERR_SHAPE); \
        q = p; q.ndim = 0;                                                               \
        CHECK_STATUS(gconv_conv_##SFX(&q, x, NX, w, NW, b, NB, y, NY, 0), GCONV_ERR_SHAPE); \
        q = p; q.batch = INT64_MAX / 4;                                                  \
        CHECK_STATUS(gconv_conv_##SFX(&q, x, NX, w, NW, b, NB, y, NY, 0), GCONV_ERR_OVERFLOW); \
        q = p; q.pad_after[1] = INT64_MAX - 3;                                           \
        CHECK_STATUS(gconv_conv_##SFX(&q, x, NX, w, NW, b, NB, y, NY, 0), GCONV_ERR_OVERFLOW); \
        q = p; q.struct_size = 1;                                                        \
        CHECK_STATUS(gconv_conv_##SFX(&q, x, NX, w, NW, b, NB, y, NY, 0), GCONV_ERR_STRUCT_SIZE); \
        CHECK_STATUS(gconv_conv_##SFX(NULL, x, NX, w, NW, b, NB, y, NY, 0), GCONV_ERR_NULL_POINTER); \
        /* pointers */                                                                   \
        CHECK_STATUS(gconv_conv_##SFX(&p, NULL, NX, w, NW, b, NB, y, NY, 0), GCONV_ERR_NULL_POINTER); \
        CHECK_STATUS(gconv_conv_##SFX(&p, x, NX, NULL, NW, b, NB, y, NY, 0), GCONV_ERR_NULL_POINTER); \
        CHECK_STATUS(gconv_conv_##SFX(&p, x, NX, w, NW, b, NB, NULL, NY, 0), GCONV_ERR_NULL_POINTER); \
        /* lengths, each one off in both directions */                                  \
        for (int delta = -1; delta <= 1; delta += 2) {                                   \
            size_t d = (size_t)(ptrdiff_t)delta;                                         \
            CHECK_STATUS(gconv_conv_##SFX(&p, x, NX + d, w, NW, b, NB, y, NY, 0), GCONV_ERR_BUFFER_SIZE); \
            CHECK_STATUS(gconv_conv_##SFX(&p, x, NX, w, NW + d, b, NB, y, NY, 0), GCONV_ERR_BUFFER_SIZE); \
            CHECK_STATUS(gconv_conv_##SFX(&p, x, NX, w, NW, b, NB + d, y, NY, 0), GCONV_ERR_BUFFER_SIZE); \
            CHECK_STATUS(gconv_conv_##SFX(&p, x, NX, w, NW, b, NB, y, NY + d, 0), GCONV_ERR_BUFFER_SIZE); \
        }                                                                                \
        CHECK_STATUS(gconv_conv_##SFX(&p, x, 0, w, NW, b, NB, y, NY, 0), GCONV_ERR_BUFFER_SIZE); \
        CHECK_STATUS(gconv_conv_##SFX(&p, x, SIZE_MAX, w, NW, b, NB, y, NY, 0), GCONV_ERR_BUFFER_SIZE); \
        /* lengths that fit another batch */                                            \
        q = p; q.batch = 1;                                                              \
        CHECK_STATUS(gconv_conv_##SFX(&q, x, NX, w, NW, b, NB, y, NY, 0), GCONV_ERR_BUFFER_SIZE); \
        /* overlap: output over the input, the weight, the bias, or the same buffer */  \
        CHECK_STATUS(gconv_conv_##SFX(&p, big, NX, w, NW, b, NB, big + NX - 1, NY, 0), GCONV_ERR_OVERLAP); \
        CHECK_STATUS(gconv_conv_##SFX(&p, big + NY - 1, NX, w, NW, b, NB, big, NY, 0), GCONV_ERR_OVERLAP); \
        CHECK_STATUS(gconv_conv_##SFX(&p, x, NX, big + 5, NW, b, NB, big, NY, 0), GCONV_ERR_OVERLAP); \
        CHECK_STATUS(gconv_conv_##SFX(&p, x, NX, w, NW, big + NY - 1, NB, big, NY, 0), GCONV_ERR_OVERLAP); \
        CHECK_STATUS(gconv_conv_##SFX(&p, big, NX, w, NW, b, NB, big, NY, 0), GCONV_ERR_OVERLAP); \
        /* the output is still the pattern */                                           \
        {                                                                                \
            const unsigned char *c = (const unsigned char *)y;                           \
            size_t bad = 0;                                                              \
            for (size_t i = 0; i < YB; i++)                                              \
                bad += c[i] != 0x3C;                                                     \
            CHECK(bad == 0);                                                             \
        }                                                                                \
        /* adjacent but not overlapping is fine; so are inputs that overlap each other */ \
        CHECK_STATUS(gconv_conv_##SFX(&p, big, NX, w, NW, b, NB, big + NX, NY, 0), GCONV_OK); \
        CHECK_STATUS(gconv_conv_##SFX(&p, big + NY, NX, big + NY, NW, big + NY, NB, big, NY, 0), GCONV_OK); \
        /* no bias: bias_len is ignored */                                              \
        CHECK_STATUS(gconv_conv_##SFX(&p, x, NX, w, NW, NULL, 12345, y, NY, 0), GCONV_OK); \
        /* batch 0: NULL input and output with length 0 */                             \
        q = p; q.batch = 0;                                                              \
        CHECK_STATUS(gconv_conv_##SFX(&q, NULL, 0, w, NW, b, NB, NULL, 0, 0), GCONV_OK); \
        CHECK_STATUS(gconv_conv_##SFX(&q, NULL, 0, NULL, NW, b, NB, NULL, 0, 0), GCONV_ERR_NULL_POINTER); \
        CHECK_STATUS(gconv_conv_##SFX(&q, x, 1, w, NW, b, NB, NULL, 0, 0), GCONV_ERR_BUFFER_SIZE); \
        free(x);                                                                         \
        free(w);                                                                         \
        free(b);                                                                         \
        free(y);                                                                         \
        free(big);                                                                       \
    }

DEFINE_ENTRY_TEST(float, f32, rand_f32)
DEFINE_ENTRY_TEST(double, f64, rand_f64)

int main(void)
{
    rng_seed(3);
    test_strerror();
    test_gate_messages();
    test_queries();
    entry_f32();
    entry_f64();
    return check_report("test_status");
}
