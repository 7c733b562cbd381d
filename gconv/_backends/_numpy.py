"""The "numpy" backend: the portable reference, vectorised with NumPy.

No Python loop runs over pixels or batch items.  Depthwise layers (one input
channel per group) are a sum of shifted, scaled views of the input, one per
kernel tap.  Other layers gather the taps of a chunk of the batch into
columns (im2col) and contract them with the weight in one batched matrix
product per chunk.
"""

import itertools
import math

import numpy as np

from .. import _arrays
from ._base import Backend
from ._padding import pad_numpy

#: Bytes the gathered columns of one batch chunk may take.
COLUMN_BUDGET = 64 * 2**20


class NumpyBackend(Backend):
    name = "numpy"

    def unavailable(self):
        return None

    def run(self, conv, x, w, b, num_threads):
        # Contiguous, native operands whatever the caller's layout: NumPy's
        # matmul takes BLAS or its own loop depending on the strides, which
        # round differently, and results must not depend on the layout.
        x = _arrays.native_contiguous(_arrays.to_numpy(x))
        w = _arrays.native_contiguous(_arrays.to_numpy(w))
        x, pad_before, pad_after = pad_numpy(conv, x)
        x = _zero_pad(x, pad_before, pad_after)
        # inf and nan propagate as IEEE says, silently as in the other backends
        with np.errstate(all="ignore"):
            if conv.batch == 0:
                out = np.empty(conv.out_shape, dtype=x.dtype)
            elif conv.cin_per_group == 1:
                out = _depthwise(conv, x, w)
            else:
                out = _im2col(conv, x, w)
            if b is not None:
                b = _arrays.to_numpy(b)
                out += b.reshape((conv.out_channels,) + (1,) * conv.nd)
        return out


def _zero_pad(x, pad_before, pad_after):
    """x (native byte order) with zeros around its spatial dimensions."""
    if not any(pad_before) and not any(pad_after):
        return x if x.dtype.isnative else x.astype(x.dtype.newbyteorder("="))
    padded = tuple(n + pb + pa for n, pb, pa in zip(x.shape[2:], pad_before, pad_after))
    xp = np.zeros(x.shape[:2] + padded, dtype=x.dtype.newbyteorder("="))
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


def _depthwise(conv, x, w):
    """One input channel per group: out[n, g, j] = sum over taps of
    w[g, j, tap] * (shifted view of x[n, g])."""
    n, groups, mult = conv.batch, conv.groups, conv.cout_per_group
    xg = x.reshape((n, groups, 1) + x.shape[2:])
    wk = w.reshape(groups, mult, -1)
    ones = (1,) * conv.nd
    out = np.empty((n, groups, mult) + conv.out_size, dtype=x.dtype)
    tmp = np.empty_like(out)
    everything = (slice(None),) * 3
    for t, sl in enumerate(_taps(conv)):
        view = xg[everything + sl]
        scale = wk[:, :, t].reshape((groups, mult) + ones)
        if t == 0:
            np.multiply(view, scale, out=out)
        else:
            np.multiply(view, scale, out=tmp)
            out += tmp
    return out.reshape(conv.out_shape)


def _im2col(conv, x, w):
    """Several input channels per group: gather the taps into columns and
    contract them with the weight, a chunk of the batch at a time."""
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
    per_item = groups * cg * taps * pixels * x.itemsize
    chunk = max(1, COLUMN_BUDGET // max(per_item, 1))
    everything = (slice(None),) * 3
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        cols = np.empty((stop - start, groups, cg, taps) + conv.out_size, dtype=x.dtype)
        part = xg[start:stop]
        for t, sl in enumerate(_taps(conv)):
            cols[:, :, :, t] = part[everything + sl]
        np.matmul(wm, cols.reshape(stop - start, groups, cg * taps, pixels),
                  out=out[start:stop])
    return out.reshape(conv.out_shape)
