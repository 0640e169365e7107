"""A CuPy stand-in on NumPy memory: the module objects ``cupy`` and ``cupyx`` offering the
part of CuPy 14 that gpugrad uses, so that the real ``CudaBackend`` and its kernels run,
unchanged, on machines without a GPU (``GPUGRAD_CUDA_EMULATION=N`` poses as N devices).

Its purpose is to catch what would break on a GPU, so it refuses what CuPy refuses and has
no name CuPy lacks (``tests/test_cuda_emulation.py`` checks every name against the real
package): no implicit conversion to NumPy (``numpy.asarray(x)`` raises TypeError), no NumPy
array as an operand (TypeError, as CuPy's kernels give), no operation on an array of
another device (ValueError), ``cupy.add.at`` only on the dtypes CUDA has atomics for, and
every device-to-host read is counted (``host_reads()``; also boolean-mask indexing,
``nonzero`` and ``unique``, where CuPy reads a count back) and raises
``cupyx.DeviceSynchronized`` inside ``cupyx.allow_synchronize(False)``. Kernels of
``cupy.RawModule`` run under the emulator (``launcher``) with red zones around every
allocation checked after each launch. The devices pose as "gpugrad CUDA emulator",
compute capability 9.0 with 132 SMs, CUDA runtime, driver and NVRTC 12.8.

Integer index arrays wrap around their axis as in CuPy (no bounds error: gpugrad's own
checks must catch a bad index). Known differences from CuPy (results follow NumPy 2, which
CuPy 14 follows closely):
- repeated indices in ``a[idx] = v`` keep the last value (CuPy: any one of them);
- an operation on another device's array raises even where CUDA peer access would let CuPy
  go on with a warning (CuPy 14 raises only where peer access is unavailable);
- random numbers come from NumPy's PCG64, not cuRAND: the same distributions and dtypes,
  other values;
- ``cupyx.scipy.special.erf`` is Python's ``math.erf`` per element (float64, rounded).
"""

import types

import numpy as np

from . import cupy_cuda, cupy_funcs
from . import cupy_memory as _mem
from .cupy_array import ndarray
from .cupy_dlpack import from_dlpack

__version__ = "14.2.0+gpugrad.emulation"
host_reads = _mem.host_reads
emulated_devices = _mem.emulated_devices


def _result_type(*arrays_and_dtypes):
    return np.result_type(*[a.dtype if isinstance(a, ndarray) else a for a in arrays_and_dtypes])


def _module(name, doc, attrs):
    mod = types.ModuleType(name, doc)
    for key, value in attrs.items():
        setattr(mod, key, value)
    return mod


_DTYPES = ("bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 intp float16 float32 float64 complex64 "
           "complex128 dtype finfo iinfo can_cast promote_types isscalar newaxis inf nan pi e").split()

random = _module("cupy.random", "Random numbers on the emulated device.", {"RandomState": cupy_funcs.RandomState})
cuda = cupy_cuda.build_module()
cupy = _module("cupy", "The CuPy stand-in of gpugrad's CUDA emulation (see gpugrad.backend.emu.fakecupy).", {
    **{n: getattr(np, n) for n in _DTYPES},
    **cupy_funcs.functions,
    "__version__": __version__, "ndarray": ndarray, "ufunc": cupy_funcs.ufunc, "result_type": _result_type,
    "asnumpy": cupy_funcs.asnumpy, "from_dlpack": from_dlpack, "RawModule": cupy_cuda.RawModule,
    "get_default_memory_pool": _mem.get_default_memory_pool, "cuda": cuda, "random": random,
})

def _empty_pinned(shape, dtype=float, order="C"):
    """cupyx.empty_pinned: a NumPy array on (emulated) page-locked host memory."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    dtype = np.dtype(dtype)
    mem = _mem.alloc_pinned_memory(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize)
    return np.ndarray(shape, dtype, mem, order=order)


def _zeros_pinned(shape, dtype=float, order="C"):
    """cupyx.zeros_pinned: as empty_pinned, filled with zeros."""
    out = _empty_pinned(shape, dtype, order)
    out.fill(0)
    return out


special = _module("cupyx.scipy.special", "Special functions on the emulated device.", {"erf": cupy_funcs.erf})
cupyx = _module("cupyx", "cupyx of the CuPy stand-in.", {
    "scatter_add": cupy_funcs.scatter_add, "allow_synchronize": _mem.allow_synchronize,
    "DeviceSynchronized": _mem.DeviceSynchronized, "empty_pinned": _empty_pinned, "zeros_pinned": _zeros_pinned,
    "scipy": _module("cupyx.scipy", "SciPy routines on the emulated device.", {"special": special}),
})
