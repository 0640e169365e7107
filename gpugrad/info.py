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


def info(as_dict=False):
    """A report of the backends: default device, NumPy/CuPy versions, GPU, native parts.

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

        cupy = _cuda.probe()[0]
        report["cupy"] = cupy.__version__
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        report["gpu"] = name.decode() if isinstance(name, bytes) else str(name)
        report["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
        report["cuda_driver"] = cupy.cuda.runtime.driverGetVersion()
    if as_dict:
        return report
    from .cli import main

    main(["doctor"])
    return None
