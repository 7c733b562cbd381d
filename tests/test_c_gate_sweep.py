"""The C library the package ships (gconv/lib/libgconv.so.*), called through
ctypes as a C program would call it: its gate agrees with the Python gate on
a sweep of configurations (the same verdict, the distinct status code,
the same message text, the same output size), every status code comes back
where it should, and on every failure the output buffer is left untouched.
It is also the very library the "c" backend runs (same numbers, bit for bit).
"""

import ctypes
import itertools
import os
import random
import re
import subprocess
import sys

import numpy as np
import pytest

import gconv
from gconv import GroupsError, ShapeError, _gate

if not sys.platform.startswith("linux"):
    pytest.skip("the package ships libgconv on Linux", allow_module_level=True)

INT64_MAX = 2**63 - 1
MAX_EL = _gate.MAX_ELEMENTS

OK, GROUPS, SHAPE, OVERFLOW, BUFFER_SIZE, NULL, STRUCT_SIZE, DTYPE, NO_MEMORY, OVERLAP = \
    range(10)
STATUS_NAMES = ["OK", "GROUPS", "SHAPE", "OVERFLOW", "BUFFER_SIZE", "NULL_POINTER",
                "STRUCT_SIZE", "DTYPE", "NO_MEMORY", "OVERLAP"]
MESSAGE_SIZE = 1024


# ---- the library through ctypes ----------------------------------------------

class Params(ctypes.Structure):
    """gconv_params as gconv.h declares it."""
    _fields_ = [("struct_size", ctypes.c_size_t), ("ndim", ctypes.c_int),
                ("batch", ctypes.c_int64), ("in_channels", ctypes.c_int64),
                ("out_channels", ctypes.c_int64), ("groups", ctypes.c_int64)] + [
        (name, ctypes.c_int64 * 3) for name in
        ("input_size", "kernel_size", "stride", "pad_before", "pad_after", "dilation")]


def _load():
    header = os.path.join(gconv.get_include(), "gconv.h")
    with open(header) as f:
        major = re.search(r"^#define GCONV_VERSION_MAJOR (\d+)", f.read(), re.M).group(1)
    path = os.path.join(gconv.get_library_dir(), f"libgconv.so.{major}")
    lib = ctypes.CDLL(path)
    P = ctypes.POINTER(Params)
    i64p = ctypes.POINTER(ctypes.c_int64)
    sz = ctypes.c_size_t
    lib.gconv_params_init.argtypes = [P, ctypes.c_int]
    lib.gconv_params_init.restype = None
    lib.gconv_check_params.argtypes = [P, ctypes.c_char_p, sz]
    lib.gconv_check_params.restype = ctypes.c_int
    lib.gconv_output_shape.argtypes = [P, i64p, i64p]
    lib.gconv_output_shape.restype = ctypes.c_int
    lib.gconv_buffer_sizes.argtypes = [P, i64p, i64p, i64p]
    lib.gconv_buffer_sizes.restype = ctypes.c_int
    lib.gconv_strerror.argtypes = [ctypes.c_int]
    lib.gconv_strerror.restype = ctypes.c_char_p
    lib.gconv_version.restype = ctypes.c_char_p
    for sfx, T in (("f32", ctypes.c_float), ("f64", ctypes.c_double)):
        tp = ctypes.POINTER(T)
        fn = getattr(lib, f"gconv_conv_{sfx}")
        fn.argtypes = [P, tp, sz, tp, sz, tp, sz, tp, sz, ctypes.c_int]
        fn.restype = ctypes.c_int
        fn = getattr(lib, f"gconv_plan_create_{sfx}")
        fn.argtypes = [P, tp, sz, tp, sz, ctypes.POINTER(ctypes.c_void_p)]
        fn.restype = ctypes.c_int
        fn = getattr(lib, f"gconv_plan_execute_{sfx}")
        fn.argtypes = [ctypes.c_void_p, ctypes.c_int64, tp, sz, tp, sz, ctypes.c_int]
        fn.restype = ctypes.c_int
    lib.gconv_plan_destroy.argtypes = [ctypes.c_void_p]
    lib.gconv_plan_destroy.restype = None
    return lib, path


LIB, LIB_PATH = _load()


