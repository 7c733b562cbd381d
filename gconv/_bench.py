"""Side-by-side timing of the backends on real-network layer shapes.

Each measurement alternates the backends call by call in one process, so a
drift in the machine's speed hits all of them alike; the figure quoted is the
median, and the speed relative to PyTorch is the median of the per-round
ratios torch_time / backend_time.
"""

import json
import math
import os
import statistics
import time

import numpy as np

from ._api import conv1d, conv2d, conv3d
from ._dispatch import available_backends

__all__ = ["load_shapes", "make_case", "bench_case", "bench", "bench_dtypes", "geomean",
           "summarize", "layer_flops", "gemm_ceiling"]

_FUNCTIONS = {1: conv1d, 2: conv2d, 3: conv3d}


def load_shapes(path=None):
    """The benchmark layers: a list of dicts with name, input (batch 1),
    out_channels, kernel, stride, padding, groups (2-D unless "ndim" says)."""
    if path is None:
        path = os.path.join(os.path.dirname(__file__), "data", "shapes.json")
    with open(path) as f:
        data = json.load(f)
    shapes = []
    for key, ndim in (("conv1d", 1), ("conv2d", 2), ("conv3d", 3)):
        for layer in data.get(key, []):
            shapes.append(dict(layer, ndim=ndim))
    return shapes


