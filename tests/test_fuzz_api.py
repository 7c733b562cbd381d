"""Property-based fuzzing of the Python API (hypothesis).

Each example draws a whole call of conv1d/conv2d/conv3d that mixes valid
and invalid arguments: shapes (zero, huge through zero-strided views, wrong
rank), channel/group counts, strides, paddings (ints, tuples, strings, huge,
negative), dilations, padding modes, dtypes (float32/64, integer, complex,
bool, float16, object, mixed), argument types (strings, None, floats,
objects), array layouts (non-contiguous, Fortran, read-only, big-endian,
zero-strided, nested lists, torch tensors), NaN/Inf values, backend names and
thread counts.

An independent oracle (written from SPEC §1-§2, not from the gate) says which
documented exceptions the call may raise, or that it is valid.  Then, on every
backend: a valid call returns the float64 reference result (NaN and Inf where
IEEE arithmetic on explicitly zero-padded input puts them) with the input's
type, dtype and shape; an invalid one raises one of the exceptions the
oracle allows; no call modifies its inputs.  Valid calls whose output or
work would be large are not run (the generator mostly produces huge values
that must be rejected).
"""

import itertools
import math
import operator
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import gconv  # noqa: E402

try:
    import torch
except ImportError:  # the suite runs without torch too
    torch = None

BACKENDS = gconv.available_backends()
INT64_MAX = 2**63 - 1
MAX_ELEMENTS = INT64_MAX // 8
FUNCS = {1: gconv.conv1d, 2: gconv.conv2d, 3: gconv.conv3d}
MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
         "circular": "wrap"}
OUTPUT_BUDGET = 4096        # output elements of a valid call we run
WORK_BUDGET = 200_000       # multiply-adds of a valid call we run
PADDED_BUDGET = 1 << 16     # elements of the explicitly padded input

_MISSING = object()


# ---- the oracle -------------------------------------------------------------------

class Invalid(Exception):
    """What the oracle found wrong: the exceptions gconv may raise."""

    def __init__(self, *classes):
        super().__init__(classes)
        self.classes = set(classes)


def _is_tensor(obj):
    return torch is not None and isinstance(obj, torch.Tensor)


def _as_array(obj):
    if isinstance(obj, np.ndarray) or _is_tensor(obj):
        return obj
    try:
        return np.asarray(obj)
    except (TypeError, ValueError):
        return None


def _dtype_name(a):
    if isinstance(a, np.ndarray):
        return a.dtype.name
    return str(a.dtype).rpartition(".")[2]


def _int_like(v):
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, (int, np.integer)):
        return True
    return isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "iu"


