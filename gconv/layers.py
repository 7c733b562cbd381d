"""Convolution layers that hold their weights: Conv1d, Conv2d, Conv3d."""

import math

import numpy as np

from ._api import conv1d, conv2d, conv3d
from ._gate import check_layer

__all__ = ["Conv1d", "Conv2d", "Conv3d"]


class _ConvNd:
    _nd = 0
    _function = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", *,
                 dtype="float32", seed=None, backend=None):
        kernel, stride, padding, dilation, dtype = check_layer(
            self._nd, in_channels, out_channels, kernel_size, stride, padding,
            dilation, groups, padding_mode, dtype)
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = int(groups)
        self.padding_mode = padding_mode
        self.backend = backend
        # As torch.nn.ConvNd.reset_parameters: kaiming_uniform_(a=sqrt(5)) on the
        # weight, which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same
        # bound for the bias.
        fan_in = self.in_channels // self.groups * math.prod(kernel)
        bound = 1.0 / math.sqrt(fan_in)
        rng = np.random.default_rng(seed)
        shape = (self.out_channels, self.in_channels // self.groups) + kernel
        self.weight = rng.uniform(-bound, bound, size=shape).astype(dtype)
        self.bias = (rng.uniform(-bound, bound, size=self.out_channels).astype(dtype)
                     if bias else None)

    def __call__(self, input, *, num_threads=None):
        return type(self)._function(
            input, self.weight, self.bias, self.stride, self.padding, self.dilation,
            self.groups, padding_mode=self.padding_mode, backend=self.backend,
            num_threads=num_threads)

    forward = __call__

    def __repr__(self):
        parts = [f"{self.in_channels}, {self.out_channels}",
                 f"kernel_size={self.kernel_size}", f"stride={self.stride}"]
        if self.padding not in ((0,) * self._nd, "valid"):
            parts.append(f"padding={self.padding!r}")
        if self.dilation != (1,) * self._nd:
            parts.append(f"dilation={self.dilation}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        if self.padding_mode != "zeros":
            parts.append(f"padding_mode={self.padding_mode!r}")
        parts.append(f"dtype={self.weight.dtype.name}")
        return f"{type(self).__name__}({', '.join(parts)})"


class Conv1d(_ConvNd):
    """1-D grouped convolution layer, as ``torch.nn.Conv1d``."""

    _nd = 1
    _function = staticmethod(conv1d)


class Conv2d(_ConvNd):
    """2-D grouped convolution layer, as ``torch.nn.Conv2d``.

    Validates at construction (a bad ``groups`` raises ``GroupsError`` here),
    holds ``weight`` ``(out_channels, in_channels // groups, *kernel_size)``
    and ``bias`` ``(out_channels,)`` as NumPy arrays of ``dtype``, initialised
    as PyTorch does (uniform in +-1/sqrt(fan_in)) from ``seed``, and is called
    as ``layer(x)``.
    """

    _nd = 2
    _function = staticmethod(conv2d)


class Conv3d(_ConvNd):
    """3-D grouped convolution layer, as ``torch.nn.Conv3d``."""

    _nd = 3
    _function = staticmethod(conv3d)
