"""Real-network grouped and depthwise layers, on every backend.

Parameters: backend (gconv's ``backend=``: "c", "numpy", "torch"; the torch
backend is torch.nn.functional underneath, on the same NumPy arrays),
layer (the names of shapes.json), batch (1, 8) and dtype. Threads: gconv's
default (GCONV_NUM_THREADS, else OMP_NUM_THREADS, else all cores).
"""

import statistics
import time

from .common import BACKENDS, LAYER_NAMES, LAYERS, conv_function, make_case, require_backend


def _samples(measure):
    """measure() repeated at least 3 times and for 0.1 s (at most 50 times):
    the values, for a median."""
    values = []
    start = time.perf_counter()
    while len(values) < 3 or (time.perf_counter() - start < 0.1 and len(values) < 50):
        values.append(measure())
    return values


class _Layer:
    """Builds the arrays and makes one (untimed) call in setup: it warms the
    caches and fails early on a wrong result shape."""

    def setup(self, backend, layer, batch, dtype):
        require_backend(backend)
        x, w, b, kwargs, flops = make_case(layer, batch, dtype)
        fn = conv_function(LAYERS[layer]["ndim"])
        self.flops = flops

        def call():
            return fn(x, w, b, backend=backend, **kwargs)

        self.call = call
        out = call()
        if out.shape[:2] != (batch, w.shape[0]):
            raise AssertionError(f"output shape {out.shape} for layer {layer}")


class Layers(_Layer):
    params = [BACKENDS, LAYER_NAMES, [1, 8], ["float32", "float64"]]
    param_names = ["backend", "layer", "batch", "dtype"]
    # One call per sample, up to 5 samples or 1 s; asv runs two rounds in
    # separate processes. Enough for the regressions this suite is for
    # (10 % and up), and the whole suite stays within minutes.
    number = 1
    repeat = (1, 5, 1.0)
    warmup_time = 0.0
    timeout = 240

    def time_conv(self, backend, layer, batch, dtype):
        self.call()


class LayersThroughput(_Layer):
    """GFLOP/s, float32 (time_conv has float64 too). asv counts every rise of
    a track_ benchmark as "worse": here a rise means gconv got faster."""

    params = [BACKENDS, LAYER_NAMES, [1, 8], ["float32"]]
    param_names = ["backend", "layer", "batch", "dtype"]
    timeout = 240

    def track_gflops(self, backend, layer, batch, dtype):
        """The layer's FLOPs (2 per multiply-add) over the median time of at
        least 3 calls and 0.1 s."""
        def seconds():
            t0 = time.perf_counter()
            self.call()
            return time.perf_counter() - t0

        return self.flops / statistics.median(_samples(seconds)) / 1e9

    track_gflops.unit = "GFLOP/s"


class LayersMemory(_Layer):
    """Peak resident memory of a process that holds the layer's arrays and
    has made two calls: the extra memory a backend needs per call (im2col
    buffers, packed weights, scratch) shows on top of the arrays, which are
    the same for every backend. float32 only: float64 doubles everything."""

    params = [BACKENDS, LAYER_NAMES, [1, 8], ["float32"]]
    param_names = ["backend", "layer", "batch", "dtype"]
    timeout = 240

    def peakmem_conv(self, backend, layer, batch, dtype):
        self.call()


class LayersFloat64Share(_Layer):
    """float64's throughput as a share of float32's on the same backend: the
    two dtypes alternated call by call in one process (so both find the
    same caches and machine state), the median of the per-round ratios
    float32 time / float64 time. 0.5 is what twice the bytes and half the
    vector lanes allow at best on compute- and memory-bound layers alike.
    As with track_gflops, asv calls a rise "worse": here a rise is better."""

    params = [BACKENDS, LAYER_NAMES, [1, 8]]
    param_names = ["backend", "layer", "batch"]
    timeout = 240

    def setup(self, backend, layer, batch):
        self.calls = {}
        for dtype in ("float32", "float64"):
            super().setup(backend, layer, batch, dtype)
            self.calls[dtype] = self.call

    def track_f64_share(self, backend, layer, batch):
        """At least 3 rounds and 0.1 s."""
        rounds = 0

        def ratio():
            nonlocal rounds
            order = ("float32", "float64") if rounds % 2 == 0 else ("float64", "float32")
            rounds += 1
            seconds = {}
            for dtype in order:
                t0 = time.perf_counter()
                self.calls[dtype]()
                seconds[dtype] = time.perf_counter() - t0
            return seconds["float32"] / seconds["float64"]

        return statistics.median(_samples(ratio))

    track_f64_share.unit = "float64 / float32 throughput"
