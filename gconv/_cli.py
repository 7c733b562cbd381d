"""The command line: ``python -m gconv`` (also installed as ``gconv``).

    gconv info                   what this installation is and does here
    gconv check IN OUT GROUPS    whether a channel/groups configuration is valid
    gconv bench [options]        time the backends side by side on real layers
    gconv --cflags --libs        compiler and linker flags for C programs

``main(argv)`` returns the exit status: 0 on success, 1 when the command ran
but the answer is "no" (an invalid configuration, a missing optional
dependency, a failed write), 2 for a usage error.
"""

import argparse
import csv
import fnmatch
import functools
import json
import os
import sys
import textwrap
import time

__all__ = ["main"]

#: Shorter timing per case for --quick (smoke runs, CI).
_QUICK = {"min_time": 0.02, "min_rounds": 3}


class _UsageError(Exception):
    """A bad command-line value: printed with the usage line, exit status 2."""


class _Failure(Exception):
    """The command cannot do what was asked: printed, exit status 1."""


def _prog():
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "python -m gconv" if name in ("__main__.py", "-m", "-c", "") else "gconv"


def _wrap(text, indent=""):
    return textwrap.fill(text, width=79, initial_indent=indent,
                         subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False)


def _split_list(values):
    """Flattens ["a,b", "c"] into ["a", "b", "c"]."""
    out = []
    for value in values or ():
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


# ---- info --------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _cpu_name():
    """The processor as the OS names it (read once a process).  On Linux /proc/cpuinfo's model name,
    with the x86 family and model numbers (a virtual machine's name may say
    no more than "AMD EPYC", and timings are comparable only within one CPU
    generation); elsewhere platform.processor(), or None."""
    import platform
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            fields = {}
            for line in f:
                if not line.strip():
                    break                      # the first processor only
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        fields = {}
    name = fields.get("model name") or platform.processor() or None
    if name and fields.get("cpu family") and fields.get("model"):
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return name


def _environment():
    import platform

    import numpy
    env = {"python": platform.python_version(), "numpy": numpy.__version__,
           "torch": None, "platform": platform.platform(),
           "machine": platform.machine(), "cpu": _cpu_name(),
           "cpu_count": os.cpu_count()}
    torch = sys.modules.get("torch")
    if torch is not None:
        env["torch"] = torch.__version__
    try:
        env["load_average"] = list(os.getloadavg())
    except (AttributeError, OSError):
        pass
    return env


def _c_library():
    """Where the header and the library are, when this build carries them."""
    from . import _config
    out = {}
    for key, name in (("include_dir", "get_include"), ("library_dir", "get_library_dir")):
        fn = getattr(_config, name, None)
        if fn is not None:
            try:
                out[key] = fn()
            except Exception as exc:  # a packaging problem is reported, not raised
                out[key] = f"unavailable ({exc})"
    return out


def _cmd_info(args):
    from ._config import config, show_config
    info = config()           # imports torch when it is installed: backends()
    info["environment"] = _environment()
    info["c_library"] = _c_library()
    if args.json:
        json.dump(info, sys.stdout, indent=2)
        print()
        return 0
    show_config()
    env = info["environment"]
    print("environment:")
    print(f"  Python       {env['python']}")
    print(f"  NumPy        {env['numpy']}")
    print(f"  PyTorch      {env['torch'] or 'not installed'}")
    print(f"  platform     {env['platform']} ({env['cpu_count']} CPUs)")
    if env["cpu"]:
        print(f"  CPU          {env['cpu']}")
    if info["c_library"]:
        print("C library (for python -m gconv --cflags --libs):")
        for key, value in info["c_library"].items():
            print(f"  {key.replace('_', ' '):<12} {value}")
    return 0


# ---- check -------------------------------------------------------------------

def _parse_count(text, what):
    try:
        return int(text.strip(), 10)
    except ValueError:
        raise _UsageError(f"{what} must be an integer, got {text!r}") from None


def _describe_valid(cin, cout, groups, cin_g, cout_g):
    from ._gate import valid_groups
    lines = [f"valid: in_channels={cin}, out_channels={cout}, groups={groups}"]
    kind = ""
    if groups == 1:
        kind = " (an ordinary, dense convolution)"
    elif cin_g == 1 and cout_g == 1:
        kind = " (depthwise)"
    elif cin_g == 1:
        kind = f" (depthwise with channel multiplier {cout_g})"
    group_word = "group" if groups == 1 else f"each of the {groups} groups"
    lines.append(f"  {group_word} maps {cin_g} input channel{'s' * (cin_g != 1)} to "
                 f"{cout_g} output channel{'s' * (cout_g != 1)}{kind}")
    lines.append(f"  weight shape: ({cout}, {cin_g}, *kernel_size)")
    lines.append(_wrap(f"valid groups for in_channels={cin}, out_channels={cout}: "
                       f"{_format_groups(valid_groups(cin, cout))}", "  "))
    return "\n".join(lines)


