"""The validation gate: every argument of every convolution is checked here,
once, before a backend is chosen.  Backends receive a :class:`Conv` that
describes a valid convolution and never validate again.

The numeric checks (:func:`check_params`) mirror ``gconv__validate`` in
``csrc/src/gate.c`` check for check and message for message, so the Python
package and the C library reject the same configurations with the same text.
"""

import math
import operator

import numpy as np

from . import _arrays
from ._errors import GroupsError, ShapeError

__all__ = ["Conv", "check_conv", "check_groups", "valid_groups", "check_params",
           "PADDING_MODES"]

#: Largest value of a C int64_t: no size, stride or dilation may exceed it.
INT64_MAX = 2**63 - 1

#: Largest element count of any array: its size in bytes must fit in int64
#: and in size_t (the address space, on a 32-bit platform) -- as gate.c.
MAX_ELEMENTS = min(INT64_MAX, 2**(8 * np.dtype(np.uintp).itemsize) - 1) // 8

#: Largest thread count passed on (a C int); the C core lowers it further.
MAX_THREADS = 2**31 - 1

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

_FLOAT_DTYPES = frozenset(("float32", "float64"))


class Conv:
    """A validated, normalised convolution (always in batched form).

    ``pad_before`` / ``pad_after`` are the padding on each side of each
    spatial dimension, filled as ``padding_mode`` says.
    """

    __slots__ = ("nd", "batched", "batch", "in_channels", "out_channels", "groups",
                 "in_size", "kernel", "stride", "dilation", "pad_before",
                 "pad_after", "padding_mode", "out_size", "dtype")

    def __init__(self, nd, batched, batch, in_channels, out_channels, groups, in_size,
                 kernel, stride, dilation, pad_before, pad_after, padding_mode,
                 out_size, dtype):
        self.nd = nd
        self.batched = batched
        self.batch = batch
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.groups = groups
        self.in_size = in_size
        self.kernel = kernel
        self.stride = stride
        self.dilation = dilation
        self.pad_before = pad_before
        self.pad_after = pad_after
        self.padding_mode = padding_mode
        self.out_size = out_size
        self.dtype = dtype

    @property
    def cin_per_group(self):
        return self.in_channels // self.groups

    @property
    def cout_per_group(self):
        return self.out_channels // self.groups

    @property
    def out_shape(self):
        """Shape of the (batched) output."""
        return (self.batch, self.out_channels) + self.out_size

    @property
    def flops(self):
        """Multiply-adds times two."""
        return (2 * self.batch * self.out_channels * self.cin_per_group
                * math.prod(self.kernel) * math.prod(self.out_size))

    def __repr__(self):
        body = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"Conv({body})"


# ---- divisors and the groups message ---------------------------------------

def _is_prime(n):
    if n < 2:
        return False
    bases = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    for p in bases:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for a in bases:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _rho(n):
    c = 1
    while True:
        x = y = 2
        d = 1
        while d == 1:
            x = (x * x + c) % n
            y = (y * y + c) % n
            y = (y * y + c) % n
            d = math.gcd(abs(x - y), n)
        if d != n:
            return d
        c += 1