def make_params(ndim, batch, cin, cout, groups, in_size, kernel, stride, pad_before,
                pad_after, dilation):
    flat = [batch, cin, cout, groups, *in_size, *kernel, *stride, *pad_before,
            *pad_after, *dilation]
    assert all(-2**63 <= v <= INT64_MAX for v in flat), "ctypes would truncate"
    p = Params()
    LIB.gconv_params_init(ctypes.byref(p), ndim)
    p.batch, p.in_channels, p.out_channels, p.groups = batch, cin, cout, groups
    for name, values in (("input_size", in_size), ("kernel_size", kernel),
                         ("stride", stride), ("pad_before", pad_before),
                         ("pad_after", pad_after), ("dilation", dilation)):
        arr = getattr(p, name)
        for d in range(3):
            arr[d] = values[d]
    return p


def c_gate(cfg):
    """(status, message, output size or None) from the shipped library."""
    p = make_params(*cfg)
    msg = ctypes.create_string_buffer(MESSAGE_SIZE)
    st = LIB.gconv_check_params(ctypes.byref(p), msg, MESSAGE_SIZE)
    if st != OK:
        return st, msg.value.decode(), None
    out = (ctypes.c_int64 * 3)()
    assert LIB.gconv_output_shape(ctypes.byref(p), out, None) == OK
    return st, msg.value.decode(), tuple(out[:cfg[0]])


def py_gate(cfg):
    """(kind, message, output size or None) from the Python gate."""
    try:
        out = _gate.check_params(*cfg)
    except GroupsError as exc:
        return "groups", str(exc), None
    except ShapeError as exc:
        return "shape", str(exc), None
    return "ok", "", tuple(out)


def config(ndim=2, batch=1, cin=4, cout=4, groups=1, in_size=(8, 8, 8),
           kernel=(3, 3, 3), stride=(1, 1, 1), pad_before=(0, 0, 0),
           pad_after=(0, 0, 0), dilation=(1, 1, 1)):
    return (ndim, batch, cin, cout, groups, tuple(in_size), tuple(kernel), tuple(stride),
            tuple(pad_before), tuple(pad_after), tuple(dilation))


# ---- the sweep ------------------------------------------------------------------

# Values at and around every boundary the gate has, per kind of field.
COUNTS = [-(2**63), -5, -1, 0, 1, 2, 3, 4, 6, 7, 11, 12, 48, 2**31, 2**40, 2**59,
          MAX_EL, MAX_EL + 1, INT64_MAX - 1, INT64_MAX]
SMALL = [-1, 0, 1, 2, 3, 5]


def sweep_configs():
    rng = random.Random(20240611)
    configs = []
    # every channel/group combination of a small grid, in 2-D
    for cin, cout, groups in itertools.product(range(-1, 13), range(-1, 13), range(-1, 8)):
        configs.append(config(cin=cin, cout=cout, groups=groups))
    # one field at a time through the boundary values, in 1, 2 and 3 dims
    for ndim in (1, 2, 3):
        base = dict(ndim=ndim, batch=2, cin=6, cout=9, groups=3)
        for v in COUNTS:
            for key in ("batch", "cin", "cout", "groups"):
                configs.append(config(**{**base, key: v}))
            for d in range(ndim):
                for key in ("in_size", "kernel", "stride", "pad_before", "pad_after",
                            "dilation"):
                    vals = list(config()[["in_size", "kernel", "stride", "pad_before",
                                          "pad_after", "dilation"].index(key) + 5])
                    vals[d] = v
                    configs.append(config(**{**base, key: tuple(vals)}))
    for ndim in (-1, 0, 4, 2**31 - 1):
        configs.append(config(ndim=ndim))
    # random configurations around validity, and large ones near overflow
    for _ in range(3000):
        ndim = rng.randint(1, 3)
        big = rng.random() < 0.3
        pick = (lambda: rng.choice(COUNTS)) if big else (lambda: rng.choice(SMALL + [7, 8]))
        groups = rng.choice([1, 2, 3, 4, 6, 0, -1] + ([rng.choice(COUNTS)] if big else []))
        cin = groups * rng.randint(1, 4) if rng.random() < 0.7 else pick()
        cout = groups * rng.randint(1, 4) if rng.random() < 0.7 else pick()
        # (a multiple of a huge groups may not be an int64: the C fields are)
        cin = cin if -2**63 <= cin <= INT64_MAX else INT64_MAX
        cout = cout if -2**63 <= cout <= INT64_MAX else -(2**63)
        dims = [[rng.randint(1, 12) if rng.random() < 0.8 else pick() for _ in range(3)]
                for _ in range(6)]
        dims[3] = [rng.randint(0, 3) if rng.random() < 0.8 else pick() for _ in range(3)]
        dims[4] = [rng.randint(0, 3) if rng.random() < 0.8 else pick() for _ in range(3)]
        dims[1] = [rng.randint(1, 4) if rng.random() < 0.8 else pick() for _ in range(3)]
        dims[2] = [rng.randint(1, 3) if rng.random() < 0.8 else pick() for _ in range(3)]
        dims[5] = [rng.randint(1, 3) if rng.random() < 0.8 else pick() for _ in range(3)]
        batch = rng.randint(0, 4) if rng.random() < 0.8 else pick()
        configs.append((ndim, batch, cin, cout, groups) + tuple(tuple(x) for x in dims))
    return configs


