"""The error table of SPEC section 2: every invalid configuration raises the
documented exception, with the same type and text on every backend, before
any backend runs."""

import math
import re
import time

import numpy as np
import pytest

import gconv
from gconv import BackendError, GroupsError, ShapeError
from conftest import BACKENDS, HAS_TORCH, function, torch


def _arr(shape, dtype="float32"):
    return np.zeros(shape, dtype=dtype)


def _case(nd, xshape, wshape, bshape=None, dtype="float32", wdtype=None, bdtype=None,
          **kwargs):
    x = _arr(xshape, dtype)
    w = _arr(wshape, wdtype or dtype)
    b = None if bshape is None else _arr(bshape, bdtype or dtype)
    return nd, (x, w, b), kwargs


# (id, case, exception, regex the message must match)
CASES = [
    # ---- GroupsError
    ("groups0", _case(2, (1, 4, 5, 5), (4, 4, 3, 3), groups=0), GroupsError,
     r"groups=0 is not valid.*valid groups are \[1, 2, 4\]"),
    ("groups_neg", _case(1, (1, 4, 5), (4, 4, 3), groups=-2), GroupsError,
     r"groups=-2 is not valid"),
    ("cin_not_divisible", _case(2, (1, 6, 5, 5), (8, 1, 3, 3), groups=4), GroupsError,
     r"in_channels=6 is not divisible by groups=4.*whole number of input channels.*"
     r"valid groups are \[1, 2\].*in_channels 4 or 8"),
    ("cout_not_divisible", _case(2, (1, 12, 5, 5), (11, 4, 3, 3), groups=3), GroupsError,
     r"out_channels=11 is not divisible by groups=3.*valid groups are \[1\].*"
     r"with groups=3, use out_channels 9 or 12"),
    ("both_not_divisible", _case(3, (1, 5, 3, 3, 3), (7, 1, 1, 1, 1), groups=4),
     GroupsError, r"in_channels=5 and out_channels=7 are not divisible by groups=4.*"
     r"use in_channels 4 or 8 and out_channels 4 or 8"),
    ("groups_above_channels", _case(1, (1, 2, 5), (2, 1, 3), groups=3), GroupsError,
     r"use in_channels 3 and out_channels 3\."),
    ("weight_channels", _case(2, (1, 8, 5, 5), (4, 2, 3, 3), groups=2), GroupsError,
     r"weight.shape\[1\]=2 does not match in_channels=8 with groups=2.*"
     r"\(4, 4, 3, 3\).*fits groups=4"),
    ("weight_channels_unfit", _case(1, (1, 6, 5), (6, 4, 3), groups=1), GroupsError,
     r"weight.shape\[1\]=4 does not match in_channels=6 with groups=1"),
    ("weight_channels_zero", _case(1, (1, 6, 5), (6, 0, 3), groups=1), GroupsError,
     r"weight.shape\[1\]=0 does not match"),
    # ---- ShapeError: ranks and shapes
    ("input_rank_low", _case(2, (4, 5), (4, 4, 3, 3)), ShapeError,
     r"conv2d expects a 3-D \(C_in, H, W\) or 4-D \(N, C_in, H, W\) input, got shape \(4, 5\)"),
    ("input_rank_high", _case(1, (1, 1, 4, 5), (4, 4, 3)), ShapeError,
     r"conv1d expects a 2-D"),
    ("input_rank_0", _case(3, (), (4, 4, 3, 3, 3)), ShapeError, r"got shape \(\)"),
    ("weight_rank", _case(2, (1, 4, 5, 5), (4, 4, 3)), ShapeError,
     r"conv2d expects a 4-D weight.*got shape \(4, 4, 3\)"),
    ("bias_shape", _case(2, (1, 4, 5, 5), (4, 4, 3, 3), (5,)), ShapeError,
     r"bias must have shape \(out_channels,\) = \(4,\), got shape \(5,\)"),
    ("bias_rank", _case(2, (1, 4, 5, 5), (4, 4, 3, 3), (1, 4)), ShapeError,
     r"bias must have shape"),
    ("bias_scalar", _case(1, (1, 4, 5), (4, 4, 3), ()), ShapeError, r"bias must have"),
    ("in_channels_zero", _case(2, (1, 0, 5, 5), (4, 0, 3, 3)), ShapeError,
     r"in_channels=0 must be >= 1"),
    ("out_channels_zero", _case(2, (1, 4, 5, 5), (0, 4, 3, 3)), ShapeError,
     r"out_channels=0 must be >= 1"),
    ("input_size_zero", _case(2, (1, 4, 0, 5), (4, 4, 1, 1)), ShapeError,
     r"input size 0 in spatial dimension 0 must be >= 1"),
    ("kernel_size_zero", _case(3, (1, 4, 5, 5, 5), (4, 4, 1, 0, 1)), ShapeError,
     r"kernel size 0 in spatial dimension 1 must be >= 1"),
    # ---- ShapeError: hyper-parameters
    ("stride0", _case(2, (1, 4, 5, 5), (4, 4, 3, 3), stride=0), ShapeError,
     r"stride 0 in spatial dimension 0 must be >= 1"),
    ("stride_neg", _case(2, (1, 4, 5, 5), (4, 4, 3, 3), stride=(1, -1)), ShapeError,
     r"stride -1 in spatial dimension 1 must be >= 1"),
    ("dilation0", _case(1, (1, 4, 5), (4, 4, 3), dilation=0), ShapeError,
     r"dilation 0 in spatial dimension 0 must be >= 1"),
    ("padding_neg", _case(3, (1, 4, 5, 5, 5), (4, 4, 3, 3, 3), padding=(0, 0, -1)),
     ShapeError, r"padding \(-1 before, -1 after\) in spatial dimension 2 must be >= 0"),
    ("stride_len", _case(2, (1, 4, 5, 5), (4, 4, 3, 3), stride=(1, 1, 1)), ShapeError,
     r"stride must be an int or a sequence of 2 ints, got \(1, 1, 1\)"),
    ("padding_len", _case(3, (1, 4, 5, 5, 5), (4, 4, 3, 3, 3), padding=(1, 1)),
     ShapeError, r"padding must be an int or a sequence of 3 ints"),
    ("kernel_too_large", _case(2, (1, 4, 5, 5), (4, 4, 3, 6)), ShapeError,
     r"the kernel \(size 6, dilation 1, so it spans 6\) is larger than the padded "
     r"input \(size 5 \+ padding 0 \+ 0 = 5\) in spatial dimension 1"),
    ("dilated_kernel_too_large", _case(1, (1, 4, 9), (4, 4, 3), dilation=5),
     ShapeError, r"the kernel \(size 3, dilation 5, so it spans 11\) is larger than "
     r"the padded input \(size 9 \+ padding 0 \+ 0 = 9\) in spatial dimension 0"),
    ("same_strided", _case(2, (1, 4, 5, 5), (4, 4, 3, 3), padding="same", stride=2),
     ShapeError, r"padding='same' needs stride 1 in every dimension, got stride=\(2, 2\)"),
    ("padding_string", _case(2, (1, 4, 5, 5), (4, 4, 3, 3), padding="full"), ShapeError,
     r"padding must be an int, a sequence of 2 ints, 'valid' or 'same', got 'full'"),
    ("padding_mode", _case(2, (1, 4, 5, 5), (4, 4, 3, 3), padding_mode="mirror"),
     ShapeError, r"padding_mode must be one of 'zeros', 'reflect', 'replicate', "
     r"'circular', got 'mirror'"),
    ("reflect_too_wide", _case(1, (1, 4, 3), (4, 4, 3), padding=3, padding_mode="reflect"),
     ShapeError, r"padding_mode='reflect' needs padding smaller than the input"),
    ("circular_too_wide", _case(2, (1, 4, 3, 3), (4, 4, 3, 3), padding=(1, 4),
                                padding_mode="circular"),
     ShapeError, r"padding_mode='circular' needs padding no larger than the input"),
    # ---- ShapeError: overflow, never a crash or a huge allocation
    ("padding_overflow", _case(1, (1, 4, 5), (4, 4, 3), padding=2**62), ShapeError,
     r"padded input size in spatial dimension 0 overflows 64-bit arithmetic"),
    ("padding_overflow_same_mode", _case(1, (1, 4, 5), (4, 4, 3), padding=2**62,
                                         padding_mode="replicate"),
     ShapeError, r"overflows 64-bit arithmetic"),
    ("padding_huge_int", _case(1, (1, 4, 5), (4, 4, 3), padding=2**70), ShapeError,
     r"overflows 64-bit arithmetic"),
    ("dilation_overflow", _case(1, (1, 4, 5), (4, 4, 9), dilation=2**59), ShapeError,
     r"dilated kernel size in spatial dimension 0 overflows"),
    ("output_overflow", _case(3, (1, 4, 1, 1, 1), (4, 4, 1, 1, 1), padding=2**30),
     ShapeError, r"the output's element count overflows 64-bit arithmetic"),
    ("output_overflow_batch", _case(2, (2, 4, 1, 1), (4, 4, 1, 1),
                                    padding=(2**29, 2**29)),
     ShapeError, r"overflows 64-bit arithmetic"),
    ("stride_huge", _case(1, (1, 4, 5), (4, 4, 3), stride=2**80), ShapeError,
     r"stride 1208925819614629174706176 in spatial dimension 0 overflows 64-bit"),
    ("stride_above_limit", _case(1, (1, 4, 5), (4, 4, 3), stride=2**61), ShapeError,
     r"stride 2305843009213693952 in spatial dimension 0 overflows 64-bit"),
    ("dilation_huge_kernel1", _case(2, (1, 4, 5, 5), (4, 4, 1, 1), dilation=(1, 2**64)),
     ShapeError, r"dilation 18446744073709551616 in spatial dimension 1 overflows"),
    ("groups_huge", _case(1, (1, 4, 5), (4, 4, 3), groups=2**70), GroupsError,
     r"groups=1180591620717411303424 is not divisible|not divisible by "
     r"groups=1180591620717411303424"),
    # ---- TypeError: dtypes
    ("int_input", _case(2, (1, 4, 5, 5), (4, 4, 3, 3), dtype="int64"), TypeError,
     r"input has dtype int64; gconv convolves float32 and float64 arrays only"),
    ("int32_weight", _case(1, (1, 4, 5), (4, 4, 3), wdtype="int32"), TypeError,
     r"weight has dtype int32"),
    ("complex_input", _case(1, (1, 4, 5), (4, 4, 3), dtype="complex64"), TypeError,
     r"input has dtype complex64"),
    ("bool_input", _case(1, (1, 4, 5), (4, 4, 3), dtype="bool"), TypeError,
     r"input has dtype bool"),
    ("object_input", _case(1, (1, 4, 5), (4, 4, 3), dtype="object"), TypeError,
     r"input has dtype object"),
    ("float16_input", _case(1, (1, 4, 5), (4, 4, 3), dtype="float16"), TypeError,
     r"input has dtype float16"),
    ("uint8_input", _case(1, (1, 4, 5), (4, 4, 3), dtype="uint8"), TypeError,
     r"input has dtype uint8"),
    ("mismatched_weight", _case(2, (1, 4, 5, 5), (4, 4, 3, 3), wdtype="float64"),
     TypeError, r"weight has dtype float64 but input has dtype float32: weight and "
     r"bias must have the input's dtype"),
    ("mismatched_bias", _case(2, (1, 4, 5, 5), (4, 4, 3, 3), (4,), bdtype="float64"),
     TypeError, r"bias has dtype float64 but input has dtype float32"),
    ("int_bias", _case(2, (1, 4, 5, 5), (4, 4, 3, 3), (4,), bdtype="int8"),
     TypeError, r"bias has dtype int8"),
    # ---- TypeError: argument types
    ("groups_float", _case(1, (1, 4, 5), (4, 2, 3), groups=2.0), TypeError,
     r"groups must be an int"),
    ("groups_bool", _case(1, (1, 4, 5), (4, 4, 3), groups=True), TypeError,
     r"groups must be an int"),
    ("stride_float", _case(1, (1, 4, 5), (4, 4, 3), stride=1.5), TypeError,
     r"stride must be an int"),
    ("padding_none", _case(1, (1, 4, 5), (4, 4, 3), padding=None), TypeError,
     r"padding must be an int"),
    ("dilation_str_elem", _case(2, (1, 4, 5, 5), (4, 4, 3, 3), dilation=(1, "2")),
     TypeError, r"dilation must be an int"),
    ("padding_mode_type", _case(1, (1, 4, 5), (4, 4, 3), padding_mode=0), TypeError,
     r"padding_mode must be a string"),
]


