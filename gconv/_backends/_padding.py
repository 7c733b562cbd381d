"""Explicit padding of NumPy inputs for the non-zero padding modes."""

import numpy as np

_NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad_numpy(conv, x):
    """``(x, pad_before, pad_after)``: for padding_mode "zeros", x unchanged
    with the padding still to apply (as zeros); otherwise x padded as the
    mode says and no padding left to apply."""
    if conv.padding_mode == "zeros":
        return x, conv.pad_before, conv.pad_after
    widths = [(0, 0), (0, 0)] + list(zip(conv.pad_before, conv.pad_after))
    x = np.pad(x, widths, mode=_NUMPY_MODES[conv.padding_mode])
    zero = (0,) * conv.nd
    return x, zero, zero
