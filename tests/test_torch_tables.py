"""PyTorch's own convolution test tables, run through every gconv backend:

* the OpInfo entries of nn.functional.conv1d/2d/3d (op_db): their
  sample_inputs against torch's result, with NumPy arrays and with tensors,
  and their error_inputs, which every backend must reject with one of the
  documented exceptions, identical in type and text across backends;
* the module tests of nn.Conv1d/2d/3d (module_db and the padding-mode tables
  of common_nn), mapped onto gconv.Conv1d/2d/3d with the weights copied in.

Skipped as a whole when torch is not installed.
"""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
try:
    from torch.testing._internal.common_methods_invocations import op_db
    from torch.testing._internal.common_modules import module_db
    from torch.testing._internal import common_nn
except ImportError as exc:  # torch's test helpers need expecttest
    pytest.skip(f"torch's test tables cannot be imported ({exc}); "
                "pip install expecttest", allow_module_level=True)

import gconv  # noqa: E402
from gconv import GroupsError, ShapeError  # noqa: E402
from conftest import BACKENDS, assert_conv_close, layer_class  # noqa: E402

OPS = {op.name: op for op in op_db
       if op.name in ("nn.functional.conv1d", "nn.functional.conv2d",
                      "nn.functional.conv3d")}
FLOATS = (torch.float32, torch.float64)
GCONV_FN = {"nn.functional.conv1d": gconv.conv1d, "nn.functional.conv2d": gconv.conv2d,
            "nn.functional.conv3d": gconv.conv3d}
TORCH_FN = {"nn.functional.conv1d": torch.nn.functional.conv1d,
            "nn.functional.conv2d": torch.nn.functional.conv2d,
            "nn.functional.conv3d": torch.nn.functional.conv3d}
DOCUMENTED = (GroupsError, ShapeError, TypeError)


def test_tables_present():
    """The tables this module relies on exist in the installed torch."""
    assert set(OPS) == set(GCONV_FN)
    assert _module_infos()
    assert len(_common_nn_entries()) >= 30


def _split(sample):
    """(input, weight, bias, kwargs) of a conv SampleInput."""
    args = list(sample.args)
    weight = args.pop(0) if args else sample.kwargs["weight"]
    bias = args.pop(0) if args else sample.kwargs.get("bias")
    kwargs = dict(sample.kwargs)
    kwargs.pop("weight", None)
    kwargs.pop("bias", None)
    names = ("stride", "padding", "dilation", "groups")
    kwargs.update(zip(names, args))
    return sample.input, weight, bias, kwargs


def _np(t):
    return None if t is None else t.detach().cpu().numpy()


def _samples(op_name, dtype):
    return list(OPS[op_name].sample_inputs("cpu", dtype, requires_grad=False))


@pytest.mark.parametrize("op_name", sorted(GCONV_FN))
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_opinfo_samples(op_name, dtype):
    samples = _samples(op_name, dtype)
    assert samples
    for sample in samples:
        x, w, b, kwargs = _split(sample)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            want = TORCH_FN[op_name](x.double(), w.double(),
                                     None if b is None else b.double(), **kwargs)
            want_same_dtype = TORCH_FN[op_name](x, w, b, **kwargs)
        for name in BACKENDS:
            # NumPy arrays in, NumPy out
            got = GCONV_FN[op_name](_np(x), _np(w), _np(b), backend=name, **kwargs)
            assert isinstance(got, np.ndarray), (name, sample)
            assert_conv_close(got, _np(x), _np(w), _np(b), expected=want.numpy(),
                              **kwargs)
            # tensors in, tensor out
            got_t = GCONV_FN[op_name](x, w, b, backend=name, **kwargs)
            assert isinstance(got_t, torch.Tensor) and got_t.dtype == dtype
            assert got_t.shape == want_same_dtype.shape
            assert_conv_close(got_t, _np(x), _np(w), _np(b), expected=want.numpy(),
                              **kwargs)


