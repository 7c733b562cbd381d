"""Writes the seed corpus of the fuzz targets (corpus/conv, corpus/plan) and
the hand-made regression inputs (corpus/regressions/*-hand-*).

The byte layout mirrors fz_params() in fuzz_common.h: a flags byte, the ISA
byte, then the parameters field by field.  Whatever an input does not
spell out, the harness draws from a PRNG seeded by the input, so a seed
only needs to describe the parameters it is about.

    python3 make_seeds.py        (from csrc/fuzz; rewrites the files)
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
INT64_MAX = 2**63 - 1
MAX_ELEMENTS = INT64_MAX // 8


def raw(value):
    """An override byte, then a raw 64-bit field (mode 6)."""
    return bytes([255, 6]) + struct.pack("<q", value)


def keep():
    return bytes([0])  # keep the usual value


def usual_then(byte, value=None):
    """The byte that picks the usual value, then an override (or keep)."""
    return bytes([byte]) + (keep() if value is None else raw(value))


def params(ndim, batch, cin, cout, groups, size, kernel, stride=None, pad=None,
           pad_after=None, dilation=None, struct_ok=True):
    """Bytes for fz_params with every field given explicitly."""
    stride = stride or [1] * 3
    pad = pad or [0] * 3
    pad_after = pad_after if pad_after is not None else pad
    dilation = dilation or [1] * 3
    out = bytearray()
    out += bytes([4 if struct_ok else 0])     # struct_size: right / 0
    out += bytes([ndim - 1])                  # ndim
    out += usual_then(0, batch)
    out += bytes([0]) + raw(groups)           # usual groups byte, override
    out += usual_then(0, cin)
    out += usual_then(0, cout)
    for d in range(3):
        get = (lambda v: v[d] if d < len(v) else 1)
        out += bytes([0]) + raw(get(kernel))
        out += usual_then(0, get(size))
        out += usual_then(0, get(stride))
        out += usual_then(0, get(dilation))
        out += usual_then(0, pad[d] if d < len(pad) else 0)
        out += usual_then(0, pad_after[d] if d < len(pad_after) else 0)
    return bytes(out)


def seed(p, flags=0x20, isa=0, tail=b""):
    """flags 0x20: float32, params given, no Inf/NaN; 0x21 the same in
    float64; 0x00 float32 with Inf/NaN values allowed."""
    return bytes([flags, isa]) + p + bytes([1]) + tail


# the convolution a valid seed describes; (name, params bytes)
LAYERS = [
    ("depthwise3x3", params(2, 1, 8, 8, 8, [6, 6], [3, 3], pad=[1, 1])),
    ("grouped3x3_s2", params(2, 2, 8, 16, 4, [7, 7], [3, 3], stride=[2, 2], pad=[1, 1])),
    ("pointwise_grouped", params(2, 1, 16, 8, 4, [5, 5], [1, 1])),
    ("dilated", params(2, 1, 4, 4, 2, [9, 9], [3, 3], dilation=[2, 2], pad=[2, 2])),
    ("asym_pad", params(2, 1, 2, 2, 1, [5, 4], [2, 3], pad=[0, 1], pad_after=[1, 2])),
    ("conv1d", params(1, 3, 6, 9, 3, [11], [4], stride=[3], pad=[2])),
    ("conv3d", params(3, 1, 4, 4, 2, [3, 4, 5], [2, 2, 3], pad=[1, 0, 1])),
    ("batch0", params(2, 0, 4, 4, 2, [5, 5], [3, 3])),
    ("kernel_eq_padded", params(1, 1, 1, 1, 1, [2], [4], pad=[1])),
    ("groups_bad", params(2, 1, 12, 11, 3, [5, 5], [3, 3])),
    ("groups_zero", params(2, 1, 12, 12, 0, [5, 5], [3, 3])),
    ("kernel_too_big", params(2, 1, 1, 1, 1, [3, 3], [5, 5])),
    ("negative_pad", params(1, 1, 1, 1, 1, [3], [1], pad=[-1])),
    ("struct_size_zero", params(1, 1, 1, 1, 1, [3], [1], struct_ok=False)),
    ("huge_stride", params(1, 1, 1, 1, 1, [3], [1], stride=[INT64_MAX], pad=[5])),
    ("huge_dilation_k1", params(1, 1, 1, 1, 1, [3], [1], dilation=[INT64_MAX], pad=[2])),
    ("pad_overflow", params(1, 1, 1, 1, 1, [3], [1], pad=[MAX_ELEMENTS])),
    ("padded_max", params(1, 1, 1, 1, 1, [1], [1], pad=[MAX_ELEMENTS // 2],
                          pad_after=[MAX_ELEMENTS - 1 - MAX_ELEMENTS // 2])),
    ("out_plane_overflow", params(3, 1, 1, 1, 1, [1, 1, 1], [1, 1, 1],
                                  pad=[2**20, 2**20, 2**20])),
    ("weight_overflow", params(3, 1, 2**31, 2**31, 1, [1, 1, 1], [1, 1, 1])),
    ("input_count_overflow", params(1, 2**40, 2**20, 1, 1, [2**20], [1])),
    ("count_2pow32", params(2, 1, 1, 1, 1, [65536, 65537], [1, 1])),
    ("kernel_2pow40", params(1, 1, 1, 1, 1, [1], [2**40], pad=[2**40])),
    ("channels_huge_semiprime", params(1, 1, 2147483647 * 2147483629,
                                       2147483647 * 3, 5, [3], [1])),
]


def main():
    for target in ("conv", "plan"):
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, p in LAYERS:
            for tag, flags in (("f32", 0x20), ("f64", 0x21), ("nonfinite", 0x00)):
                with open(os.path.join(d, f"{name}-{tag}"), "wb") as f:
                    f.write(seed(p, flags))
    # Hand-made regressions for bugs found while hardening the generic kernel
    # (replayed through both targets): a stride near INT64_MAX with padding
    # overflowed the border arithmetic (signed overflow, UB); an infinite
    # weight over zero padding did not give NaN.
    reg = os.path.join(HERE, "corpus", "regressions")
    os.makedirs(reg, exist_ok=True)
    # After the gate's message byte, fuzz_conv.c reads: the claims of input,
    # weight (8: exact), whether there is a bias (1: yes) and its claim; per
    # buffer a "non-finite values?" byte (only when the flags allow them),
    # the values (byte 5 is 1.0, 4 is 0.0) and the non-finite positions;
    # where the output lives (0: its own block), its claim, the threads.
    def tail(n_in, n_w, n_b, inf_weight=False):
        t = bytearray([8, 8, 1, 8])
        if inf_weight:
            t += bytes([0]) + bytes([5] * n_in)
            t += bytes([1]) + bytes([5] * n_w) + bytes([0, 0, 0, 0])  # w[0] = +Inf
            t += bytes([0]) + bytes([4] * n_b)
        else:
            t += bytes([5] * n_in) + bytes([5] * n_w) + bytes([4] * n_b)
        return bytes(t + bytearray([0, 8, 2]))

    cases = {
        "hand-huge-stride-padding": (
            params(1, 1, 1, 1, 1, [3], [1], stride=[INT64_MAX], pad=[5], pad_after=[0]),
            0x20, tail(3, 1, 1)),
        "hand-huge-stride-2d": (
            params(2, 2, 2, 2, 1, [3, 4], [2, 1], stride=[INT64_MAX, INT64_MAX - 1],
                   pad=[1, 3]),
            0x20, tail(48, 8, 2)),
        "hand-inf-weight-over-padding": (
            params(2, 1, 1, 1, 1, [4, 4], [3, 3], pad=[1, 1]),
            0x00, tail(16, 9, 1, inf_weight=True)),
    }
    for name, (p, flags, t) in cases.items():
        with open(os.path.join(reg, name), "wb") as f:
            f.write(seed(p, flags, tail=t))

if __name__ == "__main__":
    main()
