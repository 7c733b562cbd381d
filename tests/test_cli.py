"""The command line, run as users run it: ``python -m gconv ...`` in a
subprocess (and the installed ``gconv`` script where there is one)."""

import csv
import json
import os
import platform
import re
import subprocess
import sys

import pytest

import gconv
from gconv import _config

# The package this test process imported, so that the subprocesses run the
# same one (an installed gconv, or a source tree on PYTHONPATH).
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(gconv.__file__)))

TINY_LAYER = ["--shape", "1x8x9x9", "--out-channels", "8", "--kernel", "3",
              "--groups", "4", "--padding", "1", "--quick"]


def _env(extra_path=()):
    env = dict(os.environ)
    parts = list(extra_path) + [PACKAGE_PARENT]
    if env.get("PYTHONPATH"):
        parts.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env.pop("GCONV_BACKEND", None)
    return env


def run(*args, tmp_path=None, extra_path=(), timeout=300):
    """(returncode, stdout, stderr) of python -m gconv args, run outside the
    source tree so that nothing but the imported package is found."""
    cwd = str(tmp_path) if tmp_path is not None else os.path.expanduser("~")
    proc = subprocess.run([sys.executable, "-m", "gconv", *map(str, args)],
                          cwd=cwd, env=_env(extra_path), capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def squash(text):
    """Whitespace-normalised text (the CLI wraps long messages)."""
    return " ".join(text.split())


# ---- top level ---------------------------------------------------------------

def test_help_lists_the_commands():
    rc, out, err = run("--help")
    assert rc == 0, err
    for command in ("info", "check", "bench", "--cflags", "--libs"):
        assert command in out


def test_no_command_prints_help():
    rc, out, _ = run()
    assert rc == 0
    assert "usage:" in out and "bench" in out


def test_version():
    rc, out, _ = run("--version")
    assert rc == 0
    assert out.strip() == f"gconv {gconv.__version__}"


def test_unknown_command_is_a_usage_error():
    rc, _, err = run("frobnicate")
    assert rc == 2
    assert "invalid choice" in err


def test_console_script_is_declared():
    tomllib = pytest.importorskip("tomllib")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    assert project["scripts"]["gconv"] == "gconv._cli:main"
    assert "matplotlib" in " ".join(project["optional-dependencies"]["plot"])
    from gconv._cli import main
    assert callable(main)


def test_installed_console_script():
    script = os.path.join(os.path.dirname(sys.executable), "gconv")
    if not os.path.exists(script):
        pytest.skip("gconv is not installed in this environment (source tree)")
    proc = subprocess.run([script, "check", "128", "128", "32"], capture_output=True,
                          text=True, cwd=os.path.expanduser("~"), env=_env())
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout


# ---- info --------------------------------------------------------------------

def test_info_shows_the_configuration():
    rc, out, err = run("info")
    assert rc == 0, err
    info = gconv.config()
    assert f"gconv {info['version']}" in out
    for name, reason in info["backends"].items():
        line = next(l for l in out.splitlines() if l.split()[:1] == [name])
        if reason is None:
            assert "unavailable" not in line and "available" in line
        else:
            assert reason in line
    if info["c_core"] is not None:
        assert re.search(rf"ISA path\s+{info['c_core']['isa']}", out)
        assert "OpenMP" in out
        assert re.search(rf"threads\s+{gconv.get_num_threads()}\b", out)
    assert "NumPy" in out and "Python" in out


def test_info_json_is_config():
    rc, out, err = run("info", "--json")
    assert rc == 0, err
    data = json.loads(out)
    expected = gconv.config()
    for key in ("version", "backends", "c_core"):
        assert data[key] == expected[key]
    assert data["environment"]["numpy"]


def test_info_names_the_cpu():
    """Timings compare only within one CPU generation: info and the bench
    say which processor ran them (Linux: with the x86 family and model)."""
    from gconv._cli import _cpu_name
    cpu = _cpu_name()
    rc, out, err = run("info", "--json")
    assert rc == 0, err
    assert json.loads(out)["environment"]["cpu"] == cpu
    rc, out, err = run("bench", *TINY_LAYER, "--backends", "numpy")
    assert rc == 0, err
    if cpu is None:
        assert "CPU:" not in out
        return
    assert f"CPU: {cpu}" in out.splitlines()[1]
    if sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64"):
        assert re.search(r"\(family \d+, model \d+\)$", cpu)


# ---- check -------------------------------------------------------------------

def test_check_valid():
    rc, out, err = run("check", 128, 128, 32)
    assert rc == 0, err
    assert out.startswith("valid")
    assert "32 groups maps 4 input channels to 4 output channels" in squash(out)
    assert "(128, 4, *kernel_size)" in out
    assert str(gconv.valid_groups(128, 128)) in squash(out)


def test_check_depthwise_and_multiplier():
    rc, out, _ = run("check", 32, 32, 32)
    assert rc == 0 and "depthwise" in out
    rc, out, _ = run("check", 32, 64, 32)
    assert rc == 0 and "channel multiplier 2" in out


@pytest.mark.parametrize("cin,cout,groups", [(12, 11, 3), (10, 12, 4), (9, 7, 2),
                                             (12, 12, 0), (12, 12, -3)])
def test_check_invalid_gives_the_api_error(cin, cout, groups):
    with pytest.raises(gconv.GroupsError) as excinfo:
        gconv.check_groups(cin, cout, groups)
    rc, out, _ = run("check", cin, cout, groups)
    assert rc == 1
    assert "invalid" in out
    assert f"GroupsError: {excinfo.value}" in squash(out)


def test_check_12_11_3_names_the_alternatives():
    rc, out, _ = run("check", 12, 11, 3)
    assert rc == 1
    text = squash(out)
    assert "out_channels=11 is not divisible by groups=3" in text
    assert "valid groups are [1]" in text
    assert "use out_channels 9 or 12" in text


def test_check_nonpositive_channels():
    with pytest.raises(gconv.ShapeError) as excinfo:
        gconv.check_groups(0, 4, 1)
    rc, out, _ = run("check", 0, 4, 1)
    assert rc == 1
    assert f"ShapeError: {excinfo.value}" in squash(out)


def test_check_huge_numbers():
    big = 2**61
    rc, out, err = run("check", big, big * 3, 2**20)
    assert rc == 0, err
    assert f"maps {2**41} input channels to {3 * 2**41} output channels" in squash(out)


@pytest.mark.parametrize("args,what", [(("12.5", 12, 3), "IN"), ((12, "x", 3), "OUT"),
                                       ((12, 12, "three"), "GROUPS")])
def test_check_non_integer_is_a_usage_error(args, what):
    rc, out, err = run("check", *args)
    assert rc == 2
    assert out == ""
    assert what in err and "must be an integer" in err


def test_check_needs_three_numbers():
    rc, _, err = run("check", 12, 12)
    assert rc == 2
    assert "GROUPS" in err


# ---- bench ---------------------------------------------------------------------

def _table_rows(out):
    return [l for l in out.splitlines() if l.split()[:1] in (["custom"], ["mbv2_dw_7"])]


def test_bench_one_layer_all_backends(tmp_path):
    rc, out, err = run("bench", *TINY_LAYER, tmp_path=tmp_path)
    assert rc == 0, err
    backends = gconv.available_backends()
    header = out.splitlines()[0]
    assert "custom" not in header and ", ".join(backends) in header
    rows = _table_rows(out)
    assert len(rows) == 1
    assert "geometric mean" in out
    for b in backends:
        assert f" {b} " in out
    if "torch" in backends:
        assert "vs torch" in out
        assert re.search(r"\d\.\d\dx", rows[0])
    else:
        assert "vs torch" not in out
    # progress goes to stderr, not into the table
    assert "[1/1] custom" in err
    assert "[1/1]" not in out


def test_bench_json_and_csv(tmp_path):
    json_path, csv_path = tmp_path / "r.json", tmp_path / "r.csv"
    rc, out, err = run("bench", *TINY_LAYER, "--dtype", "float32", "float64",
                       "--batch", "1,2", "--json", json_path, "--csv", csv_path,
                       tmp_path=tmp_path)
    assert rc == 0, err
    backends = gconv.available_backends()
    data = json.loads(json_path.read_text())
    assert data["gconv"] == gconv.__version__
    assert data["settings"]["dtypes"] == ["float32", "float64"]
    assert data["settings"]["batches"] == [1, 2]
    results = data["results"]
    assert len(results) == 4 * len(backends)
    flops = {}
    for r in results:
        assert r["seconds"] > 0 and r["gflops"] > 0
        assert r["groups"] == 4 and r["in_channels"] == 8 and r["kernel"] == "3"
        # the same work for every backend: GFLOP/s x seconds agree
        key = (r["batch"], r["dtype"])
        flops.setdefault(key, r["gflops"] * r["seconds"])
        assert r["gflops"] * r["seconds"] == pytest.approx(flops[key])
        assert ("vs_torch" in r) == ("torch" in backends)
    # 2 * N * C_out * (C_in/groups) * kernel area * output pixels
    assert flops[(2, "float32")] * 1e9 == pytest.approx(2 * 2 * 8 * 2 * 9 * 81)
    assert len(data["geomean"]) == 4 * len(backends)
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(results)
    assert {r["backend"] for r in rows} == set(backends)
    assert float(rows[0]["seconds"]) == pytest.approx(results[0]["seconds"])
    assert f"wrote {json_path}" in out and f"wrote {csv_path}" in out


def test_bench_dtype_ratio(tmp_path):
    json_path = tmp_path / "r.json"
    rc, out, err = run("bench", *TINY_LAYER, "--batch", "1,2", "--dtype-ratio",
                       "--json", json_path, tmp_path=tmp_path)
    assert rc == 0, err
    backends = gconv.available_backends()
    data = json.loads(json_path.read_text())
    ratios = data["dtype_ratio"]
    assert sorted((r["backend"], r["batch"]) for r in ratios) == sorted(
        (b, n) for b in backends for n in (1, 2))
    for r in ratios:
        assert r["layer"] == "custom" and r["rounds"] >= 3
        assert r["seconds_float32"] > 0 and r["seconds_float64"] > 0
        assert r["f64_vs_f32"] > 0
    assert "float64 throughput / float32 throughput" in out
    table = out[out.index("float64 throughput / float32 throughput"):].splitlines()
    assert table[1].split() == ["layer", "batch"] + backends
    assert [l.split()[:2] for l in table[2:4]] == [["custom", "1"], ["custom", "2"]]
    assert table[5].startswith("geometric mean")
    # without the option: no ratio table, no key
    rc, out, err = run("bench", *TINY_LAYER, "--backends", "numpy", "--json", json_path,
                       tmp_path=tmp_path)
    assert rc == 0, err
    assert "dtype_ratio" not in json.loads(json_path.read_text())
    assert "float64 throughput" not in out


def test_bench_json_to_stdout(tmp_path):
    rc, out, err = run("bench", *TINY_LAYER, "--backends", "numpy", "--json", "-",
                       tmp_path=tmp_path)
    assert rc == 0, err
    data = json.loads(out)
    assert [r["backend"] for r in data["results"]] == ["numpy"]


def test_bench_named_layer_and_backend(tmp_path):
    rc, out, err = run("bench", "--layers", "mbv2_dw_7", "--backends", "numpy",
                       "--quick", "--threads", "1", tmp_path=tmp_path)
    assert rc == 0, err
    assert len(_table_rows(out)) == 1
    assert "numpy" in out and " c " not in out
    assert "1 thread" in out.splitlines()[0]


def test_bench_layer_patterns_and_list(tmp_path):
    rc, out, err = run("bench", "--list")
    assert rc == 0, err
    names = [l.split()[0] for l in out.splitlines()[1:]]
    assert "resnext50_s1" in names and "mbv2_dw_7" in names and len(names) >= 10
    rc, out, err = run("bench", "--layers", "mbv2_dw_1*", "--backends", "numpy",
                       "--quick", "--json", tmp_path / "r.json", tmp_path=tmp_path)
    assert rc == 0, err
    layers = {r["layer"] for r in json.loads((tmp_path / "r.json").read_text())["results"]}
    assert layers == {n for n in names if n.startswith("mbv2_dw_1")}


def test_bench_unknown_layer(tmp_path):
    rc, out, err = run("bench", "--layers", "no_such_layer", tmp_path=tmp_path)
    assert rc == 2
    assert "no layer matches 'no_such_layer'" in err and "resnext50_s1" in err


def test_bench_unknown_backend(tmp_path):
    rc, _, err = run("bench", *TINY_LAYER, "--backends", "cuda", tmp_path=tmp_path)
    assert rc == 2
    assert "unknown backend 'cuda'" in err


def test_bench_unavailable_backend(tmp_path):
    missing = [n for n, r in gconv.backends().items() if r is not None]
    if not missing:
        pytest.skip("every backend is available here")
    rc, _, err = run("bench", *TINY_LAYER, "--backends", missing[0], tmp_path=tmp_path)
    assert rc == 1
    assert gconv.backends()[missing[0]] in squash(err)


def test_bench_invalid_groups_gives_the_api_error(tmp_path):
    with pytest.raises(gconv.GroupsError) as excinfo:
        gconv.check_groups(12, 11, 3)
    rc, out, err = run("bench", "--shape", "1x12x8x8", "--out-channels", "11",
                       "--groups", "3", tmp_path=tmp_path)
    assert rc == 1
    assert f"GroupsError: {excinfo.value}" in squash(err)
    assert "geometric mean" not in out


@pytest.mark.parametrize("args,message", [
    (["--shape", "1x8x9x9", "--kernel", "3x3x3"], "--kernel has 3 sizes"),
    (["--shape", "1x8"], "--shape must be"),
    (["--shape", "axb"], "--shape must be an integer"),
    (["--shape", "1x8x9x9", "--layers", "mbv2_dw_7"], "do not combine"),
    (["--layers", "mbv2_dw_7", "--groups", "2"], "--groups describes a layer"),
    (["--layers", "mbv2_dw_7", "--dtype", "float16"], "float32 or float64"),
    (["--layers", "mbv2_dw_7", "--threads", "0"], "--threads must be >= 1"),
])
def test_bench_usage_errors(tmp_path, args, message):
    rc, _, err = run("bench", *args, tmp_path=tmp_path)
    assert rc == 2
    assert message in err


def test_bench_shape_error(tmp_path):
    rc, _, err = run("bench", "--shape", "1x8x2x2", "--kernel", "5", "--quick",
                     tmp_path=tmp_path)
    assert rc == 1
    assert "ShapeError" in err and "larger than the padded input" in squash(err)


def test_bench_same_padding_with_stride_is_rejected(tmp_path):
    rc, _, err = run("bench", "--shape", "1x8x9x9", "--padding", "same", "--stride", "2",
                     tmp_path=tmp_path)
    assert rc == 1
    assert "ShapeError" in err and "same" in err


def test_bench_out_of_memory_is_an_error_not_a_crash(tmp_path):
    # valid for the gate (no 64-bit overflow), far beyond any memory
    rc, _, err = run("bench", "--shape", "1x100000x100000x100000", "--groups", "2",
                     "--quick", tmp_path=tmp_path)
    assert rc == 1
    assert "out of memory" in err and "Traceback" not in err


def test_bench_1d_and_3d_shapes(tmp_path):
    for shape, kernel in (("2x6x20", "3"), ("1x6x5x6x7", "3x1x3")):
        rc, out, err = run("bench", "--shape", shape, "--kernel", kernel, "--groups",
                           "3", "--out-channels", "12", "--padding", "same",
                           "--backends", "numpy", "--quick", "--json", "-",
                           tmp_path=tmp_path)
        assert rc == 0, err
        (row,) = json.loads(out)["results"]
        assert row["ndim"] == len(shape.split("x")) - 2
        assert row["batch"] == int(shape.split("x")[0])


def test_bench_plot(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "bench.png"
    rc, out, err = run("bench", *TINY_LAYER, "--batch", "1", "2", "--plot", png,
                       tmp_path=tmp_path)
    assert rc == 0, err
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000
    assert f"wrote {png}" in out


def test_bench_plot_without_matplotlib(tmp_path):
    png = tmp_path / "bench.png"
    rc, out, err = run("bench", *TINY_LAYER, "--plot", png, tmp_path=tmp_path,
                       extra_path=[_hide(tmp_path, "matplotlib")])
    assert rc == 1
    assert "needs matplotlib" in squash(err) and "pip install" in err
    assert not png.exists()
    assert "[1/1]" not in err          # it failed before timing anything


def _hide(tmp_path, module):
    """A folder whose copy of module cannot be imported, as if it were not
    installed (put ahead of the real one on the path)."""
    fake = tmp_path / f"no_{module}"
    (fake / module).mkdir(parents=True)
    (fake / module / "__init__.py").write_text(
        f"raise ImportError(\"No module named {module!r}\", name={module!r})\n")
    return str(fake)


def test_without_torch(tmp_path):
    no_torch = [_hide(tmp_path, "torch")]
    rc, out, err = run("info", tmp_path=tmp_path, extra_path=no_torch)
    assert rc == 0, err
    assert re.search(r"torch\s+unavailable: torch is not installed", out)
    assert re.search(r"PyTorch\s+not installed", out)
    rc, out, err = run("bench", *TINY_LAYER, tmp_path=tmp_path, extra_path=no_torch)
    assert rc == 0, err
    assert "vs torch" not in out and "- torch -" not in out
    assert "no speed relative to PyTorch: torch is not installed" in out
    rc, _, err = run("bench", *TINY_LAYER, "--backends", "torch", tmp_path=tmp_path,
                     extra_path=no_torch)
    assert rc == 1
    assert "backend 'torch' is not available here: torch is not installed" in squash(err)


def test_bench_unwritable_output(tmp_path):
    rc, _, err = run("bench", *TINY_LAYER, "--csv", tmp_path / "missing" / "r.csv",
                     tmp_path=tmp_path)
    assert rc == 1
    assert "not a directory" in squash(err)


# ---- C flags -------------------------------------------------------------------

def test_cflags_libs():
    if not (hasattr(_config, "cflags") and hasattr(_config, "libs")):
        pytest.skip("this build has no gconv._config.cflags()/libs() (the C library "
                    "packaging is not merged)")

    def text(value):
        return " ".join(value) if isinstance(value, (list, tuple)) else str(value).strip()

    cflags, libs = text(_config.cflags()), text(_config.libs())
    for args, expected in ((["--cflags"], cflags), (["--libs"], libs),
                           (["--cflags", "--libs"], f"{cflags} {libs}"),
                           (["--libs", "--cflags"], f"{cflags} {libs}")):
        rc, out, err = run(*args)
        assert rc == 0, err
        assert out.strip() == expected.strip()
    assert "-I" in cflags and "-lgconv" in libs


def test_cflags_with_a_command_is_a_usage_error():
    rc, _, err = run("--cflags", "info")
    assert rc == 2
    assert "take no command" in err


def test_bench_ceiling_and_memory(tmp_path):
    json_path = tmp_path / "r.json"
    rc, out, err = run("bench", *TINY_LAYER, "--backends", "numpy", "--ceiling",
                       "--memory", "--json", json_path, tmp_path=tmp_path)
    if sys.platform.startswith("linux"):
        assert rc == 0, err
    else:
        assert rc == 1 and "--memory needs Linux" in err
        return
    assert "% GEMM" in out and "MB extra" in out and "GEMM ceiling" in out
    data = json.loads(json_path.read_text())
    ceiling = data["gemm_ceiling_gflops"]["float32"]
    assert ceiling > 0
    (row,) = data["results"]
    assert row["gemm_share"] == pytest.approx(row["gflops"] / ceiling)
    assert row["extra_bytes"] >= 0
