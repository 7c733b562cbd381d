"""The layers Conv1d/2d/3d (SPEC section 4)."""

import math

import numpy as np
import pytest

import gconv
from gconv import GroupsError, ShapeError
from conftest import HAS_TORCH, assert_conv_close, function, layer_class, torch

MODES = ("zeros", "reflect", "replicate", "circular")


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("cin,cout,groups,kernel,bias", [
    (4, 6, 2, 3, True), (3, 5, 1, (1, 2, 3), False), (8, 8, 8, 3, True),
    (4, 12, 4, 2, True)])
def test_parameter_shapes_match_torch(nd, cin, cout, groups, kernel, bias):
    if isinstance(kernel, tuple):
        kernel = kernel[:nd]
    layer = layer_class(nd)(cin, cout, kernel, groups=groups, bias=bias)
    k = (kernel,) * nd if isinstance(kernel, int) else kernel
    assert layer.weight.shape == (cout, cin // groups) + k
    assert layer.kernel_size == k
    assert (layer.bias is None) == (not bias)
    if bias:
        assert layer.bias.shape == (cout,)
    if HAS_TORCH:
        module = getattr(torch.nn, f"Conv{nd}d")(cin, cout, kernel, groups=groups,
                                                 bias=bias)
        assert layer.weight.shape == tuple(module.weight.shape)
        assert layer.stride == module.stride and layer.dilation == module.dilation
        assert layer.kernel_size == module.kernel_size


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_defaults(nd):
    layer = layer_class(nd)(2, 4, 3)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert layer.stride == (1,) * nd and layer.dilation == (1,) * nd
    assert layer.groups == 1 and layer.padding_mode == "zeros"
    assert isinstance(layer.weight, np.ndarray) and isinstance(layer.bias, np.ndarray)
    assert type(layer).__name__ in repr(layer)


def test_init_bounds_as_pytorch():
    """weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in =
    in_channels / groups * prod(kernel), as torch.nn.ConvNd.reset_parameters."""
    layer = gconv.Conv2d(64, 256, (3, 5), groups=4, dtype="float64", seed=0)
    fan_in = 64 // 4 * 15
    bound = 1 / math.sqrt(fan_in)
    w, b = layer.weight, layer.bias
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert abs(w.mean()) < 0.02 * bound
    assert abs(w.var() - bound**2 / 3) < 0.03 * bound**2 / 3
    # uniform: a quarter of the values in each quarter of the range
    hist, _ = np.histogram(w, bins=4, range=(-bound, bound))
    assert np.all(np.abs(hist / w.size - 0.25) < 0.01)
    if HAS_TORCH:
        module = torch.nn.Conv2d(64, 256, (3, 5), groups=4)
        tw = module.weight.detach().numpy()
        assert np.abs(tw).max() <= bound * (1 + 1e-6)
        assert np.abs(tw).max() > 0.99 * bound
        assert abs(tw.var() - w.var()) < 0.03 * bound**2 / 3
        assert np.abs(module.bias.detach().numpy()).max() <= bound * (1 + 1e-6)


def test_seed_reproducibility():
    a = gconv.Conv2d(4, 8, 3, groups=2, seed=123)
    b = gconv.Conv2d(4, 8, 3, groups=2, seed=123)
    c = gconv.Conv2d(4, 8, 3, groups=2, seed=124)
    np.testing.assert_array_equal(a.weight, b.weight)
    np.testing.assert_array_equal(a.bias, b.bias)
    assert not np.array_equal(a.weight, c.weight)
    d = gconv.Conv2d(4, 8, 3, groups=2)
    e = gconv.Conv2d(4, 8, 3, groups=2)
    assert not np.array_equal(d.weight, e.weight)
    f32 = gconv.Conv2d(4, 8, 3, groups=2, seed=123, dtype="float64")
    np.testing.assert_allclose(f32.weight, a.weight, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64", np.float32, np.dtype("float64")])
def test_dtype(dtype):
    layer = gconv.Conv1d(2, 2, 3, dtype=dtype)
    assert layer.weight.dtype == np.dtype(dtype) and layer.bias.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", ["float16", "int32", np.int64, "complex64", "bogus",
                                   object])
def test_bad_dtype(dtype):
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        gconv.Conv1d(2, 2, 3, dtype=dtype)