def _run(nd, arrays, kwargs, backend):
    try:
        function(nd)(*arrays, backend=backend, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the type is what is tested
        return exc
    return None


@pytest.mark.parametrize("case_id,case,exc_type,pattern", CASES,
                         ids=[c[0] for c in CASES])
def test_error_table(case_id, case, exc_type, pattern, spy):
    nd, arrays, kwargs = case
    copies = [None if a is None else a.copy() for a in arrays]
    errors = {name: _run(nd, arrays, kwargs, name) for name in BACKENDS + ["spy"]}
    assert spy.calls == [], "a backend ran for an invalid configuration"
    first = errors["c"]
    assert first is not None, f"{case_id}: no exception"
    assert type(first) is exc_type, f"{case_id}: {type(first).__name__}: {first}"
    assert re.search(pattern, str(first)), f"{case_id}: {first}"
    for name, err in errors.items():
        assert type(err) is type(first), (name, err)
        assert str(err) == str(first), (name, str(err), str(first))
    for a, c in zip(arrays, copies):
        if a is not None:
            np.testing.assert_array_equal(a, c)


def test_exception_hierarchy():
    assert issubclass(GroupsError, ValueError)
    assert issubclass(ShapeError, ValueError)
    assert issubclass(BackendError, RuntimeError)
    assert not issubclass(GroupsError, ShapeError)
    assert not issubclass(ShapeError, GroupsError)


def test_spec_example_message():
    """The example of SPEC section 2, word for word in the information."""
    x = np.zeros((1, 12, 4, 4), np.float32)
    w = np.zeros((11, 4, 3, 3), np.float32)
    with pytest.raises(GroupsError) as info:
        gconv.conv2d(x, w, groups=3)
    msg = str(info.value)
    for part in ("out_channels=11", "not divisible by groups=3", "each group must",
                 "same whole number of output channels", "in_channels=12",
                 "valid groups are [1]", "use out_channels 9 or 12"):
        assert part in msg, (part, msg)
    with pytest.raises(GroupsError) as info2:
        gconv.check_groups(12, 11, 3)
    assert str(info2.value) == msg
    with pytest.raises(GroupsError) as info3:
        gconv.Conv2d(12, 11, 3, groups=3)
    assert str(info3.value) == msg


def test_errors_identical_for_tensors_and_arrays():
    if not HAS_TORCH:
        pytest.skip("torch is not installed")
    for case_id, (nd, arrays, kwargs), exc_type, _ in CASES:
        if any(a is not None and a.dtype in (np.dtype("object"), np.dtype("uint16"))
               for a in arrays):
            continue
        tensors = [None if a is None else torch.from_numpy(a) for a in arrays]
        for name in BACKENDS:
            e_np = _run(nd, arrays, kwargs, name)
            e_t = _run(nd, tensors, kwargs, name)
            assert type(e_np) is type(e_t), (case_id, name, e_np, e_t)
            assert str(e_np) == str(e_t), (case_id, name, str(e_np), str(e_t))


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "complex64", "int32", "bool"])
def test_unsupported_tensor_dtypes(backend, dtype):
    x = torch.zeros(1, 4, 5, dtype=getattr(torch, dtype))
    w = torch.zeros(4, 4, 3, dtype=getattr(torch, dtype))
    with pytest.raises(TypeError, match=f"input has dtype {dtype}; gconv convolves"):
        gconv.conv1d(x, w, backend=backend)


