"""The functional API: conv1d, conv2d, conv3d."""

import numpy as np

from . import _arrays
from ._dispatch import choose
from ._gate import check_conv
from ._threads import resolve_num_threads

__all__ = ["conv1d", "conv2d", "conv3d"]


def _convolve(nd, name, input, weight, bias, stride, padding, dilation, groups,
              padding_mode, backend, num_threads):
    conv, x, w, b = check_conv(nd, input, weight, bias, stride, padding, dilation,
                               groups, padding_mode, name)
    threads = resolve_num_threads(num_threads)
    out = choose(backend, input).run(conv, x, w, b, threads)
    if _arrays.is_tensor(input):
        if not _arrays.is_tensor(out):
            out = _arrays.to_tensor(out, like=input)
    elif not isinstance(out, np.ndarray):
        out = _arrays.to_numpy(out)
    return out if conv.batched else out[0]


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros", backend=None, num_threads=None):
    """1-D grouped convolution, as ``torch.nn.functional.conv1d``.

    ``input`` is ``(N, C_in, L)`` or ``(C_in, L)``, ``weight``
    ``(C_out, C_in // groups, kL)``, ``bias`` ``(C_out,)`` or None.  See
    ``conv2d`` for the arguments.
    """
    return _convolve(1, "conv1d", input, weight, bias, stride, padding, dilation,
                     groups, padding_mode, backend, num_threads)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros", backend=None, num_threads=None):
    """2-D grouped convolution, as ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    input : array_like or torch.Tensor
        ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``; float32 or float64.
    weight : array_like or torch.Tensor
        ``(C_out, C_in // groups, kH, kW)``, the input's dtype.
    bias : array_like or torch.Tensor, optional
        ``(C_out,)``, the input's dtype.
    stride, dilation : int or tuple of ints
        Each >= 1.
    padding : int, tuple of ints, "valid" or "same"
        Padding on both sides of each spatial dimension; "same" (stride 1
        only) keeps the size, with any odd extra element after.
    groups : int
        Must divide ``C_in`` and ``C_out``.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
    backend : str, optional
        "c", "numpy", "torch" or "auto"; see ``gconv.use_backend``.
    num_threads : int, optional
        Threads of the C backend; default ``gconv.get_num_threads()``.

    Returns
    -------
    The output ``(N, C_out, H_out, W_out)`` (unbatched in, unbatched out), of
    the input's type and dtype.

    Raises
    ------
    GroupsError, ShapeError, TypeError, BackendError
        Before any computation, identically for every backend.
    """
    return _convolve(2, "conv2d", input, weight, bias, stride, padding, dilation,
                     groups, padding_mode, backend, num_threads)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros", backend=None, num_threads=None):
    """3-D grouped convolution, as ``torch.nn.functional.conv3d``.

    ``input`` is ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``, ``weight``
    ``(C_out, C_in // groups, kD, kH, kW)``.  See ``conv2d`` for the arguments.
    """
    return _convolve(3, "conv3d", input, weight, bias, stride, padding, dilation,
                     groups, padding_mode, backend, num_threads)
