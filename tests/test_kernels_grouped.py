"""The C core's blocked kernels for layers with several input channels per
group (csrc/src/grouped.c): every way they feed the micro-kernel (in place
1x1, phase buffer with and without extra columns, column tiles), the block
remainders and borders, on every vector level, against a float64 reference,
and bitwise identical for any thread count.

The C core reads GCONV_ISA at every call, so each test runs once per level:
"generic" (portable C), "avx2" and the CPU's best (AVX-512 where present);
levels above the CPU's are capped by the core, which then repeats a lower one.
"""

import numpy as np
import pytest

import gconv

pytestmark = pytest.mark.skipif("c" not in gconv.available_backends(),
                                reason="the compiled core is not built")

FUNCS = {1: gconv.conv1d, 2: gconv.conv2d, 3: gconv.conv3d}

# (name, ndim, batch, in_channels, out_channels, groups, input size, kernel,
#  keyword arguments).  The comments say which path the AVX-512 float32 plan
#  takes; the other levels and float64 block differently, so the same shapes
#  also land on their remainders.
CASES = [
    # in place: 1x1, stride 1, unpadded; plane 81 = 5 vectors + 1 pixel
    ("1x1_inplace_tail", 2, 3, 40, 34, 2, (9, 9), (1, 1), {}),
    # 1x1 with 80 -> 20 channels per group (shufflenet-like), plane 49
    ("1x1_80_to_20", 2, 1, 240, 60, 3, (7, 7), (1, 1), {}),
    ("1x1_20_to_80", 2, 2, 60, 240, 3, (7, 8), (1, 1), {}),
    # the plane tails of several images side by side in one tile (batch 2
    # and more, tails of at most half a vector): plane 20 = 16 + 4 (AVX-512
    # float32), 13 images in two blocks of tails, 300 taps in two passes
    ("1x1_tails_13_images", 2, 13, 600, 12, 2, (4, 5), (1, 1), {}),
    # 1x1 on a plane smaller than a vector: phase buffer instead
    ("1x1_small_plane", 2, 2, 6, 10, 2, (3, 3), (1, 1), {}),
    # 1x1, stride 2 (a downsampling shortcut): one phase of four
    ("1x1_stride2", 2, 2, 8, 12, 1, (9, 10), (1, 1), {"stride": 2}),
    # phase buffer with extra columns, odd sizes, few channels per group
    ("3x3_cout1", 2, 2, 6, 3, 3, (9, 40), (3, 3), {"padding": 1}),
    ("3x3_cout2", 2, 1, 4, 4, 2, (12, 37), (3, 3), {"padding": (1, 0)}),
    ("3x3_cin5_cout3", 2, 3, 10, 6, 2, (13, 11), (3, 3), {"padding": 1}),
    ("3x3_cin4_cout4", 2, 1, 32, 32, 8, (17, 21), (3, 3), {"padding": 1}),
    ("3x3_cin24_cout24", 2, 2, 48, 48, 2, (6, 30), (3, 3), {"padding": 1}),
    ("3x3_cin17_cout5", 2, 1, 34, 10, 2, (8, 19), (2, 3),
     {"stride": (1, 2), "padding": (0, 1), "dilation": (2, 1)}),
    ("3x3_cin3_cout20", 2, 2, 6, 40, 2, (5, 33), (3, 3), {"padding": 2, "dilation": 2}),
    # stride 2: both column phases from one pass; with dilation 2 only one
    ("3x3_stride2", 2, 2, 6, 10, 2, (15, 16), (3, 3), {"stride": 2, "padding": 1}),
    ("3x3_stride2_even", 2, 1, 16, 16, 2, (16, 17), (3, 3), {"stride": 2, "padding": 1}),
    ("3x3_stride2_dil2", 2, 2, 6, 4, 2, (15, 14), (3, 3),
     {"stride": 2, "padding": 2, "dilation": 2}),
    ("3x3_stride3", 2, 1, 6, 9, 3, (20, 22), (3, 3), {"stride": 3, "padding": 1}),
    # asymmetric padding ("same" with an even kernel) and a non-zero mode
    ("4x4_same", 2, 2, 6, 8, 2, (9, 10), (4, 4), {"padding": "same"}),
    ("3x3_reflect", 2, 1, 6, 8, 2, (7, 9), (3, 3),
     {"padding": 1, "padding_mode": "reflect"}),
    # many output channels per group: tiles without the extra columns,
    # K = 3 * 25 = 75 and 12 * 25 = 300 (two tap chunks)
    ("5x5_cout64", 2, 2, 6, 128, 2, (7, 9), (5, 5), {"padding": 2}),
    ("5x5_cin12_cout48", 2, 1, 24, 96, 2, (11, 13), (5, 5), {"padding": 2}),
    ("5x5_cin48_cout80", 2, 1, 96, 160, 2, (9, 9), (5, 5), {"padding": 2}),
    # output channels along the vectors (AVX-512 float32, channels per group
    # a multiple of 16, small planes): rows of 7 and 14, row chunks, a
    # remainder of channel vectors, 3-D
    ("ocv_7x7_cout32", 2, 4, 64, 64, 2, (7, 7), (3, 3), {"padding": 1}),
    ("ocv_14x14_cout16", 2, 3, 32, 32, 2, (14, 14), (3, 3), {"padding": 1}),
    ("ocv_cout48_rows40", 2, 3, 8, 96, 2, (5, 40), (3, 3), {"padding": 1}),
    ("ocv_cout80_stride2", 2, 4, 12, 160, 2, (9, 11), (3, 3), {"stride": 2, "padding": 1}),
    ("ocv_3d_cout16", 3, 3, 8, 32, 2, (3, 5, 6), (2, 3, 3), {"padding": (0, 1, 1)}),
    # dense layers (groups=1), one with more output channels than work items
    ("dense_3x3", 2, 2, 5, 7, 1, (10, 12), (3, 3), {"padding": 1}),
    ("dense_tiny_plane", 2, 1, 4, 64, 1, (2, 2), (3, 3), {"padding": 1}),
    # column tiles gathered from the input: more stride phases than the
    # phase buffer holds, and a dilation too wide for it
    ("1d_stride17", 1, 2, 6, 4, 2, (100,), (20,), {"stride": 17}),
    ("1d_wide_dilation", 1, 1, 4, 6, 2, (5010,), (2,), {"dilation": 5000}),
    # a long 1-D row in one block, and rows split into column blocks (64
    # input channels per group leave room for about 1000 columns)
    ("1d_long", 1, 2, 4, 6, 2, (1500,), (3,), {"padding": 1}),
    ("1d_column_blocks", 1, 1, 128, 6, 2, (2100,), (3,), {"padding": 1}),
    ("2d_column_blocks", 2, 1, 128, 4, 2, (3, 1100), (3, 3), {"padding": 1}),
    ("1d_stride2", 1, 3, 20, 34, 2, (33,), (5,), {"stride": 2, "padding": 3}),
    # 3-D
    ("3d_3x3x3", 3, 2, 6, 4, 2, (5, 6, 7), (3, 3, 3), {"padding": 1}),
    ("3d_strided", 3, 1, 8, 12, 4, (5, 6, 7), (1, 3, 2),
     {"stride": 2, "padding": 1, "dilation": (1, 2, 1)}),
    ("3d_kd2_stride", 3, 2, 6, 6, 3, (6, 7, 9), (2, 3, 3),
     {"stride": (2, 1, 2), "padding": (1, 1, 0)}),
    # kernels over depth only (temporal, KD x 1 x 1): read in place slice by
    # slice, the taps over depth padding left out; strided and dilated, an
    # output slice that reads nothing but padding, a 1x1x1 at depth stride 2
    ("3d_temporal_311", 3, 2, 32, 32, 16, (8, 5, 6), (3, 1, 1), {"padding": (1, 0, 0)}),
    ("3d_temporal_strided", 3, 2, 12, 18, 3, (9, 4, 5), (3, 1, 1),
     {"stride": (2, 1, 1), "padding": (2, 0, 0), "dilation": (2, 1, 1)}),
    ("3d_temporal_all_padding", 3, 1, 6, 4, 2, (2, 4, 4), (2, 1, 1), {"padding": (3, 0, 0)}),
    ("3d_temporal_1x1x1_stride2", 3, 2, 8, 8, 2, (6, 4, 5), (1, 1, 1), {"stride": (2, 1, 1)}),
    # the smallest call, and an empty batch
    ("tiny", 2, 1, 4, 4, 2, (4, 4), (3, 3), {}),
    ("batch0", 2, 0, 6, 4, 2, (5, 5), (3, 3), {"padding": 1}),
]

