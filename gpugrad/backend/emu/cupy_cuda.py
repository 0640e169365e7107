"""``cupy.cuda`` of the CuPy stand-in: devices, the runtime queries, streams and events,
and ``RawModule`` kernels run by the emulator (``launcher``).

Kernels run synchronously on the CPU, so a stream is always idle and an event's time is
the wall-clock time at its ``record``. A launch is checked as CuPy 14's
``Function.__call__`` checks it (grid and block must be tuples; a 0 becomes 1), then the
arguments are marshalled as CuPy marshals them and the launcher refuses what the GPU would
not run; after the launch every live allocation's red zones are checked.
"""

import operator
import time
import types

from . import cupy_memory as _mem
from . import launcher

EMULATED_NAME = "gpugrad CUDA emulator"
SM_COUNT = 132
CC = (9, 0)
VERSION = 12080  # the CUDA runtime and driver versions the emulator reports
_GLOBAL_MEM = 80 * 2**30


class Device:
    """A CUDA device (``cupy.cuda.Device``); ``with Device(i):`` makes it current."""

    def __init__(self, device=None):
        if device is None:
            device = _mem.get_device_id()
        elif isinstance(device, Device):
            device = device.id
        self.id = operator.index(device)
        self._stack = []

    def __enter__(self):
        self._stack.append(_mem.get_device_id())
        _mem.set_device_id(self.id)
        return self

    def __exit__(self, *exc):
        _mem.set_device_id(self._stack.pop())

    def __repr__(self):
        return f"<CUDA Device {self.id}>"

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def use(self):
        _mem.set_device_id(self.id)
        return self

    def synchronize(self):
        _mem.declare_synchronize()
        _mem.check_device(self.id)

    @property
    def compute_capability(self):
        _mem.check_device(self.id)
        return f"{CC[0]}{CC[1]}"

    @property
    def attributes(self):
        _mem.check_device(self.id)
        return {"MultiProcessorCount": SM_COUNT, "MaxThreadsPerBlock": 1024, "MaxBlockDimX": 1024,
                "MaxBlockDimY": 1024, "MaxBlockDimZ": 64, "MaxGridDimX": 2**31 - 1, "MaxGridDimY": 65535,
                "MaxGridDimZ": 65535, "WarpSize": 32, "MaxSharedMemoryPerBlock": 48 * 1024,
                "ComputeCapabilityMajor": CC[0], "ComputeCapabilityMinor": CC[1]}


def _get_device_properties(device):
    _mem.check_device(device)
    return {"name": EMULATED_NAME.encode(), "totalGlobalMem": _GLOBAL_MEM, "sharedMemPerBlock": 48 * 1024,
            "warpSize": 32, "maxThreadsPerBlock": 1024, "maxThreadsDim": (1024, 1024, 64),
            "maxGridSize": (2**31 - 1, 65535, 65535), "major": CC[0], "minor": CC[1],
            "multiProcessorCount": SM_COUNT}


def _device_synchronize():
    _mem.check_device(_mem.get_device_id())


