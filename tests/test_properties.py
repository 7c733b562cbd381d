"""Hypothesis sweeps of random valid configurations: every backend agrees with
the float64 reference (and so with torch), 1-D to 3-D, odd sizes, strides,
dilation, padding (ints, per-dim, "valid", "same"), every padding mode,
groups incl. depthwise and channel multipliers, float32 and float64,
batched and unbatched, and odd memory layouts."""

import math

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, given, settings, strategies as st  # noqa: E402

import gconv  # noqa: E402
from conftest import (BACKENDS, assert_conv_close, function,  # noqa: E402
                      reference_conv)


def _scaled(n):
    """n times the profile's example count (cheap tests run more)."""
    return settings(max_examples=max(1, int(settings.default.max_examples * n)))


@st.composite
def configurations(draw, nd=None):
    nd = draw(st.integers(1, 3)) if nd is None else nd
    kind = draw(st.sampled_from(["plain", "grouped", "depthwise", "multiplier"]))
    if kind == "plain":
        groups = 1
        cin, cout = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    elif kind == "grouped":
        groups = draw(st.integers(2, 4))
        cin = groups * draw(st.integers(1, 3))
        cout = groups * draw(st.integers(1, 3))
    elif kind == "depthwise":
        groups = cin = cout = draw(st.integers(1, 6))
    else:
        groups = cin = draw(st.integers(1, 4))
        cout = cin * draw(st.integers(2, 3))
    max_side = (13, 9, 6)[nd - 1]
    kernel = tuple(draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd)))
    dilation = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    padding_kind = draw(st.sampled_from(["int", "tuple", "valid", "same"]))
    stride = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    size = tuple(draw(st.lists(st.integers(1, max_side), min_size=nd, max_size=nd)))
    if padding_kind == "same":
        stride = (1,) * nd
        padding = "same"
        pads = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                for d, k in zip(dilation, kernel)]
    elif padding_kind == "valid":
        padding = "valid"
        pads = [(0, 0)] * nd
    elif padding_kind == "int":
        padding = draw(st.integers(0, 3))
        pads = [(padding, padding)] * nd
    else:
        padding = tuple(draw(st.lists(st.integers(0, 3), min_size=nd, max_size=nd)))
        pads = [(p, p) for p in padding]
    # what the mode allows, and a kernel that fits the padded input
    for n, (pb, pa), k, d in zip(size, pads, kernel, dilation):
        if mode == "reflect":
            assume(pb < n and pa < n)
        if mode == "circular":
            assume(pb <= n and pa <= n)
        assume(d * (k - 1) + 1 <= n + pb + pa)
    batch = draw(st.sampled_from([None, 0, 1, 2, 3]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    bias = draw(st.booleans())
    kwargs = dict(stride=stride if draw(st.booleans()) else list(stride),
                  padding=padding, dilation=dilation, groups=groups,
                  padding_mode=mode)
    if all(s == stride[0] for s in stride) and draw(st.booleans()):
        kwargs["stride"] = stride[0]
    if all(d == dilation[0] for d in dilation) and draw(st.booleans()):
        kwargs["dilation"] = dilation[0]
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    xshape = (() if batch is None else (batch,)) + (cin,) + size
    x = rng.standard_normal(xshape).astype(dtype)
    w = rng.standard_normal((cout, cin // groups) + kernel).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype) if bias else None
    return nd, x, w, b, kwargs


@_scaled(3)
@given(configurations())
def test_every_backend_matches_reference(config):
    nd, x, w, b, kwargs = config
    expected = reference_conv(x, w, b, **kwargs)
    for name in BACKENDS:
        out = function(nd)(x, w, b, backend=name, **kwargs)
        assert isinstance(out, np.ndarray)
        assert_conv_close(out, x, w, b, expected=expected, **kwargs)


@st.composite
def layouts(draw, a):
    """a in another memory layout: sliced, reversed, Fortran, byte-swapped."""
    if a is None or a.ndim == 0:
        return a
    if draw(st.booleans()):
        a = a.astype(a.dtype.newbyteorder())
    how = draw(st.sampled_from(["c", "fortran", "reversed", "strided"]))
    if how == "fortran":
        return np.asfortranarray(a)
    if how == "reversed":
        axes = draw(st.lists(st.integers(0, a.ndim - 1), max_size=a.ndim, unique=True))
        idx = tuple(slice(None, None, -1) if i in axes else slice(None)
                    for i in range(a.ndim))
        return np.ascontiguousarray(a[idx])[idx]
    if how == "strided":
        big = np.zeros(tuple(2 * s for s in a.shape), dtype=a.dtype)
        view = big[tuple(slice(None, None, 2) for _ in a.shape)]
        view[...] = a
        return view
    return a


@_scaled(0.5)
@given(configurations(), st.data())
def test_layouts_do_not_change_results(config, data):
    nd, x, w, b, kwargs = config
    xl, wl, bl = data.draw(layouts(x)), data.draw(layouts(w)), data.draw(layouts(b))
    for name in BACKENDS:
        want = function(nd)(x, w, b, backend=name, **kwargs)
        got = function(nd)(xl, wl, bl, backend=name, **kwargs)
        assert got.dtype == want.dtype and got.dtype.isnative
        np.testing.assert_array_equal(got, want)


@_scaled(0.5)
@given(configurations())
def test_unbatched_equals_batch_of_one(config):
    nd, x, w, b, kwargs = config
    if x.ndim == nd + 2:
        if x.shape[0] == 0:
            return
        x = x[0]
    for name in BACKENDS:
        single = function(nd)(x, w, b, backend=name, **kwargs)
        batched = function(nd)(x[None], w, b, backend=name, **kwargs)
        assert single.shape == batched.shape[1:]
        np.testing.assert_array_equal(single, batched[0])


@_scaled(0.5)
@given(configurations(nd=2), st.integers(1, 4))
def test_batch_items_are_independent(config, split):
    """Each batch item's output depends only on that item: convolving a batch
    equals convolving its parts (bitwise, per backend)."""
    nd, x, w, b, kwargs = config
    if x.ndim != nd + 2 or x.shape[0] < 2:
        return
    for name in BACKENDS:
        whole = function(nd)(x, w, b, backend=name, **kwargs)
        k = min(split, x.shape[0] - 1)
        parts = np.concatenate([function(nd)(x[:k], w, b, backend=name, **kwargs),
                                function(nd)(x[k:], w, b, backend=name, **kwargs)])
        np.testing.assert_allclose(parts, whole, rtol=0, atol=0) \
            if name == "c" else np.testing.assert_allclose(
                parts, whole, **(dict(rtol=2e-6, atol=2e-6) if x.dtype == np.float32
                                 else dict(rtol=1e-13, atol=1e-13)))


@_scaled(0.5)
@given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 4), st.integers(1, 3),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 2**32 - 1))
def test_groups_equal_separate_convolutions(nd, groups, cin_g, cout_g, dtype, seed):
    """A grouped convolution is the concatenation of independent
    convolutions, one per group."""
    rng = np.random.default_rng(seed)
    cin, cout = groups * cin_g, groups * cout_g
    x = rng.standard_normal((2, cin) + (5,) * nd).astype(dtype)
    w = rng.standard_normal((cout, cin_g) + (3,) * nd).astype(dtype)
    for name in BACKENDS:
        whole = function(nd)(x, w, groups=groups, padding=1, backend=name)
        parts = [function(nd)(x[:, g * cin_g:(g + 1) * cin_g],
                              w[g * cout_g:(g + 1) * cout_g], padding=1, backend=name)
                 for g in range(groups)]
        tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(
            rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(whole, np.concatenate(parts, axis=1), **tol)


@_scaled(2)
@given(configurations())
def test_output_shape_formula(config):
    """out = floor((in + pad_before + pad_after - dilation*(k-1) - 1) / stride) + 1."""
    nd, x, w, b, kwargs = config
    out = function(nd)(x, w, b, backend="numpy", **kwargs)
    stride = kwargs["stride"]
    dilation = kwargs["dilation"]
    stride = (stride,) * nd if isinstance(stride, int) else tuple(stride)
    dilation = (dilation,) * nd if isinstance(dilation, int) else tuple(dilation)
    kernel = w.shape[2:]
    pad = kwargs["padding"]
    if pad == "same":
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
    elif pad == "valid":
        totals = [0] * nd
    else:
        pad = (pad,) * nd if isinstance(pad, int) else pad
        totals = [2 * p for p in pad]
    want = tuple(math.floor((n + t - d * (k - 1) - 1) / s) + 1
                 for n, t, d, k, s in zip(x.shape[-nd:], totals, dilation, kernel, stride))
    assert out.shape[-nd:] == want
    if pad == "same":
        assert want == x.shape[-nd:]