def test_unreadable_input_is_type_error(backend):
    with pytest.raises(TypeError, match="input cannot be read as an array"):
        gconv.conv1d([[[1.0, 2.0]], [[1.0]]], np.zeros((1, 1, 1)), backend=backend)
    with pytest.raises(TypeError, match="input has dtype"):
        gconv.conv1d("abc", np.zeros((1, 1, 1)), backend=backend)


def test_gate_runs_before_backend_choice(spy):
    """An invalid configuration is reported even with an unknown or
    unavailable backend: the gate runs first."""
    x = np.zeros((1, 12, 4, 4), np.float32)
    w = np.zeros((11, 4, 3, 3), np.float32)
    with pytest.raises(GroupsError):
        gconv.conv2d(x, w, groups=3, backend="no-such-backend")
    with gconv.use_backend("spy"):
        with pytest.raises(GroupsError):
            gconv.conv2d(x, w, groups=3)
        with pytest.raises(ShapeError):
            gconv.conv2d(x, np.zeros((12, 12, 5, 5), np.float32))
        with pytest.raises(ValueError, match="num_threads must be >= 1"):
            gconv.conv2d(x, np.zeros((12, 12, 3, 3), np.float32), num_threads=0)
    assert spy.calls == []


def test_remembered_configurations_are_still_checked():
    """The gate remembers configurations it accepted, but an argument that
    only compares equal to an accepted one (True for 1, 2.0 for 2) is
    checked anew, and every other change of shape or dtype too."""
    from gconv import _gate
    x = np.ones((1, 4, 5, 5), np.float32)
    w = np.ones((4, 2, 3, 3), np.float32)
    ok = gconv.conv2d(x, w, groups=2, stride=1, padding=1, backend="numpy")
    assert np.array_equal(gconv.conv2d(x, w, groups=2, stride=1, padding=1,
                                       backend="numpy"), ok)
    with pytest.raises(TypeError, match="stride must be an int, got True"):
        gconv.conv2d(x, w, groups=2, stride=True, padding=1)
    with pytest.raises(TypeError, match="groups must be an int, got float 2.0"):
        gconv.conv2d(x, w, groups=2.0, stride=1, padding=1)
    with pytest.raises(TypeError, match="weight has dtype float64"):
        gconv.conv2d(x, w.astype(np.float64), groups=2, stride=1, padding=1)
    with pytest.raises(ShapeError):
        gconv.conv2d(x[:, :, :2], w, groups=2, stride=1, padding=0)
    # unbatched input after the batched one: same check, no batch axis back
    assert gconv.conv2d(x[0], w, groups=2, stride=1, padding=1,
                        backend="numpy").shape == ok.shape[1:]
    # bounded
    for n in range(_gate._PASSED_MAX + 10):
        _gate.check_conv(1, np.zeros((1, 1, n + 3), np.float32),
                         np.zeros((1, 1, 3), np.float32), None, 1, 0, 1, 1, "zeros",
                         "conv1d")
    assert len(_gate._passed) <= _gate._PASSED_MAX


