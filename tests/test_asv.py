"""The asv benchmark suite (asv_benchmarks/) must not rot: asv accepts it,
its configuration builds gconv as users install it with a pinned PyTorch,
and every benchmark's setup and body run on a small layer."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import gconv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITE = os.path.join(ROOT, "asv_benchmarks")


def _conf():
    """asv.conf.json (JSON with // comment lines, as asv reads it)."""
    with open(os.path.join(SUITE, "asv.conf.json")) as f:
        text = "".join(l for l in f if not l.lstrip().startswith("//"))
    return json.loads(text)


def test_asv_check(tmp_path):
    pytest.importorskip("asv")
    # A copy, so that asv writes nothing into the source tree.
    suite = tmp_path / "asv_benchmarks"
    shutil.copytree(SUITE, suite, ignore=shutil.ignore_patterns(".asv", "__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "asv", "check", "--python=same"],
                          cwd=suite, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "No problems found" in output, output


def test_asv_conf():
    conf = _conf()
    assert conf["repo"] == ".."
    assert conf["environment_type"] == "virtualenv"
    assert conf["benchmark_dir"] == "benchmarks"
    assert any("pip wheel" in c for c in conf["build_command"])
    assert any("pip install {wheel_file}" in c for c in conf["install_command"])
    # PyTorch, when in the matrix, only ever as the pinned CPU-capable release:
    # an unpinned torch pulls a multi-GB CUDA build.
    for section in (conf.get("matrix", {}), conf.get("matrix", {}).get("req", {})):
        if "torch" in section:
            assert section["torch"] == ["2.13.0"]


def test_suite_shapes_are_a_copy_of_real_layers():
    with open(os.path.join(SUITE, "benchmarks", "shapes.json")) as f:
        suite = json.load(f)
    names = [layer["name"] for layer in suite["conv2d"]]
    assert len(names) == len(set(names)) >= 10
    for layer in suite["conv2d"]:
        gconv.check_groups(layer["input"][1], layer["out_channels"], layer["groups"])


@pytest.fixture
def benchmarks(monkeypatch):
    monkeypatch.syspath_prepend(SUITE)
    import benchmarks.common
    import benchmarks.layers
    import benchmarks.overhead
    return benchmarks


def test_benchmark_bodies_run(benchmarks):
    layers, overhead = benchmarks.layers, benchmarks.overhead
    available = gconv.available_backends()
    for backend in benchmarks.common.BACKENDS:
        params = (backend, "mbv2_dw_7", 1, "float32")
        for cls, method in ((layers.Layers, "time_conv"),
                            (layers.LayersThroughput, "track_gflops"),
                            (layers.LayersMemory, "peakmem_conv")):
            bench = cls()
            if backend not in available:
                with pytest.raises(NotImplementedError):
                    bench.setup(*params)
                continue
            bench.setup(*params)
            value = getattr(bench, method)(*params)
            if method.startswith("track_"):
                assert value > 0
        share = layers.LayersFloat64Share()
        if backend not in available:
            with pytest.raises(NotImplementedError):
                share.setup(backend, "mbv2_dw_7", 1)
        else:
            share.setup(backend, "mbv2_dw_7", 1)
            assert {d: share.calls[d]().dtype.name for d in share.calls} == {
                "float32": "float32", "float64": "float64"}
            assert share.track_f64_share(backend, "mbv2_dw_7", 1) > 0
        tiny = overhead.TinyCall()
        if backend in available:
            tiny.setup(backend)
            tiny.time_tiny_conv2d(backend)
            tiny.time_tiny_conv2d_no_bias(backend)
    gate = overhead.Gate()
    gate.setup()
    gate.time_check_groups()
    gate.time_check_groups_invalid()
    gate = overhead.GateConv()
    gate.setup()
    gate.time_check_conv2d()


def test_missing_backend_is_skipped_not_failed(benchmarks):
    with pytest.raises(NotImplementedError):
        benchmarks.common.require_backend("no-such-backend")


def test_flops_match_the_output(benchmarks):
    for name in ("resnext50_s2_down", "mbv2_dw_112_s2", "alexnet_conv2_g2"):
        x, w, b, kwargs, flops = benchmarks.common.make_case(name, 2, "float32")
        out = gconv.conv2d(x, w, b, backend="numpy", **kwargs)
        expected = 2 * out.size * w.shape[1] * w.shape[2] * w.shape[3]
        assert flops == expected


def test_every_parameter_is_named(benchmarks):
    for cls in (benchmarks.layers.Layers, benchmarks.layers.LayersThroughput,
                benchmarks.layers.LayersMemory, benchmarks.layers.LayersFloat64Share,
                benchmarks.overhead.TinyCall):
        assert len(cls.params) == len(cls.param_names)
    assert benchmarks.layers.LayersThroughput.track_gflops.unit == "GFLOP/s"
    assert re.fullmatch(r"[a-z_]+", "".join(benchmarks.layers.Layers.param_names))
