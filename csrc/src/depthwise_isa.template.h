/*
 * depthwise_isa.template.h -- the depthwise row kernels and the task loop
 * for one element type and one vector path.  Included by
 * depthwise.template.h with TYPE, SFX, DW_DOUBLE, DW_ARGS and DW_ISA
 * defined.
 *
 * The kernels are written once against a small vector vocabulary
 * (V_SET1, V_LOAD, V_FMA, masked loads and stores, even/odd lanes of two
 * vectors) that each path defines: AVX-512F (512-bit), AVX-512VL (256-bit,
 * for short rows), AVX2+FMA, or portable C on the compiler's 16-byte vector
 * types (plain arrays where it has none).
 */

#if DW_ISA == DW_ISA_AVX512
#  define ISA_TAG avx512
#  define ISA_ATTR __attribute__((target("avx512f")))
#elif DW_ISA == DW_ISA_AVX512Y
#  define ISA_TAG avx512y
#  define ISA_ATTR __attribute__((target("avx512f,avx512vl,avx2,fma")))
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
ISA_FN VT IFN(v_add)(VT a, VT b) { return _mm512_add_pd(a, b); }
ISA_FN void IFN(v_stream)(TYPE *p, VT v) { _mm512_stream_pd(p, v); }
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

/* r[i] <- column i of the 8 x 8 matrix whose rows are r[0..8) */
ISA_FN void IFN(v_transpose)(VT *r)
{
    VT t[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_pd(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_pd(r[2 * i], r[2 * i + 1]);
    }
    /* t[j + 2 i]: in 128-bit lane L, column 2 L + j of rows 2 i, 2 i + 1 */
    for (int j = 0; j < 2; j++) {
        const VT u0 = _mm512_shuffle_f64x2(t[j], t[2 + j], 0x88);
        const VT u1 = _mm512_shuffle_f64x2(t[j], t[2 + j], 0xDD);
        const VT u2 = _mm512_shuffle_f64x2(t[4 + j], t[6 + j], 0x88);
        const VT u3 = _mm512_shuffle_f64x2(t[4 + j], t[6 + j], 0xDD);
        r[j] = _mm512_shuffle_f64x2(u0, u2, 0x88);
        r[4 + j] = _mm512_shuffle_f64x2(u0, u2, 0xDD);
        r[2 + j] = _mm512_shuffle_f64x2(u1, u3, 0x88);
        r[6 + j] = _mm512_shuffle_f64x2(u1, u3, 0xDD);
    }
}
#  else
#    define DW_VL 16
typedef __m512 VT;
typedef __mmask16 MT;
ISA_FN VT IFN(v_set1)(TYPE a) { return _mm512_set1_ps(a); }
ISA_FN VT IFN(v_load)(const TYPE *p) { return _mm512_loadu_ps(p); }
ISA_FN void IFN(v_store)(TYPE *p, VT v) { _mm512_storeu_ps(p, v); }
ISA_FN VT IFN(v_fma)(VT a, VT b, VT c) { return _mm512_fmadd_ps(a, b, c); }
ISA_FN VT IFN(v_add)(VT a, VT b) { return _mm512_add_ps(a, b); }
ISA_FN void IFN(v_stream)(TYPE *p, VT v) { _mm512_stream_ps(p, v); }
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
/* lanes s to s + 15 of a then b (0 <= s <= 16) */
ISA_FN VT IFN(v_shift2)(VT a, VT b, int s)
{
    const __m512i idx = _mm512_add_epi32(
        _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32(s));
    return _mm512_permutex2var_ps(a, idx, b);
}

/* r[i] <- column i of the 16 x 16 matrix whose rows are r[0..16) */
ISA_FN void IFN(v_transpose)(VT *r)
{
    VT t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    /* r[4 i + j]: in 128-bit lane L, column 4 L + j of rows 4 i .. 4 i + 3 */
    for (int j = 0; j < 4; j++) {
        const VT u0 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);
        const VT u1 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
        const VT u2 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
        const VT u3 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
        t[j] = _mm512_shuffle_f32x4(u0, u2, 0x88);
        t[8 + j] = _mm512_shuffle_f32x4(u0, u2, 0xDD);
        t[4 + j] = _mm512_shuffle_f32x4(u1, u3, 0x88);
        t[12 + j] = _mm512_shuffle_f32x4(u1, u3, 0xDD);
    }
    for (int i = 0; i < 16; i++)
        r[i] = t[i];
}
#  endif
/* lanes j.. of lo followed by the first j lanes of hi (1 <= j <= 6) */
ISA_FN VT IFN(v_alignr)(VT hi, VT lo, int j)
{
#  if DW_DOUBLE
#    define DW_ALIGNR(k) _mm512_castsi512_pd(_mm512_alignr_epi64( \
        _mm512_castpd_si512(hi), _mm512_castpd_si512(lo), k))
#  else
#    define DW_ALIGNR(k) _mm512_castsi512_ps(_mm512_alignr_epi32( \
        _mm512_castps_si512(hi), _mm512_castps_si512(lo), k))
#  endif
    switch (j) {
    case 1:
        return DW_ALIGNR(1);
    case 2:
        return DW_ALIGNR(2);
    case 3:
        return DW_ALIGNR(3);
    case 4:
        return DW_ALIGNR(4);
    case 5:
        return DW_ALIGNR(5);
    default:
        return DW_ALIGNR(6);
    }
#  undef DW_ALIGNR
}

/* lanes lo <= l < hi (0 <= lo <= hi <= DW_VL) */
ISA_FN MT IFN(m_lanes)(int lo, int hi)
{
    return (MT)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

#elif DW_ISA == DW_ISA_AVX512Y
/* AVX-512VL on 256-bit vectors: for rows of at most 8 (4) elements */
#  if DW_DOUBLE
#    define DW_VL 4
typedef __m256d VT;
typedef __mmask8 MT;
ISA_FN VT IFN(v_set1)(TYPE a) { return _mm256_set1_pd(a); }
ISA_FN VT IFN(v_load)(const TYPE *p) { return _mm256_loadu_pd(p); }
ISA_FN void IFN(v_store)(TYPE *p, VT v) { _mm256_storeu_pd(p, v); }
ISA_FN VT IFN(v_fma)(VT a, VT b, VT c) { return _mm256_fmadd_pd(a, b, c); }
ISA_FN VT IFN(v_add)(VT a, VT b) { return _mm256_add_pd(a, b); }
ISA_FN void IFN(v_stream)(TYPE *p, VT v) { _mm256_stream_pd(p, v); }
ISA_FN VT IFN(v_maskz_load)(MT m, const TYPE *p) { return _mm256_maskz_loadu_pd(m, p); }
ISA_FN void IFN(v_mask_store)(TYPE *p, MT m, VT v) { _mm256_mask_storeu_pd(p, m, v); }
ISA_FN VT IFN(v_evens)(VT a, VT b)
{
    return _mm256_permutex2var_pd(a, _mm256_set_epi64x(6, 4, 2, 0), b);
}
ISA_FN VT IFN(v_odds)(VT a, VT b)
{
    return _mm256_permutex2var_pd(a, _mm256_set_epi64x(7, 5, 3, 1), b);
}
#    define DW_ALIGNR(k) _mm256_castsi256_pd(_mm256_alignr_epi64( \
        _mm256_castpd_si256(hi), _mm256_castpd_si256(lo), k))
#  else
#    define DW_VL 8
typedef __m256 VT;
typedef __mmask8 MT;
ISA_FN VT IFN(v_set1)(TYPE a) { return _mm256_set1_ps(a); }
ISA_FN VT IFN(v_load)(const TYPE *p) { return _mm256_loadu_ps(p); }
ISA_FN void IFN(v_store)(TYPE *p, VT v) { _mm256_storeu_ps(p, v); }
ISA_FN VT IFN(v_fma)(VT a, VT b, VT c) { return _mm256_fmadd_ps(a, b, c); }
ISA_FN VT IFN(v_add)(VT a, VT b) { return _mm256_add_ps(a, b); }
ISA_FN void IFN(v_stream)(TYPE *p, VT v) { _mm256_stream_ps(p, v); }
ISA_FN VT IFN(v_maskz_load)(MT m, const TYPE *p) { return _mm256_maskz_loadu_ps(m, p); }
ISA_FN void IFN(v_mask_store)(TYPE *p, MT m, VT v) { _mm256_mask_storeu_ps(p, m, v); }
ISA_FN VT IFN(v_evens)(VT a, VT b)
{
    return _mm256_permutex2var_ps(a, _mm256_set_epi32(14, 12, 10, 8, 6, 4, 2, 0), b);
}
ISA_FN VT IFN(v_odds)(VT a, VT b)
{
    return _mm256_permutex2var_ps(a, _mm256_set_epi32(15, 13, 11, 9, 7, 5, 3, 1), b);
}
#    define DW_ALIGNR(k) _mm256_castsi256_ps(_mm256_alignr_epi32( \
        _mm256_castps_si256(hi), _mm256_castps_si256(lo), k))
#  endif
ISA_FN VT IFN(v_alignr)(VT hi, VT lo, int j)
{
    switch (j) {
    case 1:
        return DW_ALIGNR(1);
    case 2:
        return DW_ALIGNR(2);
    default:
        return DW_ALIGNR(3);
    }
}
#  undef DW_ALIGNR
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
ISA_FN VT IFN(v_add)(VT a, VT b) { return _mm256_add_pd(a, b); }
ISA_FN void IFN(v_stream)(TYPE *p, VT v) { _mm256_stream_pd(p, v); }
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

/* r[i] <- column i of the 4 x 4 matrix whose rows are r[0..4) */
ISA_FN void IFN(v_transpose)(VT *r)
{
    const VT t0 = _mm256_unpacklo_pd(r[0], r[1]);
    const VT t1 = _mm256_unpackhi_pd(r[0], r[1]);
    const VT t2 = _mm256_unpacklo_pd(r[2], r[3]);
    const VT t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}
#  else
#    define DW_VL 8
typedef __m256 VT;
typedef __m256i MT;
ISA_FN VT IFN(v_set1)(TYPE a) { return _mm256_set1_ps(a); }
ISA_FN VT IFN(v_load)(const TYPE *p) { return _mm256_loadu_ps(p); }
ISA_FN void IFN(v_store)(TYPE *p, VT v) { _mm256_storeu_ps(p, v); }
ISA_FN VT IFN(v_fma)(VT a, VT b, VT c) { return _mm256_fmadd_ps(a, b, c); }
ISA_FN VT IFN(v_add)(VT a, VT b) { return _mm256_add_ps(a, b); }
ISA_FN void IFN(v_stream)(TYPE *p, VT v) { _mm256_stream_ps(p, v); }
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

