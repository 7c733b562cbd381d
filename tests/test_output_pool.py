"""The C backend's pool of large output blocks (gconv._ccore.output_buffer):
outputs of 32 MB and more reuse the memory of a recent output whose arrays
are gone, never the memory of an array still in use."""

import gc
import pickle

import numpy as np
import pytest

import gconv

_ccore = pytest.importorskip("gconv._ccore")

MB = 1 << 20


@pytest.fixture(autouse=True)
def empty_pool():
    gc.collect()
    _ccore.output_pool_clear()
    yield
    gc.collect()
    _ccore.output_pool_clear()


def layer(channels=256, length=32768, dtype=np.float32, seed=0):
    """A 1-D depthwise layer whose output is channels * length elements
    (32 MB in float32 for the defaults)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, channels, length)).astype(dtype)
    w = rng.standard_normal((channels, 1, 3)).astype(dtype)
    return x, w


def run(x, w):
    return gconv.conv1d(x, w, padding=1, groups=x.shape[1], backend="c")


def reference(x, w):
    return gconv.conv1d(x, w, padding=1, groups=x.shape[1], backend="numpy")


def test_block_returns_when_the_last_array_is_gone():
    x, w = layer()
    out = run(x, w)
    assert out.nbytes == 32 * MB and out.ctypes.data % 64 == 0
    assert out.flags.c_contiguous and out.flags.writeable
    view = out[0, 3:5]
    del out
    assert _ccore.output_pool() == []          # the view keeps the block
    del view
    assert _ccore.output_pool() == [32 * MB]


def test_next_call_reuses_the_block_and_overwrites_it():
    x, w = layer(seed=1)
    first = run(x, w)
    address = first.ctypes.data
    first[...] = np.nan                         # whatever the block held
    del first
    x2, w2 = layer(seed=2)
    second = run(x2, w2)
    assert second.ctypes.data == address and _ccore.output_pool() == []
    np.testing.assert_allclose(second, reference(x2, w2), rtol=1e-5, atol=1e-5)
    kept = run(x2, w2)                          # second is alive: a new block
    assert kept.ctypes.data != address
    np.testing.assert_array_equal(kept, second)


def test_smaller_outputs_are_plain_arrays():
    x, w = layer(length=32768 - 16)
    out = run(x, w)
    assert out.nbytes < 32 * MB and not isinstance(out.base, _ccore.OutputBuffer)
    del out
    assert _ccore.output_pool() == []


def test_a_block_much_larger_than_the_output_is_not_used():
    big = _ccore.output_buffer(128 * MB)
    del big
    assert _ccore.output_pool() == [128 * MB]
    x, w = layer()                              # 32 MB: the 128 MB block would waste 96
    out = run(x, w)
    assert _ccore.output_pool() == [128 * MB]
    del out
    assert _ccore.output_pool() == [128 * MB, 32 * MB]
    fits = _ccore.output_buffer(80 * MB)        # at most half of a block unused
    assert _ccore.output_pool() == [128 * MB, 32 * MB]
    del fits
    assert _ccore.output_pool() == [32 * MB, 80 * MB]   # two blocks: the oldest goes
    use = _ccore.output_buffer(72 * MB)        # the smallest block that fits
    assert _ccore.output_pool() == [32 * MB]
    del use


def test_pool_keeps_at_most_256_mb():
    huge = _ccore.output_buffer(257 * MB)       # (never written: no pages touched)
    del huge
    assert _ccore.output_pool() == []
    a, b = _ccore.output_buffer(200 * MB), _ccore.output_buffer(100 * MB)
    del a
    del b
    assert _ccore.output_pool() == [100 * MB]


def test_pooled_outputs_behave_as_arrays():
    x, w = layer(dtype=np.float64, length=16384)
    out = run(x, w)
    assert isinstance(out.base, _ccore.OutputBuffer) and out.dtype == np.float64
    again = pickle.loads(pickle.dumps(out))
    np.testing.assert_array_equal(again, out)
    copy = out.copy()
    out += 1
    np.testing.assert_array_equal(out, copy + 1)
    memoryview(out.base).tobytes()[:8]          # a plain buffer of bytes
    assert memoryview(out.base).nbytes == out.nbytes