def _factor(n, out):
    if n == 1:
        return
    if _is_prime(n):
        out[n] = out.get(n, 0) + 1
        return
    d = _rho(n)
    _factor(d, out)
    _factor(n // d, out)


def _divisors(n):
    """All divisors of n >= 1, ascending (from a factorisation, so fast for
    any n below 2**64)."""
    factors = {}
    p = 2
    while p < 1000 and p * p <= n:
        while n % p == 0:
            factors[p] = factors.get(p, 0) + 1
            n //= p
        p += 1 if p == 2 else 2
    _factor(n, factors)
    divs = [1]
    for prime, exp in factors.items():
        divs = [d * prime**e for d in divs for e in range(exp + 1)]
    return sorted(divs)


def _format_divisors(n):
    divs = _divisors(n)
    if len(divs) <= 16:
        return "[" + ", ".join(map(str, divs)) + "]"
    return ("[" + ", ".join(map(str, divs[:8])) + ", ..., "
            + ", ".join(map(str, divs[-4:])) + f"] ({len(divs)} values)")


def _nearest(c, groups):
    below = c - c % groups
    above = below + groups
    has_above = above <= 2**63 - 1
    if below > 0 and has_above:
        return f"{below} or {above}"
    return str(below if below > 0 else above)


def _groups_message(cin, cout, groups):
    bad_in = groups >= 1 and cin % groups != 0
    bad_out = groups >= 1 and cout % groups != 0
    if groups < 1:
        head = (f"groups={groups} is not valid: groups must be a positive integer "
                "that divides both in_channels and out_channels.")
    elif bad_in and bad_out:
        head = (f"in_channels={cin} and out_channels={cout} are not divisible by "
                f"groups={groups}: each group must receive the same whole number of "
                "input channels and produce the same whole number of output channels.")
    elif bad_in:
        head = (f"in_channels={cin} is not divisible by groups={groups}: each group "
                "must receive the same whole number of input channels.")
    else:
        head = (f"out_channels={cout} is not divisible by groups={groups}: each group "
                "must produce the same whole number of output channels.")
    msg = (f"{head} For in_channels={cin}, out_channels={cout} the valid groups are "
           f"{_format_divisors(math.gcd(cin, cout))}")
    if groups >= 1:
        fixes = []
        if bad_in:
            fixes.append(f"in_channels {_nearest(cin, groups)}")
        if bad_out:
            fixes.append(f"out_channels {_nearest(cout, groups)}")
        msg += f"; with groups={groups}, use " + " and ".join(fixes)
    return msg + "."


# ---- integer arguments -------------------------------------------------------

def _index(value, what):
    """value as a Python int, or TypeError (bools are not counts)."""
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an int, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an int, got {type(value).__name__} "
                        f"{value!r}") from None


def _positive_count(value, what):
    value = _index(value, what)
    if value < 1:
        raise ShapeError(f"{what}={value} must be >= 1")
    return value


def _per_dim(value, nd, what):
    """An int or a sequence of nd ints (or of one int) as a tuple of nd ints."""
    if type(value) is int:
        return (value,) * nd
    if isinstance(value, (tuple, list)):
        if len(value) == nd:
            return tuple(_index(v, what) for v in value)
        if len(value) == 1:
            return (_index(value[0], what),) * nd
        raise ShapeError(f"{what} must be an int or a sequence of {nd} ints, got "
                         f"{tuple(value)!r}")
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return _per_dim(value.tolist(), nd, what)
    return (_index(value, what),) * nd


# ---- the numeric gate (mirrors gate.c) ---------------------------------------

def _check_count_fits(value, what):
    """Counts beyond int64 (no C caller can pass them, no array can have
    them) are rejected before any arithmetic on them: the groups message
    factorises the channel counts, which must stay fast."""
    if value > INT64_MAX:
        raise ShapeError(f"{what}={value} overflows 64-bit arithmetic")


def _check_channels(cin, cout, groups):
    if cin < 1:
        raise ShapeError(f"in_channels={cin} must be >= 1")
    if cout < 1:
        raise ShapeError(f"out_channels={cout} must be >= 1")
    _check_count_fits(cin, "in_channels")
    _check_count_fits(cout, "out_channels")
    if groups < 1 or cin % groups or cout % groups:
        raise GroupsError(_groups_message(cin, cout, groups))


def _check_dims(in_size, kernel, stride, dilation, pad_before, pad_after):
    """The per-dimension range checks; in_size may be None (layers)."""
    for d in range(len(kernel)):
        if in_size is not None and in_size[d] < 1:
            raise ShapeError(f"input size {in_size[d]} in spatial dimension {d} "
                             "must be >= 1")
        if kernel[d] < 1:
            raise ShapeError(f"kernel size {kernel[d]} in spatial dimension {d} "
                             "must be >= 1")
        if stride[d] < 1:
            raise ShapeError(f"stride {stride[d]} in spatial dimension {d} must be >= 1")
        if stride[d] > MAX_ELEMENTS:
            raise ShapeError(f"stride {stride[d]} in spatial dimension {d} overflows "
                             "64-bit arithmetic")
        if dilation[d] < 1:
            raise ShapeError(f"dilation {dilation[d]} in spatial dimension {d} "
                             "must be >= 1")
        if dilation[d] > MAX_ELEMENTS:
            raise ShapeError(f"dilation {dilation[d]} in spatial dimension {d} "
                             "overflows 64-bit arithmetic")
        if pad_before[d] < 0 or pad_after[d] < 0:
            raise ShapeError(f"padding ({pad_before[d]} before, {pad_after[d]} after) "
                             f"in spatial dimension {d} must be >= 0")