def _per_dim(value, nd):
    """The oracle's reading of a stride/dilation/padding argument: a tuple
    of nd ints, or Invalid."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()
    if isinstance(value, (tuple, list)):
        if len(value) not in (1, nd):
            raise Invalid(gconv.ShapeError)
        if not all(_int_like(v) for v in value):
            raise Invalid(TypeError)
        vals = tuple(operator.index(v) for v in value)
        return vals * nd if len(vals) == 1 else vals
    if _int_like(value):
        return (operator.index(value),) * nd
    raise Invalid(TypeError)


def _collect(errors, fn, *args):
    """Runs one independent check; records what it finds."""
    try:
        return fn(*args)
    except Invalid as exc:
        errors |= exc.classes
        return _MISSING


def oracle(case):
    """(errors, plan): errors is the set of exception classes the call may
    raise (empty: the call is valid); plan holds what the reference needs."""
    nd = case["nd"]
    errors = set()
    x = _as_array(case["input"])
    w = _as_array(case["weight"])
    b = None if case["bias"] is None else _as_array(case["bias"])
    arrays_ok = True
    if x is None or w is None or (case["bias"] is not None and b is None):
        errors.add(TypeError)
        arrays_ok = False
    else:
        names = [_dtype_name(x), _dtype_name(w)] + ([_dtype_name(b)] if b is not None else [])
        if any(n not in ("float32", "float64") for n in names) or len(set(names)) != 1:
            errors.add(TypeError)
        if x.ndim not in (nd + 1, nd + 2) or w.ndim != nd + 2:
            errors.add(gconv.ShapeError)
            arrays_ok = False

    if not _int_like(case["groups"]):
        errors.add(TypeError)
        groups = _MISSING
    else:
        groups = operator.index(case["groups"])
    stride = _collect(errors, _per_dim, case["stride"], nd)
    dilation = _collect(errors, _per_dim, case["dilation"], nd)
    padding = case["padding"]
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            errors.add(gconv.ShapeError)
            padding = _MISSING
    else:
        padding = _collect(errors, _per_dim, padding, nd)
    mode = case["padding_mode"]
    if not isinstance(mode, str):
        errors.add(TypeError)
        mode = _MISSING
    elif mode not in MODES:
        errors.add(gconv.ShapeError)
        mode = _MISSING

    backend = case["backend"]
    if backend is not None and backend != "auto" and backend not in BACKENDS:
        errors.add(gconv.BackendError)
    nt = case["num_threads"]
    if nt is not None:
        if not _int_like(nt):
            errors.add(TypeError)
        elif operator.index(nt) < 1:
            errors.add(ValueError)

    if not arrays_ok or _MISSING in (groups, stride, dilation, padding, mode):
        return errors, None

    batched = x.ndim == nd + 2
    xshape = tuple(x.shape) if batched else (1,) + tuple(x.shape)
    batch, cin, in_size = xshape[0], xshape[1], xshape[2:]
    cout, wcin, kernel = w.shape[0], w.shape[1], tuple(w.shape[2:])
    if cin < 1 or cout < 1:
        errors.add(gconv.ShapeError)
        return errors, None
    if groups < 1 or cin % groups or cout % groups or wcin * groups != cin:
        errors.add(gconv.GroupsError)
        return errors, None
    if b is not None and tuple(b.shape) != (cout,):
        errors.add(gconv.ShapeError)
    if padding == "valid":
        pb = pa = (0,) * nd
    elif padding == "same":
        if any(s != 1 for s in stride):
            errors.add(gconv.ShapeError)
            return errors, None
        total = [dl * (k - 1) for dl, k in zip(dilation, kernel)]
        pb, pa = tuple(t // 2 for t in total), tuple(t - t // 2 for t in total)
    else:
        pb = pa = padding
    bad = (any(n < 1 for n in in_size) or any(k < 1 for k in kernel)
           or any(s < 1 or s > MAX_ELEMENTS for s in stride)
           or any(d < 1 or d > MAX_ELEMENTS for d in dilation)
           or any(p < 0 for p in pb + pa))
    if bad:
        errors.add(gconv.ShapeError)
        return errors, None
    out = []
    for n, k, s, dl, p0, p1 in zip(in_size, kernel, stride, dilation, pb, pa):
        padded, span = n + p0 + p1, dl * (k - 1) + 1
        if padded > MAX_ELEMENTS or span - 1 > MAX_ELEMENTS or span > padded:
            errors.add(gconv.ShapeError)
            return errors, None
        out.append((padded - span) // s + 1)
    counts = [batch * cin * math.prod(in_size), batch * cout * math.prod(out),
              cout * (cin // groups) * math.prod(kernel),
              math.prod(in_size), math.prod(out), math.prod(kernel)]
    if any(c > MAX_ELEMENTS for c in counts):
        errors.add(gconv.ShapeError)
        return errors, None
    if mode == "reflect" and any(p >= n for p, n in zip(pb + pa, in_size * 2)):
        errors.add(gconv.ShapeError)
    if mode == "circular" and any(p > n for p, n in zip(pb + pa, in_size * 2)):
        errors.add(gconv.ShapeError)
    plan = dict(batched=batched, out=tuple(out), pb=pb, pa=pa, stride=stride,
                dilation=dilation, groups=groups, mode=mode, kernel=kernel,
                cout=cout, batch=batch, cin=cin, in_size=in_size)
    return errors, plan


# ---- the reference ---------------------------------------------------------------

def _numpy64(a):
    if _is_tensor(a):
        a = a.detach().cpu().numpy()
    return np.asarray(a).astype(np.float64)


def reference(case, plan):
    """(result, magnitude) in float64: explicit padding as the mode says,
    then a direct sum over the taps."""
    nd = case["nd"]
    x = _numpy64(case["input"])
    if not plan["batched"]:
        x = x[None]
    if x.shape[0] == 0:      # nothing to compute (the padded input, or a
        # zero-stride weight view in float64, may not fit in memory)
        res = np.zeros((0, plan["cout"]) + tuple(plan["out"]))
        return res, res
    w = _numpy64(case["weight"])
    widths = [(0, 0), (0, 0)] + list(zip(plan["pb"], plan["pa"]))
    xp = np.pad(x, widths, mode=MODES[plan["mode"]])
    n, cout, g = x.shape[0], plan["cout"], plan["groups"]
    cg, og = x.shape[1] // g, cout // g
    out_size = plan["out"]
    pixels = math.prod(out_size)
    res = np.zeros((n, g, og, pixels))
    mag = np.zeros((n, g, og, pixels))
    for tap in itertools.product(*(range(k) for k in plan["kernel"])):
        sl = tuple(slice(t * dl, t * dl + s * (o - 1) + 1, s)
                   for t, dl, s, o in zip(tap, plan["dilation"], plan["stride"], out_size))
        xs = xp[(slice(None), slice(None)) + sl].reshape(n, g, cg, pixels)
        wt = w[(slice(None), slice(None)) + tap].reshape(g, og, cg)
        res += np.einsum("goc,ngcp->ngop", wt, xs)
        mag += np.einsum("goc,ngcp->ngop", np.abs(wt), np.abs(xs))
    res = res.reshape((n, cout) + out_size)
    mag = mag.reshape((n, cout) + out_size)
    if case["bias"] is not None:
        bias = _numpy64(case["bias"]).reshape((cout,) + (1,) * nd)
        res = res + bias
        mag = mag + np.abs(bias)
    if not plan["batched"]:
        res, mag = res[0], mag[0]
    return res, mag


def assert_matches(got, ref, mag, dtype):
    got = _numpy64(got)
    assert got.shape == ref.shape
    nan = np.isnan(ref)
    inf = np.isinf(ref)
    assert np.array_equal(np.isnan(got), nan), "NaN positions differ from IEEE arithmetic"
    assert np.array_equal(got[inf], ref[inf]), "Inf positions or signs differ"
    fin = ~(nan | inf)
    tol = (2e-5 if dtype == "float32" else 1e-12) * (1.0 + mag[fin])
    assert np.all(np.abs(got[fin] - ref[fin]) <= tol), "values differ from the reference"


# ---- the generator ----------------------------------------------------------------

HUGE = [2**31, 2**32 + 1, 2**40, 2**62, 2**63 - 1, 2**63, 2**64, 2**70]
ODD_INTS = [0, -1, -(2**63)]
WRONG_TYPES = [None, "2", 1.0, 2.5, True, object(), [], (), {"a": 1}]


def _make_array(draw, shape, dtype, rng, nonfinite):
    """An array of `shape` in one of many layouts and types."""
    layout = draw(st.sampled_from(
        ["c", "c", "c", "noncontig", "fortran", "readonly", "bigendian", "list",
         "tensor", "tensor_t", "zero_stride"]))
    huge = any(s > 4096 for s in shape)
    if huge or layout == "zero_stride":
        # zero strides: any shape, no memory; read-only
        if math.prod(max(s, 1) for s in shape) > 2**58:   # NumPy limits sizes in bytes
            shape = tuple(min(s, 2**20) for s in shape)
        return np.broadcast_to(np.asarray(rng.uniform(-2, 2)).astype(dtype), shape)
    a = rng.uniform(-2, 2, size=shape)
    if dtype in ("int32", "int64", "bool"):
        a = (a > 0) if dtype == "bool" else np.round(a)
    if dtype == "complex64":
        a = a + 1j * a
    a = np.asarray(a).astype(dtype)
    if nonfinite and a.size and np.issubdtype(a.dtype, np.floating):
        for _ in range(draw(st.integers(1, 3))):
            idx = draw(st.integers(0, a.size - 1))
            a.reshape(-1)[idx] = draw(st.sampled_from([np.inf, -np.inf, np.nan]))
    if layout == "noncontig" and a.ndim:
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
        big[..., ::2] = a
        return big[..., ::2]
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "readonly":
        a.setflags(write=False)
        return a
    if layout == "bigendian" and a.dtype.kind in "fc":
        return a.astype(a.dtype.newbyteorder(">"))
    if layout == "list" and a.dtype == np.float64:   # lists read back as float64
        return a.tolist()
    if layout.startswith("tensor") and torch is not None and a.dtype.kind == "f" \
            and a.dtype != np.float16:
        t = torch.from_numpy(np.ascontiguousarray(a))
        if layout == "tensor_t" and t.ndim >= 2:
            t = t.transpose(-1, -2).contiguous().transpose(-1, -2)  # same values, strided
        return t
    return a


@st.composite
def int_arg(draw, nd, small):
    """A stride/dilation/padding argument: mostly a small int, else a tuple,
    a one-element list, an ndarray, a NumPy int, a negative, zero or huge
    value, a sequence of the wrong length or a value of the wrong type."""
    kind = draw(st.sampled_from(["int"] * 6 + ["tuple", "list1", "ndarray", "np_int",
                                              "odd", "huge", "wrong_len", "wrong_type"]))
    if kind == "int":
        return draw(small)
    if kind == "tuple":
        return tuple(draw(small) for _ in range(nd))
    if kind == "list1":
        return [draw(small)]
    if kind == "ndarray":
        return np.array([draw(small)] * nd)
    if kind == "np_int":
        return np.int64(draw(small))
    if kind == "odd":
        return draw(st.sampled_from(ODD_INTS))
    if kind == "huge":
        return draw(st.sampled_from(HUGE))
    if kind == "wrong_len":
        return (1,) * (nd + 1)
    return draw(st.sampled_from(WRONG_TYPES))


@st.composite
def cases(draw):
    clean = draw(st.booleans())    # half the calls are valid by construction

    def bad(odds):
        """True about once in `odds` draws, never in a clean call."""
        return not clean and draw(st.integers(1, odds)) == 1

    nd = draw(st.integers(1, 3))
    call_nd = draw(st.integers(1, 3)) if bad(10) else nd
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    groups = draw(st.integers(1, 3))
    cin = groups * draw(st.integers(1, 3))
    cout = groups * draw(st.integers(1, 3))
    if bad(6):                                  # break the channel arithmetic
        cin = draw(st.sampled_from([0, cin + 1, cin]))
        cout = draw(st.sampled_from([0, cout + 1, cout]))
    kernel = [draw(st.integers(1, 3)) for _ in range(nd)]
    size = [draw(st.integers(1, 6)) for _ in range(nd)]
    batch = draw(st.sampled_from([1, 1, 2, 0, None]))       # None: unbatched
    if bad(4):                                  # zero and huge sizes
        where = draw(st.sampled_from(["size", "kernel", "cin", "batch"]))
        value = draw(st.sampled_from([0, 2**20, 2**40, 2**61]))
        if where == "size":
            size[draw(st.integers(0, nd - 1))] = value
        elif where == "kernel":
            kernel[draw(st.integers(0, nd - 1))] = value
        elif where == "cin":
            cin = value
        elif batch is not None:
            batch = value
    wcin = cin // groups if groups and cin % groups == 0 else max(cin, 1)
    if bad(10):
        wcin = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    if bad(4):
        dtype = draw(st.sampled_from(["float16", "int32", "int64", "bool", "complex64",
                                      "object"]))
    wdtype = draw(st.sampled_from(["float32", "float64", "int64"])) if bad(8) else dtype
    nonfinite = not draw(st.integers(0, 3))

    xshape = ((batch,) if batch is not None else ()) + (cin,) + tuple(size)
    if call_nd != nd and draw(st.booleans()):
        xshape = xshape[1:]                      # another wrong rank
    wshape = (cout, wcin) + tuple(kernel)
    if dtype == "object":
        x = np.empty(min(math.prod(xshape), 8), dtype=object)
    else:
        x = _make_array(draw, xshape, dtype, rng, nonfinite)
    w = _make_array(draw, wshape, wdtype, rng, nonfinite)
    bias_kind = draw(st.sampled_from(["none", "right", "list"]))
    if bad(4):
        bias_kind = draw(st.sampled_from(["wrong_shape", "wrong_dtype", "wrong_type"]))
    bias = None
    if bias_kind == "right":
        bias = _make_array(draw, (cout,), wdtype, rng, nonfinite)
    elif bias_kind == "wrong_shape":
        bias = rng.uniform(-1, 1, size=(cout + 1,)).astype(wdtype)
    elif bias_kind == "wrong_dtype":
        bias = rng.uniform(-1, 1, size=(cout,)).astype(
            "float64" if wdtype == "float32" else "float32")
    elif bias_kind == "list":
        bias = rng.uniform(-1, 1, size=(cout,))
        bias = bias.tolist() if wdtype == "float64" else bias.astype(wdtype)
    elif bias_kind == "wrong_type":
        bias = draw(st.sampled_from(["bias", 1.5, object()]))
    if bad(20):
        x = draw(st.sampled_from(WRONG_TYPES + ["input", [[1, 2], [3]]]))
    if bad(30):
        w = draw(st.sampled_from(WRONG_TYPES))

    small = {"stride": st.integers(1, 3), "dilation": st.integers(1, 2),
             "padding": st.integers(0, 2)}
    args = {}
    for name, values in small.items():
        if bad(3):
            args[name] = draw(int_arg(call_nd, values))
        else:
            args[name] = draw(st.one_of(values, st.tuples(*[values] * call_nd)))
    if draw(st.integers(0, 5)) == 0:
        args["padding"] = draw(st.sampled_from(["same", "valid"]))
    if bad(10):
        args["padding"] = draw(st.sampled_from(["full", "SAME", ""]))
    groups_arg = groups
    if bad(8):
        groups_arg = draw(st.sampled_from([0, -1, 2**40, 1.0, None, "1", True]))
    elif draw(st.integers(0, 5)) == 0:
        groups_arg = draw(st.sampled_from([np.int64(groups), np.array(groups)]))
    mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    if bad(10):
        mode = draw(st.sampled_from(["bogus", None, 1]))
    backend = draw(st.sampled_from([None] * 6 + ["auto"]))
    if bad(15):
        backend = draw(st.sampled_from(["nonexistent", "C", 3]))
    threads = draw(st.sampled_from([None, None, 1, 2, 3, 2**40]))
    if bad(10):
        threads = draw(st.sampled_from([0, -1, "2", 2.0]))
    return dict(nd=call_nd, input=x, weight=w, bias=bias, groups=groups_arg,
                padding_mode=mode, backend=backend, num_threads=threads, **args)


# ---- the property -------------------------------------------------------------------

def _snapshot(obj):
    if _is_tensor(obj):
        return ("tensor", obj.detach().clone())
    if isinstance(obj, np.ndarray):
        if obj.size > 1 << 16:       # a zero-strided view: its one value
            return ("view", obj.reshape(-1)[:1].copy(), obj.flags.writeable)
        return ("array", obj.copy(), obj.flags.writeable)
    return ("other", obj)


def _same(a, b):
    if a.dtype.kind in "fc":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def _unchanged(obj, snap):
    if snap[0] == "tensor":
        return torch.equal(torch.nan_to_num(obj.detach(), nan=7.0),
                           torch.nan_to_num(snap[1], nan=7.0))
    if snap[0] == "view":
        return obj.flags.writeable == snap[2] and _same(obj.reshape(-1)[:1], snap[1])
    if snap[0] == "array":
        return obj.flags.writeable == snap[2] and _same(obj, snap[1])
    return True


def _allowed(exc, classes):
    for cls in classes:
        if cls is ValueError:
            if type(exc) is ValueError:
                return True
        elif isinstance(exc, cls):
            return True
    return False


def _too_big(plan):
    xp = math.prod(n + p0 + p1 for n, p0, p1 in zip(plan["in_size"], plan["pb"], plan["pa"]))
    out = plan["batch"] * plan["cout"] * math.prod(plan["out"])
    work = out * (plan["cin"] // plan["groups"]) * math.prod(plan["kernel"])
    in_el = plan["batch"] * plan["cin"] * xp
    return out > OUTPUT_BUDGET or work > WORK_BUDGET or in_el > PADDED_BUDGET


COUNTS = {"valid": 0, "invalid": 0}


#: examples per run; GCONV_FUZZ_EXAMPLES=5000 for a longer hunt
EXAMPLES = int(os.environ.get("GCONV_FUZZ_EXAMPLES", "350"))


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large])
@given(case=cases())
def test_calls_return_the_reference_or_a_documented_error(case):
    errors, plan = oracle(case)
    assume(errors or not _too_big(plan))
    COUNTS["invalid" if errors else "valid"] += 1
    hypothesis.event("invalid" if errors else "valid")
    ref = None
    if not errors:
        with np.errstate(all="ignore"):
            ref, mag = reference(case, plan)
    fn = FUNCS[case["nd"]]
    backends = [case["backend"]] if case["backend"] is not None else BACKENDS
    for backend in backends:
        snaps = [_snapshot(case[k]) for k in ("input", "weight", "bias")]
        try:
            with np.errstate(all="ignore"):
                got = fn(case["input"], case["weight"], case["bias"], stride=case["stride"],
                         padding=case["padding"], dilation=case["dilation"],
                         groups=case["groups"], padding_mode=case["padding_mode"],
                         backend=backend, num_threads=case["num_threads"])
        except Exception as exc:  # noqa: BLE001 -- every exception is judged here
            assert errors, f"backend {backend!r} raised {exc!r} for a valid call"
            assert _allowed(exc, errors), (
                f"backend {backend!r} raised {type(exc).__name__}: {exc}; allowed: "
                f"{sorted(c.__name__ for c in errors)}")
        else:
            assert not errors, (f"backend {backend!r} accepted a call that must raise one "
                                f"of {sorted(c.__name__ for c in errors)}")
            x = case["input"]
            if _is_tensor(x):
                assert _is_tensor(got)
            else:
                assert isinstance(got, np.ndarray)
            xdtype = _dtype_name(_as_array(x))
            assert _dtype_name(got) == xdtype
            assert_matches(got, ref, mag, xdtype)
        for k, snap in zip(("input", "weight", "bias"), snaps):
            assert _unchanged(case[k], snap), f"backend {backend!r} modified {k}"


def test_the_fuzzer_ran_valid_and_invalid_calls():
    """The property above must have run many valid and many invalid calls
    (a guard against a generator that filters everything away)."""
    if COUNTS["valid"] + COUNTS["invalid"] == 0:
        pytest.skip("runs after the property test, in the same session")
    assert COUNTS["valid"] >= 50 and COUNTS["invalid"] >= 50, COUNTS


# ---- the group helpers -------------------------------------------------------------

@settings(max_examples=300, deadline=2000, database=None)
@given(cin=st.one_of(st.integers(-3, 64), st.integers(-(2**70), 2**130),
                     st.sampled_from([2**63 - 1, 2**63, 3037000493 * 3037000453])),
       cout=st.one_of(st.integers(-3, 64), st.integers(-(2**70), 2**130)),
       groups=st.one_of(st.integers(-3, 16), st.integers(-(2**70), 2**130)))
def test_group_helpers_answer_quickly_and_correctly(cin, cout, groups):
    """check_groups / valid_groups on any integers: the right answer, or
    GroupsError / ShapeError, within the deadline (counts beyond int64 used
    to be factorised, which can take hours)."""
    fits = 1 <= cin <= INT64_MAX and 1 <= cout <= INT64_MAX
    try:
        got = gconv.check_groups(cin, cout, groups)
    except gconv.GroupsError:
        assert fits and (groups < 1 or cin % groups or cout % groups)
    except gconv.ShapeError:
        assert not fits
    else:
        assert fits and groups >= 1 and cin % groups == 0 and cout % groups == 0
        assert got == (cin // groups, cout // groups)
    try:
        divs = gconv.valid_groups(cin, cout)
    except gconv.ShapeError:
        assert not fits
    else:
        assert fits
        g = math.gcd(cin, cout)
        assert divs == sorted(divs) and all(g % d == 0 for d in divs)
        if g <= 10**5:
            assert divs == [d for d in range(1, g + 1) if g % d == 0]