@pytest.mark.parametrize("op_name", sorted(GCONV_FN))
@pytest.mark.parametrize("dtype", [torch.int64, torch.float16, torch.bfloat16,
                                   torch.complex64, torch.complex128], ids=str)
def test_opinfo_samples_outside_spec(op_name, dtype):
    """Dtypes torch supports and gconv does not: a TypeError naming the
    dtype, identical on every backend."""
    if dtype not in OPS[op_name].supported_dtypes("cpu"):
        pytest.skip(f"torch does not sample {dtype} for {op_name}")
    samples = _samples(op_name, dtype)
    assert samples
    for sample in samples:
        x, w, b, kwargs = _split(sample)
        texts = set()
        for name in BACKENDS:
            variants = [(x, w, b)]
            if dtype != torch.bfloat16:  # NumPy has no bfloat16
                variants.append((_np(x), _np(w), _np(b)))
            for args in variants:
                with pytest.raises(TypeError) as info:
                    GCONV_FN[op_name](*args, backend=name, **kwargs)
                texts.add(str(info.value))
        assert len(texts) == 1, texts
        assert "gconv convolves float32 and float64" in texts.pop()


def _error_inputs(op_name):
    op = OPS[op_name]
    func = getattr(op, "error_inputs_func", None)
    if func is not None:
        return list(func(op, "cpu"))
    return list(op.error_inputs("cpu"))


@pytest.mark.parametrize("op_name", sorted(GCONV_FN))
def test_opinfo_error_inputs(op_name):
    errors = _error_inputs(op_name)
    assert errors
    for error in errors:
        x, w, b, kwargs = _split(error.sample_input)
        # torch itself rejects it
        with pytest.raises(error.error_type):
            TORCH_FN[op_name](x, w, b, **kwargs)
        outcomes = []
        for name in BACKENDS:
            for args in ((x, w, b), (_np(x), _np(w), _np(b))):
                try:
                    GCONV_FN[op_name](*args, backend=name, **kwargs)
                except DOCUMENTED as exc:
                    outcomes.append((type(exc), str(exc)))
                else:
                    pytest.fail(f"{op_name} accepted an error input of torch "
                                f"({error.error_regex!r}) on backend {name}: "
                                f"{error.sample_input}")
        assert len(set(outcomes)) == 1, (error.error_regex, outcomes)


def _expected_class(error_regex):
    """The gconv exception class for one of torch's conv error messages."""
    if "groups" in error_regex or "expected weight to be at least" in error_regex:
        return GroupsError
    if "should be the same" in error_regex:
        return TypeError
    return ShapeError


def _justified(exc, x, w, b, kwargs, nd, error_regex):
    """Whether the class gconv raised describes a real fault of the input
    (an input can have several; gconv reports the first its gate finds)."""
    dtypes = {str(t.dtype) for t in (x, w, b) if t is not None}
    if isinstance(exc, TypeError):
        return dtypes - {"torch.float32", "torch.float64"} or len(dtypes) > 1
    if isinstance(exc, GroupsError):
        groups = kwargs.get("groups", 1)
        cin, cout = x.shape[-nd - 1], w.shape[0]
        return (groups < 1 or cin % groups or cout % groups
                or w.shape[1] * groups != cin)
    wrong_rank = w.ndim != nd + 2 or x.ndim not in (nd + 1, nd + 2)
    return wrong_rank or _expected_class(error_regex) is ShapeError


@pytest.mark.parametrize("op_name", sorted(GCONV_FN))
def test_opinfo_error_inputs_classes(op_name):
    """Each of torch's error inputs maps onto a class SPEC section 2 gives
    to one of its faults (dtype -> TypeError, channels and groups ->
    GroupsError, shapes and hyper-parameters -> ShapeError), and a sample
    with a single fault gets exactly the class of torch's message."""
    nd = int(op_name[-2])
    for error in _error_inputs(op_name):
        x, w, b, kwargs = _split(error.sample_input)
        with pytest.raises(DOCUMENTED) as info:
            GCONV_FN[op_name](x, w, b, **kwargs)
        assert _justified(info.value, x, w, b, kwargs, nd, error.error_regex), (
            error.error_regex, info.value)
    single = [e for e in _error_inputs(op_name) if "groups" in e.error_regex]
    for error in single:
        with pytest.raises(GroupsError):
            x, w, b, kwargs = _split(error.sample_input)
            GCONV_FN[op_name](x, w, b, **kwargs)


