"""Data and helpers shared by the benchmarks.

The layer shapes are a copy of the project's shapes.json kept inside the
suite, so every commit asv builds is measured on the same layers whatever
that commit ships. Nothing here uses gconv's private modules: only its
public API, which is the same in every version asv may build.
"""

import json
import math
import os

import numpy as np

try:
    # asv imports the suite once and forks a process per benchmark and
    # parameter set: importing torch here (when it is installed) saves every
    # torch benchmark its own import (seconds). It sits in the baseline of
    # every peakmem_ figure of such an environment alike.
    import torch  # noqa: F401
except ImportError:
    pass

#: Every backend gconv may have; the ones a build or machine lacks are
#: skipped (NotImplementedError in setup), not failed.
BACKENDS = ["c", "numpy", "torch"]

_HERE = os.path.dirname(os.path.abspath(__file__))


def _load_layers():
    with open(os.path.join(_HERE, "shapes.json")) as f:
        data = json.load(f)
    layers = {}
    for key, nd in (("conv1d", 1), ("conv2d", 2), ("conv3d", 3)):
        for layer in data.get(key, []):
            layers[layer["name"]] = dict(layer, ndim=nd)
    return layers


#: name -> layer dict (input at batch 1, out_channels, kernel, stride,
#: padding, groups, ndim), in the file's order.
LAYERS = _load_layers()
LAYER_NAMES = list(LAYERS)


def _per_dim(value, nd):
    return tuple(value) if isinstance(value, (list, tuple)) else (value,) * nd


def make_case(name, batch, dtype, seed=0):
    """(x, w, b, kwargs, flops) for one layer at a batch size and dtype."""
    layer = LAYERS[name]
    nd = layer["ndim"]
    cin, cout, groups = layer["input"][1], layer["out_channels"], layer["groups"]
    in_size = tuple(layer["input"][2:])
    kernel = _per_dim(layer["kernel"], nd)
    stride = _per_dim(layer.get("stride", 1), nd)
    padding = _per_dim(layer.get("padding", 0), nd)
    dilation = _per_dim(layer.get("dilation", 1), nd)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, cin) + in_size).astype(dtype)
    fan_in = cin // groups * math.prod(kernel)
    w = (rng.standard_normal((cout, cin // groups) + kernel) / math.sqrt(fan_in)).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    out_size = [(n + 2 * p - d * (k - 1) - 1) // s + 1
                for n, k, s, p, d in zip(in_size, kernel, stride, padding, dilation)]
    flops = 2.0 * batch * cout * (cin // groups) * math.prod(kernel) * math.prod(out_size)
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation,
              "groups": groups}
    return x, w, b, kwargs, flops


def conv_function(nd):
    import gconv
    return (gconv.conv1d, gconv.conv2d, gconv.conv3d)[nd - 1]


def require_backend(backend):
    """Raises NotImplementedError (asv: skip) unless gconv can run the backend
    here (only the backend asked about is probed)."""
    import gconv
    x = np.zeros((1, 2, 3, 3), np.float32)
    w = np.zeros((2, 1, 1, 1), np.float32)
    try:
        gconv.conv2d(x, w, groups=2, backend=backend)
    except gconv.BackendError as exc:
        raise NotImplementedError(f"backend {backend!r} unavailable: {exc}") from None
