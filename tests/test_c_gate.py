"""The C gate (gconv_check_params in csrc/src/gate.c, exposed as
gconv._ccore.check_params) and the Python gate (gconv._gate.check_params)
accept and reject the same configurations, with the same message text and
the same output size."""

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

MANY = settings(max_examples=max(1, settings.default.max_examples * 5))

from gconv import GroupsError, ShapeError  # noqa: E402
from gconv import _gate  # noqa: E402
from gconv import _ccore  # noqa: E402  (test_semantics fails loudly without it)

INT64_MIN, INT64_MAX = -2**63, 2**63 - 1
MAX_EL = _gate.MAX_ELEMENTS


def both(ndim, batch, cin, cout, groups, in_size, kernel, stride, pad_before,
         pad_after, dilation):
    """(outcome, message, out_size) of each gate; outcome is "ok", "groups"
    or "shape"."""
    args = (ndim, batch, cin, cout, groups, list(in_size), list(kernel), list(stride),
            list(pad_before), list(pad_after), list(dilation))
    status, c_msg, c_out = _ccore.check_params(*args)
    c_kind = {"ok": "ok", "groups": "groups", "shape": "shape",
              "overflow": "shape"}.get(status, status)
    try:
        py_out = _gate.check_params(*args)
    except GroupsError as exc:
        py = ("groups", str(exc), None)
    except ShapeError as exc:
        py = ("shape", str(exc), None)
    else:
        py = ("ok", "", tuple(py_out))
    return (c_kind, c_msg, c_out), py


def assert_agree(*args):
    c, py = both(*args)
    assert c == py, f"C gate {c!r} != Python gate {py!r} for {args!r}"
    return c


# A configuration spelled as keyword arguments, with 3-entry lists.
def config(ndim=2, batch=1, cin=4, cout=4, groups=1, in_size=(8, 8, 8),
           kernel=(3, 3, 3), stride=(1, 1, 1), pad_before=(0, 0, 0),
           pad_after=(0, 0, 0), dilation=(1, 1, 1)):
    return (ndim, batch, cin, cout, groups, in_size, kernel, stride, pad_before,
            pad_after, dilation)


