"""Tensors on a CUDA device: the automatic choice sends them to the torch
backend, results stay on the device and match the float64 reference, and the
gate treats them exactly as it treats arrays.  Skipped without a GPU (CI has
none); run on a machine with one as ``pytest tests/test_cuda.py``."""

import numpy as np
import pytest

import gconv
from conftest import HAS_TORCH, assert_conv_close, function, layer_class, random_case, torch

pytestmark = pytest.mark.skipif(not (HAS_TORCH and torch.cuda.is_available()),
                                reason="needs torch with a CUDA device")

CASES = [
    # nd, cin, cout, groups, size, kernel, kwargs
    (1, 6, 9, 3, 19, 5, dict(stride=2, padding=2)),
    (1, 8, 8, 8, 30, 7, dict(padding="same", dilation=2)),
    (2, 8, 12, 4, 11, 3, dict(padding=1)),
    (2, 16, 16, 16, 14, 5, dict(padding=2)),
    (2, 16, 32, 16, 9, 3, dict(stride=2, padding=1)),
    (2, 6, 6, 2, 10, (2, 4), dict(padding="same")),
    (2, 4, 8, 2, 8, 3, dict(padding=(2, 1), padding_mode="reflect")),
    (2, 4, 4, 4, 8, 3, dict(padding=2, padding_mode="circular")),
    (2, 6, 6, 3, 7, 3, dict(padding=1, padding_mode="replicate")),
    (3, 8, 8, 8, 6, 3, dict(padding=1)),
    (3, 6, 12, 3, 5, (1, 3, 3), dict(stride=(1, 2, 2), padding=(0, 1, 1))),
]


def _cuda(*arrays):
    return [None if a is None else torch.from_numpy(a).cuda() for a in arrays]


@pytest.fixture(autouse=True)
def _no_backend_override(monkeypatch):
    monkeypatch.delenv("GCONV_BACKEND", raising=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}d-g{c[3]}-{c[6]}")
def test_auto_runs_on_the_device(case, dtype, rng):
    nd, cin, cout, groups, size, kernel, kwargs = case
    x, w, b = random_case(rng, nd, batch=3, cin=cin, cout=cout, groups=groups,
                          size=size, kernel=kernel, dtype=dtype)
    xc, wc, bc = _cuda(x, w, b)
    out = function(nd)(xc, wc, bc, groups=groups, **kwargs)
    assert isinstance(out, torch.Tensor) and out.device == xc.device
    assert out.dtype == xc.dtype
    assert_conv_close(out, x, w, b, groups=groups, **kwargs)
    # unbatched input, no bias
    one = function(nd)(xc[0], wc, None, groups=groups, **kwargs)
    assert one.device == xc.device
    assert_conv_close(one[None], x[:1], w, None, groups=groups, **kwargs)


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_host_backends_return_to_the_device(backend, rng):
    """Asking a host backend for a CUDA tensor computes on the host and hands
    the result back on the input's device."""
    if backend not in gconv.available_backends():
        pytest.skip(f"backend {backend!r} is not available here")
    x, w, b = random_case(rng, 2, cin=8, cout=8, groups=4, size=9)
    xc, wc, bc = _cuda(x, w, b)
    out = gconv.conv2d(xc, wc, bc, padding=1, groups=4, backend=backend)
    assert out.device == xc.device
    assert_conv_close(out, x, w, b, padding=1, groups=4)


def test_weight_on_the_host_follows_the_input(rng):
    """A NumPy weight and bias with a CUDA input: the result is on the
    device."""
    x, w, b = random_case(rng, 2, cin=6, cout=6, groups=3, size=8)
    xc, = _cuda(x)
    out = gconv.conv2d(xc, w, b, padding=1, groups=3)
    assert out.device == xc.device
    assert_conv_close(out, x, w, b, padding=1, groups=3)


def test_layer_on_a_device_input(rng):
    layer = layer_class(2)(8, 16, 3, padding=1, groups=8, seed=3)
    x = rng.standard_normal((2, 8, 10, 10)).astype(np.float32)
    xc, = _cuda(x)
    out = layer(xc)
    assert out.device == xc.device
    assert_conv_close(out, x, layer.weight, layer.bias, padding=1, groups=8)


def test_nonfinite_weight_over_padding(rng):
    """An Inf weight over zero padding gives NaN at the borders on the device
    too, as on every other backend (weight * 0 is added)."""
    x = rng.standard_normal((1, 4, 6, 6))
    w = rng.standard_normal((4, 1, 3, 3))
    w[1, 0, 0, 0] = np.inf
    xc, wc = _cuda(x, w)
    got = gconv.conv2d(xc, wc, padding=1, groups=4).cpu().numpy()
    host = gconv.conv2d(x, w, padding=1, groups=4, backend="numpy")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(host))
    assert np.isnan(got[0, 1, 0, :]).all() and np.isnan(got[0, 1, :, 0]).all()
    finite = np.isfinite(host)
    np.testing.assert_allclose(got[finite], host[finite], rtol=1e-12, atol=1e-12)


def test_gate_errors_are_the_same_on_the_device():
    x = np.zeros((1, 12, 5, 5), np.float32)
    w = np.zeros((11, 4, 3, 3), np.float32)
    xc, wc = _cuda(x, w)
    with pytest.raises(gconv.GroupsError) as on_host:
        gconv.conv2d(x, w, groups=3)
    with pytest.raises(gconv.GroupsError) as on_device:
        gconv.conv2d(xc, wc, groups=3)
    assert str(on_device.value) == str(on_host.value)
    with pytest.raises(TypeError, match="weight has dtype float64"):
        gconv.conv2d(xc, wc.double(), groups=1)


def test_empty_batch_on_the_device():
    xc = torch.zeros((0, 4, 5, 5), device="cuda")
    wc = torch.zeros((4, 2, 3, 3), device="cuda")
    out = gconv.conv2d(xc, wc, groups=2)
    assert out.shape == (0, 4, 3, 3) and out.device == xc.device


def _tf32_setting():
    cudnn = torch.backends.cudnn
    conv = getattr(cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        return conv.fp32_precision
    return cudnn.allow_tf32


def test_float32_is_not_computed_in_tf32(rng):
    """float32 on the device keeps float32 accuracy where torch, left to its
    defaults, lets cuDNN round the operands to TF32 (10-bit mantissa), and
    the process's setting is left as it was."""
    import torch.nn.functional as F
    x, w, b = random_case(rng, 2, batch=4, cin=256, cout=256, groups=32, size=32,
                          kernel=3, dtype=np.float32)
    xc, wc, bc = _cuda(x, w, b)
    before = _tf32_setting()
    direct = F.conv2d(xc, wc, bc, padding=1, groups=32)
    out = gconv.conv2d(xc, wc, bc, padding=1, groups=32)
    assert _tf32_setting() == before
    assert_conv_close(out, x, w, b, padding=1, groups=32)
    if before in (True, "tf32") and torch.cuda.get_device_capability(xc.device)[0] >= 8:
        # what the test guards against does happen on this GPU
        with pytest.raises(AssertionError):
            assert_conv_close(direct, x, w, b, padding=1, groups=32)
