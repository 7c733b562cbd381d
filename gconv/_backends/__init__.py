"""The backend registry: every backend gconv knows, by name."""

from ._base import Backend
from ._c import CBackend
from ._numpy import NumpyBackend
from ._torch import TorchBackend

__all__ = ["REGISTRY", "Backend"]

#: Every known backend by name.
REGISTRY = {b.name: b for b in (CBackend(), NumpyBackend(), TorchBackend())}