@pytest.mark.parametrize("kwargs,exc,pattern", [
    (dict(in_channels=4, out_channels=6, kernel_size=3, groups=4), GroupsError,
     r"out_channels=6 is not divisible by groups=4"),
    (dict(in_channels=12, out_channels=11, kernel_size=3, groups=3), GroupsError,
     r"use out_channels 9 or 12"),
    (dict(in_channels=6, out_channels=6, kernel_size=3, groups=0), GroupsError,
     r"groups=0 is not valid"),
    (dict(in_channels=0, out_channels=6, kernel_size=3), ShapeError, r"in_channels=0"),
    (dict(in_channels=2, out_channels=6, kernel_size=0), ShapeError,
     r"kernel size 0 in spatial dimension 0"),
    (dict(in_channels=2, out_channels=6, kernel_size=(3, 3, 3)), ShapeError,
     r"kernel_size must be an int or a sequence of 2 ints"),
    (dict(in_channels=2, out_channels=6, kernel_size=3, stride=0), ShapeError,
     r"stride 0"),
    (dict(in_channels=2, out_channels=6, kernel_size=3, dilation=(1, -1)), ShapeError,
     r"dilation -1 in spatial dimension 1"),
    (dict(in_channels=2, out_channels=6, kernel_size=3, padding=-1), ShapeError,
     r"padding \(-1 before, -1 after\)"),
    (dict(in_channels=2, out_channels=6, kernel_size=3, padding="same", stride=2),
     ShapeError, r"padding='same' needs stride 1"),
    (dict(in_channels=2, out_channels=6, kernel_size=3, padding="full"), ShapeError,
     r"'valid' or 'same', got 'full'"),
    (dict(in_channels=2, out_channels=6, kernel_size=3, padding_mode="mirror"),
     ShapeError, r"padding_mode must be one of"),
    (dict(in_channels=2.0, out_channels=6, kernel_size=3), TypeError, r"in_channels"),
    (dict(in_channels=2, out_channels=6, kernel_size=3, groups=True), TypeError,
     r"groups"),
])
def test_validation_at_construction(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern) as info:
        gconv.Conv2d(**kwargs)
    if exc is GroupsError:
        with pytest.raises(GroupsError) as info2:
            gconv.check_groups(kwargs["in_channels"], kwargs["out_channels"],
                               kwargs["groups"])
        assert str(info.value) == str(info2.value)


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_torch_also_rejects_at_construction():
    """The construction-time GroupsError mirrors torch.nn.Conv2d."""
    with pytest.raises(ValueError):
        torch.nn.Conv2d(12, 11, 3, groups=3)
    with pytest.raises(GroupsError):
        gconv.Conv2d(12, 11, 3, groups=3)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", [0, 1, "same", "valid"])
def test_call_equals_functional(backend, rng, nd, mode, padding):
    layer = layer_class(nd)(4, 6, 3, stride=1 if padding == "same" else 2,
                            padding=padding, dilation=1, groups=2, padding_mode=mode,
                            dtype="float64", seed=7, backend=backend)
    x = rng.standard_normal((2, 4) + (7,) * nd)
    out = layer(x)
    want = function(nd)(x, layer.weight, layer.bias, layer.stride, layer.padding,
                        layer.dilation, layer.groups, padding_mode=mode, backend=backend)
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(layer.forward(x), want)
    assert_conv_close(out, x, layer.weight, layer.bias, stride=layer.stride,
                      padding=padding, groups=2, padding_mode=mode)
    # unbatched
    want0 = function(nd)(x[0], layer.weight, layer.bias, layer.stride, layer.padding,
                         layer.dilation, layer.groups, padding_mode=mode,
                         backend=backend)
    np.testing.assert_array_equal(layer(x[0]), want0)
    np.testing.assert_allclose(want0, want[0], rtol=1e-12, atol=1e-12)


def test_layer_uses_its_backend(spy):
    layer = gconv.Conv1d(2, 2, 3, backend="spy")
    layer(np.zeros((1, 2, 5), np.float32), num_threads=3)
    assert len(spy.calls) == 1 and spy.calls[0][2] == 3
    with gconv.use_backend("spy"):
        gconv.Conv1d(2, 2, 3)(np.zeros((1, 2, 5), np.float32))
    assert len(spy.calls) == 2


def test_layer_call_errors_go_through_gate(backend):
    layer = gconv.Conv2d(4, 6, 3, groups=2, backend=backend)
    with pytest.raises(GroupsError, match=r"weight.shape\[1\]=2 does not match "
                                          r"in_channels=6"):
        layer(np.zeros((1, 6, 5, 5), np.float32))
    with pytest.raises(TypeError, match="weight has dtype float32 but input has "
                                        "dtype float64"):
        layer(np.zeros((1, 4, 5, 5)))
    with pytest.raises(ShapeError, match="is larger than the padded input"):
        layer(np.zeros((1, 4, 2, 5), np.float32))
    reflect = gconv.Conv1d(2, 2, 3, padding=3, padding_mode="reflect", backend=backend)
    with pytest.raises(ShapeError, match="padding_mode='reflect'"):
        reflect(np.zeros((1, 2, 3), np.float32))


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("mode", MODES)
def test_layer_with_torch_weights_matches_module(backend, nd, mode):
    if nd == 3 and mode == "reflect" and not hasattr(torch.nn, "ReflectionPad3d"):
        pytest.skip("torch lacks 3-D reflection padding")
    module = getattr(torch.nn, f"Conv{nd}d")(6, 9, 3, stride=2, padding=2,
                                             dilation=1, groups=3, padding_mode=mode)
    layer = layer_class(nd)(6, 9, 3, stride=2, padding=2, groups=3, padding_mode=mode,
                            backend=backend)
    layer.weight = module.weight.detach().numpy().copy()
    layer.bias = module.bias.detach().numpy().copy()
    x = torch.randn((2, 6) + (6,) * nd, generator=torch.Generator().manual_seed(nd))
    with torch.no_grad():
        want = module(x)
    torch.testing.assert_close(layer(x), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer(x.numpy()), want.numpy(), rtol=1e-4, atol=1e-5)
