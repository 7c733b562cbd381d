/*
 * fuzz_plan.c -- libFuzzer target over the plans: gconv_plan_create_f32/f64,
 * gconv_plan_execute_f32/f64 (with other batch sizes, wrong lengths, NULL,
 * overlapping buffers, the other dtype's function) and gconv_plan_destroy.
 *
 * Checks as fuzz_conv.c, plus: a failed creation leaves *plan NULL; a plan
 * copies its weights (the caller's arrays are overwritten after creation
 * and the results must not change); a plan executed with the other dtype's
 * function returns GCONV_ERR_DTYPE.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void execute_once(fz_reader *r, const gconv_plan *plan, const gconv_params *p,
                         const fz_model *created, int is_f64, int specials,
                         const void *w_orig, const void *b_orig)
{
    size_t elem = is_f64 ? sizeof(double) : sizeof(float);
    fz_model m = *created;
    int64_t batch = fz_field_or(r, fz_u8(r) % 4);
    int other_dtype = fz_u8(r) % 8 == 0;
    int null_plan = fz_u8(r) % 16 == 0;
    gconv_status expect = fz_model_batch(&m, p, batch);
    int ok = expect == GCONV_OK;
    int64_t need_in = ok ? m.n_in : fz_u8(r) % 8;
    int64_t need_out = ok ? m.n_out : fz_u8(r) % 8;
    fz_buf x, y;
    int null_ptr;
    size_t claim = fz_claim(r, need_in, &null_ptr);
    fz_buf_make(&x, claim, need_in, null_ptr, elem);
    fz_fill(r, &x, is_f64, specials && fz_u8(r) % 2);
    claim = fz_claim(r, need_out, &null_ptr);
    if (fz_u8(r) % 16 == 0 && x.alloc_elems > 0) {
        size_t off = fz_u8(r) % x.alloc_elems;
        memset(&y, 0, sizeof y);
        y.ptr = (unsigned char *)x.ptr + off * elem;
        y.len = claim;
        y.alloc_elems = x.alloc_elems - off;
    } else {
        fz_buf_make(&y, claim, need_out, null_ptr, elem);
        if (y.block != NULL)
            memset(y.ptr, FZ_OUT_FILL, y.alloc_elems * elem);
    }
    if (ok) {
        size_t in_bytes = (size_t)m.n_in * elem, out_bytes = (size_t)m.n_out * elem;
        if ((x.ptr == NULL && m.n_in > 0) || (y.ptr == NULL && m.n_out > 0))
            expect = GCONV_ERR_NULL_POINTER;
        else if (x.len != (size_t)m.n_in || y.len != (size_t)m.n_out)
            expect = GCONV_ERR_BUFFER_SIZE;
        else if (fz_overlap(y.ptr, out_bytes, x.ptr, in_bytes))
            expect = GCONV_ERR_OVERLAP;
    }
    if (other_dtype)
        expect = GCONV_ERR_DTYPE;
    if (null_plan)
        expect = GCONV_ERR_NULL_POINTER;
    if (expect == GCONV_OK && fz_work(&m) > FZ_WORK)
        goto done;

    unsigned char *sx = fz_snapshot(&x), *sy = fz_snapshot(&y);
    const gconv_plan *pl = null_plan ? NULL : plan;
    int threads = fz_threads(r);
    gconv_status st;
    if (is_f64 != other_dtype)
        st = gconv_plan_execute_f64(pl, batch, (const double *)x.ptr, x.len,
                                    (double *)y.ptr, y.len, threads);
    else
        st = gconv_plan_execute_f32(pl, batch, (const float *)x.ptr, x.len,
                                    (float *)y.ptr, y.len, threads);
    FZ_CHECK(st == expect, "gconv_plan_execute gave %d (%s), expected %d (%s)", (int)st,
             gconv_strerror(st), (int)expect, gconv_strerror(expect));
    fz_same(&x, sx, "input");
    if (st != GCONV_OK) {
        fz_same(&y, sy, "the output of a failed call");
    } else {
        free(sy);
        fz_guards_intact(&y, elem, "output");
        fz_compare_reference(p, &m, batch, is_f64, x.ptr, w_orig, b_orig, y.ptr);
    }
done:
    fz_buf_free(&x);
    fz_buf_free(&y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_reader r;
    fz_init(&r, data, size);
    uint8_t flags = fz_u8(&r);
    int is_f64 = flags & 1;
    int null_params = ((flags >> 1) & 15) == 15;
    int null_out = ((flags >> 1) & 15) == 14;
    int specials = ((flags >> 5) & 3) == 0;
    size_t elem = is_f64 ? sizeof(double) : sizeof(float);
    fz_set_isa(&r);
    gconv_params *p = fz_params(&r);
    const gconv_params *pp = null_params ? NULL : p;
    fz_model m = fz_check_gate(&r, pp);
    int ok = m.status == GCONV_OK;

    int64_t need_w = ok ? m.n_w : fz_u8(&r) % 8;
    int64_t need_b = ok ? m.n_b : fz_u8(&r) % 8;
    fz_buf w, b;
    int null_ptr;
    size_t claim = fz_claim(&r, need_w, &null_ptr);
    fz_buf_make(&w, claim, need_w, null_ptr, elem);
    int no_bias = fz_u8(&r) % 3 == 0;
    claim = fz_claim(&r, need_b, &null_ptr);
    fz_buf_make(&b, claim, need_b, null_ptr || no_bias, elem);
    if (no_bias)
        b.len = (size_t)fz_u64(&r);
    fz_fill(&r, &w, is_f64, specials && fz_u8(&r) % 2);
    fz_fill(&r, &b, is_f64, specials && fz_u8(&r) % 2);

    gconv_status expect = m.status;
    if (null_out) {
        expect = GCONV_ERR_NULL_POINTER;
    } else if (ok) {
        if (w.ptr == NULL)
            expect = GCONV_ERR_NULL_POINTER;
        else if (w.len != (size_t)m.n_w || (b.ptr != NULL && b.len != (size_t)m.n_b))
            expect = GCONV_ERR_BUFFER_SIZE;
    }
    unsigned char *sw = fz_snapshot(&w), *sb = fz_snapshot(&b);
    gconv_plan *plan = (gconv_plan *)&r;   /* must be overwritten */
    gconv_plan **out = null_out ? NULL : &plan;
    gconv_status st;
    if (is_f64)
        st = gconv_plan_create_f64(pp, (const double *)w.ptr, w.len, (const double *)b.ptr,
                                   b.len, out);
    else
        st = gconv_plan_create_f32(pp, (const float *)w.ptr, w.len, (const float *)b.ptr,
                                   b.len, out);
    FZ_CHECK(st == expect, "gconv_plan_create gave %d (%s), expected %d (%s)", (int)st,
             gconv_strerror(st), (int)expect, gconv_strerror(expect));
    if (null_out)
        FZ_CHECK(plan == (gconv_plan *)&r, "a NULL plan pointer was written through");
    else if (st != GCONV_OK)
        FZ_CHECK(plan == NULL, "a failed creation left *plan = %p", (void *)plan);
    else
        FZ_CHECK(plan != NULL, "a successful creation gave a NULL plan");

    /* the reference works on copies of the original weights; the caller's
       arrays are then scribbled over, which the plan must not notice */
    void *w_orig = NULL, *b_orig = NULL;
    if (st == GCONV_OK) {
        w_orig = malloc(w.alloc_elems * elem + 1);
        memcpy(w_orig, w.ptr, w.alloc_elems * elem);
        if (b.ptr != NULL) {
            b_orig = malloc(b.alloc_elems * elem + 1);
            memcpy(b_orig, b.ptr, b.alloc_elems * elem);
        }
        free(sw);
        free(sb);
        memset(w.ptr, 0xFF, w.alloc_elems * elem);   /* NaNs */
        if (b.ptr != NULL)
            memset(b.ptr, 0xFF, b.alloc_elems * elem);
        int runs = 1 + fz_u8(&r) % 3;
        for (int i = 0; i < runs; i++)
            execute_once(&r, plan, p, &m, is_f64, specials, w_orig, b_orig);
        gconv_plan_destroy(plan);
    } else {
        fz_same(&w, sw, "weight");
        fz_same(&b, sb, "bias");
    }
    gconv_plan_destroy(NULL);
    free(w_orig);
    free(b_orig);
    fz_buf_free(&w);
    fz_buf_free(&b);
    free(p);
    return 0;
}
