/*
 * depthwise_isa.template.h -- the depthwise row kernels and the task loop
 * for one element type and one vector path.  Included by
 * depthwise.template.h with TYPE, SFX, DW_DOUBLE, DW_ARGS and DW_ISA
 * defined.
 *
 * The kernels are written once against a small vector vocabulary
 * (V_SET1, V_LOAD, V_FMA, masked loads and stores, even/odd lanes of two
 * vectors) that each path defines: AVX-512F, AVX2+FMA, or portable C on
 * fixed-length arrays that the compiler may vectorise.
 */

#if DW_ISA == DW_ISA_AVX512
#  define ISA_TAG avx512
#  define ISA_ATTR __attribute__((target("avx512f")))
#elif DW_ISA == DW_ISA_AVX2
#  define ISA_TAG avx2
#  define ISA_ATTR __attribute__((target("avx2,fma")))
#else
#  define ISA_TAG generic
#  define ISA_ATTR
#endif

#define IFN(name) GCONV_CAT(GCONV_CAT(name, ISA_TAG), SFX)
#define ISA_FN DW_INLINE ISA_ATTR
#define VT IFN(dw_vec)
#define MT IFN(dw_mask)

/* ---- the vector vocabulary --------------------------------------------- */

#if DW_ISA == DW_ISA_AVX512
#  if DW_DOUBLE
#    define DW_VL 8
typedef __m512d VT;
typedef __mmask8 MT;
ISA_FN VT IFN(v_set1)(TYPE a) { return _mm512_set1_pd(a); }
ISA_FN VT IFN(v_load)(const TYPE *p) { return _mm512_loadu_pd(p); }
ISA_FN void IFN(v_store)(TYPE *p, VT v) { _mm512_storeu_pd(p, v); }
ISA_FN VT IFN(v_fma)(VT a, VT b, VT c) { return _mm512_fmadd_pd(a, b, c); }
ISA_FN VT IFN(v_maskz_load)(MT m, const TYPE *p) { return _mm512_maskz_loadu_pd(m, p); }
ISA_FN void IFN(v_mask_store)(TYPE *p, MT m, VT v) { _mm512_mask_storeu_pd(p, m, v); }
ISA_FN VT IFN(v_evens)(VT a, VT b)
{
    return _mm512_permutex2var_pd(a, _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0), b);
}
ISA_FN VT IFN(v_odds)(VT a, VT b)
{
    return _mm512_permutex2var_pd(a, _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1), b);
}
#  else
#    define DW_VL 16
typedef __m512 VT;
typedef __mmask16 MT;
ISA_FN VT IFN(v_set1)(TYPE a) { return _mm512_set1_ps(a); }
ISA_FN VT IFN(v_load)(const TYPE *p) { return _mm512_loadu_ps(p); }
ISA_FN void IFN(v_store)(TYPE *p, VT v) { _mm512_storeu_ps(p, v); }
ISA_FN VT IFN(v_fma)(VT a, VT b, VT c) { return _mm512_fmadd_ps(a, b, c); }
ISA_FN VT IFN(v_maskz_load)(MT m, const TYPE *p) { return _mm512_maskz_loadu_ps(m, p); }
ISA_FN void IFN(v_mask_store)(TYPE *p, MT m, VT v) { _mm512_mask_storeu_ps(p, m, v); }
ISA_FN VT IFN(v_evens)(VT a, VT b)
{
    return _mm512_permutex2var_ps(
        a, _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0), b);
}
ISA_FN VT IFN(v_odds)(VT a, VT b)
{
    return _mm512_permutex2var_ps(
        a, _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1), b);
}
#  endif
/* lanes lo <= l < hi (0 <= lo <= hi <= DW_VL) */
ISA_FN MT IFN(m_lanes)(int lo, int hi)
{
    return (MT)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

#elif DW_ISA == DW_ISA_AVX2
#  if DW_DOUBLE
#    define DW_VL 4
typedef __m256d VT;
typedef __m256i MT;
ISA_FN VT IFN(v_set1)(TYPE a) { return _mm256_set1_pd(a); }
ISA_FN VT IFN(v_load)(const TYPE *p) { return _mm256_loadu_pd(p); }
ISA_FN void IFN(v_store)(TYPE *p, VT v) { _mm256_storeu_pd(p, v); }
ISA_FN VT IFN(v_fma)(VT a, VT b, VT c) { return _mm256_fmadd_pd(a, b, c); }
ISA_FN VT IFN(v_maskz_load)(MT m, const TYPE *p) { return _mm256_maskload_pd(p, m); }
ISA_FN void IFN(v_mask_store)(TYPE *p, MT m, VT v) { _mm256_maskstore_pd(p, m, v); }
/* [a0 b0 a2 b2] -> [a0 a2 b0 b2] */
ISA_FN VT IFN(v_evens)(VT a, VT b)
{
    return _mm256_permute4x64_pd(_mm256_unpacklo_pd(a, b), 0xD8);
}
ISA_FN VT IFN(v_odds)(VT a, VT b)
{
    return _mm256_permute4x64_pd(_mm256_unpackhi_pd(a, b), 0xD8);
}
ISA_FN MT IFN(m_lanes)(int lo, int hi)
{
    const __m256i idx = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_and_si256(_mm256_cmpgt_epi64(_mm256_set1_epi64x(hi), idx),
                            _mm256_cmpgt_epi64(idx, _mm256_set1_epi64x(lo - 1)));
}
#  else
#    define DW_VL 8
typedef __m256 VT;
typedef __m256i MT;
ISA_FN VT IFN(v_set1)(TYPE a) { return _mm256_set1_ps(a); }
ISA_FN VT IFN(v_load)(const TYPE *p) { return _mm256_loadu_ps(p); }
ISA_FN void IFN(v_store)(TYPE *p, VT v) { _mm256_storeu_ps(p, v); }
ISA_FN VT IFN(v_fma)(VT a, VT b, VT c) { return _mm256_fmadd_ps(a, b, c); }
ISA_FN VT IFN(v_maskz_load)(MT m, const TYPE *p) { return _mm256_maskload_ps(p, m); }
ISA_FN void IFN(v_mask_store)(TYPE *p, MT m, VT v) { _mm256_maskstore_ps(p, m, v); }
/* per 128-bit half [a0 a2 b0 b2 | a4 a6 b4 b6], then the 64-bit pairs
   reordered to [a0 a2 a4 a6 b0 b2 b4 b6] */
ISA_FN VT IFN(v_evens)(VT a, VT b)
{
    return _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
}
ISA_FN VT IFN(v_odds)(VT a, VT b)
{
    return _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
}
ISA_FN MT IFN(m_lanes)(int lo, int hi)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(hi), idx),
                            _mm256_cmpgt_epi32(idx, _mm256_set1_epi32(lo - 1)));
}
#  endif