def _format_groups(groups):
    if len(groups) <= 24:
        return "[" + ", ".join(map(str, groups)) + "]"
    return ("[" + ", ".join(map(str, groups[:12])) + ", ..., "
            + ", ".join(map(str, groups[-4:])) + f"] ({len(groups)} values)")


def _cmd_check(args):
    from ._errors import GroupsError, ShapeError
    from ._gate import check_groups
    cin = _parse_count(args.in_channels, "IN (in_channels)")
    cout = _parse_count(args.out_channels, "OUT (out_channels)")
    groups = _parse_count(args.groups, "GROUPS")
    try:
        cin_g, cout_g = check_groups(cin, cout, groups)
    except (GroupsError, ShapeError) as exc:
        print(f"invalid: in_channels={cin}, out_channels={cout}, groups={groups}")
        print(_wrap(f"{type(exc).__name__}: {exc}"))
        return 1
    print(_describe_valid(cin, cout, groups, cin_g, cout_g))
    return 0


# ---- bench -------------------------------------------------------------------

def _parse_dims(text, what, allow_strings=()):
    """'3' -> 3, '3x5' -> [3, 5]; strings in allow_strings pass through."""
    text = text.strip().lower()
    if text in allow_strings:
        return text
    try:
        dims = [int(p, 10) for p in text.replace("*", "x").split("x")]
    except ValueError:
        extra = f" or one of {', '.join(allow_strings)}" if allow_strings else ""
        raise _UsageError(f"{what} must be an integer or integers joined by 'x' "
                          f"(e.g. 3 or 3x3){extra}, got {text!r}") from None
    return dims[0] if len(dims) == 1 else dims


def _custom_layer(args):
    shape = _parse_dims(args.shape, "--shape")
    shape = [shape] if isinstance(shape, int) else shape
    if not 3 <= len(shape) <= 5:
        raise _UsageError("--shape must be N x C_in x spatial size (1 to 3 "
                          f"spatial dimensions), e.g. 1x128x56x56; got {args.shape!r}")
    if any(d < 1 for d in shape):
        raise _UsageError(f"--shape sizes must be >= 1, got {args.shape!r}")
    nd = len(shape) - 2
    layer = {"name": args.name or "custom", "ndim": nd, "input": [1] + shape[1:],
             "out_channels": shape[1] if args.out_channels is None else args.out_channels,
             "kernel": _parse_dims(args.kernel, "--kernel"),
             "stride": _parse_dims(args.stride, "--stride"),
             "padding": _parse_dims(args.padding, "--padding", ("same", "valid")),
             "dilation": _parse_dims(args.dilation, "--dilation"),
             "groups": args.groups}
    for key in ("kernel", "stride", "padding", "dilation"):
        value = layer[key]
        if isinstance(value, list) and len(value) != nd:
            raise _UsageError(f"--{key} has {len(value)} sizes but --shape has {nd} "
                              "spatial dimensions")
    return layer, shape[0]


