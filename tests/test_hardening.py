"""Hardening: size arithmetic, NaN/Inf, memory and concurrency.

- Shapes whose element counts or byte sizes overflow are rejected with
  ShapeError (Python) / GCONV_ERR_OVERFLOW (C) before anything is allocated;
  large counts that fit are exact on both sides.
- NaN and Inf propagate as IEEE arithmetic on the explicitly padded input
  says, identically in every backend and on every vector path: zero padding
  is real zeros, so an infinite or NaN weight over zero padding gives NaN.
- Allocation failure gives MemoryError (the output allocation, and the C
  core's own allocations); repeated calls do not leak.
- Many threads calling every backend at once get the serial results; the
  backend choice is per thread; an absurd thread count is capped.
"""

import ctypes
import gc
import itertools
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import tracemalloc

import numpy as np
import pytest

import gconv
from gconv import _gate

try:
    import torch
except ImportError:
    torch = None

BACKENDS = gconv.available_backends()
FUNCS = {1: gconv.conv1d, 2: gconv.conv2d, 3: gconv.conv3d}
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
#: where the gconv under test was imported from (the source tree built in
#: place, or an installed package): subprocesses must import the same one
GCONV_PATH = os.path.dirname(os.path.dirname(os.path.abspath(gconv.__file__)))
MAX_ELEMENTS = (2**63 - 1) // 8


def _np(a):
    if torch is not None and isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def huge(shape, dtype=np.float32):
    """A read-only array of any shape that takes no memory (zero strides)."""
    return np.broadcast_to(np.ones((), dtype=dtype), shape)


# ---- size arithmetic ---------------------------------------------------------------

