"""Shared fixtures and helpers of the gconv test suite.

* ``reference_conv``: a plain float64 convolution written independently of
  the backends (explicit index maps for the padding modes, a Python loop over
  groups and kernel taps), the ground truth when torch is missing.
* ``expected_conv``: torch.nn.functional in float64 when torch is installed,
  else ``reference_conv``.
* ``assert_conv_close``: compares a result with the expected one under an
  error bound that scales with the dtype and with the sum of |terms|.
* the ``backend`` fixture, parametrised over every backend usable here.
"""

import itertools
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import warnings

import numpy as np
import pytest

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis tests skip themselves
    settings = None

import gconv

try:
    import torch
except ImportError:
    torch = None

HAS_TORCH = torch is not None
BACKENDS = gconv.available_backends()
ALL_KNOWN_BACKENDS = ("c", "numpy", "torch")

# ---- hypothesis profiles ------------------------------------------------------
# "default" keeps the whole suite within a few minutes on a 2-core machine;
# "thorough" is for occasional long runs (HYPOTHESIS_PROFILE=thorough).
if settings is not None:
    settings.register_profile(
        "default", max_examples=60, deadline=None, derandomize=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True)
    settings.register_profile(
        "ci", max_examples=60, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True)
    settings.register_profile(
        "thorough", max_examples=1000, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE",
                                         "ci" if os.environ.get("CI") else "default"))


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Every backend usable here, one at a time."""
    return request.param


class SpyBackend:
    """A backend that records its calls and delegates to "numpy"."""

    def __init__(self, name="spy"):
        from gconv._backends import REGISTRY
        self.name = name
        self.calls = []
        self._numpy = REGISTRY["numpy"]

    def unavailable(self):
        return None

    def run(self, conv, x, w, b, num_threads):
        import threading
        self.calls.append((threading.get_ident(), conv, num_threads))
        return self._numpy.run(conv, x, w, b, num_threads)


@pytest.fixture
def spy(monkeypatch):
    """A registered backend "spy" (see SpyBackend)."""
    from gconv._backends import REGISTRY
    backend = SpyBackend()
    monkeypatch.setitem(REGISTRY, "spy", backend)
    return backend


@pytest.fixture
def rng(request):
    """A generator seeded from the test's name: reproducible per test."""
    seed = sum(map(ord, request.node.nodeid)) * 7919
    return np.random.default_rng(seed)


#: The directory holding the gconv package these tests import (the source
#: tree when built in place, site-packages when installed).
GCONV_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(gconv.__file__)))
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def run_python(code, *args, env=None, timeout=300, hide_torch=False):
    """Runs code in a fresh interpreter that imports the same gconv as this
    process (run from an empty directory, so a source checkout cannot
    shadow an installed package).  Returns the CompletedProcess."""
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (GCONV_PARENT, full_env.get("PYTHONPATH", "")) if p)
    prefix = "import sys\n"
    if hide_torch:
        prefix += "sys.modules['torch'] = None\n"
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run([sys.executable, "-c", prefix + textwrap.dedent(code),
                               *args], capture_output=True, text=True, cwd=cwd,
                              env=full_env, timeout=timeout)


def function(nd):
    return (gconv.conv1d, gconv.conv2d, gconv.conv3d)[nd - 1]


def layer_class(nd):
    return (gconv.Conv1d, gconv.Conv2d, gconv.Conv3d)[nd - 1]


# ---- the reference ---------------------------------------------------------------

def _per_dim(value, nd):
    if isinstance(value, (tuple, list)):
        value = tuple(int(v) for v in value)
        return value * nd if len(value) == 1 else value
    return (int(value),) * nd


