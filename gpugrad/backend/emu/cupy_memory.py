"""Devices, host reads and device memory of the CuPy stand-in.

Every device allocation is a NumPy byte buffer with red zones (a fixed byte pattern) on
both sides of the data, so a kernel that writes one element too far is caught after its
launch (``damaged_allocations``) instead of silently corrupting a neighbour, as it would
on a GPU. An uninitialised array (``cupy.empty``) is poisoned (all bits set: NaN for
floats, -1 for integers), because CuPy hands back whatever the pool held before. Pointers
are real host addresses, so the emulated kernels dereference them directly.

The current device is per thread, as CUDA's is; ``GPUGRAD_CUDA_EMULATION=N`` sets how many
devices there are. Host reads (device-to-host copies) are counted, and refused inside
``cupyx.allow_synchronize(False)`` as CuPy refuses them.
"""

import contextlib
import ctypes
import os
import threading
import warnings
import weakref

import numpy as np

RED_ZONE = 64  # guard bytes on each side of an allocation
_GUARD_BYTE = 0xA5
_POISON_BYTE = 0xFF
_ALIGN = 256  # cudaMalloc's alignment
_POOL_ROUND = 512  # CuPy's pool rounds sizes up to this
_GUARD = bytes([_GUARD_BYTE]) * RED_ZONE

ENV = "GPUGRAD_CUDA_EMULATION"


class CUDARuntimeError(RuntimeError):
    """What CUDA's runtime API returns as an error (``cupy.cuda.runtime.CUDARuntimeError``)."""

    def __init__(self, status, text):
        self.status = status
        super().__init__(text)


class DeviceSynchronized(RuntimeError):
    """Raised when device synchronization is detected while disallowed (``cupyx.DeviceSynchronized``)."""

    def __init__(self, message=None):
        super().__init__(message or "Device synchronization was detected while disallowed.")


def emulated_devices():
    """The number of devices ``GPUGRAD_CUDA_EMULATION`` asks for: 0 when unset or 0; ValueError
    naming the variable when it is not a count."""
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return 0
    if not spec.isdigit():
        raise ValueError(f"{ENV} must be a number of emulated CUDA devices (0 = off), got {spec!r}")
    return int(spec)


def device_count():
    return max(emulated_devices(), 1)


_tls = threading.local()


def get_device_id():
    return getattr(_tls, "device", 0)


def check_device(index):
    if not 0 <= index < device_count():
        raise CUDARuntimeError(101, "cudaErrorInvalidDevice: invalid device ordinal")


def set_device_id(index):
    check_device(index)
    _tls.device = index


# -- host reads -------------------------------------------------------------------------
_reads = [0]


def host_reads():
    """How many device-to-host reads (``get``, ``item``, ``float``, ``repr``, ...) ran so far."""
    return _reads[0]


def declare_synchronize():
    if not getattr(_tls, "sync_allowed", True):
        raise DeviceSynchronized()


def declare_read():
    """A device-to-host copy is about to run: refuse it where synchronizing is disallowed, else count it."""
    declare_synchronize()
    _reads[0] += 1


@contextlib.contextmanager
def allow_synchronize(allow):
    """Allows or disallows device synchronization temporarily in the current thread."""
    warnings.warn("cupyx.allow_synchronize will be removed in future releases as it is not possible to reliably "
                  "detect synchronizations.", stacklevel=3)
    old = getattr(_tls, "sync_allowed", True)
    _tls.sync_allowed = allow
    try:
        yield
    finally:
        _tls.sync_allowed = old


# -- memory -------------------------------------------------------------------------------
_live = weakref.WeakSet()


class Memory:
    """One device allocation of ``size`` bytes on ``device_id``: ``raw`` holds the red
    zones and the data, which starts at ``raw[start]`` (address ``ptr``, 0 when empty)."""

    __slots__ = ("raw", "start", "size", "ptr", "device_id", "__weakref__")

    def __init__(self, size, device_id):
        raw = np.empty(size + 2 * RED_ZONE + _ALIGN, np.uint8)
        addr = raw.ctypes.data
        start = RED_ZONE + (-(addr + RED_ZONE)) % _ALIGN
        raw[:start] = _GUARD_BYTE
        raw[start + size:] = _GUARD_BYTE
        self.raw, self.start, self.size, self.device_id = raw, start, size, device_id
        self.ptr = addr + start if size else 0
        _live.add(self)

    def poison(self):
        """Fill the data with set bits, as what a fresh ``cupy.empty`` may hold."""
        self.raw[self.start:self.start + self.size] = _POISON_BYTE

    def damage(self):
        """Where a red zone was overwritten ('before the start', 'past the end'), or None;
        the damaged guard is restored so that one overrun is reported once."""
        s, e = self.start, self.start + self.size
        where = []
        if self.raw[s - RED_ZONE:s].tobytes() != _GUARD:
            where.append(f"up to {RED_ZONE} bytes before its start")
            self.raw[s - RED_ZONE:s] = _GUARD_BYTE
        if self.raw[e:e + RED_ZONE].tobytes() != _GUARD:
            where.append(f"up to {RED_ZONE} bytes past its end")
            self.raw[e:e + RED_ZONE] = _GUARD_BYTE
        return " and ".join(where) or None


