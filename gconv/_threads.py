"""The thread count the C backend uses when a call does not name one."""

import os
import threading

from ._gate import check_num_threads

__all__ = ["set_num_threads", "get_num_threads", "resolve_num_threads"]

_lock = threading.Lock()
_default = None


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _from_environment():
    for var in ("GCONV_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").split(",")[0].strip()
        if value:
            try:
                n = int(value)
            except ValueError:
                continue
            if n >= 1:
                return n
    return _cores()


def set_num_threads(n):
    """Sets the library default thread count (process-wide)."""
    global _default
    n = check_num_threads(n)
    with _lock:
        _default = n


def get_num_threads():
    """The library default thread count: set_num_threads(), else
    GCONV_NUM_THREADS, else OMP_NUM_THREADS, else the usable cores."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = _from_environment()
    return _default


def resolve_num_threads(num_threads):
    """The thread count for one call."""
    if num_threads is None:
        return get_num_threads()
    return check_num_threads(num_threads)
