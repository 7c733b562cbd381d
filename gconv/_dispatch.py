"""Which backend runs a call: the ``backend=`` argument, else the innermost
``use_backend`` block, else ``GCONV_BACKEND``, else "auto"."""

import contextlib
import contextvars
import os

from . import _arrays
from ._backends import REGISTRY
from ._errors import BackendError

__all__ = ["choose", "use_backend", "available_backends", "backends"]

_context = contextvars.ContextVar("gconv_backend", default=None)


def backends():
    """Every known backend mapped to None when usable here, else the reason
    it is not."""
    return {name: b.unavailable() for name, b in REGISTRY.items()}


def available_backends():
    """Names of the backends usable here."""
    return [name for name, b in REGISTRY.items() if b.unavailable() is None]


def _unusable(name, reason):
    status = backends()
    usable = [n for n, r in status.items() if r is None]
    others = "; ".join(f"{n}: {r}" for n, r in status.items() if r is not None)
    msg = f"{reason}. Available backends: {usable}"
    if others:
        msg += f"; not available here: {others}"
    return BackendError(msg)


def _lookup(name, origin):
    """The backend called name (not "auto"), or BackendError."""
    if not isinstance(name, str):
        raise BackendError(f"{origin} must be a backend name (a string), got "
                           f"{type(name).__name__}")
    backend = REGISTRY.get(name)
    if backend is None:
        raise _unusable(name, f"unknown backend {name!r} ({origin}); known backends "
                        f"are {list(REGISTRY) + ['auto']}")
    reason = backend.unavailable()
    if reason is not None:
        raise _unusable(name, f"backend {name!r} ({origin}) is not available here: "
                        f"{reason}")
    return backend


def _auto(x):
    if _arrays.is_tensor(x) and x.device.type != "cpu":
        return _lookup("torch", "auto for a tensor on " + str(x.device))
    for name in ("c", "numpy"):
        backend = REGISTRY[name]
        if backend.unavailable() is None:
            return backend
    raise _unusable("auto", "no backend is available")


def choose(backend, x):
    """The backend object for a call whose input is x."""
    if backend is not None:
        origin = "backend= argument"
    else:
        backend = _context.get()
        origin = "use_backend()"
        if backend is None:
            backend = os.environ.get("GCONV_BACKEND") or "auto"
            origin = "GCONV_BACKEND"
    if backend == "auto":
        return _auto(x)
    return _lookup(backend, origin)


@contextlib.contextmanager
def use_backend(name):
    """Within the block (this thread or task only), calls without a backend=
    argument use backend ``name`` ("auto" restores the automatic choice)."""
    if name != "auto":
        _lookup(name, "use_backend()")
    token = _context.set(name)
    try:
        yield
    finally:
        _context.reset(token)
