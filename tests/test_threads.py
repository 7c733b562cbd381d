"""Threads (SPEC section 5): the default thread count and where it comes
from, bitwise determinism across thread counts, concurrent calls from
Python threads, and the GIL released while the C core runs."""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import gconv
from conftest import BACKENDS, function, run_python

@pytest.fixture
def restore_threads():
    from gconv import _threads
    saved = _threads._default
    yield
    _threads._default = saved


def test_set_and_get(restore_threads):
    gconv.set_num_threads(3)
    assert gconv.get_num_threads() == 3
    gconv.set_num_threads(np.int64(1))
    assert gconv.get_num_threads() == 1
    assert type(gconv.get_num_threads()) is int


@pytest.mark.parametrize("value,exc", [(0, ValueError), (-1, ValueError),
                                       (2.0, TypeError), ("2", TypeError),
                                       (None, TypeError), (True, TypeError)])
def test_set_num_threads_validation(restore_threads, value, exc):
    before = gconv.get_num_threads()
    with pytest.raises(exc, match="num_threads"):
        gconv.set_num_threads(value)
    assert gconv.get_num_threads() == before


def test_default_reaches_the_backend(restore_threads, spy):
    gconv.set_num_threads(3)
    x, w = np.zeros((1, 2, 5)), np.zeros((2, 2, 3))
    gconv.conv1d(x, w, backend="spy")
    gconv.conv1d(x, w, backend="spy", num_threads=2)
    gconv.set_num_threads(5)
    gconv.conv1d(x, w, backend="spy")
    assert [c[2] for c in spy.calls] == [3, 2, 5]


