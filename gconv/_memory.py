"""Memory one convolution call needs beyond its input and output arrays.

For each backend a child process (so that one backend's imports and caches
do not count against another) builds the benchmark case, calls it until its
libraries and thread pools are warm, gives freed heap memory back to the
system, resets the kernel's peak-resident-set counter (Linux:
/proc/self/clear_refs) and makes one more call.  What the call needed on top
of what the process already held is the peak minus the resident size before
it, less the output array the call returns: scratch buffers, im2col
matrices, packed weights.  Only pages actually touched count, as they do for
the machine's memory.

Linux only; :func:`supported` says why not elsewhere.
"""

import ctypes
import json
import os
import subprocess
import sys

__all__ = ["supported", "extra_memory"]

_CLEAR_REFS = "/proc/self/clear_refs"
_STATUS = "/proc/self/status"


def supported():
    """None where the measurement works here, else the reason it does not."""
    if not sys.platform.startswith("linux"):
        return "needs Linux (/proc/self/clear_refs)"
    if not os.path.exists(_CLEAR_REFS):
        return f"{_CLEAR_REFS} is missing"
    return None


def _status_kib(field):
    with open(_STATUS) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"{field} is not in {_STATUS}")


def _trim():
    """Freed heap memory back to the system (glibc), where it can."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _measure(call, repeats):
    import gc
    extras = []
    for _ in range(repeats):
        gc.collect()
        _trim()
        before = _status_kib("VmRSS")
        with open(_CLEAR_REFS, "w") as f:      # VmHWM := VmRSS
            f.write("5")
        out = call()
        peak = _status_kib("VmHWM")
        out_bytes = out.numel() * out.element_size() if hasattr(out, "numel") \
            else out.nbytes
        extras.append(max(0, (peak - before) * 1024 - out_bytes))
        del out
    extras.sort()
    return extras[len(extras) // 2]


def _child(request):
    """Runs in the child: {"backend", "threads", "repeats", "cases": [[layer,
    batch, dtype], ...]} -> list of extra bytes (median over repeats)."""
    from ._bench import _callers
    results = []
    for layer, batch, dtype in request["cases"]:
        call = _callers(layer, batch, dtype, [request["backend"]],
                        request["threads"])[request["backend"]]
        for _ in range(2):                     # warm: imports, pools, caches
            call()
        results.append(_measure(call, request["repeats"]))
    return results


def extra_memory(cases, backend, threads, repeats=3):
    """Bytes each (layer, batch, dtype) of `cases` needs beyond its arrays on
    `backend`, measured in a child process; raises RuntimeError if the child
    fails and OSError where :func:`supported` says no."""
    why = supported()
    if why:
        raise OSError(f"cannot measure memory here: {why}")
    request = {"backend": backend, "threads": threads, "repeats": repeats,
               "cases": [list(c) for c in cases]}
    proc = subprocess.run([sys.executable, "-m", "gconv._memory"],
                          input=json.dumps(request), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the memory measurement of backend {backend!r} failed: "
                           + (proc.stderr.strip().splitlines() or ["no output"])[-1])
    return json.loads(proc.stdout)


if __name__ == "__main__":
    json.dump(_child(json.load(sys.stdin)), sys.stdout)
