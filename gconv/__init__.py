"""gconv: grouped convolution over interchangeable backends.

One API (``conv1d``, ``conv2d``, ``conv3d`` and the layers ``Conv1d``,
``Conv2d``, ``Conv3d``) over a compiled C core ("c"), NumPy ("numpy") and
PyTorch ("torch"), with one validation gate that rejects invalid
configurations identically whatever the backend.
"""

from ._api import conv1d, conv2d, conv3d
from ._config import config, get_include, get_library_dir, show_config
from ._dispatch import available_backends, backends, use_backend
from ._errors import BackendError, GroupsError, ShapeError
from ._gate import check_groups, valid_groups
from ._threads import get_num_threads, set_num_threads
from ._version import __version__
from .layers import Conv1d, Conv2d, Conv3d

__all__ = [
    "conv1d", "conv2d", "conv3d", "Conv1d", "Conv2d", "Conv3d",
    "check_groups", "valid_groups", "GroupsError", "ShapeError", "BackendError",
    "available_backends", "backends", "use_backend",
    "set_num_threads", "get_num_threads", "config", "show_config", "get_include",
    "get_library_dir", "__version__",
]
