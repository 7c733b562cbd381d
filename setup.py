"""Builds gconv's compiled core: the C sources of csrc/ and the Cython wrapper
gconv/_ccore.pyx, with OpenMP where the compiler supports it (set
GCONV_NO_OPENMP=1 to build without it: one thread)."""

import glob
import os
import tempfile

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
C_SOURCES = sorted(os.path.relpath(p, HERE)
                   for p in glob.glob(os.path.join(HERE, "csrc", "src", "*.c")))
# headers and the *.template.h files the sources include: a change to one
# rebuilds the extension
C_DEPENDS = sorted(os.path.relpath(p, HERE)
                   for pattern in ("csrc/src/*.h", "csrc/include/*.h")
                   for p in glob.glob(os.path.join(HERE, pattern)))


def _compiles_with(compiler, flags):
    """Whether a small OpenMP program compiles and links with flags."""
    from distutils.errors import CompileError, LinkError  # setuptools provides it
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "omp_probe.c")
        with open(src, "w") as f:
            f.write("#include <omp.h>\n"
                    "int main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n")
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=flags)
            compiler.link_executable(objs, "omp_probe", output_dir=tmp,
                                     extra_postargs=flags)
        except (CompileError, LinkError):
            return False
    return True


class BuildExt(build_ext):
    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        if msvc:
            compile_args, omp = ["/O2"], ["/openmp"]
        else:
            compile_args = ["-O3", "-fvisibility=hidden", "-fno-math-errno"]
            omp = ["-fopenmp"]
        use_omp = (os.environ.get("GCONV_NO_OPENMP", "") in ("", "0")
                   and _compiles_with(self.compiler, omp))
        print(f"gconv: building {'with' if use_omp else 'without'} OpenMP")
        for ext in self.extensions:
            ext.extra_compile_args += compile_args + (omp if use_omp else [])
            if use_omp and not msvc:
                ext.extra_link_args += omp
        super().build_extensions()


extension = Extension(
    "gconv._ccore",
    sources=["gconv/_ccore.pyx"] + C_SOURCES,
    include_dirs=["csrc/include", "csrc/src"],
    depends=C_DEPENDS,
)

setup(
    ext_modules=cythonize([extension], language_level=3),
    cmdclass={"build_ext": BuildExt},
)