def _check_layer(layer):
    """Runs the layer's configuration through gconv's gate (the same errors
    as the API) before any timing starts, on arrays of the right shapes that
    take no memory."""
    import numpy as np

    from ._gate import check_conv, check_groups
    nd = layer["ndim"]
    cin, cout, groups = layer["input"][1], layer["out_channels"], layer["groups"]
    check_groups(cin, cout, groups)
    kernel = layer["kernel"]
    kernel = list(kernel) if isinstance(kernel, list) else [kernel] * nd
    zero = np.zeros((), np.float32)
    x = np.broadcast_to(zero, tuple(layer["input"]))
    w = np.broadcast_to(zero, (cout, cin // groups, *kernel))
    b = np.broadcast_to(zero, (cout,))
    check_conv(nd, x, w, b, layer["stride"], layer["padding"], layer["dilation"],
               groups, "zeros", f"conv{nd}d")


def _batches(values):
    out = []
    for text in _split_list(values):
        try:
            out.append(int(text, 10))
        except ValueError:
            raise _UsageError(f"--batch sizes must be integers, got {text!r}") from None
    return out


def _select_layers(all_layers, patterns):
    if not patterns:
        return all_layers
    chosen, names = [], [layer["name"] for layer in all_layers]
    for pattern in patterns:
        hits = [layer for layer in all_layers if fnmatch.fnmatchcase(layer["name"], pattern)]
        if not hits:
            raise _UsageError(f"no layer matches {pattern!r}; the layers are: "
                              + ", ".join(names))
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def _select_backends(requested):
    from ._dispatch import backends
    status = backends()
    if not requested:
        return [name for name, reason in status.items() if reason is None]
    out = []
    for name in requested:
        if name not in status:
            raise _UsageError(f"unknown backend {name!r}; known backends are "
                              + ", ".join(status))
        if status[name] is not None:
            raise _Failure(f"backend {name!r} is not available here: {status[name]}")
        if name not in out:
            out.append(name)
    return out


def _layer_geometry(layer):
    def fmt(v):
        return "x".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
    return {"ndim": layer.get("ndim", len(layer["input"]) - 2),
            "in_channels": layer["input"][1],
            "in_size": fmt(layer["input"][2:]),
            "out_channels": layer["out_channels"], "kernel": fmt(layer["kernel"]),
            "stride": fmt(layer.get("stride", 1)), "padding": fmt(layer.get("padding", 0)),
            "dilation": fmt(layer.get("dilation", 1)), "groups": layer["groups"]}


def _fmt_ms(seconds):
    ms = seconds * 1e3
    if ms >= 100:
        return f"{ms:.1f}"
    if ms >= 10:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def _table(rows, summary, backends):
    """The side-by-side text table: one line per (layer, batch, dtype)."""
    has_torch = any("vs_torch" in r for r in rows)
    cases, by_case = [], {}
    for r in rows:
        key = (r["layer"], r["batch"], r["dtype"])
        if key not in by_case:
            cases.append(key)
            by_case[key] = {}
        by_case[key][r["backend"]] = r
    has_share = any("gemm_share" in r for r in rows)
    has_memory = any("extra_bytes" in r for r in rows)
    cols = {b: (["ms", "GFLOP/s"] + (["% GEMM"] if has_share else [])
                + (["vs torch"] if has_torch and b != "torch" else [])
                + (["MB extra"] if has_memory else []))
            for b in backends}
    widths = {"ms": 8, "GFLOP/s": 7, "% GEMM": 6, "vs torch": 8, "MB extra": 8}
    name_w = max([21] + [len(c[0]) for c in cases])

    def block_width(b):
        return sum(widths[c] for c in cols[b]) + len(cols[b]) - 1

    head1 = " " * (name_w + 14)
    head2 = f"{'layer':<{name_w}} {'batch':>5} {'dtype':<7}"
    for b in backends:
        w = block_width(b)
        head1 += "  " + f" {b} ".center(w, "-")
        head2 += "  " + " ".join(f"{c:>{widths[c]}}" for c in cols[b])
    lines = [head1.rstrip(), head2]

    def cells(b, row):
        out = []
        for c in cols[b]:
            if row is None:
                value = "-"
            elif c == "ms":
                value = _fmt_ms(row["seconds"])
            elif c == "GFLOP/s":
                value = _fmt(row["gflops"], ".1f")
            elif c == "% GEMM":
                value = _fmt(row.get("gemm_share") and 100 * row["gemm_share"], ".0f")
            elif c == "MB extra":
                value = _fmt(row.get("extra_bytes") and row["extra_bytes"] / 2 ** 20, ".2f")
            else:
                value = _fmt(row.get("vs_torch"), ".2f") + ("x" if row.get("vs_torch") else "")
            out.append(f"{value:>{widths[c]}}")
        return " ".join(out)

    for key in cases:
        line = f"{key[0]:<{name_w}} {key[1]:>5} {key[2]:<7}"
        for b in backends:
            line += "  " + cells(b, by_case[key].get(b))
        lines.append(line)
    groups = []
    for s in summary:
        if (s["batch"], s["dtype"]) not in groups:
            groups.append((s["batch"], s["dtype"]))
    lines.append("-" * len(head2))
    for batch, dtype in groups:
        line = f"{'geometric mean':<{name_w}} {batch:>5} {dtype:<7}"
        for b in backends:
            s = next((s for s in summary if (s["batch"], s["dtype"], s["backend"])
                      == (batch, dtype, b)), None)
            out = []
            for c in cols[b]:
                if s is None or c in ("ms", "% GEMM", "MB extra"):
                    value = ""
                elif c == "GFLOP/s":
                    value = _fmt(s["gflops"], ".1f")
                else:
                    value = _fmt(s["vs_torch"], ".2f") + ("x" if s["vs_torch"] else "")
                out.append(f"{value:>{widths[c]}}")
            line += "  " + " ".join(out)
        lines.append(line)
    return "\n".join(lines)


def _ratio_table(ratios, backends):
    """float64 throughput / float32 throughput per layer, batch and backend,
    with the geometric mean per batch and backend."""
    from ._bench import geomean
    index = {(r["layer"], r["batch"], r["backend"]): r["f64_vs_f32"] for r in ratios}
    cases = list(dict.fromkeys((r["layer"], r["batch"]) for r in ratios))
    name_w = max([21] + [len(layer) for layer, _ in cases])
    lines = ["float64 throughput / float32 throughput, each backend's two dtypes "
             "alternated call by call:",
             f"{'layer':<{name_w}} {'batch':>5}" + "".join(f" {b:>8}" for b in backends)]
    for layer, batch in cases:
        values = [index.get((layer, batch, b)) for b in backends]
        lines.append(f"{layer:<{name_w}} {batch:>5}"
                     + "".join(f" {_fmt(v, '.2f'):>8}" for v in values))
    lines.append("-" * len(lines[1]))
    for batch in dict.fromkeys(batch for _, batch in cases):
        means = [geomean(v for (_, n, b), v in index.items() if (n, b) == (batch, name))
                 for name in backends]
        lines.append(f"{'geometric mean':<{name_w}} {batch:>5}"
                     + "".join(f" {_fmt(m, '.2f'):>8}" for m in means))
    return "\n".join(lines)


def _write_json(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)
        f.write("\n")


_CSV_FIELDS = ["layer", "ndim", "batch", "in_channels", "in_size", "out_channels",
               "kernel", "stride", "padding", "dilation", "groups", "dtype", "backend",
               "threads", "seconds", "gflops", "vs_torch", "rounds", "gemm_share",
               "extra_bytes"]


def _write_csv(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=_CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k))
                             for k in _CSV_FIELDS})


