"""PyTorch semantics of conv1d/2d/3d on every backend (SPEC section 1)."""

import numpy as np
import pytest

import gconv
from conftest import (BACKENDS, HAS_TORCH, assert_conv_close, expected_conv,
                      function, random_case, reference_conv, torch)

MODES = ("zeros", "reflect", "replicate", "circular")


def test_c_backend_is_built():
    """The compiled core must be importable: a missing "c" backend means the
    extension was not built, which is a failure, never a skip."""
    reasons = gconv.backends()
    assert reasons["c"] is None, f"the C backend is not available: {reasons['c']}"
    assert "c" in gconv.available_backends()
    from gconv import _ccore
    assert _ccore.version() == gconv.__version__


def test_numpy_backend_always_available():
    assert gconv.backends()["numpy"] is None
    assert gconv.available_backends()[:2] == ["c", "numpy"]


def test_torch_backend_listed_iff_torch_imports():
    assert ("torch" in gconv.available_backends()) == HAS_TORCH
    assert (gconv.backends()["torch"] is None) == HAS_TORCH


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_basic(backend, rng, nd, batched, dtype):
    x, w, b = random_case(rng, nd, batch=3 if batched else None, size=6, dtype=dtype)
    out = function(nd)(x, w, b, groups=2, backend=backend)
    assert isinstance(out, np.ndarray)
    assert out.dtype == dtype
    assert out.shape == ((3,) if batched else ()) + (6,) + (4,) * nd
    assert_conv_close(out, x, w, b, groups=2)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("stride,padding,dilation", [
    (2, 0, 1), (3, 1, 1), (1, 2, 2), (2, 3, 2), ((1, 2, 3), (0, 1, 2), (2, 1, 1)),
    (1, "valid", 1), (1, "same", 1), (1, "same", 2), (1, "same", (1, 2, 3)),
    ([2], [1], [1]),
])
def test_stride_padding_dilation(backend, rng, nd, stride, padding, dilation):
    def cut(v):
        return v[:nd] if isinstance(v, tuple) else v
    stride, padding, dilation = cut(stride), cut(padding), cut(dilation)
    x, w, b = random_case(rng, nd, size=(9, 8, 7)[:nd] if nd > 1 else 11,
                          kernel=3)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=2)
    out = function(nd)(x, w, b, backend=backend, **kw)
    assert_conv_close(out, x, w, b, **kw)
    if padding == "same":
        assert out.shape[2:] == x.shape[2:]


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kernel,dilation", [(2, 1), (4, 1), (2, 3), (4, 2), (1, 5)])
@pytest.mark.parametrize("mode", MODES)
def test_same_padding_even_and_odd_totals(backend, rng, nd, kernel, dilation, mode):
    """'same' with odd total padding puts the extra element after, as torch."""
    x, w, b = random_case(rng, nd, size=(8, 7, 9)[:nd] if nd > 1 else 9,
                          kernel=kernel)
    kw = dict(padding="same", dilation=dilation, groups=2, padding_mode=mode)
    out = function(nd)(x, w, b, backend=backend, **kw)
    assert out.shape[2:] == x.shape[2:]
    assert_conv_close(out, x, w, b, **kw)


def test_same_padding_extra_goes_after(backend):
    """A hand-checked case: kernel 2, input [1, 2, 3] with weight [1, 10]:
    'same' pads one zero after, so out = [1+20, 2+30, 3+0]."""
    x = np.array([[[1.0, 2.0, 3.0]]])
    w = np.array([[[1.0, 10.0]]])
    out = gconv.conv1d(x, w, padding="same", backend=backend)
    np.testing.assert_array_equal(out, [[[21.0, 32.0, 3.0]]])


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("cin,cout,groups", [
    (1, 1, 1), (3, 5, 1), (4, 4, 4), (6, 12, 6), (4, 12, 4), (6, 9, 3), (8, 4, 2),
    (5, 15, 5), (12, 8, 4)])
def test_groups(backend, rng, nd, cin, cout, groups):
    """Ordinary, grouped, depthwise (cin == groups) and depthwise with channel
    multipliers (cout = k * cin)."""
    x, w, b = random_case(rng, nd, cin=cin, cout=cout, groups=groups,
                          size=(7, 6, 5)[:nd] if nd > 1 else 9)
    kw = dict(groups=groups, padding=1)
    out = function(nd)(x, w, b, backend=backend, **kw)
    assert_conv_close(out, x, w, b, **kw)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", [1, 2, (2, 0, 1), "same"])
