"""The depthwise kernels of the C core (one input channel per group, any
channel multiplier) against a float64 reference, on every vector path.

The shapes are chosen to reach each specialised kernel (3x3, 5x5, 7x7 with
stride 1 and 2), its borders (widths around the vector lengths 4, 8 and 16,
tiny planes, every padding from 0 to k - 1, asymmetric paddings), the
256-bit path for narrow rows, the general kernel (other filters, strides and
dilations) and 1-D and 3-D layers.  Results must also be bitwise identical
for every thread count.
"""

import itertools
import math

import numpy as np
import pytest

import gconv

_ccore = pytest.importorskip("gconv._ccore")

# GCONV_ISA caps the vector path of the C core at each call; None: the CPU's
# best (AVX-512 where the CPU has it).
ISAS = [None, "avx2", "generic"]


@pytest.fixture(params=ISAS, ids=lambda v: v or "best")
def isa(request, monkeypatch):
    if request.param is None:
        monkeypatch.delenv("GCONV_ISA", raising=False)
    else:
        monkeypatch.setenv("GCONV_ISA", request.param)
    return request.param


def reference(x, w, b, stride, pad_before, pad_after, dilation):
    """Depthwise correlation in float64 by plain slicing, one tap at a time."""
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    nd = x.ndim - 2
    cin, cout = x.shape[1], w.shape[0]
    mult = cout // cin
    xp = np.pad(x, [(0, 0), (0, 0)] + list(zip(pad_before, pad_after)))
    k = w.shape[2:]
    out_sp = [(xp.shape[2 + i] - dilation[i] * (k[i] - 1) - 1) // stride[i] + 1
              for i in range(nd)]
    xg = np.repeat(xp, mult, axis=1)  # output channel oc reads input oc // mult
    out = np.zeros((x.shape[0], cout) + tuple(out_sp))
    shape1 = (1, cout) + (1,) * nd
    for tap in itertools.product(*(range(n) for n in k)):
        sl = tuple(slice(tap[i] * dilation[i],
                         tap[i] * dilation[i] + stride[i] * (out_sp[i] - 1) + 1,
                         stride[i]) for i in range(nd))
        out += w[(slice(None), 0) + tap].reshape(shape1) * xg[(slice(None), slice(None)) + sl]
    if b is not None:
        out += b.astype(np.float64).reshape(shape1)
    return out


def empty_at(shape, dtype, offset):
    """An empty array starting offset bytes past a 64-byte boundary."""
    nbytes = np.dtype(dtype).itemsize * math.prod(shape)
    raw = np.empty(nbytes + 128, np.uint8)
    start = _ccore.bytes_to_alignment(raw, 64) + offset
    out = np.ndarray(shape, dtype, raw, start)
    assert out.ctypes.data % 64 == offset
    return out