def _default_in_subprocess(env_updates):
    env = {k: v for k, v in os.environ.items()
           if k not in ("GCONV_NUM_THREADS", "OMP_NUM_THREADS")}
    env.update(env_updates)
    proc = run_python("""
        import os, gconv
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:
            cores = os.cpu_count()
        print(gconv.get_num_threads(), cores)
    """, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    n, cores = map(int, proc.stdout.split())
    return n, cores


@pytest.mark.parametrize("env,want", [
    ({}, "cores"),
    ({"GCONV_NUM_THREADS": "3"}, 3),
    ({"OMP_NUM_THREADS": "5"}, 5),
    ({"OMP_NUM_THREADS": "4,2"}, 4),
    ({"GCONV_NUM_THREADS": "2", "OMP_NUM_THREADS": "7"}, 2),
    ({"GCONV_NUM_THREADS": "", "OMP_NUM_THREADS": "6"}, 6),
    ({"GCONV_NUM_THREADS": "zero", "OMP_NUM_THREADS": "6"}, 6),
    ({"GCONV_NUM_THREADS": "0"}, "cores"),
])
def test_default_from_environment(env, want):
    n, cores = _default_in_subprocess(env)
    assert n == (cores if want == "cores" else want)


# ---- determinism ---------------------------------------------------------------------

SHAPES = [
    # (nd, batch, cin, cout, groups, size, kernel, stride, padding, dilation, mode)
    (2, 2, 32, 32, 32, 29, 3, 1, 1, 1, "zeros"),        # depthwise
    (2, 3, 16, 48, 16, 17, 5, 2, 2, 1, "reflect"),      # depthwise multiplier 3
    (2, 2, 24, 36, 3, 15, 3, 1, "same", 2, "zeros"),    # grouped
    (1, 4, 8, 16, 2, 301, 7, 3, 3, 2, "circular"),
    (3, 2, 6, 9, 3, 11, 3, 1, 1, 1, "replicate"),
    (2, 1, 64, 64, 1, 12, 3, 1, 1, 1, "zeros"),         # ordinary
    (2, 1, 3, 1, 1, 64, 1, 1, 0, 1, "zeros"),           # one output channel
]


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{s[0]}d-g{s[4]}-{s[10]}" for s in SHAPES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bitwise_identical_for_any_thread_count(rng, shape, dtype):
    nd, batch, cin, cout, groups, size, k, stride, padding, dilation, mode = shape
    x = rng.standard_normal((batch, cin) + (size,) * nd).astype(dtype)
    w = rng.standard_normal((cout, cin // groups) + (k,) * nd).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
              padding_mode=mode, backend="c")
    first = function(nd)(x, w, b, num_threads=1, **kw)
    for n in (2, 3, 4, 7):
        out = function(nd)(x, w, b, num_threads=n, **kw)
        assert out.tobytes() == first.tobytes(), f"num_threads={n} differs"


def test_huge_thread_count_is_safe():
    """An absurd thread count neither crashes nor changes the result (run in a
    subprocess so a crash cannot take the test session down)."""
    proc = run_python("""
        import numpy as np, gconv
        rng = np.random.default_rng(0)
        x = rng.standard_normal((2, 4, 40, 40)).astype(np.float32)
        w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
        a = gconv.conv2d(x, w, groups=2, backend="c", num_threads=1)
        for n in (100000, 2**31, 2**63):
            b = gconv.conv2d(x, w, groups=2, backend="c", num_threads=n)
            assert a.tobytes() == b.tobytes(), n
        gconv.set_num_threads(10**6)
        assert gconv.conv2d(x, w, groups=2, backend="c").tobytes() == a.tobytes()
        print("OK")
    """)
    assert proc.returncode == 0 and "OK" in proc.stdout, (proc.returncode, proc.stderr)


# ---- concurrency ---------------------------------------------------------------------

def _jobs(rng):
    jobs = []
    for i in range(24):
        nd = 1 + i % 3
        groups = (1, 2, 4)[i % 3]
        cin, cout = 4 * groups // groups * 2, 4 * (1 + i % 2)
        cin = groups * 2
        cout = groups * (1 + i % 2)
        dtype = (np.float32, np.float64)[i % 2]
        size = (40, 16, 7)[nd - 1]
        x = rng.standard_normal((2, cin) + (size,) * nd).astype(dtype)
        w = rng.standard_normal((cout, 2) + (3,) * nd).astype(dtype)
        mode = ("zeros", "reflect", "replicate", "circular")[i % 4]
        jobs.append((nd, x, w, dict(groups=groups, padding=1, padding_mode=mode)))
    return jobs


@pytest.mark.parametrize("name", BACKENDS)
def test_concurrent_calls_match_serial(rng, name):
    jobs = _jobs(rng)
    serial = [function(nd)(x, w, backend=name, **kw) for nd, x, w, kw in jobs]

    def run(job):
        nd, x, w, kw = job
        return function(nd)(x, w, backend=name, num_threads=2, **kw)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            results = list(pool.map(run, jobs))
            for got, want in zip(results, serial):
                if name == "c":
                    assert got.tobytes() == want.tobytes()
                else:
                    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_concurrent_calls_mixed_backends_and_contexts(rng):
    """Threads with different use_backend blocks and thread counts at once."""
    jobs = _jobs(rng)
    want = [function(nd)(x, w, backend="numpy", **kw) for nd, x, w, kw in jobs]

    def run(i):
        nd, x, w, kw = jobs[i]
        name = BACKENDS[i % len(BACKENDS)]
        with gconv.use_backend(name):
            return function(nd)(x, w, num_threads=1 + i % 3, **kw)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(run, range(len(jobs))))
    for got, expected in zip(results, want):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_gil_released_during_c_call():
    """While one thread is inside the C core, another Python thread keeps
    running: its longest pause is far shorter than the C call.  (Loose: a
    held GIL would stall the other thread for the whole call.)"""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 64, 64, 64)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    # size the work so that one call takes a noticeable time
    t0 = time.perf_counter()
    gconv.conv2d(x, w, padding=1, backend="c", num_threads=1)
    once = time.perf_counter() - t0
    reps = max(1, int(0.4 / max(once, 1e-3)))
    xs = np.concatenate([x] * reps) if reps > 1 else x

    stop = threading.Event()
    ticks = []

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    result = {}

    def worker():
        start = time.perf_counter()
        gconv.conv2d(xs, w, padding=1, backend="c", num_threads=1)
        result["span"] = (start, time.perf_counter())

    t = threading.Thread(target=ticker)
    t.start()
    time.sleep(0.02)
    c = threading.Thread(target=worker)
    c.start()
    c.join()
    stop.set()
    t.join()
    start, end = result["span"]
    duration = end - start
    inside = [s for s in ticks if start <= s <= end]
    gaps = np.diff([start] + inside + [end])
    assert duration > 0.1, "the C call was too quick to measure"
    assert len(inside) >= 10, (duration, len(inside))
    assert gaps.max() < 0.5 * duration, (gaps.max(), duration)