def test_padding_modes(backend, rng, nd, mode, padding):
    if isinstance(padding, tuple):
        padding = padding[:nd]
    x, w, b = random_case(rng, nd, size=(5, 6, 4)[:nd] if nd > 1 else 5, kernel=3)
    kw = dict(padding=padding, padding_mode=mode, groups=2)
    out = function(nd)(x, w, b, backend=backend, **kw)
    assert_conv_close(out, x, w, b, **kw)


@pytest.mark.parametrize("mode", MODES)
def test_padding_modes_with_stride_and_dilation(backend, rng, mode):
    x, w, b = random_case(rng, 2, size=(9, 8), kernel=(3, 2))
    kw = dict(padding=(2, 1), stride=(2, 3), dilation=(2, 1), padding_mode=mode,
              groups=2)
    out = gconv.conv2d(x, w, b, backend=backend, **kw)
    assert_conv_close(out, x, w, b, **kw)


@pytest.mark.parametrize("mode", MODES)
def test_padding_as_large_as_mode_allows(backend, rng, mode):
    """reflect: padding up to size - 1; circular: up to size; the others
    any amount."""
    n = 4
    pad = {"reflect": n - 1, "circular": n, "replicate": 7, "zeros": 7}[mode]
    x, w, b = random_case(rng, 1, size=n, kernel=3)
    kw = dict(padding=pad, padding_mode=mode, groups=2)
    out = gconv.conv1d(x, w, b, backend=backend, **kw)
    assert_conv_close(out, x, w, b, **kw)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("bias", [True, False])