LEVELS = ["generic", "avx2", "best"]


@pytest.fixture(params=LEVELS)
def isa(request, monkeypatch):
    if request.param == "best":
        monkeypatch.delenv("GCONV_ISA", raising=False)
    else:
        monkeypatch.setenv("GCONV_ISA", request.param)
    return request.param


def make(case, dtype, seed=0):
    _, nd, batch, cin, cout, groups, size, kernel, kwargs = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, cin) + size).astype(dtype)
    w = rng.standard_normal((cout, cin // groups) + kernel).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    return x, w, b, dict(kwargs, groups=groups)


def check_close(case, dtype, out, x, w, b, kwargs):
    """out against the numpy backend in float64, within a bound that scales
    with the sum of |terms| of each output."""
    f = FUNCS[case[1]]
    x64, w64, b64 = (a.astype(np.float64) for a in (x, w, b))
    ref = f(x64, w64, b64, backend="numpy", **kwargs)
    scale = f(np.abs(x64), np.abs(w64), np.abs(b64), backend="numpy", **kwargs)
    assert out.shape == ref.shape and out.dtype == np.dtype(dtype)
    eps = np.finfo(dtype).eps
    k = w.shape[1] * int(np.prod(w.shape[2:]))
    bound = 4 * eps * np.sqrt(k + 1) * scale + np.finfo(dtype).tiny
    err = np.abs(out.astype(np.float64) - ref)
    assert np.all(err <= bound), (
        f"{case[0]} {dtype}: max error {err.max()} (bound there "
        f"{bound.flat[np.argmax(err - bound)]})")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_float64_reference(case, dtype, isa):
    x, w, b, kwargs = make(case, dtype)
    out = FUNCS[case[1]](x, w, b, backend="c", **kwargs)
    check_close(case, dtype, out, x, w, b, kwargs)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in
                                  ("1x1_inplace_tail", "3x3_cin17_cout5", "5x5_cout64",
                                   "ocv_7x7_cout32", "ocv_cout80_stride2",
                                   "dense_tiny_plane", "1d_stride17", "3d_strided")],
                         ids=lambda c: c[0])
