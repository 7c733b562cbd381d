"""The C library as a C programmer gets it from the Python package: a program
written against gconv.h, compiled with ``python -m gconv --cflags --libs``
(strict C99, every warning an error; and as C++), runs without
LD_LIBRARY_PATH, convolves as PyTorch does (or the NumPy backend, without
PyTorch), and gets the right status codes for bad configurations."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import gconv

if not sys.platform.startswith("linux"):
    pytest.skip("the package ships libgconv on Linux", allow_module_level=True)

CC = os.environ.get("CC", "cc")
CXX = os.environ.get("CXX", "c++")
if shutil.which(CC) is None:
    pytest.skip(f"no C compiler ({CC})", allow_module_level=True)

PROGRAM = r"""
/* conv: convolves the raw arrays in x.bin, w.bin (b.bin) into y.bin, or says
   why not.  argv: f32|f64 ndim batch cin cout groups bias, then per spatial
   dimension: in k stride pad_before pad_after dilation.  Prints the status
   number and the message. */
#include <gconv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *slurp(const char *path, size_t bytes)
{
    void *buf = malloc(bytes ? bytes : 1);
    FILE *f = fopen(path, "rb");
    if (buf == NULL || f == NULL || fread(buf, 1, bytes, f) != bytes) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(3);
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 8) return 2;
    int f64 = strcmp(argv[1], "f64") == 0;
    size_t es = f64 ? sizeof(double) : sizeof(float);
    gconv_params p;
    gconv_params_init(&p, atoi(argv[2]));
    p.batch = atoll(argv[3]);
    p.in_channels = atoll(argv[4]);
    p.out_channels = atoll(argv[5]);
    p.groups = atoll(argv[6]);
    int bias = atoi(argv[7]);
    for (int d = 0; d < p.ndim && d < GCONV_MAX_DIMS && 8 + 6 * d + 5 < argc; d++) {
        p.input_size[d] = atoll(argv[8 + 6 * d]);
        p.kernel_size[d] = atoll(argv[9 + 6 * d]);
        p.stride[d] = atoll(argv[10 + 6 * d]);
        p.pad_before[d] = atoll(argv[11 + 6 * d]);
        p.pad_after[d] = atoll(argv[12 + 6 * d]);
        p.dilation[d] = atoll(argv[13 + 6 * d]);
    }
    char msg[GCONV_MESSAGE_SIZE];
    gconv_status st = gconv_check_params(&p, msg, sizeof msg);
    if (st != GCONV_OK) {
        /* every entry point gives the gate's status and writes nothing */
        float y[4] = {7, 7, 7, 7}, x[4] = {0}, w[4] = {0};
        gconv_status st2 = gconv_conv_f32(&p, x, 4, w, 4, NULL, 0, y, 4, 0);
        if (st2 != st || y[0] != 7 || y[3] != 7) return 4;
        printf("%d %s\n", (int)st, msg);
        return 0;
    }
    int64_t nx, nw, ny;
    gconv_buffer_sizes(&p, &nx, &nw, &ny);
    void *x = slurp("x.bin", (size_t)nx * es), *w = slurp("w.bin", (size_t)nw * es);
    void *b = bias ? slurp("b.bin", (size_t)p.out_channels * es) : NULL;
    void *y = malloc((size_t)(ny ? ny : 1) * es);
    size_t nb = bias ? (size_t)p.out_channels : 0;
    if (f64)
        st = gconv_conv_f64(&p, x, (size_t)nx, w, (size_t)nw, b, nb, y, (size_t)ny, 0);
    else
        st = gconv_conv_f32(&p, x, (size_t)nx, w, (size_t)nw, b, nb, y, (size_t)ny, 0);
    printf("%d %s\n", (int)st, gconv_strerror(st));
    FILE *f = fopen("y.bin", "wb");
    if (f == NULL || fwrite(y, es, (size_t)ny, f) != (size_t)ny) return 3;
    fclose(f);
    free(x); free(w); free(b); free(y);
    return 0;
}
"""

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]


def python_flags():
    """`python -m gconv --cflags --libs`, run as a user would (outside any
    source checkout, so the installed package answers; PYTHONPATH kept)."""
    out = subprocess.run([sys.executable, "-m", "gconv", "--cflags", "--libs"],
                         capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(gconv.__file__)))
    return out.stdout.split()


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clib")
    src = tmp / "conv.c"
    src.write_text(PROGRAM)
    exe = tmp / "conv"
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    result = subprocess.run([CC, *STRICT, str(src), "-o", str(exe), *python_flags()],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    return exe


def test_flags_point_at_the_package():
    flags = python_flags()
    assert f"-I{gconv.get_include()}" in flags
    libdir = gconv.get_library_dir()
    assert flags[-3:] == [f"-L{libdir}", f"-Wl,-rpath,{libdir}", "-lgconv"]
    assert os.path.isfile(os.path.join(gconv.get_include(), "gconv.h"))
    assert gconv.get_include() == gconv._config.cflags()[2:]


def run(program, args, arrays=()):
    cwd = program.parent
    for name, arr in arrays:
        arr.tofile(cwd / name)
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    out = subprocess.run([str(program), *map(str, args)], capture_output=True, text=True,
                         cwd=cwd, env=env)
    assert out.returncode == 0, (out.returncode, out.stderr)
    status, _, message = out.stdout.strip().partition(" ")
    return int(status), message


def reference(x, w, b, stride, padding, dilation, groups):
    """PyTorch's numbers when it is installed, else the NumPy backend's."""
    nd = x.ndim - 2
    try:
        import torch
    except ImportError:
        fn = getattr(gconv, f"conv{nd}d")
        return fn(x, w, b, stride=stride, padding=padding, dilation=dilation,
                  groups=groups, backend="numpy")
    fn = getattr(torch.nn.functional, f"conv{nd}d")
    return fn(torch.from_numpy(x), torch.from_numpy(w),
              None if b is None else torch.from_numpy(b), stride=stride,
              padding=padding, dilation=dilation, groups=groups).numpy()


CASES = [
    # dtype, batch, cin, cout, groups, in, k, stride, pad, dilation, bias
    ("f32", 1, 128, 128, 32, (28, 28), (3, 3), (1, 1), (1, 1), (1, 1), True),
    ("f32", 2, 32, 32, 32, (20, 21), (3, 3), (2, 2), (1, 1), (1, 1), True),
    ("f64", 2, 12, 6, 3, (17,), (5,), (2,), (2,), (2,), False),
    ("f64", 1, 8, 16, 4, (5, 6, 7), (3, 2, 3), (1, 2, 1), (1, 0, 1), (1, 1, 2), True),
    ("f32", 3, 240, 60, 3, (14, 14), (1, 1), (1, 1), (0, 0), (1, 1), True),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{len(c[5])}d-g{c[4]}")
def test_program_agrees_with_reference(program, case):
    dt, batch, cin, cout, groups, size, k, s, pad, dil, bias = case
    dtype = np.float32 if dt == "f32" else np.float64
    rng = np.random.default_rng(len(size) * 100 + groups)
    x = rng.standard_normal((batch, cin, *size)).astype(dtype)
    w = rng.standard_normal((cout, cin // groups, *k)).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype) if bias else None
    args = [dt, len(size), batch, cin, cout, groups, int(bias)]
    for d in range(len(size)):
        args += [size[d], k[d], s[d], pad[d], pad[d], dil[d]]
    arrays = [("x.bin", x), ("w.bin", w)] + ([("b.bin", b)] if bias else [])
    status, message = run(program, args, arrays)
    assert (status, message) == (0, "success")
    want = reference(x, w, b, s, pad, dil, groups)
    got = np.fromfile(program.parent / "y.bin", dtype=dtype).reshape(want.shape)
    tol = 2e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    # and bit for bit what the "c" backend gives
    fn = getattr(gconv, f"conv{len(size)}d")
    np.testing.assert_array_equal(
        got, fn(x, w, b, stride=s, padding=pad, dilation=dil, groups=groups, backend="c"))


BAD = [
    # (argv after dtype, status, start of the message)
    ([2, 1, 12, 11, 3, 0, 8, 3, 1, 1, 1, 1, 8, 3, 1, 1, 1, 1], 1,
     "out_channels=11 is not divisible by groups=3: each group must produce the same "
     "whole number of output channels. For in_channels=12, out_channels=11 the valid "
     "groups are [1]; with groups=3, use out_channels 9 or 12."),
    ([2, 1, 12, 12, 0, 0, 8, 3, 1, 1, 1, 1, 8, 3, 1, 1, 1, 1], 1, "groups=0 is not valid"),
    ([2, 1, 12, 12, 3, 0, 8, 11, 1, 1, 1, 1, 8, 3, 1, 1, 1, 1], 2, "the kernel (size 11"),
    ([1, 1, 4, 4, 2, 0, 8, 3, 0, 1, 1, 1], 2, "stride 0 in spatial dimension 0"),
    ([4, 1, 4, 4, 2, 0], 2, "ndim=4 is not supported"),
    ([1, -1, 4, 4, 2, 0, 8, 3, 1, 1, 1, 1], 2, "batch=-1 must be >= 0"),
    ([1, 2**62, 4, 4, 2, 0, 8, 3, 1, 1, 1, 1], 3,
     "the input's element count overflows 64-bit arithmetic"),
    ([1, 1, 4, 4, 2, 0, 8, 3, 1, 2**62, 1, 1], 3, "the padded input size"),
]


@pytest.mark.parametrize("args,status,message", BAD, ids=[str(i) for i in range(len(BAD))])
def test_program_gets_the_status(program, args, status, message):
    got_status, got_message = run(program, ["f32", *args])
    assert got_status == status
    assert got_message.startswith(message)


def test_header_compiles_as_cxx(tmp_path):
    if shutil.which(CXX) is None:
        pytest.skip(f"no C++ compiler ({CXX})")
    src = tmp_path / "use.cpp"
    src.write_text('#include <gconv.h>\n#include <cstdio>\n'
                   'int main() { gconv_params p; gconv_params_init(&p, 2);\n'
                   '  std::printf("%s %d\\n", gconv_version(),\n'
                   '              (int)gconv_check_params(&p, nullptr, 0)); }\n')
    exe = tmp_path / "use"
    result = subprocess.run([CXX, "-std=c++11", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                             str(src), "-o", str(exe), *python_flags()],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    assert out.split() == [gconv.__version__, "2"]  # no channels yet: GCONV_ERR_SHAPE