SWEEP = sweep_configs()


def test_sweep_reaches_every_gate_outcome():
    seen = {c_gate(cfg)[0] for cfg in SWEEP}
    assert seen == {OK, GROUPS, SHAPE, OVERFLOW}


def test_c_gate_agrees_with_python_gate():
    """Same verdict and message for every configuration of the sweep; the C
    library tells overflow (GCONV_ERR_OVERFLOW) from other bad shapes
    (GCONV_ERR_SHAPE), which Python raises as one ShapeError."""
    mismatches = []
    for cfg in SWEEP:
        st, c_msg, c_out = c_gate(cfg)
        kind, py_msg, py_out = py_gate(cfg)
        want_kind = {OK: "ok", GROUPS: "groups", SHAPE: "shape", OVERFLOW: "shape"}.get(st)
        overflow_msg = "overflows 64-bit arithmetic" in py_msg
        if (want_kind != kind or c_msg != py_msg or c_out != py_out
                or (st == OVERFLOW) != overflow_msg):
            mismatches.append((cfg, STATUS_NAMES[st], c_msg, c_out, kind, py_msg, py_out))
    assert not mismatches, (f"{len(mismatches)} of {len(SWEEP)} disagree, e.g. "
                            + "\n".join(map(repr, mismatches[:5])))


def test_ccore_wrapper_is_the_same_gate():
    """gconv._ccore (the Cython wrapper) answers as the shipped library does."""
    from gconv import _ccore
    names = {OK: "ok", GROUPS: "groups", SHAPE: "shape", OVERFLOW: "overflow"}
    for cfg in SWEEP[::7]:
        st, msg, out = c_gate(cfg)
        assert _ccore.check_params(*[list(a) if isinstance(a, tuple) else a
                                     for a in cfg]) == (names[st], msg, out)


def test_groups_message_of_the_contract():
    st, msg, _ = c_gate(config(cin=12, cout=11, groups=3))
    assert st == GROUPS
    assert msg == ("out_channels=11 is not divisible by groups=3: each group must produce "
                   "the same whole number of output channels. For in_channels=12, "
                   "out_channels=11 the valid groups are [1]; with groups=3, use "
                   "out_channels 9 or 12.")
    with pytest.raises(GroupsError) as info:
        gconv.check_groups(12, 11, 3)
    assert str(info.value) == msg


# ---- status codes of the entry points, and the output left untouched -------------

SENTINEL = 1234.5


