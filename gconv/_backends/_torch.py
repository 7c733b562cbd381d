"""The "torch" backend: torch.nn.functional.convNd, on any device."""

import importlib

from .. import _arrays
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
        functional = self._torch.nn.functional
        x = _arrays.to_tensor(x)
        w = _arrays.to_tensor(w, like=x)
        if b is not None:
            b = _arrays.to_tensor(b, like=x)
        padding = conv.pad_before
        if conv.padding_mode != "zeros" or conv.pad_before != conv.pad_after:
            pads = []
            for before, after in zip(reversed(conv.pad_before), reversed(conv.pad_after)):
                pads += [before, after]
            x = functional.pad(x, pads, mode=_TORCH_PAD_MODES[conv.padding_mode])
            padding = 0
        conv_fn = (functional.conv1d, functional.conv2d, functional.conv3d)[conv.nd - 1]
        return conv_fn(x, w, b, conv.stride, padding, conv.dilation, conv.groups)
