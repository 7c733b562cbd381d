"""Builds gconv's compiled parts from the C sources in csrc/:

- libgconv, the C library, as gconv/lib/libgconv.so.<MAJOR> (its soname),
  with gconv/lib/libgconv.so (a one-line linker script naming it, so that
  ``-lgconv`` finds it) and the header gconv/include/gconv.h: what
  ``python -m gconv --cflags --libs`` and ``gconv.get_include()`` /
  ``gconv.get_library_dir()`` point C programs at;
- gconv._ccore, the Cython wrapper (gconv/_ccore.pyx), linked against that
  library with the run-time search path $ORIGIN/lib, so the kernels exist
  once and Python and C programs run the same code.

OpenMP is used where the compiler supports it (GCONV_NO_OPENMP=1 builds
without it: one thread).  On platforms without ELF shared libraries (or with
GCONV_BUNDLE_CORE=1) the C sources are compiled into the extension instead;
elsewhere than Linux/BSD no C library is shipped then.

The version of the C library (the macros in csrc/include/gconv.h) must be the
package's (gconv/_version.py); the build stops if they differ.
"""

import glob
import os
import re
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def _rel(paths):
    return sorted(os.path.relpath(p, HERE).replace(os.sep, "/") for p in paths)


C_SOURCES = _rel(glob.glob(os.path.join(HERE, "csrc", "src", "*.c")))
C_HEADERS = _rel(glob.glob(os.path.join(HERE, "csrc", "src", "*.h"))
                 + [os.path.join(HERE, "csrc", "include", "gconv.h")])
HEADER = "csrc/include/gconv.h"


def _read(path):
    with open(os.path.join(HERE, path), encoding="utf-8") as f:
        return f.read()


def _versions():
    """(MAJOR, MINOR, PATCH) from gconv.h; stops if gconv/_version.py differs."""
    header = _read(HEADER)
    parts = []
    for part in ("MAJOR", "MINOR", "PATCH"):
        m = re.search(rf"^#define GCONV_VERSION_{part}\s+(\d+)\s*$", header, re.M)
        if m is None:
            sys.exit(f"setup.py: GCONV_VERSION_{part} not found in {HEADER}")
        parts.append(int(m.group(1)))
    m = re.search(r"^__version__\s*=\s*[\"'](\d+)\.(\d+)\.(\d+)", _read("gconv/_version.py"),
                  re.M)
    if m is None or tuple(map(int, m.groups())) != tuple(parts):
        sys.exit(f"setup.py: the version in gconv/_version.py does not match the C "
                 f"library's {'.'.join(map(str, parts))} ({HEADER}); change both")
    return tuple(parts)


VERSION = _versions()
SONAME = f"libgconv.so.{VERSION[0]}"
ELF = sys.platform.startswith(("linux", "freebsd", "netbsd", "openbsd", "dragonfly"))
SHARED_LIBRARY = ELF
BUNDLE = not SHARED_LIBRARY or os.environ.get("GCONV_BUNDLE_CORE", "") not in ("", "0")

# The C library is compiled as the CMake build compiles it (csrc/CMakeLists.txt):
# gnu99, hidden visibility, -fno-math-errno, no -march.
LIB_FLAGS = ["-std=gnu99", "-O3", "-fvisibility=hidden", "-fno-math-errno",
             "-DGCONV_SHARED_BUILD"]
LINKER_SCRIPT = (f"/* GNU ld script: -lgconv links {SONAME}, the library, whose soname\n"
                 f"   is what programs record. */\nINPUT({SONAME})\n")


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


def _newer(target, sources):
    if not os.path.exists(target):
        return True
    t = os.path.getmtime(target)
    return any(os.path.getmtime(os.path.join(HERE, s)) > t for s in sources)