def run_c(x, w, b, stride, pad_before, pad_after, dilation, threads, out_offset=0):
    """The C core directly (it takes padding before and after separately),
    into an output starting out_offset bytes past a cache line."""
    nd = x.ndim - 2
    k = w.shape[2:]
    out_sp = tuple((x.shape[2 + i] + pad_before[i] + pad_after[i]
                    - dilation[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(nd))
    out = empty_at((x.shape[0], w.shape[0]) + out_sp, x.dtype, out_offset)
    _ccore.conv(np.ascontiguousarray(x).reshape(-1), np.ascontiguousarray(w).reshape(-1),
                None if b is None else b.reshape(-1), out.reshape(-1), nd, x.shape[0],
                x.shape[1], w.shape[0], x.shape[1], x.shape[2:], k, stride,
                pad_before, pad_after, dilation, threads)
    return out


def make(rng, batch, cin, mult, spatial, kernel, dtype, bias=True):
    x = rng.standard_normal((batch, cin) + tuple(spatial)).astype(dtype)
    w = rng.standard_normal((cin * mult, 1) + tuple(kernel)).astype(dtype)
    b = rng.standard_normal(cin * mult).astype(dtype) if bias else None
    return x, w, b


def check(x, w, b, stride, pad_before, pad_after, dilation, threads=(1, 3),
          out_offset=0):
    nd = x.ndim - 2
    as_t = lambda v: (v,) * nd if isinstance(v, int) else tuple(v)
    stride, pad_before, pad_after, dilation = map(as_t, (stride, pad_before, pad_after,
                                                          dilation))
    ref = reference(x, w, b, stride, pad_before, pad_after, dilation)
    outs = [run_c(x, w, b, stride, pad_before, pad_after, dilation, t, out_offset)
            for t in threads]
    # each output sums prod(kernel) products of standard normals and a bias
    taps = math.prod(w.shape[2:])
    tol = (2e-6 if x.dtype == np.float32 else 1e-14) * (taps + 1)
    scale = math.sqrt(taps + 1)
    np.testing.assert_allclose(outs[0], ref, rtol=tol, atol=tol * scale)
    for o in outs[1:]:
        assert o.tobytes() == outs[0].tobytes()


def valid(in_size, k, s, pb, pa, d):
    return all(n + b + a >= dd * (kk - 1) + 1
               for n, kk, b, a, dd in zip(in_size, k, pb, pa, d))


# ---- the specialised 2-D kernels and their borders --------------------------

WIDTHS = [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23, 31, 32, 33, 47, 50]
HEIGHTS = [1, 2, 3, 5, 6, 9, 13]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [3, 5, 7])
@pytest.mark.parametrize("s", [1, 2])
def test_specialised_borders(isa, dtype, k, s):
    rng = np.random.default_rng(k * 10 + s)
    cases = 0
    for i, (h, wd) in enumerate(itertools.product(HEIGHTS, WIDTHS)):
        p = (h + wd + i) % k  # every padding 0..k-1 along the sweep
        pb = (p, p)
        # every third case asymmetric, with the padding after in 0..k-1
        pa = (p, (p + i) % k) if i % 3 == 0 else pb
        if not valid((h, wd), (k, k), (s, s), pb, pa, (1, 1)):
            continue
        x, w, b = make(rng, 1 + i % 2, 2, 1 + (i % 5 == 0), (h, wd), (k, k), dtype)
        check(x, w, b, s, pb, pa, 1)
        cases += 1
    assert cases > 50


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_specialised_wide_and_tall(isa, dtype):
    rng = np.random.default_rng(7)
    for (h, wd, k, s, p) in [(40, 130, 3, 1, 1), (37, 70, 5, 1, 2), (23, 97, 7, 1, 3),
                             (41, 129, 3, 2, 1), (30, 66, 5, 2, 2), (29, 91, 7, 2, 3),
                             (3, 4500, 3, 1, 1), (4, 300, 3, 2, 0), (12, 12, 3, 1, 2)]:
        x, w, b = make(rng, 2, 3, 1, (h, wd), (k, k), dtype)
        check(x, w, b, s, (p, p), (p, p), 1, threads=(1, 2, 4))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_output_streamed(isa, dtype):
    """Arrays of more than 24 MB take the streaming stores, in the
    specialised row kernels from 64 MB on (the first case in float64: whole
    aligned vectors bypass the caches; rows of 704 elements are 64-byte
    aligned, the odd-sized second case mixes aligned and unaligned rows).
    Below that the specialised kernels ask for the next plane's output
    lines too, as they ask for its input lines on every plane that takes
    one unit.  An output that does not start on a cache line cannot take
    them (the third case): the same results through the caches."""
    rng = np.random.default_rng(11)
    x, w, b = make(rng, 1, 8, 1, (752, 704), (3, 3), dtype)
    check(x, w, b, 1, (1, 1), (1, 1), 1, threads=(1, 2))
    check(x[:, :, 1:], w, b, 1, (1, 1), (1, 1), 1, threads=(2,), out_offset=16)
    x, w, b = make(rng, 2, 3, 1, (401, 1001), (5, 5), dtype)
    check(x, w, b, 2, (2, 2), (2, 2), 1, threads=(1, 3))
    x, w, b = make(rng, 2, 7, 1, (500, 903), (3, 3), dtype)
    check(x, w, b, 2, (1, 1), (1, 1), 1, threads=(1, 2, 3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_specialised_dilated_3x3(isa, dtype):
    """3x3, stride 1, dilation d in both dimensions: rows are taken phase by
    phase (oh = p, p + d, ...)."""
    rng = np.random.default_rng(12)
    cases = 0
    for i, (d, h, wd) in enumerate(itertools.product([2, 3, 4, 6], [1, 2, 5, 9, 17, 30],
                                                     [1, 3, 8, 17, 33, 40])):
        p = (i + d) % (2 * d + 1)          # paddings 0 .. 2d
        pa = (p, (p + i) % (2 * d + 1)) if i % 4 == 0 else (p, p)
        if not valid((h, wd), (3, 3), (1, 1), (p, p), pa, (d, d)):
            continue
        x, w, b = make(rng, 1 + i % 2, 2, 1 + (i % 5 == 0), (h, wd), (3, 3), dtype)
        check(x, w, b, 1, (p, p), pa, d, threads=(1, 2))
        cases += 1
    assert cases > 40


# ---- small planes, channels along the vectors --------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_blocked_small_planes(isa, dtype):
    """Small planes with many channels: blocks of a vector's worth of
    channels (16, 8 or 4), full and partial, are transposed into tiles
    (rows of at most 8 elements or 7x7 and larger filters with AVX-512,
    float32 5x5 on rows of 17 to 24, and at width stride 2 on rows of 9 to
    12, every small float plane with AVX2); 3x3, 5x5 and 7x7 at stride 1 keep
    the taps of a row in registers."""
    rng = np.random.default_rng(11)
    for (cin, mult, sp, k, s, pb, pa, d) in [
            ((37, 1, (7, 7), (5, 5), 1, (2, 2), (2, 2), 1)),
            ((48, 1, (7, 7), (7, 7), 1, (3, 3), (3, 3), 1)),
            ((17, 2, (6, 5), (5, 5), 1, (2, 1), (1, 3), 1)),
            ((33, 1, (9, 8), (5, 7), 2, (2, 3), (2, 3), 1)),
            ((20, 3, (8, 8), (5, 5), 1, (4, 4), (4, 4), 2)),
            ((40, 1, (14, 14), (3, 3), 1, (1, 1), (1, 1), 1)),
            ((34, 1, (14, 14), (5, 5), 1, (2, 2), (2, 2), 1)),
            ((26, 1, (17, 20), (5, 5), 1, (2, 2), (2, 2), 1)),
            ((35, 1, (6, 23), (5, 5), 1, (2, 1), (1, 2), 1)),
            ((50, 1, (7, 7), (3, 3), 1, (1, 1), (1, 1), 1)),
            ((70, 1, (5, 6), (3, 3), 1, (0, 1), (2, 0), 1)),
            ((64, 1, (12, 10), (7, 7), 1, (3, 3), (3, 3), 1)),
            ((36, 1, (9, 9), (7, 7), 1, (0, 0), (0, 0), 1)),
            ((24, 1, (13, 11), (5, 5), (2, 3), (2, 2), (0, 1), 1)),
            ((19, 1, (3, 3), (5, 5), 1, (4, 4), (4, 4), 1)),
            ((67, 1, (19, 19), (5, 5), 2, (2, 2), (2, 2), 1)),
            ((64, 1, (17, 23), (5, 5), 2, (1, 2), (0, 1), 1)),
            ((65, 1, (23, 22), (5, 5), 2, (2, 2), (2, 1), 1)),
            ((21, 1, (30,), (9,), 1, (4,), (4,), 1)),
            ((16, 2, (40,), (31,), 1, (15,), (15,), 1))]:
        x, w, b = make(rng, 2, cin, mult, sp, k, dtype, bias=cin % 2 == 1)
        check(x, w, b, s, pb, pa, d, threads=(1, 2, 5))
    # a 3-D layer of one input slice whose only output slice reads the depth
    # padding: all bias (found by the fuzzer, where this path once read slice 0)
    x, w, b = make(rng, 1, 1, 26, (1, 2, 3), (1, 2, 3), dtype)
    check(x, w, b, (24, 2, 1), (2, 2, 0), (0, 0, 0), (24, 1, 1))
    x, w, b = make(rng, 1, 40, 1, (1, 7, 7), (1, 7, 7), dtype)
    check(x, w, b, 1, (1, 3, 3), (1, 3, 3), 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [5, 7])
def test_narrow_planes(isa, dtype, k):
    """5x5 and 7x7 at stride 1 on output rows of more than half a vector and
    at most one (AVX-512 float32: 9 to 16), with AVX-512 5x5 also on rows of
    up to two vectors (float32 17 to 32).  AVX2 copies the input rows
    between zero columns first, as whole vectors (zero past the row) unless
    the left padding is as wide as the filter (then masked: the vector would
    reach past the buffer row); AVX-512 loads them from the plane with the
    lanes outside the row masked, except for groups of rows that reach into
    padding other than the plane's K // 2 rows above and below (then
    copied)."""
    rng = np.random.default_rng(40 + k)
    cases = 0
    for i, (p, wd) in enumerate(itertools.product(range(k + 2),
                                                  [3, 4, 7, 9, 10, 12, 14, 16, 20, 28, 32])):
        pa = (p, (p + i) % (k + 2)) if i % 3 == 0 else (p, p)
        h = 5 + i % 13
        if not valid((h, wd), (k, k), (1, 1), (p, p), pa, (1, 1)):
            continue
        x, w, b = make(rng, 1 + i % 2, 3, 1 + (i % 7 == 0), (h, wd), (k, k), dtype)
        check(x, w, b, 1, (p, p), pa, 1, threads=(1, 2))
        cases += 1
    assert cases > 40
    # rows of four output columns with little left padding: with float64
    # AVX2 (4 lanes) a 7x7 filter's taps reach past a buffer row of two
    # vectors, so the narrow-plane kernel must not take them (it did, and
    # read the next row's first columns)
    for wd, pb, pa in ((7, 1, 2), (8, 0, 1), (6, 0, 2)):
        x, w, b = make(rng, 1, 2, 1, (8, wd), (k, k), dtype)
        check(x, w, b, 1, (pb, pb), (pb, pa), 1, threads=(1, 2))



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flat_planes(isa, dtype):
    """3x3 filters at stride 1 with padding 1 on rows of at most four
    vectors (AVX-512: float32 up to 64 columns, float64 up to 32) and planes
    of at most 256 vectors: the plane is taken as one flat array, vector by
    vector (planes of up to 16 vectors unrolled), the rows above and below
    by a permute across two vectors.  Widths and heights on both sides of
    every limit (planes of a few vectors, rows of one to four vectors and
    just too wide, planes just too long), with and without bias and
    channel multipliers."""
    rng = np.random.default_rng(23)
    sizes = [(h, w) for w in (1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17)
             for h in (1, 2, 3, 5, 7, 8, 13, 16, 31, 32, 33)]
    sizes += [(h, w) for w in (20, 24, 28, 31, 33, 40, 47, 48, 63, 65)
              for h in (1, 2, 5, 28, 65)]
    for i, (h, w) in enumerate(sizes):
        mult = 2 if i % 3 == 0 else 1
        x, w_, b = make(rng, 1 + i % 3, 3 + i % 4, mult, (h, w), (3, 3), dtype,
                        bias=i % 2 == 0)
        check(x, w_, b, 1, 1, 1, 1, threads=(1, 2))
    # enough planes to run on several threads
    x, w_, b = make(rng, 3, 50, 1, (7, 7), (3, 3), dtype)
    check(x, w_, b, 1, 1, 1, 1, threads=(1, 2, 3, 5))
    # asymmetric padding, stride 2 and dilation are not tiny planes
    for pb, pa, s, d in [((1, 1), (0, 1), 1, 1), ((0, 1), (1, 1), 1, 1),
                         ((1, 1), (1, 1), 2, 1), ((2, 2), (2, 2), 1, 2)]:
        x, w_, b = make(rng, 2, 20, 1, (7, 6), (3, 3), dtype)
        check(x, w_, b, s, pb, pa, d)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_blocked_rows(isa, dtype):
    """1-D rows, and 2-D filters of one row at height stride 1 without
    height padding, with filters of 5 taps and more (13 and more when
    dilated) go channels along the vectors in strips of 256 output
    positions: rows shorter than a strip, exactly one, and several with a
    partial last strip and block; partial channel blocks; taps in one or
    several passes; paddings wider than the filter; strides and
    dilations."""
    rng = np.random.default_rng(12)
    for (cin, mult, n, k, s, pb, pa, d) in [
            (32, 1, 300, 9, 1, 4, 4, 1),
            (37, 1, 600, 5, 1, 2, 2, 1),
            (48, 1, 256, 31, 1, 15, 15, 1),
            (33, 1, 513, 33, 1, 16, 16, 1),
            (20, 2, 100, 17, 1, 3, 11, 1),
            (40, 1, 50, 7, 1, 30, 9, 1),
            (36, 1, 8, 11, 1, 5, 5, 1),
            (64, 1, 1000, 9, 2, 4, 4, 1),
            (34, 1, 777, 5, 3, 0, 2, 1),
            (35, 1, 700, 13, 1, 12, 12, 2),
            (40, 1, 300, 15, 2, 14, 3, 3)]:
        x, w, b = make(rng, 2, cin, mult, (n,), (k,), dtype, bias=cin % 2 == 0)
        check(x, w, b, (s,), (pb,), (pa,), (d,), threads=(1, 2, 5))
    # 2-D, one filter row: every output row from its input row
    for (cin, mult, sp, k, s, pb, pa, d) in [
            (32, 1, (5, 40), (1, 9), (1, 1), (0, 4), (0, 4), (1, 1)),
            (37, 1, (7, 7), (1, 7), (1, 1), (0, 3), (0, 3), (1, 1)),
            (20, 2, (3, 300), (1, 5), (1, 2), (0, 2), (0, 1), (3, 1)),
            (33, 1, (4, 60), (1, 13), (1, 1), (0, 12), (0, 12), (1, 2)),
            # height stride or padding: not rows of their own (other kernels)
            (32, 1, (6, 40), (1, 9), (2, 1), (0, 4), (0, 4), (1, 1)),
            (32, 1, (6, 40), (1, 9), (1, 1), (1, 4), (0, 4), (1, 1))]:
        x, w, b = make(rng, 2, cin, mult, sp, k, dtype, bias=cin % 2 == 0)
        check(x, w, b, s, pb, pa, d, threads=(1, 2, 5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_blocked_bands(isa, dtype):
    """2-D filters of 5 taps and more without a specialised row kernel
    (rectangular, even, dilated, anisotropic strides) go channels along the
    vectors, in bands of output rows when the plane's tile is too large:
    first, middle and last bands with their height padding, a partial last
    band, partial channel blocks, and planes that fit whole; filters much
    taller than a band of the usual size take larger bands.  Filters of one
    row on planes of rows of at most 24 go as planes, not row by row.
    (Filters of one column on wide rows take the general kernel's vertical
    passes: these have two.)"""
    rng = np.random.default_rng(13)
    for (cin, mult, sp, k, s, pb, pa, d) in [
            (32, 1, (56, 56), (7, 2), (1, 1), (3, 0), (3, 1), (1, 1)),
            (37, 1, (45, 50), (5, 5), (1, 1), (4, 4), (4, 4), (2, 2)),
            (40, 1, (57, 58), (4, 4), (2, 2), (1, 2), (2, 1), (1, 1)),
            (33, 1, (50, 61), (3, 3), (1, 2), (1, 1), (1, 1), (1, 1)),
            (20, 2, (41, 47), (5, 3), (2, 1), (6, 1), (5, 2), (2, 1)),
            (48, 1, (14, 14), (7, 1), (1, 1), (3, 0), (3, 0), (1, 1)),
            (36, 1, (90, 40), (9, 2), (3, 1), (8, 0), (1, 1), (1, 1)),
            (40, 1, (14, 14), (1, 7), (1, 1), (0, 3), (0, 3), (1, 1)),
            (33, 2, (9, 17), (1, 11), (1, 1), (0, 5), (0, 4), (1, 1)),
            (37, 1, (6, 24), (1, 5), (1, 1), (0, 4), (0, 4), (1, 2)),
            (35, 1, (3, 20), (1, 21), (1, 2), (0, 10), (0, 10), (1, 1)),
            # tall filters on wide rows: bands of more rows than 64 KB holds
            (33, 1, (61, 56), (21, 2), (1, 1), (10, 0), (10, 1), (1, 1)),
            (32, 1, (57, 60), (9, 9), (2, 2), (4, 4), (4, 4), (1, 1))]:
        x, w, b = make(rng, 2, cin, mult, sp, k, dtype, bias=cin % 2 == 0)
        check(x, w, b, s, pb, pa, d, threads=(1, 2, 5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_blocked_stride2_taps(isa, dtype):
    """Channels along the vectors at width stride 2 without width dilation,
    rows of 3, 5, 7 and 9 taps: each tile column is loaded once and
    multiplied by the taps (in registers) of every position that reads it,
    the even taps into one set of positions and the odd ones into the
    other.  Square and rectangular filters, height strides 1 to 3, rows
    cut into blocks of 1 to 8 positions, padding on either side or none,
    two outputs per channel; a width dilation keeps the load per tap."""
    rng = np.random.default_rng(19)
    for (cin, mult, sp, k, s, pb, pa, d) in [
            (40, 1, (15, 15), (3, 3), 2, (1, 1), (1, 1), 1),
            (33, 1, (17, 16), (3, 3), 2, (0, 0), (0, 1), 1),
            (36, 1, (21, 24), (3, 5), (1, 2), (1, 2), (1, 1), 1),
            (35, 1, (19, 21), (5, 5), 2, (2, 2), (2, 1), 1),
            (34, 1, (30, 29), (7, 7), 2, (3, 3), (3, 2), 1),
            (17, 2, (13, 12), (7, 7), 2, (0, 3), (2, 0), 1),
            (20, 2, (23, 26), (9, 9), (3, 2), (4, 4), (4, 3), 1),
            (33, 1, (40, 37), (9, 9), 2, (4, 4), (4, 4), 1),
            (35, 1, (20, 21), (5, 5), 2, (4, 4), (4, 4), (1, 2))]:
        x, w, b = make(rng, 2, cin, mult, sp, k, dtype, bias=cin % 2 == 0)
        check(x, w, b, s, pb, pa, d, threads=(1, 2, 5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels", [4, 8, 16])
def test_one_block_of_channels(isa, dtype, channels):
    """Channels of exactly one vector's worth (4, 8 or 16, whichever is the
    path's vector) take the channel-blocked kernels for rows at any batch
    and for 2-D filters without a specialised kernel from batch 2 on, the
    row kernels at batch 1: each batch item comes out bitwise the same
    either way."""
    rng = np.random.default_rng(23 + channels)
    for (sp, k, s, pb, pa) in [
            ((30, 37), (1, 11), (1, 1), (0, 5), (0, 5)),
            ((23, 29), (1, 7), (1, 2), (0, 3), (0, 2)),
            ((26, 31), (3, 5), (1, 1), (1, 2), (1, 2)),
            ((25, 27), (4, 4), (1, 1), (2, 1), (1, 2)),
            ((28, 19), (5, 3), (2, 1), (2, 1), (2, 1)),
            ((300,), (31,), (1,), (15,), (15,)),
            ((250,), (9,), (2,), (4,), (3,))]:
        x, w, b = make(rng, 3, channels, 1, sp, k, dtype)
        check(x, w, b, s, pb, pa, 1, threads=(1, 2, 5))
        ones = (1,) * len(sp)
        whole = run_c(x, w, b, s, pb, pa, ones, 2)
        for i in range(3):
            alone = run_c(x[i:i + 1], w, b, s, pb, pa, ones, 2)
            assert alone.tobytes() == whole[i:i + 1].tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_blocked_wide_filters(isa, dtype):
    """Rows of 9 to 13 taps held in registers, wider rows 8 taps a pass
    (and the rest one at a time), a band of one row larger than the usual
    tile (31 taps on rows of 28: RepLKNet), and the padding columns left
    out where a block of positions starts or ends a row padded by k // 2
    (one block or several, widths 7 to 20)."""
    rng = np.random.default_rng(17)
    for (cin, mult, sp, k, s, pb, pa, d) in [
            (33, 1, (14, 14), (9, 9), 1, (4, 4), (4, 4), 1),
            (40, 1, (7, 7), (13, 13), 1, (6, 6), (6, 6), 1),
            (36, 1, (12, 17), (11, 11), 1, (5, 5), (5, 5), 1),
            (34, 1, (16, 20), (7, 7), 1, (3, 3), (3, 3), 1),
            (35, 1, (9, 9), (5, 5), 1, (2, 2), (2, 2), 1),
            (33, 1, (10, 13), (9, 9), 1, (4, 3), (3, 5), 1),
            (32, 1, (11, 15), (17, 17), 1, (8, 8), (8, 8), 1),
            (17, 2, (8, 9), (3, 21), 1, (1, 10), (1, 10), 1),
            (33, 1, (31, 28), (31, 31), 1, (15, 15), (15, 15), 1)]:
        x, w, b = make(rng, 2, cin, mult, sp, k, dtype, bias=cin % 2 == 1)
        check(x, w, b, s, pb, pa, d, threads=(1, 2, 5))

# ---- the general kernel ------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_general_2d(isa, dtype):
    rng = np.random.default_rng(3)
    configs = [  # kernel, stride, dilation
        ((2, 2), (1, 1), (1, 1)), ((4, 4), (2, 2), (1, 1)), ((3, 5), (1, 1), (1, 1)),
        ((1, 7), (1, 1), (1, 1)), ((7, 1), (1, 2), (1, 1)), ((3, 3), (3, 3), (1, 1)),
        ((3, 3), (1, 2), (1, 1)), ((3, 3), (2, 1), (1, 1)), ((3, 3), (1, 1), (2, 2)),
        ((3, 3), (2, 2), (2, 3)), ((5, 5), (1, 1), (3, 1)), ((9, 9), (1, 1), (1, 1)),
        ((1, 1), (1, 1), (1, 1)), ((1, 1), (2, 2), (1, 1)), ((2, 3), (4, 3), (2, 1)),
    ]
    for i, (k, s, d) in enumerate(configs):
        for j, (h, wd) in enumerate([(1, 1), (2, 3), (7, 9), (10, 17), (6, 40), (5, 71)]):
            pb = tuple((i + j + a) % kk for a, kk in enumerate(k))
            pa = tuple((i + 2 * j + a) % kk for a, kk in enumerate(k))
            if not valid((h, wd), k, s, pb, pa, d):
                continue
            x, w, b = make(rng, 1 + j % 2, 2, 1 + (j % 3 == 1), (h, wd), k, dtype,
                           bias=j != 2)
            check(x, w, b, s, pb, pa, d)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_general_row_passes(isa, dtype):
    """The general kernel takes several output rows a pass at width strides
    1 and 2 (blocks of four vectors and single vectors each in their own
    passes; the rows left over one at a time), and a tap row that some rows
    of a pass read outside the input takes those rows one by one: every
    plane height from 1 to 19 under a tall filter over padding rows at the
    top and bottom, height strides and dilations (passes whose first
    rows, or last rows, read the padding), 1xK rows of few channels
    (InceptionNeXt), a stride 3 in width (one row a pass), and 3-D.  Run
    on 1, 2 and 5 threads, whose tasks split the rows differently, each
    output bitwise the same."""
    rng = np.random.default_rng(29)
    cases = [(2, 1, (h, 56), (11, 1), 1, (5, 0), (5, 0), 1) for h in range(1, 20)]
    cases += [
        (3, 2, (17, 100), (5, 3), (2, 1), (2, 1), (3, 1), (2, 1)),
        (5, 1, (23, 50), (1, 11), 1, (0, 5), (0, 5), 1),
        (4, 1, (30, 64), (9, 2), (3, 1), (8, 1), (0, 0), 1),
        (3, 1, (13, 73), (4, 4), (1, 3), (3, 2), (0, 1), (3, 1)),
        (2, 1, (40, 37), (6, 3), (2, 2), (7, 1), (6, 1), (3, 1)),
        (2, 1, (3, 11, 40), (2, 7, 1), 1, (1, 3, 0), (0, 3, 0), 1),
    ]
    for (cin, mult, sp, k, s, pb, pa, d) in cases:
        x, w, b = make(rng, 2, cin, mult, sp, k, dtype, bias=cin % 2 == 0)
        check(x, w, b, s, pb, pa, d, threads=(1, 2, 5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vertical_filters(isa, dtype):
    """Filters of one tap column at width stride 1 take passes of their own
    (a block's masks made once for all its rows): rows whose blocks lie
    inside, whose last vector leaves the row, or whose vectors all need
    masks (padding in width, rows shorter than a block); height strides,
    dilations and padding rows at the top and bottom (passes that test
    each row); planes of many channels, which the channel-blocked kernel
    took before; and 3-D.  Run on 1, 2 and 5 threads, each output bitwise
    the same."""
    rng = np.random.default_rng(31)
    cases = [(3, 1, (9, w), (5, 1), 1, (2, 0), (2, 0), 1)
             for w in (1, 7, 15, 16, 17, 31, 33, 47, 49, 56, 64, 65, 80, 129)]
    cases += [
        (2, 1, (23, 61), (7, 1), 1, (3, 2), (3, 5), 1),
        (2, 2, (31, 70), (4, 1), (2, 1), (0, 1), (5, 0), (3, 1)),
        (3, 1, (12, 50), (9, 1), (3, 1), (8, 0), (8, 3), (2, 1)),
        (2, 1, (6, 40), (21, 1), 1, (10, 0), (10, 0), 1),
        (40, 1, (20, 56), (7, 1), 1, (3, 0), (3, 0), 1),
        (24, 1, (14, 40), (11, 1), 1, (5, 0), (5, 0), 1),
        (2, 1, (4, 9, 70), (3, 5, 1), (1, 2, 1), (1, 2, 0), (1, 1, 0), (1, 2, 1)),
    ]
    for (cin, mult, sp, k, s, pb, pa, d) in cases:
        x, w, b = make(rng, 2, cin, mult, sp, k, dtype, bias=cin % 2 == 1)
        check(x, w, b, s, pb, pa, d, threads=(1, 2, 5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_tap_planes(isa, dtype):
    """1x1 filters (a scale per channel, with multipliers), whose planes
    are taken as one row; with a stride or padding they are not."""
    rng = np.random.default_rng(14)
    for (cin, mult, sp, s, pb, pa) in [(40, 1, (7, 9), 1, 0, 0), (3, 4, (33, 2), 1, 0, 0),
                                       (24, 2, (1, 50), 1, 0, 0), (17, 1, (6, 6), 2, 0, 0),
                                       (20, 1, (5, 7), 1, 1, 0)]:
        x, w, b = make(rng, 2, cin, mult, sp, (1, 1), dtype)
        check(x, w, b, s, pb, pa, 1, threads=(1, 2, 5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_1d(isa, dtype):
    rng = np.random.default_rng(4)
    for i, (k, s, d) in enumerate([(1, 1, 1), (3, 1, 1), (4, 1, 1), (5, 2, 1), (3, 3, 1),
                                   (3, 1, 2), (7, 2, 3), (31, 1, 1), (15, 2, 1)]):
        for j, n in enumerate([1, 2, 7, 16, 33, 100, 301]):
            pb, pa = ((i + j) % k,), ((i + 2 * j) % k,)
            if not valid((n,), (k,), (s,), pb, pa, (d,)):
                continue
            x, w, b = make(rng, 1 + j % 3, 3, 1 + (j % 2), (n,), (k,), dtype)
            check(x, w, b, s, pb, pa, d)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_3d(isa, dtype):
    rng = np.random.default_rng(5)
    configs = [  # kernel, stride, dilation, padding before, padding after
        ((3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        ((3, 3, 3), (1, 2, 2), (1, 1, 1), (1, 1, 1), (1, 0, 2)),
        ((3, 5, 5), (2, 1, 1), (1, 1, 1), (0, 2, 2), (2, 2, 1)),
        ((1, 3, 3), (1, 1, 1), (1, 1, 1), (0, 1, 1), (0, 1, 1)),
        ((3, 3, 3), (1, 1, 1), (2, 2, 2), (2, 2, 2), (2, 2, 2)),
        ((2, 7, 7), (1, 2, 2), (1, 1, 1), (0, 3, 3), (1, 3, 3)),
        ((1, 3, 3), (1, 1, 1), (1, 1, 1), (2, 1, 1), (2, 1, 1)),  # all-padding slices
        ((3, 1, 4), (2, 1, 3), (1, 1, 2), (1, 0, 1), (0, 0, 2)),
        # temporal filters: the planes taken as one row, the depth taps of
        # the general kernel summed in registers
        ((3, 1, 1), (1, 1, 1), (1, 1, 1), (1, 0, 0), (1, 0, 0)),
        ((5, 1, 1), (2, 1, 1), (2, 1, 1), (4, 0, 0), (3, 0, 0)),
        ((3, 1, 1), (1, 2, 1), (1, 1, 1), (1, 0, 0), (1, 0, 0)),
        ((2, 1, 1), (1, 1, 1), (1, 1, 1), (0, 1, 0), (1, 0, 1)),
        ((4, 2, 3), (1, 1, 1), (3, 1, 1), (5, 1, 1), (4, 0, 1)),
    ]
    for i, (k, s, d, pb, pa) in enumerate(configs):
        for sp in [(1, 3, 4), (4, 5, 6), (5, 9, 20)]:
            if not valid(sp, k, s, pb, pa, d):
                continue
            x, w, b = make(rng, 1 + i % 2, 2, 1 + (i % 3 == 2), sp, k, dtype)
            check(x, w, b, s, pb, pa, d)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_3d_flat_planes(isa, dtype):
    """3x3 in height and width at stride 1 with padding 1 there (X3D,
    CSN): with AVX-512 each output slice sums the flat-plane sums of the
    input slices under its depth taps, whatever the depth taps, stride,
    padding and dilation; slices that see only depth padding are the bias;
    planes of one vector to four-vector rows, multipliers 1 and 2."""
    rng = np.random.default_rng(23)
    for (cin, mult, sp, kd, sd, pdb, pda, dd) in [
            (5, 1, (4, 14, 14), 3, 1, 1, 1, 1),
            (3, 2, (5, 7, 7), 3, 2, 1, 0, 1),
            (4, 1, (6, 9, 20), 5, 1, 2, 2, 2),
            (3, 1, (3, 28, 28), 2, 1, 0, 1, 1),
            (2, 2, (1, 5, 9), 1, 1, 2, 1, 1),      # slices of depth padding only
            (3, 1, (1, 7, 7), 3, 1, 1, 1, 1),      # one slice in and out, middle depth tap
            (3, 1, (7, 3, 3), 3, 3, 2, 2, 3),
            (2, 1, (2, 56, 56), 3, 1, 1, 1, 1)]:
        x, w, b = make(rng, 2, cin, mult, sp, (kd, 3, 3), dtype, bias=cin % 2 == 1)
        check(x, w, b, (sd, 1, 1), (pdb, 1, 1), (pda, 1, 1), (dd, 1, 1), threads=(1, 2, 5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rows_with_huge_strides(isa, dtype):
    """2-D filters of one row whose strips would not fit the channel-blocked
    buffers (a width stride of 2^31 - 1) take the row kernels; they once
    reached the strip kernel through the 2-D test, which sized a 1 TB tile."""
    rng = np.random.default_rng(31)
    for (cin, mult, sp, kw, sw, pw, dh) in [(4, 2, (5, 7), 7, 2**31 - 1, (1, 3), 7),
                                            (32, 1, (3, 40), 5, 2**20, (2, 2), 1),
                                            (16, 2, (2, 300), 9, 4096, (0, 0), 1)]:
        x, w, b = make(rng, 1, cin, mult, sp, (1, kw), dtype)
        check(x, w, b, (1, sw), (0, pw[0]), (0, pw[1]), (dh, 1), threads=(1, 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_slice_over_depth_padding(isa, dtype):
    """A 3-D layer of one input slice, one depth tap and one output slice
    that lies over depth padding (a depth stride larger than the padding):
    the output is the bias alone.  Every kernel family that takes one-slice
    layers as 2-D must see the padding (the flat planes, channel-blocked
    planes and rows, narrow planes and 1-D rows once read the input slice)."""
    rng = np.random.default_rng(29)
    for (cin, sp, k, pad, sd) in [
            (3, (1, 7, 7), (1, 3, 3), (1, 1, 1), 5),       # flat planes
            (32, (1, 14, 14), (1, 7, 7), (1, 3, 3), 3),    # channel-blocked planes
            (32, (1, 14, 14), (1, 5, 5), (2, 2, 2), 3),    # channel-blocked, 5x5
            (4, (1, 12, 12), (1, 5, 5), (1, 2, 2), 3),     # narrow planes
            (4, (1, 9, 14), (1, 7, 7), (1, 3, 3), 2),
            (32, (1, 3, 300), (1, 1, 5), (2, 0, 2), 7),    # channel-blocked rows
            (4, (1, 2, 40), (1, 1, 3), (1, 0, 1), 3),      # rows
            (5, (1, 6, 6), (1, 1, 1), (1, 0, 0), 2)]:
        x, w, b = make(rng, 2, cin, 1, sp, k, dtype)
        check(x, w, b, (sd, 1, 1), pad, pad, (1, 1, 1), threads=(1, 2))
        check(x, w, None, (sd, 1, 1), pad, (0, *pad[1:]), (1, 1, 1), threads=(1,))


# ---- channel multipliers, batches, the public API ---------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [0, 1, 3])
def test_multiplier_and_batch(isa, dtype, batch):
    rng = np.random.default_rng(6 + batch)
    for cin, mult, k, s in [(4, 2, 3, 1), (3, 3, 5, 2), (1, 8, 3, 1), (1, 5, 7, 1), (2, 4, 4, 1)]:
        x, w, b = make(rng, batch, cin, mult, (9, 19), (k, k), dtype)
        out = gconv.conv2d(x, w, b, stride=s, padding=k // 2, groups=cin, backend="c",
                           num_threads=2)
        ref = reference(x, w, b, (s, s), (k // 2,) * 2, (k // 2,) * 2, (1, 1))
        assert out.shape == ref.shape and out.dtype == dtype
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(out, ref, rtol=tol, atol=tol * k)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_public_api_depthwise(isa, dtype):
    rng = np.random.default_rng(8)
    x, w, b = make(rng, 2, 6, 1, (11, 13), (3, 3), dtype)
    out = gconv.conv2d(x, w, b, padding="same", groups=6, backend="c")
    np.testing.assert_allclose(out, reference(x, w, b, (1, 1), (1, 1), (1, 1), (1, 1)),
                               rtol=1e-5, atol=1e-5)
    x1, w1, b1 = make(rng, 1, 4, 2, (50,), (4,), dtype)
    out = gconv.conv1d(x1, w1, b1, padding="same", groups=4, backend="c")
    # "same" with an even kernel: the extra element goes after
    np.testing.assert_allclose(out, reference(x1, w1, b1, (1,), (1,), (2,), (1,)),
                               rtol=1e-5, atol=1e-5)
    x3, w3, b3 = make(rng, 1, 3, 1, (4, 6, 7), (3, 3, 3), dtype)
    out = gconv.conv3d(x3[0], w3, None, padding=1, groups=3, backend="c")
    np.testing.assert_allclose(out, reference(x3, w3, None, (1,) * 3, (1,) * 3, (1,) * 3,
                                              (1,) * 3)[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_public_api_output_alignment(dtype):
    """The C backend's outputs of 64 KB and more start on a cache line,
    where the kernels can store them past the caches; smaller ones are
    ordinary arrays.  Both are C-contiguous, writeable and right."""
    rng = np.random.default_rng(9)
    for spatial, large in (((40, 40), True), ((6, 7), False)):
        x, w, b = make(rng, 2, 16, 1, spatial, (3, 3), dtype)
        out = gconv.conv2d(x, w, b, padding=1, groups=16, backend="c")
        assert out.dtype == dtype and out.shape == x.shape
        assert out.flags.c_contiguous and out.flags.writeable
        assert (out.ctypes.data % 64 == 0) if large else out.flags.owndata
        np.testing.assert_allclose(out, reference(x, w, b, (1, 1), (1, 1), (1, 1), (1, 1)),
                                   rtol=1e-5, atol=1e-5)


# ---- thread-count independence ----------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bitwise_identical_across_threads(isa, dtype):
    """Large enough to run on several threads, with few planes so that rows
    and channel blocks are split among the threads too."""
    rng = np.random.default_rng(9)
    cases = [  # batch, cin, mult, spatial, kernel, stride, dilation, pad
        (1, 2, 1, (70, 75), (3, 3), 1, 1, 1),
        (1, 1, 1, (90, 50), (5, 5), 2, 1, 2),
        (1, 1, 16, (40, 33), (7, 7), 1, 1, 3),
        (3, 5, 1, (30, 30), (3, 3), 2, 1, 1),
        (1, 3, 2, (45, 41), (3, 5), 1, 2, (2, 4)),
        (1, 2, 1, (61, 64), (3, 3), 1, 3, 3),
        (2, 4, 1, (4000,), (9,), 1, 1, 4),
        (1, 2, 3, (6, 20, 22), (3, 3, 3), (1, 2, 2), 1, 1),
        (1, 1, 1, (8, 16, 9), (3, 3, 3), 1, 1, 1),
    ]
    for batch, cin, mult, sp, k, s, d, p in cases:
        x, w, b = make(rng, batch, cin, mult, sp, k, dtype)
        nd = len(sp)
        pads = (p,) * nd if isinstance(p, int) else p
        fn = {1: gconv.conv1d, 2: gconv.conv2d, 3: gconv.conv3d}[nd]
        outs = [fn(x, w, b, stride=s, padding=pads, dilation=d, groups=cin, backend="c",
                   num_threads=t) for t in (1, 2, 3, 4)]
        for o in outs[1:]:
            assert o.tobytes() == outs[0].tobytes()
        as_t = lambda v: (v,) * nd if isinstance(v, int) else tuple(v)
        ref = reference(x, w, b, as_t(s), pads, pads, as_t(d))
        tol = 2e-5 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(outs[0], ref, rtol=tol, atol=tol * 10)
