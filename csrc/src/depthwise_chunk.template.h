/*
 * depthwise_chunk.template.h -- the body of a specialised depthwise kernel:
 * one vector chunk of R output rows.  Included twice by
 * depthwise_isa.template.h with DW_CHUNK_FN (the function's name) and
 * DW_ACC_ROWS (the size of its accumulator arrays: R <= DW_ACC_ROWS)
 * defined.
 */
/* One vector chunk (output columns ow0 ...) of R rows from y (row pitch
   ys); stride 1 taps dil columns apart.  MASKED: the chunk reads outside
   the row or stores nst < VL lanes; mk holds its load masks (2: as 1, but
   a 3x3 filter at stride 1 loads two vectors a row and shifts them with
   valign, DW_S1_ALIGN_OK).  stream: store whole cache lines (the 512-bit
   path's aligned vectors) past the caches; partial lines would be far
   slower, so misaligned rows are stored as usual. */
ISA_FN void DW_CHUNK_FN(const TYPE *const *xr, const VT *wv, const TYPE *w, VT bv, int first,
                        int stream, const MT *mk, TYPE *y, int64_t ys, int64_t ow0,
                        int64_t c0, int64_t nst, int64_t dil, const int KH, const int KW,
                        const int S, const int R, const int MASKED)
{
    const int NI = (R - 1) * S + KH;
    /* the taps: in registers (wv) when they fit, else broadcast from w at
       each use (the broadcast folds into the FMA's memory operand) */
#define DW_TAP(t) (DW_TAPS_IN_REGS(KH * KW) || S == 2 ? wv[t] : IFN(v_bcast)(w + (t)))
    /* CH + 1 chains per row (even and odd kh), summed at the end: more
       independent FMAs in flight */
    const int CH = DW_CHAINS(S) - 1;
    VT acc[2][DW_ACC_ROWS];

    DW_UNROLL
    for (int r = 0; r < R; r++) {
        if (first)
            acc[0][r] = bv;
        else if (MASKED)
            acc[0][r] = IFN(v_load_first)(y + r * ys + ow0, nst);
        else
            acc[0][r] = V_LOAD(y + r * ys + ow0);
        if (CH)
            acc[1][r] = V_SET1((TYPE)0);
    }

    DW_UNROLL
    for (int i = 0; i < NI; i++) {
        const TYPE *row = xr[i];
#if DW_S1_ALIGN
        if (DW_S1_ALIGN_OK(KW, MASKED) && S == 1 && dil == 1) {
            /* two loads; the other taps' vectors shifted out of them */
            VT xp = MASKED ? IFN(v_load_mask)(row, c0, mk[0]) : V_LOAD(row + c0);
            VT xq = IFN(v_load_mask)(row, c0 + DW_VL,
                                     MASKED ? mk[KW] : IFN(m_lanes)(0, KW - 1));
            V_PIN(xp);
            V_PIN(xq);
            DW_UNROLL
            for (int kw = 0; kw < KW; kw++) {
                VT xv = kw == 0 ? xp : IFN(v_alignr)(xq, xp, kw);
                DW_UNROLL
                for (int r = 0; r < R; r++) {
                    const int kh = i - r;
                    if (kh >= 0 && kh < KH)
                        acc[kh & CH][r] = V_FMA(DW_TAP(kh * KW + kw), xv, acc[kh & CH][r]);
                }
            }
        } else
#endif
        if (S == 1) {
            DW_UNROLL
            for (int kw = 0; kw < KW; kw++) {
                VT xv = MASKED ? IFN(v_load_mask)(row, c0 + kw * dil, mk[kw])
                               : V_LOAD(row + c0 + kw * dil);
                V_PIN(xv);
                DW_UNROLL
                for (int r = 0; r < R; r++) {
                    const int kh = i - r;
                    if (kh >= 0 && kh < KH)
                        acc[kh & CH][r] = V_FMA(DW_TAP(kh * KW + kw), xv, acc[kh & CH][r]);
                }
            }
#if DW_S2_ALIGN
        } else if (DW_S2_ALIGN_OK(KW)) {
            /* the even and odd lanes of A B (columns c0 ...) are taps 0 and
               1; taps 2j and 2j + 1 are them shifted by j lanes, the lanes
               shifted in coming from C (columns c0 + 2 VL ...) */
            VT va = MASKED ? IFN(v_load_mask)(row, c0, mk[0]) : V_LOAD(row + c0);
            VT vb = MASKED ? IFN(v_load_mask)(row, c0 + DW_VL, mk[1]) : V_LOAD(row + c0 + DW_VL);
            V_PIN(va);
            V_PIN(vb);
            const VT vc = KW > 2 ? IFN(v_load_mask)(row, c0 + 2 * DW_VL, mk[2]) : va;
            const VT ev = V_EVENS(va, vb), od = V_ODDS(va, vb);
            const VT ec = KW > 3 ? V_EVENS(vc, vc) : vc;
            const VT oc = KW > 4 ? V_ODDS(vc, vc) : vc;
            DW_UNROLL
            for (int kw = 0; kw < KW; kw++) {
                const int j = kw / 2;
                const VT xv = kw % 2 == 0 ? (j == 0 ? ev : IFN(v_alignr)(ec, ev, j))
                                          : (j == 0 ? od : IFN(v_alignr)(oc, od, j));
                DW_UNROLL
                for (int r = 0; r < R; r++) {
                    const int kh = i - S * r;
                    if (kh >= 0 && kh < KH)
                        acc[kh & CH][r] = V_FMA(DW_TAP(kh * KW + kw), xv, acc[kh & CH][r]);
                }
            }
#endif
        } else {
            /* taps 2j and 2j+1 are the even and odd lanes of the same two
               vectors */
            DW_UNROLL
            for (int j = 0; 2 * j < KW; j++) {
                const int64_t col = c0 + 2 * j;
                const VT va = MASKED ? IFN(v_load_mask)(row, col, mk[2 * j]) : V_LOAD(row + col);
                const VT vb = MASKED ? IFN(v_load_mask)(row, col + DW_VL, mk[2 * j + 1])
                                     : V_LOAD(row + col + DW_VL);
                VT ev = V_EVENS(va, vb);
                V_PIN(ev);
                DW_UNROLL
                for (int r = 0; r < R; r++) {
                    const int kh = i - S * r;
                    if (kh >= 0 && kh < KH)
                        acc[kh & CH][r] = V_FMA(DW_TAP(kh * KW + 2 * j), ev, acc[kh & CH][r]);
                }
                if (2 * j + 1 < KW) {
                    VT od = V_ODDS(va, vb);
                    V_PIN(od);
                    DW_UNROLL
                    for (int r = 0; r < R; r++) {
                        const int kh = i - S * r;
                        if (kh >= 0 && kh < KH)
                            acc[kh & CH][r] = V_FMA(DW_TAP(kh * KW + 2 * j + 1), od, acc[kh & CH][r]);
                    }
                }
            }
        }
    }

    DW_UNROLL
    for (int r = 0; r < R; r++) {
        const VT sum = CH ? V_ADD(acc[0][r], acc[1][r]) : acc[0][r];
        TYPE *yv = y + r * ys + ow0;
        if (MASKED)
            IFN(v_store_first)(yv, sum, nst);
        else if (DW_STREAMS && stream && ((uintptr_t)yv & 63) == 0)
            IFN(v_stream)(yv, sum);
        else
            V_STORE(yv, sum);
    }
}

#undef DW_TAP
