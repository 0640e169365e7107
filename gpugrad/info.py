"""``gpugrad.info()``: what is active, what is built, and what to install for the rest."""

import platform
import sys

import numpy as np

from . import __version__
from .backend import cuda_available, cuda_unavailable_reason, get_default_device


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
_MAX_ERROR = 600  # characters of CuPy's error in the report; NVRTC logs can run to pages


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
        text = " ".join(str(exc).split())
        if len(text) > _MAX_ERROR:
            text = text[:_MAX_ERROR] + " ... (cut)"
        return f"compile failed: {type(exc).__name__}: {text}; {_ctk_hint(cuda_major)}"
    return f"compile OK (NVRTC {major}.{minor})"


def info(as_dict=False):
    """A report of the backends: default device, NumPy/CuPy versions, GPU, native parts,
    and with CUDA, whether a kernel such as gpugrad's compiles (``kernels``).

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
    if as_dict:
        return report
    from .cli import main

    main(["doctor"])
    return None