#else /* portable C */
#  define DW_VL (DW_DOUBLE ? 4 : 8)
typedef struct { TYPE v[DW_VL]; } VT;
typedef struct { int lo, hi; } MT;
ISA_FN VT IFN(v_set1)(TYPE a)
{
    VT r;
    for (int l = 0; l < DW_VL; l++)
        r.v[l] = a;
    return r;
}
ISA_FN VT IFN(v_load)(const TYPE *p)
{
    VT r;
    for (int l = 0; l < DW_VL; l++)
        r.v[l] = p[l];
    return r;
}
ISA_FN void IFN(v_store)(TYPE *p, VT v)
{
    for (int l = 0; l < DW_VL; l++)
        p[l] = v.v[l];
}
ISA_FN VT IFN(v_fma)(VT a, VT b, VT c)
{
    VT r;
    for (int l = 0; l < DW_VL; l++)
        r.v[l] = a.v[l] * b.v[l] + c.v[l];
    return r;
}
ISA_FN VT IFN(v_maskz_load)(MT m, const TYPE *p)
{
    VT r;
    for (int l = 0; l < DW_VL; l++)
        r.v[l] = l >= m.lo && l < m.hi ? p[l] : (TYPE)0;
    return r;
}
ISA_FN void IFN(v_mask_store)(TYPE *p, MT m, VT v)
{
    for (int l = m.lo; l < m.hi; l++)
        p[l] = v.v[l];
}
ISA_FN VT IFN(v_evens)(VT a, VT b)
{
    VT r;
    for (int l = 0; l < DW_VL / 2; l++) {
        r.v[l] = a.v[2 * l];
        r.v[DW_VL / 2 + l] = b.v[2 * l];
    }
    return r;
}
ISA_FN VT IFN(v_odds)(VT a, VT b)
{
    VT r;
    for (int l = 0; l < DW_VL / 2; l++) {
        r.v[l] = a.v[2 * l + 1];
        r.v[DW_VL / 2 + l] = b.v[2 * l + 1];
    }
    return r;
}
ISA_FN MT IFN(m_lanes)(int lo, int hi)
{
    MT m;
    m.lo = lo;
    m.hi = hi;
    return m;
}
#endif

