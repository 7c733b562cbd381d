"""The "torch" backend: torch.nn.functional.convNd, on any device."""

import contextlib
import importlib
import threading

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
            if x.is_cuda and x.dtype == self._torch.float32:
                with _ieee_float32(self._torch):
                    out = self._convolve(conv, x, w, b)
            else:
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


_tf32_lock = threading.Lock()
_tf32_users = 0
_tf32_saved = None


@contextlib.contextmanager
def _ieee_float32(torch):
    """cuDNN convolutions in IEEE float32 within the block.  By default torch
    lets cuDNN round float32 operands to TF32 (10-bit mantissa) on Ampere and
    later GPUs, errors near 1e-3 that no other backend has.  The setting is
    process-wide: the first of gconv's calls in flight saves it, the last
    puts it back."""
    global _tf32_users, _tf32_saved
    cudnn = torch.backends.cudnn
    conv = getattr(cudnn, "conv", None)
    new_api = conv is not None and hasattr(conv, "fp32_precision")
    with _tf32_lock:
        if _tf32_users == 0:
            # never read the legacy flag where the new one exists: torch
            # raises when the two were mixed
            if new_api:
                _tf32_saved = conv.fp32_precision
                conv.fp32_precision = "ieee"
            else:
                _tf32_saved = cudnn.allow_tf32
                cudnn.allow_tf32 = False
        _tf32_users += 1
    try:
        yield
    finally:
        with _tf32_lock:
            _tf32_users -= 1
            if _tf32_users == 0:
                if new_api:
                    conv.fp32_precision = _tf32_saved
                else:
                    cudnn.allow_tf32 = _tf32_saved


def _out_of_memory(torch, exc):
    """Whether a RuntimeError from torch is an allocation failure."""
    oom = getattr(torch, "OutOfMemoryError", None)
    if oom is not None and isinstance(exc, oom):
        return True
    text = str(exc)
    return "can't allocate memory" in text or "not enough memory" in text