def buffers(dtype, nx, nw, nb, ny, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(max(nx, 1)).astype(dtype)
    w = rng.standard_normal(max(nw, 1)).astype(dtype)
    b = rng.standard_normal(max(nb, 1)).astype(dtype)
    y = np.full(max(ny, 1), SENTINEL, dtype=dtype)
    return x, w, b, y


def ptr(a, offset=0):
    """A typed pointer to element `offset` of a (None for None)."""
    if a is None:
        return None
    T = ctypes.c_float if a.dtype == np.float32 else ctypes.c_double
    return ctypes.cast(a.ctypes.data + offset * a.itemsize, ctypes.POINTER(T))


def conv(dtype, p, x, nx, w, nw, b, nb, y, ny, threads=0):
    fn = LIB.gconv_conv_f32 if dtype == np.float32 else LIB.gconv_conv_f64
    return fn(ctypes.byref(p) if p is not None else None,
              x, nx, w, nw, b, nb, y, ny, threads)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gate_failures_write_nothing(dtype):
    """Each rejected configuration of the sweep, through the convolution entry
    point with buffers of any length: the gate's status, output untouched."""
    checked = 0
    for cfg in SWEEP[::3]:
        st, _, _ = c_gate(cfg)
        if st == OK:
            continue
        x, w, b, y = buffers(dtype, 64, 64, 16, 64)
        p = make_params(*cfg)
        got = conv(dtype, p, ptr(x), 64, ptr(w), 64, ptr(b), 16, ptr(y), 64)
        assert got == st, (cfg, STATUS_NAMES[got], STATUS_NAMES[st])
        assert np.all(y == SENTINEL), cfg
        checked += 1
    assert checked > 500


def small_layer():
    return config(ndim=2, batch=2, cin=6, cout=9, groups=3, in_size=(7, 6, 1),
                  kernel=(3, 2, 1), stride=(2, 1, 1), pad_before=(1, 0, 0),
                  pad_after=(1, 1, 0), dilation=(1, 2, 1))


def sizes(p):
    nx, nw, ny = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
    assert LIB.gconv_buffer_sizes(ctypes.byref(p), ctypes.byref(nx), ctypes.byref(nw),
                                  ctypes.byref(ny)) == OK
    return nx.value, nw.value, ny.value


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_status_of_the_entry_points(dtype):
    cfg = small_layer()
    p = make_params(*cfg)
    nx, nw, ny = sizes(p)
    nb = 9
    x, w, b, y = buffers(dtype, nx, nw, nb, ny)
    X, W, B, Y = ptr(x), ptr(w), ptr(b), ptr(y)
    ok_args = (X, nx, W, nw, B, nb, Y, ny)
    bad_size = make_params(*cfg)
    bad_size.struct_size -= 8
    # one buffer holding the input right after the output's start: they overlap
    shared = np.full(nx + ny, SENTINEL, dtype=dtype)
    cases = [
        (GROUPS, make_params(*(cfg[:3] + (8,) + cfg[4:])), ok_args),
        (SHAPE, make_params(*(cfg[:6] + ((4, 6, 1),) + cfg[7:])), ok_args),
        (OVERFLOW, make_params(*((cfg[0], INT64_MAX // 4) + cfg[2:])), ok_args),
        (STRUCT_SIZE, bad_size, ok_args),
        (NULL, None, ok_args),
        (NULL, p, (None, nx, W, nw, B, nb, Y, ny)),
        (NULL, p, (X, nx, None, nw, B, nb, Y, ny)),
        (NULL, p, (X, nx, W, nw, B, nb, None, ny)),
        (BUFFER_SIZE, p, (X, nx - 1, W, nw, B, nb, Y, ny)),
        (BUFFER_SIZE, p, (X, nx, W, nw + 1, B, nb, Y, ny)),
        (BUFFER_SIZE, p, (X, nx, W, nw, B, nb - 1, Y, ny)),
        (BUFFER_SIZE, p, (X, nx, W, nw, B, nb, Y, ny - 1)),
        (OVERLAP, p, (X, nx, ptr(y, 3), nw, B, nb, Y, ny)),         # weight in the output
        (OVERLAP, p, (X, nx, W, nw, ptr(y, ny - 1), nb, Y, ny)),     # bias in the output
        (OVERLAP, p, (ptr(shared, ny - 1), nx, W, nw, B, nb, ptr(shared), ny)),
    ]
    for want, params, args in cases:
        got = conv(dtype, params, *args)
        assert got == want, (STATUS_NAMES[want], STATUS_NAMES[got])
        assert np.all(y == SENTINEL), STATUS_NAMES[want]
        assert np.all(shared == SENTINEL), STATUS_NAMES[want]
    seen = {want for want, _, _ in cases}
    assert seen == {GROUPS, SHAPE, OVERFLOW, STRUCT_SIZE, NULL, BUFFER_SIZE, OVERLAP}
    # (DTYPE and NO_MEMORY come from plans: test_plan_statuses)

    # when all is right the output is written, with the "c" backend's numbers
    assert conv(dtype, p, *ok_args) == OK
    xs, ws = x.reshape(2, 6, 7, 6), w.reshape(9, 2, 3, 2)
    # asymmetric padding (1, 1) x (0, 1): pad explicitly, convolve unpadded
    xp = np.pad(xs, ((0, 0), (0, 0), (1, 1), (0, 1)))
    ref = gconv.conv2d(xp, ws, b, stride=(2, 1), dilation=(1, 2), groups=3, backend="c")
    np.testing.assert_array_equal(y.reshape(ref.shape), ref)
    ref_np = gconv.conv2d(xp, ws, b, stride=(2, 1), dilation=(1, 2), groups=3,
                          backend="numpy")
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y.reshape(ref.shape), ref_np, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plan_statuses(dtype):
    sfx = "f32" if dtype == np.float32 else "f64"
    other = "f64" if sfx == "f32" else "f32"
    cfg = small_layer()
    p = make_params(*cfg)
    nx, nw, ny = sizes(p)
    x, w, b, y = buffers(dtype, nx, nw, 9, ny)
    plan = ctypes.c_void_p(12345)
    create = getattr(LIB, f"gconv_plan_create_{sfx}")
    execute = getattr(LIB, f"gconv_plan_execute_{sfx}")
    # failures set the plan to NULL
    assert create(ctypes.byref(make_params(*(cfg[:3] + (10,) + cfg[4:]))), ptr(w), nw,
                  ptr(b), 9, ctypes.byref(plan)) == GROUPS
    assert plan.value is None
    # out of memory: 2**55 weights cannot be copied (the length is only claimed)
    huge = make_params(*config(ndim=1, batch=1, cin=1, cout=2**55, groups=1,
                               in_size=(1, 1, 1), kernel=(1, 1, 1)))
    plan = ctypes.c_void_p(12345)
    assert create(ctypes.byref(huge), ptr(w), 2**55, None, 0, ctypes.byref(plan)) == NO_MEMORY
    assert plan.value is None
    # a working plan, then the wrong dtype, the wrong lengths, a bad batch
    assert create(ctypes.byref(p), ptr(w), nw, ptr(b), 9, ctypes.byref(plan)) == OK
    try:
        other_exec = getattr(LIB, f"gconv_plan_execute_{other}")
        yo = np.full(ny, SENTINEL, dtype=np.float64 if sfx == "f32" else np.float32)
        xo = np.zeros(nx, dtype=yo.dtype)
        assert other_exec(plan, 2, ptr(xo), nx, ptr(yo), ny, 0) == DTYPE
        assert np.all(yo == SENTINEL)
        assert execute(plan, 2, ptr(x), nx - 1, ptr(y), ny, 0) == BUFFER_SIZE
        assert execute(plan, 1, ptr(x), nx, ptr(y), ny, 0) == BUFFER_SIZE
        assert execute(plan, -1, ptr(x), nx, ptr(y), ny, 0) == SHAPE
        assert execute(plan, INT64_MAX, ptr(x), nx, ptr(y), ny, 0) == OVERFLOW
        assert execute(plan, 2, None, nx, ptr(y), ny, 0) == NULL
        assert execute(None, 2, ptr(x), nx, ptr(y), ny, 0) == NULL
        assert np.all(y == SENTINEL)
        assert execute(plan, 2, ptr(x), nx, ptr(y), ny, 0) == OK
        y_once = np.full(ny, SENTINEL, dtype=dtype)
        assert conv(dtype, p, ptr(x), nx, ptr(w), nw, ptr(b), 9, ptr(y_once), ny) == OK
        np.testing.assert_array_equal(y, y_once)
    finally:
        LIB.gconv_plan_destroy(plan)


def test_the_backend_runs_this_library():
    """gconv._ccore is linked to the shipped libgconv (one copy of the kernels):
    importing it, in a fresh process, maps that library file and no other."""
    code = ("import gconv._ccore\n"
            "print('\\n'.join(sorted({l.split()[-1] for l in open('/proc/self/maps')\n"
            "                          if 'libgconv' in l})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [os.path.realpath(LIB_PATH)], (
        "gconv._ccore does not run the shipped libgconv (built with GCONV_BUNDLE_CORE=1?)")
    from gconv import _ccore
    assert LIB.gconv_version().decode() == _ccore.version() == gconv.__version__
