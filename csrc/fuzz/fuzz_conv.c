/*
 * fuzz_conv.c -- libFuzzer target over the gate, the shape queries and the
 * one-shot convolutions gconv_conv_f32 / gconv_conv_f64.
 *
 * For every input: random parameters (struct_size, ndim, negative, zero,
 * huge and overflowing values), a random ISA cap, buffers of random claimed
 * lengths (right, off by one, 2^32 off, NULL, overlapping the output),
 * values with occasional Inf/NaN.  Checks: the gate agrees with an exact
 * model; the convolution returns exactly the status the contract implies;
 * on error nothing is written anywhere; on success the inputs are unchanged,
 * the guard bytes around the output are intact and every output equals the
 * naive reference.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_reader r;
    fz_init(&r, data, size);
    uint8_t flags = fz_u8(&r);
    int is_f64 = flags & 1;
    int null_params = ((flags >> 1) & 15) == 15;
    int specials = ((flags >> 5) & 3) == 0;
    size_t elem = is_f64 ? sizeof(double) : sizeof(float);
    fz_set_isa(&r);
    gconv_params *p = fz_params(&r);
    const gconv_params *pp = null_params ? NULL : p;
    fz_model m = fz_check_gate(&r, pp);
    int ok = m.status == GCONV_OK;

    /* buffers: right lengths when the shape is valid, else small ones */
    int64_t need_in = ok ? m.n_in : fz_u8(&r) % 8;
    int64_t need_w = ok ? m.n_w : fz_u8(&r) % 8;
    int64_t need_b = ok ? m.n_b : fz_u8(&r) % 8;
    int64_t need_out = ok ? m.n_out : fz_u8(&r) % 8;
    fz_buf x, w, b, y;
    int null_ptr;
    size_t claim = fz_claim(&r, need_in, &null_ptr);
    fz_buf_make(&x, claim, need_in, null_ptr, elem);
    claim = fz_claim(&r, need_w, &null_ptr);
    fz_buf_make(&w, claim, need_w, null_ptr, elem);
    int no_bias = fz_u8(&r) % 3 == 0;
    claim = fz_claim(&r, need_b, &null_ptr);
    fz_buf_make(&b, claim, need_b, null_ptr || no_bias, elem);
    if (no_bias)
        b.len = (size_t)fz_u64(&r);            /* ignored with a NULL bias */
    fz_fill(&r, &x, is_f64, specials && fz_u8(&r) % 2);
    fz_fill(&r, &w, is_f64, specials && fz_u8(&r) % 2);
    fz_fill(&r, &b, is_f64, specials && fz_u8(&r) % 2);

    /* the output: its own block, or (rarely) inside an input's block */
    uint8_t where = fz_u8(&r);
    fz_buf *host = where == 1 ? &x : where == 2 ? &w : where == 3 ? &b : NULL;
    claim = fz_claim(&r, need_out, &null_ptr);
    if (host != NULL && host->alloc_elems > 0) {
        size_t off = fz_u8(&r) % host->alloc_elems;
        memset(&y, 0, sizeof y);
        y.ptr = (unsigned char *)host->ptr + off * elem;
        y.len = claim;
        y.alloc_elems = host->alloc_elems - off;
    } else {
        fz_buf_make(&y, claim, need_out, null_ptr, elem);
        if (y.block != NULL)
            memset(y.ptr, FZ_OUT_FILL, y.alloc_elems * elem);
    }

    gconv_status expect = m.status;
    if (ok)
        expect = fz_expect_buffers(&m, elem, &x, &w, b.ptr, b.len, &y);
    int run = !(expect == GCONV_OK && fz_work(&m) > FZ_WORK);
    if (run) {
        unsigned char *sx = fz_snapshot(&x), *sw = fz_snapshot(&w);
        unsigned char *sb = fz_snapshot(&b), *sy = fz_snapshot(&y);
        int threads = fz_threads(&r);
        gconv_status st;
        if (is_f64)
            st = gconv_conv_f64(pp, (const double *)x.ptr, x.len, (const double *)w.ptr,
                                w.len, (const double *)b.ptr, b.len, (double *)y.ptr,
                                y.len, threads);
        else
            st = gconv_conv_f32(pp, (const float *)x.ptr, x.len, (const float *)w.ptr,
                                w.len, (const float *)b.ptr, b.len, (float *)y.ptr,
                                y.len, threads);
        if (st != expect && pp != NULL)
            fz_print_layer(pp, is_f64, b.ptr != NULL);
        FZ_CHECK(st == expect, "gconv_conv_%s gave %d (%s), expected %d (%s)",
                 is_f64 ? "f64" : "f32", (int)st, gconv_strerror(st), (int)expect,
                 gconv_strerror(expect));
        fz_same(&x, sx, "input");
        fz_same(&w, sw, "weight");
        fz_same(&b, sb, "bias");
        if (st != GCONV_OK) {
            fz_same(&y, sy, "the output of a failed call");
        } else {
            free(sy);
            fz_guards_intact(&y, elem, "output");
            fz_compare_reference(p, &m, p->batch, is_f64, x.ptr, w.ptr, b.ptr, y.ptr);
        }
    }
    fz_buf_free(&x);
    fz_buf_free(&w);
    fz_buf_free(&b);
    fz_buf_free(&y);
    free(p);
    return 0;
}