#define V_SET1 IFN(v_set1)
#define V_LOAD IFN(v_load)
#define V_STORE IFN(v_store)
#define V_FMA IFN(v_fma)
#define V_EVENS IFN(v_evens)
#define V_ODDS IFN(v_odds)

/* The lanes l with 0 <= col + l < n: where a vector starting at column col
   of a row of n elements reads inside the row. */
ISA_FN MT IFN(m_range)(int64_t col, int64_t n)
{
    int64_t lo = col < 0 ? -col : 0;
    int64_t hi = n - col;
    if (lo > DW_VL)
        lo = DW_VL;
    if (hi > DW_VL)
        hi = DW_VL;
    if (hi < lo)
        hi = lo;
    return IFN(m_lanes)((int)lo, (int)hi);
}

/* The vector at column col of row (n elements), zero outside the row.  The
   masked lanes are never read. */
ISA_FN VT IFN(v_load_edge)(const TYPE *row, int64_t col, int64_t n)
{
#if DW_ISA == DW_ISA_GENERIC
    VT r;
    for (int l = 0; l < DW_VL; l++) {
        const int64_t c = col + l;
        r.v[l] = c >= 0 && c < n ? row[c] : (TYPE)0;
    }
    return r;
#else
    /* the address of lane 0 may lie outside the row: computed on integers */
    const TYPE *p = (const TYPE *)((uintptr_t)row + (uintptr_t)col * sizeof(TYPE));
    return IFN(v_maskz_load)(IFN(m_range)(col, n), p);
#endif
}

/* Lanes l of columns col + step * l, zero outside the row (any step). */
ISA_FN VT IFN(v_load_strided)(const TYPE *row, int64_t col, int64_t step, int64_t n)
{
    TYPE tmp[DW_VL];
    for (int l = 0; l < DW_VL; l++) {
        const int64_t c = col + step * l;
        tmp[l] = c >= 0 && c < n ? row[c] : (TYPE)0;
    }
    return V_LOAD(tmp);
}

/* The first cnt lanes of p, zero elsewhere / stored to p (1 <= cnt <= VL). */
ISA_FN VT IFN(v_load_first)(const TYPE *p, int64_t cnt)
{
    return IFN(v_maskz_load)(IFN(m_lanes)(0, (int)cnt), p);
}

ISA_FN void IFN(v_store_first)(TYPE *p, VT v, int64_t cnt)
{
    IFN(v_mask_store)(p, IFN(m_lanes)(0, (int)cnt), v);
}

/* ---- specialised kernels: KxK filter, stride S (1 or 2), R rows -------- */

/* (the portable path runs every shape through the general kernel: fully
   unrolled, its fixed-length arrays would be large and slow to compile) */
#if DW_ISA != DW_ISA_GENERIC

/* One vector chunk (output columns ow0 ...) of the R rows.  MASKED: the
   chunk touches the padding or the end of the row (nst < VL lanes stored). */