def test_bias_and_none(backend, rng, nd, bias):
    x, w, b = random_case(rng, nd, size=5, bias=bias)
    out = function(nd)(x, w, b, groups=2, backend=backend)
    assert_conv_close(out, x, w, b, groups=2)
    if bias:
        out0 = function(nd)(x, w, None, groups=2, backend=backend)
        np.testing.assert_allclose(out - out0, np.broadcast_to(
            b.reshape((-1,) + (1,) * nd), out.shape), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_size_batch(backend, rng, nd, mode, dtype):
    x, w, b = random_case(rng, nd, batch=0, size=5, dtype=dtype)
    out = function(nd)(x, w, b, padding=1, groups=2, padding_mode=mode,
                       backend=backend)
    assert isinstance(out, np.ndarray)
    assert out.shape == (0, 6) + (5,) * nd
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved_and_accuracy(backend, rng, dtype):
    """Larger reductions: float32 stays within its (scaled) rounding bound,
    float64 far tighter."""
    x, w, b = random_case(rng, 2, batch=2, cin=32, cout=16, groups=1, size=10,
                          kernel=3, dtype=dtype)
    out = gconv.conv2d(x, w, b, padding=1, backend=backend)
    assert out.dtype == dtype
    assert_conv_close(out, x, w, b, padding=1)
    exact = reference_conv(x, w, b, padding=1)
    scale = np.abs(exact).max()
    err = np.abs(out - exact).max() / scale
    assert err < (1e-5 if dtype == np.float32 else 1e-13)


# ---- layouts and strides of the inputs -----------------------------------------

def _layouts(rng, dtype):
    """(name, make) pairs: make(array) returns an equal array in some layout."""
    def noncontig(a):
        big = np.zeros(tuple(2 * s + 1 for s in a.shape), dtype=a.dtype)
        view = big[tuple(slice(1, None, 2) for _ in a.shape)]
        view[...] = a
        return view

    def negative(a):
        flipped = np.ascontiguousarray(a[(slice(None),) * (a.ndim - 1) + (slice(None, None, -1),)])
        return flipped[(slice(None),) * (a.ndim - 1) + (slice(None, None, -1),)]

    def allneg(a):
        idx = (slice(None, None, -1),) * a.ndim
        return np.ascontiguousarray(a[idx])[idx]

    def fortran(a):
        return np.asfortranarray(a)

    def swapped(a):
        return a.astype(a.dtype.newbyteorder())

    def swapped_noncontig(a):
        return noncontig(a.astype(a.dtype.newbyteorder()))

    def transposed_view(a):
        # channels-last memory seen through a transposed view
        if a.ndim < 3:
            return a[::-1].copy()[::-1]
        perm = (0,) + tuple(range(2, a.ndim)) + (1,)
        inv = np.argsort(perm)
        return np.ascontiguousarray(a.transpose(perm)).transpose(inv)

    return [("noncontig", noncontig), ("negative", negative), ("allneg", allneg),
            ("fortran", fortran), ("byteswapped", swapped),
            ("byteswapped_noncontig", swapped_noncontig),
            ("channels_last_view", transposed_view)]


@pytest.mark.parametrize("layout", [name for name, _ in _layouts(None, None)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["zeros", "reflect"])
def test_any_strides_and_byte_order(backend, rng, layout, dtype, mode):
    make = dict(_layouts(rng, dtype))[layout]
    x, w, b = random_case(rng, 2, size=(6, 7), dtype=dtype)
    want = function(2)(x, w, b, groups=2, padding=1, padding_mode=mode, backend=backend)
    xl, wl, bl = make(x), make(w), make(b)
    assert np.array_equal(xl, x) and np.array_equal(wl, w)
    out = gconv.conv2d(xl, wl, bl, groups=2, padding=1, padding_mode=mode,
                       backend=backend)
    assert out.dtype == np.dtype(dtype)          # native float of that width
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, want)
    assert_conv_close(out, x, w, b, groups=2, padding=1, padding_mode=mode)


def test_broadcast_zero_stride_input(backend, rng):
    x = np.broadcast_to(rng.standard_normal((1, 4, 1, 7)), (3, 4, 5, 7))
    w = rng.standard_normal((4, 2, 3, 3))
    out = gconv.conv2d(x, w, groups=2, backend=backend)
    assert_conv_close(out, np.array(x), w, groups=2)


# ---- inputs are never modified ----------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layout", ["contiguous", "noncontig", "byteswapped"])
def test_inputs_never_modified(backend, rng, mode, layout):
    x, w, b = random_case(rng, 2, size=(5, 6), dtype=np.float32)
    if layout == "noncontig":
        x, w = x[:, :, ::-1], w[..., ::-1]
    elif layout == "byteswapped":
        x, w, b = (a.astype(a.dtype.newbyteorder()) for a in (x, w, b))
    copies = [a.copy() for a in (x, w, b)]
    gconv.conv2d(x, w, b, padding=2, groups=2, padding_mode=mode, backend=backend)
    for a, c in zip((x, w, b), copies):
        assert a.dtype == c.dtype
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("mode", ["zeros", "circular"])
def test_read_only_inputs(backend, rng, nd, mode):
    x, w, b = random_case(rng, nd, size=5, dtype=np.float32)
    copies = [a.copy() for a in (x, w, b)]
    for a in (x, w, b):
        a.flags.writeable = False
    out = function(nd)(x, w, b, padding=1, groups=2, padding_mode=mode,
                       backend=backend)
    assert out.flags.writeable
    assert_conv_close(out, copies[0], copies[1], copies[2], padding=1, groups=2,
                      padding_mode=mode)
    for a, c in zip((x, w, b), copies):
        np.testing.assert_array_equal(a, c)


def test_output_does_not_alias_inputs(backend, rng):
    """A 1x1 convolution with an identity weight must still return a fresh
    array, not a view of the input."""
    x = rng.standard_normal((2, 3, 4, 4))
    w = np.eye(3).reshape(3, 3, 1, 1)
    out = gconv.conv2d(x, w, backend=backend)
    np.testing.assert_array_equal(out, x)
    assert not np.shares_memory(out, x)
    out[...] = 0
    assert np.abs(x).sum() > 0


# ---- input and output types -------------------------------------------------------

def test_lists_are_accepted(backend):
    x = [[[1.0, 2.0, 3.0, 4.0]]]
    w = [[[1.0, -1.0]]]
    out = gconv.conv1d(x, w, [0.5], backend=backend)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, [[[-0.5, -0.5, -0.5]]])


def test_array_likes_are_accepted(backend, rng):
    class ArrayLike:
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None, copy=None):
            return self.a

    x, w, b = random_case(rng, 1, size=6)
    out = gconv.conv1d(ArrayLike(x), ArrayLike(w), tuple(b), groups=2, backend=backend)
    assert isinstance(out, np.ndarray)
    assert_conv_close(out, x, w, b, groups=2)