def _import_pyplot():
    """matplotlib.pyplot with a file-only backend, or _Failure saying how to
    get it."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise _Failure("--plot needs matplotlib, which is not installed here "
                       f"({exc}). Install it with: pip install matplotlib "
                       "(or pip install 'gconv[plot]')") from None
    return plt


def _plot(path, rows, summary, backends, title):
    """Grouped bars per layer and backend, for each (batch, dtype): GFLOP/s,
    and when PyTorch ran, the speed relative to it (log scale)."""
    plt = _import_pyplot()
    panels = []
    for r in rows:
        if (r["batch"], r["dtype"]) not in panels:
            panels.append((r["batch"], r["dtype"]))
    layers = []
    for r in rows:
        if r["layer"] not in layers:
            layers.append(r["layer"])
    ratio_backends = [b for b in backends
                      if any(r.get("vs_torch") for r in rows if r["backend"] == b)
                      and b != "torch"]
    kinds = ["gflops"] + (["vs_torch"] if ratio_backends else [])
    n_axes = len(panels) * len(kinds)
    width = min(16.0, max(7.0, 0.6 * len(layers) + 2.0))
    fig, axes = plt.subplots(n_axes, 1, figsize=(width, 3.9 * n_axes + 0.6),
                             squeeze=False)
    axes = list(axes[:, 0])
    colors = {"c": "#1f77b4", "numpy": "#2ca02c", "torch": "#d62728"}
    index = {(r["layer"], r["batch"], r["dtype"], r["backend"]): r for r in rows}
    stats = {(s["batch"], s["dtype"], s["backend"]): s for s in summary}
    for batch, dtype in panels:
        for kind in kinds:
            ax = axes.pop(0)
            shown = backends if kind == "gflops" else ratio_backends
            bar_w = 0.8 / max(1, len(shown))
            for i, b in enumerate(shown):
                values = []
                for layer in layers:
                    row = index.get((layer, batch, dtype, b))
                    values.append((row.get(kind) or 0.0) if row else 0.0)
                s = stats.get((batch, dtype, b)) or {}
                label = b
                if s.get(kind):
                    label += (f" (geomean {s[kind]:.1f} GFLOP/s)" if kind == "gflops"
                              else f" (geomean {s[kind]:.2f}x)")
                xs = [j + (i - (len(shown) - 1) / 2) * bar_w for j in range(len(layers))]
                if kind == "gflops":
                    ax.bar(xs, values, bar_w, label=label, color=colors.get(b))
                else:   # bars from 1x up (faster) or down (slower)
                    ax.bar(xs, [v - 1.0 if v else 0.0 for v in values], bar_w, bottom=1.0,
                           label=label, color=colors.get(b))
            if kind == "gflops":
                ax.set_ylabel("GFLOP/s (higher is better)")
                ax.set_title(f"batch {batch}, {dtype}: throughput", fontsize=10)
            else:
                from matplotlib.ticker import FuncFormatter
                ax.set_yscale("log", base=2)
                ax.yaxis.set_major_formatter(FuncFormatter(
                    lambda v, _: f"{v:g}x" if v >= 1 else f"1/{1 / v:g}x"))
                ax.axhline(1.0, color="#d62728", linewidth=1, linestyle="--",
                           label="PyTorch (1x)")
                ax.set_ylabel("speed relative to PyTorch")
                ax.set_title(f"batch {batch}, {dtype}: PyTorch's time / backend's "
                             "time (above 1: faster than PyTorch)", fontsize=10)
            ax.set_xticks(range(len(layers)))
            ax.set_xticklabels(layers, rotation=35, ha="right", fontsize=8)
            ax.grid(axis="y", alpha=0.3)
            ax.set_axisbelow(True)
            ax.legend(fontsize=8)
            ax.set_xlim(-0.6, len(layers) - 0.4)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


class _Progress:
    """One status line per case on stderr (rewritten in place on a terminal)."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()
        self.start = time.perf_counter()
        self.width = 0

    def __call__(self, i, n, layer, batch, dtype):
        if not self.enabled:
            return
        text = (f"[{i + 1:>{len(str(n))}}/{n}] {layer['name']} (batch {batch}, "
                f"{dtype})  {time.perf_counter() - self.start:5.1f} s")
        if self.tty:
            sys.stderr.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def _line(self, text):
        """A line of its own, after clearing the status line on a terminal."""
        if self.tty:
            sys.stderr.write("\r" + " " * self.width + "\r")
            self.width = 0
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def note(self, text):
        """A line about a step other than the timed cases."""
        if self.enabled:
            self._line(f"{text}  {time.perf_counter() - self.start:5.1f} s")

    def done(self, n):
        if self.enabled:
            self._line(f"timed {n} case{'s' * (n != 1)} in "
                       f"{time.perf_counter() - self.start:.1f} s")


