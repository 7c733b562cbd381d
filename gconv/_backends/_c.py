"""The "c" backend: the compiled C core (csrc/) through the Cython wrapper."""

import numpy as np

from .. import _arrays
from ._base import Backend
from ._padding import pad_numpy


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
            else:
                self._core = _ccore
        return self._reason

    def run(self, conv, x, w, b, num_threads):
        x = _arrays.to_numpy(x)
        x, pad_before, pad_after = pad_numpy(conv, x)
        x = _arrays.native_contiguous(x)
        w = _arrays.native_contiguous(_arrays.to_numpy(w))
        if b is not None:
            b = _arrays.native_contiguous(_arrays.to_numpy(b))
        out = np.empty(conv.out_shape, dtype=x.dtype)
        self._core.conv(x, w, b, out, conv.nd, conv.batch, conv.in_channels, conv.out_channels,
                        conv.groups, x.shape[2:], conv.kernel, conv.stride,
                        pad_before, pad_after, conv.dilation, num_threads)
        return out
