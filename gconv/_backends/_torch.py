"""The "torch" backend: torch.nn.functional.convNd, on any device."""

import importlib

from .. import _arrays
from .._errors import BackendError
from ._base import Backend

_TORCH_PAD_MODES = {"zeros": "constant", "reflect": "reflect",
                    "replicate": "replicate", "circular": "circular"}


class TorchBackend(Backend):
    name = "torch"

    def __init__(self):
        self._torch = None
        self._reason = None

    def unavailable(self):
        if self._torch is None and self._reason is None:
            try:
                self._torch = importlib.import_module("torch")
            except ImportError as exc:
                if getattr(exc, "name", None) == "torch":
                    self._reason = "torch is not installed"
                else:
                    self._reason = f"torch could not be imported ({exc})"
        return self._reason

    def run(self, conv, x, w, b, num_threads):
        x = _arrays.to_tensor(x)
        if conv.batch == 0:   # nothing to compute, and no copy of a weight view
            return self._torch.empty(conv.out_shape, dtype=x.dtype, device=x.device)
        w = _arrays.to_tensor(w, like=x)
        if b is not None:
            b = _arrays.to_tensor(b, like=x)
        try:
            out = self._convolve(conv, x, w, b)
        except RuntimeError as exc:
            if _out_of_memory(self._torch, exc):
                raise MemoryError(f"torch could not allocate memory: {exc}") from exc
            raise BackendError(f"torch cannot compute this convolution (the gate "
                               f"accepted it): {exc}") from exc
        if tuple(out.shape) != conv.out_shape:
            # torch's own size arithmetic fails on some extreme strides and
            # paddings; never hand back a wrongly shaped result
            raise BackendError(f"torch returned shape {tuple(out.shape)} instead of "
                               f"{conv.out_shape} for this convolution")
        return out

    def _convolve(self, conv, x, w, b):
        functional = self._torch.nn.functional
        padding = conv.pad_before
        if (conv.padding_mode != "zeros" or conv.pad_before != conv.pad_after
                or (any(conv.pad_before) and not bool(self._torch.isfinite(w).all()))):
            # Explicit padding; also for an Inf/NaN weight over zero padding,
            # where some of torch's own paths skip the padding instead of
            # adding weight * 0 = NaN (the rule every backend follows).
            pads = []
            for before, after in zip(reversed(conv.pad_before), reversed(conv.pad_after)):
                pads += [before, after]
            x = functional.pad(x, pads, mode=_TORCH_PAD_MODES[conv.padding_mode])
            padding = 0
        conv_fn = (functional.conv1d, functional.conv2d, functional.conv3d)[conv.nd - 1]
        return conv_fn(x, w, b, conv.stride, padding, conv.dilation, conv.groups)


def _out_of_memory(torch, exc):
    """Whether a RuntimeError from torch is an allocation failure."""
    oom = getattr(torch, "OutOfMemoryError", None)
    if oom is not None and isinstance(exc, oom):
        return True
    text = str(exc)
    return "can't allocate memory" in text or "not enough memory" in text