def _busy():
    """A sentence when other processes already keep the CPUs busy, else None."""
    try:
        load = os.getloadavg()[0]
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else (os.cpu_count() or 1)
    except (AttributeError, OSError):
        return None
    if load >= cores:
        return (f"this machine is busy (load average {load:.1f} on {cores} "
                f"core{'s' * (cores != 1)})")
    return None


def _cmd_bench(args):
    from ._bench import bench, bench_dtypes, gemm_ceiling, load_shapes, summarize
    from ._config import config
    from ._errors import GroupsError, ShapeError
    from ._threads import get_num_threads
    from ._version import __version__

    if args.plot:
        _import_pyplot()               # fail before the timing, not after it
    for path in (args.json, args.csv, args.plot):
        if path:
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise _Failure(f"cannot write {path}: {folder} is not a directory")

    if args.shape is not None:
        if args.layers or args.shapes:
            raise _UsageError("--shape replaces the layer list: do not combine it "
                              "with --layers or --shapes")
        if args.groups is None:
            args.groups = 1
        layer, shape_batch = _custom_layer(args)
        try:
            _check_layer(layer)
        except (GroupsError, ShapeError, TypeError) as exc:
            raise _Failure(f"{type(exc).__name__}: {exc}") from None
        layers = [layer]
        batches = _batches(args.batch) or [shape_batch]
    else:
        for opt in ("out_channels", "kernel", "stride", "padding", "dilation",
                    "groups", "name"):
            if getattr(args, opt) != _LAYER_DEFAULTS[opt]:
                raise _UsageError(f"--{opt.replace('_', '-')} describes a layer given "
                                  "with --shape")
        try:
            all_layers = load_shapes(args.shapes)
        except (OSError, ValueError, KeyError) as exc:
            raise _Failure(f"cannot read the layer shapes from {args.shapes}: {exc}")
        if args.list:
            from ._bench import layer_flops
            print(f"{'layer':<22} {'input (N=1)':<16} {'out':>5} {'kernel':>6} "
                  f"{'stride':>6} {'pad':>4} {'groups':>6} {'MFLOP':>8}")
            for layer in all_layers:
                g = _layer_geometry(layer)
                print(f"{layer['name']:<22} "
                      f"{'x'.join(map(str, layer['input'])):<16} "
                      f"{g['out_channels']:>5} {g['kernel']:>6} {g['stride']:>6} "
                      f"{g['padding']:>4} {g['groups']:>6} "
                      f"{layer_flops(layer) / 1e6:>8.1f}")
            return 0
        layers = _select_layers(all_layers, _split_list(args.layers))
        batches = _batches(args.batch) or [1]
    if any(b < 1 for b in batches):
        raise _UsageError("--batch sizes must be >= 1")
    batches = [b for i, b in enumerate(batches) if b not in batches[:i]]
    dtypes = _split_list(args.dtype) or ["float32"]
    for d in dtypes:
        if d not in ("float32", "float64"):
            raise _UsageError(f"--dtype must be float32 or float64, got {d!r}")
    dtypes = [d for i, d in enumerate(dtypes) if d not in dtypes[:i]]
    threads = args.threads if args.threads is not None else get_num_threads()
    if threads < 1:
        raise _UsageError(f"--threads must be >= 1, got {threads}")
    backends = _select_backends(_split_list(args.backends))
    if not backends:
        raise _Failure("no backend is available")
    timing = dict(_QUICK) if args.quick else {"min_time": 0.2, "min_rounds": 5}
    if args.min_time is not None:
        if args.min_time < 0:
            raise _UsageError("--min-time must be >= 0")
        timing["min_time"] = args.min_time

    info = config()
    isa = (info.get("c_core") or {}).get("isa")
    n_cases = len(layers) * len(batches) * len(dtypes)
    if args.json != "-":
        print(f"gconv {__version__} bench: {len(layers)} layer{'s' * (len(layers) != 1)}"
              f" x batch {', '.join(map(str, batches))} x {', '.join(dtypes)} on "
              f"{', '.join(backends)}; {threads} thread{'s' * (threads != 1)}"
              + (f", C core {isa}" if isa else ""))
        cpu = _cpu_name()
        if cpu:
            print(f"CPU: {cpu}")
    busy = _busy()
    if busy:
        print(f"warning: {busy}: the timings will be noisy (threads that wait "
              "for each other suffer most; --threads 1 suffers least)", file=sys.stderr)
    if args.memory:
        from ._memory import supported
        why = supported()
        if why:
            raise _Failure(f"--memory {why}")
    progress = _Progress(not args.quiet)
    ceiling = {}
    if args.ceiling:                       # before and after the layers: the best
        progress.note("the GEMM ceiling (NumPy matmul 2048 x 2048)")
        ceiling = {d: gemm_ceiling(d) for d in dtypes}
    rows = bench(layers, batches, dtypes, backends, threads,
                 min_time=timing["min_time"], min_rounds=timing["min_rounds"],
                 progress=progress)
    if args.ceiling:
        ceiling = {d: max(ceiling[d], gemm_ceiling(d)) for d in dtypes}
        for row in rows:
            row["gemm_share"] = row["gflops"] / ceiling[row["dtype"]]
    ratios = []
    if args.dtype_ratio:
        cases = [(b, batch, layer) for b in backends for batch in batches
                 for layer in layers]
        for i, (b, batch, layer) in enumerate(cases):
            progress(i, len(cases), layer, batch, f"float64 vs float32 on {b}")
            ratios.append(bench_dtypes(layer, batch, b, threads,
                                       min_time=timing["min_time"],
                                       min_rounds=timing["min_rounds"]))
    if args.memory:
        from ._memory import extra_memory
        cases = [(layer, batch, dtype) for dtype in dtypes for batch in batches
                 for layer in layers]
        for b in backends:
            progress.note(f"memory per call on {b} ({len(cases)} cases, "
                          "a child process)")
            try:
                extras = extra_memory(cases, b, threads)
            except (RuntimeError, OSError, ValueError) as exc:
                raise _Failure(str(exc)) from None
            index = {(c[0]["name"], c[1], c[2]): e for c, e in zip(cases, extras)}
            for row in rows:
                if row["backend"] == b:
                    row["extra_bytes"] = index[(row["layer"], row["batch"], row["dtype"])]
    progress.done(n_cases)
    by_name = {layer["name"]: layer for layer in layers}
    for row in rows:
        row.update(_layer_geometry(by_name[row["layer"]]))
    summary = summarize(rows)

    if args.json != "-":
        print(f"median time per call over >= {timing['min_rounds']} rounds "
              f"(>= {timing['min_time']:g} s per case), backends alternated call by call")
        print(_table(rows, summary, backends))
        for d, g in ceiling.items():
            print(f"% GEMM = GFLOP/s as a share of the {d} GEMM ceiling measured in "
                  f"this run: {g:.0f} GFLOP/s (NumPy matmul, 2048 x 2048)")
        if args.memory:
            print("MB extra = memory one call needs beyond its input, weight and "
                  "output arrays (peak resident set, one child process per backend)")
        if any("vs_torch" in r for r in rows):
            print("vs torch = PyTorch's time / the backend's time (above 1: faster "
                  "than PyTorch's own convolution)")
        elif "torch" not in backends:
            reason = info["backends"].get("torch")
            print("no speed relative to PyTorch: " + (reason or "torch was not timed "
                                                      "(add it to --backends)"))
        if ratios:
            print()
            print(_ratio_table(ratios, backends))
    payload = {"gconv": __version__, "config": info, "environment": _environment(),
               "settings": {"batches": batches, "dtypes": dtypes, "backends": backends,
                            "threads": threads, **timing},
               "gemm_ceiling_gflops": ceiling or None,
               "results": rows, "geomean": summary}
    if ratios:
        payload["dtype_ratio"] = ratios
    written = []
    try:
        if args.json == "-":
            json.dump(payload, sys.stdout, indent=2)
            print()
        elif args.json:
            _write_json(args.json, payload)
            written.append(args.json)
        if args.csv:
            _write_csv(args.csv, rows)
            written.append(args.csv)
        if args.plot:
            title = (f"gconv {__version__}: GFLOP/s per layer, {threads} "
                     f"thread{'s' * (threads != 1)}" + (f", C core {isa}" if isa else ""))
            _plot(args.plot, rows, summary, backends, title)
            written.append(args.plot)
    except OSError as exc:
        raise _Failure(f"cannot write the results: {exc}") from None
    for path in written:
        print(f"wrote {path}", file=sys.stderr if args.json == "-" else sys.stdout)
    return 0