ISA_FN void IFN(spec_chunk)(const DW_ARGS *a, const TYPE *const *xr, const VT *wv,
                            VT bv, int64_t ow0, int64_t nst,
                            const int KH, const int KW, const int S, const int R,
                            const int MASKED)
{
    const int64_t in_w = a->g->in_w;
    const int64_t c0 = ow0 * S - a->g->pw;
    const int NI = (R - 1) * S + KH;
    VT acc[DW_RMAX];

    DW_UNROLL
    for (int r = 0; r < R; r++) {
        if (a->first)
            acc[r] = bv;
        else if (MASKED)
            acc[r] = IFN(v_load_first)(a->yr[r] + ow0, nst);
        else
            acc[r] = V_LOAD(a->yr[r] + ow0);
    }

    DW_UNROLL
    for (int i = 0; i < NI; i++) {
        const TYPE *row = xr[i];
        if (row == NULL)
            continue;
        if (S == 1) {
            DW_UNROLL
            for (int kw = 0; kw < KW; kw++) {
                const VT xv = MASKED ? IFN(v_load_edge)(row, c0 + kw, in_w)
                                     : V_LOAD(row + c0 + kw);
                DW_UNROLL
                for (int r = 0; r < R; r++) {
                    const int kh = i - r;
                    if (kh >= 0 && kh < KH)
                        acc[r] = V_FMA(wv[kh * KW + kw], xv, acc[r]);
                }
            }
        } else {
            /* taps 2j and 2j+1 are the even and odd lanes of the same two
               vectors */
            DW_UNROLL
            for (int j = 0; 2 * j < KW; j++) {
                const int64_t col = c0 + 2 * j;
                const VT va = MASKED ? IFN(v_load_edge)(row, col, in_w) : V_LOAD(row + col);
                const VT vb = MASKED ? IFN(v_load_edge)(row, col + DW_VL, in_w)
                                     : V_LOAD(row + col + DW_VL);
                const VT ev = V_EVENS(va, vb);
                DW_UNROLL
                for (int r = 0; r < R; r++) {
                    const int kh = i - S * r;
                    if (kh >= 0 && kh < KH)
                        acc[r] = V_FMA(wv[kh * KW + 2 * j], ev, acc[r]);
                }
                if (2 * j + 1 < KW) {
                    const VT od = V_ODDS(va, vb);
                    DW_UNROLL
                    for (int r = 0; r < R; r++) {
                        const int kh = i - S * r;
                        if (kh >= 0 && kh < KH)
                            acc[r] = V_FMA(wv[kh * KW + 2 * j + 1], od, acc[r]);
                    }
                }
            }
        }
    }

    DW_UNROLL
    for (int r = 0; r < R; r++) {
        if (MASKED)
            IFN(v_store_first)(a->yr[r] + ow0, acc[r], nst);
        else
            V_STORE(a->yr[r] + ow0, acc[r]);
    }
}

/* The R rows across the whole output width, filter held in registers. */
ISA_FN void IFN(spec_rows)(const DW_ARGS *a, const int KH, const int KW, const int S,
                           const int R)
{
    const int64_t in_w = a->g->in_w, out_w = a->g->out_w, pw = a->g->pw;
    /* columns read by an unmasked chunk, from its first tap's first lane */
    const int64_t span = S == 1 ? (KW - 1) + DW_VL : 2 * ((KW - 1) / 2) + 2 * DW_VL;
    const TYPE *xr[DW_NI_MAX];
    VT wv[DW_KMAX * DW_KMAX];

    DW_UNROLL
    for (int i = 0; i < (R - 1) * S + KH; i++)
        xr[i] = a->xr[i];
    DW_UNROLL
    for (int t = 0; t < KH * KW; t++)
        wv[t] = V_SET1(a->w[t]);
    const VT bv = V_SET1(a->bias);

    for (int64_t ow0 = 0; ow0 < out_w; ow0 += DW_VL) {
        const int64_t c0 = ow0 * S - pw;
        const int64_t nst = out_w - ow0 < DW_VL ? out_w - ow0 : DW_VL;
        if (nst == DW_VL && c0 >= 0 && c0 + span <= in_w)
            IFN(spec_chunk)(a, xr, wv, bv, ow0, nst, KH, KW, S, R, 0);
        else
            IFN(spec_chunk)(a, xr, wv, bv, ow0, nst, KH, KW, S, R, 1);
    }
}

#define DW_DEF_SPEC(NAME, K, S)                                   \
    static ISA_ATTR void IFN(NAME)(const DW_ARGS *a)              \
    {                                                             \
        switch (a->R) {                                           \
        case 4:                                                   \
            IFN(spec_rows)(a, K, K, S, 4);                        \
            break;                                                \
        case 3:                                                   \
            IFN(spec_rows)(a, K, K, S, 3);                        \
            break;                                                \
        case 2:                                                   \
            IFN(spec_rows)(a, K, K, S, 2);                        \
            break;                                                \
        default:                                                  \
            IFN(spec_rows)(a, K, K, S, 1);                        \
            break;                                                \
        }                                                         \
    }

DW_DEF_SPEC(dw_k3s1, 3, 1)
DW_DEF_SPEC(dw_k3s2, 3, 2)
DW_DEF_SPEC(dw_k5s1, 5, 1)
DW_DEF_SPEC(dw_k5s2, 5, 2)
DW_DEF_SPEC(dw_k7s1, 7, 1)
DW_DEF_SPEC(dw_k7s2, 7, 2)
#undef DW_DEF_SPEC

/* in the order of dw_specs */
static void (*const IFN(dw_spec_table)[DW_NSPECS])(const DW_ARGS *) = {
    IFN(dw_k3s1), IFN(dw_k3s2), IFN(dw_k5s1), IFN(dw_k5s2), IFN(dw_k7s1), IFN(dw_k7s2),
};
#endif /* DW_ISA != DW_ISA_GENERIC */

