"""Helpers for the tests (importable from any test module)."""

import os
import subprocess
import sys

import numpy as np

import gpugrad


def make(array, device, requires_grad=False, dtype=None):
    """A tensor on ``device`` from array-like data, keeping NumPy's dtype unless given."""
    arr = np.asarray(array)
    return gpugrad.tensor(arr, dtype=dtype or arr.dtype, device=device, requires_grad=requires_grad)


def settle(out):
    """Read ``out`` (a tensor or a tuple of them) back to the host. On a GPU, a check of values
    that live on the device (an index in range, a class target) is raised at the first read
    after it, as CUDA reports its own errors; on the CPU it was raised already."""
    for t in out if isinstance(out, (tuple, list)) else (out,):
        if isinstance(t, gpugrad.Tensor):
            t.numpy()
    return out


def close(t, expected, rtol=1e-6, atol=1e-6):
    np.testing.assert_allclose(np.asarray(t.numpy(), dtype=np.float64), expected, rtol=rtol, atol=atol)


class KernelSwitch:
    """Holds a backend's fused kernels on; ``composed(fn)`` runs ``fn`` with them off (the
    composed array path the kernels are tested against). ``restore()`` puts back what the
    backend had before."""

    def __init__(self, backend, kernels):
        self.backend, self.kernels, self.saved = backend, kernels, backend.kernels
        backend.kernels = kernels

    def composed(self, fn):
        self.backend.kernels = None
        try:
            return fn()
        finally:
            self.backend.kernels = self.kernels

    def restore(self):
        self.backend.kernels = self.saved


def unpicklable(batch):
    """A collate_fn whose batches cannot be pickled (a worker cannot send them)."""
    return lambda: batch


def mpi_launcher():
    """The MPI launcher gpugrad would use (``launch.find_launcher``), or None."""
    from gpugrad.distributed import launch
    from gpugrad.errors import BackendUnavailableError

    try:
        return launch.find_launcher()
    except BackendUnavailableError:
        return None


def needs_mpi(test):
    """Skip ``test`` where mpi4py or an MPI launcher is missing."""
    import pytest

    import gpugrad.distributed as dist

    return pytest.mark.skipif(not dist.is_mpi_available() or mpi_launcher() is None,
                              reason="needs mpi4py and an MPI launcher: pip install -e '.[test]' installs both")(test)


def run_ranks(args, ranks=2, limit=120, env=None):
    """``python ARGS...`` on ``ranks`` processes under the MPI launcher (ranks=0: one
    process without it), one thread each, killed after ``limit`` seconds."""
    env = dict(os.environ, OMP_NUM_THREADS="1", GPUGRAD_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", **(env or {}))
    cmd = [sys.executable] + [str(a) for a in args]
    if ranks:
        cmd = [mpi_launcher(), "-n", str(ranks)] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=limit, env=env)


class PointerOnly:
    """A stand-in device array for the tables the CUDA kernels take by value
    (``cuda_kernels.tensor_lists``): a size and a ``.data.ptr``, nothing to read."""

    def __init__(self, ptr, size):
        self.size, self.data = size, type("Ptr", (), {"ptr": ptr})()
