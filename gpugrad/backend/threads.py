"""``gpugrad.set_num_threads`` / ``get_num_threads``: the CPU threads gpugrad computes with.

Two pools do the CPU work: the compiled kernels' OpenMP threads (``gpugrad._C``) and the BLAS
under NumPy's matrix products. Environment variables (``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``) are read once, when each library loads, so changing them later
does nothing; these functions set both pools at run time, the BLAS through threadpoolctl
(which finds the BLAS this process has loaded, OpenBLAS or MKL, and calls its own
thread-count functions).
"""

import os

import threadpoolctl

from ..errors import ArgumentError, ArgumentTypeError


def _native():
    try:
        from .. import _C
    except ImportError:
        return None
    return _C


def set_num_threads(n):
    """Use ``n`` CPU threads (at most one per CPU) in the compiled kernels and in the BLAS.
    Returns what was set, by pool: {'kernels': ..., 'blas': ...} (None where that pool is
    absent)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise ArgumentTypeError(f"[set_num_threads] expected an int, got {type(n).__name__}")
    if n < 1:
        raise ArgumentError(f"[set_num_threads] expected a positive number of threads, got {n}")
    # more threads than CPUs never speeds these kernels up, and libgomp crashed the process
    # creating 100000 of them
    n = min(n, os.cpu_count() or 1)
    done = {"kernels": None, "blas": None}
    c = _native()
    if c is not None:
        c.set_num_threads(n)
        done["kernels"] = n
    import numpy  # noqa: F401 - its BLAS must be loaded for threadpoolctl to find it

    if blas_num_threads() is not None:
        threadpoolctl.threadpool_limits(limits=n, user_api="blas")  # kept: not used as a context
        done["blas"] = n
    return done


def get_num_threads():
    """The CPU threads gpugrad computes with: the compiled kernels' OpenMP threads, else the
    BLAS's, else the number of CPUs."""
    c = _native()
    if c is not None:
        return int(c.max_threads())
    return blas_num_threads() or (os.cpu_count() or 1)


def blas_num_threads():
    """The BLAS's thread count, or None when no BLAS that threadpoolctl knows is loaded."""
    counts = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    return counts[0] if counts else None
