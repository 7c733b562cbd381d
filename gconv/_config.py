"""What this installation of gconv is and does on this machine."""

from ._dispatch import backends
from ._threads import get_num_threads
from ._version import __version__

__all__ = ["config", "show_config"]


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