def _padding_amounts(padding, kernel, dilation, nd):
    """(before, after) per dimension, as torch resolves them."""
    if padding == "valid":
        return (0,) * nd, (0,) * nd
    if padding == "same":
        total = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return tuple(t // 2 for t in total), tuple(t - t // 2 for t in total)
    padding = _per_dim(padding, nd)
    return padding, padding


def _source_index(i, n, mode):
    """Index of the input element that padded position i (-before..n+after)
    reads, or None for a zero."""
    if 0 <= i < n:
        return i
    if mode == "zeros":
        return None
    if mode == "replicate":
        return min(max(i, 0), n - 1)
    if mode == "circular":
        return i % n
    if mode == "reflect":
        # mirror without repeating the edge: -1 -> 1, n -> n - 2
        period = 2 * (n - 1)
        j = abs(i) % period if period else 0
        return j if j < n else period - j
    raise AssertionError(mode)


def reference_pad(x, before, after, mode):
    """x (N, C, *spatial) padded as padding_mode says, in float64."""
    x = np.asarray(x, dtype=np.float64)
    out = x
    for d in range(x.ndim - 2):
        axis = d + 2
        n = x.shape[axis]
        src = [_source_index(i, n, mode) for i in range(-before[d], n + after[d])]
        index = np.array([0 if s is None else s for s in src], dtype=np.intp)
        taken = np.take(out, index, axis=axis)
        zero = np.array([s is None for s in src])
        if zero.any():
            shape = [1] * taken.ndim
            shape[axis] = len(src)
            taken = np.where(zero.reshape(shape), 0.0, taken)
        out = taken
    return out


def reference_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1,
                   padding_mode="zeros"):
    """The convolution of torch.nn.functional.convNd in float64, computed the
    slow and obvious way.  Unbatched input gives unbatched output."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    nd = w.ndim - 2
    unbatched = x.ndim == nd + 1
    if unbatched:
        x = x[None]
    stride, dilation = _per_dim(stride, nd), _per_dim(dilation, nd)
    kernel = w.shape[2:]
    before, after = _padding_amounts(padding, kernel, dilation, nd)
    xp = reference_pad(x, before, after, padding_mode)
    n, cin = x.shape[:2]
    cout = w.shape[0]
    cg, og = cin // groups, cout // groups
    out_size = tuple((xp.shape[2 + d] - dilation[d] * (kernel[d] - 1) - 1) // stride[d] + 1
                     for d in range(nd))
    out = np.zeros((n, cout) + out_size)
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        for tap in itertools.product(*(range(k) for k in kernel)):
            sl = tuple(slice(t * dl, t * dl + s * (o - 1) + 1, s)
                       for t, dl, s, o in zip(tap, dilation, stride, out_size))
            view = xs[(slice(None), slice(None)) + sl]          # (N, cg, *out)
            wt = w[(slice(g * og, (g + 1) * og), slice(None)) + tap]  # (og, cg)
            out[:, g * og:(g + 1) * og] += np.einsum("oc,nc...->no...", wt, view)
    if b is not None:
        out += np.asarray(b, dtype=np.float64).reshape((cout,) + (1,) * nd)
    return out[0] if unbatched else out


def torch_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1,
               padding_mode="zeros"):
    """torch.nn.functional.convNd in float64 (non-zero modes through F.pad,
    as torch.nn.ConvNd does)."""
    F = torch.nn.functional
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64))
    wt = torch.as_tensor(np.asarray(w, dtype=np.float64))
    bt = None if b is None else torch.as_tensor(np.asarray(b, dtype=np.float64))
    nd = wt.ndim - 2
    fn = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    if padding_mode == "zeros":
        with warnings.catch_warnings():  # torch's note on even kernels with "same"
            warnings.simplefilter("ignore", UserWarning)
            return fn(xt, wt, bt, stride, padding, dilation, groups).numpy()
    unbatched = xt.ndim == nd + 1
    if unbatched:
        xt = xt[None]
    dil = _per_dim(dilation, nd)
    before, after = _padding_amounts(padding, wt.shape[2:], dil, nd)
    pads = []
    for pb, pa in zip(reversed(before), reversed(after)):
        pads += [pb, pa]
    xt = F.pad(xt, pads, mode={"reflect": "reflect", "replicate": "replicate",
                               "circular": "circular"}[padding_mode])
    out = fn(xt, wt, bt, stride, 0, dilation, groups).numpy()
    return out[0] if unbatched else out


def expected_conv(*args, **kwargs):
    """torch's result (float64) when torch is installed, else the reference."""
    if HAS_TORCH:
        return torch_conv(*args, **kwargs)
    return reference_conv(*args, **kwargs)


def _abs(a):
    return None if a is None else np.abs(np.asarray(a, dtype=np.float64))


def error_bound(dtype, x, w, b=None, **kwargs):
    """An upper bound on the rounding error of a dtype convolution: a few
    ulps of the sum of |terms| times the number of terms."""
    magnitude = reference_conv(_abs(x), _abs(w), _abs(b), **kwargs)
    fan_in = math.prod(np.shape(w)[1:]) + 1
    eps = np.finfo(dtype).eps
    return 2.0 * eps * fan_in * magnitude + np.finfo(dtype).tiny


def to_numpy(result):
    if HAS_TORCH and isinstance(result, torch.Tensor):
        return result.detach().cpu().numpy()
    return np.asarray(result)


def assert_conv_close(result, x, w, b=None, *, dtype=None, expected=None, **kwargs):
    """result equals the convolution of x, w, b (with kwargs as in convNd)
    within the rounding error of dtype (default: result's dtype)."""
    got = to_numpy(result)
    dtype = np.dtype(dtype if dtype is not None else got.dtype)
    if expected is None:
        expected = expected_conv(x, w, b, **kwargs)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == dtype, (got.dtype, dtype)
    if got.size == 0:
        return
    bound = error_bound(dtype, x, w, b, **kwargs)
    err = np.abs(got.astype(np.float64) - expected)
    worst = np.unravel_index(np.argmax(err - bound), err.shape)
    assert np.all(err <= bound), (
        f"max error {err.max():.3g} at {worst}: got {got[worst]!r}, expected "
        f"{expected[worst]!r}, bound {bound[worst]:.3g}")


def random_case(rng, nd, *, batch=2, cin=4, cout=6, groups=2, size=7, kernel=3,
                dtype=np.float64, bias=True):
    """(x, w, b) with standard-normal entries."""
    sizes = _per_dim(size, nd)
    kernels = _per_dim(kernel, nd)
    xshape = ((batch,) if batch is not None else ()) + (cin,) + sizes
    x = rng.standard_normal(xshape).astype(dtype)
    w = rng.standard_normal((cout, cin // groups) + kernels).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype) if bias else None
    return x, w, b


def tolerance(dtype):
    """rtol/atol for comparisons of unit-scale values where no bound is
    computed (e.g. against torch's own float32 result)."""
    return (dict(rtol=1e-4, atol=1e-4) if np.dtype(dtype) == np.float32
            else dict(rtol=1e-10, atol=1e-10))