def damaged_allocations():
    """``[(memory, where)]`` for every live allocation whose red zones were overwritten."""
    out = []
    for mem in list(_live):
        where = mem.damage()
        if where:
            out.append((mem, where))
    return out


class MemoryPointer:
    """A device address inside one allocation (``cupy.cuda.MemoryPointer``)."""

    __slots__ = ("mem", "ptr", "device_id")

    def __init__(self, mem, offset):
        self.mem, self.device_id = mem, mem.device_id
        self.ptr = mem.ptr + offset if mem.size else 0

    @property
    def device(self):
        from .cupy_cuda import Device

        return Device(self.device_id)

    def __add__(self, offset):
        return MemoryPointer(self.mem, self.ptr - self.mem.ptr + offset)

    def _span(self, size, what):
        """The host address of ``size`` bytes from here, refusing what would leave the allocation."""
        off = self.ptr - self.mem.ptr
        if size and (off < 0 or off + size > self.mem.size):
            raise CUDARuntimeError(700, f"cudaErrorIllegalAddress: {what} of {size} bytes at offset {off} of a "
                                        f"{self.mem.size}-byte allocation")
        return self.ptr

    def copy_from_device(self, src, size):
        if size:
            ctypes.memmove(self._span(size, "a copy"), src._span(size, "a copy"), size)

    def copy_from_device_async(self, src, size, stream=None):
        self.copy_from_device(src, size)

    def copy_from_host(self, mem, size):
        if size:
            ctypes.memmove(self._span(size, "a copy"), mem, size)

    def copy_from_host_async(self, mem, size, stream=None):
        self.copy_from_host(mem, size)

    def copy_to_host(self, mem, size):
        declare_read()
        if size:
            ctypes.memmove(mem, self._span(size, "a copy"), size)

    def memset(self, value, size):
        if size:
            ctypes.memset(self._span(size, "a memset"), value, size)

    def memset_async(self, value, size, stream=None):
        self.memset(value, size)


class MemoryPool:
    """CuPy's default pool, as far as its statistics go: freed blocks stay cached (counted
    in ``total_bytes``) until ``free_all_blocks``. Like CuPy's, the counts are the current
    device's."""

    def __init__(self):
        self._used = {}
        self._cached = {}  # (device, rounded size) -> number of cached blocks
        self._lock = threading.Lock()

    def malloc(self, size):
        size = int(size)
        if size < 0:
            raise OverflowError(f"can't convert negative value to size_t: {size}")
        dev = get_device_id()
        rounded = -(-size // _POOL_ROUND) * _POOL_ROUND
        mem = Memory(size, dev)
        with self._lock:
            if self._cached.get((dev, rounded)):
                self._cached[(dev, rounded)] -= 1
            self._used[dev] = self._used.get(dev, 0) + rounded
        weakref.finalize(mem, self._release, dev, rounded)
        return MemoryPointer(mem, 0)

    def _release(self, dev, rounded):
        with self._lock:
            self._used[dev] -= rounded
            if rounded:
                self._cached[(dev, rounded)] = self._cached.get((dev, rounded), 0) + 1

    def used_bytes(self):
        return self._used.get(get_device_id(), 0)

    def free_bytes(self):
        dev = get_device_id()
        return sum(size * n for (d, size), n in self._cached.items() if d == dev)

    def total_bytes(self):
        return self.used_bytes() + self.free_bytes()

    def n_free_blocks(self):
        dev = get_device_id()
        return sum(n for (d, _), n in self._cached.items() if d == dev)

    def free_all_blocks(self, stream=None):
        dev = get_device_id()
        with self._lock:
            for key in [k for k in self._cached if k[0] == dev]:
                del self._cached[key]


_pool = MemoryPool()
_allocator = [_pool.malloc]


def get_default_memory_pool():
    return _pool


def _malloc(size):
    """Memory straight from the device, past the pool (what CuPy uses when no allocator is set)."""
    return MemoryPointer(Memory(int(size), get_device_id()), 0)


def set_allocator(allocator=None):
    """Route every allocation through ``allocator(size) -> MemoryPointer`` (None: no pool)."""
    _allocator[0] = allocator if allocator is not None else _malloc


def get_allocator():
    return _allocator[0]


class PinnedMemoryPointer(bytearray):
    """Page-locked host memory as CuPy's ``alloc_pinned_memory`` returns it: a buffer of its
    size for ``numpy.ndarray(shape, dtype, buffer=...)``. Here it is ordinary host memory
    (the emulated device reads host memory anyway); its type says that it was asked pinned."""

    @property
    def ptr(self):
        return np.frombuffer(self, np.uint8).ctypes.data if len(self) else 0


def alloc_pinned_memory(size):
    """``size`` bytes of (emulated) page-locked host memory."""
    return PinnedMemoryPointer(int(size))


def alloc(size):
    """``size`` bytes on the current device from the current allocator."""
    mp = _allocator[0](size)
    if not isinstance(mp, MemoryPointer):
        raise TypeError(f"the allocator must return a cupy.cuda.MemoryPointer, got {type(mp).__name__}")
    return mp
