"""``gpugrad.info()``: what is active, what is built, and what to install for the rest."""

import os
import platform
import subprocess
import sys

import numpy as np

from . import __version__
from .backend import cuda_available, cuda_unavailable_reason, get_default_device
from .distributed import is_mpi_available
from .errors import BackendUnavailableError


def _malloc_report():
    from .backend import get_backend

    return get_backend("cpu").malloc


def _native_report():
    from .backend import get_backend, native

    status = native.build_status()
    k = get_backend("cpu").kernels
    if k is not None:
        return f"{status}: fused cross-entropy, bias+ReLU, SGD/Adam steps; {k.simd} code, {k.threads} threads"
    if status == "not built":
        return "not built: the pure NumPy path is used (reinstall with a C++17 compiler and OpenMP to get it)"
    return status + ": the pure NumPy path is used"


# The smallest kernel that needs what gpugrad's own kernels need from the machine: NVRTC,
# and the CUDA headers for the 2-byte float types, which a driver without a toolkit lacks.
_PROBE_KERNEL = r"""
#include <cuda_fp16.h>
#include <cuda_bf16.h>
extern "C" __global__ void gpugrad_doctor_probe(float* y) {
    y[threadIdx.x] = __half2float(__float2half(1.0f)) + __bfloat162float(__float2bfloat16(1.0f));
}
"""
_MAX_ERROR = 600  # characters of an error in the report; NVRTC logs can run to pages


def _short(text):
    """``text`` on one line, cut to _MAX_ERROR characters."""
    text = " ".join(str(text).split())
    return text[:_MAX_ERROR] + " ... (cut)" if len(text) > _MAX_ERROR else text


def _ctk_hint(cuda_major):
    """What to install for NVRTC and the CUDA headers, for the CUDA major version CuPy runs."""
    wheels = {13: ("cupy-cuda13x[ctk]", "gpugrad[cuda13]"), 12: ("cupy-cuda12x[ctk]", "gpugrad[cuda]")}
    options = [wheels[cuda_major]] if cuda_major in wheels else list(wheels.values())
    cupy_wheels = " or ".join(f"pip install '{c}'" for c, _ in options)
    extras = " or ".join(f"pip install '{g}'" for _, g in options)
    return (f"NVRTC and the CUDA headers (cuda_fp16.h, cuda_bf16.h) that the kernels need come with CuPy's ctk extra: "
            f"{cupy_wheels} ({extras} does the same), or with a CUDA toolkit of the driver's version")


def _kernel_report(cupy, cuda_major):
    """Compile and load a kernel as the CUDA backend does (CuPy's RawModule, on GPU 0):
    "compile OK (NVRTC x.y)", or the error CuPy raised and what to install."""
    try:
        with cupy.cuda.Device(0):
            module = cupy.RawModule(code=_PROBE_KERNEL, options=("-std=c++17",))
            module.get_function("gpugrad_doctor_probe")  # CuPy compiles here, not when the module is made
        major, minor = cupy.cuda.nvrtc.getVersion()
    except Exception as exc:  # CuPy raises CompileException, RuntimeError, CUDA errors ...
        return f"compile failed: {type(exc).__name__}: {_short(exc)}; {_ctk_hint(cuda_major)}"
    return f"compile OK (NVRTC {major}.{minor})"


# Importing mpi4py.MPI starts MPI, which a broken or misconfigured MPI can hang or crash in:
# a child process asks, within a time limit, outside any job this process belongs to.
_MPI_QUERY = "import mpi4py\nfrom mpi4py import MPI\nprint(mpi4py.__version__)\nprint(MPI.Get_library_version())"
_MPI_TIMEOUT = 30  # seconds
_LAUNCHER_VARS = ("PMI_", "PMIX_", "HYDRA_", "HYDI_", "OMPI_", "MPI_LOCAL")  # a launched job's: the child is not in it