OVERFLOWING = [
    # (name, nd, input shape, weight shape, keyword arguments)
    ("padding 2**62", 1, (1, 1, 4), (1, 1, 1), dict(padding=2**62)),
    ("padding near INT64_MAX", 1, (1, 1, 4), (1, 1, 1), dict(padding=2**63 - 1)),
    ("padding beyond int64", 1, (1, 1, 4), (1, 1, 1), dict(padding=2**64 + 1)),
    ("padded size just past the limit", 1, (1, 1, 2), (1, 1, 1),
     dict(padding=(MAX_ELEMENTS - 1) // 2 + 1)),
    ("2-D output plane 2**64", 2, (1, 1, 1, 1), (1, 1, 1, 1), dict(padding=2**31)),
    ("3-D output plane 2**63", 3, (1, 1, 1, 1, 1), (1, 1, 1, 1, 1), dict(padding=2**20)),
    ("kernel 2**40 with dilation 2**30", 1, (1, 1, 8), (1, 1, 2**40),
     dict(dilation=2**30, padding=2**40)),
    ("dilation 2**62, kernel 3", 1, (1, 1, 8), (1, 1, 3), dict(dilation=2**62)),
    ("dilation beyond int64", 1, (1, 1, 8), (1, 1, 1), dict(dilation=2**64)),
    ("stride beyond int64", 1, (1, 1, 8), (1, 1, 1), dict(stride=2**70)),
    ("weight 2**60 elements", 1, (1, 2**30, 1), (2**30, 2**30, 1), {}),
    ("input 2**60 elements", 1, (2**40, 2**20, 1), (1, 2**20, 1), {}),
    ("output 2**60 elements from padding", 1, (2**30, 1, 1), (1, 1, 1),
     dict(padding=2**29)),
    ("3-D input plane 2**60", 3, (1, 1, 2**20, 2**20, 2**20), (1, 1, 1, 1, 1), {}),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", OVERFLOWING, ids=[c[0] for c in OVERFLOWING])
def test_overflowing_sizes_raise_shape_error_before_any_allocation(case, backend):
    name, nd, xshape, wshape, kwargs = case
    x, w = huge(xshape), huge(wshape)
    tracemalloc.start()
    try:
        with pytest.raises(gconv.ShapeError, match="overflows|larger than the padded"):
            FUNCS[nd](x, w, backend=backend, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{name}: {peak} bytes allocated before the rejection"


def test_layers_reject_overflowing_weights():
    for nd, ks in ((2, 2**31), (3, (2**21, 2**21, 2**21)), (1, 3)):
        cls = (gconv.Conv1d, gconv.Conv2d, gconv.Conv3d)[nd - 1]
        cin = 2**40 if nd == 1 else 1
        with pytest.raises(gconv.ShapeError, match="overflows"):
            cls(cin, cin, ks)


# (ndim, batch, cin, cout, groups, size, kernel, stride, pad_before, pad_after,
#  dilation): boundary cases for both gates, including products that wrap
# around 2**64 to small numbers
GATE_CASES = [
    (1, 1, 65536, 1, 1, [65537], [1], [1], [0], [0], [1]),            # 2**32 + 2**16
    (1, 2, 1, 1, 1, [2**31], [1], [1], [0], [0], [1]),                # 2**32
    (1, 1, 1, 1, 1, [MAX_ELEMENTS], [1], [1], [0], [0], [1]),         # at the limit
    (1, 1, 1, 1, 1, [MAX_ELEMENTS - 1], [1], [1], [0], [1], [1]),
    (1, 1, 1, 1, 1, [MAX_ELEMENTS], [1], [1], [0], [1], [1]),         # one past
    (1, 2, 1, 1, 1, [MAX_ELEMENTS // 2 + 1], [1], [1], [0], [0], [1]),
    (1, 3, 6148914691236517206, 1, 1, [1], [1], [1], [0], [0], [1]),  # wraps to 2
    (2, 1, 1, 1, 1, [2**32, 2**32], [1, 1], [1, 1], [0, 0], [0, 0], [1, 1]),
    (2, 1, 1, 1, 1, [2**32 + 1, 2**32 - 1], [1, 1], [1, 1], [0, 0], [0, 0], [1, 1]),
    (3, 1, 1, 1, 1, [2**21, 2**21, 2**22], [2**21, 2**21, 2**22], [1] * 3, [0] * 3,
     [0] * 3, [1] * 3),
    (1, 1, 2**32, 2**32, 1, [1], [1], [1], [0], [0], [1]),            # weight 2**64
    (1, 1, 1, 1, 1, [1], [2], [1], [4], [0], [2**63 - 1]),            # span
    (1, 1, 1, 1, 1, [1], [2**32 + 1], [1], [0], [0], [2**32]),
    (1, 1, 1, 1, 1, [2**63 - 1], [1], [1], [0], [0], [1]),
    (1, 1, 1, 1, 1, [1], [1], [1], [2**63 - 1], [2**63 - 1], [1]),
    (1, 1, 1, 1, 1, [3], [1], [2**63 - 1], [5], [0], [1]),            # valid, huge stride
    (3, 1, 1, 1, 1, [1, 1, 1], [1, 1, 1], [1] * 3, [2**21] * 3, [0] * 3, [1] * 3),
    (1, 2**40, 2**20, 1, 1, [1], [1], [1], [0], [0], [1]),
]


def _ccore():
    if "c" not in BACKENDS:
        pytest.skip("the compiled core is not available")
    from gconv import _ccore
    return _ccore


@pytest.mark.parametrize("case", GATE_CASES)
def test_c_and_python_gates_agree_on_size_arithmetic(case):
    core = _ccore()
    ndim, batch, cin, cout, groups, size, kernel, stride, pb, pa, dil = case
    pad3 = lambda v, fill: list(v) + [fill] * (3 - len(v))  # noqa: E731
    status, message, out = core.check_params(
        ndim, batch, cin, cout, groups, pad3(size, 1), pad3(kernel, 1), pad3(stride, 1),
        pad3(pb, 0), pad3(pa, 0), pad3(dil, 1))
    try:
        py_out = _gate.check_params(ndim, batch, cin, cout, groups, size, kernel, stride,
                                    pb, pa, dil)
    except gconv.ShapeError as exc:
        assert status == "overflow" or status == "shape", (status, str(exc))
        assert message == str(exc)
    else:
        assert status == "ok", message
        assert out == py_out
        # the exact counts, in unbounded integers
        assert all(o == (s + p0 + p1 - d * (k - 1) - 1) // st + 1
                   for o, s, p0, p1, d, k, st in zip(out, size, pb, pa, dil, kernel, stride))
        assert batch * cin * math.prod(size) <= MAX_ELEMENTS
        assert batch * cout * math.prod(out) <= MAX_ELEMENTS


def test_large_valid_strides_and_dilations_compute():
    """Strides and dilations up to the element limit (2**60 - 1 on 64-bit
    machines) are valid when the output has one element; the C core's border
    arithmetic must not overflow (a fixed bug).  Beyond the limit they are a
    ShapeError on every backend."""
    big = MAX_ELEMENTS
    x = np.arange(1, 6, dtype=np.float32)[None, None]
    w = np.full((1, 1, 1), 2.0, np.float32)
    for backend in BACKENDS:
        y = _np(gconv.conv1d(x, w, stride=big, padding=3, backend=backend))
        np.testing.assert_array_equal(y, [[[0.0]]])
        y = _np(gconv.conv1d(x, w, stride=big, backend=backend))
        np.testing.assert_array_equal(y, [[[2.0]]])
        y = _np(gconv.conv1d(x, w, dilation=big, padding=1, stride=2, backend=backend))
        np.testing.assert_array_equal(y, [[[0.0, 4.0, 8.0, 0.0]]])
        for kwargs in (dict(stride=big + 1), dict(dilation=big + 1),
                       dict(stride=2**63 - 1), dict(dilation=2**63 - 1)):
            with pytest.raises(gconv.ShapeError, match="overflows 64-bit arithmetic"):
                gconv.conv1d(x, w, backend=backend, **kwargs)


def test_huge_num_threads_is_accepted_and_lowered():
    x = np.random.default_rng(0).standard_normal((1, 4, 9, 9)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((4, 2, 3, 3)).astype(np.float32)
    ref = gconv.conv2d(x, w, groups=2, padding=1, backend=BACKENDS[0], num_threads=1)
    for backend in BACKENDS:
        for n in (2**31 - 1, 2**31, 2**40, 2**100):
            y = gconv.conv2d(x, w, groups=2, padding=1, backend=backend, num_threads=n)
            np.testing.assert_allclose(_np(y), _np(ref), rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_absurd_thread_count_does_not_exhaust_threads():
    """num_threads=2**40 on a call with work for hundreds of threads used to
    make the OpenMP runtime create threads until it failed and terminated the
    process; the core now caps the count (max(4 x cores, OpenMP default))."""
    if "c" not in BACKENDS:
        pytest.skip("the compiled core is not available")
    script = textwrap.dedent("""
        import numpy as np, gconv, os
        x = np.ones((1, 64, 66, 66), np.float32)
        w = np.ones((64, 64, 3, 3), np.float32)
        y = gconv.conv2d(x, w, backend="c", num_threads=2**40)
        threads = [l for l in open("/proc/self/status") if l.startswith("Threads:")]
        print(int(threads[0].split()[1]), os.cpu_count(), float(y[0, 0, 0, 0]))
    """)
    env = dict(os.environ, OMP_NUM_THREADS="2", PYTHONPATH=GCONV_PATH)
    env.pop("GCONV_NUM_THREADS", None)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    threads, cpus, value = r.stdout.split()
    assert float(value) == 64 * 9
    # the OpenMP team, capped, plus what Python, NumPy and OpenBLAS started
    assert int(threads) <= 4 * int(cpus) + 2 + 64, r.stdout


# ---- NaN and Inf -------------------------------------------------------------------

MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
         "circular": "wrap"}


def reference(x, w, b, stride, pb, pa, dilation, groups, mode):
    """float64 reference: pad explicitly as the mode says, then sum the taps
    (IEEE arithmetic on the padded input)."""
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    nd = x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + list(zip(pb, pa)), mode=MODES[mode])
    n, cout = x.shape[0], w.shape[0]
    cg, og = x.shape[1] // groups, cout // groups
    out = [(xp.shape[2 + d] - dilation[d] * (w.shape[2 + d] - 1) - 1) // stride[d] + 1
           for d in range(nd)]
    pixels = math.prod(out)
    res = np.zeros((n, groups, og, pixels))
    with np.errstate(all="ignore"):
        for tap in itertools.product(*(range(k) for k in w.shape[2:])):
            sl = tuple(slice(t * dl, t * dl + s * (o - 1) + 1, s)
                       for t, dl, s, o in zip(tap, dilation, stride, out))
            xs = xp[(slice(None), slice(None)) + sl].reshape(n, groups, cg, pixels)
            wt = w[(slice(None), slice(None)) + tap].reshape(groups, og, cg)
            res += np.einsum("goc,ngcp->ngop", wt, xs)
        res = res.reshape((n, cout) + tuple(out))
        if b is not None:
            res += b.astype(np.float64).reshape((cout,) + (1,) * nd)
    return res


def _nonfinite_cases():
    """(name, nd, cin, cout, groups, size, kernel, stride, padding, dilation,
    where the specials go)."""
    inf, nan = np.inf, np.nan
    return [
        ("inf weight corner over zero padding", 2, 1, 1, 1, 5, 3, 1, 1, 1,
         {"w": [((0, 0, 0, 0), inf)]}),
        ("-inf weight corner, stride 2", 2, 2, 2, 1, 6, 3, 2, 1, 1,
         {"w": [((1, 0, 2, 2), -inf)]}),
        ("nan weight over padding, dilated", 2, 2, 4, 2, 7, 3, 1, 2, 2,
         {"w": [((3, 0, 0, 1), nan)]}),
        ("inf weight, depthwise 1-D", 1, 3, 3, 3, 9, 5, 1, 2, 1,
         {"w": [((1, 0, 0), inf)]}),
        ("inf weight, 3-D", 3, 2, 2, 2, 4, 3, 1, 1, 1,
         {"w": [((0, 0, 2, 2, 2), inf)]}),
        ("inf input, finite weights", 2, 2, 2, 1, 6, 3, 1, 1, 1,
         {"x": [((0, 1, 2, 3), inf)]}),
        ("+inf and -inf in one window", 2, 1, 2, 1, 6, 3, 1, 1, 1,
         {"x": [((0, 0, 2, 2), inf), ((0, 0, 2, 3), -inf)]}),
        ("nan input, grouped (other groups stay finite)", 2, 4, 4, 2, 6, 3, 1, 1, 1,
         {"x": [((0, 3, 1, 1), nan)]}),
        ("inf input times zero weight", 2, 1, 1, 1, 5, 3, 1, 0, 1,
         {"x": [((0, 0, 2, 2), inf)], "w_zero": True}),
        ("inf bias", 2, 2, 2, 1, 5, 3, 1, 1, 1, {"b": [((1,), inf)]}),
        ("inf weight, no padding", 2, 2, 2, 1, 6, 3, 1, 0, 1,
         {"w": [((0, 1, 1, 1), inf)]}),
        # 16 and 32 output channels per group: the AVX-512 float32 kernel with
        # the channels along the vectors, which leaves out the taps over
        # padding rows and depth slices when every weight is finite
        ("inf weight over padding rows, 32 channels per group", 2, 64, 64, 2, 7, 3, 1, 1, 1,
         {"w": [((40, 5, 0, 1), inf)]}),
        ("nan weight over depth padding, 16 channels per group", 3, 32, 32, 2, 6, 3, 1, 1, 1,
         {"w": [((3, 7, 2, 1, 1), nan)]}),
        # the same kernels decide block by block (mv vectors of channels)
        # whether to leave those taps out; a group of more than 512 KB of
        # weights shares one transposed copy among the threads
        ("inf weight in one channel block, 64 channels per group", 2, 128, 128, 2, 7, 3, 1, 1, 1,
         {"w": [((114, 3, 0, 2), inf)]}),
        ("nan weight over padding, 2304 taps per group", 2, 256, 64, 1, 5, 3, 1, 1, 1,
         {"w": [((37, 200, 2, 0), nan)]}),
        # depthwise 3x3 on planes of a few vectors (AVX-512: 4x4 planes are
        # two float64 vectors, one float32 vector), read as flat arrays
        ("nan weight over padding, depthwise 4x4 planes", 2, 3, 3, 3, 4, 3, 1, 1, 1,
         {"w": [((2, 0, 2, 0), nan)]}),
        ("inf input in the last row, depthwise 4x4 planes", 2, 3, 6, 3, 4, 3, 1, 1, 1,
         {"x": [((1, 1, 3, 3), inf)]}),
    ]


NONFINITE = _nonfinite_cases()


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", NONFINITE, ids=[c[0] for c in NONFINITE])
def test_nan_and_inf_propagate_the_same_way_in_every_backend(case, dtype, mode,
                                                             monkeypatch):
    name, nd, cin, cout, groups, size, k, stride, pad, dil, specials = case
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (2, cin) + (size,) * nd).astype(dtype)
    w = rng.uniform(-1, 1, (cout, cin // groups) + (k,) * nd).astype(dtype)
    b = rng.uniform(-1, 1, cout).astype(dtype)
    if specials.get("w_zero"):
        w[:] = 0
    for arr, key in ((x, "x"), (w, "w"), (b, "b")):
        for idx, value in specials.get(key, []):
            arr[idx] = value
    ref = reference(x, w, b, (stride,) * nd, (pad,) * nd, (pad,) * nd, (dil,) * nd, groups,
                    mode)
    assert np.isnan(ref).any() or np.isinf(ref).any(), "the case must reach the output"
    isas = [None, "generic", "avx2"] if "c" in BACKENDS else [None]
    for backend, isa in itertools.product(BACKENDS, isas):
        if isa is not None and backend != "c":
            continue
        if isa is None:
            monkeypatch.delenv("GCONV_ISA", raising=False)
        else:
            monkeypatch.setenv("GCONV_ISA", isa)
        with np.errstate(all="ignore"):
            got = _np(FUNCS[nd](x, w, b, stride=stride, padding=pad, dilation=dil,
                                groups=groups, padding_mode=mode, backend=backend))
        where = f"{backend}, GCONV_ISA={isa}"
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=where)
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(ref), err_msg=where)
        np.testing.assert_array_equal(np.isneginf(got), np.isneginf(ref), err_msg=where)
        fin = np.isfinite(ref)
        tol = 1e-4 if dtype == "float32" else 1e-10
        np.testing.assert_allclose(got[fin], ref[fin], rtol=tol, atol=tol, err_msg=where)


def test_zero_padding_rule_is_torchs_explicit_padding():
    """The rule is what PyTorch computes on an explicitly zero-padded input
    (and what its float64 path computes with implicit padding), not what its
    float32 oneDNN path does (it skips the padding for batches > 1)."""
    if torch is None:
        pytest.skip("torch is not installed")
    F = torch.nn.functional
    x = torch.ones(2, 2, 5, 5)
    w = torch.ones(2, 1, 3, 3)
    w[0, 0, 0, 0] = float("inf")
    explicit = F.conv2d(F.pad(x, [1, 1, 1, 1]), w, groups=2)
    implicit64 = F.conv2d(x.double(), w.double(), padding=1, groups=2)
    assert torch.equal(torch.isnan(explicit), torch.isnan(implicit64))
    for backend in BACKENDS:
        for tensor_in in (False, True):
            xi = x if tensor_in else x.numpy()
            with np.errstate(all="ignore"):
                got = _np(gconv.conv2d(xi, w if tensor_in else w.numpy(), padding=1,
                                       groups=2, backend=backend))
            np.testing.assert_array_equal(np.isnan(got), torch.isnan(explicit).numpy(),
                                          err_msg=backend)
            np.testing.assert_array_equal(np.isinf(got), torch.isinf(explicit).numpy(),
                                          err_msg=backend)


# ---- memory --------------------------------------------------------------------------

def _run_python(script, env_extra=None, timeout=300):
    env = dict(os.environ,
               PYTHONPATH=GCONV_PATH + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)],
                          capture_output=True, text=True, env=env, timeout=timeout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS, /proc")
@pytest.mark.parametrize("backend", BACKENDS)
def test_allocation_failure_raises_memory_error(backend):
    """Under an address-space limit the call's allocations fail: MemoryError,
    never a crash (in a subprocess; OpenMP threads started before the limit,
    since the OpenMP runtime itself cannot survive failing to start them)."""
    script = f"""
        import resource, numpy as np, gconv
        def vm():
            for line in open("/proc/self/status"):
                if line.startswith("VmSize"):
                    return int(line.split()[1]) * 1024
        x = np.ones((1, 16, 512, 512), np.float32)
        w = np.ones((16, 1, 3, 3), np.float32)
        gconv.conv2d(x[..., :8, :8], w, padding=1, groups=16, backend={backend!r},
                     num_threads=1)
        limit = vm() + 64 * 2**20
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        try:
            # the output alone is 1.1 GB
            gconv.conv2d(x, w, padding=2000, groups=16, backend={backend!r}, num_threads=1)
        except MemoryError as exc:
            print("MemoryError", type(exc).__name__)
        else:
            print("no error")
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        y = gconv.conv2d(x[..., :8, :8], w, padding=1, groups=16, backend={backend!r},
                         num_threads=1)
        print("recovered", float(y[0, 0, 3, 3]))
    """
    r = _run_python(script)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "MemoryError" in r.stdout and "recovered 9.0" in r.stdout, r.stdout


def _compile_failmalloc(tmp_path):
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") \
        or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build the allocation-failure shim")
    out = tmp_path / "failmalloc.so"
    src = os.path.join(ROOT, "csrc", "fuzz", "failmalloc_preload.c")
    r = subprocess.run([cc, "-shared", "-fPIC", "-O1", src, "-o", str(out)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot build the shim here: {r.stderr[-500:]}")
    return str(out)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc LD_PRELOAD")
def test_core_allocation_failure_is_reported(tmp_path):
    """Every allocation the C core of the Python extension makes is failed in
    turn (an LD_PRELOAD shim fails only allocations called from
    the core library, libgconv or gconv/_ccore*.so): the plan API returns GCONV_ERR_NO_MEMORY with *plan
    NULL, and a one-shot call through Python raises MemoryError; after each
    failure the next clean call succeeds with the same result."""
    if "c" not in BACKENDS:
        pytest.skip("the compiled core is not available")
    shim = _compile_failmalloc(tmp_path)
    script = """
        import ctypes, json, numpy as np, gconv
        from gconv import _ccore
        shim = ctypes.CDLL(None)
        arm, calls = shim.failmalloc_arm, shim.failmalloc_calls
        arm.argtypes, arm.restype = [ctypes.c_char_p, ctypes.c_long], ctypes.c_int
        calls.restype = ctypes.c_long
        shim.failmalloc_failed.restype = ctypes.c_long
        # the kernels live in the shipped libgconv (or, in a GCONV_BUNDLE_CORE
        # build, in the extension itself)
        import glob, os
        try:
            shipped = glob.glob(os.path.join(gconv.get_library_dir(), "libgconv.so.*"))
        except RuntimeError:
            shipped = []
        core = ctypes.CDLL(shipped[0] if shipped else _ccore.__file__)
        tag = b"libgconv" if shipped else b"_ccore"
        report = {"plan": [], "oneshot": {}}

        # the C plan API, as built into the extension
        class Params(ctypes.Structure):
            _fields_ = [("struct_size", ctypes.c_size_t), ("ndim", ctypes.c_int),
                        ("batch", ctypes.c_int64), ("in_channels", ctypes.c_int64),
                        ("out_channels", ctypes.c_int64), ("groups", ctypes.c_int64)] + [
                        (f, ctypes.c_int64 * 3) for f in ("input_size", "kernel_size",
                        "stride", "pad_before", "pad_after", "dilation")]
        p = Params()
        core.gconv_params_init(ctypes.byref(p), 2)
        p.in_channels = p.out_channels = p.groups = 8
        p.input_size[0] = p.input_size[1] = 6
        p.kernel_size[0] = p.kernel_size[1] = 3
        w = np.ones(8 * 9, np.float32)
        b = np.ones(8, np.float32)
        fptr = ctypes.POINTER(ctypes.c_float)
        def create():
            plan = ctypes.c_void_p(1)
            st = core.gconv_plan_create_f32(ctypes.byref(p), w.ctypes.data_as(fptr), 72,
                                            b.ctypes.data_as(fptr), 8, ctypes.byref(plan))
            return st, plan
        assert arm(tag, 0) > 0, "the shim did not find the extension"
        st, plan = create()
        points = calls()
        shim.failmalloc_disarm()
        assert st == 0
        core.gconv_plan_destroy(plan)
        for k in range(1, points + 1):
            arm(tag, k)
            st, plan = create()
            shim.failmalloc_disarm()
            report["plan"].append([k, st, plan.value is None])

        # one-shot calls through Python
        rng = np.random.default_rng(0)
        shapes = [((2, 32, 9, 9), (32, 1, 3, 3), 32, 1), ((1, 64, 14, 14), (64, 2, 3, 3), 32, 1),
                  ((1, 64, 8, 8), (128, 16, 3, 3), 4, 1), ((2, 128, 7, 7), (64, 32, 1, 1), 4, 0)]
        for dtype in ("float32", "float64"):
            for xs, ws, g, pad in shapes:
                x = rng.standard_normal(xs).astype(dtype)
                wt = rng.standard_normal(ws).astype(dtype)
                ref = gconv.conv2d(x, wt, groups=g, padding=pad, backend="c", num_threads=1)
                arm(tag, 0)
                gconv.conv2d(x, wt, groups=g, padding=pad, backend="c", num_threads=1)
                points = calls()
                shim.failmalloc_disarm()
                results = []
                for k in range(1, points + 1):
                    arm(tag, k)
                    try:
                        gconv.conv2d(x, wt, groups=g, padding=pad, backend="c",
                                     num_threads=1)
                        results.append("no error")
                    except MemoryError:
                        results.append("MemoryError")
                    shim.failmalloc_disarm()
                    again = gconv.conv2d(x, wt, groups=g, padding=pad, backend="c",
                                         num_threads=1)
                    results.append(bool(np.array_equal(again, ref)))
                report["oneshot"][f"{dtype} {xs} {ws}"] = results
        print(json.dumps(report))
    """
    r = _run_python(script, {"LD_PRELOAD": shim})
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["plan"], "plan creation made no allocation to fail"
    for k, status, plan_null in report["plan"]:
        assert status == 8 and plan_null, f"allocation {k}: status {status}"
    for name, results in report["oneshot"].items():
        # pairs: the failed call, then a clean call equal to the reference
        assert all(r == "MemoryError" for r in results[::2]), (name, results)
        assert all(r is True for r in results[1::2]), (name, results)


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _main_paths(rng):
    """One round of the main paths: every backend, nd, dtype, bias, modes,
    a layer, unbatched input, tensors, and the error paths."""
    for backend in BACKENDS:
        for nd, dtype in itertools.product((1, 2, 3), ("float32", "float64")):
            x = rng.standard_normal((2, 8) + (6,) * nd).astype(dtype)
            w = rng.standard_normal((8, 2) + (3,) * nd).astype(dtype)
            b = rng.standard_normal(8).astype(dtype)
            FUNCS[nd](x, w, b, padding=1, groups=4, backend=backend)
            FUNCS[nd](x[0], w, None, stride=2, groups=4, padding_mode="reflect",
                      padding=1, backend=backend)
            with pytest.raises(gconv.GroupsError):
                FUNCS[nd](x, w, groups=3, backend=backend)
            with pytest.raises(gconv.ShapeError):
                FUNCS[nd](x, w, groups=4, padding=2**62, backend=backend)
            with pytest.raises(TypeError):
                FUNCS[nd](x.astype(np.int32), w, groups=4, backend=backend)
        if torch is not None:
            t = torch.from_numpy(rng.standard_normal((1, 4, 8, 8)).astype(np.float32))
            gconv.conv2d(t, torch.ones(4, 1, 3, 3), groups=4, backend=backend)
    layer = gconv.Conv2d(8, 8, 3, padding=1, groups=2, seed=0)
    layer(rng.standard_normal((1, 8, 7, 7)).astype(np.float32))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_repeated_calls_do_not_leak():
    """Python objects (tracemalloc, which also sees NumPy's data) and process
    memory (RSS) stay flat over many rounds of the main paths, error paths
    included, after a warm-up."""
    rng = np.random.default_rng(0)
    for _ in range(5):
        _main_paths(rng)
    gc.collect()
    tracemalloc.start()
    rss0 = _rss()
    before = tracemalloc.take_snapshot()
    for _ in range(40):
        _main_paths(rng)
    gc.collect()
    after = tracemalloc.take_snapshot()
    rss1 = _rss()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename") if s.size_diff > 0)
    assert grown < 256 * 1024, [str(s) for s in after.compare_to(before, "lineno")[:10]]
    assert rss1 - rss0 < 16 * 2**20, f"RSS grew by {(rss1 - rss0) / 2**20:.1f} MiB"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_c_core_does_not_leak_weight_sized_buffers():
    """A layer with 2.4 MB of weights, 150 calls: a weight-sized buffer (a
    packed copy, a scratch area) leaked per call would add 350 MB."""
    if "c" not in BACKENDS:
        pytest.skip("the compiled core is not available")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 256, 4, 4)).astype(np.float32)
    w = rng.standard_normal((256, 256, 3, 3)).astype(np.float32)
    for _ in range(10):
        gconv.conv2d(x, w, padding=1, backend="c")
    gc.collect()
    rss0 = _rss()
    for _ in range(150):
        gconv.conv2d(x, w, padding=1, backend="c")
    gc.collect()
    assert _rss() - rss0 < 32 * 2**20, f"RSS grew by {(_rss() - rss0) / 2**20:.1f} MiB"


# ---- concurrency ---------------------------------------------------------------------

def _jobs():
    rng = np.random.default_rng(3)
    jobs = []
    specs = [
        (2, (2, 32, 14, 14), (32, 1, 3, 3), 32, 1, 1),
        (2, (1, 64, 12, 12), (128, 8, 3, 3), 8, 1, 2),
        (2, (3, 16, 9, 11), (16, 4, 1, 1), 4, 0, 1),
        (1, (4, 24, 101), (48, 8, 5), 3, 2, 3),
        (3, (1, 8, 5, 6, 7), (16, 2, 3, 3, 3), 4, 1, 1),
        (2, (1, 12, 16, 16), (12, 12, 3, 3), 1, "same", 1),
    ]
    for nd, xs, ws, g, pad, stride in specs:
        for dtype in ("float32", "float64"):
            x = rng.standard_normal(xs).astype(dtype)
            w = rng.standard_normal(ws).astype(dtype)
            b = rng.standard_normal(ws[0]).astype(dtype)
            kwargs = dict(groups=g, padding=pad)
            if pad != "same":
                kwargs["stride"] = stride
            jobs.append((nd, x, w, b, kwargs))
    return jobs


def test_threads_calling_every_backend_at_once_match_serial_calls():
    jobs = _jobs()
    serial = {}
    for i, (nd, x, w, b, kw) in enumerate(jobs):
        for backend in BACKENDS:
            serial[i, backend] = _np(FUNCS[nd](x, w, b, backend=backend, num_threads=1,
                                               **kw)).copy()
    tasks = [(i, backend, threads)
             for i in range(len(jobs)) for backend in BACKENDS for threads in (None, 1, 2, 3)]
    errors = []

    def worker(wid):
        order = tasks[wid::3] + tasks[:wid:5]
        for r, (i, backend, threads) in enumerate(order):
            nd, x, w, b, kw = jobs[i]
            try:
                if r % 2:
                    with gconv.use_backend(backend):
                        got = FUNCS[nd](x, w, b, num_threads=threads, **kw)
                else:
                    got = FUNCS[nd](x, w, b, backend=backend, num_threads=threads, **kw)
                got = _np(got)
                ref = serial[i, backend]
                if backend == "c":
                    ok = np.array_equal(got, ref)        # bitwise, any thread count
                else:
                    tol = 1e-5 if got.dtype == np.float32 else 1e-12
                    ok = np.allclose(got, ref, rtol=tol, atol=tol)
                if not ok:
                    errors.append(f"worker {wid}: job {i} on {backend} with {threads} "
                                  "threads differs from the serial call")
            except Exception as exc:  # noqa: BLE001
                errors.append(f"worker {wid}: {exc!r}")

    workers = [threading.Thread(target=worker, args=(k,)) for k in range(12)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in workers), "a call hung"
    assert not errors, errors[:10]


def test_backend_choice_is_per_thread(monkeypatch):
    """use_backend in one thread never leaks into another running at the same
    time (recorded at the backends themselves)."""
    from gconv._backends import REGISTRY
    seen = {}
    lock = threading.Lock()
    for name in BACKENDS:
        backend = REGISTRY[name]
        original = backend.run

        def run(conv, x, w, b, n, _orig=original, _name=name):
            with lock:
                seen.setdefault(threading.get_ident(), set()).add(_name)
            return _orig(conv, x, w, b, n)

        monkeypatch.setattr(backend, "run", run)
    x = np.ones((1, 4, 6, 6), np.float32)
    w = np.ones((4, 1, 3, 3), np.float32)
    barrier = threading.Barrier(len(BACKENDS) * 2)
    wanted = {}

    def worker(name):
        wanted[threading.get_ident()] = name
        with gconv.use_backend(name):
            barrier.wait()
            for _ in range(20):
                gconv.conv2d(x, w, groups=4, padding=1)

    threads = [threading.Thread(target=worker, args=(name,)) for name in BACKENDS * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for ident, names in seen.items():
        assert names == {wanted[ident]}, (wanted[ident], names)


def test_changing_the_default_thread_count_while_calling():
    if "c" not in BACKENDS:
        pytest.skip("the compiled core is not available")
    nd, x, w, b, kw = _jobs()[1]
    ref = gconv.conv2d(x, w, b, backend="c", num_threads=1, **kw)
    old = gconv.get_num_threads()
    stop = threading.Event()
    errors = []

    def toggler():
        n = 0
        while not stop.is_set():
            gconv.set_num_threads(1 + n % 4)
            n += 1

    def caller():
        for _ in range(15):
            got = gconv.conv2d(x, w, b, backend="c", **kw)
            if not np.array_equal(got, ref):
                errors.append("result changed with the thread count")

    t0 = threading.Thread(target=toggler)
    callers = [threading.Thread(target=caller) for _ in range(4)]
    t0.start()
    for t in callers:
        t.start()
    for t in callers:
        t.join(timeout=120)
    stop.set()
    t0.join()
    gconv.set_num_threads(old)
    assert not errors
