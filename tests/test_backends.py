"""Backend selection (SPEC section 3): backend= argument > innermost
use_backend block (context-local) > GCONV_BACKEND at call time > "auto"."""

import asyncio
import os
import re
import threading

import numpy as np
import pytest

import gconv
from gconv import BackendError
from conftest import BACKENDS, HAS_TORCH, TESTS_DIR, SpyBackend, run_python, torch

@pytest.fixture
def spies(monkeypatch):
    """Two registered spy backends, "spy_a" and "spy_b"."""
    from gconv._backends import REGISTRY
    a, b = SpyBackend("spy_a"), SpyBackend("spy_b")
    monkeypatch.setitem(REGISTRY, "spy_a", a)
    monkeypatch.setitem(REGISTRY, "spy_b", b)
    monkeypatch.delenv("GCONV_BACKEND", raising=False)
    return a, b


def _call(**kwargs):
    x = np.ones((1, 2, 5))
    w = np.ones((2, 1, 3))
    return gconv.conv1d(x, w, groups=2, **kwargs)


def _used(*spies):
    """Which spy ran the last call, and reset them."""
    ran = [s.name for s in spies if s.calls]
    for s in spies:
        s.calls.clear()
    return ran


def test_argument_beats_everything(spies, monkeypatch):
    a, b = spies
    monkeypatch.setenv("GCONV_BACKEND", "spy_b")
    with gconv.use_backend("spy_b"):
        _call(backend="spy_a")
    assert _used(a, b) == ["spy_a"]


def test_use_backend_beats_environment_and_nests(spies, monkeypatch):
    a, b = spies
    monkeypatch.setenv("GCONV_BACKEND", "spy_b")
    with gconv.use_backend("spy_a"):
        _call()
        assert _used(a, b) == ["spy_a"]
        with gconv.use_backend("spy_b"):
            _call()
            assert _used(a, b) == ["spy_b"]
            with gconv.use_backend("spy_a"):
                _call()
                assert _used(a, b) == ["spy_a"]
            _call()
            assert _used(a, b) == ["spy_b"]
        _call()
        assert _used(a, b) == ["spy_a"]
    _call()
    assert _used(a, b) == ["spy_b"]        # the environment again


def test_use_backend_auto_restores_automatic_choice(spies, monkeypatch):
    a, b = spies
    monkeypatch.setenv("GCONV_BACKEND", "spy_b")
    with gconv.use_backend("spy_a"):
        with gconv.use_backend("auto"):
            _call()
    assert _used(a, b) == []               # auto: neither spy, not the environment


def test_use_backend_restored_after_exception(spies):
    a, b = spies
    with pytest.raises(KeyError):
        with gconv.use_backend("spy_a"):
            raise KeyError
    _call()
    assert _used(a, b) == []


def test_environment_read_at_call_time(spies, monkeypatch):
    a, b = spies
    monkeypatch.setenv("GCONV_BACKEND", "spy_a")
    _call()
    assert _used(a, b) == ["spy_a"]
    monkeypatch.setenv("GCONV_BACKEND", "spy_b")
    _call()
    assert _used(a, b) == ["spy_b"]
    monkeypatch.setenv("GCONV_BACKEND", "auto")
    _call()
    assert _used(a, b) == []
    monkeypatch.setenv("GCONV_BACKEND", "")
    _call()
    assert _used(a, b) == []
    monkeypatch.delenv("GCONV_BACKEND")
    _call()
    assert _used(a, b) == []


def test_auto_prefers_c_for_arrays_and_cpu_tensors(monkeypatch):
    from gconv import _dispatch
    monkeypatch.delenv("GCONV_BACKEND", raising=False)
    assert _dispatch.choose(None, np.zeros(3)).name == "c"
    assert _dispatch.choose("auto", np.zeros(3)).name == "c"
    if HAS_TORCH:
        assert _dispatch.choose(None, torch.zeros(3)).name == "c"


def test_auto_falls_back_to_numpy_without_c(monkeypatch):
    from gconv import _dispatch
    from gconv._backends import REGISTRY
    monkeypatch.delenv("GCONV_BACKEND", raising=False)
    monkeypatch.setattr(REGISTRY["c"], "unavailable", lambda: "not built")
    assert _dispatch.choose(None, np.zeros(3)).name == "numpy"
    assert _call().shape == (1, 2, 3)
    assert gconv.available_backends()[0] == "numpy"
    assert gconv.backends()["c"] == "not built"


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_auto_picks_torch_for_non_cpu_tensor(monkeypatch):
    """A tensor on another device goes to torch (the meta device stands in
    for an accelerator here)."""
    from gconv import _dispatch
    monkeypatch.delenv("GCONV_BACKEND", raising=False)
    x = torch.zeros(3, device="meta")
    assert _dispatch.choose(None, x).name == "torch"
    if torch.cuda.is_available():  # pragma: no cover - no GPU in CI
        xc = torch.randn(1, 4, 8, 8, device="cuda")
        wc = torch.randn(4, 2, 3, 3, device="cuda")
        out = gconv.conv2d(xc, wc, groups=2)
        assert out.device == xc.device


