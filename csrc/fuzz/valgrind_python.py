"""Runs the Python API's main paths under valgrind (memcheck) and fails on
any error or definite leak whose stack passes through the compiled core
(gconv/_ccore*.so: the Cython wrapper and the C library).

    python csrc/fuzz/valgrind_python.py     (tests the gconv that python imports:
                                             the installed one, or the source tree
                                             with PYTHONPATH=$PWD after building
                                             in place)

CPython and NumPy report errors of their own under valgrind (at exit, in
their allocators); those are counted but not judged here.  Exit status 0
when the compiled core has no errors and no definite leaks.
"""

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROUNDS = 2


def workload():
    import numpy as np

    import gconv

    rng = np.random.default_rng(0)
    if "c" not in gconv.available_backends():
        raise SystemExit(f"the compiled core is not available: {gconv.backends()['c']}")
    backends = ["c", "numpy"]
    funcs = {1: gconv.conv1d, 2: gconv.conv2d, 3: gconv.conv3d}
    for _ in range(ROUNDS):
        for backend in backends:
            for nd in (1, 2, 3):
                for dtype in ("float32", "float64"):
                    x = rng.standard_normal((2, 8) + (5,) * nd).astype(dtype)
                    w = rng.standard_normal((8, 2) + (3,) * nd).astype(dtype)
                    b = rng.standard_normal(8).astype(dtype)
                    for threads in (1, 2):
                        funcs[nd](x, w, b, padding=1, groups=4, backend=backend,
                                  num_threads=threads)
                    funcs[nd](x[0], w, None, stride=2, groups=4, padding=(1,) * nd,
                              padding_mode="circular", backend=backend)
                    xs = x[..., ::2]                           # non-contiguous
                    funcs[nd](xs, w, b, groups=4, padding="same", backend=backend)
                    w[0].reshape(-1)[0] = np.inf               # padding rule path
                    with np.errstate(all="ignore"):
                        funcs[nd](x, w, b, groups=4, padding=1, backend=backend)
                    for bad in (dict(groups=3), dict(groups=4, padding=2**62),
                                dict(groups=4, stride=2**70)):
                        try:
                            funcs[nd](x, w, b, backend=backend, **bad)
                        except (gconv.GroupsError, gconv.ShapeError):
                            pass
            layer = gconv.Conv2d(8, 16, 3, padding=1, groups=4, seed=0, backend=backend)
            layer(rng.standard_normal((1, 8, 6, 6)).astype(np.float32))
        if "c" in backends:
            from gconv import _ccore
            _ccore.check_params(2, 1, 12, 11, 3, [5, 5, 1], [3, 3, 1], [1] * 3, [0] * 3,
                                [0] * 3, [1] * 3)
            _ccore.check_params(1, 3, 6148914691236517206, 1, 1, [1, 1, 1], [1] * 3,
                                [1] * 3, [0] * 3, [0] * 3, [1] * 3)
            # outputs of 32 MB: blocks of the output pool, kept, reused, evicted
            x = rng.standard_normal((1, 256, 32768)).astype(np.float32)
            w = rng.standard_normal((256, 1, 3)).astype(np.float32)
            outs = [gconv.conv1d(x, w, padding=1, groups=256, backend="c")
                    for _ in range(3)]
            del outs
            y = gconv.conv1d(x, w, padding=1, groups=256, backend="c")
            del y
            _ccore.output_pool_clear()
    print("workload done")


def ours(error):
    for frame in error.iter("frame"):
        obj = frame.findtext("obj") or ""
        if "_ccore" in os.path.basename(obj):
            return True
    return False


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--workload":
        workload()
        return 0
    # the gconv this interpreter imports (installed, or the source tree on
    # PYTHONPATH after an in-place build)
    env = dict(os.environ, PYTHONMALLOC="malloc", GCONV_ISA="avx2")
    with tempfile.TemporaryDirectory() as tmp:
        xml = os.path.join(tmp, "vg.xml")
        cmd = ["valgrind", "--xml=yes", f"--xml-file={xml}", "--leak-check=full",
               "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
               "--num-callers=40", sys.executable, os.path.abspath(__file__), "--workload"]
        run = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if run.returncode != 0 or "workload done" not in run.stdout:
            print(run.stdout[-3000:], run.stderr[-3000:])
            print("valgrind_python: the workload failed under valgrind")
            return 1
        tree = ET.parse(xml)
    errors = tree.getroot().findall("error")
    mine = [e for e in errors if ours(e)]
    for e in mine:
        kind = e.findtext("kind")
        what = e.findtext("what") or e.findtext("xwhat/text")
        frames = [f"{f.findtext('fn')} ({os.path.basename(f.findtext('obj') or '?')})"
                  for f in e.iter("frame")][:12]
        print(f"{kind}: {what}\n    " + "\n    ".join(frames))
    print(f"valgrind_python: {len(errors)} valgrind reports in all, {len(mine)} through "
          "the compiled core")
    return 1 if mine else 0


if __name__ == "__main__":
    sys.exit(main())
