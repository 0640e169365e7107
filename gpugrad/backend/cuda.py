"""The CUDA backend: CuPy arrays. The only module besides ``base``'s users to import CuPy.

CuPy is imported on first use, never at ``import gpugrad``, so no CUDA context is created
until a cuda tensor is asked for.

``GPUGRAD_CUDA_EMULATION=N`` (N > 0) runs this backend without a GPU: CuPy is replaced by
the stand-in of ``emu/fakecupy.py`` posing as N devices, and the kernels are compiled as
host C++ and run on CPU threads (``emu/launcher.py``). It exists so that CI without a GPU
runs this code unchanged; it proves the launch code and the kernels' logic, not speed.
Unset or 0: the real CuPy.
"""

import contextlib
import importlib
import os
import sys
import threading

import numpy as np

from ..errors import BackendUnavailableError, GpugradIndexError
from .base import Backend
from .checks import DeferredChecks
from .device import Device

INSTALL_HINT = (
    "install CuPy for your CUDA version with the CUDA libraries it needs: pip install 'gpugrad[cuda13]' "
    "(or 'gpugrad[cuda]' for CUDA 12, i.e. pip install 'cupy-cuda13x[ctk]' / 'cupy-cuda12x[ctk]')"
)

_probe_result = None


def probe(refresh=False):
    """``(cupy_module_or_None, device_count, reason)``; reason is None when CUDA works."""
    global _probe_result
    if _probe_result is not None and not refresh:
        return _probe_result
    if os.environ.get("GPUGRAD_CUDA_EMULATION", "").strip() not in ("", "0"):
        from .emu import fakecupy

        try:
            _probe_result = (fakecupy.cupy, fakecupy.emulated_devices(), None)
        except ValueError as exc:
            _probe_result = (None, 0, str(exc))
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


def emulated():
    """True when the cuda backend runs on the emulation (``GPUGRAD_CUDA_EMULATION``)."""
    fake = sys.modules.get(f"{__package__}.emu.fakecupy")
    return fake is not None and probe()[0] is fake.cupy


def _modules():
    """``(cupy, cupyx, cupyx.scipy.special)``, all from where ``probe`` found CuPy: the real
    package or the emulation's stand-in."""
    cupy = require()
    if emulated():
        from .emu import fakecupy

        return cupy, fakecupy.cupyx, fakecupy.special
    return cupy, importlib.import_module("cupyx"), importlib.import_module("cupyx.scipy.special")


_peak = {"bytes": {}, "installed": False}  # per device index: the most bytes in use seen


def _track_peak(cupy):
    """Remember the peak of bytes in use in CuPy's default pools (they keep no peak of their
    own) by wrapping the allocator in place when the first cuda backend is made, which
    is CuPy's default pool or one the user set before: it stays the one that allocates.
    An allocator set later replaces the wrapper (the peak then reads the current use)."""
    if _peak["installed"]:
        return
    allocate = cupy.cuda.get_allocator()

    def malloc(size):
        mem = allocate(size)
        dev = cupy.cuda.runtime.getDevice()  # the pool of the current device allocated it
        used = cupy.get_default_memory_pool().used_bytes()
        if used > _peak["bytes"].get(dev, 0):
            _peak["bytes"][dev] = used
        return mem

    cupy.cuda.set_allocator(malloc)
    _peak["installed"] = True


def _pool_stat(device, stat):
    """``stat(pool)`` of CuPy's default memory pool on ``device`` (None: cuda:0) and the
    device's index: CuPy's pool answers for the current device, so it is made current."""
    index = 0 if device is None else Device(device if isinstance(device, (str, Device)) else f"cuda:{int(device)}").index
    cupy = require(index)
    with cupy.cuda.Device(index):
        return stat(cupy.get_default_memory_pool()), index


def memory_allocated(device=None):
    """Bytes held by live arrays in CuPy's default pool of ``device`` (default cuda:0)."""
    return _pool_stat(device, lambda pool: pool.used_bytes())[0]


def max_memory_allocated(device=None):
    used, index = _pool_stat(device, lambda pool: pool.used_bytes())
    return max(_peak["bytes"].get(index, 0), used)


def reset_peak_memory_stats(device=None):
    used, index = _pool_stat(device, lambda pool: pool.used_bytes())
    _peak["bytes"][index] = used


def memory_reserved(device=None):
    """Bytes the pool of ``device`` holds from the driver, used or cached for reuse."""
    return _pool_stat(device, lambda pool: pool.total_bytes())[0]


def empty_cache():
    """Give every pool's unused cached blocks back to the driver."""
    cupy = require()
    for index in range(probe()[1]):
        with cupy.cuda.Device(index):
            cupy.get_default_memory_pool().free_all_blocks()


# cuRAND's counter-based Philox4x32-10 (CURAND_RNG_PSEUDO_PHILOX4_32_10 in curand.h, given by
# its number: the CuPy stand-in has no cupy.cuda.curand). Seeding it costs nothing, where the
# default XORWOW sets its state up with a kernel at every new seed.
_PHILOX = 161