def test_threads_see_their_own_use_backend(spies):
    """use_backend is thread-local: two threads inside their own blocks, run
    interleaved, each get their own backend, and a third thread outside any
    block gets the automatic choice."""
    a, b = spies
    barrier = threading.Barrier(3)
    seen = {}
    errors = []

    def worker(name):
        try:
            ctx = gconv.use_backend(name) if name else None
            if ctx:
                ctx.__enter__()
            barrier.wait()
            for _ in range(20):
                _call()
            barrier.wait()
            if ctx:
                ctx.__exit__(None, None, None)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("spy_a", "spy_b", None)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    ids = {t.ident: n for t, n in zip(threads, ("spy_a", "spy_b", None))}
    for spy in (a, b):
        for ident, _, _ in spy.calls:
            seen.setdefault(spy.name, set()).add(ids[ident])
    assert seen == {"spy_a": {"spy_a"}, "spy_b": {"spy_b"}}
    assert len(a.calls) == len(b.calls) == 20


def test_new_thread_does_not_inherit_block(spies):
    a, b = spies
    with gconv.use_backend("spy_a"):
        t = threading.Thread(target=_call)
        t.start()
        t.join()
    assert _used(a, b) == []


def test_asyncio_tasks_see_their_own_use_backend(spies):
    """use_backend is context-local: interleaved asyncio tasks keep their own."""
    a, b = spies
    log = []

    async def task(name):
        with gconv.use_backend(name):
            for _ in range(5):
                await asyncio.sleep(0)
                before = len(a.calls), len(b.calls)
                _call()
                ran = "spy_a" if len(a.calls) > before[0] else "spy_b"
                assert len(a.calls) + len(b.calls) == sum(before) + 1
                log.append((name, ran))

    async def main():
        await asyncio.gather(task("spy_a"), task("spy_b"))

    asyncio.run(main())
    assert len(log) == 10
    assert all(want == ran for want, ran in log), log
    # the tasks really interleaved
    assert [n for n, _ in log][:2] == ["spy_a", "spy_b"]


def test_use_backend_validates_name_eagerly():
    with pytest.raises(BackendError, match="unknown backend 'bogus'"):
        with gconv.use_backend("bogus"):
            pass


def test_available_and_backends():
    status = gconv.backends()
    assert list(status) == ["c", "numpy", "torch"]
    assert gconv.available_backends() == [n for n, r in status.items() if r is None]
    assert all(r is None or (isinstance(r, str) and r) for r in status.values())
    assert BACKENDS == gconv.available_backends()


@pytest.mark.parametrize("name", BACKENDS)
def test_each_backend_by_every_route(name, monkeypatch, rng):
    x = rng.standard_normal((2, 4, 6))
    w = rng.standard_normal((4, 2, 3))
    want = gconv.conv1d(x, w, groups=2, backend="numpy")
    np.testing.assert_allclose(gconv.conv1d(x, w, groups=2, backend=name), want,
                               rtol=1e-12, atol=1e-12)
    with gconv.use_backend(name):
        np.testing.assert_allclose(gconv.conv1d(x, w, groups=2), want,
                                   rtol=1e-12, atol=1e-12)
    monkeypatch.setenv("GCONV_BACKEND", name)
    np.testing.assert_allclose(gconv.conv1d(x, w, groups=2), want, rtol=1e-12, atol=1e-12)


# ---- without torch ---------------------------------------------------------------


def _run_hidden(code):
    env = dict(os.environ)
    env.pop("GCONV_BACKEND", None)
    return run_python(code, env=env, hide_torch=True)


def test_without_torch_reason_and_fallbacks():
    proc = _run_hidden("""
        import numpy as np, gconv
        assert gconv.backends()["torch"] == "torch is not installed", gconv.backends()
        assert gconv.available_backends() == ["c", "numpy"]
        try:
            gconv.conv1d(np.ones((1, 1, 3)), np.ones((1, 1, 1)), backend="torch")
        except gconv.BackendError as exc:
            msg = str(exc)
        else:
            raise AssertionError("no BackendError")
        assert "torch is not installed" in msg and "['c', 'numpy']" in msg, msg
        out = gconv.conv1d(np.ones((1, 1, 3)), np.ones((1, 1, 2)))
        assert out.tolist() == [[[2.0, 2.0]]]
        assert sys.modules["torch"] is None
        gconv.show_config()
        print("OK")
    """)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK" in proc.stdout
    assert "unavailable: torch is not installed" in proc.stdout


def test_without_torch_the_torch_tests_skip():
    """The torch-dependent tests skip cleanly (no error, no failure) when
    torch cannot be imported."""
    files = [os.path.join(TESTS_DIR, f) for f in ("test_torch_tables.py",
                                                  "test_semantics.py")]
    proc = _run_hidden(f"""
        import pytest
        sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-x", "-rs",
                              *{files!r}, "-k",
                              "torch or tensor or table or opinfo or module"]))
    """)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "skipped" in out, out
    assert "torch is not installed" in out or "could not import 'torch'" in out, out
    assert not re.search(r"\b\d+ (failed|errors?)\b", out), out