@pytest.mark.parametrize("value,exc", [(0, ValueError), (-3, ValueError),
                                       ("2", TypeError), (1.0, TypeError),
                                       (True, TypeError)])
def test_num_threads_argument_validation(backend, value, exc):
    x = np.zeros((1, 2, 5), np.float32)
    w = np.zeros((2, 2, 3), np.float32)
    with pytest.raises(exc, match="num_threads"):
        gconv.conv1d(x, w, backend=backend, num_threads=value)


# ---- BackendError --------------------------------------------------------------------

def _valid_call(**kwargs):
    return gconv.conv1d(np.zeros((1, 2, 5)), np.zeros((2, 2, 3)), **kwargs)


def test_unknown_backend():
    with pytest.raises(BackendError) as info:
        _valid_call(backend="cuda")
    msg = str(info.value)
    assert "unknown backend 'cuda'" in msg
    assert f"Available backends: {gconv.available_backends()}" in msg
    for name in ("c", "numpy", "torch"):
        assert name in msg
    with pytest.raises(BackendError, match="must be a backend name"):
        _valid_call(backend=3)


def test_unknown_backend_in_use_backend_and_environment(monkeypatch):
    with pytest.raises(BackendError, match="unknown backend 'nope'"):
        with gconv.use_backend("nope"):
            pass
    monkeypatch.setenv("GCONV_BACKEND", "nope")
    with pytest.raises(BackendError, match=r"unknown backend 'nope' \(GCONV_BACKEND\)"):
        _valid_call()