def make_case(layer, batch=1, dtype="float32", seed=0):
    """(x, w, b, kwargs) for one layer at a batch size."""
    nd = layer.get("ndim", len(layer["input"]) - 2)
    rng = np.random.default_rng(seed)
    in_shape = (batch,) + tuple(layer["input"][1:])
    kernel = layer["kernel"]
    kernel = tuple(kernel) if isinstance(kernel, (list, tuple)) else (kernel,) * nd
    cin, cout, groups = in_shape[1], layer["out_channels"], layer["groups"]
    x = rng.standard_normal(in_shape, dtype=np.float64).astype(dtype)
    w = (rng.standard_normal((cout, cin // groups) + kernel) /
         math.sqrt(cin // groups * math.prod(kernel))).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    kwargs = dict(stride=layer.get("stride", 1), padding=layer.get("padding", 0),
                  dilation=layer.get("dilation", 1), groups=groups)
    return x, w, b, kwargs


def _flops(layer, batch, out_shape):
    nd = layer.get("ndim", len(layer["input"]) - 2)
    kernel = layer["kernel"]
    kvol = math.prod(kernel) if isinstance(kernel, (list, tuple)) else kernel ** nd
    cin_g = layer["input"][1] // layer["groups"]
    return 2.0 * math.prod(out_shape) * cin_g * kvol


def _callers(layer, batch, dtype, backends, threads):
    """One zero-argument callable per backend, each on its own copy of the
    data in its own array type."""
    nd = layer.get("ndim", len(layer["input"]) - 2)
    fn = _FUNCTIONS[nd]
    x, w, b, kwargs = make_case(layer, batch, dtype)
    calls = {}
    for name in backends:
        if name == "torch":
            import torch
            torch.set_num_threads(threads)
            tf = (torch.nn.functional.conv1d, torch.nn.functional.conv2d,
                  torch.nn.functional.conv3d)[nd - 1]
            xt, wt, bt = (torch.from_numpy(a.copy()) for a in (x, w, b))

            def call(tf=tf, xt=xt, wt=wt, bt=bt):
                with torch.no_grad():
                    return tf(xt, wt, bt, **kwargs)
        else:
            def call(name=name):
                return fn(x, w, b, backend=name, num_threads=threads, **kwargs)
        calls[name] = call
    return calls


def _alternate(calls, min_time, min_rounds, max_rounds):
    """Calls the zero-argument callables in turn, round after round, for at
    least min_rounds rounds and min_time seconds; ({name: [seconds]}, rounds)."""
    times = {name: [] for name in calls}
    order = list(calls.items())
    start = time.perf_counter()
    rounds = 0
    while rounds < max_rounds and (rounds < min_rounds
                                   or time.perf_counter() - start < min_time):
        # Each round starts with the next callable, so that every one
        # follows every other equally often: a thread pool still spinning
        # after its own call slows whichever call comes next.
        shift = rounds % len(order)
        for name, call in order[shift:] + order[:shift]:
            t0 = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - t0)
        rounds += 1
    return times, rounds


def bench_case(layer, batch=1, dtype="float32", backends=None, threads=None,
               min_time=0.2, min_rounds=5, max_rounds=200):
    """Times the backends on one layer; returns {backend: row} where a row has
    median seconds, GFLOP/s and (when torch ran) speed relative to torch."""
    from ._threads import get_num_threads
    threads = threads or get_num_threads()
    backends = list(backends or available_backends())
    calls = _callers(layer, batch, dtype, backends, threads)
    out_shape = None
    for call in calls.values():           # warm up (and learn the output shape)
        out = call()
        out_shape = tuple(out.shape)
    times, rounds = _alternate(calls, min_time, min_rounds, max_rounds)
    flops = _flops(layer, batch, out_shape)
    rows = {}
    for name, ts in times.items():
        med = statistics.median(ts)
        row = {"layer": layer["name"], "batch": batch, "dtype": dtype,
               "backend": name, "seconds": med, "gflops": flops / med / 1e9,
               "rounds": rounds, "threads": threads}
        if "torch" in times:
            row["vs_torch"] = statistics.median(
                t / s for t, s in zip(times["torch"], ts))
        rows[name] = row
    return rows


def bench_dtypes(layer, batch=1, backend="c", threads=None, min_time=0.2,
                 min_rounds=5, max_rounds=200):
    """Times one backend's float64 against its own float32 on one layer,
    the two alternated call by call with nothing else in between, so both
    find the caches and the machine in the same state (next to another
    backend, a float64 call follows that backend's float64 call, which can
    be far slower and evict far more than its float32 one).

    Returns a dict with the median seconds per dtype and ``f64_vs_f32``:
    the median of the per-round ratios float32 time / float64 time, which
    is float64's throughput as a share of float32's (the work is the same)."""
    from ._threads import get_num_threads
    threads = threads or get_num_threads()
    calls = {dtype: _callers(layer, batch, dtype, [backend], threads)[backend]
             for dtype in ("float32", "float64")}
    for call in calls.values():           # warm up
        call()
    times, rounds = _alternate(calls, min_time, min_rounds, max_rounds)
    return {"layer": layer["name"], "batch": batch, "backend": backend,
            "seconds_float32": statistics.median(times["float32"]),
            "seconds_float64": statistics.median(times["float64"]),
            "f64_vs_f32": statistics.median(
                a / b for a, b in zip(times["float32"], times["float64"])),
            "rounds": rounds, "threads": threads}


def bench(layers=None, batches=(1, 8), dtypes=("float32",), backends=None,
          threads=None, min_time=0.2, progress=None, min_rounds=5, max_rounds=200):
    """bench_case over layers x batches x dtypes; a flat list of rows.

    ``progress(i, n, layer, batch, dtype)``, when given, is called before
    each of the n cases."""
    layers = load_shapes() if layers is None else layers
    rows = []
    cases = [(layer, batch, dtype) for dtype in dtypes for batch in batches
             for layer in layers]
    for i, (layer, batch, dtype) in enumerate(cases):
        if progress is not None:
            progress(i, len(cases), layer, batch, dtype)
        rows.extend(bench_case(layer, batch, dtype, backends, threads,
                               min_time, min_rounds, max_rounds).values())
    return rows


def layer_flops(layer, batch=1):
    """Floating-point operations (2 per multiply-add) of one call of a layer
    at a batch size, from its geometry alone."""
    nd = layer.get("ndim", len(layer["input"]) - 2)
    out_size = []
    for d in range(nd):
        def per_dim(key, default):
            v = layer.get(key, default)
            return v[d] if isinstance(v, (list, tuple)) else v
        size = layer["input"][2 + d]
        k, s, dil = per_dim("kernel", 1), per_dim("stride", 1), per_dim("dilation", 1)
        pad = layer.get("padding", 0)
        if pad == "same":
            out_size.append(size)
            continue
        pad = 0 if pad == "valid" else per_dim("padding", 0)
        out_size.append((size + 2 * pad - dil * (k - 1) - 1) // s + 1)
    return _flops(layer, batch, (batch, layer["out_channels"]) + tuple(out_size))


def gemm_ceiling(dtype="float32", n=2048, min_time=0.5, min_rounds=5):
    """GFLOP/s of NumPy's matrix multiply (its BLAS, with the BLAS's own
    thread count) on two n x n matrices: the practical compute ceiling of
    the machine that layers with many channels per group are measured
    against.  The median over repeated calls."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype)
    np.matmul(a, b, out=out)               # warm up the BLAS threads
    times = []
    start = time.perf_counter()
    while len(times) < min_rounds or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        np.matmul(a, b, out=out)
        times.append(time.perf_counter() - t0)
    return 2.0 * n ** 3 / statistics.median(times) / 1e9


def geomean(values):
    """The geometric mean of positive numbers (None when there are none)."""
    values = [v for v in values if v is not None and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def summarize(rows):
    """Geometric means of GFLOP/s and of the speed relative to torch, per
    (batch, dtype, backend): a list of dicts in first-seen order."""
    groups = {}
    for row in rows:
        key = (row["batch"], row["dtype"], row["backend"])
        groups.setdefault(key, []).append(row)
    out = []
    for (batch, dtype, backend), members in groups.items():
        out.append({"batch": batch, "dtype": dtype, "backend": backend,
                    "layers": len(members),
                    "gflops": geomean(r["gflops"] for r in members),
                    "vs_torch": geomean(r.get("vs_torch") for r in members)})
    return out