def test_no_bias(case, isa):
    x, w, _, kwargs = make(case, "float32", seed=1)
    out = FUNCS[case[1]](x, w, None, backend="c", **kwargs)
    check_close(case, "float32", out, x, w, np.zeros(w.shape[0], np.float32), kwargs)


THREAD_CASES = [c for c in CASES if c[0] in (
    "1x1_inplace_tail", "1x1_20_to_80", "1x1_tails_13_images", "3x3_cin4_cout4", "3x3_cin24_cout24",
    "3x3_stride2", "5x5_cin12_cout48", "dense_tiny_plane", "1d_stride17",
    "1d_long", "1d_column_blocks", "3d_kd2_stride", "ocv_7x7_cout32", "ocv_cout80_stride2",
    "3d_temporal_311", "3d_temporal_strided")]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", THREAD_CASES, ids=[c[0] for c in THREAD_CASES])
def test_bitwise_identical_for_any_thread_count(case, dtype, isa):
    x, w, b, kwargs = make(case, dtype, seed=2)
    f = FUNCS[case[1]]
    # batch 3 gives the work split more to do
    x = np.concatenate([x, x[:1] * 0.5, x[-1:] * -2.0])
    first = f(x, w, b, backend="c", num_threads=1, **kwargs)
    for threads in (2, 3, 4):
        again = f(x, w, b, backend="c", num_threads=threads, **kwargs)
        assert np.array_equal(first.view(np.uint8), again.view(np.uint8)), (
            f"{case[0]} {dtype}: {threads} threads differ from 1")