def _mpi_report():
    """mpi4py's version and the first line of the MPI library's (``MPI.Get_library_version``),
    or why MPI is missing or does not start, and what to install."""
    from .distributed.collectives import INSTALL_HINT

    if not is_mpi_available():
        return f"mpi4py not installed: {INSTALL_HINT}"
    if "mpi4py.MPI" in sys.modules:  # this process has started MPI already
        import mpi4py
        from mpi4py import MPI

        text = f"{mpi4py.__version__}\n{MPI.Get_library_version()}"
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_LAUNCHER_VARS)}
        try:
            proc = subprocess.run([sys.executable, "-c", _MPI_QUERY], capture_output=True, text=True, env=env,
                                  timeout=_MPI_TIMEOUT)
        except subprocess.TimeoutExpired:
            return (f"mpi4py found, but starting MPI did not finish within {_MPI_TIMEOUT} s (run python -c 'from "
                    f"mpi4py import MPI' to see where it hangs); {INSTALL_HINT}")
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            said = f"exit status {proc.returncode}" + (f": {_short(lines[-1])}" if lines else "")
            return f"mpi4py found, but MPI failed to start ({said}); {INSTALL_HINT}"
        text = proc.stdout
    version, _, library = text.strip().partition("\n")
    library = " ".join(library.strip().splitlines()[0].split()) if library.strip() else "an MPI library of no name"
    return f"mpi4py {version.strip()} on {library}"


def _launcher_report():
    """The MPI launcher gpugrad's tests and ``gpugrad train --nproc`` start processes with."""
    from .distributed.launch import find_launcher

    try:
        return find_launcher()
    except BackendUnavailableError as exc:
        return f"not found: {exc}"


def _nccl_report():
    """NCCL's version when gpugrad can use it (a GPU, CuPy's NCCL binding), else why not."""
    from .backend import nccl

    try:
        if not cuda_available():  # the cuda entry says why; whether the library is there is still worth knowing
            found = "loads" if nccl.is_nccl_available() else f"does not load either: {nccl.INSTALL_HINT}"
            return f"unavailable: needs CUDA (see cuda); the NCCL library {found}"
        reason = nccl.unavailable_reason()
        if reason is None:
            return f"NCCL {nccl.version()} (through CuPy's cupy.cuda.nccl)"
    except Exception as exc:  # a broken CuPy or NCCL raises all sorts of things
        reason = f"{type(exc).__name__}: {_short(exc)}"
    return f"unavailable: {reason}"


def _precision_report(props=None, emulated=False):
    """Which floating dtypes run how on each device (``props``: GPU 0's properties)."""
    lines = ["cpu: float32/float64; float16 and bfloat16 as storage, their matrix products in float32 "
             "(NumPy has no half-precision BLAS), so autocast saves memory there but no time"]
    if props is not None:
        cc = int(props["major"]) * 10 + int(props["minor"])
        if emulated:
            lines.append("cuda (emulated): float16 and bfloat16, kernels in float32 arithmetic on the CPU")
        elif cc >= 80:
            lines.append(f"cuda (sm_{cc}): float16 and bfloat16 on tensor cores, float32 accumulation")
        elif cc >= 70:
            lines.append(f"cuda (sm_{cc}): float16 on tensor cores; bfloat16 runs, without tensor cores (sm_80+)")
        else:
            lines.append(f"cuda (sm_{cc}): float16 and bfloat16 run, without tensor cores (sm_70+/sm_80+)")
    return "; ".join(lines)


def info(as_dict=False):
    """A report of the backends: default device, NumPy/CuPy versions, GPU, native parts,
    with CUDA, whether a kernel such as gpugrad's compiles (``kernels``), and what
    gpugrad.distributed can use: mpi4py and its MPI library, the MPI launcher, NCCL.

    Returns the report as a dict with ``as_dict=True``; otherwise prints it.
    """
    report = {
        "gpugrad": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": np.__version__,
        "default_device": str(get_default_device()),
        "native_cpu_extension": _native_report(),
        "cpu_malloc": _malloc_report(),
        "cuda": "available" if cuda_available() else f"unavailable: {cuda_unavailable_reason()}",
    }
    if cuda_available():
        from .backend import cuda as _cuda

        cupy, count, _ = _cuda.probe()
        if _cuda.emulated():
            report["cuda_emulation"] = (f"GPUGRAD_CUDA_EMULATION: {count} emulated device(s), no GPU: gpugrad's CuPy "
                                        "stand-in on NumPy, kernels compiled as host C++ and run on CPU threads")
        report["cupy"] = cupy.__version__
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        report["gpu"] = name.decode() if isinstance(name, bytes) else str(name)
        report["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
        report["cuda_driver"] = cupy.cuda.runtime.driverGetVersion()
        report["kernels"] = _kernel_report(cupy, report["cuda_runtime"] // 1000)
        report["precision"] = _precision_report(props, _cuda.emulated())
    else:
        report["precision"] = _precision_report()
    report["distributed_mpi"] = _mpi_report()
    report["distributed_launcher"] = _launcher_report()
    report["distributed_nccl"] = _nccl_report()
    if as_dict:
        return report
    from .cli import main

    main(["doctor"])
    return None