def test_ndarray_subclass(backend, rng):
    class Sub(np.ndarray):
        pass

    x, w, b = random_case(rng, 2, size=5)
    out = gconv.conv2d(x.view(Sub), w.view(Sub), b, groups=2, backend=backend)
    assert isinstance(out, np.ndarray)
    assert_conv_close(out, x, w, b, groups=2)


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batched", [True, False])
def test_tensor_in_tensor_out(backend, nd, dtype, batched):
    torch_dtype = getattr(torch, dtype)
    gen = torch.Generator().manual_seed(nd)
    shape = ((2,) if batched else ()) + (4,) + (6,) * nd
    x = torch.randn(shape, generator=gen, dtype=torch_dtype)
    w = torch.randn((6, 2) + (3,) * nd, generator=gen, dtype=torch_dtype)
    b = torch.randn(6, generator=gen, dtype=torch_dtype)
    x_copy = x.clone()
    out = function(nd)(x, w, b, groups=2, padding=1, backend=backend)
    assert isinstance(out, torch.Tensor)
    assert out.dtype == torch_dtype and out.device == x.device
    want = (torch.nn.functional.conv1d, torch.nn.functional.conv2d,
            torch.nn.functional.conv3d)[nd - 1](x, w, b, groups=2, padding=1)
    torch.testing.assert_close(out, want)
    assert torch.equal(x, x_copy)


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_tensor_requires_grad(backend):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 6, 6, generator=gen, requires_grad=True)
    w = torch.randn(4, 1, 3, 3, generator=gen, requires_grad=True)
    out = gconv.conv2d(x, w, groups=4, backend=backend)
    assert isinstance(out, torch.Tensor)
    want = torch.nn.functional.conv2d(x, w, groups=4)
    torch.testing.assert_close(out.detach(), want.detach())
    assert x.grad is None and w.grad is None


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_noncontiguous_tensor(backend):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 8, 10, 12, generator=gen).transpose(2, 3)[:, ::2]
    w = torch.randn(6, 2, 3, 2, generator=gen).permute(0, 1, 3, 2)
    assert not x.is_contiguous() and not w.is_contiguous()
    out = gconv.conv2d(x, w, groups=2, backend=backend)
    torch.testing.assert_close(out, torch.nn.functional.conv2d(x, w, groups=2))


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_mixed_tensor_and_array(backend, rng):
    """The result has the type of input, whatever weight is."""
    x, w, b = random_case(rng, 1, size=6)
    out = gconv.conv1d(torch.from_numpy(x), w, b, groups=2, backend=backend)
    assert isinstance(out, torch.Tensor)
    out2 = gconv.conv1d(x, torch.from_numpy(w), torch.from_numpy(b), groups=2,
                        backend=backend)
    assert isinstance(out2, np.ndarray)
    np.testing.assert_allclose(out.numpy(), out2, rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
@pytest.mark.parametrize("mode", MODES)
def test_tensor_padding_modes_zero_batch(backend, mode):
    x = torch.zeros(0, 4, 5, 5)
    w = torch.ones(4, 2, 3, 3)
    out = gconv.conv2d(x, w, groups=2, padding=1, padding_mode=mode, backend=backend)
    assert isinstance(out, torch.Tensor) and out.shape == (0, 4, 5, 5)


def test_numpy_in_numpy_out_on_every_backend(rng):
    x, w, b = random_case(rng, 2, size=5)
    outs = [gconv.conv2d(x, w, b, groups=2, backend=name) for name in BACKENDS]
    for out in outs:
        assert type(out) is np.ndarray
        np.testing.assert_allclose(out, outs[0], rtol=1e-12, atol=1e-12)


# ---- non-finite values ---------------------------------------------------------------

@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("groups,cout", [(1, 3), (4, 4), (2, 6)])
@pytest.mark.parametrize("mode", ["zeros", "reflect"])
def test_nonfinite_inputs_propagate_silently(backend, rng, nd, groups, cout, mode):
    """inf and nan in the input reach exactly the outputs whose window holds
    them (inf * 0 is nan, as in torch), with no warning."""
    import warnings
    x, w, b = random_case(rng, nd, cin=4, cout=cout, groups=groups, size=6)
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, 3, replace=False)] = [np.inf, -np.inf, np.nan]
    w.reshape(-1)[0] = 0.0                      # so that some inf meets a zero weight
    kw = dict(groups=groups, padding=1, stride=1, padding_mode=mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = function(nd)(x, w, b, backend=backend, **kw)
    with np.errstate(all="ignore"):
        want = expected_conv(x, w, b, **kw)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(out), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(out), np.isneginf(want))
    finite = np.isfinite(want)
    assert finite.any()
    np.testing.assert_allclose(out[finite], want[finite], rtol=1e-10, atol=1e-10)