/* ---- the general kernel: any filter, stride, dilation; one row --------- */

/* C vectors of the output row from column ow0, every tap of the slice.
   SC: width stride 1, 2, or other (3).  MASKED: the block touches the
   padding or the end of the row. */
ISA_FN void IFN(gen_block)(const DW_ARGS *a, VT bv, int64_t ow0, const int C,
                           const int SC, const int MASKED)
{
    const dw_geom *g = a->g;
    const int64_t in_w = g->in_w, in_h = g->in_h, out_w = g->out_w;
    const int64_t sw = SC == 1 ? 1 : SC == 2 ? 2 : g->sw;
    const int64_t kh_n = g->kh, kw_n = g->kw, dw = g->dw;
    const int64_t c0 = ow0 * sw - g->pw;
    TYPE *y = a->yr[0] + ow0;
    VT acc[DW_CMAX];

    DW_UNROLL
    for (int c = 0; c < C; c++) {
        const int64_t left = out_w - ow0 - c * DW_VL;
        if (a->first)
            acc[c] = bv;
        else if (MASKED)
            acc[c] = IFN(v_load_first)(y + c * DW_VL, left < DW_VL ? left : DW_VL);
        else
            acc[c] = V_LOAD(y + c * DW_VL);
    }

    for (int64_t kh = 0; kh < kh_n; kh++) {
        const int64_t ih = a->oh0 * g->sh - g->ph + kh * g->dh;
        if (ih < 0 || ih >= in_h)
            continue;
        const TYPE *row = a->slice + ih * in_w;
        const TYPE *wk = a->w + kh * kw_n;
        for (int64_t kw = 0; kw < kw_n; kw++) {
            const VT wv = V_SET1(wk[kw]);
            const int64_t col = c0 + kw * dw;
            DW_UNROLL
            for (int c = 0; c < C; c++) {
                const int64_t cc = col + c * DW_VL * sw;
                VT xv;
                if (SC == 1) {
                    xv = MASKED ? IFN(v_load_edge)(row, cc, in_w) : V_LOAD(row + cc);
                } else if (SC == 2) {
                    const VT va = MASKED ? IFN(v_load_edge)(row, cc, in_w) : V_LOAD(row + cc);
                    const VT vb = MASKED ? IFN(v_load_edge)(row, cc + DW_VL, in_w)
                                         : V_LOAD(row + cc + DW_VL);
                    xv = V_EVENS(va, vb);
                } else {
                    xv = IFN(v_load_strided)(row, cc, sw, in_w);
                }
                acc[c] = V_FMA(wv, xv, acc[c]);
            }
        }
    }

    DW_UNROLL
    for (int c = 0; c < C; c++) {
        const int64_t left = out_w - ow0 - c * DW_VL;
        if (MASKED)
            IFN(v_store_first)(y + c * DW_VL, acc[c], left < DW_VL ? left : DW_VL);
        else
            V_STORE(y + c * DW_VL, acc[c]);
    }
}

ISA_FN void IFN(gen_row)(const DW_ARGS *a, const int SC)
{
    const dw_geom *g = a->g;
    const int64_t out_w = g->out_w, in_w = g->in_w;
    const int64_t sw = SC == 1 ? 1 : SC == 2 ? 2 : g->sw;
    const int64_t kspan = (g->kw - 1) * g->dw;
    const int64_t lspan = SC == 2 ? 2 * DW_VL : DW_VL;
    const VT bv = V_SET1(a->bias);
    int64_t ow0 = 0;
    /* blocks of DW_CMAX vectors while that many (the last maybe partial)
       remain, then single vectors */
    for (; ow0 + (DW_CMAX - 1) * DW_VL < out_w; ow0 += DW_CMAX * DW_VL) {
        const int64_t c0 = ow0 * sw - g->pw;
        const int full = ow0 + DW_CMAX * DW_VL <= out_w;
        if (full && (SC == 3 || (c0 >= 0 &&
                                 c0 + (DW_CMAX - 1) * DW_VL * sw + kspan + lspan <= in_w)))
            IFN(gen_block)(a, bv, ow0, DW_CMAX, SC, 0);
        else
            IFN(gen_block)(a, bv, ow0, DW_CMAX, SC, 1);
    }
    for (; ow0 < out_w; ow0 += DW_VL) {
        const int64_t c0 = ow0 * sw - g->pw;
        const int full = ow0 + DW_VL <= out_w;
        if (full && (SC == 3 || (c0 >= 0 && c0 + kspan + lspan <= in_w)))
            IFN(gen_block)(a, bv, ow0, 1, SC, 0);
        else
            IFN(gen_block)(a, bv, ow0, 1, SC, 1);
    }
}