def _check_spatial(batch, cin, cout, groups, in_size, kernel, stride, pad_before,
                   pad_after, dilation):
    """Checks of the spatial parameters; returns the output size."""
    nd = len(in_size)
    _check_dims(in_size, kernel, stride, dilation, pad_before, pad_after)
    out = []
    for d in range(nd):
        padded = in_size[d] + pad_before[d] + pad_after[d]
        if padded > MAX_ELEMENTS:
            raise ShapeError(f"the padded input size in spatial dimension {d} "
                             "overflows 64-bit arithmetic")
        span = dilation[d] * (kernel[d] - 1)
        if span > MAX_ELEMENTS:
            raise ShapeError(f"the dilated kernel size in spatial dimension {d} "
                             "overflows 64-bit arithmetic")
        span += 1
        if span > padded:
            raise ShapeError(
                f"the kernel (size {kernel[d]}, dilation {dilation[d]}, so it spans "
                f"{span}) is larger than the padded input (size {in_size[d]} + "
                f"padding {pad_before[d]} + {pad_after[d]} = {padded}) in spatial "
                f"dimension {d}")
        out.append((padded - span) // stride[d] + 1)
    if math.prod(in_size) > MAX_ELEMENTS:
        raise ShapeError("the input's element count overflows 64-bit arithmetic")
    if math.prod(out) > MAX_ELEMENTS:
        raise ShapeError("the output's element count overflows 64-bit arithmetic")
    if (math.prod(kernel) > MAX_ELEMENTS
            or cout * (cin // groups) * math.prod(kernel) > MAX_ELEMENTS):
        raise ShapeError("the weight's element count overflows 64-bit arithmetic")
    if _overflows(batch * cin, math.prod(in_size)):
        raise ShapeError("the input's element count overflows 64-bit arithmetic")
    if _overflows(batch * cout, math.prod(out)):
        raise ShapeError("the output's element count overflows 64-bit arithmetic")
    return tuple(out)


def _overflows(a, b):
    """Whether a (itself perhaps too large) times b overflows, as gate.c sees it."""
    return a > MAX_ELEMENTS or a * b > MAX_ELEMENTS


def check_params(ndim, batch, in_channels, out_channels, groups, input_size,
                 kernel_size, stride, pad_before, pad_after, dilation):
    """The whole numeric gate on the fields of the C ``gconv_params``; returns
    the output spatial size or raises exactly as ``gconv_check_params`` fails.
    Used by the tests that hold the two gates to each other."""
    if ndim < 1 or ndim > 3:
        raise ShapeError(f"ndim={ndim} is not supported: gconv convolves 1, 2 or 3 "
                         "spatial dimensions")
    if batch < 0:
        raise ShapeError(f"batch={batch} must be >= 0")
    _check_channels(in_channels, out_channels, groups)
    return _check_spatial(batch, in_channels, out_channels, groups,
                          tuple(input_size[:ndim]), tuple(kernel_size[:ndim]),
                          tuple(stride[:ndim]), tuple(pad_before[:ndim]),
                          tuple(pad_after[:ndim]), tuple(dilation[:ndim]))


def check_num_threads(n):
    """A thread count as an int >= 1 (TypeError / ValueError otherwise),
    at most MAX_THREADS (larger requests are lowered: the C core caps the
    count anyway, and more threads cannot make a call faster)."""
    n = _index(n, "num_threads")
    if n < 1:
        raise ValueError(f"num_threads must be >= 1, got {n}")
    return min(n, MAX_THREADS)


# ---- public helpers ----------------------------------------------------------

def valid_groups(in_channels, out_channels):
    """The group counts that split ``in_channels`` and ``out_channels`` into
    whole, equal groups (the divisors of their gcd), ascending."""
    cin = _positive_count(in_channels, "in_channels")
    cout = _positive_count(out_channels, "out_channels")
    _check_count_fits(cin, "in_channels")
    _check_count_fits(cout, "out_channels")
    return _divisors(math.gcd(cin, cout))


def check_groups(in_channels, out_channels, groups):
    """``(in_channels // groups, out_channels // groups)``, or the
    :class:`GroupsError` a convolution with these channel counts raises."""
    cin = _index(in_channels, "in_channels")
    cout = _index(out_channels, "out_channels")
    groups = _index(groups, "groups")
    _check_channels(cin, cout, groups)
    return cin // groups, cout // groups


# ---- the convolution gate ----------------------------------------------------

def _dtype_of(array, what):
    name = _arrays.dtype_name(array)
    if name not in _FLOAT_DTYPES:
        raise TypeError(f"{what} has dtype {name}; gconv convolves float32 and "
                        "float64 arrays only")
    return name


def _layout(nd):
    return ("L", "H, W", "D, H, W")[nd - 1]


def check_conv(nd, input, weight, bias, stride, padding, dilation, groups,
               padding_mode, name):
    """Validates the arguments of ``conv{nd}d``.

    Returns ``(conv, x, w, b)``: the :class:`Conv` and the input (with a batch
    axis added when it had none), weight and bias as NumPy arrays or torch
    tensors, never copied or converted between dtypes.
    """
    x = _arrays.as_array(input, "input")
    w = _arrays.as_array(weight, "weight")
    b = None if bias is None else _arrays.as_array(bias, "bias")

    dtype = _dtype_of(x, "input")
    wdtype = _dtype_of(w, "weight")
    if wdtype != dtype:
        raise TypeError(f"weight has dtype {wdtype} but input has dtype {dtype}: "
                        "weight and bias must have the input's dtype (gconv never "
                        "casts silently)")
    if b is not None:
        bdtype = _dtype_of(b, "bias")
        if bdtype != dtype:
            raise TypeError(f"bias has dtype {bdtype} but input has dtype {dtype}: "
                            "weight and bias must have the input's dtype (gconv "
                            "never casts silently)")

    xshape = tuple(x.shape)
    wshape = tuple(w.shape)
    # A configuration that passed before passes again with the same result:
    # everything below depends only on the key (when the arguments are plain
    # ints, tuples of ints or strings, whose equality is exact).
    key = None
    if (type(groups) is int and _plain(stride) and _plain(padding)
            and _plain(dilation) and type(padding_mode) is str):
        key = (nd, name, xshape, wshape, None if b is None else tuple(b.shape), dtype,
               groups, stride, padding, dilation, padding_mode)
        conv = _passed.get(key)
        if conv is not None:
            return conv, (x if conv.batched else x[None]), w, b

    if len(xshape) == nd + 1:
        batched = False
        x = x[None]
        xshape = (1,) + xshape
    elif len(xshape) == nd + 2:
        batched = True
    else:
        raise ShapeError(f"{name} expects a {nd + 1}-D (C_in, {_layout(nd)}) or "
                         f"{nd + 2}-D (N, C_in, {_layout(nd)}) input, got shape "
                         f"{xshape}")
    if len(wshape) != nd + 2:
        raise ShapeError(f"{name} expects a {nd + 2}-D weight (C_out, C_in // groups, "
                         f"{', '.join('k' + c for c in _layout(nd).split(', '))}), "
                         f"got shape {wshape}")

    groups = _index(groups, "groups")
    stride, padding, dilation = _parse_hyper(nd, stride, padding, dilation,
                                             padding_mode)

    batch, cin = xshape[0], xshape[1]
    in_size = xshape[2:]
    cout, w_cin = wshape[0], wshape[1]
    kernel = wshape[2:]
    _check_channels(cin, cout, groups)
    if w_cin * groups != cin:
        _weight_channels_error(cin, cout, groups, wshape)
    if b is not None and tuple(b.shape) != (cout,):
        raise ShapeError(f"bias must have shape (out_channels,) = ({cout},), got "
                         f"shape {tuple(b.shape)}")

    pad_before, pad_after = _resolve_padding(padding, stride, dilation, kernel)
    out_size = _check_spatial(batch, cin, cout, groups, in_size, kernel, stride,
                              pad_before, pad_after, dilation)
    if padding_mode == "reflect" or padding_mode == "circular":
        _check_mode_padding(padding_mode, in_size, pad_before, pad_after)

    conv = Conv(nd, batched, batch, cin, cout, groups, in_size, kernel, stride,
                dilation, pad_before, pad_after, padding_mode, out_size, dtype)
    if key is not None:
        if len(_passed) >= _PASSED_MAX:
            _passed.clear()
        _passed[key] = conv
    return conv, x, w, b


#: Configurations check_conv accepted, by their arguments (a bounded memo:
#: the full check costs more than a small convolution).  Conv objects are
#: never modified after the gate makes them, so calls may share them.
_passed = {}
_PASSED_MAX = 512


def _plain(value):
    """Whether value is an int, a string or a tuple of ints (exactly those
    types: a bool or a NumPy integer equals an int but is checked anew)."""
    t = type(value)
    return t is int or t is str or (t is tuple and all(type(v) is int for v in value))


def _parse_hyper(nd, stride, padding, dilation, padding_mode):
    """stride and dilation as tuples, padding as a tuple or "valid"/"same";
    checks padding_mode."""
    stride = _per_dim(stride, nd, "stride")
    dilation = _per_dim(dilation, nd, "dilation")
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ShapeError(f"padding must be an int, a sequence of {nd} ints, "
                             f"'valid' or 'same', got {padding!r}")
    else:
        padding = _per_dim(padding, nd, "padding")
    if not isinstance(padding_mode, str):
        raise TypeError(f"padding_mode must be a string, got "
                        f"{type(padding_mode).__name__}")
    if padding_mode not in PADDING_MODES:
        raise ShapeError(f"padding_mode must be one of 'zeros', 'reflect', "
                         f"'replicate', 'circular', got {padding_mode!r}")
    return stride, padding, dilation


def _resolve_padding(padding, stride, dilation, kernel):
    """(pad_before, pad_after) for a parsed padding argument."""
    nd = len(kernel)
    if padding == "valid":
        return (0,) * nd, (0,) * nd
    if padding == "same":
        if any(s != 1 for s in stride):
            raise ShapeError(f"padding='same' needs stride 1 in every dimension, got "
                             f"stride={stride}")
        total = [dl * (k - 1) for dl, k in zip(dilation, kernel)]
        return tuple(t // 2 for t in total), tuple(t - t // 2 for t in total)
    return padding, padding


def check_layer(nd, in_channels, out_channels, kernel_size, stride, padding,
                dilation, groups, padding_mode, dtype):
    """Validates the constructor arguments of ``Conv{nd}d``; returns
    ``(kernel, stride, padding, dilation, dtype)`` normalised (padding stays
    "valid"/"same" or becomes a tuple)."""
    cin = _index(in_channels, "in_channels")
    cout = _index(out_channels, "out_channels")
    groups = _index(groups, "groups")
    kernel = _per_dim(kernel_size, nd, "kernel_size")
    stride, padding, dilation = _parse_hyper(nd, stride, padding, dilation,
                                             padding_mode)
    _check_channels(cin, cout, groups)
    pad_before, pad_after = _resolve_padding(padding, stride, dilation, kernel)
    _check_dims(None, kernel, stride, dilation, pad_before, pad_after)
    if (math.prod(kernel) > MAX_ELEMENTS
            or cout * (cin // groups) * math.prod(kernel) > MAX_ELEMENTS):
        raise ShapeError("the weight's element count overflows 64-bit arithmetic")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dtype.name not in _FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype.name}")
    return kernel, stride, padding, dilation, dtype


def _weight_channels_error(cin, cout, groups, wshape):
    need = cin // groups
    msg = (f"weight.shape[1]={wshape[1]} does not match in_channels={cin} with "
           f"groups={groups}: each group receives {need} input channels, so weight "
           f"must have shape (out_channels, in_channels // groups, ...) = "
           f"{(cout, need) + wshape[2:]}.")
    if wshape[1] >= 1 and cin % wshape[1] == 0 and cout % (cin // wshape[1]) == 0:
        msg += f" This weight fits groups={cin // wshape[1]}."
    msg += (f" For in_channels={cin}, out_channels={cout} the valid groups are "
            f"{_format_divisors(math.gcd(cin, cout))}.")
    raise GroupsError(msg)


def _check_mode_padding(mode, in_size, pad_before, pad_after):
    for d, (n, pb, pa) in enumerate(zip(in_size, pad_before, pad_after)):
        if mode == "reflect" and (pb >= n or pa >= n):
            raise ShapeError(f"padding_mode='reflect' needs padding smaller than the "
                             f"input: padding ({pb} before, {pa} after) against input "
                             f"size {n} in spatial dimension {d}")
        if mode == "circular" and (pb > n or pa > n):
            raise ShapeError(f"padding_mode='circular' needs padding no larger than "
                             f"the input: padding ({pb} before, {pa} after) against "
                             f"input size {n} in spatial dimension {d}")