class CudaStream:
    """A gpugrad.Generator's random stream on one CUDA device.

    cuRAND keeps a generator's position inside the library, where it cannot be read back,
    so the stream's state is its seed and the number of draws made: each draw seeds a Philox
    generator afresh with a key made of both (Philox streams of different keys are
    independent). One lock covers each draw and the state, so threads sharing a stream never
    draw twice with one key."""

    __slots__ = ("_rs", "_lock", "_seed", "_draws")

    def __init__(self, cupy, index, seed):
        with cupy.cuda.Device(index):
            self._rs = cupy.random.RandomState(0, method=_PHILOX)
        self._lock = threading.Lock()
        self._seed, self._draws = seed, 0

    def seed(self, seed):
        with self._lock:
            self._seed, self._draws = seed, 0

    def get_state(self):
        with self._lock:
            return {"seed": self._seed, "draws": self._draws}

    def set_state(self, state):
        seed, draws = state["seed"], state["draws"]
        if not (isinstance(seed, int) and isinstance(draws, int) and 0 <= seed < 1 << 64 and draws >= 0):
            raise ValueError(f"expected an int seed in [0, 2**64) and an int draws >= 0, got {seed!r} and {draws!r}")
        with self._lock:
            self._seed, self._draws = seed, draws

    @contextlib.contextmanager
    def draw(self):
        """The cupy RandomState positioned for this stream's next draw."""
        with self._lock:
            key = np.random.SeedSequence((self._seed, self._draws)).generate_state(1, np.uint64)[0]
            self._rs.seed(int(key))
            self._draws += 1
            yield self._rs


# the seed of the last gpugrad.manual_seed: a device first used after it starts from it too
_default_seed = [0x6A09E667]


def set_default_seed(seed):
    _default_seed[0] = int(seed)


class CudaBackend(Backend):
    __slots__ = ("_cupy", "_special", "_checks", "multi")

    def __init__(self, index=0):
        cupy = require(index)
        self.multi = probe()[1] > 1  # ops must then make this device current (see Backend.scope)
        kernels = None
        # errors the kernels found on the device (bad targets), checked at the next read of
        # a result rather than by a synchronising read after every launch
        self._checks = DeferredChecks(cupy, cupy.asnumpy)
        if os.environ.get("GPUGRAD_CUDA_KERNELS", "1").strip() != "0":
            from .cuda_kernels import CudaKernels

            kernels = CudaKernels(cupy, index, self._checks)  # compiles nothing until first used
        super().__init__(Device("cuda", index), cupy, cupy.ndarray, kernels)
        self._cupy = cupy
        _track_peak(cupy)
        self._special = _modules()[2]
        with cupy.cuda.Device(index):
            self._rng = cupy.random.RandomState(_default_seed[0])

    def scope(self):
        # a new Device each time: CuPy's Device keeps its enter/exit stack on the object
        return self._cupy.cuda.Device(self.device.index) if self.multi else super().scope()

    def from_host(self, array):
        with self._cupy.cuda.Device(self.device.index):
            return self._cupy.asarray(array)

    def raise_pending(self):
        """Raise the first failure of a check on the device (a kernel's bad target, an
        index out of range) since the last read; one read for all of them."""
        if self._checks:
            with self.scope():
                self._checks.raise_pending()

    def check(self, make, message, error=GpugradIndexError):
        self._checks.add(make, message, error)

    def to_host(self, array):
        self.raise_pending()
        return self._cupy.asnumpy(array)

    def asarray(self, data, dtype=None):
        with self._cupy.cuda.Device(self.device.index):
            return self._cupy.asarray(data, dtype=dtype)

    def index_add(self, target, key, values):
        self._cupy.add.at(target, key, values)  # cupyx.scatter_add is deprecated in CuPy 14

    def erf(self, x):
        return self._special.erf(x)

    def synchronize(self):
        with self._cupy.cuda.Device(self.device.index):
            self._cupy.cuda.get_current_stream().synchronize()
        self.raise_pending()

    # -- random numbers: from ``stream`` (a gpugrad.Generator's) or the device's default ----
    def new_stream(self, seed):
        return CudaStream(self._cupy, self.device.index, seed)

    def seed(self, seed):
        with self._cupy.cuda.Device(self.device.index):
            self._rng = self._cupy.random.RandomState(seed)

    def _random_state(self, stream):
        return contextlib.nullcontext(self._rng) if stream is None else stream.draw()

    def rand(self, shape, dtype, stream=None):
        gen = dtype if dtype.itemsize >= 4 else "float32"  # CuPy draws float32/float64 only
        with self.scope(), self._random_state(stream) as rs:
            return rs.random_sample(shape, dtype=gen).astype(dtype, copy=False)

    def randn(self, shape, dtype, stream=None):
        gen = dtype if dtype.itemsize >= 4 else "float32"
        with self.scope(), self._random_state(stream) as rs:
            return rs.standard_normal(shape, dtype=gen).astype(dtype, copy=False)

    def randint(self, low, high, shape, dtype, stream=None):
        with self.scope(), self._random_state(stream) as rs:
            return rs.randint(low, high, size=shape, dtype=dtype)
