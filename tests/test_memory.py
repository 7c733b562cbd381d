"""The per-call memory measurement (gconv._memory) and what it shows: the C
core's kernels need no im2col-sized buffers."""

import os
import subprocess
import sys

import pytest

import gconv
from gconv import _memory
from gconv._bench import make_case

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(gconv.__file__)))

pytestmark = pytest.mark.skipif(_memory.supported() is not None,
                                reason=f"memory measurement: {_memory.supported()}")


def _measure_in_child(body):
    """_memory._measure of `call` defined by body, in a fresh process as
    extra_memory runs it (a long-running process may hold freed memory that
    the next allocation reuses unseen)."""
    code = ("import numpy as np\nfrom gconv import _memory\n" + body +
            "\nprint(_memory._measure(call, repeats=3))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                              [PACKAGE_PARENT] + os.environ.get("PYTHONPATH", "").split(
                                  os.pathsep))))
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout)


def test_measurement_sees_a_temporary_buffer():
    # a call that touches a 16 MiB scratch array and returns a small result
    extra = _measure_in_child("def call():\n"
                              "    scratch = np.ones(4 << 20, np.float32)\n"
                              "    return scratch[:10].copy()")
    assert 15 * 2 ** 20 <= extra <= 20 * 2 ** 20


def test_measurement_does_not_count_the_output():
    # 16 MiB, all of it the output
    extra = _measure_in_child("def call():\n    return np.ones(4 << 20, np.float32)")
    assert extra < 2 * 2 ** 20


# im2col of these layers would take 9 * (C_in / groups) * H * W * 4 bytes per
# group: 9.4 MiB for the grouped one; the C core may use small tiles and
# packed weights only.
LAYERS = [
    dict(name="grouped", input=[1, 256, 32, 32], out_channels=256, kernel=3,
         padding=1, groups=8),
    dict(name="depthwise", input=[1, 256, 32, 32], out_channels=256, kernel=3,
         padding=1, groups=256),
    dict(name="grouped_1x1", input=[1, 256, 32, 32], out_channels=256, kernel=1,
         groups=4),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_c_core_needs_no_im2col_buffers(dtype):
    from gconv import available_backends
    if "c" not in available_backends():
        pytest.skip("the C backend is not built")
    cases = [(layer, 1, dtype) for layer in LAYERS]
    extras = _memory.extra_memory(cases, "c", threads=2)
    for (layer, _, _), extra in zip(cases, extras):
        _, w, _, _ = make_case(layer, 1, dtype)
        # packed weights (at most a few copies' worth of padding) and per-thread
        # tiles of at most 1 MiB
        assert extra <= 2 * w.nbytes + 2 * 2 ** 20, (layer["name"], extra)


def test_child_failure_is_an_error():
    with pytest.raises(RuntimeError, match="backend 'nope'"):
        _memory.extra_memory([(LAYERS[0], 1, "float32")], "nope", threads=1)
