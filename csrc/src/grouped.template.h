/*
 * grouped.template.h -- the blocked convolution of grouped.c for one element
 * type and one vector level.  Included by grouped.c with defined:
 *
 *   TYPE, SFX        float/f32 or double/f64
 *   ISA              generic, avx2 or avx512 (names the functions)
 *   GTARGET          the target attribute of every function here (or empty)
 *   VL, VT           lanes per vector and the vector type
 *   V_SET1(s), V_LOAD(p), V_FMA(a, b, c) (a * b + c), V_MSTORE(p, lo, hi, v)
 *   (store lanes [lo, hi) of v at p[lane]), V_MLOAD(acc, lo, hi, p) (acc with
 *   lanes [lo, hi) replaced by p[lane])
 *   GK_MOMAX, GK_NVMAX, GK_VARIANTS(X): the micro-kernel shapes X(MO, NV)
 *   that exist (for every MO listed, every NV from 1 up to its largest)
 *   V_LOADZ(p, lo, hi) (lanes [lo, hi) of p[lane], the others zero),
 *   GK_MASKT, V_MASK(lo, hi) and V_LOADZM(p, m) (the same load with the
 *   mask of lanes [lo, hi) made beforehand),
 *   V_STORE(p, v), V_EVEN(a, b) and V_ODD(a, b) (the even and odd elements
 *   of the 2 VL elements of a, b)
 *
 * and, for the kernels with the output channels along the vectors, GK_OCV,
 * GK_OMVMAX, GK_OPMAX, GK_OVARIANTS(X) (shapes X(MV, P): MV vectors of
 * channels x P pixels) and V_TRANSPOSE(r, c) (c[i] lane j = r[j] lane i for
 * VL vectors).
 */
#define FN(name) GK_CAT3(name, SFX, ISA)

/* ---- the micro-kernel ------------------------------------------------------ */

typedef struct FN(kargs) {
    int64_t K;                  /* taps */
    const TYPE *w;              /* weight of output channel m, tap k: w[m * ldw + k] */
    int64_t ldw;
    const TYPE *x;              /* vector v of tap k at x + off[k] + v * VL */
    const int64_t *off;
    const TYPE *bias;           /* bias of channel m (NULL: none); unused when accumulating */
    int accumulate;             /* start from the output instead of the bias */
    TYPE *out;                  /* output channel m at out + m * ldo */
    int64_t ldo;
    const gk_seg *seg;          /* store runs, those of vector v at [segbeg[v], segbeg[v+1]) */
    int segbeg[GK_NVMAX + 1];
} FN(kargs);

/* acc[m][v] = bias[m] (or the output), then acc[m][v] += w[m][k] * x_k[v]
   for k = 0..K-1 in order, then the store runs.  MO and NV are constants in
   each instance, so the accumulators live in registers. */
GK_INLINE GTARGET void FN(kbody)(const FN(kargs) *a, const int MO, const int NV)
{
    VT acc[GK_MOMAX][GK_NVMAX];
    const TYPE *wr[GK_MOMAX];
    GK_UNROLL
    for (int m = 0; m < MO; m++)
        wr[m] = a->w + m * a->ldw;
    if (a->accumulate) {
        GK_UNROLL
        for (int m = 0; m < MO; m++) {
            TYPE *o = a->out + m * a->ldo;   /* the channel's output */
            GK_UNROLL
            for (int v = 0; v < NV; v++) {
                acc[m][v] = V_SET1((TYPE)0);
                for (int i = a->segbeg[v]; i < a->segbeg[v + 1]; i++)
                    acc[m][v] = V_MLOAD(acc[m][v], a->seg[i].lo, a->seg[i].hi,
                                        GK_AT(TYPE, o, a->seg[i].off));
            }
        }
    } else {
        GK_UNROLL
        for (int m = 0; m < MO; m++) {
            VT b = V_SET1(a->bias != NULL ? a->bias[m] : (TYPE)0);
            GK_UNROLL
            for (int v = 0; v < NV; v++)
                acc[m][v] = b;
        }
    }
    const TYPE *x = a->x;
    const int64_t *off = a->off;
    const int64_t K = a->K;
    for (int64_t k = 0; k < K; k++) {
        const TYPE *xk = x + off[k];
        VT xv[GK_NVMAX];
        GK_UNROLL
        for (int v = 0; v < NV; v++)
            xv[v] = V_LOAD(xk + v * VL);
        GK_UNROLL
        for (int m = 0; m < MO; m++) {
            VT wv = V_SET1(wr[m][k]);
            GK_UNROLL
            for (int v = 0; v < NV; v++)
                acc[m][v] = V_FMA(wv, xv[v], acc[m][v]);
        }
    }
    GK_UNROLL
    for (int v = 0; v < NV; v++) {
        for (int i = a->segbeg[v]; i < a->segbeg[v + 1]; i++) {
            const int64_t off = a->seg[i].off;
            const int lo = a->seg[i].lo, hi = a->seg[i].hi;
            GK_UNROLL
            for (int m = 0; m < MO; m++)
                V_MSTORE(GK_AT(TYPE, a->out + m * a->ldo, off), lo, hi, acc[m][v]);
        }
    }
}