def test_unavailable_backend_names_the_reason(monkeypatch):
    from gconv._backends import REGISTRY
    monkeypatch.setattr(REGISTRY["torch"], "unavailable",
                        lambda: "torch is not installed")
    assert gconv.backends()["torch"] == "torch is not installed"
    assert "torch" not in gconv.available_backends()
    with pytest.raises(BackendError) as info:
        _valid_call(backend="torch")
    msg = str(info.value)
    assert "backend 'torch'" in msg and "is not available here" in msg
    assert "torch is not installed" in msg
    assert "Available backends: ['c', 'numpy']" in msg
    # the auto choice is unaffected
    assert _valid_call().shape == (1, 2, 3)


# ---- check_groups and valid_groups -------------------------------------------------

def _brute_divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


@pytest.mark.parametrize("cin,cout", [(1, 1), (12, 18), (64, 64), (32, 96), (7, 13),
                                      (360, 240), (1, 1000), (97, 97)])
def test_valid_groups_small(cin, cout):
    assert gconv.valid_groups(cin, cout) == _brute_divisors(math.gcd(cin, cout))


def test_valid_groups_huge_is_fast():
    t0 = time.perf_counter()
    got = gconv.valid_groups(2**40 * 3, 2**40 * 6)
    assert got == sorted(2**a * 3**b for a in range(41) for b in range(2))
    p, q = 2147483647, 2305843009213693951      # primes 2**31-1 and 2**61-1
    assert gconv.valid_groups(q, q) == [1, q]
    assert gconv.valid_groups(p * 4294967291, p * 4294967291) == [
        1, p, 4294967291, p * 4294967291]
    n = 2**2 * 3**3 * 5 * 7 * 11 * 13 * 17 * 19 * 23 * 29 * 31 * 37 * 41
    got = gconv.valid_groups(n, n * 2)
    assert len(got) == 3 * 4 * 2**11 and got[0] == 1 and got[-1] == n
    assert all(n % d == 0 for d in got) and got == sorted(set(got))
    assert time.perf_counter() - t0 < 5.0


