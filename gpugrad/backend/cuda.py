"""The CUDA backend: CuPy arrays. The only module besides ``base``'s users to import CuPy.

CuPy is imported on first use, never at ``import gpugrad``, so no CUDA context is created
until a cuda tensor is asked for.
"""

import importlib
import os

from ..errors import BackendUnavailableError
from .base import Backend
from .cuda_kernels import raise_pending
from .device import Device

INSTALL_HINT = (
    "install CuPy for your CUDA version: pip install 'gpugrad[cuda]' "
    "(or pip install cupy-cuda12x / cupy-cuda13x)"
)

_probe_result = None


def probe(refresh=False):
    """``(cupy_module_or_None, device_count, reason)``; reason is None when CUDA works."""
    global _probe_result
    if _probe_result is not None and not refresh:
        return _probe_result
    try:
        cupy = importlib.import_module("cupy")
    except ImportError as exc:
        _probe_result = (None, 0, f"CuPy is not installed ({exc}); {INSTALL_HINT}")
        return _probe_result
    except Exception as exc:  # a broken CuPy install raises all sorts of things
        _probe_result = (None, 0, f"CuPy failed to import: {exc!r}; reinstall it: {INSTALL_HINT}")
        return _probe_result
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:
        text = str(exc)
        if "InsufficientDriver" in text or "driver" in text.lower():
            reason = (
                f"CuPy is installed but no usable NVIDIA driver was found ({text}); install or "
                "update the NVIDIA driver, or pick the CuPy wheel that matches it"
            )
        elif "NoDevice" in text or "no CUDA-capable device" in text:
            reason = f"CuPy and a driver are installed but no NVIDIA GPU was found ({text})"
        else:
            reason = f"the CUDA runtime failed: {text}"
        _probe_result = (cupy, 0, reason)
        return _probe_result
    if count == 0:
        _probe_result = (cupy, 0, "CuPy and a driver are installed but no NVIDIA GPU was found")
    else:
        _probe_result = (cupy, count, None)
    return _probe_result


def require(index=0):
    """The CuPy module, or BackendUnavailableError saying why CUDA cannot be used."""
    cupy, count, reason = probe()
    if reason is not None:
        raise BackendUnavailableError(f"[cuda] CUDA is not available: {reason}")
    if index >= count:
        raise BackendUnavailableError(
            f"[cuda] device cuda:{index} was asked for, but this machine has {count} GPU(s)"
        )
    return cupy


_peak = {"bytes": 0, "installed": False}


def _track_peak(cupy):
    """Route CuPy's allocations through its default pool while remembering the peak of
    bytes in use (CuPy's pool keeps no peak of its own)."""
    if _peak["installed"]:
        return
    pool = cupy.get_default_memory_pool()

    def malloc(size):
        mem = pool.malloc(size)
        used = pool.used_bytes()
        if used > _peak["bytes"]:
            _peak["bytes"] = used
        return mem

    cupy.cuda.set_allocator(malloc)
    _peak["installed"] = True


def memory_allocated():
    """Bytes held by live arrays in CuPy's default pool (all devices)."""
    return require().get_default_memory_pool().used_bytes()


def max_memory_allocated():
    return max(_peak["bytes"], memory_allocated())


def reset_peak_memory_stats():
    _peak["bytes"] = memory_allocated()


def memory_reserved():
    """Bytes the pool holds from the driver, used or cached for reuse."""
    return require().get_default_memory_pool().total_bytes()


def empty_cache():
    """Give the pool's unused cached blocks back to the driver."""
    require().get_default_memory_pool().free_all_blocks()


class CudaBackend(Backend):
    __slots__ = ("_cupy", "_cupyx", "_checks")

    def __init__(self, index=0):
        cupy = require(index)
        kernels = None
        # errors the kernels found on the device (bad targets), checked at the next read of
        # a result rather than by a synchronising read after every launch
        self._checks = []
        if os.environ.get("GPUGRAD_CUDA_KERNELS", "1").strip() != "0":
            from .cuda_kernels import CudaKernels

            kernels = CudaKernels(cupy, index, self._checks)  # compiles nothing until first used
        super().__init__(Device("cuda", index), cupy, cupy.ndarray, kernels)
        self._cupy = cupy
        _track_peak(cupy)
        self._cupyx = importlib.import_module("cupyx")
        with cupy.cuda.Device(index):
            self._rng = cupy.random.RandomState(0x6A09E667)

    def from_host(self, array):
        with self._cupy.cuda.Device(self.device.index):
            return self._cupy.asarray(array)

    def raise_pending(self):
        """Raise the first error a kernel recorded on the device since the last check."""
        if self._checks:
            raise_pending(self._checks)

    def to_host(self, array):
        self.raise_pending()
        return self._cupy.asnumpy(array)

    def asarray(self, data, dtype=None):
        with self._cupy.cuda.Device(self.device.index):
            return self._cupy.asarray(data, dtype=dtype)

    def index_add(self, target, key, values):
        self._cupyx.scatter_add(target, key, values)

    def erf(self, x):
        special = importlib.import_module("cupyx.scipy.special")
        return special.erf(x)

    def synchronize(self):
        with self._cupy.cuda.Device(self.device.index):
            self._cupy.cuda.get_current_stream().synchronize()
        self.raise_pending()

    def seed(self, seed):
        with self._cupy.cuda.Device(self.device.index):
            self._rng = self._cupy.random.RandomState(seed)

    def rand(self, shape, dtype):
        gen = dtype if dtype.itemsize >= 4 else "float32"  # CuPy draws float32/float64 only
        return self._rng.random_sample(shape, dtype=gen).astype(dtype, copy=False)

    def randn(self, shape, dtype):
        gen = dtype if dtype.itemsize >= 4 else "float32"
        return self._rng.standard_normal(shape, dtype=gen).astype(dtype, copy=False)

    def randint(self, low, high, shape, dtype):
        return self._rng.randint(low, high, size=shape, dtype=dtype)