#define GK_DEF(MO, NV)                                                       \
    static GTARGET void FN(k_##MO##_##NV)(const FN(kargs) *a)                \
    {                                                                        \
        FN(kbody)(a, MO, NV);                                                \
    }
GK_VARIANTS(GK_DEF)
#undef GK_DEF

typedef void (*FN(kfn))(const FN(kargs) *a);

#define GK_TAB(MO, NV) [MO][NV] = FN(k_##MO##_##NV),
static const FN(kfn) FN(ktab)[GK_MOMAX + 1][GK_NVMAX + 1] = {GK_VARIANTS(GK_TAB)};
#undef GK_TAB

/* Largest NV with a kernel for MO output channels. */
static int FN(nvmax)(int mo)
{
    int nv = 1;
    while (nv < GK_NVMAX && FN(ktab)[mo][nv + 1] != NULL)
        nv++;
    return nv;
}

#ifdef GK_OCV
/* ---- the micro-kernel with output channels along the vectors ---------------- */

typedef struct FN(oargs) {
    int64_t K;                  /* taps */
    const gk_tap *tap;          /* tap k, channel o: w[tap[k].wo * ldw + o]; pixel p: */
    const TYPE *w;              /* x[tap[k].off + p] */
    int64_t ldw;
    const TYPE *x;
    const TYPE *bias;           /* bias of channel o (NULL: none) */
    TYPE *out;                  /* channel o, pixel p: out[o * ldo + p] */
    int64_t ldo;
    int64_t xs;                 /* rows of a pass after the first: pixel p of
                                   row r at x[tap[k].off + r * xs + p] */
    const char *pf;             /* cache lines fetched one a tap, from pf on */
    int64_t npf;                /* (at most K of them) */
} FN(oargs);

/* acc[p][v] = bias, += w[k][v] * x_k[p] for the listed taps k in order (the
   same sums as kbody, less the taps over padding), then each vector's
   VL x P block transposed into the output.  The P pixels are R rows of
   P / R (x_k[p] of row r at x[tap[k].off + r * xs]): a pass of several
   short rows loads each weight vector once for all of them.  Each pixel's
   sum is the same whatever R.  Against a pass a row, 2 threads, float32:
   16 channels a group, 512 x 14x14 at batch 1 83 -> 78 us, batch 8 673 ->
   636 us, 3-D 512 x 4x14x14 3x3x3 at batch 1 815 -> 775 us; 1024 x 7x7 in
   64 groups at batch 1 52 -> 47 us; 32 channels a group (two rows of 7
   and two vectors) 1-3 % faster. */
GK_INLINE GTARGET void FN(obody)(const FN(oargs) *a, const int MV, const int P, const int R)
{
    const int NP = P / R;   /* pixels a row */
    const int64_t xs = a->xs;
    VT acc[GK_OPMAX * 2];   /* pixel q, vector v: acc[q * MV + v] */
    GK_UNROLL
    for (int v = 0; v < MV; v++) {
        VT b = a->bias != NULL ? V_LOAD(a->bias + v * VL) : V_SET1((TYPE)0);
        GK_UNROLL
        for (int q = 0; q < P; q++)
            acc[q * MV + v] = b;
    }
    const TYPE *w = a->w, *x = a->x;
    const gk_tap *tap = a->tap;
    const int64_t K = a->K, npf = a->npf;
    for (int64_t k = 0; k < K; k++) {
        const TYPE *xk = x + tap[k].off, *wk = w + tap[k].wo * a->ldw;
        if (k < npf)
            gk_prefetch(a->pf + k * 64);
        const TYPE *xr[GK_ORMAX];
        GK_UNROLL
        for (int r = 0; r < R; r++)
            xr[r] = xk + r * xs;
        VT wv[GK_OMVMAX];
        GK_UNROLL
        for (int v = 0; v < MV; v++)
            wv[v] = V_LOAD(wk + v * VL);
        GK_UNROLL
        for (int q = 0; q < P; q++) {
            VT xb = V_SET1(xr[q / NP][q % NP]);
            GK_UNROLL
            for (int v = 0; v < MV; v++)
                acc[q * MV + v] = V_FMA(wv[v], xb, acc[q * MV + v]);
        }
    }
    /* VL x VL transposes of pixels [h, h + VL) */
    GK_UNROLL
    for (int v = 0; v < MV; v++) {
        GK_UNROLL
        for (int h = 0; h < P; h += VL) {
            VT r[VL], c[VL];
            GK_UNROLL
            for (int q = 0; q < VL; q++)
                r[q] = h + q < P ? acc[(h + q) * MV + v] : V_SET1((TYPE)0);
            V_TRANSPOSE(r, c);
            TYPE *o = a->out + (int64_t)v * VL * a->ldo + h;
            const int n = P - h < VL ? P - h : VL;
            GK_UNROLL
            for (int i = 0; i < VL; i++)
                V_MSTORE(o + i * a->ldo, 0, n, c[i]);
        }
    }
}

#define GK_ODEF(MV, P)                                                       \
    static GTARGET void FN(o_##MV##_##P)(const FN(oargs) *a)                 \
    {                                                                        \
        FN(obody)(a, MV, P, 1);                                              \
    }
GK_OVARIANTS(GK_ODEF)
#undef GK_ODEF
#define GK_ORDEF(MV, R, NP)                                                  \
    static GTARGET void FN(or_##MV##_##R##_##NP)(const FN(oargs) *a)         \
    {                                                                        \
        FN(obody)(a, MV, (R) * (NP), R);                                     \
    }
GK_ORVARIANTS(GK_ORDEF)
#undef GK_ORDEF

typedef void (*FN(ofn))(const FN(oargs) *a);

#define GK_OTAB(MV, P) [MV][P] = FN(o_##MV##_##P),
static const FN(ofn) FN(otab)[GK_OMVMAX + 1][GK_OPMAX + 1] = {GK_OVARIANTS(GK_OTAB)};
#undef GK_OTAB
#define GK_ORTAB(MV, R, NP) [MV][R][NP] = FN(or_##MV##_##R##_##NP),
static const FN(ofn) FN(ortab)[GK_OMVMAX + 1][GK_ORMAX + 1][GK_OPMAX + 1] = {
    GK_ORVARIANTS(GK_ORTAB)};
#undef GK_ORTAB

/* Largest P with a kernel for MV vectors of channels. */
static int FN(opmax)(int mv)
{
    int pm = 1;
    while (pm < GK_OPMAX && FN(otab)[mv][pm + 1] != NULL)
        pm++;
    return pm;
}

/* The weights of channels [o0, o1) of group g (a multiple of VL of them)
   with the channels contiguous: tap k, channel o0 + o at dst[k * n + o],
   n = o1 - o0.  A kernel call then reads its weights as one stream,
   not a few vectors of each row of coutg channels.  Batch 8, 2 threads,
   float64: AlexNet conv2 (g2, 128 channels a group) 15.3 -> 14.1 ms,
   conv4 (192) 7.8 -> 7.4 ms, 1-D 128 taps on 48 channels a group 79 ->
   74 ms; float32 unchanged.  Returns non-zero when a weight is infinite or
   NaN (w * 0 is then NaN, not 0, and the taps over padding must be
   computed). */
static GTARGET int FN(transpose_weights)(const gconv_shape *s, const TYPE *w, TYPE *dst,
                                         int64_t g, int64_t o0, int64_t o1)
{
    const int64_t K = s->cin_g * s->k_volume, coutg = s->cout_g, n = o1 - o0;
    const TYPE *wg = w + g * coutg * K;
    /* sums of w * 0 (four chains): NaN once a weight is not finite */
    VT nf[4] = {V_SET1((TYPE)0), V_SET1((TYPE)0), V_SET1((TYPE)0), V_SET1((TYPE)0)};
    for (int64_t o = o0; o < o1; o += VL) {
        TYPE *tg = dst + (o - o0);
        for (int64_t k0 = 0; k0 < K; k0 += VL) {
            const int kn = (int)(K - k0 < VL ? K - k0 : VL);
            VT r[VL], c[VL];
            GK_UNROLL
            for (int i = 0; i < VL; i++)
                r[i] = V_LOADZ(wg + (o + i) * K + k0, 0, kn);
            V_TRANSPOSE(r, c);
            GK_UNROLL
            for (int i = 0; i < VL; i++) {
                nf[i % 4] = V_FMA(c[i], V_SET1((TYPE)0), nf[i % 4]);
                if (i < kn)
                    V_STORE(tg + (k0 + i) * n, c[i]);
            }
        }
    }
    TYPE lanes[VL];
    V_STORE(lanes, V_FMA(nf[0], V_SET1((TYPE)1), V_FMA(nf[1], V_SET1((TYPE)1), V_FMA(nf[2], V_SET1((TYPE)1), nf[3]))));
    int bad = 0;
    for (int i = 0; i < VL; i++)
        bad |= lanes[i] != lanes[i];
    return bad;
}
#endif /* GK_OCV */

/* ---- planning -------------------------------------------------------------- */

/* The distinct values of (k * dil) % stride, k < n, into vals; -1 when there
   are more than GK_MAXPH. */
static int FN(phases)(int64_t n, int64_t dil, int64_t stride, int64_t *vals)
{
    int count = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t v = (k * dil) % stride, i;
        for (i = 0; i < count; i++)
            if (vals[i] == v)
                break;
        if (i == count) {
            if (count == GK_MAXPH)
                return -1;
            vals[count++] = v;
            if (count == stride)
                break;   /* every phase is used */
        }
    }
    return count;
}

static int FN(phase_index)(const int64_t *vals, int count, int64_t v)
{
    for (int i = 0; i < count; i++)
        if (vals[i] == v)
            return i;
    return 0;  /* unreachable: v is one of the values */
}

#ifdef GK_OCV
/* The modelled cost of a row of cb pixels with the channels along the
   vectors, blocks of mv of the nvec channel vectors (the last block
   narrower when mv does not divide nvec) and pc pixels a pass, in vector
   multiply-adds per tap: a pass of m vectors and np pixels makes m * np of
   them, loads m + np vectors and broadcasts (two a cycle, as the
   multiply-adds), and needs 8 chains to hide their latency; each pass
   transposes its m vectors once (about 80 per vector, over the K taps).
   Against taking the most lanes a pass (m * np) without counting the
   narrower last block: float64 1024 x 7x7, 32 channels a group (4
   vectors), 3 + 1 -> 2 + 2 vectors, batch 8 1.21 -> 1.16 ms, batch 1
   177 -> 171 us. */
static double FN(ocv_cost)(int64_t nvec, int mv, int64_t cb, int64_t pc, int64_t K)
{
    double c = 0.0;
    for (int64_t o = 0; o < nvec; o += mv) {
        const double m = (double)(nvec - o < mv ? nvec - o : mv);
        for (int64_t j = 0; j < cb; j += pc) {
            const double np = (double)(cb - j < pc ? cb - j : pc);
            double t = m * np;
            if (t < m + np)
                t = m + np;
            if (t < 8.0)
                t = 8.0;
            c += t + m * 80.0 / (double)K;
        }
    }
    return c;
}
#endif

/*
 * Three ways to feed the micro-kernel (k = tap, q = lane):
 *
 * GK_INPLACE  1x1, stride 1, no padding: x_k = input plane of channel k.
 *             depth = 1: a kernel of KD x 1 x 1 taps (temporal), stride 1 and
 *             no padding in height and width, any depth stride, padding and
 *             dilation: items of one output depth slice, the taps in
 *             (kd, channel) order (the weights so reordered once per call)
 *             and x_k = the input slice (channel, kd) of it; the taps over
 *             depth padding are left out, so a weight that is not finite
 *             sends such a layer to the phase buffer instead (w * 0 = NaN).
 * GK_PHASE    an item (image, group, output depth, RB output rows, CB output
 *             columns) first copies the input it needs into a zero-padded
 *             buffer: per (channel, kd, row phase, column phase) a plane of RBq
 *             rows of Wq columns at a stride of Ws <= Wq, where row r, column j
 *             is the input at padded position ((oh0 + r) * sh + row phase,
 *             (ow0 + j) * sw + column phase).  Output pixel (oh0 + i, ow0 + j)
 *             and tap k then read plane element i * Ws + j + off[k]: lanes
 *             q = i * Ws + j, the columns j >= CB computed and not stored
 *             ("extra columns").
 *             When those would cost more than copying (many output channels,
 *             compact = 1), each block of P pixels is first gathered from the
 *             buffer into a tile of kc taps x P lanes without them.
 * GK_COLS     the rare layers whose phase buffer would be too large (huge
 *             kernels, strides or channel counts): the pixel tile is gathered
 *             straight from the input.
 */
static void FN(plan)(const gconv_shape *s, int threads, int nonfinite, gk_plan *p)
{
    memset(p, 0, sizeof *p);
    const int64_t G = s->groups, N = s->batch, coutg = s->cout_g;
    const int64_t OD = s->out[0], OH = s->out[1], OW = s->out[2];
    p->K = s->cin_g * s->k_volume;
    const int64_t plane = s->out_plane;
    const double flops = 2.0 * (double)N * (double)s->out_channels * (double)plane * (double)p->K;
    /* work items wanted: a few per thread, when more than one pays */
    const int tmax = gk_threads(threads, flops, INT64_MAX);
    const int want = tmax > 1 ? 4 * tmax : 1;
    p->nob = (int)gk_ceil_div(coutg, GK_MOMAX);
    p->mo = (int)gk_ceil_div(coutg, p->nob);
    p->nv = FN(nvmax)(p->mo);
    const int64_t P = (int64_t)p->nv * VL;

    int one = s->k_volume == 1;
    for (int d = 0; d < 3; d++)
        one = one && s->stride[d] == 1 && s->pad[d] == 0 && s->pad_after[d] == 0;
    const int depth = gk_depth_only(s);
    const int64_t hw = OH * OW;
    if (one && plane >= VL) {
        p->mode = GK_INPLACE;
        p->nfullvec = plane / VL;
        p->npb = gk_ceil_div(p->nfullvec, p->nv) + (plane % VL != 0);
        p->items = N * G * p->npb;
        p->noff = p->K;
        /* The last plane % VL pixels of a plane take a vector of their own,
           whose other lanes are wasted: on 7x7 planes (3 vectors and 1
           pixel float32) a quarter of the work.  From batch 2, when a tail
           fills at most half a vector and is a seventh of the plane's work
           or more, the tails of several images are copied side by side
           into a tile (kc taps at a time) and computed together after the
           other blocks: the same sums in the same order.  2 threads, timed
           alone, median of 7 runs, float32 batch 8: ShuffleNet v1 g8 1536
           -> 384 channels of 7x7 358 -> 292 us, dense 912 -> 912 of 7x7
           3.82 -> 3.20 ms; batch 2: 912 -> 912 0.93 -> 0.88 ms, 160 -> 960
           179 -> 166 us, 1536 -> 384 in 8 groups 88 -> 93 us.  Not on
           14x14 (12 vectors and 4 pixels): after 64 MB of other memory
           traffic, 768 -> 192 in 8 groups at batch 8 took 25 % longer
           (float64 37 %), the tails read again from memory after the
           blocks. */
        const int64_t rem = plane % VL;
        if (rem != 0 && N > 1 && 2 * rem <= VL && p->nfullvec <= 6) {
            p->npb = gk_ceil_div(p->nfullvec, p->nv);
            p->ntail = gk_ceil_div(N, P / rem);
            p->items = N * G * p->npb + G * p->ntail;
            p->kc = p->K < GK_KC ? p->K : GK_KC;
            p->bufsz = p->kc * P + VL;
        }
    } else if (depth && hw >= VL && !(nonfinite && (s->pad[0] > 0 || s->pad_after[0] > 0))) {
        p->mode = GK_INPLACE;
        p->depth = 1;
        p->nfullvec = hw / VL;
        p->npb = gk_ceil_div(p->nfullvec, p->nv) + (hw % VL != 0);
        p->items = N * G * OD * p->npb;
        p->noff = p->K;
    } else {
        const int64_t KH = s->k[1], KW = s->k[2];
        const int64_t sh = s->stride[1], sw = s->stride[2];
        const int64_t dh = s->dil[1], dw = s->dil[2];
        int nphh = FN(phases)(KH, dh, sh, p->phh);
        int nphw = FN(phases)(KW, dw, sw, p->phw);
        int64_t offh = ((KH - 1) * dh) / sh, offw = ((KW - 1) * dw) / sw;
        /* (in floating point until the sizes are known to be small) */
        const double planes_d = (double)s->cin_g * (double)s->k[0] * (nphh > 0 ? nphh : 1) *
                                (nphw > 0 ? nphw : 1);
        /* whole output rows when one row block fits the buffer (long 1-D
           rows read as one stream), else blocks of columns */
        double cbmax = GK_PHASE_BUF / (planes_d * (double)(1 + offh)) - (double)offw;
        if (cbmax < 256)
            cbmax = 256;
        int64_t CB = (double)OW <= cbmax ? OW : gk_ceil_div(OW, gk_ceil_div(OW, (int64_t)cbmax));
        int64_t Wq = CB + offw;
        if (nphh > 0 && nphw > 0 && offw <= 4096 && offh <= 4096 &&
            planes_d * ((double)(1 + offh) * (double)Wq + VL) <= 4.0 * GK_PHASE_BUF) {
            const int64_t planes = (int64_t)planes_d;
            int64_t RB = GK_PHASE_BUF / (planes * Wq) - offh;
            if (RB < 1)
                RB = 1;
            if (RB > OH)
                RB = OH;
            const int64_t RB0 = RB;   /* before the split for the threads */
            (void)RB0;
            int64_t ncb = gk_ceil_div(OW, CB);
            int64_t base_items = N * G * OD * ncb;
            /* enough row blocks to keep the threads busy */
            if (base_items * gk_ceil_div(OH, RB) < want) {
                int64_t nrb = gk_ceil_div(want, base_items);
                if (nrb > OH)
                    nrb = OH;
                int64_t rb2 = gk_ceil_div(OH, nrb);
                if (rb2 < RB)
                    RB = rb2;
            }
            /* Row stride Ws <= Wq: a row's trailing zero columns may double as
               the next row's leading ones (the same plane elements). */
            int64_t Ws = CB;
            for (int64_t cbi = 0; cbi < ncb; cbi++) {
                int64_t minlo = Wq;
                for (int b = 0; b < nphw; b++) {
                    int64_t lo, hi;
                    gk_valid(cbi * CB * sw + p->phw[b] - s->pad[2], sw, s->in[2], Wq, &lo, &hi);
                    if (hi > Ws)
                        Ws = hi;
                    if (lo < minlo)
                        minlo = lo;
                }
                if (CB + offw - minlo > Ws)
                    Ws = CB + offw - minlo;
            }
            if (Ws > Wq)
                Ws = Wq;
            p->mode = GK_PHASE;
            p->Ws = Ws;
            p->nphh = nphh;
            p->nphw = nphw;
            p->CB = CB;
            p->ncb = ncb;
            p->Wq = Wq;
            p->RB = RB;
            p->RBq = RB + offh;
            p->nrb = gk_ceil_div(OH, RB);
            p->planes = planes;
            p->plq = (p->RBq - 1) * Ws + Wq + VL;
            p->items = base_items * p->nrb;
            p->noff = p->K;
            p->bufsz = planes * p->plq + Wq + (int64_t)VL * (GK_NVMAX + 1);
            /* extra columns against the cost of gathering tiles, in vector
               multiply-adds per tap (a run copy costs about 2 of them) */
            double vec_extra = (double)gk_ceil_div((RB - 1) * Ws + CB, VL);
            double vec_compact = (double)gk_ceil_div(RB * CB, VL);
            double copy = 2.0 * (1.0 + (double)VL / (double)CB);
            double cost = vec_extra * (double)coutg;
            if (vec_compact * ((double)coutg + copy) < cost) {
                p->compact = 1;
                cost = vec_compact * ((double)coutg + copy);
            }
#ifdef GK_OCV
            /* channels along the vectors: no idle lanes, but a transpose
               of each output block (about 80 per block and vector) and of
               the weights (once per call).  Weighed on the row blocks
               before the split for the threads: this kernel leaves out the
               taps over padding rows, so the choice must not depend on the
               thread count (a -0 sum could turn +0). */
            if (coutg % VL == 0) {
                const int64_t nvec = coutg / VL;
                int best = 0;
                int64_t bestp = 0;
                double bestc = 0.0;
                for (int mv = 1; mv <= GK_OMVMAX && mv <= nvec; mv++) {
                    const int64_t pm = FN(opmax)(mv);
                    const int64_t pc = gk_ceil_div(CB, gk_ceil_div(CB, pm));
                    const double c = FN(ocv_cost)(nvec, mv, CB, pc, p->K);
                    if (best == 0 || c <= bestc) {
                        best = mv;
                        bestp = pc;
                        bestc = c;
                    }
                }
                const double pix = (double)RB0 * (double)CB;
                const double extra0 = (double)gk_ceil_div((RB0 - 1) * Ws + CB, VL) * (double)coutg;
                const double compact0 = (double)gk_ceil_div(RB0 * CB, VL) * ((double)coutg + copy);
                const double cost0 = compact0 < extra0 ? compact0 : extra0;
                double ocv = pix * (double)coutg / VL +
                             pix / (double)bestp * (double)nvec * 80.0 / (double)p->K +
                             (double)coutg * 0.3 / (double)(N * OD * gk_ceil_div(OH, RB0));
                if (ocv < cost0) {
                    p->ocv = 1;
                    p->compact = 0;
                    p->mv = best;
                    p->nob = (int)gk_ceil_div(nvec, best);
                }
            }
#endif
            if (p->compact) {
                p->kc = p->K < GK_KC ? p->K : GK_KC;
                p->tile = p->bufsz;
                p->bufsz += p->kc * P + VL;
            }
        } else {
            p->mode = GK_COLS;
            p->npb = gk_ceil_div(plane, P);
            p->items = N * G * p->npb;
            p->kc = p->K < GK_KC ? p->K : GK_KC;
            p->noff = 0;
            p->bufsz = p->kc * P + VL;
        }
    }
    /* split the output channels when there are too few items */
    p->nocc = 1;
    if (p->items < want) {
        int64_t nocc = gk_ceil_div(want, p->items);
        if (nocc > p->nob)
            nocc = p->nob;
        p->nocc = nocc;
    }
    p->occ = gk_ceil_div(p->nob, p->nocc);
    p->nocc = gk_ceil_div(p->nob, p->occ);
    p->items *= p->nocc;
    /* the next item's input is fetched while an item computes when the
       input is larger than GK_PREFETCH_BYTES or holds a batch of several
       items: an array that the caches held at the last call may be gone
       by the next (another library's call in between, other programs),
       the more so as the work around the call grows with the batch.
       Batch 8, 2 threads, float32, after 64 MB of other memory traffic:
       resnext50 stage 2 (256 channels, 28x28) 1.31 -> 0.99 ms, stage 3
       0.99 -> 0.85 ms, stage 4 0.86 -> 0.79 ms; unchanged when the caches
       hold the arrays.  At batch 1 the caches mostly hold the input and
       the prefetches cost: 3x3 stride 2 on 256 channels of 56x56 12 %
       slower.  In place, the K input rows of a block are K short streams,
       which the hardware follows badly, and its output rows as many more:
       both are fetched two blocks ahead (the input alone, one block
       ahead, came too late unless K was small), but not on small inputs
       (1x1 on 60 channels of 28x28 at batch 8, 1.5 MB: 4 % slower with
       it).  Batch 8, 2 threads, alternated with PyTorch, median of three
       runs, against the input alone one block ahead for K <= 32 only:
       ShuffleNet v1 g3 240 -> 60 channels of 28x28 float32 0.82 -> 0.55
       ms, float64 1.41 -> 0.91 ms; g8 384 -> 96 float32 1.21 -> 0.69 ms,
       float64 2.43 -> 1.16 ms; 384 -> 384 in 8 groups float32 2.52 ->
       1.70 ms, float64 4.20 -> 2.85 ms; 256 channels of 56x56 in 8
       groups float32 7.1 -> 5.7 ms; dense 256 -> 128 channels of 56x56
       float32 10.0 -> 8.6 ms.  Phase mode fetches the next item's output
       rows too (pf_out_item): a store to a line outside the caches waits
       for it to be read.  Batch 8 after 64 MB of other memory traffic, 2
       threads:
       resnext50 stage 1 (128 channels, 56x56) float32 1.20 -> 0.99 ms,
       float64 2.42 -> 2.00 ms, stage 2 float32 0.95 -> 0.77 ms; timed
       alone, stage 1 float64 (51 MB, past the caches) 2.2 -> 1.9 ms, the
       others unchanged */
    const double in_bytes = (double)s->input_elements * sizeof(TYPE);
    p->prefetch = p->depth ? 0
                : p->mode == GK_INPLACE ? in_bytes > GK_PREFETCH_BYTES / 4
                                        : in_bytes > GK_PREFETCH_BYTES || s->batch > 1;
    p->nt = gk_threads(threads, flops, p->items);
}

/* ---- filling the pixel sources --------------------------------------------- */

/* dst[j] = src[j * step] for j in [lo, hi) and 0 for the other j in [0, n),
   in whole vectors (so up to VL - 1 elements past n are written too); src
   may point outside the input, only the elements read must be inside. */
GK_INLINE GTARGET void FN(copy_row)(TYPE *dst, const TYPE *src, int64_t step,
                                    int64_t n, int64_t lo, int64_t hi)
{
    for (int64_t j0 = 0; j0 < n; j0 += VL) {
        int64_t a = lo - j0, b = hi - j0;
        if (a < 0)
            a = 0;
        if (b > VL)
            b = VL;
        if (a >= b) {
            V_STORE(dst + j0, V_SET1((TYPE)0));
        } else if (step == 1) {
            if (a == 0 && b == VL)
                V_STORE(dst + j0, V_LOAD(GK_AT(const TYPE, src, j0)));
            else
                V_STORE(dst + j0, V_LOADZ(GK_AT(const TYPE, src, j0), (int)a, (int)b));
        } else if (step == 2) {
            /* elements [2a, 2b - 1) of the 2 VL from src + 2 j0 hold the lanes */
            const int64_t ea = 2 * a, eb = 2 * b - 1;
            VT x0 = V_LOADZ(GK_AT(const TYPE, src, 2 * j0), (int)(ea < VL ? ea : VL),
                            (int)(eb < VL ? eb : VL));
            VT x1 = V_LOADZ(GK_AT(const TYPE, src, 2 * j0 + VL), (int)(ea > VL ? ea - VL : 0),
                            (int)(eb > VL ? eb - VL : 0));
            V_STORE(dst + j0, V_EVEN(x0, x1));
        } else {
            V_STORE(dst + j0, V_SET1((TYPE)0));
            for (int64_t j = a; j < b; j++)
                dst[j0 + j] = *GK_AT(const TYPE, src, (j0 + j) * step);
        }
    }
}

/* Stride 2, both column phases at once: even[j] = src[2j], odd[j] =
   src[2j + 1] for j in [0, n), each element e of src read only when
   emin <= e < emax (zero otherwise); whole vectors as copy_row. */
GK_INLINE GTARGET void FN(copy_row_eo)(TYPE *even, TYPE *odd, const TYPE *src,
                                       int64_t n, int64_t emin, int64_t emax)
{
    for (int64_t j0 = 0; j0 < n; j0 += VL) {
        int64_t a = emin - 2 * j0, b = emax - 2 * j0;
        if (a < 0)
            a = 0;
        if (b > 2 * VL)
            b = 2 * VL;
        if (a >= b) {
            /* no element of these vectors is read (a far past them would
               also make a mask shift wider than the mask) */
            V_STORE(even + j0, V_SET1((TYPE)0));
            V_STORE(odd + j0, V_SET1((TYPE)0));
            continue;
        }
        VT x0, x1;
        if (a == 0 && b == 2 * VL) {
            x0 = V_LOAD(GK_AT(const TYPE, src, 2 * j0));
            x1 = V_LOAD(GK_AT(const TYPE, src, 2 * j0 + VL));
        } else {
            x0 = V_LOADZ(GK_AT(const TYPE, src, 2 * j0), (int)(a < VL ? a : VL),
                         (int)(b < VL ? b : VL));
            x1 = V_LOADZ(GK_AT(const TYPE, src, 2 * j0 + VL), (int)(a > VL ? a - VL : 0),
                         (int)(b > VL ? b - VL : 0));
        }
        V_STORE(even + j0, V_EVEN(x0, x1));
        V_STORE(odd + j0, V_ODD(x0, x1));
    }
}

/* Rows of one vector (the planes of small outputs), stride 1: the nr rows
   of a plane, Ws apart from dst, zeros but for rows [lo, hi), which come
   from the input rows at element offsets so, so + step, ... of xg, loaded
   with mask m.  One loop for the plane, the zero rows in it (as loops of
   their own they became calls of memset), the mask in a register: within
   pack_phase's nest of loops such a row took 6 cycles (7x7 planes), a
   stride-2 row 14. */
GK_INLINE GTARGET void FN(rows_s1)(TYPE *dst, const TYPE *xg, int64_t so, int64_t step,
                                   int64_t nr, int64_t lo, int64_t hi, int64_t Ws, GK_MASKT m)
{
    for (int64_t r = 0; r < nr; r++, dst += Ws) {
        VT v = V_SET1((TYPE)0);
        if (r >= lo && r < hi) {
            v = V_LOADZM(GK_AT(const TYPE, xg, so), m);
            so += step;
        }
        V_STORE(dst, v);
    }
}

/* Stride 2, both column phases, rows of one vector: as rows_s1, the even
   elements of a row's 2 VL input elements to even, the odd ones to odd
   (masks ma, mb for the two input vectors). */
GK_INLINE GTARGET void FN(rows_eo)(TYPE *even, TYPE *odd, const TYPE *xg, int64_t so,
                                   int64_t step, int64_t nr, int64_t lo, int64_t hi,
                                   int64_t Ws, GK_MASKT ma, GK_MASKT mb)
{
    for (int64_t r = 0; r < nr; r++, even += Ws, odd += Ws) {
        VT e = V_SET1((TYPE)0), o = e;
        if (r >= lo && r < hi) {
            const TYPE *src = GK_AT(const TYPE, xg, so);
            const VT x0 = V_LOADZM(src, ma), x1 = V_LOADZM(GK_AT(const TYPE, src, VL), mb);
            e = V_EVEN(x0, x1);
            o = V_ODD(x0, x1);
            so += step;
        }
        V_STORE(even, e);
        V_STORE(odd, o);
    }
}

/* The phase buffer of one item (see the plan). */
#define GK_PACK_VECS 32   /* row length, in vectors, up to which masks are precomputed */
static GTARGET void FN(pack_phase)(const gk_plan *p, const gconv_shape *s,
                                   const TYPE *xg, int64_t od, int64_t oh0,
                                   int64_t ow0, TYPE *buf)
{
    const int64_t ID = s->in[0], IH = s->in[1], IW = s->in[2];
    const int64_t Wq = p->Wq, Ws = p->Ws, RBq = p->RBq, KD = s->k[0], plq = p->plq;
    const int64_t sh = s->stride[1], sw = s->stride[2];
    const int nphh = p->nphh, nphw = p->nphw;
    const int64_t nvec = gk_ceil_div(Wq, VL);
    int64_t base[GK_MAXPH], jlo[GK_MAXPH], jhi[GK_MAXPH];
    int64_t r0[GK_MAXPH], rlo[GK_MAXPH], rhi[GK_MAXPH];
    int eo = -1;   /* stride 2 with both column phases: index of phase 0 */
    for (int b = 0; b < nphw; b++) {
        base[b] = ow0 * sw + p->phw[b] - s->pad[2];
        gk_valid(base[b], sw, IW, Wq, &jlo[b], &jhi[b]);
        if (sw == 2 && nphw == 2 && p->phw[b] == 0)
            eo = b;
    }
    /* plane row r of row phase a is input row r0[a] + r * sh, inside the
       input for r in [rlo[a], rhi[a]) */
    for (int a = 0; a < nphh; a++) {
        r0[a] = oh0 * sh + p->phh[a] - s->pad[1];
        gk_valid(r0[a], sh, IH, RBq, &rlo[a], &rhi[a]);
    }
    /* per vector of a row: lanes [vlo, vhi) from the input (stride 1), or
       elements [vlo, vhi) of its 2 VL input elements (stride 2, both phases) */
    int vlo[GK_PACK_VECS], vhi[GK_PACK_VECS];
    int lo0 = 0, hi0 = 0;   /* those of the first vector */
    const int hoist = nvec <= GK_PACK_VECS && (sw == 1 || eo >= 0);
    if (hoist) {
        for (int64_t v = 0; v < nvec; v++) {
            int64_t lo, hi;
            if (sw == 1) {
                lo = jlo[0] - v * VL;
                hi = jhi[0] - v * VL;
                lo = lo < 0 ? 0 : (lo > VL ? VL : lo);
                hi = hi > VL ? VL : hi;
            } else {
                lo = -base[eo] - 2 * v * VL;
                hi = IW - base[eo] - 2 * v * VL;
                lo = lo < 0 ? 0 : (lo > 2 * VL ? 2 * VL : lo);
                hi = hi > 2 * VL ? 2 * VL : hi;
            }
            /* a vector wholly outside the input gets the empty lane range
               [lo, lo) with lo <= the lane count, which the masks allow */
            vlo[v] = (int)lo;
            vhi[v] = (int)(hi > lo ? hi : lo);
            if (v == 0) {
                lo0 = vlo[0];
                hi0 = vhi[0];
            }
        }
    }
    if (hoist && nvec == 1) {
        /* plane by plane: zeros, input rows [lo, hi), zeros; the load masks
           made once (sw == 1: m0 alone) */
        const GK_MASKT m0 = sw == 1 ? V_MASK(lo0, hi0)
                                    : V_MASK(lo0 < VL ? lo0 : VL, hi0 < VL ? hi0 : VL);
        const GK_MASKT m1 = V_MASK(lo0 > VL ? lo0 - VL : 0, hi0 > VL ? hi0 - VL : 0);
        for (int64_t c = 0; c < s->cin_g; c++) {
            for (int64_t kd = 0; kd < KD; kd++) {
                const int64_t id = od * s->stride[0] - s->pad[0] + kd * s->dil[0];
                const int dvalid = id >= 0 && id < ID;
                const int64_t cd = dvalid ? (c * ID + id) * IH : 0;
                TYPE *pc = buf + (c * KD + kd) * nphh * nphw * plq;
                for (int a = 0; a < nphh; a++) {
                    TYPE *pl = pc + a * nphw * plq;
                    const int64_t lo = dvalid ? rlo[a] : RBq;
                    const int64_t hi = rhi[a] > lo ? rhi[a] : lo;
                    /* offsets of rows that exist only: with a huge stride,
                       the next row's (or sh * IW) may not fit in int64_t */
                    const int64_t so = lo < hi ? (cd + r0[a] + lo * sh) * IW : 0;
                    const int64_t step = hi - lo > 1 ? sh * IW : 0;
                    if (sw == 1)
                        FN(rows_s1)(pl, xg, so + base[0], step, RBq, lo, hi, Ws, m0);
                    else
                        FN(rows_eo)(pl + eo * plq, pl + (1 - eo) * plq, xg, so + base[eo], step,
                                    RBq, lo, hi, Ws, m0, m1);
                }
            }
        }
        return;
    }
    if (hoist && sw == 1 && nphh == 1) {
        /* one plane per (channel, kd): zero rows, input rows, zero rows */
        for (int64_t c = 0; c < s->cin_g; c++) {
            for (int64_t kd = 0; kd < KD; kd++) {
                const int64_t id = od * s->stride[0] - s->pad[0] + kd * s->dil[0];
                TYPE *dst = buf + (c * KD + kd) * plq;
                const int64_t lo = id >= 0 && id < ID ? rlo[0] : RBq;
                const int64_t hi = rhi[0] > lo ? rhi[0] : lo;
                for (int64_t r = 0; r < lo; r++, dst += Ws)
                    for (int64_t v = 0; v < nvec; v++)
                        V_STORE(dst + v * VL, V_SET1((TYPE)0));
                /* offsets of rows that exist only: with a huge stride, the
                   next row's (or sh * IW) may not fit in int64_t */
                const int64_t plane = lo < hi ? (c * ID + id) * IH + r0[0] : 0;
                for (int64_t r = lo; r < hi; r++, dst += Ws) {
                    const int64_t so = (plane + r * sh) * IW + base[0];
                    for (int64_t v = 0; v < nvec; v++) {
                        const TYPE *src = GK_AT(const TYPE, xg, so + v * VL);
                        if (vlo[v] == 0 && vhi[v] == VL)
                            V_STORE(dst + v * VL, V_LOAD(src));
                        else
                            V_STORE(dst + v * VL, V_LOADZ(src, vlo[v], vhi[v]));
                    }
                }
                for (int64_t r = hi; r < RBq; r++, dst += Ws)
                    for (int64_t v = 0; v < nvec; v++)
                        V_STORE(dst + v * VL, V_SET1((TYPE)0));
            }
        }
        return;
    }
    /* the rest in order (r, row phase), every plane of a row at once (a
       row's whole vectors reach into the next row of its plane).  Plane by
       plane as for the rows of one vector, 256 channels of 112 columns at
       stride 2 in 2 groups took 10 % longer (batch 8). */
    for (int64_t c = 0; c < s->cin_g; c++) {
        for (int64_t kd = 0; kd < KD; kd++) {
            const int64_t id = od * s->stride[0] - s->pad[0] + kd * s->dil[0];
            const int dvalid = id >= 0 && id < ID;
            const int64_t cd = dvalid ? (c * ID + id) * IH : 0;   /* first row of the slice */
            TYPE *pc = buf + (c * KD + kd) * nphh * nphw * plq;
            for (int64_t r = 0; r < RBq; r++) {
                for (int a = 0; a < nphh; a++) {
                    TYPE *pl = pc + a * nphw * plq + r * Ws;
                    if (!dvalid || r < rlo[a] || r >= rhi[a]) {
                        for (int b = 0; b < nphw; b++)
                            for (int64_t v = 0; v < nvec; v++)
                                V_STORE(pl + b * plq + v * VL, V_SET1((TYPE)0));
                        continue;
                    }
                    const int64_t row = (cd + r0[a] + r * sh) * IW;   /* element offset */
                    if (hoist && sw == 1) {
                        for (int64_t v = 0; v < nvec; v++) {
                            const TYPE *src = GK_AT(const TYPE, xg, row + base[0] + v * VL);
                            if (vlo[v] == 0 && vhi[v] == VL)
                                V_STORE(pl + v * VL, V_LOAD(src));
                            else
                                V_STORE(pl + v * VL, V_LOADZ(src, vlo[v], vhi[v]));
                        }
                    } else if (hoist) {
                        TYPE *even = pl + eo * plq, *odd = pl + (1 - eo) * plq;
                        for (int64_t v = 0; v < nvec; v++) {
                            const TYPE *src = GK_AT(const TYPE, xg, row + base[eo] + 2 * v * VL);
                            const int lo = vlo[v], hi = vhi[v];
                            VT x0, x1;
                            if (lo == 0 && hi == 2 * VL) {
                                x0 = V_LOAD(src);
                                x1 = V_LOAD(GK_AT(const TYPE, src, VL));
                            } else {
                                x0 = V_LOADZ(src, lo < VL ? lo : VL, hi < VL ? hi : VL);
                                x1 = V_LOADZ(GK_AT(const TYPE, src, VL), lo > VL ? lo - VL : 0,
                                             hi > VL ? hi - VL : 0);
                            }
                            V_STORE(even + v * VL, V_EVEN(x0, x1));
                            V_STORE(odd + v * VL, V_ODD(x0, x1));
                        }
                    } else if (eo >= 0) {
                        const int64_t b0 = base[eo];
                        FN(copy_row_eo)(pl + eo * plq, pl + (1 - eo) * plq,
                                        GK_AT(const TYPE, xg, row + b0), Wq, -b0, IW - b0);
                    } else {
                        for (int b = 0; b < nphw; b++)
                            FN(copy_row)(pl + b * plq, GK_AT(const TYPE, xg, row + base[b]),
                                         sw, Wq, jlo[b], jhi[b]);
                    }
                }
            }
        }
    }
}

/* A run of a pixel block: lanes [lane0, lane0 + len) are consecutive pixels
   of one output row, (od, oh, ow0...) (columns mode), starting at element q
   of the phase planes (compact mode); out: their offset in the output. */
typedef struct FN(rowrun) {
    int64_t od, oh, ow0, q, out;
    int64_t len, lane0;
} FN(rowrun);

/* Columns mode: row j (stride P) of the tile holds tap k0 + j for the lanes
   of the runs, zero outside the input. */
static GTARGET void FN(pack_cols)(const gconv_shape *s, const TYPE *xg, int64_t k0,
                                  int64_t kn, const FN(rowrun) *runs, int nruns,
                                  int64_t P, TYPE *T)
{
    const int64_t ID = s->in[0], IH = s->in[1], IW = s->in[2];
    const int64_t KD = s->k[0], KH = s->k[1], KW = s->k[2], kvol = s->k_volume;
    const int64_t sw = s->stride[2];
    int64_t c = k0 / kvol, r = k0 % kvol;
    int64_t kd = r / (KH * KW), kh = (r / KW) % KH, kw = r % KW;
    for (int64_t j = 0; j < kn; j++) {
        TYPE *t = T + j * P;
        const TYPE *xc = xg + c * s->in_plane;
        for (int i = 0; i < nruns; i++) {
            const int64_t id = runs[i].od * s->stride[0] - s->pad[0] + kd * s->dil[0];
            const int64_t ih = runs[i].oh * s->stride[1] - s->pad[1] + kh * s->dil[1];
            TYPE *d = t + runs[i].lane0;
            if (id < 0 || id >= ID || ih < 0 || ih >= IH) {
                FN(copy_row)(d, xc, 1, runs[i].len, 0, 0);
                continue;
            }
            const int64_t base = runs[i].ow0 * sw - s->pad[2] + kw * s->dil[2];
            int64_t lo, hi;
            gk_valid(base, sw, IW, runs[i].len, &lo, &hi);
            FN(copy_row)(d, GK_AT(const TYPE, xc, (id * IH + ih) * IW + base), sw,
                         runs[i].len, lo, hi);
        }
        if (++kw == KW) {
            kw = 0;
            if (++kh == KH) {
                kh = 0;
                if (++kd == KD) {
                    kd = 0;
                    c++;
                }
            }
        }
    }
}

/* Compact mode: row j (stride P) of the tile holds tap k0 + j of the runs,
   copied from the phase planes (lanes past the runs hold leftovers). */
GK_INLINE GTARGET void FN(pack_tile)(const TYPE *buf, const int64_t *off, int64_t k0,
                                     int64_t kn, const FN(rowrun) *runs, int nruns,
                                     int64_t P, TYPE *T)
{
    for (int64_t j = 0; j < kn; j++) {
        const TYPE *xk = buf + off[k0 + j];
        TYPE *t = T + j * P;
        for (int i = 0; i < nruns; i++) {
            const TYPE *src = xk + runs[i].q;
            TYPE *d = t + runs[i].lane0;
            for (int64_t l = 0; l < runs[i].len; l += VL)
                V_STORE(d + l, V_LOAD(src + l));
        }
    }
}

/* Store runs of the lanes: output runs (lane0, len, out) in lane order, cut
   at vector boundaries and joined where one continues the previous in the
   output; fills a->segbeg for vectors [0, nvb). */
static void FN(segments)(FN(kargs) *a, gk_seg *seg, const FN(rowrun) *runs, int nruns,
                         int nvb)
{
    int ns = 0, v = 0;
    a->segbeg[0] = 0;
    for (int i = 0; i < nruns; i++) {
        int64_t lane = runs[i].lane0, end = runs[i].lane0 + runs[i].len;
        const int64_t out = runs[i].out - runs[i].lane0;   /* lane l -> out + l */
        while (lane < end) {
            const int64_t vv = lane / VL;
            while (v < vv) {
                v++;
                a->segbeg[v] = ns;
            }
            const int64_t vend = (vv + 1) * VL < end ? (vv + 1) * VL : end;
            if (ns > 0 && seg[ns - 1].v == (int)vv && seg[ns - 1].hi == (int)(lane - vv * VL) &&
                seg[ns - 1].off == out + vv * VL) {
                seg[ns - 1].hi = (int)(vend - vv * VL);   /* continues the previous run */
            } else {
                seg[ns].v = (int)vv;
                seg[ns].lo = (int)(lane - vv * VL);
                seg[ns].hi = (int)(vend - vv * VL);
                seg[ns].off = out + vv * VL;
                ns++;
            }
            lane = vend;
        }
    }
    while (v < nvb) {
        v++;
        a->segbeg[v] = ns;
    }
}

/* The input rows item it of phase mode reads, as prefetch runs. */
static void FN(pf_item)(const gk_plan *p, const gconv_shape *s, int64_t it,
                        const TYPE *x, gk_pf *pf)
{
    const gk_pos q = gk_item_pos(p, s, it);
    const int64_t ID = s->in[0], IH = s->in[1], IW = s->in[2];
    int64_t d0 = q.od * s->stride[0] - s->pad[0], d1 = d0 + (s->k[0] - 1) * s->dil[0];
    int64_t h0 = q.rbi * p->RB * s->stride[1] - s->pad[1];
    int64_t h1 = h0 + (p->RBq - 1) * s->stride[1] + (s->stride[1] - 1);
    d0 = d0 < 0 ? 0 : d0;
    d1 = d1 >= ID ? ID - 1 : d1;
    h0 = h0 < 0 ? 0 : h0;
    h1 = h1 >= IH ? IH - 1 : h1;
    pf->chan = pf->pos = 0;
    pf->nchan = 0;
    if (d0 > d1 || h0 > h1)
        return;
    const int64_t start = (d0 * IH + h0) * IW, end = (d1 * IH + h1 + 1) * IW;
    pf->base = (const char *)(x + (q.n * s->in_channels + q.g * s->cin_g) * s->in_plane + start);
    pf->stride = s->in_plane * (int64_t)sizeof(TYPE);
    pf->bytes = (end - start) * (int64_t)sizeof(TYPE);
    pf->nchan = s->cin_g;
}

/* The output rows of item it of phase mode, as prefetch runs (whole
   groups of channels and rows only: nocc and ncb 1; else none).  A store
   to a line outside the caches waits for the line to be read first. */
static void FN(pf_out_item)(const gk_plan *p, const gconv_shape *s, int64_t it, TYPE *y,
                            gk_pf *pf)
{
    pf->chan = pf->pos = 0;
    pf->nchan = 0;
    if (p->nocc != 1 || p->ncb != 1)
        return;
    const gk_pos q = gk_item_pos(p, s, it);
    const int64_t OH = s->out[1], OW = s->out[2];
    const int64_t oh0 = q.rbi * p->RB, rb = OH - oh0 < p->RB ? OH - oh0 : p->RB;
    pf->base = (const char *)(y + (q.n * s->out_channels + q.g * s->cout_g) * s->out_plane +
                              (q.od * OH + oh0) * OW);
    pf->stride = s->out_plane * (int64_t)sizeof(TYPE);
    pf->bytes = rb * OW * (int64_t)sizeof(TYPE);
    pf->nchan = s->cout_g;
}

/* ---- one work item ----------------------------------------------------------- */

/* In place: the vectors of block pb of a plane of pplane pixels, and its
   first pixel (the last plane % VL pixels: one vector ending at the
   plane's end). */
static int FN(block_at)(const gk_plan *p, int64_t pplane, int64_t pb, int64_t *start)
{
    const int64_t v0 = pb * p->nv;
    if (v0 < p->nfullvec) {
        *start = v0 * VL;
        return (int)(p->nfullvec - v0 < p->nv ? p->nfullvec - v0 : p->nv);
    }
    *start = pplane - VL;
    return 1;
}

/* Runs the kernels of output-channel blocks [ob0, ob1) of a group on the
   prepared args (x, off, K, accumulate and segments set; w, bias and out at
   the group's first channel). */
static GTARGET void FN(blocks)(const gk_plan *p, FN(kargs) *a, int nvb,
                               int64_t ob0, int64_t ob1, int64_t coutg)
{
    const TYPE *w = a->w, *bias = a->bias;
    TYPE *out = a->out;
    for (int64_t ob = ob0; ob < ob1; ob++) {
        int64_t oc = ob * p->mo;
        int mo = (int)(coutg - oc < p->mo ? coutg - oc : p->mo);
        a->w = w + oc * a->ldw;
        a->bias = bias != NULL ? bias + oc : NULL;
        a->out = out + oc * a->ldo;
        FN(ktab)[mo][nvb](a);
    }
    a->w = w;
    a->bias = bias;
    a->out = out;
}

/* A thread's weights for the kernels with the channels along the vectors:
   the blocks of one group, each transposed when an item first needs it,
   and for each block whether a weight is not finite.  Against transposing
   all the weights before the items (writing and reading back as many
   bytes as the weights, outside the caches when they are large), with the
   next item's weights prefetched while one computes: 2048 channels of 7x7
   in 32 groups, 3x3, 2 threads, the median of 5 rounds' medians, batch 1
   float64 1.41 -> 1.15 ms, float32 0.68 -> 0.63 ms; after 64 MB of other
   memory traffic, batch 1 float64 1.98 -> 1.38 ms, float32 0.98 -> 0.74
   ms, batch 8 float64 9.39 -> 8.52 ms, float32 5.49 -> 4.31 ms.  Larger
   groups keep one shared copy, its blocks transposed by all the threads
   before the items (by groups before, one thread for one group): 512 ->
   512 channels of 7x7, float32, batch 1, after that traffic, 2.56 -> 2.31
   ms. */
typedef struct FN(wcache) {
    char *mem;                  /* a copy: block b's weights at b * mv * VL * K
                                   elements, then from wbytes a state a block
                                   (-1: not there, else nonfinite) */
    int64_t bytes, wbytes;      /* of a copy */
    int64_t g;                  /* the group the copy holds; -1: none */
    int shared;                 /* groups of more than GK_WLOCAL_BYTES: a
                                   copy a group at mem + g * bytes, all
                                   transposed before the items */
} FN(wcache);

#ifdef GK_OCV
/* The share of the nl cache lines from nw that a kernel call fetches (one
   a tap, the lines past its K taps at once): those up to the fraction
   pix / pixall of them, from *done on. */
static void FN(wpf)(FN(oargs) *a, const TYPE *nw, int64_t nl, int64_t *done, int64_t pix,
                    int64_t pixall)
{
    const int64_t to = nl / pixall * pix + nl % pixall * pix / pixall, n = to - *done;
    if (n <= 0) {
        a->pf = NULL;
        a->npf = 0;
        return;
    }
    a->pf = (const char *)(const void *)nw + *done * 64;
    a->npf = n < a->K ? n : a->K;
    for (int64_t l = a->npf; l < n; l++)
        gk_prefetch(a->pf + l * 64);
    *done = to;
}
#endif

/* ts: the taps of the kernels with the channels along the vectors, by class
   when skip is non-zero (else the list of all taps); the classes serve the
   blocks whose weights are all finite. */
static GTARGET void FN(item)(const gk_plan *p, const gconv_shape *s, int64_t it,
                             const TYPE *w, const TYPE *wt, FN(wcache) *wc, const TYPE *bias,
                             const TYPE *x, TYPE *y, const int64_t *off,
                             const int64_t *offt, const gk_tapset *ts, int skip,
                             TYPE *buf)
{
    (void)wt;
    (void)wc;
    (void)ts;
    (void)skip;
    const int64_t G = s->groups, coutg = s->cout_g, plane = s->out_plane;
    const int64_t OH = s->out[1], OW = s->out[2];
    const int64_t P = (int64_t)p->nv * VL;
    gk_seg seg[GK_NVMAX * (VL + 1)];
    FN(rowrun) runs[GK_NVMAX * VL + 2];
    FN(kargs) a;
    int64_t t = it;
    const int64_t occi = t % p->nocc;
    t /= p->nocc;
    const int64_t ob0 = occi * p->occ;
    const int64_t ob1 = ob0 + p->occ < p->nob ? ob0 + p->occ : p->nob;

    a.ldw = p->K;
    a.ldo = plane;
    a.seg = seg;
    a.accumulate = 0;

    if (p->mode == GK_PHASE) {
        const gk_pos q = gk_item_pos(p, s, it);
        const int64_t od = q.od, g = q.g, n = q.n;
        const int64_t oh0 = q.rbi * p->RB, ow0 = q.cbi * p->CB;
        const int64_t rb = OH - oh0 < p->RB ? OH - oh0 : p->RB;
        const int64_t cb = OW - ow0 < p->CB ? OW - ow0 : p->CB;
        const int64_t Ws = p->Ws;
        FN(pack_phase)(p, s, x + (n * s->in_channels + g * s->cin_g) * s->in_plane, od,
                       oh0, ow0, buf);
        const TYPE *wg = w + g * coutg * p->K;
        const TYPE *bg = bias != NULL ? bias + g * coutg : NULL;
        a.out = y + (n * s->out_channels + g * coutg) * plane + od * OH * OW;
        /* the next item (most often this thread's next) reads other input:
           fetch it while this one computes */
        gk_pf pf = {NULL, 0, 0, 0, 0, 0}, pfo = {NULL, 0, 0, 0, 0, 0};
        if (p->prefetch && occi + 1 == p->nocc && it + 1 < p->items) {
            FN(pf_item)(p, s, it + 1, x, &pf);
            FN(pf_out_item)(p, s, it + 1, y, &pfo);
        }
        const int64_t nblk = p->compact ? gk_ceil_div(rb * cb, P) : gk_ceil_div((rb - 1) * Ws + cb, P);
        const int64_t pf_lines = gk_pf_lines(&pf, nblk);
        const int64_t pfo_lines = gk_pf_lines(&pfo, nblk);
#ifdef GK_OCV
        if (p->ocv) {
            /* blocks of up to opmax(mv) pixels of a row, mv channel vectors */
            const int64_t pm = FN(opmax)(p->mv);
            const int64_t pc = gk_ceil_div(cb, gk_ceil_div(cb, pm));
            FN(oargs) oa;
            oa.ldo = plane;
            oa.xs = 0;
            /* the taps of this output depth and of each row */
            const gk_tap *full = ts->tap + (int64_t)ts->ndc * ts->nhc * p->K;
            const int dc = skip ? gk_tap_class(ts, s, 0, od) : 0;
            const int64_t bw = (int64_t)p->mv * VL;
            char *cm = wc->shared ? wc->mem + g * wc->bytes : wc->mem;
            TYPE *wb = (TYPE *)(void *)cm;
            int *st = (int *)(void *)(cm + wc->wbytes);
            const TYPE *nw = NULL;
            int64_t nwl = 0, pfdone = 0, pixdone = 0;
            const int64_t pixall = (ob1 - ob0) * rb * cb;
            if (!wc->shared) {
                if (wc->g != g) {
                    for (int64_t ob = 0; ob < p->nob; ob++)
                        st[ob] = -1;
                    wc->g = g;
                }
                for (int64_t ob = ob0; ob < ob1; ob++)
                    if (st[ob] < 0) {
                        const int64_t o1 = (ob + 1) * bw < coutg ? (ob + 1) * bw : coutg;
                        st[ob] = FN(transpose_weights)(s, w, wb + ob * bw * p->K, g, ob * bw, o1);
                    }
                /* the next item's weights when this thread has not
                   transposed them, a share of them at each kernel call */
                if (it + 1 < p->items) {
                    const gk_pos q2 = gk_item_pos(p, s, it + 1);
                    const int64_t b2 = q2.occi * p->occ;
                    if (q2.g != g || st[b2] < 0) {
                        const int64_t a0 = b2 * bw;
                        const int64_t a1 = a0 + p->occ * bw < coutg ? a0 + p->occ * bw : coutg;
                        nw = w + (q2.g * coutg + a0) * p->K;
                        nwl = (a1 - a0) * p->K * (int64_t)sizeof(TYPE) / 64;
                    }
                }
            }
            /* channel blocks outside: their weights stay in the cache */
            for (int64_t ob = ob0; ob < ob1; ob++) {
                const int64_t oc = ob * bw;
                const int mv = (int)((coutg - oc) / VL < p->mv ? (coutg - oc) / VL : p->mv);
                const int skipb = skip && !st[ob];
                oa.w = wb + oc * p->K;
                oa.ldw = (int64_t)mv * VL;
                oa.bias = bg != NULL ? bg + oc : NULL;
                for (int64_t i = 0; i < rb;) {
                    int hc = 0;
                    if (skipb) {
                        hc = dc * ts->nhc + gk_tap_class(ts, s, 1, oh0 + i);
                        oa.tap = ts->tap + hc * p->K;
                        oa.K = ts->cnt[hc];
                    } else {
                        oa.tap = full;
                        oa.K = p->K;
                    }
                    /* a pass a row, or (whole rows of at most GK_OPMAX,
                       back to back in the output) as many rows of the same
                       taps as a kernel takes */
                    int R = 1;
                    if (pc == cb && cb == OW && cb <= GK_OPMAX) {
                        /* the rows from i with row i's taps, then the most
                           of them a kernel takes */
                        int same = 1;
                        while (same < GK_ORMAX && i + same < rb &&
                               (!skipb || dc * ts->nhc + gk_tap_class(ts, s, 1, oh0 + i + same) == hc))
                            same++;
                        for (R = same; R > 1 && FN(ortab)[mv][R][cb] == NULL; R--)
                            ;
                    }
                    gk_pf_step(&pf, gk_ceil_div(R * pf_lines * (gk_ceil_div(cb, P) + 1), ob1 - ob0));
                    gk_pf_step(&pfo, gk_ceil_div(R * pfo_lines * (gk_ceil_div(cb, P) + 1), ob1 - ob0));
                    if (R > 1) {
                        oa.x = buf + i * Ws;
                        oa.xs = Ws;
                        oa.out = a.out + oc * plane + (oh0 + i) * OW;
                        pixdone += R * cb;
                        FN(wpf)(&oa, nw, nwl, &pfdone, pixdone, pixall);
                        FN(ortab)[mv][R][cb](&oa);
                        i += R;
                        continue;
                    }
                    for (int64_t j0 = 0; j0 < cb; j0 += pc) {
                        const int np = (int)(cb - j0 < pc ? cb - j0 : pc);
                        oa.x = buf + i * Ws + j0;
                        oa.out = a.out + oc * plane + (oh0 + i) * OW + ow0 + j0;
                        pixdone += np;
                        FN(wpf)(&oa, nw, nwl, &pfdone, pixdone, pixall);
                        FN(otab)[mv][np](&oa);
                    }
                    i++;
                }
            }
        } else
#endif
        if (!p->compact) {
            /* lanes q = i * Ws + j over the rows, columns j >= cb not stored */
            const int64_t L = (rb - 1) * Ws + cb;
            a.K = p->K;
            a.off = off;
            a.w = wg;
            a.bias = bg;
            for (int64_t q0 = 0; q0 < L; q0 += P) {
                int nvb = (int)gk_ceil_div(L - q0, VL);
                if (nvb > p->nv)
                    nvb = p->nv;
                const int64_t qe = q0 + (int64_t)nvb * VL < L ? q0 + (int64_t)nvb * VL : L;
                int nr = 0;
                int64_t i = q0 / Ws, j = q0 - i * Ws;
                for (int64_t q = q0; q < qe; i++, j = 0) {
                    int64_t len = cb - j;
                    if (len > 0) {
                        if (len > qe - q)
                            len = qe - q;
                        runs[nr].lane0 = q - q0;
                        runs[nr].len = len;
                        runs[nr].out = (oh0 + i) * OW + ow0 + j;
                        nr++;
                    }
                    q += Ws - j;
                }
                FN(segments)(&a, seg, runs, nr, nvb);
                a.x = buf + q0;
                gk_pf_step(&pf, pf_lines);
                gk_pf_step(&pfo, pfo_lines);
                FN(blocks)(p, &a, nvb, ob0, ob1, coutg);
            }
        } else {
            /* tiles of P pixels without the extra columns */
            const int64_t NI = rb * cb;
            TYPE *T = buf + p->tile;
            a.x = T;
            a.off = offt;
            for (int64_t i0 = 0; i0 < NI; i0 += P) {
                const int64_t npix = NI - i0 < P ? NI - i0 : P;
                const int nvb = (int)gk_ceil_div(npix, VL);
                int nr = 0;
                int64_t i = i0 / cb, j = i0 - i * cb;
                for (int64_t l = 0; l < npix; i++, j = 0) {
                    const int64_t len = cb - j < npix - l ? cb - j : npix - l;
                    runs[nr].lane0 = l;
                    runs[nr].len = len;
                    runs[nr].q = i * Ws + j;
                    runs[nr].out = (oh0 + i) * OW + ow0 + j;
                    nr++;
                    l += len;
                }
                FN(segments)(&a, seg, runs, nr, nvb);
                gk_pf_step(&pf, pf_lines);
                gk_pf_step(&pfo, pfo_lines);
                for (int64_t k0 = 0; k0 < p->K; k0 += p->kc) {
                    const int64_t kn = p->K - k0 < p->kc ? p->K - k0 : p->kc;
                    FN(pack_tile)(buf, off, k0, kn, runs, nr, P, T);
                    a.K = kn;
                    a.w = wg + k0;
                    a.accumulate = k0 > 0;
                    a.bias = k0 == 0 ? bg : NULL;
                    FN(blocks)(p, &a, nvb, ob0, ob1, coutg);
                }
            }
        }
    } else if (p->mode == GK_COLS) {
        const int64_t pb = t % p->npb;
        t /= p->npb;
        const int64_t g = t % G, n = t / G;
        const int64_t p0 = pb * P;
        const int64_t npix = plane - p0 < P ? plane - p0 : P;
        const int nvb = (int)gk_ceil_div(npix, VL);
        int nr = 0;
        {
            int64_t q = p0, lane = 0;
            const int64_t hw = OH * OW;
            while (lane < npix) {
                const int64_t od = q / hw, rem = q % hw;
                const int64_t oh = rem / OW, ow = rem % OW;
                const int64_t len = OW - ow < npix - lane ? OW - ow : npix - lane;
                runs[nr].od = od;
                runs[nr].oh = oh;
                runs[nr].ow0 = ow;
                runs[nr].len = len;
                runs[nr].lane0 = lane;
                runs[nr].out = q;
                nr++;
                lane += len;
                q += len;
            }
        }
        FN(segments)(&a, seg, runs, nr, nvb);
        const TYPE *xg = x + (n * s->in_channels + g * s->cin_g) * s->in_plane;
        a.x = buf;
        a.off = offt;
        a.out = y + (n * s->out_channels + g * coutg) * plane;
        for (int64_t k0 = 0; k0 < p->K; k0 += p->kc) {
            const int64_t kn = p->K - k0 < p->kc ? p->K - k0 : p->kc;
            FN(pack_cols)(s, xg, k0, kn, runs, nr, P, buf);
            a.K = kn;
            a.w = w + g * coutg * p->K + k0;
            a.accumulate = k0 > 0;
            a.bias = bias != NULL && k0 == 0 ? bias + g * coutg : NULL;
            FN(blocks)(p, &a, nvb, ob0, ob1, coutg);
        }
    } else if (p->ntail > 0 && t >= s->batch * G * p->npb) {
        /* in place, the tails of images [n0, n1) side by side: image i's
           rem pixels at lanes i * rem of a tile of kc taps a pass */
        const int64_t N = s->batch, rem = plane % VL, tt = t - N * G * p->npb;
        const int64_t g = tt / p->ntail, tb = tt % p->ntail;
        const int64_t n0 = tb * (P / rem), n1 = n0 + P / rem < N ? n0 + P / rem : N;
        const int64_t lanes = (n1 - n0) * rem;
        const int nvb = (int)gk_ceil_div(lanes, VL);
        int nr = 0;
        for (int64_t i = 0; i < n1 - n0; i++, nr++) {
            runs[nr].lane0 = i * rem;
            runs[nr].len = rem;
            runs[nr].out = i * s->out_channels * plane + plane - rem;
        }
        FN(segments)(&a, seg, runs, nr, nvb);
        const TYPE *xg = x + (n0 * s->in_channels + g * s->cin_g) * s->in_plane + plane - rem;
        const int64_t xstep = s->in_channels * s->in_plane;
        a.x = buf;
        a.off = offt;
        a.out = y + (n0 * s->out_channels + g * coutg) * plane;
        for (int64_t k0 = 0; k0 < p->K; k0 += p->kc) {
            const int64_t kn = p->K - k0 < p->kc ? p->K - k0 : p->kc;
            for (int64_t j = 0; j < kn; j++) {
                TYPE *row = buf + j * P;
                const TYPE *src = xg + (k0 + j) * s->in_plane;
                for (int64_t i = 0; i < n1 - n0; i++)
                    for (int64_t q = 0; q < rem; q++)
                        row[i * rem + q] = src[i * xstep + q];
                for (int64_t q = lanes; q < (int64_t)nvb * VL; q++)
                    row[q] = (TYPE)0;
            }
            a.K = kn;
            a.w = w + g * coutg * p->K + k0;
            a.accumulate = k0 > 0;
            a.bias = bias != NULL && k0 == 0 ? bias + g * coutg : NULL;
            FN(blocks)(p, &a, nvb, ob0, ob1, coutg);
        }
    } else { /* GK_INPLACE */
        const int64_t pb = t % p->npb;
        t /= p->npb;
        int64_t od = 0;
        if (p->depth) {
            od = t % s->out[0];
            t /= s->out[0];
        }
        const int64_t g = t % G, n = t / G;
        /* depth taps: the slice of the item and its valid kd [klo, khi) */
        const int64_t pplane = p->depth ? OH * OW : plane;   /* pixels of the items */
        int64_t klo = 0, khi = 1, id0 = 0;
        if (p->depth) {
            gk_valid(od * s->stride[0] - s->pad[0], s->dil[0], s->in[0], s->k[0], &klo, &khi);
            id0 = od * s->stride[0] - s->pad[0] + klo * s->dil[0];
        }
        int64_t start;
        const int nvb = FN(block_at)(p, pplane, pb, &start);
        if (pb * p->nv < p->nfullvec) {
            runs[0].lane0 = 0;
            runs[0].len = (int64_t)nvb * VL;
        } else {
            runs[0].lane0 = VL - pplane % VL;
            runs[0].len = pplane % VL;
        }
        runs[0].out = start + runs[0].lane0;
        FN(segments)(&a, seg, runs, 1, nvb);
        a.off = off;
        a.bias = bias != NULL ? bias + g * coutg : NULL;
        a.out = y + (n * s->out_channels + g * coutg) * plane;
        a.x = x + (n * s->in_channels + g * s->cin_g) * s->in_plane + start;
        if (!p->depth) {
            a.K = p->K;
            a.w = w + g * coutg * p->K;
        } else {
            /* taps (kd, c) for kd in [klo, khi), from slice id0 of kd = klo */
            a.K = (khi - klo) * s->cin_g;
            a.w = (s->k[0] > 1 ? wt : w) + g * coutg * p->K + klo * s->cin_g;
            a.out += od * pplane;
            if (klo < khi)
                a.x += id0 * pplane;
        }
        /* the K input rows of a block are as many short streams, too many
           for the hardware to follow, and a store to an output line outside
           the caches waits for the line to be read: fetch the input rows
           (the last channel block of an item) and the output rows (each
           channel block its own) of the block after next, so that they
           have a block's time to arrive (see plan) */
        gk_pf pf, pfo;
        pf.nchan = pfo.nchan = 0;
        pf.chan = pf.pos = pfo.chan = pfo.pos = 0;
        const int64_t bn = it / p->nocc + GK_INPLACE_AHEAD;
        if (p->prefetch && bn < s->batch * G * p->npb) {
            /* the block GK_INPLACE_AHEAD blocks on in item order (not a
               block of tails), in the next plane when this one ends before
               (a 14x14 plane has 5 blocks, 2 of them were left unfetched);
               the depth taps are never prefetched (see plan), so items have
               no depth here */
            const int64_t gn = bn / p->npb % G, nn = bn / p->npb / G;
            int64_t sn;
            const int64_t bytes = FN(block_at)(p, pplane, bn % p->npb, &sn) * (int64_t)VL *
                                  (int64_t)sizeof(TYPE);
            if (occi + 1 == p->nocc) {
                pf.base = (const char *)(x + (nn * s->in_channels + gn * s->cin_g) * s->in_plane + sn);
                pf.stride = s->in_plane * (int64_t)sizeof(TYPE);
                pf.bytes = bytes;
                pf.nchan = p->K;
            }
            const int64_t oc0 = ob0 * p->mo, oc1 = ob1 * p->mo < coutg ? ob1 * p->mo : coutg;
            pfo.base = (const char *)(y + (nn * s->out_channels + gn * coutg + oc0) * plane + sn);
            pfo.stride = plane * (int64_t)sizeof(TYPE);
            pfo.bytes = bytes;
            pfo.nchan = oc1 - oc0;
        }
        const int64_t lines = gk_pf_lines(&pf, ob1 - ob0);
        const int64_t olines = gk_pf_lines(&pfo, ob1 - ob0);
        for (int64_t ob = ob0; ob < ob1; ob++) {
            gk_pf_step(&pf, lines);
            gk_pf_step(&pfo, olines);
            FN(blocks)(p, &a, nvb, ob, ob + 1, coutg);
        }
    }
}

/* ---- the call ---------------------------------------------------------------- */

/* The weights of group g with the taps in (kd, channel) order:
   wt[o][kd][c] = w[o][c][kd] (kernels of KD x 1 x 1 taps). */
static void FN(reorder_weights)(const gconv_shape *s, const TYPE *w, TYPE *wt, int64_t g)
{
    const int64_t KD = s->k[0], C = s->cin_g, K = C * KD;
    for (int64_t o = g * s->cout_g; o < (g + 1) * s->cout_g; o++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t kd = 0; kd < KD; kd++)
                wt[o * K + kd * C + c] = w[o * K + c * KD + kd];
}

#ifdef GK_OCV
/* Block t % nob of group t / nob into the group's shared copy (wcache). */
static void FN(transpose_block)(const gk_plan *p, const gconv_shape *s, const TYPE *w,
                                char *mem, int64_t bytes, int64_t wbytes, int64_t t)
{
    const int64_t g = t / p->nob, ob = t % p->nob, bw = (int64_t)p->mv * VL;
    const int64_t o1 = (ob + 1) * bw < s->cout_g ? (ob + 1) * bw : s->cout_g;
    char *cm = mem + g * bytes;
    ((int *)(void *)(cm + wbytes))[ob] =
        FN(transpose_weights)(s, w, (TYPE *)(void *)cm + ob * bw * p->K, g, ob * bw, o1);
}
#endif

static gconv_status FN(run)(const gconv_shape *s, const TYPE *w, const TYPE *bias,
                            const TYPE *x, TYPE *y, int threads)
{
    gk_plan p;
    /* depth taps in place leave the taps over depth padding out: not with
       a weight that is not finite (looked for only where it matters) */
    int nf = 0;
    if (gk_depth_only(s) && (s->pad[0] > 0 || s->pad_after[0] > 0))
        nf = GCONV_CAT(gconv__nonfinite, SFX)(w, s->weight_elements);
    FN(plan)(s, threads, nf, &p);
    const int reorder = p.depth && s->k[0] > 1;
    const int64_t P = (int64_t)p.nv * VL;
    const int64_t nofft = p.kc;
    /* one allocation for the call's offsets, per-thread buffers, weights
       and tap lists.  Separate ones could be returned to the system and
       faulted back in at every call (glibc trimming the top of the heap):
       a C program calling float64 with 24 channels a group on 28x28 at
       batch 1 did, 622 -> 494 us on one thread, 363 -> 256 us on 2 */
    gk_tapset ts;
    memset(&ts, 0, sizeof ts);
    const int64_t ntap = p.ocv ? gk_tapset_plan(s, p.K, &ts) : 0;
    /* the transposed weights (ocv): the nob blocks of mv * VL channels of
       a group and their states, for each thread or (shared) each group */
    const int64_t gw = p.nob * p.mv * VL * p.K;
    const int shared = p.ocv && (double)gw * sizeof(TYPE) > GK_WLOCAL_BYTES;
    const int64_t ncopy = shared ? s->groups : p.nt;
    const int64_t wcw = p.ocv ? gk_bytes(gw, sizeof(TYPE)) : 0;
    const int64_t wcn = p.ocv ? gk_bytes(p.nob, sizeof(int)) : 0;
    const int64_t wcb = wcw < 0 || wcn < 0 ? -1 : gk_add_bytes(wcw, wcn);
    const int64_t part[4] = {
        gk_bytes(p.noff + nofft, sizeof(int64_t)),
        gk_bytes(p.bufsz > 0 ? p.bufsz * p.nt : 0, sizeof(TYPE)),
        p.ocv ? (wcb < 0 || wcb > INT64_MAX / 4 / ncopy ? -1 : wcb * ncopy)
              : gk_bytes(reorder ? s->weight_elements : 0, sizeof(TYPE)),
        gk_bytes(ntap, sizeof(gk_tap)),
    };
    int64_t total = 0;
    for (int i = 0; i < 4; i++)
        total = part[i] < 0 || total < 0 ? -1 : gk_add_bytes(total, part[i]);
    char *mem = total < 0 ? NULL : (char *)gconv__alloc(total, 1);
    if (mem == NULL)
        return GCONV_ERR_NO_MEMORY;
    int64_t *off = (int64_t *)(void *)mem;
    TYPE *buf = p.bufsz > 0 ? (TYPE *)(void *)(mem + part[0]) : NULL;
    TYPE *wt = reorder ? (TYPE *)(void *)(mem + part[0] + part[1]) : NULL;
    char *wcmem = mem + part[0] + part[1];
    if (p.ocv)
        ts.tap = (gk_tap *)(void *)(mem + part[0] + part[1] + part[2]);
    int64_t *offt = off + p.noff;   /* tap j of a tile: row j */
    for (int64_t j = 0; j < nofft; j++)
        offt[j] = j * P;

    if (p.mode == GK_INPLACE && p.depth) {
        /* tap (kd, c) from the slice of the first valid kd: only the
           offsets of slices inside the input are ever used (and computed) */
        const int64_t hw = s->in[1] * s->in[2];
        for (int64_t kd = 0; kd < s->k[0]; kd++)
            for (int64_t c = 0; c < s->cin_g; c++)
                off[kd * s->cin_g + c] = kd * s->dil[0] < s->in[0]
                                             ? c * s->in_plane + kd * s->dil[0] * hw : 0;
    } else if (p.mode == GK_INPLACE) {
        for (int64_t k = 0; k < p.noff; k++)
            off[k] = k * s->in_plane;
    } else if (p.mode == GK_PHASE) {
        const int64_t KD = s->k[0], KH = s->k[1], KW = s->k[2];
        int64_t k = 0;
        for (int64_t c = 0; c < s->cin_g; c++)
            for (int64_t kd = 0; kd < KD; kd++)
                for (int64_t kh = 0; kh < KH; kh++) {
                    const int64_t vh = kh * s->dil[1];
                    const int a = FN(phase_index)(p.phh, p.nphh, vh % s->stride[1]);
                    for (int64_t kw = 0; kw < KW; kw++, k++) {
                        const int64_t vw = kw * s->dil[2];
                        const int b = FN(phase_index)(p.phw, p.nphw, vw % s->stride[2]);
                        off[k] = (((c * KD + kd) * p.nphh + a) * p.nphw + b) * p.plq +
                                 (vh / s->stride[1]) * p.Ws + vw / s->stride[2];
                    }
                }
        /* lanes that are not stored read the gaps after the planes and the
           end of the buffer: keep them finite */
        for (int i = 0; i < p.nt; i++) {
            TYPE *b = buf + i * p.bufsz;
            for (int64_t pl = 0; pl < p.planes; pl++)
                memset(b + pl * p.plq + (p.RBq - 1) * p.Ws + p.Wq, 0, (size_t)VL * sizeof(TYPE));
            const int64_t used = p.planes * p.plq;
            const int64_t end = p.compact ? p.tile : p.bufsz;
            memset(b + used, 0, (size_t)(end - used) * sizeof(TYPE));
        }
        if (p.ocv)
            gk_tapset_fill(s, p.K, off, &ts);
    }
    /* the taps over padding are left out of the blocks whose weights are
       finite, which their transpose finds out */
    const int skip = ts.ndc > 0;
    const int64_t nmain = p.items - s->groups * p.ntail * p.nocc;

    if (p.nt > 1) {
        GCONV_PRAGMA(omp parallel num_threads(p.nt))
        {
            const int tid = gk_thread_id();
            TYPE *mybuf = buf != NULL ? buf + (int64_t)tid * p.bufsz : NULL;
            FN(wcache) wc = {shared ? wcmem : wcmem + (int64_t)tid * wcb, wcb, wcw, -1, shared};
#ifdef GK_OCV
            if (shared) {
                GCONV_PRAGMA(omp for schedule(static))
                for (int64_t t = 0; t < s->groups * p.nob; t++)
                    FN(transpose_block)(&p, s, w, wcmem, wcb, wcw, t);
            }
#endif
            if (reorder) {
                GCONV_PRAGMA(omp for schedule(static))
                for (int64_t g = 0; g < s->groups; g++)
                    FN(reorder_weights)(s, w, wt, g);
            }
            /* the blocks of plane tails cost less than the others: each
               kind split evenly among the threads (one loop over all the
               items left one thread with most of them; float32 912 -> 912
               channels of 7x7 at batch 2 took 25 % longer) */
            GCONV_PRAGMA(omp for schedule(static) nowait)
            for (int64_t it = 0; it < nmain; it++)
                FN(item)(&p, s, it, w, wt, &wc, bias, x, y, off, offt, &ts, skip, mybuf);
            GCONV_PRAGMA(omp for schedule(static))
            for (int64_t it = nmain; it < p.items; it++)
                FN(item)(&p, s, it, w, wt, &wc, bias, x, y, off, offt, &ts, skip, mybuf);
        }
    } else {
        FN(wcache) wc = {wcmem, wcb, wcw, -1, shared};
#ifdef GK_OCV
        if (shared)
            for (int64_t t = 0; t < s->groups * p.nob; t++)
                FN(transpose_block)(&p, s, w, wcmem, wcb, wcw, t);
#endif
        if (reorder)
            for (int64_t g = 0; g < s->groups; g++)
                FN(reorder_weights)(s, w, wt, g);
        for (int64_t it = 0; it < p.items; it++)
            FN(item)(&p, s, it, w, wt, &wc, bias, x, y, off, offt, &ts, skip, buf);
    }
    gconv__free(mem);
    return GCONV_OK;
}

#undef FN