_LAYER_DEFAULTS = {"out_channels": None, "kernel": "3", "stride": "1", "padding": "0",
                   "dilation": "1", "groups": None, "name": None}


# ---- C flags -----------------------------------------------------------------

def _flags(which):
    from . import _config
    fn = getattr(_config, which, None)
    if fn is None:
        raise _Failure(f"--{which} is not supported by this build of gconv "
                       f"(gconv._config has no {which}()): it does not carry the C "
                       "library")
    try:
        value = fn()
    except (RuntimeError, OSError) as exc:
        raise _Failure(f"--{which}: {exc}") from None
    if isinstance(value, (list, tuple)):
        value = " ".join(value)
    return str(value).strip()


# ---- the parser ----------------------------------------------------------------

def _parser():
    prog = _prog()
    parser = argparse.ArgumentParser(
        prog=prog,
        description="gconv: grouped convolution over a C core, NumPy and PyTorch.",
        epilog=f"Start with '{prog} info', then '{prog} bench'. "
               f"'{prog} COMMAND --help' describes each command.")
    from ._version import __version__
    parser.add_argument("--version", action="version", version=f"gconv {__version__}")
    parser.add_argument("--cflags", action="store_true",
                        help="print the C compiler flags for gconv.h (with --libs: both, "
                             "on one line)")
    parser.add_argument("--libs", action="store_true",
                        help="print the linker flags for libgconv")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help="version, backends, vector path, OpenMP and threads",
                       description="What this installation of gconv is and does here: "
                                   "the data of gconv.show_config(), and the versions "
                                   "of Python, NumPy and PyTorch.")
    p.add_argument("--json", action="store_true", help="print it as JSON")

    p = sub.add_parser("check", help="is IN -> OUT channels with GROUPS groups valid?",
                       description="Explains a grouped-convolution configuration: the "
                                   "channels per group when it is valid, else the error "
                                   "gconv raises and what would be valid. The exit status "
                                   "is 1 when the configuration is invalid.")
    p.add_argument("in_channels", metavar="IN", help="input channels")
    p.add_argument("out_channels", metavar="OUT", help="output channels")
    p.add_argument("groups", metavar="GROUPS", help="number of groups")

    p = sub.add_parser(
        "bench", help="time the backends side by side on real-network layers",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_wrap("Times the available backends side by side on the "
                          "grouped and depthwise layers of published networks (or on "
                          "one layer given with --shape): median time per call, "
                          "GFLOP/s, and speed relative to PyTorch when it is "
                          "installed. Progress goes to stderr.") + "\n\n" +
                    _wrap("Without options: every layer at batch 1, float32, every "
                          "available backend, gconv's default thread count (well "
                          "under a minute)."),
        epilog="examples:\n"
               f"  {prog} bench --layers 'mbv2_*' --batch 1 8 --dtype float32 float64\n"
               f"  {prog} bench --shape 1x128x56x56 --out-channels 128 --kernel 3 "
               "--groups 32 --padding 1\n"
               f"  {prog} bench --json results.json --csv results.csv --plot results.png")
    sel = p.add_argument_group("what to time")
    sel.add_argument("--layers", nargs="+", metavar="NAME", action="extend",
                     help="layer names or shell patterns (e.g. 'resnext50_*'); "
                          "default: all (see --list)")
    sel.add_argument("--list", action="store_true", help="list the layers and exit")
    sel.add_argument("--shapes", metavar="FILE",
                     help="a shapes JSON file in the format of gconv/data/shapes.json "
                          "(default: the one gconv ships)")
    sel.add_argument("--batch", nargs="+", metavar="N", action="extend",
                     help="batch sizes (default: 1, or N of --shape)")
    sel.add_argument("--dtype", nargs="+", metavar="DTYPE", action="extend",
                     help="float32 and/or float64 (default: float32)")
    sel.add_argument("--backends", nargs="+", metavar="NAME", action="extend",
                     help="backends to time (default: every available one)")
    sel.add_argument("--threads", type=int, metavar="N",
                     help="threads for the C core and PyTorch (default: "
                          "gconv.get_num_threads())")
    one = p.add_argument_group("one layer of your own")
    one.add_argument("--shape", metavar="NxCxHxW",
                     help="input shape N x C_in x spatial (1 to 3 spatial dims), "
                          "e.g. 1x128x56x56")
    one.add_argument("--out-channels", type=int, metavar="C",
                     help="output channels (default: C_in)")
    one.add_argument("--kernel", default="3", metavar="K", help="kernel size, e.g. 3 "
                     "or 3x3 (default: 3)")
    one.add_argument("--groups", type=int, metavar="G", help="groups (default: 1)")
    one.add_argument("--stride", default="1", metavar="S", help="(default: 1)")
    one.add_argument("--padding", default="0", metavar="P",
                     help="int, e.g. 1 or 1x2, or 'same' / 'valid' (default: 0)")
    one.add_argument("--dilation", default="1", metavar="D", help="(default: 1)")
    one.add_argument("--name", help="name of the layer in the output (default: custom)")
    tim = p.add_argument_group("timing and output")
    tim.add_argument("--quick", action="store_true",
                     help="shorter timing per case (noisier): at least 3 rounds and "
                          "0.02 s")
    tim.add_argument("--min-time", type=float, metavar="SECONDS",
                     help="time each case for at least this long (default: 0.2)")
    tim.add_argument("--json", metavar="FILE",
                     help="also write the results as JSON ('-': only JSON, to stdout)")
    tim.add_argument("--csv", metavar="FILE", help="also write the results as CSV")
    tim.add_argument("--plot", metavar="FILE.png",
                     help="also draw bar charts of GFLOP/s and of the speed relative "
                          "to PyTorch (needs matplotlib)")
    tim.add_argument("--ceiling", action="store_true",
                     help="also measure the machine's GEMM throughput (NumPy matmul) "
                          "and show each layer's GFLOP/s as a share of it")
    tim.add_argument("--dtype-ratio", action="store_true",
                     help="also time each backend's float64 against its own float32, "
                          "the two alternated call by call with no other backend in "
                          "between, and show float64's throughput as a share of "
                          "float32's")
    tim.add_argument("--memory", action="store_true",
                     help="also measure the memory each call needs beyond its arrays, "
                          "per backend in a child process (Linux)")
    tim.add_argument("-q", "--quiet", action="store_true",
                     help="no progress lines on stderr")
    return parser


def main(argv=None):
    """Runs the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    name = f"{parser.prog}{' ' + args.command if args.command else ''}"
    try:
        if args.cflags or args.libs:
            if args.command:
                raise _UsageError("--cflags / --libs take no command")
            parts = [_flags(w) for w, on in (("cflags", args.cflags),
                                            ("libs", args.libs)) if on]
            print(" ".join(p for p in parts if p))
            return 0
        if args.command is None:
            parser.print_help()
            return 0
        return {"info": _cmd_info, "check": _cmd_check, "bench": _cmd_bench}[
            args.command](args)
    except _UsageError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 2
    except _Failure as exc:
        print(_wrap(f"{name}: error: {exc}"), file=sys.stderr)
        return 1
    except MemoryError as exc:
        print(_wrap(f"{name}: error: out of memory ({exc})"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # e.g. piped into head: not an error worth a traceback
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
