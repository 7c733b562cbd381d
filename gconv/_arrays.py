"""Array plumbing shared by the gate and the backends: NumPy arrays and torch
tensors, told apart without importing torch."""

import sys

import numpy as np

__all__ = ["is_tensor", "as_array", "dtype_name", "to_numpy", "to_tensor",
           "native_contiguous"]


def is_tensor(obj):
    """Whether obj is a torch.Tensor (torch is never imported for this)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def as_array(obj, what):
    """obj itself when it is an ndarray or a tensor, else np.asarray(obj)."""
    if type(obj) is np.ndarray or is_tensor(obj):
        return obj
    try:
        return np.asarray(obj)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} cannot be read as an array: {exc}") from None


_dtype_names = {}


def dtype_name(array):
    """'float32', 'int64', ... for an ndarray or a tensor."""
    dtype = array.dtype
    name = _dtype_names.get(dtype)
    if name is None:
        if isinstance(dtype, np.dtype):
            name = dtype.name
        else:
            name = str(dtype).rpartition(".")[2]
        if len(_dtype_names) < 256:
            _dtype_names[dtype] = name
    return name


def to_numpy(array):
    """A NumPy view or copy of an ndarray or a tensor (moved to the CPU)."""
    if isinstance(array, np.ndarray):
        return array
    return array.detach().cpu().numpy()


def native_contiguous(array):
    """A C-contiguous array in native byte order (the array itself when it
    already is one)."""
    if array.flags.c_contiguous and array.dtype.isnative:
        return array
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))


def to_tensor(array, like=None):
    """A torch tensor holding array, on like's device when like is a tensor."""
    torch = sys.modules.get("torch")
    if torch is None:
        import torch
    if not isinstance(array, torch.Tensor):
        array = native_contiguous(array)
        if not array.flags.writeable:
            # torch.from_numpy warns about (and cannot protect) read-only
            # memory; gconv never writes its inputs, but a copy keeps torch
            # quiet and the caller's array safe.
            array = array.copy()
        array = torch.from_numpy(array)
    if like is not None and is_tensor(like) and array.device != like.device:
        array = array.to(like.device)
    return array