static ISA_ATTR void IFN(dw_gen_s1)(const DW_ARGS *a) { IFN(gen_row)(a, 1); }
static ISA_ATTR void IFN(dw_gen_s2)(const DW_ARGS *a) { IFN(gen_row)(a, 2); }
static ISA_ATTR void IFN(dw_gen_sn)(const DW_ARGS *a) { IFN(gen_row)(a, 3); }

/* ---- a task: output rows [r0, r1) (depth x height) of the output
   channels m0 <= m < m1 of group grp of batch item n ---------------------- */

static ISA_ATTR void IFN(dw_task)(const dw_geom *g, const TYPE *w, const TYPE *b,
                                  const TYPE *x, TYPE *y, int64_t n, int64_t grp,
                                  int64_t m0, int64_t m1, int64_t r0, int64_t r1)
{
    DW_ARGS a;
    void (*kern)(const DW_ARGS *);
    int64_t rmax = 1, S = 1, KH = 1;
#if DW_ISA == DW_ISA_GENERIC
    const int spec = -1;
#else
    const int spec = g->spec;
#endif
    if (spec >= 0) {
#if DW_ISA != DW_ISA_GENERIC
        kern = IFN(dw_spec_table)[spec];
#else
        kern = IFN(dw_gen_s1);
#endif
        rmax = DW_RMAX;
        KH = dw_specs[spec][0];
        S = dw_specs[spec][1];
    } else {
        kern = g->sw == 1 ? IFN(dw_gen_s1) : g->sw == 2 ? IFN(dw_gen_s2) : IFN(dw_gen_sn);
    }
    const TYPE *xplane = x + (n * g->groups + grp) * g->in_plane;
    const int64_t cout = g->groups * g->mult;
    const int64_t kslice = g->kh * g->kw;
    const int64_t in_hw = g->in_h * g->in_w;
    a.g = g;

    for (int64_t r = r0; r < r1;) {
        const int64_t od = r / g->out_h, oh = r % g->out_h;
        int64_t R = rmax;
        if (R > g->out_h - oh)
            R = g->out_h - oh;
        if (R > r1 - r)
            R = r1 - r;
        a.R = (int)R;
        a.oh0 = oh;
        int any = 0;
        for (int64_t kd = 0; kd < g->kd; kd++) {
            const int64_t id = od * g->sd - g->pd + kd * g->dd;
            if (id < 0 || id >= g->in_d)
                continue;
            const TYPE *slice = xplane + id * in_hw;
            a.slice = slice;
            if (spec >= 0) {
                const int64_t ni = (R - 1) * S + KH;
                for (int64_t i = 0; i < ni; i++) {
                    const int64_t ih = oh * S - g->ph + i;
                    a.xr[i] = ih >= 0 && ih < g->in_h ? slice + ih * g->in_w : NULL;
                }
            }
            a.first = !any;
            for (int64_t m = m0; m < m1; m++) {
                const int64_t oc = grp * g->mult + m;
                TYPE *yrow = y + (n * cout + oc) * g->out_plane +
                             (od * g->out_h + oh) * g->out_w;
                for (int64_t i = 0; i < R; i++)
                    a.yr[i] = yrow + i * g->out_w;
                a.w = w + oc * g->kvol + kd * kslice;
                a.bias = b != NULL ? b[oc] : (TYPE)0;
                kern(&a);
            }
            any = 1;
        }
        if (!any) {
            /* every tap of these rows falls in the depth padding */
            for (int64_t m = m0; m < m1; m++) {
                const int64_t oc = grp * g->mult + m;
                TYPE *yrow = y + (n * cout + oc) * g->out_plane +
                             (od * g->out_h + oh) * g->out_w;
                const TYPE bias = b != NULL ? b[oc] : (TYPE)0;
                for (int64_t i = 0; i < R * g->out_w; i++)
                    yrow[i] = bias;
            }
        }
        r += R;
    }
}

#undef V_SET1
#undef V_LOAD
#undef V_STORE
#undef V_FMA
#undef V_EVENS
#undef V_ODDS
#undef DW_VL
#undef VT
#undef MT
#undef ISA_FN
#undef IFN
#undef ISA_TAG
#undef ISA_ATTR
