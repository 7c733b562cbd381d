"""The "c" backend: the compiled C core (csrc/) through the Cython wrapper."""

import math
import os

import numpy as np

from .. import _arrays
from .._threads import _cores
from ._base import Backend
from ._padding import pad_numpy

#: The most threads one call starts.  Results do not depend on the thread
#: count, and more threads than a few per core only add overhead, while an
#: absurd request (num_threads=100000) would exhaust the process's threads
#: inside OpenMP, which cannot report that as an error.
MAX_THREADS = max(64, 4 * _cores())

_CACHE_LINE = 64
#: Outputs from this size on start on a cache line; for smaller ones the
#: extra view would cost more than the alignment saves.
_ALIGN_FROM_BYTES = 1 << 16
#: Outputs from this size on come from the core's pool of output blocks
#: (see _empty): glibc maps every allocation above 32 MB anew.
_POOL_FROM_BYTES = 32 << 20


def _in_source_tree():
    """Whether this package lives in a source checkout (next to setup.py)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.exists(os.path.join(os.path.dirname(package), "setup.py"))


class CBackend(Backend):
    name = "c"

    def __init__(self):
        self._core = None
        self._reason = None

    def unavailable(self):
        if self._core is None and self._reason is None:
            try:
                from .. import _ccore
            except ImportError as exc:
                self._reason = f"the compiled core could not be imported ({exc})"
                if _in_source_tree():
                    self._reason += (
                        "; gconv is being imported from its source tree, where the "
                        "core is not built: build it there (pip install -e . or "
                        "python setup.py build_ext --inplace) or run from another "
                        "directory")
            else:
                self._core = _ccore
        return self._reason

    def _empty(self, shape, dtype):
        """np.empty(shape, dtype), starting on a cache line when it is large.

        Large NumPy arrays start 16 bytes past a page boundary.  The kernels
        store large outputs past the caches (streaming stores), which they
        can do only where a vector is a whole cache line; an output that
        straddles lines goes through the caches instead, costing up to a
        sixth of the call on memory-bound float64 layers.

        Outputs of 32 MB and more take a block of the core's output pool
        (_ccore.output_buffer): the memory of a recent output whose arrays
        are gone, when one fits.  glibc maps each allocation that large
        anew, so that the operating system zeroes and maps fresh pages on
        every call: a 1-D depthwise layer with a 33.5 MB output took 3.5 ms
        a call that way, 1.8 ms with the pool.  The pool keeps at most two
        blocks, 256 MB in all, and never the memory of an array still in
        use.  Smaller outputs stay with malloc, which reuses freed memory
        by itself, also for other libraries' arrays: pooled 14 MB outputs
        made a memory-bound layer alternated with PyTorch 40 % slower (its
        memory and PyTorch's no longer shared the caches)."""
        nbytes = dtype.itemsize * math.prod(shape)
        if nbytes < _ALIGN_FROM_BYTES:
            return np.empty(shape, dtype)
        if nbytes >= _POOL_FROM_BYTES:
            return np.ndarray(shape, dtype, self._core.output_buffer(nbytes))
        raw = np.empty(nbytes + _CACHE_LINE, np.uint8)
        start = self._core.bytes_to_alignment(raw, _CACHE_LINE)
        return np.ndarray(shape, dtype, raw, start)

    def run(self, conv, x, w, b, num_threads):
        x = _arrays.to_numpy(x)
        if conv.batch == 0:   # nothing to compute, and no copy of a weight view
            return np.empty(conv.out_shape, dtype=x.dtype.newbyteorder("="))
        x, pad_before, pad_after = pad_numpy(conv, x)
        x = _arrays.native_contiguous(x)
        w = _arrays.native_contiguous(_arrays.to_numpy(w))
        if b is not None:
            b = _arrays.native_contiguous(_arrays.to_numpy(b))
        out = self._empty(conv.out_shape, x.dtype)
        self._core.conv(x, w, b, out, conv.nd, conv.batch, conv.in_channels, conv.out_channels,
                        conv.groups, x.shape[2:], conv.kernel, conv.stride,
                        pad_before, pad_after, conv.dilation,
                        min(num_threads, MAX_THREADS))
        return out
