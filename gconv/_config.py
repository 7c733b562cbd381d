"""What this installation of gconv is and does on this machine, and where
its C library is (for C programs: ``python -m gconv --cflags --libs``)."""

import os

from ._dispatch import backends
from ._threads import get_num_threads
from ._version import __version__

__all__ = ["config", "show_config", "get_include", "get_library_dir", "cflags", "libs"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def config():
    """A dict: version, backends (name -> None or why unavailable), and for
    the C core its version, vector path (ISA), OpenMP and thread counts."""
    info = {"version": __version__, "backends": backends(), "c_core": None}
    if info["backends"].get("c") is None:
        from . import _ccore
        info["c_core"] = {
            "version": _ccore.version(),
            "isa": _ccore.isa(),
            "openmp": _ccore.has_openmp(),
            "default_threads": get_num_threads(),
            "openmp_max_threads": _ccore.default_threads(),
        }
    return info


def show_config(file=None):
    """Prints config() in readable form (to sys.stdout by default)."""
    info = config()
    lines = [f"gconv {info['version']}", "backends:"]
    for name, reason in info["backends"].items():
        lines.append(f"  {name:<6} {'available' if reason is None else 'unavailable: ' + reason}")
    core = info["c_core"]
    if core is not None:
        lines += ["C core:",
                  f"  version      {core['version']}",
                  f"  ISA path     {core['isa']}",
                  f"  OpenMP       {'yes' if core['openmp'] else 'no (one thread)'}",
                  f"  threads      {core['default_threads']} (gconv default; "
                  f"OpenMP would use {core['openmp_max_threads']})"]
    print("\n".join(lines), file=file)


# ---- the C library that ships with the package -------------------------------

def _missing(what, path):
    return RuntimeError(
        f"this gconv ({_PACKAGE_DIR}) does not carry the C library's {what}: {path} "
        "does not exist.  Installed packages carry it on Linux; in a source "
        "checkout, build in place first (python setup.py build_ext --inplace)")


def get_include():
    """The directory holding ``gconv.h``, the C library's header (as
    ``numpy.get_include()``; compile with ``-I`` this)."""
    path = os.path.join(_PACKAGE_DIR, "include")
    if not os.path.isfile(os.path.join(path, "gconv.h")):
        raise _missing("header", os.path.join(path, "gconv.h"))
    return path


def get_library_dir():
    """The directory holding ``libgconv.so``, the C library the ``"c"``
    backend itself runs (link with ``-L`` this ``-lgconv``, and add it to the
    run-time search path, as :func:`libs` does)."""
    path = os.path.join(_PACKAGE_DIR, "lib")
    if not os.path.isfile(os.path.join(path, "libgconv.so")):
        raise _missing("shared library", os.path.join(path, "libgconv.so"))
    return path


def cflags():
    """The C compiler flags for ``#include <gconv.h>``: ``-I<include dir>``."""
    return f"-I{get_include()}"


def libs():
    """The linker flags for libgconv, with a run-time search path so the
    program finds the library without ``LD_LIBRARY_PATH``:
    ``-L<dir> -Wl,-rpath,<dir> -lgconv``."""
    path = get_library_dir()
    return f"-L{path} -Wl,-rpath,{path} -lgconv"