runtime = types.ModuleType("cupy.cuda.runtime", "CUDA runtime queries answered by the emulator.")
runtime.CUDARuntimeError = _mem.CUDARuntimeError
runtime.getDeviceCount = _mem.device_count
runtime.getDevice = _mem.get_device_id
runtime.setDevice = _mem.set_device_id
runtime.getDeviceProperties = _get_device_properties
runtime.runtimeGetVersion = lambda: VERSION
runtime.driverGetVersion = lambda: VERSION
runtime.deviceSynchronize = _device_synchronize
# the emulator compiles with the host's C++ compiler; it answers as the NVRTC of the runtime it poses as
nvrtc = types.ModuleType("cupy.cuda.nvrtc", "NVRTC's version, as the emulator poses it.")
nvrtc.getVersion = lambda: (VERSION // 1000, VERSION % 1000 // 10)


class Stream:
    """A CUDA stream; the emulator's work is done before a call returns, so it is always idle."""

    def __init__(self, null=False, non_blocking=False, ptds=False, priority=None):
        pass  # the emulator's work is done when a call returns, on any stream

    @property
    def done(self):
        return True

    def synchronize(self):
        pass


_null_streams = {}


def get_current_stream(device_id=None):
    dev = _mem.get_device_id() if device_id is None else device_id
    return _null_streams.setdefault(dev, Stream(null=True))


class Event:
    """A CUDA event: ``record`` notes the wall-clock time (all work before it is done)."""

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self._disable_timing = disable_timing
        self._t = None

    @property
    def done(self):
        return True

    def record(self, stream=None):
        self._t = time.perf_counter()

    def synchronize(self):
        pass


def get_elapsed_time(start_event, end_event):
    """Milliseconds between two recorded events."""
    for ev in (start_event, end_event):
        if ev._disable_timing:
            raise _mem.CUDARuntimeError(400, "cudaErrorInvalidResourceHandle: invalid resource handle")
        if ev._t is None:
            raise _mem.CUDARuntimeError(600, "cudaErrorNotReady: device not ready")
    return (end_event._t - start_event._t) * 1e3


# -- kernels ----------------------------------------------------------------------------
class Function:
    """A kernel of a ``RawModule`` (``cupy.cuda.Function``), launched by the emulator."""

    def __init__(self, kernel, array_type):
        self._kernel, self._array_type = kernel, array_type

    def __call__(self, grid, block, args, shared_mem=0, stream=None, enable_cooperative_groups=False):
        for name, value in (("grid", grid), ("block", block)):
            if type(value) is not tuple:
                raise TypeError(f"Argument '{name}' has incorrect type (expected tuple, got {type(value).__name__})")
        grid = tuple(max(1, operator.index(d)) for d in (grid + (1, 1))[:3])
        block = tuple(max(1, operator.index(d)) for d in (block + (1, 1))[:3])
        if operator.index(shared_mem) < 0:
            raise OverflowError("can't convert negative value to size_t")
        if shared_mem:
            raise launcher.EmulationError(f"[cuda-emu] {self._kernel.name}: dynamic shared memory (shared_mem="
                                          f"{shared_mem}) is not modelled by the emulator")
        if enable_cooperative_groups:
            raise launcher.EmulationError(f"[cuda-emu] {self._kernel.name}: cooperative launches are not modelled")
        argv = [launcher.marshal(a, self._array_type) for a in args]
        self._kernel.launch(grid, block, argv, device=_mem.get_device_id())
        _check_red_zones(self._kernel, args)


def _check_red_zones(kernel, args):
    damaged = _mem.damaged_allocations()
    if not damaged:
        return
    params = {}
    for p, a in zip(kernel.params, args):
        mp = getattr(a, "data", None)
        if isinstance(mp, _mem.MemoryPointer):
            params.setdefault(id(mp.mem), []).append(f"{p} ({a.dtype}, shape {a.shape})")
    lines = [f"{' and '.join(params[id(mem)]) if id(mem) in params else 'an allocation not passed directly'} of "
             f"{mem.size} bytes on cuda:{mem.device_id}: written {where}" for mem, where in damaged]
    raise launcher.EmulationError(f"[cuda-emu] {kernel.name} wrote outside its arrays (an out-of-bounds access on "
                                  "the GPU): " + "; ".join(lines))


class RawModule:
    """CUDA source compiled on first use (``cupy.RawModule``; here as host C++ by the emulator)."""

    def __init__(self, code=None, *, path=None, options=(), backend="nvrtc", translate_cucomplex=False,
                 enable_cooperative_groups=False, name_expressions=None, jitify=False):
        if code is None or path is not None:
            raise launcher.EmulationError("[cuda-emu] RawModule: only code= (CUDA source text) is emulated, not "
                                          "path= (a compiled cubin/ptx)")
        if backend != "nvrtc" or jitify or name_expressions:
            raise launcher.EmulationError("[cuda-emu] RawModule: only the default NVRTC backend without jitify or "
                                          "name_expressions is emulated")
        self.code, self.options = code, tuple(options)
        self._module = None

    def get_function(self, name):
        from .cupy_array import ndarray

        if self._module is None:
            self._module = launcher.compile_module(self.code, self.options)
        return Function(self._module.function(name), ndarray)


def build_module():
    """The ``cupy.cuda`` module object."""
    cuda = types.ModuleType("cupy.cuda", "CUDA devices, streams, memory and kernels (gpugrad's emulation).")
    for name, value in {
        "Device": Device, "Event": Event, "Stream": Stream, "Function": Function, "MemoryPointer": _mem.MemoryPointer,
        "MemoryPool": _mem.MemoryPool, "get_current_stream": get_current_stream, "get_elapsed_time": get_elapsed_time,
        "set_allocator": _mem.set_allocator, "get_allocator": _mem.get_allocator, "alloc": _mem.alloc,
        "alloc_pinned_memory": _mem.alloc_pinned_memory, "PinnedMemoryPointer": _mem.PinnedMemoryPointer,
        "get_device_id": _mem.get_device_id, "runtime": runtime, "nvrtc": nvrtc,
        "is_available": lambda: True,
    }.items():
        setattr(cuda, name, value)
    return cuda