/* r[i] <- column i of the 8 x 8 matrix whose rows are r[0..8) */
ISA_FN void IFN(v_transpose)(VT *r)
{
    VT t[8], s[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        s[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        s[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        s[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        s[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    /* s[4 i + j]: in 128-bit lane L, column 4 L + j of rows 4 i .. 4 i + 3 */
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2f128_ps(s[j], s[4 + j], 0x20);
        r[4 + j] = _mm256_permute2f128_ps(s[j], s[4 + j], 0x31);
    }
}
#  endif

#else /* portable C */
#  if DW_GVEC
/* 16-byte vectors: one SIMD instruction per operation, passed in registers */
#    define DW_VL (DW_DOUBLE ? 2 : 4)
typedef TYPE VT __attribute__((vector_size(DW_VL * sizeof(TYPE))));
#    define DW_LANE(x, l) ((x)[l])
#  else
#    define DW_VL (DW_DOUBLE ? 4 : 8)
typedef struct { TYPE v[DW_VL]; } VT;
#    define DW_LANE(x, l) ((x).v[l])
#  endif
typedef struct { int lo, hi; } MT;
ISA_FN VT IFN(v_set1)(TYPE a)
{
    VT r = {0};   /* every lane is set below; GCC -O1 cannot tell */
    for (int l = 0; l < DW_VL; l++)
        DW_LANE(r, l) = a;
    return r;
}
ISA_FN VT IFN(v_load)(const TYPE *p)
{
    VT r;
    memcpy(&r, p, sizeof r);
    return r;
}
ISA_FN void IFN(v_store)(TYPE *p, VT v)
{
    memcpy(p, &v, sizeof v);
}
ISA_FN VT IFN(v_fma)(VT a, VT b, VT c)
{
#  if DW_GVEC
    return a * b + c;
#  else
    VT r;
    for (int l = 0; l < DW_VL; l++)
        r.v[l] = a.v[l] * b.v[l] + c.v[l];
    return r;
#  endif
}
ISA_FN VT IFN(v_add)(VT a, VT b)
{
#  if DW_GVEC
    return a + b;
#  else
    VT r;
    for (int l = 0; l < DW_VL; l++)
        r.v[l] = a.v[l] + b.v[l];
    return r;
#  endif
}
ISA_FN VT IFN(v_maskz_load)(MT m, const TYPE *p)
{
    TYPE t[DW_VL];
    for (int l = 0; l < DW_VL; l++)
        t[l] = l >= m.lo && l < m.hi ? p[l] : (TYPE)0;
    return IFN(v_load)(t);
}
ISA_FN void IFN(v_mask_store)(TYPE *p, MT m, VT v)
{
    TYPE t[DW_VL];
    IFN(v_store)(t, v);
    for (int l = m.lo; l < m.hi; l++)
        p[l] = t[l];
}
ISA_FN VT IFN(v_evens)(VT a, VT b)
{
    VT r = {0};
    for (int l = 0; l < DW_VL / 2; l++) {
        DW_LANE(r, l) = DW_LANE(a, 2 * l);
        DW_LANE(r, DW_VL / 2 + l) = DW_LANE(b, 2 * l);
    }
    return r;
}
ISA_FN VT IFN(v_odds)(VT a, VT b)
{
    VT r = {0};
    for (int l = 0; l < DW_VL / 2; l++) {
        DW_LANE(r, l) = DW_LANE(a, 2 * l + 1);
        DW_LANE(r, DW_VL / 2 + l) = DW_LANE(b, 2 * l + 1);
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
#  undef DW_LANE
#endif

/* Pins a loaded vector in a register: without it the compiler folds the
   same (often misaligned) load into every FMA that uses it, loading it
   once per output row instead of once. */
#if DW_ISA != DW_ISA_GENERIC
#  define V_PIN(v) __asm__("" : "+v"(v))
#else
#  define V_PIN(v) ((void)0)
#endif

/* DW_NARROW: the 256-bit AVX-512 path, which only runs rows of at most one
   vector, so every chunk takes the masked kernel */
#define DW_NARROW (DW_ISA == DW_ISA_AVX512Y)
/* streaming stores: only where one vector is one cache line */
#define DW_STREAMS (DW_ISA == DW_ISA_AVX512)
/* whether a filter of n taps stays in registers (else each tap is
   broadcast from memory where it is used) */
#define DW_TAPS_IN_REGS(n) ((n) <= 9 || DW_ISA == DW_ISA_AVX2)
/* vector registers of the path */
#define DW_REGS (DW_ISA == DW_ISA_AVX512 || DW_ISA == DW_ISA_AVX512Y ? 32 : 16)
/* DW_S1_ALIGN: at stride 1, filters of 5 and 7 taps a row load two
   vectors of each input row per chunk and make the other taps' vectors
   with valign (AVX-512): most of the loads of the taps would cross a cache
   line.  3x3 does so only in the border chunks of rows of at most two
   vectors (MASKED == 2: dw_k3s1n), where two masked loads replace three:
   float32 rows of 20 and 28, float64 of 14, one thread, 4 to 7 % faster.
   Its inner chunks and the chunks of wider rows keep their three loads
   (with valign, 28 x 112: 4 % slower). */
#define DW_S1_ALIGN (DW_ISA == DW_ISA_AVX512)
#define DW_S1_ALIGN_OK(KW, MASKED) (DW_S1_ALIGN && ((KW) >= 5 || (MASKED) == 2) && (KW) - 1 <= DW_VL)
/* output rows per group of the specialised kernels (spec_plane): 7 for 3x3
   stride 1 (7 divides the 7, 14, ..., 112 rows of common layers; 14
   accumulators and 9 taps fit 32 registers), else 4 */
#define DW_SPEC_ROWS(KH, S) ((KH) == 3 && (S) == 1 && DW_REGS >= 32 ? 7 : 4)

#define V_SET1 IFN(v_set1)
#define V_LOAD IFN(v_load)
#define V_STORE IFN(v_store)
#define V_FMA IFN(v_fma)
#define V_ADD IFN(v_add)
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

/* The vector at column col of row, zero in the lanes outside m (as made by
   m_range for that column: the lanes outside m are never read). */
ISA_FN VT IFN(v_load_mask)(const TYPE *row, int64_t col, MT m)
{
#if DW_ISA == DW_ISA_GENERIC
    TYPE t[DW_VL];
    for (int l = 0; l < DW_VL; l++)
        t[l] = l >= m.lo && l < m.hi ? row[col + l] : (TYPE)0;
    return IFN(v_load)(t);
#else
    /* the address of lane 0 may lie outside the row: computed on integers */
    const TYPE *p = (const TYPE *)((uintptr_t)row + (uintptr_t)col * sizeof(TYPE));
    return IFN(v_maskz_load)(m, p);
#endif
}

/* The vector at column col of row (n elements), zero outside the row. */
ISA_FN VT IFN(v_load_edge)(const TYPE *row, int64_t col, int64_t n)
{
#if DW_ISA == DW_ISA_GENERIC
    /* lane by lane only where the vector leaves the row */
    if (col >= 0 && col + DW_VL <= n)
        return V_LOAD(row + col);
#endif
    return IFN(v_load_mask)(row, col, IFN(m_range)(col, n));
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

/* *p in every lane, read where it is used: the empty asm hides that the
   same tap was loaded before, so the load is not hoisted into a register. */
ISA_FN VT IFN(v_bcast)(const TYPE *p)
{
#if DW_ISA != DW_ISA_GENERIC
    __asm__("" : "+r"(p));
#endif
    return V_SET1(*p);
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

#if DW_ISA != DW_ISA_GENERIC
/* Asks for the cache lines of [p, p + bytes) (into the second-level
   cache): the planes a task reaches next, while it computes this one. */
ISA_FN void IFN(pf_range)(const void *p, int64_t bytes)
{
    const uintptr_t end = (uintptr_t)p + (uintptr_t)bytes;
    for (uintptr_t a = (uintptr_t)p & ~(uintptr_t)63; a < end; a += 64)
        _mm_prefetch((const char *)a, _MM_HINT_T1);
}

/* The same into the first-level cache (the narrow-plane kernels). */
ISA_FN void IFN(pf_range_l1)(const void *p, int64_t bytes)
{
    const uintptr_t end = (uintptr_t)p + (uintptr_t)bytes;
    for (uintptr_t a = (uintptr_t)p & ~(uintptr_t)63; a < end; a += 64)
        _mm_prefetch((const char *)a, _MM_HINT_T0);
}
#endif

/* ---- specialised kernels: KxK filter, stride S (1 or 2) ----------------

   (the portable path runs every shape through the general kernel: fully
   unrolled, its fixed-length arrays would be large and slow to compile) */
#if DW_ISA != DW_ISA_GENERIC

/* DW_CHAINS(S): independent accumulators per output row (a 512-bit FMA
   issues once a cycle here, a 256-bit one twice).  DW_S2_ALIGN: stride 2
   loads each input vector once and makes the shifted taps with valign
   (AVX-512 only; the lanes shifted in must fit in one vector). */
#if DW_ISA == DW_ISA_AVX512
#  define DW_CHAINS(S) ((S) == 1 ? 2 : 1)
#  define DW_S2_ALIGN 1
#elif DW_ISA == DW_ISA_AVX512Y
#  define DW_CHAINS(S) 2
#  define DW_S2_ALIGN 1
#else
#  define DW_CHAINS(S) 2
#  define DW_S2_ALIGN 0
#endif
#define DW_S2_ALIGN_OK(KW) (DW_S2_ALIGN && (KW) - 2 <= DW_VL)

/* The load masks of the border chunks, computed once per task: for chunk
   ci, mask t covers the vector of tap t (S == 1) or, for S == 2, the
   vectors at c0 + t - t % 2 + (t % 2) * VL that give taps t - t % 2 and
   t - t % 2 + 1 (AVX2), or the vectors A, B, C at c0, c0 + VL, c0 + 2 VL
   (AVX-512, C only its first KW - 2 lanes).  Slots 0..2 hold the first
   three chunks, 3..5 the last three; chunks in between are interior unless
   the padding is wider than two vectors, and then get their masks computed
   on the spot. */
#define DW_MSLOTS 3
/* spec_group: every chunk takes the border path (ORed into its MB) */
#define DW_BORDERS_ONLY 4
typedef struct IFN(dw_mtab) {
    int64_t nchunks, ilo, ihi;   /* chunks [ilo, ihi) read inside the row */
    MT m[2 * DW_MSLOTS][DW_KMAX + 1];
    MT inner[3];                 /* AVX-512, stride 2: interior masks */
} IFN(dw_mtab);

ISA_FN void IFN(chunk_masks)(MT *mk, int64_t c0, int64_t in_w, int KW, int S, int64_t dil,
                             const int MB)
{
    /* MB: the MASKED mode of the chunk (mk[KW] only where it shifts) */
    (void)MB;
    if (S == 1) {
        for (int t = 0; t < KW; t++)
            mk[t] = IFN(m_range)(c0 + t * dil, in_w);
#if DW_S1_ALIGN
        /* the second vector of the shifted taps: its first KW - 1 lanes */
        if (DW_S1_ALIGN_OK(KW, MB) && dil == 1)
            mk[KW] = IFN(m_range)(c0 + DW_VL, c0 + DW_VL + KW - 1 < in_w ? c0 + DW_VL + KW - 1 : in_w);
#endif
    } else if (DW_S2_ALIGN_OK(KW)) {
        for (int t = 0; t < 3; t++) {
            /* C: lanes past KW - 2 are not needed */
            int64_t n = t < 2 ? in_w : c0 + 2 * DW_VL + KW - 2 < in_w ? c0 + 2 * DW_VL + KW - 2 : in_w;
            mk[t] = IFN(m_range)(c0 + t * DW_VL, n);
        }
    } else {
        for (int t = 0; t <= KW; t++)
            mk[t] = IFN(m_range)(c0 + t - t % 2 + (t % 2) * DW_VL, in_w);
    }
}

static ISA_ATTR void IFN(mtab_init)(IFN(dw_mtab) *mt, const dw_geom *g, int KW, int S,
                                    int64_t dil)
{
    const int64_t out_w = g->out_w, in_w = g->in_w, pw = g->pw;
    /* columns read by an unmasked chunk, from its first tap's first lane */
    const int64_t span = S == 1       ? (KW - 1) * dil + DW_VL
                         : DW_S2_ALIGN_OK(KW) ? 2 * DW_VL + KW - 2
                                       : 2 * ((KW - 1) / 2) + 2 * DW_VL;
    const int64_t step = (int64_t)S * DW_VL;
    mt->nchunks = (out_w + DW_VL - 1) / DW_VL;
    /* first chunk with c0 >= 0, one past the last full chunk in range */
    mt->ilo = (pw + step - 1) / step;
    int64_t last = in_w + pw - span;   /* largest c0 + pw allowed */
    mt->ihi = last < 0 ? 0 : last / step + 1;
    if (mt->ihi > out_w / DW_VL)
        mt->ihi = out_w / DW_VL;
    mt->inner[0] = mt->inner[1] = IFN(m_lanes)(0, DW_VL);
    mt->inner[2] = IFN(m_lanes)(0, KW - 2 > 0 ? KW - 2 : 0);
    for (int sl = 0; sl < 2 * DW_MSLOTS; sl++) {
        const int64_t ci = sl < DW_MSLOTS ? sl : mt->nchunks - 1 - (sl - DW_MSLOTS);
        if (ci >= 0 && ci < mt->nchunks)
            IFN(chunk_masks)(mt->m[sl], ci * step - pw, in_w, KW, S, dil, 2);
    }
}

/* spec_chunk4 / spec_chunk7: one vector chunk of R <= 4 / R <= 7 rows (the
   accumulator arrays sized to fit, which the compiler keeps in registers
   better), and spec_chunk choosing between them. */
#define DW_ACC_ROWS 4
#define DW_CHUNK_FN IFN(spec_chunk4)
#include "depthwise_chunk.template.h"
#undef DW_ACC_ROWS
#undef DW_CHUNK_FN
#define DW_ACC_ROWS 7
#define DW_CHUNK_FN IFN(spec_chunk7)
#include "depthwise_chunk.template.h"
#undef DW_ACC_ROWS
#undef DW_CHUNK_FN

#if DW_S1_ALIGN
/* 7x7, stride 1, undilated: R <= 4 rows of one chunk with the taps column
   by column, each tap broadcast once into a register for the R rows (not
   at each of its R uses), each input row's vector for the column shifted
   out of its two loads.  Even and odd kh on two chains, as in spec_chunk;
   four chains spill (15 to 20 % slower).  Its own function per R and
   MASKED, with registers of its own (inside spec_chunk, it spilled and was
   slower than the row order).  One thread, 16 planes, alternated with the
   row order: float32 56x56 29.7 -> 28.4 us, 28x28 16.6 -> 15.8 us, float64
   56x56 49.3 -> 46.6 us; batch 8, 96 channels of 56x56, 2 threads: 730 ->
   697 us. */
ISA_FN void IFN(k7_body)(const TYPE *const *xr, const TYPE *w, VT bv, int first, int stream,
                         const MT *mk, TYPE *y, int64_t ys, int64_t ow0, int64_t c0,
                         int64_t nst, const int R, const int MASKED)
{
    const int K = 7, NI = R - 1 + K;
    VT acc[2][4];
    DW_UNROLL
    for (int r = 0; r < R; r++) {
        if (first)
            acc[0][r] = bv;
        else if (MASKED)
            acc[0][r] = IFN(v_load_first)(y + r * ys + ow0, nst);
        else
            acc[0][r] = V_LOAD(y + r * ys + ow0);
        acc[1][r] = V_SET1((TYPE)0);
    }
    DW_UNROLL
    for (int kw = 0; kw < K; kw++) {
        VT xs[4 + 6];
        DW_UNROLL
        for (int i = 0; i < NI; i++) {
            const TYPE *row = xr[i];
            VT xp = MASKED ? IFN(v_load_mask)(row, c0, mk[0]) : V_LOAD(row + c0);
            if (kw > 0) {
                VT xq = IFN(v_load_mask)(row, c0 + DW_VL,
                                         MASKED ? mk[K] : IFN(m_lanes)(0, K - 1));
                xp = IFN(v_alignr)(xq, xp, kw);
            }
            xs[i] = xp;
            V_PIN(xs[i]);
        }
        DW_UNROLL
        for (int kh = 0; kh < K; kh++) {
            VT wk = IFN(v_bcast)(w + kh * K + kw);
            V_PIN(wk);
            DW_UNROLL
            for (int r = 0; r < R; r++)
                acc[kh & 1][r] = V_FMA(wk, xs[r + kh], acc[kh & 1][r]);
        }
    }
    DW_UNROLL
    for (int r = 0; r < R; r++) {
        const VT sum = V_ADD(acc[0][r], acc[1][r]);
        TYPE *yv = y + r * ys + ow0;
        if (MASKED)
            IFN(v_store_first)(yv, sum, nst);
        else if (DW_STREAMS && stream && ((uintptr_t)yv & 63) == 0)
            IFN(v_stream)(yv, sum);
        else
            V_STORE(yv, sum);
    }
}
#  define DW_K7_FN(R, M)                                                       \
    static ISA_ATTR DW_NOINLINE void IFN(k7_r##R##m##M)(                       \
        const TYPE *const *xr, const TYPE *w, VT bv, int first, int stream, const MT *mk, \
        TYPE *y, int64_t ys, int64_t ow0, int64_t c0, int64_t nst)            \
    {                                                                          \
        IFN(k7_body)(xr, w, bv, first, stream, mk, y, ys, ow0, c0, nst, R, M); \
    }
DW_K7_FN(1, 0)
DW_K7_FN(2, 0)
DW_K7_FN(3, 0)
DW_K7_FN(4, 0)
DW_K7_FN(1, 1)
DW_K7_FN(2, 1)
DW_K7_FN(3, 1)
DW_K7_FN(4, 1)
#  undef DW_K7_FN
#  define DW_K7_CALL(R, M) IFN(k7_r##R##m##M)(xr, w, bv, first, stream, mk, y, ys, ow0, c0, nst)
#endif

ISA_FN void IFN(spec_chunk)(const TYPE *const *xr, const VT *wv, const TYPE *w, VT bv,
                            int first, int stream, const MT *mk, TYPE *y, int64_t ys,
                            int64_t ow0, int64_t c0, int64_t nst, int64_t dil,
                            const int KH, const int KW, const int S, const int R,
                            const int MASKED)
{
#if DW_S1_ALIGN
    if (KH == 7 && KW == 7 && S == 1 && dil == 1 && MASKED != 2) {
        if (R == 4)
            MASKED ? DW_K7_CALL(4, 1) : DW_K7_CALL(4, 0);
        else if (R == 3)
            MASKED ? DW_K7_CALL(3, 1) : DW_K7_CALL(3, 0);
        else if (R == 2)
            MASKED ? DW_K7_CALL(2, 1) : DW_K7_CALL(2, 0);
        else
            MASKED ? DW_K7_CALL(1, 1) : DW_K7_CALL(1, 0);
        return;
    }
#endif
    if (R <= 4)
        IFN(spec_chunk4)(xr, wv, w, bv, first, stream, mk, y, ys, ow0, c0, nst, dil, KH, KW,
                         S, R, MASKED);
    else
        IFN(spec_chunk7)(xr, wv, w, bv, first, stream, mk, y, ys, ow0, c0, nst, dil, KH, KW,
                         S, R, MASKED);
}

/* R output rows oh, oh + dil, ... (stored from y) across the whole width;
   with dilation dil (stride 1) they read every dil-th input row, so they
   share input rows as the rows of an undilated filter do.  Before each
   chunk, asks for the next a->pfstep input and a->pfystep output lines of
   the ranges in *pf (into the second-level cache), and moves them on.  MB:
   the MASKED mode of the border chunks (1 or 2), plus DW_BORDERS_ONLY when
   every chunk is to take the border path. */
ISA_FN void IFN(spec_group)(const DW_ARGS *a, const IFN(dw_mtab) *mt, const VT *wv, VT bv,
                            int64_t oh, TYPE *y, int64_t dil, const int KH, const int KW,
                            const int S, const int R, const int MB, dw_pf *pf)
{
    const dw_geom *g = a->g;
    const int64_t in_w = g->in_w, in_h = g->in_h, out_w = g->out_w, pw = g->pw;
    const int64_t nch = mt->nchunks, ilo = mt->ilo, ihi = mt->ihi;
    const int64_t ys = dil * out_w;
    const TYPE *xr[DW_NI_MAX];
    const int64_t top = oh * S - g->ph;
    if (top >= 0 && top + ((R - 1) * S + KH - 1) * dil < in_h) {
        const TYPE *row = a->slice + top * in_w;
        DW_UNROLL
        for (int i = 0; i < (R - 1) * S + KH; i++)
            xr[i] = row + i * dil * in_w;
    } else {
        DW_UNROLL
        for (int i = 0; i < (R - 1) * S + KH; i++) {
            const int64_t ih = top + i * dil;
            xr[i] = ih >= 0 && ih < in_h ? a->slice + ih * in_w : a->zeros;
        }
    }
    for (int64_t ci = 0; ci < nch; ci++) {
        const int64_t ow0 = ci * DW_VL, c0 = ow0 * S - pw;
        for (int64_t q = 0; q < a->pfstep && pf->x < pf->xend; q++, pf->x += 64)
            _mm_prefetch((const char *)pf->x, _MM_HINT_T1);
        for (int64_t q = 0; q < a->pfystep && pf->y < pf->yend; q++, pf->y += 64)
            _mm_prefetch((const char *)pf->y, _MM_HINT_T1);
        if (!DW_NARROW && !(MB & DW_BORDERS_ONLY) && ci >= ilo && ci < ihi) {
            IFN(spec_chunk)(xr, wv, a->w, bv, a->first, a->stream, mt->inner, y, ys, ow0, c0,
                            DW_VL, dil, KH, KW, S, R, 0);
        } else {
            const int64_t nst = out_w - ow0 < DW_VL ? out_w - ow0 : DW_VL;
            MT own[DW_KMAX + 1];
            const MT *mk;
            if (ci < DW_MSLOTS) {
                mk = mt->m[ci];
            } else if (nch - 1 - ci < DW_MSLOTS) {
                mk = mt->m[DW_MSLOTS + (nch - 1 - ci)];
            } else {
                IFN(chunk_masks)(own, c0, in_w, KW, S, dil, MB & ~DW_BORDERS_ONLY);
                mk = own;
            }
            IFN(spec_chunk)(xr, wv, a->w, bv, a->first, 0, mk, y, ys, ow0, c0, nst, dil, KH,
                            KW, S, R, MB & ~DW_BORDERS_ONLY);
        }
    }
}

/* Output rows [oh0, oh1) of one channel, one filter depth slice; with
   dilation dil > 1, phase by phase (rows oh0 + p, oh0 + p + dil, ...). */
ISA_FN void IFN(spec_plane)(const DW_ARGS *a, const int KH, const int KW, const int S,
                            const int64_t dil, const int MB)
{
    const IFN(dw_mtab) *mt = (const IFN(dw_mtab) *)a->masks;
    const int64_t out_w = a->g->out_w, oh1 = a->oh1;
    /* a local copy (the stores into the output could alias *a->pf for all
       the compiler knows), written back for the next pass */
    dw_pf pf = *a->pf;
    VT wv[DW_KMAX * DW_KMAX];
    DW_UNROLL
    for (int t = 0; t < KH * KW; t++)
        wv[t] = DW_TAPS_IN_REGS(KH * KW) || S == 2 ? V_SET1(a->w[t]) : V_SET1((TYPE)0);
    const VT bv = V_SET1(a->bias);
    for (int64_t p = 0; p < dil && a->oh0 + p < oh1; p++) {
        int64_t oh = a->oh0 + p;
        TYPE *y = a->y + p * out_w;
        if (DW_SPEC_ROWS(KH, S) == 7) {
            for (; oh + 6 * dil < oh1; oh += 7 * dil, y += 7 * dil * out_w)
                IFN(spec_group)(a, mt, wv, bv, oh, y, dil, KH, KW, S, 7, MB, &pf);
        }
        for (; oh + 3 * dil < oh1; oh += 4 * dil, y += 4 * dil * out_w)
            IFN(spec_group)(a, mt, wv, bv, oh, y, dil, KH, KW, S, 4, MB, &pf);
        switch ((oh1 - oh + dil - 1) / dil) {
        case 3:
            IFN(spec_group)(a, mt, wv, bv, oh, y, dil, KH, KW, S, 3, MB, &pf);
            break;
        case 2:
            IFN(spec_group)(a, mt, wv, bv, oh, y, dil, KH, KW, S, 2, MB, &pf);
            break;
        case 1:
            IFN(spec_group)(a, mt, wv, bv, oh, y, dil, KH, KW, S, 1, MB, &pf);
            break;
        default:
            break;
        }
    }
    *a->pf = pf;
}

#define DW_DEF_SPEC(NAME, K, S) \
    static ISA_ATTR void IFN(NAME)(const DW_ARGS *a) { IFN(spec_plane)(a, K, K, S, 1, 1); }
DW_DEF_SPEC(dw_k3s1, 3, 1)
DW_DEF_SPEC(dw_k3s2, 3, 2)
DW_DEF_SPEC(dw_k5s1, 5, 1)
DW_DEF_SPEC(dw_k5s2, 5, 2)
DW_DEF_SPEC(dw_k7s1, 7, 1)
DW_DEF_SPEC(dw_k7s2, 7, 2)
#undef DW_DEF_SPEC

/* 3x3, stride 1, the same dilation > 1 in height and width */
static ISA_ATTR void IFN(dw_k3s1d)(const DW_ARGS *a) { IFN(spec_plane)(a, 3, 3, 1, a->g->dh, 1); }

#if DW_S1_ALIGN
/* Stride 1 on rows of at most two vectors, where every chunk is a border
   chunk (dw_task): kernels of their own, without the inner chunks' code
   (choosing inside dw_k3s1 changed the code of its inner chunks, 3 to 6 %
   slower on wider rows).  3x3 loads two vectors a row and shifts them
   with valign.  One thread, warm, 64 planes: float32 3x3 on 28x28 12.0 ->
   11.0 us, 28x20 11.6 -> 11.1, 5x5 on 28x28 19.9 -> 18.3; float64 3x3 on
   14x14 6.87 -> 6.49, 5x5 10.9 -> 10.4.  (7x7 on 28x28 was 3 % slower.) */
static ISA_ATTR void IFN(dw_k3s1n)(const DW_ARGS *a)
{
    IFN(spec_plane)(a, 3, 3, 1, 1, 2 | DW_BORDERS_ONLY);
}
static ISA_ATTR void IFN(dw_k5s1n)(const DW_ARGS *a)
{
    IFN(spec_plane)(a, 5, 5, 1, 1, 1 | DW_BORDERS_ONLY);
}
#endif

/* in the order of dw_specs */
static void (*const IFN(dw_spec_table)[DW_NSPECS])(const DW_ARGS *) = {
    IFN(dw_k3s1), IFN(dw_k3s2), IFN(dw_k5s1), IFN(dw_k5s2), IFN(dw_k7s1), IFN(dw_k7s2),
    IFN(dw_k3s1d),
};
#  define DW_HAS_SPECS 1
#else
#  define DW_HAS_SPECS 0
#endif /* DW_ISA != DW_ISA_GENERIC */

/* ---- the general kernel: any filter, stride, dilation; rows by rows ---- */

/* v_load_edge with its mask m_range(col, n) already made (the rows of a
   pass share the masks of their columns). */
ISA_FN VT IFN(v_load_edge_m)(const TYPE *row, int64_t col, int64_t n, MT m)
{
#if DW_ISA == DW_ISA_GENERIC
    if (col >= 0 && col + DW_VL <= n)
        return V_LOAD(row + col);
#else
    (void)n;
#endif
    return IFN(v_load_mask)(row, col, m);
}

/* The masks of the vectors at columns cc and cc + DW_VL of rows of in_w
   elements that gen_x loads (all lanes where not MASKED; unused with SC
   3). */
ISA_FN void IFN(gen_masks)(MT *m, int64_t cc, int64_t in_w, const int SC, const int MASKED)
{
    m[0] = MASKED && SC != 3 ? IFN(m_range)(cc, in_w) : IFN(m_lanes)(0, DW_VL);
    m[1] = MASKED && SC == 2 ? IFN(m_range)(cc + DW_VL, in_w) : m[0];
}

/* The vector of input row `row` at column cc for width stride SC (1, 2,
   or sw: 3), with the masks of gen_masks. */
ISA_FN VT IFN(gen_x)(const TYPE *row, int64_t cc, int64_t in_w, int64_t sw, const MT *m,
                     const int SC, const int MASKED)
{
    if (SC == 3)
        return IFN(v_load_strided)(row, cc, sw, in_w);
    if (SC == 1)
        return MASKED ? IFN(v_load_edge_m)(row, cc, in_w, m[0]) : V_LOAD(row + cc);
    const VT va = MASKED ? IFN(v_load_edge_m)(row, cc, in_w, m[0]) : V_LOAD(row + cc);
    const VT vb = MASKED ? IFN(v_load_edge_m)(row, cc + DW_VL, in_w, m[1])
                         : V_LOAD(row + cc + DW_VL);
    return V_EVENS(va, vb);
}

/* The taps of one tap row (weights wk, kw_n of them) for NR output rows:
   acc[i] of the row whose input row is at row0 + i * rstep, its first
   vector's first tap at column c0; width stride SC 1, 2 or other (3). */
ISA_FN void IFN(gen_taps)(VT (*acc)[DW_CMAX], const TYPE *row0, int64_t rstep, const TYPE *wk,
                          int64_t kw_n, int64_t c0, const dw_geom *g, const int C,
                          const int NR, const int SC, const int MASKED)
{
    const int64_t in_w = g->in_w, dw = g->dw, sw = SC == 3 ? g->sw : SC;
#if DW_ISA == DW_ISA_AVX512 && !DW_DOUBLE
    /* float32 (AVX-512), width stride 1 without dilation, 3 to 17 taps a
       row: each row's C + 1 vectors loaded once (the masks made once for
       all the rows), and tap kw's vectors permuted out of two neighbours,
       where the loop below loads (and masks) a vector per FMA.  Same taps
       in the same order.  Two threads, warm, 16 x 56x56: batch 8 1x11 69
       -> 61 us, 1x7 53 -> 48 us, 3x5 94 -> 80 us, 4x4 105 -> 91 us; 1x11
       at batch 1, one thread, 16.5 -> 14.7 us.  Two taps (2x2 on 8 x
       112x112: 82 -> 89 us) and float64 (1x3 85 -> 92 us, 3x5 and 4x4
       unchanged) stay on the loads. */
    if (SC == 1 && dw == 1 && kw_n >= 3 && kw_n - 1 <= DW_VL) {
        MT m[DW_CMAX + 1];
        DW_UNROLL
        for (int c = 0; c <= C; c++)
            m[c] = MASKED || c == C ? IFN(m_range)(c0 + c * DW_VL, in_w) : IFN(m_lanes)(0, DW_VL);
        DW_UNROLL
        for (int r = 0; r < NR; r++) {
            const TYPE *row = row0 + r * rstep;
            VT xv[DW_CMAX + 1];
            DW_UNROLL
            for (int c = 0; c <= C; c++)
                xv[c] = MASKED || c == C ? IFN(v_load_mask)(row, c0 + c * DW_VL, m[c])
                                         : V_LOAD(row + c0 + c * DW_VL);
            for (int64_t kw = 0; kw < kw_n; kw++) {
                const VT wv = V_SET1(wk[kw]);
                DW_UNROLL
                for (int c = 0; c < C; c++)
                    acc[r][c] = V_FMA(wv, IFN(v_shift2)(xv[c], xv[c + 1], (int)kw), acc[r][c]);
            }
        }
        return;
    }
#endif
    for (int64_t kw = 0; kw < kw_n; kw++) {
        const VT wv = V_SET1(wk[kw]);
        const int64_t col = c0 + kw * dw;
        DW_UNROLL
        for (int c = 0; c < C; c++) {
            const int64_t cc = col + c * DW_VL * sw;
            MT m[2];
            IFN(gen_masks)(m, cc, in_w, SC, MASKED);
            DW_UNROLL
            for (int r = 0; r < NR; r++) {
                const VT xv = IFN(gen_x)(row0 + r * rstep, cc, in_w, sw, m, SC, MASKED);
                acc[r][c] = V_FMA(wv, xv, acc[r][c]);
            }
        }
    }
}

/* The accumulators of a general-kernel pass, R rows x C vectors from
   column ow0 (stored at y, the next row out_w on): the bias, or the
   output so far (depth slices added by an earlier call); and their
   store.  MASKED: 0 whole vectors, 1 every vector up to out_w, 2 the
   last one only. */
ISA_FN void IFN(blk_load)(VT (*acc)[DW_CMAX], const DW_ARGS *a, VT bv, const TYPE *y,
                          int64_t ow0, int64_t out_w, const int C, const int R, const int MASKED)
{
    DW_UNROLL
    for (int r = 0; r < R; r++) {
        DW_UNROLL
        for (int c = 0; c < C; c++) {
            const int64_t left = out_w - ow0 - c * DW_VL;
            const TYPE *yr = y + r * out_w + c * DW_VL;
            if (a->first)
                acc[r][c] = bv;
            else if (MASKED == 1 || (MASKED && c == C - 1))
                acc[r][c] = IFN(v_load_first)(yr, left < DW_VL ? left : DW_VL);
            else
                acc[r][c] = V_LOAD(yr);
        }
    }
}

ISA_FN void IFN(blk_store)(VT (*acc)[DW_CMAX], TYPE *y, int64_t ow0, int64_t out_w,
                           const int C, const int R, const int MASKED)
{
    DW_UNROLL
    for (int r = 0; r < R; r++) {
        DW_UNROLL
        for (int c = 0; c < C; c++) {
            const int64_t left = out_w - ow0 - c * DW_VL;
            TYPE *yr = y + r * out_w + c * DW_VL;
            if (MASKED == 1 || (MASKED && c == C - 1))
                IFN(v_store_first)(yr, acc[r][c], left < DW_VL ? left : DW_VL);
            else
                V_STORE(yr, acc[r][c]);
        }
    }
}

/* Output rows a pass of the general kernel with blocks of C vectors, at
   width strides 1 and 2: R rows x C vectors of accumulators, each its own
   chain.  One row a pass, a block of four vectors waits on the latency of
   its four chains: 11x1 on 16 x 56x56 (rows of 3.5 vectors) ran at 39
   GFLOP/s.  Other strides take one row a pass: their gathers, not the
   chains, bound them. */
#define DW_GEN_ROWS(C) (DW_REGS >= 32 ? ((C) > 1 ? 4 : 8) : ((C) > 1 ? 2 : 4))
#define DW_GEN_RMAX 8
#if DW_CMAX != 4
#  error "gen_rows' instances (below) are for blocks of 1 and 4 vectors"
#endif

/* C vectors from column ow0 of the R output rows from oh (row oh stored
   at y, the next out_w apart), every tap of the slice.  SC: width stride
   1, 2, or other (3).  MASKED: the block reads outside the row or ends
   past out_w.  Each output's taps in (slice, kh, kw) order, whatever R:
   the same sums.  A tap row that only some of the rows read inside the
   input (the top and bottom passes) takes those rows one at a time, their
   accumulators through memory. */
ISA_FN void IFN(gen_rows)(const DW_ARGS *a, VT bv, int64_t oh, TYPE *y, int64_t ow0,
                          const int C, const int R, const int SC, const int MASKED)
{
    const dw_geom *g = a->g;
    const int64_t in_w = g->in_w, in_h = g->in_h, out_w = g->out_w;
    const int64_t sw = SC == 3 ? g->sw : SC, sh = g->sh;
    const int64_t kh_n = g->kh, kw_n = g->kw;
    const int64_t c0 = ow0 * sw - g->pw;
    VT acc[DW_GEN_RMAX][DW_CMAX];

    y += ow0;
    IFN(blk_load)(acc, a, bv, y, ow0, out_w, C, R, MASKED);

    for (int64_t sl = 0; sl < a->nsl; sl++)
    for (int64_t kh = 0; kh < kh_n; kh++) {
        /* row r of the pass reads input row ih0 + r * sh: all inside the
           input, or some; [rlo, rhi) the rows inside */
        const int64_t ih0 = oh * sh - g->ph + kh * g->dh;
        const TYPE *slice = a->slice + sl * a->sstep;
        const TYPE *wk = a->w + (sl * kh_n + kh) * kw_n;
        if (ih0 >= 0 && ih0 + (R - 1) * sh < in_h) {
            IFN(gen_taps)(acc, slice + ih0 * in_w, sh * in_w, wk, kw_n, c0, g, C, R, SC,
                          MASKED);
        } else if (R > 1) {
            const int64_t lo = ih0 >= 0 ? 0 : (-ih0 + sh - 1) / sh;
            const int64_t hi = ih0 >= in_h ? 0 : (in_h - ih0 + sh - 1) / sh;
            const int rlo = lo < R ? (int)lo : R, rhi = hi < R ? (int)hi : R;
            VT part[DW_GEN_RMAX][DW_CMAX];
            DW_UNROLL
            for (int r = 0; r < R; r++) {
                DW_UNROLL
                for (int c = 0; c < C; c++)
                    part[r][c] = acc[r][c];
            }
            for (int r = rlo; r < rhi; r++) {
                VT ar[1][DW_CMAX];
                DW_UNROLL
                for (int c = 0; c < C; c++)
                    ar[0][c] = part[r][c];
                IFN(gen_taps)(ar, slice + (ih0 + r * sh) * in_w, 0, wk, kw_n, c0, g, C, 1, SC,
                              MASKED);
                DW_UNROLL
                for (int c = 0; c < C; c++)
                    part[r][c] = ar[0][c];
            }
            DW_UNROLL
            for (int r = 0; r < R; r++) {
                DW_UNROLL
                for (int c = 0; c < C; c++)
                    acc[r][c] = part[r][c];
            }
        }
    }

    IFN(blk_store)(acc, y, ow0, out_w, C, R, MASKED);
}

/* gen_rows' instances, each a function of its own (inlined into one
   function per stride, they made the sanitizer build of this file run
   past CI's bound) */
#define DW_GEN_ROWS_FN(C, SC, M)                                                        \
    static ISA_ATTR DW_NOINLINE void IFN(gen_rows_##C##_##SC##_##M)(                    \
        const DW_ARGS *a, VT bv, int64_t oh, TYPE *y, int64_t ow0)                      \
    {                                                                                   \
        IFN(gen_rows)(a, bv, oh, y, ow0, C, DW_GEN_ROWS(C), SC, M);                     \
    }
DW_GEN_ROWS_FN(1, 1, 0) DW_GEN_ROWS_FN(1, 1, 1) DW_GEN_ROWS_FN(1, 2, 0) DW_GEN_ROWS_FN(1, 2, 1)
#if !DW_NARROW
DW_GEN_ROWS_FN(4, 1, 0) DW_GEN_ROWS_FN(4, 1, 1) DW_GEN_ROWS_FN(4, 2, 0) DW_GEN_ROWS_FN(4, 2, 1)
#endif
#undef DW_GEN_ROWS_FN

/* Columns [ow0, ow1) of the rows of the task in blocks of C vectors (the
   last maybe partial), each block plain or masked: DW_GEN_ROWS(C) rows a
   pass while that many remain (width stride 1 or 2), else one. */
ISA_FN void IFN(gen_region)(const DW_ARGS *a, VT bv, int64_t ow0, int64_t ow1, const int C,
                            const int SC)
{
    const dw_geom *g = a->g;
    const int64_t out_w = g->out_w, in_w = g->in_w;
    const int64_t sw = SC == 1 ? 1 : SC == 2 ? 2 : g->sw;
    const int64_t kspan = (g->kw - 1) * g->dw;
    const int64_t lspan = SC == 2 ? 2 * DW_VL : DW_VL;
    const int R = SC == 3 ? 1 : DW_GEN_ROWS(C);
    TYPE *y = a->y;
    for (int64_t oh = a->oh0; oh < a->oh1;) {
        const int rows = R > 1 && a->oh1 - oh >= R;
        for (int64_t ow = ow0; ow < ow1; ow += C * DW_VL) {
            const int64_t c0 = ow * sw - g->pw;
            const int plain = !DW_NARROW && ow + C * DW_VL <= out_w &&
                (SC == 3 || (c0 >= 0 && c0 + (C - 1) * DW_VL * sw + kspan + lspan <= in_w));
            if (rows && SC == 1 && C == 1)
                (plain ? IFN(gen_rows_1_1_0) : IFN(gen_rows_1_1_1))(a, bv, oh, y, ow);
            else if (rows && SC == 2 && C == 1)
                (plain ? IFN(gen_rows_1_2_0) : IFN(gen_rows_1_2_1))(a, bv, oh, y, ow);
#if !DW_NARROW
            else if (rows && SC == 1)
                (plain ? IFN(gen_rows_4_1_0) : IFN(gen_rows_4_1_1))(a, bv, oh, y, ow);
            else if (rows && SC == 2)
                (plain ? IFN(gen_rows_4_2_0) : IFN(gen_rows_4_2_1))(a, bv, oh, y, ow);
#endif
            else if (plain)
                IFN(gen_rows)(a, bv, oh, y, ow, C, 1, SC, 0);
            else
                IFN(gen_rows)(a, bv, oh, y, ow, C, 1, SC, 1);
        }
        oh += rows ? R : 1;
        y += (rows ? R : 1) * out_w;
    }
}


/* ---- the general kernel's vertical filters (one tap column, width
   stride 1) ----

   Every tap of a vector reads the same columns, so the masks of a block's
   vectors are made once for all its rows (gen_rows makes them tap by tap),
   and a pass walks the tap rows with one row address.  Each output's taps
   in (slice, kh) order, as gen_rows sums them: the same results. */

/* The vector at column col of row: masked (lanes m, zero elsewhere) or
   whole. */
ISA_FN VT IFN(vert_x)(const TYPE *row, int64_t col, int64_t in_w, MT m, const int MASKED)
{
    return MASKED ? IFN(v_load_edge_m)(row, col, in_w, m) : V_LOAD(row + col);
}

/* One tap (weight w) for the R rows of a pass: row r reads input row
   ih + r * sh of slice, vector c from column c0 + c * DW_VL (lanes m[c]
   where masked, as vert_rows' MASKED says).  TEST: rows outside the input
   are left out (else every row lies inside). */
ISA_FN void IFN(vert_tap)(VT (*acc)[DW_CMAX], const TYPE *slice, int64_t ih, TYPE w,
                          const MT *m, int64_t c0, const dw_geom *g, const int C, const int R,
                          const int MASKED, const int TEST)
{
    const int64_t in_w = g->in_w;
    const VT wv = V_SET1(w);
    DW_UNROLL
    for (int r = 0; r < R; r++) {
        const int64_t ir = ih + r * g->sh;
        if (TEST && (uint64_t)ir >= (uint64_t)g->in_h)
            continue;
        const TYPE *row = slice + ir * in_w;
        DW_UNROLL
        for (int c = 0; c < C; c++) {
            const VT xv = IFN(vert_x)(row, c0 + c * DW_VL, in_w, m[c],
                                      MASKED == 1 || (MASKED && c == C - 1));
            acc[r][c] = V_FMA(wv, xv, acc[r][c]);
        }
    }
}

/* C vectors from column ow0 of the R output rows from oh (row oh stored at
   y, the next out_w apart).  MASKED: 0 every vector whole, 1 every vector
   masked (vector c's input lanes m[c]), 2 only the last (the others lie
   inside the row).  Tap rows that some of the R rows read outside the
   input (at the top and bottom of the plane) test each row. */
ISA_FN void IFN(vert_rows)(const DW_ARGS *a, VT bv, int64_t oh, TYPE *y, int64_t ow0,
                           const MT *m, const int C, const int R, const int MASKED)
{
    const dw_geom *g = a->g;
    const int64_t in_h = g->in_h, out_w = g->out_w;
    const int64_t sh = g->sh, dh = g->dh, kh_n = g->kh;
    const int64_t c0 = ow0 - g->pw;
    /* row r reads input row ih0 + r * sh + kh * dh: all R rows inside the
       input for kh in [ka, kb) */
    const int64_t ih0 = oh * sh - g->ph;
    const int64_t last = in_h - ih0 - (R - 1) * sh;   /* kh * dh < last */
    int64_t ka = ih0 >= 0 ? 0 : (-ih0 + dh - 1) / dh;
    int64_t kb = last <= 0 ? 0 : (last + dh - 1) / dh;
    if (ka > kh_n)
        ka = kh_n;
    if (kb > kh_n)
        kb = kh_n;
    if (kb < ka)
        kb = ka;
    VT acc[DW_GEN_RMAX][DW_CMAX];

    y += ow0;
    IFN(blk_load)(acc, a, bv, y, ow0, out_w, C, R, MASKED);

    for (int64_t sl = 0; sl < a->nsl; sl++) {
        const TYPE *slice = a->slice + sl * a->sstep;
        const TYPE *wk = a->w + sl * kh_n;
        /* in kh order: the top tap rows, those inside for every row, the
           bottom ones */
        for (int64_t kh = 0; kh < ka; kh++)
            IFN(vert_tap)(acc, slice, ih0 + kh * dh, wk[kh], m, c0, g, C, R, MASKED, 1);
        for (int64_t kh = ka; kh < kb; kh++)
            IFN(vert_tap)(acc, slice, ih0 + kh * dh, wk[kh], m, c0, g, C, R, MASKED, 0);
        for (int64_t kh = kb; kh < kh_n; kh++)
            IFN(vert_tap)(acc, slice, ih0 + kh * dh, wk[kh], m, c0, g, C, R, MASKED, 1);
    }

    IFN(blk_store)(acc, y, ow0, out_w, C, R, MASKED);
}

/* vert_rows' instances: DW_GEN_ROWS(C) rows a pass, and one (the rows
   left over) */
#define DW_VERT_FN(C, RS, R, M)                                                         \
    static ISA_ATTR DW_NOINLINE void IFN(vert_rows_##C##_##RS##_##M)(                   \
        const DW_ARGS *a, VT bv, int64_t oh, TYPE *y, int64_t ow0, const MT *m)         \
    {                                                                                   \
        IFN(vert_rows)(a, bv, oh, y, ow0, m, C, R, M);                                  \
    }
DW_VERT_FN(1, n, DW_GEN_ROWS(1), 0) DW_VERT_FN(1, n, DW_GEN_ROWS(1), 1)
DW_VERT_FN(1, 1, 1, 0) DW_VERT_FN(1, 1, 1, 1)
#if !DW_NARROW
DW_VERT_FN(4, n, DW_GEN_ROWS(4), 0) DW_VERT_FN(4, n, DW_GEN_ROWS(4), 1)
DW_VERT_FN(4, n, DW_GEN_ROWS(4), 2)
DW_VERT_FN(4, 1, 1, 0) DW_VERT_FN(4, 1, 1, 1) DW_VERT_FN(4, 1, 1, 2)
#endif
#undef DW_VERT_FN

/* Columns [ow0, ow1) of the rows of the task in blocks of C vectors (the
   last maybe partial), a block's rows from top to bottom (its input
   columns stay in the first-level cache from one pass to the next). */
ISA_FN void IFN(vert_region)(const DW_ARGS *a, VT bv, int64_t ow0, int64_t ow1, const int C)
{
    const dw_geom *g = a->g;
    const int64_t out_w = g->out_w, in_w = g->in_w;
    const int R = DW_GEN_ROWS(C);
    for (int64_t ow = ow0; ow < ow1; ow += C * DW_VL) {
        const int64_t c0 = ow - g->pw;
        const int plain = !DW_NARROW && ow + C * DW_VL <= out_w && c0 >= 0 &&
                          c0 + C * DW_VL <= in_w;
        /* only the last vector of the block leaves the row (blocks of one
           vector: plain or masked) */
        const int lastm = !plain && C > 1 && ow + (C - 1) * DW_VL <= out_w && c0 >= 0 &&
                          c0 + (C - 1) * DW_VL <= in_w;
        (void)lastm;
        MT m[DW_CMAX];
        DW_UNROLL
        for (int c = 0; c < C; c++)
            m[c] = IFN(m_range)(c0 + c * DW_VL, in_w);
        TYPE *y = a->y;
        for (int64_t oh = a->oh0; oh < a->oh1;) {
            const int rows = a->oh1 - oh >= R;
            if (C == 1 && rows)
                (plain ? IFN(vert_rows_1_n_0) : IFN(vert_rows_1_n_1))(a, bv, oh, y, ow, m);
            else if (C == 1)
                (plain ? IFN(vert_rows_1_1_0) : IFN(vert_rows_1_1_1))(a, bv, oh, y, ow, m);
#if !DW_NARROW
            else if (rows)
                (plain ? IFN(vert_rows_4_n_0) : lastm ? IFN(vert_rows_4_n_2)
                                                      : IFN(vert_rows_4_n_1))(a, bv, oh, y, ow, m);
            else
                (plain ? IFN(vert_rows_4_1_0) : lastm ? IFN(vert_rows_4_1_2)
                                                      : IFN(vert_rows_4_1_1))(a, bv, oh, y, ow, m);
#endif
            oh += rows ? R : 1;
            y += (rows ? R : 1) * out_w;
        }
    }
}

/* ---- the general kernel's planes ---- */

/* Blocks of DW_CMAX vectors while that many (the last maybe partial)
   remain, then single vectors: gen_region's, or VERT vert_region's. */
ISA_FN void IFN(gen_plane)(const DW_ARGS *a, const int SC, const int VERT)
{
    const int64_t out_w = a->g->out_w;
    const VT bv = V_SET1(a->bias);
    int64_t wide = 0;
    if (!DW_NARROW)
        while (wide + (DW_CMAX - 1) * DW_VL < out_w)
            wide += DW_CMAX * DW_VL;
    if (wide > 0 && VERT)
        IFN(vert_region)(a, bv, 0, wide, DW_CMAX);
    else if (wide > 0)
        IFN(gen_region)(a, bv, 0, wide, DW_CMAX, SC);
    if (wide < out_w && VERT)
        IFN(vert_region)(a, bv, wide, out_w, 1);
    else if (wide < out_w)
        IFN(gen_region)(a, bv, wide, out_w, 1, SC);
}

static ISA_ATTR void IFN(dw_gen_s1)(const DW_ARGS *a) { IFN(gen_plane)(a, 1, 0); }
static ISA_ATTR void IFN(dw_gen_s2)(const DW_ARGS *a) { IFN(gen_plane)(a, 2, 0); }
static ISA_ATTR void IFN(dw_gen_sn)(const DW_ARGS *a) { IFN(gen_plane)(a, 3, 0); }
static ISA_ATTR void IFN(dw_gen_vert)(const DW_ARGS *a) { IFN(gen_plane)(a, 1, 1); }

/* ---- small planes: channels along the vectors ----------------------------

   DW_VL output channels at a time.  Their input planes are transposed into
   a tile of [rows][columns][DW_VL] elements whose padding is zeros, their
   filters into [taps][DW_VL]; each FMA then makes one output position of
   all DW_VL channels, with no masks and no idle lanes however narrow the
   rows are.  The output tile [positions][DW_VL] is transposed back into the
   planes.  The transposes go DW_VL x DW_VL elements at a time in registers,
   along the flattened planes (so a 7-wide plane still fills the vectors). */
#if DW_ISA == DW_ISA_AVX512 || DW_ISA == DW_ISA_AVX2
#  define DW_HAS_CB 1
#  define DW_CB_NB 8    /* output positions per register block */
#  define DW_CB_COPY 2  /* leftover positions moved without a transpose */
#  define DW_CB_KMAX 13 /* taps of a row held in registers (cb_slide) */
#  define DW_CB_KC 8    /* taps a pass of wider rows of taps (cb_block) */

/* Rows r[0..VL) <- the first cnt elements of src[l] (zeros after them). */
ISA_FN void IFN(cb_load_rows)(VT *r, const TYPE *const *src, int64_t off, int64_t cnt)
{
    if (cnt == DW_VL) {
        DW_UNROLL
        for (int l = 0; l < DW_VL; l++)
            r[l] = V_LOAD(src[l] + off);
    } else {
        DW_UNROLL
        for (int l = 0; l < DW_VL; l++)
            r[l] = IFN(v_load_first)(src[l] + off, cnt);
    }
}

/* The input tile of a band: input row ih0 + t at tile row t, element w of
   a row at tile column w + pw, for the rows of the band inside the planes
   src[l] (columns past the tile are not read by any tap and are left
   out). */
ISA_FN void IFN(cb_tile_in)(const dw_geom *g, const TYPE *const *src, TYPE *tin,
                            int64_t th, int64_t tw, int64_t ih0)
{
    const int64_t in_w = g->in_w;
    const int64_t r0 = ih0 > 0 ? ih0 : 0;
    const int64_t r1 = ih0 + th < g->in_h ? ih0 + th : g->in_h;
    const int64_t n = r1 * in_w;
    int64_t h = r0 - ih0, w = g->pw;   /* tile position of element p0 */
    for (int64_t p0 = r0 * in_w; p0 < n; p0 += DW_VL) {
        const int64_t cnt = n - p0 < DW_VL ? n - p0 : DW_VL;
        if (cnt <= DW_CB_COPY) {
            /* a last position or two (7x7 planes: 49 = 3 * 16 + 1):
               copied element by element, cheaper than a transpose */
            for (int64_t k = 0; k < cnt; k++) {
                if (w < tw) {
                    TYPE *t = tin + (h * tw + w) * DW_VL;
                    for (int l = 0; l < DW_VL; l++)
                        t[l] = src[l][p0 + k];
                }
                if (++w == in_w + g->pw) {
                    w = g->pw;
                    h++;
                }
            }
            continue;
        }
        VT r[DW_VL];
        IFN(cb_load_rows)(r, src, p0, cnt);
        IFN(v_transpose)(r);
        DW_UNROLL
        for (int k = 0; k < DW_VL; k++) {
            if (k < cnt) {
                if (w < tw)
                    V_STORE(tin + (h * tw + w) * DW_VL, r[k]);
                if (++w == in_w + g->pw) {
                    w = g->pw;
                    h++;
                }
            }
        }
    }
}

/* Zeros in the tile rows of a band (input rows ih0 ...) that lie in the
   height padding. */
ISA_FN void IFN(cb_tile_pad_rows)(const dw_geom *g, TYPE *tin, int64_t th, int64_t tw,
                                  int64_t ih0)
{
    const VT z = V_SET1((TYPE)0);
    for (int64_t t = 0; t < th; t++) {
        if (ih0 + t >= 0 && ih0 + t < g->in_h)
            continue;
        for (int64_t c = 0; c < tw; c++)
            V_STORE(tin + (t * tw + c) * DW_VL, z);
    }
}

/* Zeros in the tile columns that hold width padding, in every row. */
ISA_FN void IFN(cb_tile_border)(const dw_geom *g, TYPE *tin, int64_t th, int64_t tw)
{
    const VT z = V_SET1((TYPE)0);
    for (int64_t h = 0; h < th; h++)
        for (int64_t w = 0; w < tw; w++)
            if (w < g->pw || w >= g->pw + g->in_w)
                V_STORE(tin + (h * tw + w) * DW_VL, z);
}

/* The filters of the lanes (ws[l]: kvol taps each) as [taps][DW_VL]. */
ISA_FN void IFN(cb_pack_w)(const TYPE *const *ws, int64_t kvol, TYPE *wp)
{
    for (int64_t t0 = 0; t0 < kvol; t0 += DW_VL) {
        const int64_t cnt = kvol - t0 < DW_VL ? kvol - t0 : DW_VL;
        VT r[DW_VL];
        IFN(cb_load_rows)(r, ws, t0, cnt);
        IFN(v_transpose)(r);
        DW_UNROLL
        for (int k = 0; k < DW_VL; k++)
            if (k < cnt)
                V_STORE(wp + (t0 + k) * DW_VL, r[k]);
    }
}

/* The output tile back into the planes dst[l], l < nvalid. */
ISA_FN void IFN(cb_tile_out)(const TYPE *tout, int64_t n, TYPE *const *dst, int nvalid)
{
    for (int64_t p0 = 0; p0 < n; p0 += DW_VL) {
        const int64_t cnt = n - p0 < DW_VL ? n - p0 : DW_VL;
        if (cnt <= DW_CB_COPY) {
            for (int l = 0; l < nvalid; l++)
                for (int64_t k = 0; k < cnt; k++)
                    dst[l][p0 + k] = tout[(p0 + k) * DW_VL + l];
            continue;
        }
        VT r[DW_VL];
        DW_UNROLL
        for (int k = 0; k < DW_VL; k++)
            r[k] = k < cnt ? V_LOAD(tout + (p0 + k) * DW_VL) : V_SET1((TYPE)0);
        IFN(v_transpose)(r);
        DW_UNROLL
        for (int l = 0; l < DW_VL; l++) {
            if (l < nvalid) {
                if (cnt == DW_VL)
                    V_STORE(dst[l] + p0, r[l]);
                else
                    IFN(v_store_first)(dst[l] + p0, r[l], cnt);
            }
        }
    }
}

/* One row of K taps (wp: packed) over NB consecutive output positions at
   stride 1 without dilation, added into acc[0..NB): tile vector j (from
   tin, the first tap's input of the first position) is loaded once and
   multiplied by tap kw (kept in registers) into position j - kw, the taps
   of each position in ascending order. */
ISA_FN void IFN(cb_slide)(const TYPE *tin, const TYPE *wp, VT *acc, const int NB, const int K)
{
    VT wk[DW_CB_KMAX];
    DW_UNROLL
    for (int kw = 0; kw < K; kw++)
        wk[kw] = V_LOAD(wp + kw * DW_VL);
    DW_UNROLL
    for (int j = 0; j < NB + K - 1; j++) {
        const VT v = V_LOAD(tin + j * DW_VL);
        DW_UNROLL
        for (int kw = K - 1; kw >= 0; kw--) {
            const int b = j - kw;
            if (b >= 0 && b < NB)
                acc[b] = V_FMA(wk[kw], v, acc[b]);
        }
    }
}

/* NB output positions (oh, ow0 ...) of every lane, and with ROWS == 2 the
   NB below them (oh + 1, ...): bias, then the taps in (kh, kw) order, one
   FMA chain per position.  S1: width stride 1.  K > 0: also no dilation in
   width and K taps per row, known here: each input vector of a tile row is
   then loaded once and multiplied by the K taps of the row (kept in
   registers) into every position that uses it.  Two rows share each tap's
   loads and give twice the independent chains: one row of 7 positions
   under a 7x7 filter waited on its chains' latency.  Alternated with one
   row at a time, one thread: float32 7x7 on 14x14 8.58 -> 7.66 us (64
   planes), on 7x7 5.75 -> 5.39 us (128 planes), 5x5 on 20x20 10.1 ->
   8.8 us; batch 8, 2 threads: 384 x 14x14 7x7 191 -> 168 us, 768 x 7x7
   7x7 101 -> 90 us.  The sums are unchanged.
   lsk (rsk): the block starts (ends) its row and the layer is padded by
   K / 2 columns on either side, the output as wide as the input: the
   tile's first (last) K / 2 vectors of each row are padding columns,
   zeros, and are neither loaded nor multiplied (the family skips padding,
   as cb_plane skips the padding rows).  Batch 8, 2 threads, against
   multiplying them: float32 768 x 7x7 7x7 91 -> 78 us, 384 x 14x14 7x7
   174 -> 160 us, 1152 x 7x7 5x5 99 -> 90 us; float64 768 x 7x7 7x7 185
   -> 163 us (56x56 unchanged).
   K > 0 without S1 is width stride 2 (no dilation in width): tile vector
   j then feeds position (j - kw) / 2 through the taps kw of j's parity,
   so each is still loaded once, not once per tap, and each position still
   takes its taps in ascending order (bitwise the same sums).  Against a
   load per FMA, 2 threads, warm: float32 96 x 56x56 9x9 (MixNet) batch 8
   466 -> 398 us, batch 1 62 -> 53 us, float64 1050 -> 904 us; 144 x 20x20
   7x7 batch 8 55 -> 49 us; 672 x 14x14 5x5 94 -> 88 us (float64 176 ->
   164 us); 576 x 14x14 3x3 61 -> 58 us; AVX2 9x9 607 -> 540 us. */
ISA_FN void IFN(cb_block)(const dw_geom *g, const TYPE *tin, int64_t tw, const TYPE *wp,
                          VT bv, TYPE *tout, int64_t oh, int64_t ow0, int64_t kh0,
                          int64_t kh1, const int NB, const int S1, const int K, const int ROWS,
                          int lsk, int rsk)
{
    const int64_t sw = S1 ? 1 : g->sw;
    const int64_t kw_n = K > 0 ? K : g->kw;
    const int ST = S1 ? 1 : 2;   /* the width stride where K > 0 */
    /* strides and dilations are only multiplied where they move inside
       the tile: a stride of one output row or a dilation of one tap may be
       any value the gate accepts */
    const int64_t rstep = g->kh > 1 ? g->dh * tw * DW_VL : 0;
    const int64_t cstep = kw_n > 1 ? g->dw * DW_VL : 0;
    const int64_t down = ROWS > 1 ? g->sh * tw * DW_VL : 0;   /* the next output row's input */
    VT acc[2][DW_CB_NB];
    DW_UNROLL
    for (int rr = 0; rr < ROWS; rr++)
        DW_UNROLL
        for (int b = 0; b < NB; b++)
            acc[rr][b] = bv;
    const TYPE *row = tin + (oh * g->sh * tw + ow0 * sw) * DW_VL + kh0 * rstep;
    wp += kh0 * kw_n * DW_VL;
    for (int64_t kh = kh0; kh < kh1; kh++, row += rstep) {
        if (K > 0) {
            VT wk[DW_CB_KMAX];
            DW_UNROLL
            for (int kw = 0; kw < K; kw++)
                wk[kw] = V_LOAD(wp + kw * DW_VL);
            DW_UNROLL
            for (int rr = 0; rr < ROWS; rr++) {
                DW_UNROLL
                for (int j = 0; j < ST * (NB - 1) + K; j++) {
                    if (S1 && ((j < K / 2 && lsk) || (j >= K / 2 + NB && rsk)))
                        continue;   /* a padding column: zeros */
                    const VT v = V_LOAD(row + rr * down + j * DW_VL);
                    DW_UNROLL
                    for (int kw = K - 1; kw >= 0; kw--) {
                        const int d = j - kw, b = d / ST;
                        if (d >= 0 && d % ST == 0 && b < NB)
                            acc[rr][b] = V_FMA(wk[kw], v, acc[rr][b]);
                    }
                }
            }
            wp += K * DW_VL;
            continue;
        }
        const TYPE *q = row;
        int64_t kw = 0;
        if (S1 && g->dw == 1) {
            /* wider rows of taps: DW_CB_KC at a time as above, in the same
               order (batch 8, 2 threads, float32, against a load per FMA:
               256 x 14x14 17x17 660 -> 560 us, 512 x 14x14 31x31 3.9 ->
               3.5 ms) */
            for (; kw + DW_CB_KC <= kw_n; kw += DW_CB_KC, q += DW_CB_KC * DW_VL) {
                VT wk[DW_CB_KC];
                DW_UNROLL
                for (int i = 0; i < DW_CB_KC; i++)
                    wk[i] = V_LOAD(wp + i * DW_VL);
                wp += DW_CB_KC * DW_VL;
                DW_UNROLL
                for (int rr = 0; rr < ROWS; rr++) {
                    DW_UNROLL
                    for (int j = 0; j < NB + DW_CB_KC - 1; j++) {
                        const VT v = V_LOAD(q + rr * down + j * DW_VL);
                        DW_UNROLL
                        for (int i = DW_CB_KC - 1; i >= 0; i--) {
                            const int b = j - i;
                            if (b >= 0 && b < NB)
                                acc[rr][b] = V_FMA(wk[i], v, acc[rr][b]);
                        }
                    }
                }
            }
        }
        for (; kw < kw_n; kw++, q += cstep, wp += DW_VL) {
            const VT wv = V_LOAD(wp);
            DW_UNROLL
            for (int rr = 0; rr < ROWS; rr++)
                DW_UNROLL
                for (int b = 0; b < NB; b++)
                    acc[rr][b] = V_FMA(wv, V_LOAD(q + rr * down + b * sw * DW_VL), acc[rr][b]);
        }
    }
    DW_UNROLL
    for (int rr = 0; rr < ROWS; rr++) {
        TYPE *o = tout + ((oh + rr) * g->out_w + ow0) * DW_VL;
        DW_UNROLL
        for (int b = 0; b < NB; b++)
            V_STORE(o + b * DW_VL, acc[rr][b]);
    }
}

/* The filter rows [*kh0, *kh1) that read inside the input for output row
   oh of a band whose tile row 0 is input row ih0. */
ISA_FN void IFN(cb_taprows)(const dw_geom *g, int64_t ih0, int64_t oh, int64_t *kh0,
                            int64_t *kh1)
{
    const int64_t top = ih0 + oh * g->sh;   /* input row of filter row 0 */
    int64_t lo = top >= 0 ? 0 : (-top + g->dh - 1) / g->dh;
    int64_t hi = g->in_h - top <= 0 ? 0 : (g->in_h - top - 1) / g->dh + 1;
    *kh0 = lo < g->kh ? lo : g->kh;
    *kh1 = hi < g->kh ? hi : g->kh;
    if (*kh1 < *kh0)
        *kh1 = *kh0;
}

/* The nrows output rows of a band whose tile row 0 is input row ih0, two
   at a time.  The filter rows that read only padding rows (zeros) for both
   are left out: exact for finite weights, and a weight that is not finite
   over padding never reaches this kernel (skips_padding).  Alternated with
   every filter row, one thread: float32 7x7 on 7x7 5.27 -> 4.97 us (128
   planes), on 14x14 7.54 -> 7.26 us (64), 9x9 on 28x28 42.5 -> 40.9 us;
   batch 8, 2 threads: 768 x 7x7 89.5 -> 81.6 us, 384 x 14x14 166 ->
   159 us. */
ISA_FN void IFN(cb_plane)(const dw_geom *g, const TYPE *tin, int64_t tw, const TYPE *wp,
                          VT bv, TYPE *tout, int64_t nrows, int64_t ih0, const int S1,
                          const int K)
{
    const int64_t out_w = g->out_w;
    /* the row in blocks of nearly equal length, at most DW_CB_NB */
    const int64_t nblk = (out_w + DW_CB_NB - 1) / DW_CB_NB;
    const int64_t base = out_w / nblk, extra = out_w % nblk;
    const int same = K > 0 && S1 && g->pw == K / 2 && g->in_w == out_w;
    for (int64_t oh = 0; oh < nrows; oh += 2) {
        const int two = oh + 1 < nrows;
        int64_t kh0, kh1;
        IFN(cb_taprows)(g, ih0, oh, &kh0, &kh1);
        if (two) {
            int64_t lo, hi;
            IFN(cb_taprows)(g, ih0, oh + 1, &lo, &hi);
            if (lo < hi) {
                kh0 = kh0 < kh1 && kh0 < lo ? kh0 : lo;
                kh1 = kh1 > hi ? kh1 : hi;
            }
        }
        int64_t ow0 = 0;
        for (int64_t bi = 0; bi < nblk; bi++) {
            const int64_t nb = base + (bi < extra);
            const int lsk = same && bi == 0, rsk = same && bi == nblk - 1;
            switch (nb) {
#  define DW_CB_CASE(N)                                                            \
            case N:                                                                \
                if (two)                                                           \
                    IFN(cb_block)(g, tin, tw, wp, bv, tout, oh, ow0, kh0, kh1, N, S1, K, 2, lsk, rsk); \
                else                                                               \
                    IFN(cb_block)(g, tin, tw, wp, bv, tout, oh, ow0, kh0, kh1, N, S1, K, 1, lsk, rsk); \
                break;
            DW_CB_CASE(1) DW_CB_CASE(2) DW_CB_CASE(3) DW_CB_CASE(4)
            DW_CB_CASE(5) DW_CB_CASE(6) DW_CB_CASE(7) DW_CB_CASE(8)
#  undef DW_CB_CASE
            default:
                break;
            }
            ow0 += nb;
        }
    }
}

#  define DW_CB_PLANE(NAME, S1, K)                                                     \
    static ISA_ATTR void IFN(NAME)(const dw_geom *g, const TYPE *tin, int64_t tw,      \
                                   const TYPE *wp, VT bv, TYPE *tout, int64_t nrows,   \
                                   int64_t ih0)                                        \
    {                                                                                  \
        IFN(cb_plane)(g, tin, tw, wp, bv, tout, nrows, ih0, S1, K);                    \
    }
DW_CB_PLANE(cb_plane_k3, 1, 3)
DW_CB_PLANE(cb_plane_k5, 1, 5)
DW_CB_PLANE(cb_plane_k7, 1, 7)
/* 9 to 13 taps a row (MixNet, RepLKNet) too: with the taps of a row in
   registers (up to 13 and two rows of 8 accumulators: 30 of the 32
   AVX-512 registers), against an input load per FMA, batch 8, 2 threads,
   float32: 120 x 14x14 9x9 83 -> 66 us, 240 x 28x28 9x9 670 -> 570 us,
   256 x 14x14 11x11 225 -> 172 us, 512 x 14x14 13x13 585 -> 426 us, 512 x
   7x7 13x13 128 -> 79 us; float64 512 x 14x14 13x13 1.18 -> 0.86 ms.
   AVX2 (16 registers, spilled) gained too: 13x13 on 14x14 1.08 -> 0.85
   ms. */
DW_CB_PLANE(cb_plane_k9, 1, 9)
DW_CB_PLANE(cb_plane_k11, 1, 11)
DW_CB_PLANE(cb_plane_k13, 1, 13)
/* width stride 2 (any height stride), 3 to 9 taps a row */
DW_CB_PLANE(cb_plane_s2k3, 0, 3)
DW_CB_PLANE(cb_plane_s2k5, 0, 5)
DW_CB_PLANE(cb_plane_s2k7, 0, 7)
DW_CB_PLANE(cb_plane_s2k9, 0, 9)
#  undef DW_CB_PLANE

typedef void (*IFN(cb_plane_fn))(const dw_geom *, const TYPE *, int64_t, const TYPE *, VT, TYPE *,
                                 int64_t, int64_t);
/* [width stride - 1][(taps a row - 3) / 2] */
static const IFN(cb_plane_fn) IFN(cb_planes)[2][6] = {
    {IFN(cb_plane_k3), IFN(cb_plane_k5), IFN(cb_plane_k7), IFN(cb_plane_k9), IFN(cb_plane_k11),
     IFN(cb_plane_k13)},
    {IFN(cb_plane_s2k3), IFN(cb_plane_s2k5), IFN(cb_plane_s2k7), IFN(cb_plane_s2k9), NULL, NULL}};

static ISA_ATTR void IFN(cb_plane_s1)(const dw_geom *g, const TYPE *tin, int64_t tw,
                                      const TYPE *wp, VT bv, TYPE *tout, int64_t nrows,
                                      int64_t ih0)
{
    IFN(cb_plane)(g, tin, tw, wp, bv, tout, nrows, ih0, 1, 0);
}

static ISA_ATTR void IFN(cb_plane_sn)(const dw_geom *g, const TYPE *tin, int64_t tw,
                                      const TYPE *wp, VT bv, TYPE *tout, int64_t nrows,
                                      int64_t ih0)
{
    IFN(cb_plane)(g, tin, tw, wp, bv, tout, nrows, ih0, 0, 0);
}

/* Asks for elements [i0, i1) of the input planes and [o0, o1) of the
   output planes of the DW_VL output channels from oc0 of batch item n in
   the caches (the input read, the output written).  The channel-blocked
   tasks ask for their next unit's while computing this one: reading DW_VL
   planes side by side defeats the hardware prefetchers, so without this
   every plane's first lines are memory latency (when dw_cb_prefetches, or
   for rows the streaming stores, say so; otherwise the prefetches cost more
   than the misses they save). */
ISA_FN void IFN(cb_prefetch)(const dw_geom *g, const TYPE *x, const TYPE *y, int64_t n,
                             int64_t oc0, int64_t i0, int64_t i1, int64_t o0, int64_t o1)
{
    const int64_t cout = g->groups * g->mult, per_line = 64 / (int64_t)sizeof(TYPE);
    for (int64_t oc = oc0; oc < cout && oc < oc0 + DW_VL; oc++) {
        const TYPE *src = x + (n * g->groups + (g->mult == 1 ? oc : oc / g->mult)) * g->in_plane;
        const TYPE *dst = y + (n * cout + oc) * g->out_plane;
        for (int64_t i = i0; i < i1; i += per_line)
            __builtin_prefetch(src + i, 0, 2);
        for (int64_t i = o0; i < o1; i += per_line)
            __builtin_prefetch(dst + i, 1, 2);
    }
}

/* cb_prefetch for the band of unit (blk, n, band): its input rows (th tile
   rows from the band's first, inside the planes) and output rows. */
ISA_FN void IFN(cb_prefetch_band)(const dw_geom *g, const TYPE *x, const TYPE *y, int64_t blk,
                                  int64_t n, int64_t band, int64_t bh, int64_t th)
{
    const int64_t oh0 = band * bh, oh1 = oh0 + bh < g->out_h ? oh0 + bh : g->out_h;
    int64_t ih0 = oh0 * g->sh - g->ph, ih1 = ih0 + th;
    if (ih0 < 0)
        ih0 = 0;
    if (ih1 > g->in_h)
        ih1 = g->in_h;
    IFN(cb_prefetch)(g, x, y, n, blk * DW_VL, ih0 * g->in_w, ih1 * g->in_w, oh0 * g->out_w,
                     oh1 * g->out_w);
}

/* The filters of the DW_VL output channels from oc0 packed into wp, and
   their biases (the lanes past the nvalid channels repeat the last). */
ISA_FN VT IFN(cb_pack_block)(const dw_geom *g, const TYPE *w, const TYPE *b, int64_t oc0,
                             int nvalid, TYPE *wp)
{
    const TYPE *ws[DW_VL];
    TYPE bl[DW_VL];
    for (int l = 0; l < DW_VL; l++) {
        const int64_t oc = oc0 + (l < nvalid ? l : nvalid - 1);
        ws[l] = w + oc * g->kvol;
        bl[l] = b != NULL ? b[oc] : (TYPE)0;
    }
    IFN(cb_pack_w)(ws, g->kvol, wp);
    return V_LOAD(bl);
}

/* Where the lanes of a block read and write: element in_off of the input
   plane and out_off of the output plane of each output channel from oc0
   of batch item n (the spare lanes repeat the last channel). */
ISA_FN void IFN(cb_lanes)(const dw_geom *g, const TYPE *x, TYPE *y, int64_t n, int64_t oc0,
                          int nvalid, int64_t in_off, int64_t out_off, const TYPE **src,
                          TYPE **dst)
{
    const int64_t cout = g->groups * g->mult;
    for (int l = 0; l < DW_VL; l++) {
        const int64_t oc = oc0 + (l < nvalid ? l : nvalid - 1);
        src[l] = x + (n * g->groups + (g->mult == 1 ? oc : oc / g->mult)) * g->in_plane + in_off;
        dst[l] = y + (n * cout + oc) * g->out_plane + out_off;
    }
}

/* ---- rows: channels along the vectors, strip by strip ------------------

   1-D rows, and the rows of 2-D filters of one row (dw_is_rows), have no
   second row to reuse their loads in, so the row kernels load one input
   vector per FMA.  Here each strip of dw_cb_strip output
   positions gets a tile of the input columns it reads, DW_VL channels per
   tile position.  A block of DW_CB1_NB positions keeps its accumulators in
   registers; the taps go in passes of at most DW_CB1_KC, held in
   registers, and every tile vector of a pass is loaded once and multiplied
   into each position that uses it.  The accumulators are then transposed
   in registers and stored straight into the output rows.  Blocks are whole
   (the tile has room for the strip's last one); only the row's own
   positions are stored. */
#  define DW_CB1_KC (DW_REGS == 32 ? 12 : 6)          /* taps per pass */
#  define DW_CB1_NB (DW_VL >= 8 ? DW_VL : 2 * DW_VL)   /* positions per block */
#  if DW_CB1_KC > DW_CB_KMAX
#    error "a pass holds more taps than cb_slide has registers for"
#  endif

/* The tile: tile position i holds input column c0 + i of the rows src[l],
   zeros outside the row, for i < tw. */
ISA_FN void IFN(cb1_tile_in)(const dw_geom *g, const TYPE *const *src, TYPE *tin,
                             int64_t c0, int64_t tw)
{
    const VT z = V_SET1((TYPE)0);
    int64_t i = 0;
    for (; i < tw && c0 + i < 0; i++)
        V_STORE(tin + i * DW_VL, z);
    const int64_t end = g->in_w - c0 < tw ? g->in_w - c0 : tw;
    for (int64_t p = i; p < end; p += DW_VL) {
        const int64_t cnt = end - p < DW_VL ? end - p : DW_VL;
        VT r[DW_VL];
        IFN(cb_load_rows)(r, src, c0 + p, cnt);
        IFN(v_transpose)(r);
        DW_UNROLL
        for (int k = 0; k < DW_VL; k++)
            if (k < cnt)
                V_STORE(tin + (p + k) * DW_VL, r[k]);
    }
    for (i = end > i ? end : i; i < tw; i++)
        V_STORE(tin + i * DW_VL, z);
}

/* The block's positions [o, o + cnt) of the rows dst[l], l < nvalid, from
   acc[b] (position o + b of every lane). */
ISA_FN void IFN(cb1_store)(VT *acc, TYPE *const *dst, int64_t o, int64_t cnt, int nvalid,
                           int stream)
{
    DW_UNROLL
    for (int g0 = 0; g0 < DW_CB1_NB; g0 += DW_VL) {
        const int64_t n = cnt - g0 < DW_VL ? cnt - g0 : DW_VL;
        if (n <= 0)
            break;
        IFN(v_transpose)(acc + g0);
        DW_UNROLL
        for (int l = 0; l < DW_VL; l++) {
            if (l < nvalid) {
                TYPE *p = dst[l] + o + g0;
                if (n < DW_VL)
                    IFN(v_store_first)(p, acc[g0 + l], n);
#  if DW_STREAMS
                else if (stream && ((uintptr_t)p & 63) == 0)
                    IFN(v_stream)(p, acc[g0 + l]);
#  endif
                else
                    V_STORE(p, acc[g0 + l]);
            }
        }
    }
    (void)stream;
}

/* Stride 1, no dilation: the strip's blocks, the taps in passes of nearly
   equal size (the same for every block). */
static ISA_ATTR void IFN(cb1_strip_s1)(const dw_geom *g, const TYPE *tin, const TYPE *wp, VT bv,
                                       TYPE *const *dst, int64_t o0, int64_t cnt, int nvalid)
{
    const int64_t k = g->kw, npass = (k + DW_CB1_KC - 1) / DW_CB1_KC;
    const int64_t base = k / npass, extra = k % npass;
    for (int64_t o = 0; o < cnt; o += DW_CB1_NB, tin += DW_CB1_NB * DW_VL) {
        VT acc[DW_CB1_NB];
        DW_UNROLL
        for (int b = 0; b < DW_CB1_NB; b++)
            acc[b] = bv;
        int64_t t0 = 0;
        for (int64_t i = 0; i < npass; i++) {
            const int64_t kc = base + (i < extra);
            const TYPE *ti = tin + t0 * DW_VL, *wi = wp + t0 * DW_VL;
            switch (kc) {
#  define DW_CB1_CASE(N)                                                            \
            case N:                                                                 \
                IFN(cb_slide)(ti, wi, acc, DW_CB1_NB, N);                           \
                break;
            DW_CB1_CASE(1) DW_CB1_CASE(2) DW_CB1_CASE(3) DW_CB1_CASE(4)
            DW_CB1_CASE(5) DW_CB1_CASE(6)
#  if DW_CB1_KC > 6
            DW_CB1_CASE(7) DW_CB1_CASE(8) DW_CB1_CASE(9) DW_CB1_CASE(10)
            DW_CB1_CASE(11) DW_CB1_CASE(12)
#  endif
#  undef DW_CB1_CASE
            default:
                break;
            }
            t0 += kc;
        }
        IFN(cb1_store)(acc, dst, o0 + o, cnt - o, nvalid, g->stream);
    }
}

/* Any stride and dilation: every tap of a block in turn, one FMA chain per
   position. */
static ISA_ATTR void IFN(cb1_strip_sn)(const dw_geom *g, const TYPE *tin, const TYPE *wp, VT bv,
                                       TYPE *const *dst, int64_t o0, int64_t cnt, int nvalid)
{
    const int64_t ps = g->sw * DW_VL, ts = g->dw * DW_VL;
    for (int64_t o = 0; o < cnt; o += DW_CB1_NB, tin += DW_CB1_NB * ps) {
        VT acc[DW_CB1_NB];
        DW_UNROLL
        for (int b = 0; b < DW_CB1_NB; b++)
            acc[b] = bv;
        const TYPE *q = tin;
        for (int64_t t = 0; t < g->kw; t++, q += ts) {
            const VT wv = V_LOAD(wp + t * DW_VL);
            DW_UNROLL
            for (int b = 0; b < DW_CB1_NB; b++)
                acc[b] = V_FMA(wv, V_LOAD(q + b * ps), acc[b]);
        }
        IFN(cb1_store)(acc, dst, o0 + o, cnt - o, nvalid, g->stream);
    }
}

/* cb_prefetch for strip st of the rows of unit (blk, n, h): the input
   columns its tile reads and, unless streamed, its output columns. */
ISA_FN void IFN(cb1_prefetch)(const dw_geom *g, const TYPE *x, const TYPE *y, int64_t blk,
                              int64_t n, int64_t h, int64_t st, int64_t strip, int64_t tw)
{
    int64_t i0 = st * strip * g->sw - g->pw, i1 = i0 + tw;
    int64_t o0 = st * strip, o1 = g->stream ? o0 : o0 + strip;
    if (i0 < 0)
        i0 = 0;
    if (i1 > g->in_w)
        i1 = g->in_w;
    if (o1 > g->out_w)
        o1 = g->out_w;
    IFN(cb_prefetch)(g, x, y, n, blk * DW_VL, h * g->in_w + i0, h * g->in_w + i1,
                     h * g->out_w + o0, h * g->out_w + o1);
}

/* Units [u0, u1) of a call of rows (dw_is_rows): unit u is (channel
   block, batch item, row, strip), the strip fastest.  buf: this thread's
   tile and packed filters (dw_cb_sizes). */
static ISA_ATTR void IFN(dw_cb1_task)(const dw_geom *g, int64_t batch, const TYPE *w,
                                      const TYPE *b, const TYPE *x, TYPE *y, TYPE *buf,
                                      int64_t u0, int64_t u1)
{
    int64_t th, tw, ntin, ntout;
    dw_cb_sizes(g, DW_VL, sizeof(TYPE), &th, &tw, &ntin, &ntout);
    TYPE *tin = buf, *wp = buf + ntin + ntout;
    const int64_t cout = g->groups * g->mult, strip = dw_cb_strip(g);
    const int64_t strips = (g->out_w + strip - 1) / strip, rows = g->in_h;
    const int64_t per_item = rows * strips, per_blk = batch * per_item;
    void (*run)(const dw_geom *, const TYPE *, const TYPE *, VT, TYPE *const *, int64_t,
                int64_t, int) =
        g->sw == 1 && g->dw == 1 ? IFN(cb1_strip_s1) : IFN(cb1_strip_sn);
    /* the next strip's rows are asked for only when the arrays are far
       larger than the caches: otherwise the prefetches cost more than the
       misses they save */
    const int pf = g->stream;
    int64_t packed = -1;
    VT bv = V_SET1((TYPE)0);
    for (int64_t u = u0; u < u1; u++) {
        const int64_t blk = u / per_blk, n = u / per_item % batch;
        const int64_t h = u / strips % rows, st = u % strips;
        const int64_t oc0 = blk * DW_VL;
        const int nvalid = (int)(cout - oc0 < DW_VL ? cout - oc0 : DW_VL);
        if (blk != packed) {
            bv = IFN(cb_pack_block)(g, w, b, oc0, nvalid, wp);
            packed = blk;
        }
        const int64_t o0 = st * strip;
        const int64_t cnt = g->out_w - o0 < strip ? g->out_w - o0 : strip;
        const TYPE *src[DW_VL];
        TYPE *dst[DW_VL];
        IFN(cb_lanes)(g, x, y, n, oc0, nvalid, h * g->in_w, h * g->out_w, src, dst);
        IFN(cb1_tile_in)(g, src, tin, o0 * g->sw - g->pw, tw);
        if (pf && u + 1 < u1)
            IFN(cb1_prefetch)(g, x, y, (u + 1) / per_blk, (u + 1) / per_item % batch,
                              (u + 1) / strips % rows, (u + 1) % strips, strip, tw);
        run(g, tin, wp, bv, dst, o0, cnt, nvalid);
    }
#  if DW_STREAMS
    if (g->stream)
        _mm_sfence();  /* the streaming stores complete before the results are used */
#  endif
}
#  undef DW_CB1_KC
#  undef DW_CB1_NB

/* Units [u0, u1) of a 2-D call: unit u is (channel block, batch item,
   band of dw_cb_band output rows), the band fastest.  buf: this thread's
   tile, output tile and packed filters (dw_cb_sizes). */
static ISA_ATTR void IFN(dw_cb_task)(const dw_geom *g, int64_t batch, const TYPE *w,
                                     const TYPE *b, const TYPE *x, TYPE *y, TYPE *buf,
                                     int64_t u0, int64_t u1)
{
    int64_t th, tw, ntin, ntout;
    dw_cb_sizes(g, DW_VL, sizeof(TYPE), &th, &tw, &ntin, &ntout);
    TYPE *tin = buf, *tout = buf + ntin, *wp = buf + ntin + ntout;
    const int64_t cout = g->groups * g->mult, bh = dw_cb_band(g, DW_VL, sizeof(TYPE));
    const int64_t bands = (g->out_h + bh - 1) / bh, per_blk = batch * bands;
    IFN(cb_tile_border)(g, tin, th, tw);
    /* one band: the same tile rows are padding in every unit */
    if (bands == 1)
        IFN(cb_tile_pad_rows)(g, tin, th, tw, -g->ph);
    /* odd filter rows of 3 to 13 taps (stride 2: up to 9) at width stride
       1 or 2 without dilation: the taps of a row in registers */
    IFN(cb_plane_fn) plane = g->sw == 1 ? IFN(cb_plane_s1) : IFN(cb_plane_sn);
    if (g->dw == 1 && (g->sw == 1 || g->sw == 2) && g->kw % 2 == 1 && g->kw >= 3 &&
        g->kw <= 13 && IFN(cb_planes)[g->sw - 1][(g->kw - 3) / 2] != NULL)
        plane = IFN(cb_planes)[g->sw - 1][(g->kw - 3) / 2];
    const int pf = dw_cb_prefetches(g, batch, sizeof(TYPE));
    int64_t packed = -1;
    VT bv = V_SET1((TYPE)0);
    int64_t blk = u0 / per_blk, n = u0 / bands % batch, band = u0 % bands;
    for (int64_t u = u0; u < u1; u++) {
        const int64_t oc0 = blk * DW_VL;
        const int nvalid = (int)(cout - oc0 < DW_VL ? cout - oc0 : DW_VL);
        const int64_t oh0 = band * bh, nrows = g->out_h - oh0 < bh ? g->out_h - oh0 : bh;
        const int64_t ih0 = oh0 * g->sh - g->ph;
        const TYPE *src[DW_VL];
        TYPE *dst[DW_VL];
        if (blk != packed) {
            bv = IFN(cb_pack_block)(g, w, b, oc0, nvalid, wp);
            packed = blk;
        }
        IFN(cb_lanes)(g, x, y, n, oc0, nvalid, 0, oh0 * g->out_w, src, dst);
        if (bands > 1)
            IFN(cb_tile_pad_rows)(g, tin, th, tw, ih0);
        IFN(cb_tile_in)(g, src, tin, th, tw, ih0);
        if (pf && u + 1 < u1)
            IFN(cb_prefetch_band)(g, x, y, (u + 1) / per_blk, (u + 1) / bands % batch,
                                  (u + 1) % bands, bh, th);
        plane(g, tin, tw, wp, bv, tout, nrows, ih0);
        IFN(cb_tile_out)(tout, nrows * g->out_w, dst, nvalid);
        if (++band == bands) {
            band = 0;
            if (++n == batch) {
                n = 0;
                blk++;
            }
        }
    }
}
#  undef DW_CB_NB
#  undef DW_CB_COPY
#  undef DW_CB_KMAX
#else
#  define DW_HAS_CB 0
#endif

/* ---- narrow planes: rows of at most one or two vectors -------------------

   2-D, a 5x5 or 7x7 filter at stride 1 without dilation, output rows of
   more than half a vector and at most one (float32 planes of 9 to 16
   columns with AVX-512, such as 14x14), where the specialised kernels run
   every chunk as a masked border chunk; with AVX-512 also 5x5 on rows of
   up to two vectors (float32 17 to 32 columns, float64 9 to 16).
   AVX-512 loads each input row from the plane as the vectors it needs,
   the lanes outside the row masked (zero: the padding columns), and
   leaves out the padding rows at the top and bottom of a plane; a group
   of rows that reaches into other padding copies its rows first.  AVX2
   copies each unit's input rows between zero columns into one of two
   per-thread buffers, one unit ahead (the loads then read stores made a
   unit earlier, not just now), and reads them with plain loads at a
   constant row pitch of whole vectors (every row starts a cache line);
   the rows of the padding are buffer rows that stay zero.  Rows of one
   vector sum bias + the even and the odd kh on two chains, added at the
   end, rows of two on one chain per vector; AVX-512 adds the taps column
   by column (kw outermost), AVX2 for 5x5 as spec_chunk (bitwise the same
   but for the sign of a zero sum), for 7x7 row by row.
   Measured on 5x5 at 14x14, float32: +6 to 9 % against the specialised
   kernel (before the AVX-512 groups).
   With one unit per plane, each unit asks for the input plane two ahead
   and for the next output plane: 5x5 on 14x14, batch 8, after 64 MB of
   other memory traffic, 0.54 -> 0.27 ms (unchanged when the caches hold
   the arrays). */
#if DW_HAS_SPECS && !DW_NARROW

#if DW_S1_ALIGN
/* R output rows (of out_w <= NV VL columns) from the input rows at
   addresses xa, xa + xs_bytes, ... (the first is row r - ph of the plane,
   column -pw).  Each input row is loaded once, as NV + 1 vectors whose
   lanes mk[v] are the row's columns (the others zero: padding), and
   shifted by valign once per tap column for all the output rows it
   feeds, R + K - 1 rows a group.  The tap columns are the outer loop:
   one column's FMAs need only its K weights in registers, with the
   accumulators (all K * K weights at once spilled registers; the
   compiler keeps the loaded rows from one column to the next or loads
   them again, as registers allow).
   Rows of one vector sum bias + the even kh and the odd kh on two chains,
   added at the end (as spec_chunk's for 5x5), rows of two on one chain a
   vector (as many registers).  TOP: the group starts a plane padded by
   K / 2 rows, whose first K / 2 rows are then padding; BOT: it ends one,
   and the last K / 2 are.  Those rows are left out: the depthwise
   family skips padding (finite weights only; a sum loses only terms
   w * 0).  One thread, 64 planes, against groups of 4 rows that formed
   each row's shifts anew per group (rows of one vector) and the
   specialised kernels (two): float32 5x5 on 14x14 74 -> 69 ns a plane, on
   28x28 272 -> 246 ns, 7x7 on 14x14 131 -> 108 ns, float64 5x5 on 14x14
   159 -> 131 ns; batch 8, 2 threads: float32 672 x 14x14 177 -> 167 us,
   240 x 28x28 251 -> 232-243 us, float64 672 x 14x14 395 -> 310-333 us.
   Groups of at most 4, 5 or 6 rows of two vectors (fewer registers
   spilled) were slower than 7.
   The rows used to be copied into an aligned zero-padded buffer first
   (as the AVX2 kernels still do): the masked loads from the plane, most
   of them across two cache lines, cost less than the copy.  Batch 8, 2
   threads: float32 672 x 14x14 179 -> 165 us, float64 333 -> 317 us;
   7x7 and float64 rows of two vectors unchanged.  Weights broadcast from
   memory by each FMA (no registers spilled) were 11 % slower, three
   chains instead of two unchanged.  Tap columns outermost instead of
   input rows (taps in (kw, output row) order for each row): float32
   672 x 14x14 163 -> 152 us, float64 312 -> 300 us, 7x7 on 14x14 1 %
   faster; two or three columns a pass were in between. */
ISA_FN void IFN(nw_group)(uintptr_t xa, int64_t xs_bytes,
                          const MT *mk, const TYPE *w, VT bv, TYPE *y, int64_t out_w,
                          const int K, const int R, const int NV, const int TOP, const int BOT)
{
    const int P = K / 2, NI = R - 1 + K;
    const int CH = NV == 1;   /* second chain (odd kh) on rows of one vector */
    VT acc[2][DW_RMAX][2];
    DW_UNROLL
    for (int r = 0; r < R; r++) {
        DW_UNROLL
        for (int v = 0; v < NV; v++) {
            acc[0][r][v] = bv;
            if (CH)
                acc[1][r][v] = V_SET1((TYPE)0);
        }
    }
    DW_UNROLL
    for (int kw = 0; kw < K; kw++) {
        DW_UNROLL
        for (int i = 0; i < NI; i++) {
            if ((TOP && i < P) || (BOT && i >= NI - P))
                continue;
            const uintptr_t row = xa + (uintptr_t)(i * xs_bytes);
            VT xv[3], xs[2];
            DW_UNROLL
            for (int v = 0; v <= NV; v++)
                xv[v] = IFN(v_maskz_load)(
                    mk[v], (const TYPE *)(row + (uintptr_t)(v * DW_VL * (int)sizeof(TYPE))));
            DW_UNROLL
            for (int v = 0; v < NV; v++)
                xs[v] = kw == 0 ? xv[v] : IFN(v_alignr)(xv[v + 1], xv[v], kw);
            DW_UNROLL
            for (int r = 0; r < R; r++) {
                const int kh = i - r;
                if (kh >= 0 && kh < K) {
                    DW_UNROLL
                    for (int v = 0; v < NV; v++)
                        acc[kh & CH][r][v] = V_FMA(V_SET1(w[kh * K + kw]), xs[v], acc[kh & CH][r][v]);
                }
            }
        }
    }
    DW_UNROLL
    for (int r = 0; r < R; r++, y += out_w) {
        DW_UNROLL
        for (int v = 0; v < NV; v++) {
            const VT sum = CH ? V_ADD(acc[0][r][v], acc[1][r][v]) : acc[0][r][v];
            const int64_t n = out_w - v * DW_VL;   /* the row's columns from this vector on */
            if (n >= DW_VL)
                V_STORE(y + v * DW_VL, sum);
            else
                IFN(v_store_first)(y + v * DW_VL, sum, n);
        }
    }
}

/* one function per kind of row (filter side, vectors a row), group
   height and border: a table [kind][R - 1][TOP][BOT], kinds 5x5 and 7x7 on
   one vector, 5x5 on two (7x7 on two was no faster than the specialised
   kernels: float32 192 x 28x28, batch 8, 333 against 332 us) */
typedef void (*IFN(nw_fn))(uintptr_t, int64_t, const MT *, const TYPE *, VT, TYPE *, int64_t);
#  define DW_NWG(K, NV, R, T, B)                                               \
    static ISA_ATTR DW_NOINLINE void IFN(nwg##K##_##NV##_##R##T##B)(                 \
        uintptr_t xa, int64_t xs_bytes, const MT *mk, const TYPE *w, VT bv,     \
        TYPE *y, int64_t out_w)                                                \
    {                                                                          \
        IFN(nw_group)(xa, xs_bytes, mk, w, bv, y, out_w, K, R, NV, T, B);      \
    }
#  define DW_NWG_R(K, NV, R)                                                   \
    DW_NWG(K, NV, R, 0, 0) DW_NWG(K, NV, R, 0, 1) DW_NWG(K, NV, R, 1, 0) DW_NWG(K, NV, R, 1, 1)
#  define DW_NWG_K(K, NV)                                                      \
    DW_NWG_R(K, NV, 1) DW_NWG_R(K, NV, 2) DW_NWG_R(K, NV, 3) DW_NWG_R(K, NV, 4) \
    DW_NWG_R(K, NV, 5) DW_NWG_R(K, NV, 6) DW_NWG_R(K, NV, 7)
DW_NWG_K(5, 1)
DW_NWG_K(7, 1)
DW_NWG_K(5, 2)
#  define DW_NWG_T(K, NV, R) {{IFN(nwg##K##_##NV##_##R##00), IFN(nwg##K##_##NV##_##R##01)}, \
                              {IFN(nwg##K##_##NV##_##R##10), IFN(nwg##K##_##NV##_##R##11)}}
#  define DW_NWG_TAB(K, NV)                                                    \
    {DW_NWG_T(K, NV, 1), DW_NWG_T(K, NV, 2), DW_NWG_T(K, NV, 3), DW_NWG_T(K, NV, 4), \
     DW_NWG_T(K, NV, 5), DW_NWG_T(K, NV, 6), DW_NWG_T(K, NV, 7)}
static const IFN(nw_fn) IFN(nwg_tab)[3][DW_RMAX][2][2] = {DW_NWG_TAB(5, 1), DW_NWG_TAB(7, 1),
                                                           DW_NWG_TAB(5, 2)};
#  undef DW_NWG_TAB
#  undef DW_NWG_T
#  undef DW_NWG_K
#  undef DW_NWG_R
#  undef DW_NWG

/* One group through f whose ni input rows from ih0 on (of nv vectors
   each, from address xa, xs_bytes apart) are not all inside the plane
   (padding other than K / 2, or a row block that starts or ends within
   the padding): the rows copied as the loads would find them, zero
   outside the plane. */
static ISA_ATTR DW_NOINLINE void IFN(nw_group_copied)(IFN(nw_fn) f, uintptr_t xa, int64_t xs_bytes,
                                                    int64_t ih0, int64_t in_h, int ni, int nv,
                                                    const MT *mk, const TYPE *w, VT bv, TYPE *y,
                                                    int64_t out_w)
{
    TYPE rows[DW_NI_MAX * 3 * DW_VL] __attribute__((aligned(64)));
    const MT all[3] = {IFN(m_lanes)(0, DW_VL), IFN(m_lanes)(0, DW_VL), IFN(m_lanes)(0, DW_VL)};
    for (int i = 0; i < ni; i++) {
        const int inside = (uint64_t)(ih0 + i) < (uint64_t)in_h;
        for (int v = 0; v < nv; v++)
            V_STORE(rows + (i * nv + v) * DW_VL,
                    inside ? IFN(v_maskz_load)(mk[v], (const TYPE *)(xa + (uintptr_t)(i * xs_bytes) +
                                                                   (uintptr_t)(v * DW_VL * (int)sizeof(TYPE))))
                           : V_SET1((TYPE)0));
    }
    f((uintptr_t)rows, nv * DW_VL * (int64_t)sizeof(TYPE), all, w, bv, y, out_w);
}

/* Output rows [r0, r1) of one channel from its input plane (vector v of
   a row: lanes mk[v]), in groups of at most DW_RMAX rows as even as they
   come (14 rows: 7 + 7).  With K / 2 padding rows above and below (the
   output as high as the input), the first and the last group of the plane
   leave them out. */
static ISA_ATTR void IFN(nw_rows)(const dw_geom *g, const TYPE *xplane, const MT *mk,
                                  const TYPE *w, TYPE bias, TYPE *y, int64_t r0, int64_t r1)
{
    const int K = (int)g->kw;
    const VT bv = V_SET1(bias);
    const int64_t out_w = g->out_w, in_w = g->in_w, es = (int64_t)sizeof(TYPE);
    const int nv = out_w > DW_VL ? 3 : 2;   /* vectors a row loads */
    const int same = g->ph == K / 2 && g->out_h == g->in_h;
    const int64_t n = r1 - r0, ng = (n + DW_RMAX - 1) / DW_RMAX;
    const IFN(nw_fn)(*tab)[2][2] = IFN(nwg_tab)[out_w > DW_VL ? 2 : K == 7];
    int64_t r = r0;
    for (int64_t k = 0; k < ng; k++) {
        const int rows = (int)(n / ng + (k < n % ng));
        const int top = same && r == 0, bot = same && r + rows == g->out_h;
        /* the group reads input rows [ih0, ih0 + ni), less the padding
           rows it leaves out */
        const int64_t ih0 = r - g->ph;
        const int ni = rows - 1 + K;
        const int64_t lo = ih0 + (top ? K / 2 : 0), hi = ih0 + ni - (bot ? K / 2 : 0);
        const uintptr_t xa = (uintptr_t)xplane + (uintptr_t)((ih0 * in_w - g->pw) * es);
        if (lo >= 0 && hi <= g->in_h) {
            tab[rows - 1][top][bot](xa, in_w * es, mk, w, bv, y + r * out_w, out_w);
        } else {
            IFN(nw_group_copied)(tab[rows - 1][top][bot], xa, in_w * es, ih0, g->in_h, ni, nv,
                                 mk, w, bv, y + r * out_w, out_w);
        }
        r += rows;
    }
}
#else
/* R output rows (of out_w <= VL columns) from buffer rows xb, xb + pitch,
   ... (pitch 2 VL, a constant: no registers for the row addresses). */
ISA_FN void IFN(nw_group)(const TYPE *xb, const TYPE *w, VT bv, TYPE *y, int64_t out_w,
                          const int K, const int R)
{
    const int CH = DW_CHAINS(1) - 1;
    const int pitch = 2 * DW_VL;
    VT acc[2][DW_RMAX];
    DW_UNROLL
    for (int r = 0; r < R; r++) {
        acc[0][r] = bv;
        if (CH)
            acc[1][r] = V_SET1((TYPE)0);
    }
    DW_UNROLL
    for (int i = 0; i < R - 1 + K; i++) {
        DW_UNROLL
        for (int kw = 0; kw < K; kw++) {
            VT xv = V_LOAD(xb + i * pitch + kw);
            V_PIN(xv);
            DW_UNROLL
            for (int r = 0; r < R; r++) {
                const int kh = i - r;
                if (kh >= 0 && kh < K)
                    acc[kh & CH][r] = V_FMA(V_SET1(w[kh * K + kw]), xv, acc[kh & CH][r]);
            }
        }
    }
    DW_UNROLL
    for (int r = 0; r < R; r++, y += out_w) {
        const VT sum = CH ? V_ADD(acc[0][r], acc[1][r]) : acc[0][r];
        if (out_w == DW_VL)
            V_STORE(y, sum);
        else
            IFN(v_store_first)(y, sum, out_w);
    }
}

/* Output rows [r0, r1) of one channel from the buffer (row 0 = input row
   -ph). */
ISA_FN void IFN(nw_rows_k)(const dw_geom *g, const TYPE *buf, const TYPE *w, TYPE bias,
                           TYPE *y, int64_t r0, int64_t r1, const int K)
{
    const VT bv = V_SET1(bias);
    const int64_t out_w = g->out_w, pitch = 2 * DW_VL;
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4)
        IFN(nw_group)(buf + r * pitch, w, bv, y + r * out_w, out_w, K, 4);
    switch (r1 - r) {
    case 3:
        IFN(nw_group)(buf + r * pitch, w, bv, y + r * out_w, out_w, K, 3);
        break;
    case 2:
        IFN(nw_group)(buf + r * pitch, w, bv, y + r * out_w, out_w, K, 2);
        break;
    case 1:
        IFN(nw_group)(buf + r * pitch, w, bv, y + r * out_w, out_w, K, 1);
        break;
    default:
        break;
    }
}

/* one function per filter side, each with its own registers (inlined into
   the task, the compiler spilled them) */
#define DW_NW_ROWS(K)                                                          \
    static ISA_ATTR DW_NOINLINE void IFN(nw_rows##K)(const dw_geom *g, const TYPE *buf, \
                                                     const TYPE *w, TYPE bias, TYPE *y, \
                                                     int64_t r0, int64_t r1)        \
    {                                                                          \
        IFN(nw_rows_k)(g, buf, w, bias, y, r0, r1, K);                        \
    }
DW_NW_ROWS(5)
DW_NW_ROWS(7)
#undef DW_NW_ROWS

/* Output rows [r0, r1) of one channel (the filter side from g) from its
   buffer (mk: unused, for the AVX-512 kernels' signature). */
static ISA_ATTR void IFN(nw_rows)(const dw_geom *g, const TYPE *buf, const MT *mk,
                                  const TYPE *w, TYPE bias, TYPE *y, int64_t r0, int64_t r1)
{
    (void)mk;
    if (g->kw == 5)
        IFN(nw_rows5)(g, buf, w, bias, y, r0, r1);
    else
        IFN(nw_rows7)(g, buf, w, bias, y, r0, r1);
}
#endif

/* Output rows [*r0, *r1) of row block rb. */
ISA_FN void IFN(nw_block)(const dw_geom *g, const dw_split *p, int64_t rb, int64_t *r0,
                          int64_t *r1)
{
    *r0 = rb * p->rper;
    *r1 = *r0 + p->rper < g->out_h ? *r0 + p->rper : g->out_h;
}

/* The input rows that the output rows of row block rb read, into buf at
   row ih + ph, column pw + j (the rest of buf is zero and stays so). */
ISA_FN void IFN(nw_fill)(const dw_geom *g, const dw_split *p, const TYPE *xplane, TYPE *buf,
                         int64_t pitch, int64_t rb)
{
    int64_t r0, r1;
    IFN(nw_block)(g, p, rb, &r0, &r1);
    int64_t i0 = r0 - g->ph, i1 = r1 - 1 - g->ph + g->kh;
    i0 = i0 < 0 ? 0 : i0;
    i1 = i1 > g->in_h ? g->in_h : i1;
    /* the geometry in locals: the vector stores may alias anything, so
       the compiler would read g again after each one */
    const int64_t in_w = g->in_w, pw = g->pw;
    const TYPE *src = xplane + i0 * in_w;
    TYPE *row = buf + (i0 + g->ph) * pitch;
    /* the row between its zero columns as whole aligned vectors: vector j
       holds the input columns [j VL - pw, (j + 1) VL - pw), read from
       src + j VL - pw with the lanes outside the row masked (the address
       as an integer: it may lie before the array; masked lanes are not
       read) */
    const int nv = (int)((pw + in_w + DW_VL - 1) / DW_VL);   /* at most 3 */
    MT m[3];
    for (int j = 0; j < nv; j++) {
        const int64_t lo = pw - j * DW_VL, hi = pw + in_w - j * DW_VL;
        m[j] = IFN(m_lanes)(lo < 0 ? 0 : (int)lo, hi > DW_VL ? DW_VL : (int)hi);
    }
    for (int64_t ih = i0; ih < i1; ih++, src += in_w, row += pitch)
        for (int j = 0; j < nv; j++)
            V_STORE(row + j * DW_VL,
                    IFN(v_maskz_load)(m[j], (const TYPE *)((uintptr_t)src + (uintptr_t)(j * DW_VL - pw) *
                                                                         sizeof(TYPE))));
}

/* The next unit after (plane, mb, rb), rb fastest. */
ISA_FN void IFN(nw_next)(const dw_split *p, int64_t *plane, int64_t *mb, int64_t *rb)
{
    if (++*rb == p->rblocks) {
        *rb = 0;
        if (++*mb == p->mblocks) {
            *mb = 0;
            ++*plane;
        }
    }
}

/* Units [u0, u1).  AVX-512 reads the input planes as they are; AVX2
   copies each unit's rows into buf (two buffers of nw_buf elements, half
   apart, zero), one unit ahead. */
static ISA_ATTR void IFN(dw_nw_task)(const dw_geom *g, const dw_split *p, const TYPE *w,
                                     const TYPE *b, const TYPE *x, TYPE *y, TYPE *buf,
                                     int64_t half, int64_t u0, int64_t u1)
{
    const int64_t cout = g->groups * g->mult;
    /* unit u is (plane, channel block mb, row block rb), rb fastest */
    int64_t rb = u0 % p->rblocks, mb = (u0 / p->rblocks) % p->mblocks;
    int64_t plane = u0 / p->rblocks / p->mblocks;
#if DW_S1_ALIGN
    (void)buf;
    (void)half;
    /* vector v of a row holds the input columns [v VL - pw, (v + 1) VL - pw),
       the lanes outside the row masked (not read: zero) */
    MT mk[3];
    for (int v = 0; v < 3; v++) {
        const int64_t lo = g->pw - v * DW_VL, hi = g->pw + g->in_w - v * DW_VL;
        mk[v] = hi <= 0 || lo >= DW_VL ? (MT)0
                : IFN(m_lanes)(lo < 0 ? 0 : (int)lo, hi > DW_VL ? DW_VL : (int)hi);
    }
    /* the input two planes ahead and the next output asked for into the
       first-level cache.  With the arrays out of the caches (an 8 MB copy
       between calls), float32 240 x 28x28 at batch 8 took 339 us asking
       into the second-level cache, 270 us into the first, 640 us not
       asking; three or four planes ahead were slower. */
#  define DW_NW_PF(a, n) IFN(pf_range_l1)(a, n)
#else
    const MT *mk = NULL;
    const int64_t pitch = dw_nw_pitch(g, DW_VL);
    IFN(nw_fill)(g, p, x + plane * g->in_plane, buf, pitch, rb);
#  define DW_NW_PF(a, n) IFN(pf_range)(a, n)
#endif
    /* one unit per plane: the planes ahead asked for (as in dw_task) */
    const int pf = g->mult == 1 && p->rblocks == 1 && p->mblocks == 1;
    for (int64_t u = u0; u < u1; u++) {
        const int64_t pl = plane, a0 = mb * p->mper;
        const int64_t a1 = a0 + p->mper < g->mult ? a0 + p->mper : g->mult;
        int64_t q0, q1;
        IFN(nw_block)(g, p, rb, &q0, &q1);
#if DW_S1_ALIGN
        const TYPE *src = x + pl * g->in_plane;
        IFN(nw_next)(p, &plane, &mb, &rb);
#else
        const TYPE *src = buf + ((u - u0) & 1) * half;
        if (u + 1 < u1) {
            IFN(nw_next)(p, &plane, &mb, &rb);
            IFN(nw_fill)(g, p, x + plane * g->in_plane, buf + ((u + 1 - u0) & 1) * half, pitch,
                         rb);
        }
#endif
        if (pf && u + 1 < u1) {
            if (u + 2 < u1)
                DW_NW_PF(x + (pl + 2) * g->in_plane, g->in_plane * (int64_t)sizeof(TYPE));
            DW_NW_PF(y + (pl + 1) * g->out_plane, g->out_plane * (int64_t)sizeof(TYPE));
        }
        const int64_t n = pl / g->groups, grp = pl % g->groups;
        for (int64_t m = a0; m < a1; m++) {
            const int64_t oc = grp * g->mult + m;
            TYPE *yo = y + (n * cout + oc) * g->out_plane;
            const TYPE *wo = w + oc * g->kvol;
            const TYPE bias = b != NULL ? b[oc] : (TYPE)0;
            IFN(nw_rows)(g, src, mk, wo, bias, yo, q0, q1);
        }
    }
#undef DW_NW_PF
}
#endif /* DW_HAS_SPECS && !DW_NARROW */

/* ---- flat planes: rows of at most four vectors ---------------------------

   2-D, 3x3 at stride 1 without dilation, padding 1 on every side (the
   output plane is the input plane's size), rows of at most four vectors
   (AVX-512: float32 up to 64 columns, float64 up to 32), and planes of at
   most DW_TP_MAXV vectors.  The plane is read as one flat array of
   out_h * out_w elements, DW_VL to a vector, one vector after another
   (tp_plane): one load per vector; a permute across
   two vectors moves them by one row up or down (zeros before and after the
   plane): the neighbouring vectors for rows of at most one vector, the two
   SP before or after for rows of SP vectors.  So every lane of every FMA
   is an output element but in the plane's last vector, where the row
   kernels leave the rest of each row's vector idle (9 of 16 lanes on
   9-wide rows, 7 of 16 on 7x7 planes, where the channel-blocked kernel
   pays two transposes instead).

   The columns j - 1 and j + 1 are not moved into place as inputs: the taps
   of kw = 0 are summed over the three rows at the input's own positions
   (Q0), and so are those of kw = 2 (Q2); each output vector is Q0 moved
   one lane up, the three kw = 1 taps on it, plus Q2 moved one lane down.
   That is two lane moves (valign) per vector where moving the three rows
   either way took six; the FMA and the moves share the vector pipes.
   Lanes whose column j - 1 (j + 1) lies outside the row take Q0 (Q2) of a
   zero column, so each element is exactly bias + its taps over the
   zero-padded input in that order, and a filter that is not finite gives
   NaN at the borders as everywhere else.  Against moving the three rows
   (blocks of 6 vectors, 244 instructions a block), alternated, 2 threads:
   float32 192 x 28x28 at batch 8 103 -> 88 us, 576 x 14x14 80 -> 67 us,
   at batch 1 13.3 -> 11.4 and 10.9 -> 8.9 us; float64 192 x 28x28 at batch
   8 215 -> 185 us, 960 x 7x7 78 -> 63 us; one thread, 64 planes: float32
   22x22 6.2 -> 5.0 us, 40x40 17.6 -> 15.3 us, float64 20x20 9.2 -> 8.0
   us.  Three masked loads per vector (at the rows above, at and below,
   most of them across a cache line) instead of the permutes were 30 %
   slower on 28x28 (one thread, a copy of the kernel on its own).

   Each plane asks for the next one's input and output lines: batch 8
   after 64 MB of other memory traffic, 14x14 0.36 -> 0.17 ms, 7x7 0.17 ->
   0.07 ms.  Rows of more than one vector, against the row kernels (with
   the older blocks), one thread, 64 planes: float64 10x10 78 -> 49 ns a
   plane, 12x12 108 -> 57, 14x14 98 -> 82, 16x16 113 -> 104; float32 18x18
   107 -> 67, 22x22 140 -> 104, 24x24 156 -> 117, 28x28 180 -> 166.  Rows
   of three and four vectors and planes of 65 to 256 vectors, one thread,
   64 planes: float64 20x20 180 -> 132 ns a plane, 28x28 285 -> 249, 30x30
   315 -> 284, float32 40x40 322 -> 264, 56x56 567 -> 549, 60x60 636 ->
   611, 28 columns x 100 rows 550 -> 467; on rows of whole vectors the row
   kernels were faster than those blocks (float32 48x48 381 against 403,
   64x64 664 against 731) but not than tp_plane (dw_tp_ok). */
#if DW_ISA == DW_ISA_AVX512
#  define DW_TP_SPMAX 4   /* vectors a row of the plane spans at most */

typedef struct IFN(dw_tp_ctx) {
    /* per kw, for vector m of the plane: its lanes whose column j + kw - 1
       is inside the row */
    MT cm[3][DW_TP_MAXV];
    __m512i up, down;  /* permute indices: element l - w and l + w */
    int64_t nv;        /* vectors per plane */
    int span;          /* vectors a row spans at most: 1 to DW_TP_SPMAX */
} IFN(dw_tp_ctx);

ISA_FN VT IFN(tp_perm)(VT a, __m512i idx, VT b)
{
#  if DW_DOUBLE
    return _mm512_permutex2var_pd(a, idx, b);
#  else
    return _mm512_permutex2var_ps(a, idx, b);
#  endif
}

static ISA_ATTR void IFN(tp_ctx_init)(IFN(dw_tp_ctx) *c, const dw_geom *g)
{
    const int64_t w = g->out_w, n = g->out_h * w;
    c->nv = (n + DW_VL - 1) / DW_VL;
    c->span = (int)((w + DW_VL - 1) / DW_VL);
    /* element d = m * DW_VL + l is in column j */
    int64_t j = 0;
    for (int64_t m = 0; m < c->nv; m++) {
        unsigned bits[3] = {0, 0, 0};
        for (int l = 0; l < DW_VL && m * DW_VL + l < n; l++) {
            bits[0] |= (unsigned)(j > 0) << l;
            bits[1] |= 1u << l;
            bits[2] |= (unsigned)(j < w - 1) << l;
            j = j + 1 == w ? 0 : j + 1;
        }
        for (int kw = 0; kw < 3; kw++)
            c->cm[kw][m] = (MT)bits[kw];
    }
    /* lane l of vector m of the plane, element m VL + l: element l - w is
       lane l + span VL - w of vectors m - span, m - span + 1 (permute(a,
       up, b)), element l + w lane l + w - (span - 1) VL of vectors
       m + span - 1, m + span (permute(a, down, b)) */
    const int64_t sv = (int64_t)c->span * DW_VL;
#  if DW_DOUBLE
    const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    c->up = _mm512_add_epi64(lane, _mm512_set1_epi64(sv - w));
    c->down = _mm512_add_epi64(lane, _mm512_set1_epi64(w - (sv - DW_VL)));
#  else
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    c->up = _mm512_add_epi32(lane, _mm512_set1_epi32((int)(sv - w)));
    c->down = _mm512_add_epi32(lane, _mm512_set1_epi32((int)(w - (sv - DW_VL))));
#  endif
}

/* Lanes of m: lanes j.. of lo then hi's (j = 1 or DW_VL - 1); src's
   elsewhere */
ISA_FN VT IFN(tp_alignm)(VT src, MT m, VT hi, VT lo, const int j)
{
#  if DW_DOUBLE
    const __m512i s = _mm512_castpd_si512(src), h = _mm512_castpd_si512(hi),
                  l = _mm512_castpd_si512(lo);
    return _mm512_castsi512_pd(j == 1 ? _mm512_mask_alignr_epi64(s, m, h, l, 1)
                                      : _mm512_mask_alignr_epi64(s, m, h, l, DW_VL - 1));
#  else
    const __m512i s = _mm512_castps_si512(src), h = _mm512_castps_si512(hi),
                  l = _mm512_castps_si512(lo);
    return _mm512_castsi512_ps(j == 1 ? _mm512_mask_alignr_epi32(s, m, h, l, 1)
                                      : _mm512_mask_alignr_epi32(s, m, h, l, DW_VL - 1));
#  endif
}

/* Vector m of the plane x (nv vectors): zero before and after the plane,
   the last one masked (nothing past the plane is read: it may end the
   array). */
ISA_FN VT IFN(tp_load)(const IFN(dw_tp_ctx) *c, const TYPE *x, int64_t m, int64_t nv)
{
    if (m < 0 || m >= nv)
        return V_SET1((TYPE)0);
    if (m == nv - 1)
        return IFN(v_maskz_load)(c->cm[1][m], x + m * DW_VL);
    return V_LOAD(x + m * DW_VL);
}

/* The running state of tp_plane at vector i: the plane's vectors that
   give the rows of vector i + 1 (DW_TP_RING(SP): all of i + 1 - SP ..
   i + 1 + SP in r, one load per vector; else the pairs that give the rows
   above and below by a permute, ua, ub: vectors i + 1 - SP and i + 2 - SP,
   da, db: i + SP and i + 1 + SP, and vector i + 1 loaded where used: three
   loads a vector, fewer registers), the rows above (u), at (ce) and below
   (d) of vector i, the partial sums Q0 of vectors i - 1 and i and Q2 of
   vector i. */
#  define DW_TP_RING(SP) ((SP) <= 2)
typedef struct IFN(dw_tp_state) {
    VT r[5];
    VT ua, ub, da, db;
    VT u, ce, d, q0p, q0, q2;
} IFN(dw_tp_state);

/* The taps of one plane: its weights, bias, and Q0 and Q2 of a zero
   column. */
typedef struct IFN(dw_tp_taps) {
    VT w00, w01, w02, w10, w11, w12, w20, w21, w22, bv, q0z, q2z;
} IFN(dw_tp_taps);

/* Vector m of the plane: with EDGE as tp_load, else a plain load (m is
   known to lie before the plane's last vector). */
#  define DW_TP_LOAD(m) (EDGE ? IFN(tp_load)(c, x, (m), nv) : V_LOAD(x + (m) * DW_VL))

/* Output vector i of the plane (nv vectors) into y, and the state moved on
   to vector i + 1.  EDGE: near the plane's ends (loads that may fall
   outside the plane or on its last vector, the last vector's store). */
ISA_FN void IFN(tp_step)(const IFN(dw_tp_ctx) *c, const IFN(dw_tp_taps) *t, IFN(dw_tp_state) *s,
                         const TYPE *x, TYPE *y, int64_t i, int64_t nv, const int SP,
                         const int EDGE, const int ACC)
{
    const VT z = V_SET1((TYPE)0);
    /* vector i + 1's rows and its Q2 */
    const int R = DW_TP_RING(SP);
    const VT un = R ? IFN(tp_perm)(s->r[0], c->up, s->r[1]) : IFN(tp_perm)(s->ua, c->up, s->ub);
    const VT cn = R ? s->r[SP] : DW_TP_LOAD(i + 1);
    const VT dn = R ? IFN(tp_perm)(s->r[2 * SP - 1], c->down, s->r[2 * SP])
                    : IFN(tp_perm)(s->da, c->down, s->db);
    const VT q2n = V_FMA(t->w22, dn, V_FMA(t->w12, cn, V_FMA(t->w02, un, z)));
    VT acc = IFN(tp_alignm)(t->q0z, c->cm[0][i], s->q0, s->q0p, DW_VL - 1);
    acc = V_FMA(t->w01, s->u, acc);
    acc = V_FMA(t->w11, s->ce, acc);
    acc = V_FMA(t->w21, s->d, acc);
    acc = V_ADD(acc, IFN(tp_alignm)(t->q2z, c->cm[2][i], q2n, s->q2, 1));
    if (ACC)   /* the sum so far of the depth slices before */
        acc = V_ADD(EDGE && i == nv - 1 ? IFN(v_maskz_load)(c->cm[1][i], y + i * DW_VL)
                                        : V_LOAD(y + i * DW_VL),
                    acc);
    if (EDGE && i == nv - 1)
        IFN(v_mask_store)(y + i * DW_VL, c->cm[1][i], acc);
    else
        V_STORE(y + i * DW_VL, acc);
    s->q0p = s->q0;
    s->q0 = V_FMA(t->w20, dn, V_FMA(t->w10, cn, V_FMA(t->w00, un, t->bv)));
    s->q2 = q2n;
    s->u = un;
    s->ce = cn;
    s->d = dn;
    if (R) {
        DW_UNROLL
        for (int k = 0; k < 2 * SP; k++)
            s->r[k] = s->r[k + 1];
        s->r[2 * SP] = DW_TP_LOAD(i + 2 + SP);
    } else {
        s->ua = s->ub;
        s->ub = DW_TP_LOAD(i + 3 - SP);
        s->da = s->db;
        s->db = DW_TP_LOAD(i + 2 + SP);
    }
}

/* One plane whose rows span at most SP vectors, vector by vector (NV > 0:
   planes of NV vectors, unrolled).  For vector i the rows above (U), at
   (C) and below (D): C is the plane's vector i, U and D a permute each of
   the two vectors SP back and SP on (zeros before and after the plane;
   the last vector masked, so nothing past the plane is read); the taps of
   column kw = 0 are summed over the three rows at the input's positions
   (Q0 = bias + U w00 + C w10 + D w20), those of kw = 2 too (Q2 = U w02 +
   C w12 + D w22), and the output is Q0 moved one lane up, then the three
   taps of kw = 1, then plus Q2 moved one lane down: two lane moves per
   vector instead of six.  Lanes whose column j - 1 (j + 1) lies outside
   the row take Q0 (Q2) of a zero column, so each element is exactly that
   sum over the zero-padded input: non-finite taps give NaN at the borders
   as they would with the padding multiplied. */
ISA_FN void IFN(tp_plane)(const IFN(dw_tp_ctx) *c, const TYPE *x, const TYPE *w, TYPE bias,
                          TYPE *y, const int SP, const int NV, const int ACC)
{
    const int64_t nv = NV > 0 ? NV : c->nv;
    const VT z = V_SET1((TYPE)0);
    IFN(dw_tp_taps) t;
    t.w00 = V_SET1(w[0]);
    t.w01 = V_SET1(w[1]);
    t.w02 = V_SET1(w[2]);
    t.w10 = V_SET1(w[3]);
    t.w11 = V_SET1(w[4]);
    t.w12 = V_SET1(w[5]);
    t.w20 = V_SET1(w[6]);
    t.w21 = V_SET1(w[7]);
    t.w22 = V_SET1(w[8]);
    t.bv = V_SET1(bias);
    t.q0z = V_FMA(t.w20, z, V_FMA(t.w10, z, V_FMA(t.w00, z, t.bv)));
    t.q2z = V_FMA(t.w22, z, V_FMA(t.w12, z, V_FMA(t.w02, z, z)));
    /* vector 0's rows, then the pairs for vector 1 */
    const int EDGE = 1;
    IFN(dw_tp_state) s;
    s.u = IFN(tp_perm)(DW_TP_LOAD(-SP), c->up, DW_TP_LOAD(1 - SP));
    s.ce = DW_TP_LOAD(0);
    s.d = IFN(tp_perm)(DW_TP_LOAD(SP - 1), c->down, DW_TP_LOAD(SP));
    s.q0 = V_FMA(t.w20, s.d, V_FMA(t.w10, s.ce, V_FMA(t.w00, s.u, t.bv)));
    s.q2 = V_FMA(t.w22, s.d, V_FMA(t.w12, s.ce, V_FMA(t.w02, s.u, z)));
    s.q0p = z;   /* vector 0's lane 0 is column 0: it takes q0z */
    if (DW_TP_RING(SP)) {
        DW_UNROLL
        for (int k = 0; k <= 2 * SP; k++)
            s.r[k] = DW_TP_LOAD(k + 1 - SP);
    } else {
        s.ua = DW_TP_LOAD(1 - SP);
        s.ub = DW_TP_LOAD(2 - SP);
        s.da = DW_TP_LOAD(SP);
        s.db = DW_TP_LOAD(SP + 1);
    }
    if (NV > 0) {
        DW_UNROLL
        for (int64_t i = 0; i < NV; i++)
            IFN(tp_step)(c, &t, &s, x, y, i, nv, SP, 1, ACC);
    } else {
        /* the steps that load from before the plane, those that load and
           store inside it but for its last vector, the rest */
        int64_t i = 0;
        for (; i < SP - 3 && i < nv; i++)
            IFN(tp_step)(c, &t, &s, x, y, i, nv, SP, 1, ACC);
        /* unrolled by a multiple of how long the state's registers turn
           over (the ring 2 SP + 1 steps, Q0 two): no moves between them
           (float32 192 x 28x28, batch 8: 5 % faster, float64 7 %) */
        const int U = SP == 1 ? 6 : SP == 2 ? 10 : 2;
        for (; i + U <= nv - 3 - SP; i += U) {
            DW_UNROLL
            for (int k = 0; k < U; k++)
                IFN(tp_step)(c, &t, &s, x, y, i + k, nv, SP, 0, ACC);
        }
        for (; i < nv - 3 - SP; i++)
            IFN(tp_step)(c, &t, &s, x, y, i, nv, SP, 0, ACC);
        for (; i < nv; i++)
            IFN(tp_step)(c, &t, &s, x, y, i, nv, SP, 1, ACC);
    }
}
#  undef DW_TP_LOAD
#  undef DW_TP_RING

/* an instance for rows of at most SP vectors, planes of NV vectors (0: any
   number) */
#  define DW_TP_PLANE(NAME, SP, NV)                                            \
    static ISA_ATTR DW_NOINLINE void IFN(NAME)(const IFN(dw_tp_ctx) *c, const TYPE *x, \
                                               const TYPE *w, TYPE bias, TYPE *y)      \
    {                                                                          \
        IFN(tp_plane)(c, x, w, bias, y, SP, NV, 0);                           \
    }                                                                          \
    static ISA_ATTR DW_NOINLINE void IFN(NAME##_acc)(const IFN(dw_tp_ctx) *c, const TYPE *x, \
                                                     const TYPE *w, TYPE bias, TYPE *y)      \
    {                                                                          \
        IFN(tp_plane)(c, x, w, bias, y, SP, NV, 1);                           \
    }
DW_TP_PLANE(tp_plane1, 1, 0)
DW_TP_PLANE(tp_plane2, 2, 0)
DW_TP_PLANE(tp_plane3, 3, 0)
DW_TP_PLANE(tp_plane4, 4, 0)
/* planes of one to DW_TP_SMALL vectors (rows of at most one), unrolled */
#  define DW_TP_SMALL 16
#  define DW_TP_SMALLS(A, B, C, D)                                             \
    DW_TP_PLANE(tp_small##A, 1, A)                                             \
    DW_TP_PLANE(tp_small##B, 1, B)                                             \
    DW_TP_PLANE(tp_small##C, 1, C)                                             \
    DW_TP_PLANE(tp_small##D, 1, D)
DW_TP_SMALLS(1, 2, 3, 4)
DW_TP_SMALLS(5, 6, 7, 8)
DW_TP_SMALLS(9, 10, 11, 12)
DW_TP_SMALLS(13, 14, 15, 16)
#  undef DW_TP_SMALLS
#  undef DW_TP_PLANE

typedef void (*IFN(dw_tp_fn))(const IFN(dw_tp_ctx) *, const TYPE *, const TYPE *, TYPE, TYPE *);

/* Output planes [u0, u1) of the batch * out_channels (3-D: depth slices
   of the batch * out_channels * out_d), in order; c from tp_ctx_init. */
static ISA_ATTR void IFN(dw_tp_task)(const dw_geom *g, const IFN(dw_tp_ctx) *c,
                                     const TYPE *w, const TYPE *b, const TYPE *x, TYPE *y,
                                     int64_t u0, int64_t u1)
{
#  define DW_TP_TABS(SFXA)                                                     \
    static const IFN(dw_tp_fn) planes##SFXA[DW_TP_SPMAX] = {                   \
        IFN(tp_plane1##SFXA), IFN(tp_plane2##SFXA), IFN(tp_plane3##SFXA),      \
        IFN(tp_plane4##SFXA)};                                                 \
    static const IFN(dw_tp_fn) small##SFXA[DW_TP_SMALL] = {                    \
        IFN(tp_small1##SFXA),  IFN(tp_small2##SFXA),  IFN(tp_small3##SFXA),    \
        IFN(tp_small4##SFXA),  IFN(tp_small5##SFXA),  IFN(tp_small6##SFXA),    \
        IFN(tp_small7##SFXA),  IFN(tp_small8##SFXA),  IFN(tp_small9##SFXA),    \
        IFN(tp_small10##SFXA), IFN(tp_small11##SFXA), IFN(tp_small12##SFXA),   \
        IFN(tp_small13##SFXA), IFN(tp_small14##SFXA), IFN(tp_small15##SFXA),   \
        IFN(tp_small16##SFXA)};
    DW_TP_TABS()
    DW_TP_TABS(_acc)
#  undef DW_TP_TABS
    const int sm = c->span == 1 && c->nv <= DW_TP_SMALL;
    const IFN(dw_tp_fn) plane = sm ? small[c->nv - 1] : planes[c->span - 1];
    const IFN(dw_tp_fn) plane_acc = sm ? small_acc[c->nv - 1] : planes_acc[c->span - 1];
    const int64_t cout = g->groups * g->mult;
    if (dw_is_2d(g)) {
        int64_t n = u0 / cout, oc = u0 % cout;
        /* one output channel per group: unit u reads input plane u; the
           next unit's input and output asked for, into the first-level
           cache (as the narrow-plane kernels; mbv2_dw_28 at batch 8
           alternated with an 8 MB copy: 123-151 -> 119-122 us) */
        const int pf = g->mult == 1;
        for (int64_t u = u0; u < u1; u++) {
            const TYPE *xp = x + (n * g->groups + oc / g->mult) * g->in_plane;
            const TYPE bias = b != NULL ? b[oc] : (TYPE)0;
            TYPE *yp = y + u * g->out_plane;
            if (pf && u + 1 < u1) {
                IFN(pf_range_l1)(x + (u + 1) * g->in_plane, g->in_plane * (int64_t)sizeof(TYPE));
                IFN(pf_range_l1)(yp + g->out_plane, g->out_plane * (int64_t)sizeof(TYPE));
            }
            plane(c, xp, w + oc * g->kvol, bias, yp);
            if (++oc == cout) {
                oc = 0;
                n++;
            }
        }
        return;
    }
    /* 3-D: a unit per output depth slice, the sum of the input slices
       under the filter's depth taps (those over depth padding left out),
       the first with the bias, the others added to it; the input slice
       the next unit adds and its output asked for */
    const int64_t sl_in = g->in_h * g->in_w, sl_out = g->out_h * g->out_w;
    int64_t od = u0 % g->out_d, n = u0 / g->out_d / cout, oc = u0 / g->out_d % cout;
    for (int64_t u = u0; u < u1; u++) {
        const TYPE *xp = x + (n * g->groups + oc / g->mult) * g->in_plane;
        const TYPE bias = b != NULL ? b[oc] : (TYPE)0;
        TYPE *yp = y + u * sl_out;
        if (u + 1 < u1) {
            if (od + 1 < g->out_d) {   /* (a slice inside the output: no overflow) */
                const int64_t id = (od + 1) * g->sd - g->pd + (g->kd - 1) * g->dd;
                if (id >= 0 && id < g->in_d)
                    IFN(pf_range_l1)(xp + id * sl_in, sl_in * (int64_t)sizeof(TYPE));
            }
            IFN(pf_range_l1)(yp + sl_out, sl_out * (int64_t)sizeof(TYPE));
        }
        int first = 1;
        for (int64_t kd = 0; kd < g->kd; kd++) {
            const int64_t id = od * g->sd - g->pd + kd * g->dd;
            if (id < 0 || id >= g->in_d)
                continue;
            (first ? plane : plane_acc)(c, xp + id * sl_in, w + oc * g->kvol + kd * 9,
                                        first ? bias : (TYPE)0, yp);
            first = 0;
        }
        if (first)   /* every depth tap over padding */
            for (int64_t e = 0; e < sl_out; e++)
                yp[e] = bias;
        if (++od == g->out_d) {
            od = 0;
            if (++oc == cout) {
                oc = 0;
                n++;
            }
        }
    }
}
#endif /* DW_ISA == DW_ISA_AVX512 */

/* ---- a task: the work units [u0, u1) of the split ------------------------ */

static ISA_ATTR void IFN(dw_task)(const dw_geom *g, const dw_split *p, const TYPE *w,
                                  const TYPE *b, const TYPE *x, TYPE *y,
                                  const TYPE *zeros, int64_t u0, int64_t u1)
{
    DW_ARGS a;
    a.zeros = zeros;
    void (*kern)(const DW_ARGS *);
#if DW_HAS_SPECS
    IFN(dw_mtab) mt;
    if (g->spec >= 0) {
        kern = IFN(dw_spec_table)[g->spec];
#if DW_S1_ALIGN
        /* undilated stride 1 on rows of at most two vectors */
        const int *sp = dw_specs[g->spec];
        if (sp[1] == 1 && !sp[2] && g->out_w <= 2 * DW_VL)
            kern = sp[0] == 3 ? IFN(dw_k3s1n) : sp[0] == 5 ? IFN(dw_k5s1n) : kern;
#endif
        IFN(mtab_init)(&mt, g, dw_specs[g->spec][0], dw_specs[g->spec][1], g->dw);
        a.masks = &mt;
    } else
#endif
    {
        kern = g->sw == 1 ? (g->kw == 1 ? IFN(dw_gen_vert) : IFN(dw_gen_s1))
             : g->sw == 2 ? IFN(dw_gen_s2) : IFN(dw_gen_sn);
        a.masks = NULL;
    }
    const int64_t cout = g->groups * g->mult;
    const int64_t kslice = g->kh * g->kw;
    const int64_t in_hw = g->in_h * g->in_w;
    const int64_t rows = g->out_d * g->out_h;
    a.g = g;
    a.stream = g->stream && (double)p->planes *
                                (double)(g->in_plane + g->mult * g->out_plane) *
                                (double)sizeof(TYPE) >=
                            (double)DW_SPEC_STREAM_BYTES;
    a.nsl = 1;
    dw_pf pf;
    pf.x = pf.xend = pf.y = pf.yend = 0;
    a.pf = &pf;
    a.pfstep = a.pfystep = 0;
    /* Specialised kernels, one unit per plane (3-D: per volume) with all its
       output channels: each chunk asks for its share of the next plane and of
       its output planes, into the second-level cache, so the memory works
       while the kernel computes (the hardware's own prefetch ramps up on each
       of the plane's row streams anew, too late for planes of a few KB).
       Alternated with PyTorch calls (whose own arrays evict ours from the
       caches), 2 threads, float32, batch 8: 3x3 on 56x56 (14 MB in) 1.23 ->
       0.65 ms, 5x5 on 28x28 0.72 -> 0.41 ms, 7x7 on 56x56 2.45 -> 0.99 ms;
       timed alone unchanged or faster (3x3 dilated 2 on 33x33 0.58 -> 0.46
       ms), batch 1 unchanged.  The next plane's output lines too, unless
       streaming stores write them past the caches: a store to a line that is
       not in the caches waits for it to be read, the same latency (effb0 5x5
       on 28x28, batch 8, after 64 MB of other memory traffic: 0.67 -> 0.42
       ms; 3x3 on 56x56: 0.91 -> 0.62 ms).  3-D goes over each output slice
       once per filter slice; the ranges move on from pass to pass (3x3x3 at
       batch 8, 2 threads: 108 x 8x28x28 3.3-3.7 -> 1.5 ms, 256 x 8x14x14
       1.3-1.5 -> 1.1 ms), and so does each output channel of a multiplier
       (3x3, 16 x 4 channels of 112x112, batch 8: 0.48-0.62 -> 0.42 ms). */
    const int pf_next = g->spec >= 0 && p->rblocks == 1 && p->mblocks == 1;
#if DW_ISA != DW_ISA_GENERIC
    /* The general kernel: the next plane's lines all at once, for planes
       of at most DW_GEN_PF_PLANE bytes in and out when the arrays are
       larger than the second-level caches (DW_GEN_PF_BYTES).  1-D, 3 taps
       at stride 2, 128 x 2000 at batch 8, 2 threads: alternated with
       PyTorch 0.33-0.36 -> 0.20-0.21 ms, after 64 MB of other memory
       traffic 0.55 -> 0.33 ms; timed alone 0.17 -> 0.19 ms. */
    const double unit_bytes = (double)(g->in_plane + g->mult * g->out_plane) * sizeof(TYPE);
    const int pf_small = g->spec < 0 && p->rblocks == 1 && p->mblocks == 1 &&
                         unit_bytes <= (double)DW_GEN_PF_PLANE &&
                         unit_bytes * (double)p->planes >= (double)DW_GEN_PF_BYTES;
#endif
    const int64_t pfbytes = g->in_plane * (int64_t)sizeof(TYPE);
    const int64_t pfybytes = g->mult * g->out_plane * (int64_t)sizeof(TYPE);
    if (pf_next) {
        /* the next plane's lines over the chunks of a plane: its groups of
           rows times the chunks of a row, times the passes (output
           channels, filter slices) */
        const int64_t R = DW_SPEC_ROWS(g->kh, g->sh);
        const int64_t chunks = g->mult * g->out_d * g->kd * ((g->out_h + R - 1) / R) *
                               ((g->out_w + DW_VL - 1) / DW_VL);
        a.pfstep = (pfbytes / 64 + chunks - 1) / chunks;
        if (!a.stream)
            a.pfystep = (pfybytes / 64 + chunks - 1) / chunks;
    }

    /* unit u is (plane, channel block mb, row block rb), rb fastest */
    int64_t rb = u0 % p->rblocks, mb = (u0 / p->rblocks) % p->mblocks;
    int64_t plane = u0 / p->rblocks / p->mblocks;
    int64_t n = plane / g->groups, grp = plane % g->groups;
    for (int64_t u = u0; u < u1; u++) {
        if (u > u0) {
            if (++rb == p->rblocks) {
                rb = 0;
                if (++mb == p->mblocks) {
                    mb = 0;
                    plane++;
                    if (++grp == g->groups) {
                        grp = 0;
                        n++;
                    }
                }
            }
        }
        const int64_t m0 = mb * p->mper;
        const int64_t m1 = m0 + p->mper < g->mult ? m0 + p->mper : g->mult;
        const int64_t r0 = rb * p->rper;
        const int64_t r1 = r0 + p->rper < rows ? r0 + p->rper : rows;
        const TYPE *xplane = x + plane * g->in_plane;
        if (pf_next && u + 1 < u1) {
            pf.x = (uintptr_t)(xplane + g->in_plane);
            pf.xend = pf.x + (uintptr_t)pfbytes;
            pf.y = (uintptr_t)(y + (plane + 1) * g->mult * g->out_plane);
            pf.yend = pf.y + (uintptr_t)pfybytes;
        } else {
            pf.x = pf.xend = pf.y = pf.yend = 0;
        }
#if DW_ISA != DW_ISA_GENERIC
        /* the general kernel, small planes: the next plane's lines asked
           for at once */
        if (pf_small && u + 1 < u1) {
            IFN(pf_range)(xplane + g->in_plane, pfbytes);
            IFN(pf_range)(y + (plane + 1) * g->mult * g->out_plane, pfybytes);
        }
#endif

        /* the rows of each output depth slice in [r0, r1) */
        int64_t od = g->out_d == 1 ? 0 : r0 / g->out_h;
        int64_t oh = r0 - od * g->out_h;
        for (int64_t r = r0; r < r1; od++, oh = 0) {
            const int64_t oh1 = g->out_h - oh < r1 - r ? g->out_h : oh + (r1 - r);
            a.oh0 = oh;
            a.oh1 = oh1;
            int any = 0;
            /* the filter slices that read inside the input: kd0 .. kd1 - 1
               (the input slice grows with kd); the general kernel takes
               them all at once, the specialised ones one at a time */
            int64_t kd0 = 0, kd1 = 0;
            for (int64_t kd = 0; kd < g->kd; kd++) {
                const int64_t id = od * g->sd - g->pd + kd * g->dd;
                if (id >= 0 && id < g->in_d) {
                    if (kd1 == 0)
                        kd0 = kd;
                    kd1 = kd + 1;
                }
            }
            for (int64_t kd = kd0; kd < kd1; kd++) {
                const int64_t id = od * g->sd - g->pd + kd * g->dd;
                a.slice = xplane + id * in_hw;
                a.first = !any;
                a.nsl = g->spec < 0 ? kd1 - kd0 : 1;
                /* slices inside the input, so the step fits (a dilation
                   far past the input would overflow it) */
                a.sstep = a.nsl > 1 ? g->dd * in_hw : 0;
                for (int64_t m = m0; m < m1; m++) {
                    const int64_t oc = grp * g->mult + m;
                    a.y = y + (n * cout + oc) * g->out_plane + (od * g->out_h + oh) * g->out_w;
                    a.w = w + oc * g->kvol + kd * kslice;
                    a.bias = b != NULL ? b[oc] : (TYPE)0;
                    kern(&a);
                }
                any = 1;
                if (g->spec < 0)
                    break;
            }
            if (!any) {
                /* every tap of these rows falls in the depth padding */
                for (int64_t m = m0; m < m1; m++) {
                    const int64_t oc = grp * g->mult + m;
                    TYPE *yrow = y + (n * cout + oc) * g->out_plane +
                                 (od * g->out_h + oh) * g->out_w;
                    const TYPE bias = b != NULL ? b[oc] : (TYPE)0;
                    for (int64_t i = 0; i < (oh1 - oh) * g->out_w; i++)
                        yrow[i] = bias;
                }
            }
            r += oh1 - oh;
        }
    }
#if DW_ISA != DW_ISA_GENERIC
    if (a.stream)
        _mm_sfence();  /* the streaming stores complete before the results are used */
#endif
}

#undef DW_HAS_SPECS
#ifdef DW_TP_SPMAX
#  undef DW_TP_SPMAX
#  undef DW_TP_SMALL
#endif
#undef DW_HAS_CB
#undef DW_S2_ALIGN
#undef DW_S1_ALIGN
#undef DW_S1_ALIGN_OK
#undef DW_S2_ALIGN_OK
#undef DW_BORDERS_ONLY
#undef DW_CHAINS
#undef DW_NARROW
#undef DW_STREAMS
#undef DW_TAPS_IN_REGS
#undef DW_SPEC_ROWS
#undef DW_GEN_ROWS
#undef DW_GEN_RMAX
#undef DW_REGS
#undef V_SET1
#undef V_PIN
#undef V_LOAD
#undef V_STORE
#undef V_FMA
#undef V_ADD
#undef V_EVENS
#undef V_ODDS
#undef DW_VL
#undef VT
#undef MT
#undef ISA_FN
#undef IFN
#undef ISA_TAG
#undef ISA_ATTR