TABLE = [
    (config(), "ok"),
    (config(ndim=1, in_size=(10, 0, 0), kernel=(3, 0, 0)), "ok"),
    (config(ndim=3, batch=0), "ok"),
    (config(ndim=0), "shape"),
    (config(ndim=4), "shape"),
    (config(ndim=-1), "shape"),
    (config(batch=-1), "shape"),
    (config(cin=0), "shape"),
    (config(cout=-5), "shape"),
    (config(groups=0), "groups"),
    (config(groups=-3), "groups"),
    (config(cin=12, cout=11, groups=3), "groups"),
    (config(cin=6, cout=8, groups=4), "groups"),
    (config(cin=5, cout=7, groups=4), "groups"),
    (config(cin=2**40 * 3, cout=2**40 * 6 + 1, groups=2**40), "groups"),
    (config(cin=INT64_MAX, cout=INT64_MAX - 1, groups=2), "groups"),
    (config(cin=INT64_MAX, cout=INT64_MAX, groups=INT64_MAX - 2), "groups"),
    (config(in_size=(8, 0, 8)), "shape"),
    (config(kernel=(0, 3, 3)), "shape"),
    (config(stride=(1, 0, 1)), "shape"),
    (config(stride=(1, MAX_EL + 1, 1)), "shape"),
    (config(stride=(INT64_MAX, 1, 1)), "shape"),
    (config(stride=(MAX_EL, 1, 1)), "ok"),
    (config(dilation=(-1, 1, 1)), "shape"),
    (config(dilation=(1, MAX_EL + 1, 1), kernel=(3, 1, 3)), "shape"),
    (config(dilation=(1, MAX_EL, 1), kernel=(3, 1, 3)), "ok"),
    (config(pad_before=(0, -1, 0)), "shape"),
    (config(pad_after=(-1, 0, 0)), "shape"),
    (config(kernel=(9, 3, 3)), "shape"),
    (config(kernel=(9, 3, 3), pad_before=(1, 0, 0)), "ok"),
    (config(kernel=(3, 3, 3), dilation=(4, 1, 1)), "shape"),
    (config(pad_before=(2**62, 0, 0)), "shape"),
    (config(ndim=1, cin=1, cout=1, pad_before=(MAX_EL - 8, 0, 0)), "ok"),
    (config(ndim=1, cin=1, cout=1, pad_before=(MAX_EL - 7, 0, 0)), "shape"),
    (config(pad_before=(MAX_EL - 8, 0, 0)), "shape"),
    (config(pad_before=(INT64_MAX, 0, 0), pad_after=(INT64_MAX, 0, 0)), "shape"),
    (config(in_size=(INT64_MAX, 8, 8)), "shape"),
    (config(ndim=3, pad_before=(2**21, 2**21, 2**21), pad_after=(2**21,) * 3), "shape"),
    (config(ndim=3, in_size=(2**20, 2**20, 2**20), kernel=(1, 1, 1)), "shape"),
    (config(ndim=2, cin=1, cout=1, in_size=(2**30, 2**29, 1), kernel=(1, 1, 1)),
     "ok"),
    (config(ndim=2, cin=1, cout=4, in_size=(2**30, 2**29, 1), kernel=(1, 1, 1)),
     "shape"),
    (config(ndim=2, batch=4, cin=1, cout=1, in_size=(2**30, 2**29, 1),
            kernel=(1, 1, 1)), "shape"),
    (config(ndim=2, batch=MAX_EL, cin=1, cout=1, in_size=(1, 1, 1), kernel=(1, 1, 1)),
     "ok"),
    (config(ndim=2, batch=MAX_EL, cin=2, cout=1, in_size=(1, 1, 1), kernel=(1, 1, 1)),
     "shape"),
    (config(ndim=1, cin=2**31, cout=2**31, kernel=(2**2, 1, 1)), "shape"),
    (config(ndim=3, kernel=(2**21, 2**21, 2**21), in_size=(2**21,) * 3), "shape"),
    (config(ndim=1, cout=MAX_EL, cin=1, in_size=(1, 1, 1), kernel=(1, 1, 1)), "ok"),
    (config(ndim=1, cout=MAX_EL, cin=1, in_size=(2, 1, 1), kernel=(1, 1, 1)),
     "shape"),
    (config(ndim=1, cout=MAX_EL, cin=1, in_size=(1, 1, 1), kernel=(1, 1, 1),
            batch=0), "ok"),
    (config(ndim=1, cout=MAX_EL, cin=2, in_size=(1, 1, 1), kernel=(1, 1, 1)),
     "shape"),
]


@pytest.mark.parametrize("args,outcome", TABLE)
def test_gates_agree_on_table(args, outcome):
    assert assert_agree(*args)[0] == outcome