class BuildExt(build_ext):
    """build_ext that also builds libgconv and ships it with its header."""

    # Files this command writes into the package besides the extension, relative
    # to the package directory.
    def _extra_files(self):
        files = ["include/gconv.h"]
        if SHARED_LIBRARY:
            files += [f"lib/{SONAME}", "lib/libgconv.so"]
        return files

    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        if msvc:
            compile_args, omp = ["/O2"], ["/openmp"]
            lib_flags = ["/O2"]
        else:
            compile_args = ["-O3", "-fvisibility=hidden", "-fno-math-errno"]
            omp = ["-fopenmp"]
            lib_flags = LIB_FLAGS
        use_omp = (os.environ.get("GCONV_NO_OPENMP", "") in ("", "0")
                   and _compiles_with(self.compiler, omp))
        omp = omp if use_omp else []
        print(f"gconv: building {'with' if use_omp else 'without'} OpenMP; the kernels "
              f"{'compiled into the extension' if BUNDLE else 'in ' + SONAME}")

        pkg_dir = os.path.dirname(self.get_ext_fullpath("gconv._ccore"))
        self._install_header(pkg_dir)
        lib_path = None
        if SHARED_LIBRARY and not msvc:
            lib_path = self._build_library(pkg_dir, lib_flags, omp)

        for ext in self.extensions:
            if BUNDLE or lib_path is None:
                ext.sources += [s for s in C_SOURCES if s not in ext.sources]
                ext.include_dirs.append("csrc/src")
                ext.depends += C_HEADERS
                ext.extra_compile_args += compile_args + omp
                ext.extra_link_args += omp if not msvc else []
            else:
                # Link the library itself (not -lgconv): the extension records
                # its soname and finds it next to itself, whatever
                # LD_LIBRARY_PATH says (DT_RPATH, not DT_RUNPATH).
                ext.extra_objects.append(lib_path)
                ext.depends.append(lib_path)
                ext.extra_compile_args += ["-O3"]
                ext.extra_link_args += ["-Wl,-rpath,$ORIGIN/lib", "-Wl,--disable-new-dtags"]
        super().build_extensions()

    def _install_header(self, pkg_dir):
        dst = os.path.join(pkg_dir, "include", "gconv.h")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(os.path.join(HERE, HEADER), dst)

    def _build_library(self, pkg_dir, flags, omp):
        lib_dir = os.path.join(pkg_dir, "lib")
        target = os.path.join(lib_dir, SONAME)
        os.makedirs(lib_dir, exist_ok=True)
        with open(os.path.join(lib_dir, "libgconv.so"), "w") as f:
            f.write(LINKER_SCRIPT)
        if not self.force and not _newer(target, C_SOURCES + C_HEADERS):
            return target
        obj_dir = os.path.join(self.build_temp, "libgconv")

        def compile_one(src):
            return self.compiler.compile(
                [src], output_dir=obj_dir, include_dirs=["csrc/include", "csrc/src"],
                extra_postargs=flags + omp, depends=C_HEADERS)

        jobs = self.parallel if isinstance(self.parallel, int) and self.parallel > 1 else 1
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            objects = [o for objs in pool.map(compile_one, C_SOURCES) for o in objs]
        self.compiler.link_shared_object(
            objects, SONAME, output_dir=lib_dir, libraries=["m"],
            extra_postargs=omp + [f"-Wl,-soname,{SONAME}", "-Wl,--no-undefined"])
        return target

    # What build_ext produced, for install, wheels and in-place builds: the
    # extension and the extra files above.

    def copy_extensions_to_source(self):
        super().copy_extensions_to_source()
        build_py = self.get_finalized_command("build_py")
        src_pkg = build_py.get_package_dir("gconv")
        for rel in self._extra_files():
            regular = os.path.join(self.build_lib, "gconv", rel)
            inplace = os.path.join(src_pkg, rel)
            if os.path.exists(regular):
                os.makedirs(os.path.dirname(inplace), exist_ok=True)
                self.copy_file(regular, inplace, level=self.verbose)

    def _get_output_mapping(self):
        yield from super()._get_output_mapping()
        if not self.inplace:
            return
        build_py = self.get_finalized_command("build_py")
        src_pkg = build_py.get_package_dir("gconv")
        for rel in self._extra_files():
            yield (os.path.join(self.build_lib, "gconv", rel), os.path.join(src_pkg, rel))

    def get_outputs(self):
        outputs = super().get_outputs()
        if self.inplace:
            return outputs
        return sorted(outputs + [os.path.join(self.build_lib, "gconv", rel)
                                 for rel in self._extra_files()])


extension = Extension(
    "gconv._ccore",
    sources=["gconv/_ccore.pyx"],
    include_dirs=["csrc/include"],
)

setup(
    ext_modules=cythonize([extension], language_level=3),
    cmdclass={"build_ext": BuildExt},
)