# Whole rows of 2 to 15 pixels with 16 to 64 channels a group: the kernels
# with the channels along the vectors take several rows a pass (AVX-512;
# elsewhere these are plain cases), rows of the same taps only: the padding
# rows at the top and bottom (and the depth padding) have taps of their own.
ROW_CASES = [("rows_w%d_c%d" % (wd, cpg), 2, 2, 2 * cpg, 2 * cpg, 2, (9, wd), (3, 3),
              {"padding": 1})
             for wd in (2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 15) for cpg in (16, 32, 48, 64)]
ROW_CASES += [("rows_3d_w%d_c%d" % (wd, cpg), 3, 2, 2 * cpg, 2 * cpg, 2, (3, 6, wd), (3, 3, 3),
               {"padding": 1}) for wd in (4, 7, 14) for cpg in (16, 32)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_several_rows_a_pass(case, dtype):
    x, w, b, kwargs = make(case, dtype, seed=3)
    f = FUNCS[case[1]]
    first = f(x, w, b, backend="c", num_threads=1, **kwargs)
    check_close(case, dtype, first, x, w, b, kwargs)
    for threads in (2, 3):
        again = f(x, w, b, backend="c", num_threads=threads, **kwargs)
        assert np.array_equal(first.view(np.uint8), again.view(np.uint8)), (
            f"{case[0]} {dtype}: {threads} threads differ from 1")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_temporal_nonfinite_weight_over_depth_padding(dtype, isa):
    """A kernel over depth only reads its input in place and leaves the taps
    over depth padding out; an infinite weight there must still give NaN
    (weight x 0), as the explicitly padded input does."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 32, 5, 4, 5)).astype(dtype)
    w = rng.standard_normal((32, 16, 3, 1, 1)).astype(dtype)
    w[3, 7, 0, 0, 0] = np.inf
    kwargs = dict(padding=(1, 0, 0), groups=2)
    with np.errstate(all="ignore"):
        out = gconv.conv3d(x, w, backend="c", **kwargs)
        ref = gconv.conv3d(x.astype(np.float64), w.astype(np.float64), backend="numpy", **kwargs)
    assert np.isnan(ref).any()
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    fin = np.isfinite(ref)
    tol = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(out[fin], ref[fin], rtol=tol, atol=tol)


def test_real_layers_at_benchmark_sizes(isa):
    """A few of the benchmark layers at full size (batch 1), float32."""
    layers = [
        ("resnext50_s4", 2, 1, 1024, 1024, 32, (7, 7), (3, 3), {"padding": 1}),
        ("resnext50_s2_down", 2, 1, 256, 256, 32, (56, 56), (3, 3),
         {"stride": 2, "padding": 1}),
        ("alexnet_conv2_g2", 2, 1, 96, 256, 2, (27, 27), (5, 5), {"padding": 2}),
        ("shufflenet_g3_1x1_in", 2, 1, 240, 60, 3, (28, 28), (1, 1), {}),
    ]
    for case in layers:
        x, w, b, kwargs = make(case, "float32", seed=3)
        out = FUNCS[case[1]](x, w, b, backend="c", **kwargs)
        check_close(case, "float32", out, x, w, b, kwargs)