def test_gate_messages_look_right():
    c, _ = both(*config(cin=12, cout=11, groups=3))
    assert c[1] == ("out_channels=11 is not divisible by groups=3: each group must "
                    "produce the same whole number of output channels. For "
                    "in_channels=12, out_channels=11 the valid groups are [1]; with "
                    "groups=3, use out_channels 9 or 12.")
    c, _ = both(*config(ndim=1, in_size=(10, 1, 1), kernel=(4, 1, 1), stride=(3, 1, 1),
                        pad_before=(1, 0, 0), pad_after=(2, 0, 0)))
    assert c == ("ok", "", ((10 + 3 - 4) // 3 + 1,))


# ---- random sweeps ---------------------------------------------------------------

_edges = [0, 1, 2, 3, MAX_EL - 1, MAX_EL, MAX_EL + 1, 2**62, INT64_MAX, -1, -2,
          INT64_MIN, 2**31, 2**32 + 1, 2**20]
small = st.integers(-2, 12)
big = st.one_of(st.sampled_from(_edges), st.integers(INT64_MIN, INT64_MAX),
                st.integers(0, 2**40))
value = st.one_of(small, small, small, big)
positive = st.one_of(st.integers(1, 16), st.integers(1, 16), big)
triple = st.lists(value, min_size=3, max_size=3)
ptriple = st.lists(positive, min_size=3, max_size=3)


@MANY
@given(ndim=st.integers(-1, 4), batch=value, cin=positive, cout=positive,
       groups=st.one_of(small, positive), in_size=ptriple, kernel=ptriple,
       stride=triple, pad_before=triple, pad_after=triple, dilation=triple)
def test_gates_agree_random(ndim, batch, cin, cout, groups, in_size, kernel, stride,
                            pad_before, pad_after, dilation):
    assert_agree(ndim, batch, cin, cout, groups, in_size, kernel, stride, pad_before,
                 pad_after, dilation)


def _mostly_valid():
    """Configurations that are usually valid or fail late (kernel size,
    overflows), to exercise the output-size arithmetic."""
    dim = st.integers(1, 40)
    return st.tuples(
        st.integers(1, 3), st.integers(0, 5),
        st.sampled_from([1, 2, 3, 4, 6, 8, 12, 16, 48, 2**40, 3 * 2**41]),
        st.sampled_from([1, 2, 3, 4, 6, 8, 12, 16, 96, 2**40, 3 * 2**41]),
        st.sampled_from([1, 2, 3, 4, 6, 8, 16, 2**40]),
        st.lists(dim, min_size=3, max_size=3),
        st.lists(st.integers(1, 9), min_size=3, max_size=3),
        st.lists(st.integers(1, 5), min_size=3, max_size=3),
        st.lists(st.one_of(st.integers(0, 6), st.sampled_from([2**40, 2**59, 2**61])),
                 min_size=3, max_size=3),
        st.lists(st.integers(0, 6), min_size=3, max_size=3),
        st.lists(st.integers(1, 6), min_size=3, max_size=3))


@MANY
@given(_mostly_valid())
def test_gates_agree_mostly_valid(args):
    assert_agree(*args)


@MANY
@given(cin=st.integers(1, INT64_MAX), cout=st.integers(1, INT64_MAX),
       groups=st.one_of(st.integers(-5, 64), st.integers(1, INT64_MAX)))
def test_groups_messages_agree_for_any_channels(cin, cout, groups):
    """The divisor lists and nearest counts of GroupsError, for 64-bit
    channel counts, are the same in C and Python, and check_groups raises
    the same text."""
    c, py = both(1, 1, cin, cout, groups, [1, 1, 1], [1, 1, 1], [1, 1, 1], [0, 0, 0],
                 [0, 0, 0], [1, 1, 1])
    assert c == py
    if c[0] == "groups":
        with pytest.raises(GroupsError) as info:
            _gate.check_groups(cin, cout, groups)
        assert str(info.value) == c[1]


def test_c_entry_point_validates_too():
    """gconv._ccore.conv itself goes through the C gate: called directly with
    an invalid configuration it raises the gate's exception and message and
    leaves the output untouched."""
    x = np.zeros(12 * 4, np.float32)
    w = np.zeros(11 * 4 * 3, np.float32)
    out = np.full(11 * 2, 7.0, np.float32)
    with pytest.raises(GroupsError) as info:
        _ccore.conv(x, w, None, out, 1, 1, 12, 11, 3, [4], [3], [1], [0], [0], [1], 1)
    _, want = both(*config(ndim=1, cin=12, cout=11, groups=3, in_size=(4, 1, 1)))
    assert str(info.value) == want[1]
    assert np.all(out == 7.0)
    with pytest.raises(ShapeError, match="stride 0 in spatial dimension 0"):
        _ccore.conv(x, np.zeros(12 * 12 * 3, np.float32), None, out, 1, 1, 12, 12, 1,
                    [4], [3], [0], [0], [0], [1], 1)