def test_valid_groups_rejects():
    with pytest.raises(ShapeError, match="in_channels=0 must be >= 1"):
        gconv.valid_groups(0, 4)
    with pytest.raises(ShapeError, match="out_channels=-1 must be >= 1"):
        gconv.valid_groups(4, -1)
    with pytest.raises(TypeError):
        gconv.valid_groups(4.0, 4)
    assert gconv.valid_groups(np.int64(12), np.int32(8)) == [1, 2, 4]


@pytest.mark.parametrize("cin,cout,groups,want", [
    (8, 16, 4, (2, 4)), (3, 3, 3, (1, 1)), (64, 128, 1, (64, 128)),
    (2**40 * 3, 2**40 * 6, 2**40, (3, 6))])
def test_check_groups_ok(cin, cout, groups, want):
    assert gconv.check_groups(cin, cout, groups) == want


@pytest.mark.parametrize("cin,cout,groups", [
    (12, 11, 3), (6, 8, 4), (5, 7, 4), (4, 4, 0), (4, 4, -4), (2, 2, 3),
    (2**40 * 3, 2**40 * 6 + 1, 2**40), (2**62, 2**62, 3), (1, 2**63 - 1, 2)])
def test_check_groups_matches_convolution(cin, cout, groups):
    with pytest.raises(GroupsError) as info:
        gconv.check_groups(cin, cout, groups)
    msg = str(info.value)
    assert f"in_channels={cin}" in msg and f"out_channels={cout}" in msg
    assert f"groups={groups}" in msg
    listed = re.search(r"valid groups are (\[[^\]]*\])", msg).group(1)
    valid = gconv.valid_groups(cin, cout)
    if len(valid) <= 16:
        assert listed == str(valid)
    if cin * cout < 10**6:  # small enough to build real arrays
        x = np.zeros((1, cin, 3), np.float32)
        w = np.zeros((cout, max(cin // max(groups, 1), 1), 1), np.float32)
        with pytest.raises(GroupsError) as info2:
            gconv.conv1d(x, w, groups=groups)
        assert str(info2.value) == msg


def test_groups_message_nearest_counts():
    cases = {(12, 11, 3): "use out_channels 9 or 12.",
             (6, 8, 4): "use in_channels 4 or 8.",
             (2, 6, 3): "use in_channels 3.",
             (5, 7, 4): "use in_channels 4 or 8 and out_channels 4 or 8."}
    for (cin, cout, groups), tail in cases.items():
        with pytest.raises(GroupsError) as info:
            gconv.check_groups(cin, cout, groups)
        assert str(info.value).endswith(tail), str(info.value)


def test_groups_message_many_divisors():
    n = 2**5 * 3**3 * 5 * 7                    # 6 * 4 * 2 * 2 = 96 divisors
    with pytest.raises(GroupsError) as info:
        gconv.check_groups(n, n, n + 1)
    msg = str(info.value)
    assert "[1, 2, 3, 4, 5, 6, 7, 8, ..., " in msg
    assert f"{n // 3}, {n // 2}, {n}] (96 values)" in msg


def test_check_groups_types():
    with pytest.raises(TypeError):
        gconv.check_groups(4, 4, 2.0)
    with pytest.raises(TypeError):
        gconv.check_groups(True, 4, 1)
    with pytest.raises(ShapeError, match="in_channels=0"):
        gconv.check_groups(0, 4, 1)
    assert gconv.check_groups(np.int64(4), 8, np.int16(2)) == (2, 4)


# ---- random invalid configurations ------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402


@st.composite
def _maybe_invalid(draw):
    nd = draw(st.integers(1, 3))
    cin = draw(st.integers(1, 8))
    cout = draw(st.integers(1, 8))
    groups = draw(st.integers(-1, 9))
    wcin = draw(st.sampled_from([max(cin // max(groups, 1), 1), 1, 2, 3]))
    xrank = draw(st.sampled_from([nd + 2, nd + 2, nd + 1, nd, nd + 3]))
    wrank = draw(st.sampled_from([nd + 2, nd + 2, nd + 2, nd + 1]))
    size = draw(st.lists(st.integers(0, 6), min_size=xrank, max_size=xrank))
    kernel = draw(st.lists(st.integers(0, 5), min_size=max(wrank - 2, 0),
                           max_size=max(wrank - 2, 0)))
    xshape = tuple(size)
    if xrank >= 2:
        xshape = xshape[:-nd - 1] + (cin,) + xshape[-nd:] if xrank > nd else xshape
    wshape = (cout, wcin) + tuple(kernel)
    bshape = draw(st.sampled_from([None, (cout,), (cout,), (cout + 1,), (1, cout)]))
    dtypes = ["float32", "float64", "int32", "float16", "complex64"]
    xdtype = draw(st.sampled_from(dtypes[:2] * 4 + dtypes))
    wdtype = draw(st.sampled_from([xdtype] * 6 + dtypes))
    bdtype = draw(st.sampled_from([xdtype] * 6 + dtypes))
    hyper = st.one_of(st.integers(-1, 3), st.lists(st.integers(-1, 3), min_size=1,
                                                   max_size=4))
    kwargs = dict(stride=draw(hyper), dilation=draw(hyper), groups=groups,
                  padding=draw(st.one_of(hyper, st.sampled_from(["same", "valid",
                                                                 "full"]))),
                  padding_mode=draw(st.sampled_from(["zeros", "reflect", "replicate",
                                                     "circular", "wrap"])))
    x = np.zeros(xshape, xdtype)
    w = np.zeros(wshape, wdtype)
    b = None if bshape is None else np.zeros(bshape, bdtype)
    return nd, (x, w, b), kwargs


@settings(max_examples=max(1, settings.default.max_examples * 5))
@given(_maybe_invalid())
def test_random_configurations_same_outcome_everywhere(case):
    """Any configuration, valid or not: every backend either succeeds with the
    same output shape or raises the same documented exception with the same
    text; no backend runs for an invalid one."""
    from gconv._backends import REGISTRY
    from conftest import SpyBackend
    spy = SpyBackend()
    REGISTRY["spy"] = spy
    try:
        nd, arrays, kwargs = case
        outcomes = {}
        for name in BACKENDS + ["spy"]:
            try:
                out = function(nd)(*arrays, backend=name, **kwargs)
            except (GroupsError, ShapeError, TypeError) as exc:
                outcomes[name] = (type(exc), str(exc))
            else:
                outcomes[name] = ("ok", out.shape, out.dtype)
        assert len(set(outcomes.values())) == 1, outcomes
        if outcomes["spy"][0] != "ok":
            assert spy.calls == []
    finally:
        del REGISTRY["spy"]