# ---- module tables -------------------------------------------------------------------

def _module_infos():
    return [m for m in module_db
            if m.module_cls in (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)]


def _gconv_layer(module, backend):
    nd = module.weight.ndim - 2
    dtype = str(module.weight.dtype).rpartition(".")[2]
    layer = layer_class(nd)(
        module.in_channels, module.out_channels, module.kernel_size,
        stride=module.stride, padding=module.padding, dilation=module.dilation,
        groups=module.groups, bias=module.bias is not None,
        padding_mode=module.padding_mode, dtype=dtype, backend=backend)
    assert layer.weight.shape == tuple(module.weight.shape)
    assert (layer.bias is None) == (module.bias is None)
    layer.weight = module.weight.detach().numpy().copy()
    if module.bias is not None:
        assert layer.bias.shape == tuple(module.bias.shape)
        layer.bias = module.bias.detach().numpy().copy()
    return layer


def _check_module(module, x):
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want = module(x)
        want64 = module.double()(x.double()).numpy()
        module.to(x.dtype)
    for name in BACKENDS:
        layer = _gconv_layer(module, name)
        got = layer(x.numpy())
        assert isinstance(got, np.ndarray) and got.shape == tuple(want.shape)
        got_t = layer(x)
        assert isinstance(got_t, torch.Tensor) and got_t.dtype == x.dtype
        kwargs = dict(stride=module.stride, padding=module.padding,
                      dilation=module.dilation, groups=module.groups,
                      padding_mode=module.padding_mode)
        b = None if layer.bias is None else layer.bias
        for out in (got, got_t):
            assert_conv_close(out, x.numpy(), layer.weight, b, expected=want64, **kwargs)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_module_db(dtype):
    infos = _module_infos()
    assert len(infos) == 3
    count = 0
    for info in infos:
        for mi in info.module_inputs_func(info, device="cpu", dtype=dtype,
                                          requires_grad=False, training=False):
            ci = mi.constructor_input
            module = info.module_cls(*ci.args, **ci.kwargs).to(dtype)
            _check_module(module, mi.forward_input.args[0])
            count += 1
    assert count >= 12


def _common_nn_entries():
    out = []
    for entry in common_nn.get_new_module_tests() + list(common_nn.module_tests):
        name = entry.get("fullname") or entry.get("module_name", "")
        if entry.get("module_name") in ("Conv1d", "Conv2d", "Conv3d") or \
                name.split("_")[0] in ("Conv1d", "Conv2d", "Conv3d"):
            out.append(entry)
    return out


def _entry_id(entry):
    return entry.get("fullname") or (entry["module_name"]
                                     + ("_" + entry["desc"] if entry.get("desc") else ""))


@pytest.mark.parametrize("entry", _common_nn_entries(), ids=_entry_id)
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_common_nn_module_tests(entry, dtype):
    """The nn.ConvNd tables of torch's common_nn, padding modes included."""
    if "constructor" in entry:
        module = entry["constructor"]()
    else:
        module = getattr(torch.nn, entry["module_name"])(*entry["constructor_args"])
    module = module.to(dtype)
    gen = torch.Generator().manual_seed(len(_entry_id(entry)))
    if "input_fn" in entry:
        x = entry["input_fn"]().to(dtype)
    else:
        x = torch.randn(entry["input_size"], generator=gen, dtype=dtype)
    _check_module(module, x)
    if "output_size" in entry:
        assert tuple(module(x).shape) == tuple(entry["output_size"])
