"""The "numpy" backend: the portable reference, vectorised with NumPy.

No Python loop runs over pixels.  The kernel taps of a cache-sized block of
groups (all batch items at once) are gathered into columns, one strided copy per tap,
and contracted with the weight in one batched matrix product per block
(for depthwise layers a batch of matrix-vector products).  A 1x1 layer with
stride 1 and no padding needs no gathering at all.
"""

import itertools
import math

import numpy as np

from .. import _arrays
from ._base import Backend
from ._padding import pad_numpy

#: Bytes the gathered columns of one block of groups should take.
COLUMN_BUDGET = 4 * 2**20


class NumpyBackend(Backend):
    name = "numpy"

    def unavailable(self):
        return None

    def run(self, conv, x, w, b, num_threads):
        # Contiguous, native operands whatever the caller's layout: NumPy's
        # matmul takes BLAS or its own loop depending on the strides, which
        # round differently, and results must not depend on the layout.
        x = _arrays.native_contiguous(_arrays.to_numpy(x))
        if conv.batch == 0:
            return np.empty(conv.out_shape, dtype=x.dtype)
        w = _arrays.native_contiguous(_arrays.to_numpy(w))
        x, pad_before, pad_after = pad_numpy(conv, x)
        x = _zero_pad(x, pad_before, pad_after)
        # inf and nan propagate as IEEE says, silently as in the other backends
        with np.errstate(all="ignore"):
            out = _gathered(conv, x, w)
            if b is not None:
                b = _arrays.to_numpy(b)
                out += b.reshape((conv.out_channels,) + (1,) * conv.nd)
        return out


def _zero_pad(x, pad_before, pad_after):
    """x (native byte order) with zeros around its spatial dimensions."""
    if not any(pad_before) and not any(pad_after):
        return x if x.dtype.isnative else x.astype(x.dtype.newbyteorder("="))
    padded = tuple(n + pb + pa for n, pb, pa in zip(x.shape[2:], pad_before, pad_after))
    try:
        xp = np.zeros(x.shape[:2] + padded, dtype=x.dtype.newbyteorder("="))
    except ValueError:
        # NumPy's "array is too big": more bytes than the address space holds
        raise MemoryError(f"the numpy backend pads the input explicitly, and a "
                          f"padded input of shape {x.shape[:2] + padded} does not "
                          "fit in memory") from None
    inner = tuple(slice(pb, pb + n) for pb, n in zip(pad_before, x.shape[2:]))
    xp[(slice(None), slice(None)) + inner] = x
    return xp


def _taps(conv):
    """For each kernel tap (in weight order), the slices of the padded input
    that the outputs read."""
    for tap in itertools.product(*(range(k) for k in conv.kernel)):
        yield tuple(slice(t * dl, t * dl + s * (o - 1) + 1, s)
                    for t, dl, s, o in zip(tap, conv.dilation, conv.stride,
                                           conv.out_size))


def _gathered(conv, x, w):
    """Gather the kernel taps of a block of groups (all batch items) into
    columns and contract them with the weight in one batched matrix product
    per block; blocks are sized so their columns stay cache-sized."""
    n, groups = conv.batch, conv.groups
    cg, og = conv.cin_per_group, conv.cout_per_group
    taps = math.prod(conv.kernel)
    pixels = math.prod(conv.out_size)
    wm = w.reshape(groups, og, cg * taps)
    xg = x.reshape((n, groups, cg) + x.shape[2:])
    out = np.empty((n, groups, og, pixels), dtype=x.dtype)
    if taps == 1 and all(s == 1 for s in conv.stride) and xg.shape[3:] == conv.out_size:
        np.matmul(wm, xg.reshape(n, groups, cg, pixels), out=out)
        return out.reshape(conv.out_shape)
    per_group = n * cg * taps * pixels * x.itemsize
    gblock = max(1, min(groups, COLUMN_BUDGET // max(per_group, 1)))
    tap_slices = list(_taps(conv))
    cols = np.empty((n, gblock, cg, taps) + conv.out_size, dtype=x.dtype)
    for g0 in range(0, groups, gblock):
        g1 = min(groups, g0 + gblock)
        c = cols[:, :g1 - g0]
        part = xg[:, g0:g1]
        for t, sl in enumerate(tap_slices):
            c[:, :, :, t] = part[(slice(None),) * 3 + sl]
        np.matmul(wm[g0:g1], c.reshape(n, g1 - g0, cg * taps, pixels),
                  out=out[:, g0:g1])
    return out.reshape(conv.out_shape)
