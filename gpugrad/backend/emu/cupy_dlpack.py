"""DLPack for the CuPy stand-in: device arrays export real ``dltensor`` capsules that say
kDLCUDA (so a CPU consumer such as ``numpy.from_dlpack`` refuses them, as it refuses
CuPy's), and ``cupy.from_dlpack`` imports them as views of the same allocation. No other
CUDA producer exists where the emulator runs, so a capsule it did not make is refused.
"""

import ctypes
import sys

from ..dlpack import CODES as _CODES
from ..dlpack import DELETER as _DELETER
from ..dlpack import KDL_CUDA as _KDLCUDA
from ..dlpack import DLDataType as _DataType
from ..dlpack import DLDevice as _Device
from ..dlpack import DLManagedTensor as _Managed
from ..dlpack import api as _api
from .cupy_array import result

_exports = {}  # address of each live DLManagedTensor -> (struct, shape, strides, the exported array, capsule)
_NAME = ctypes.create_string_buffer(b"dltensor")  # a capsule keeps a pointer to its name
_USED = ctypes.create_string_buffer(b"used_dltensor")


def _release(managed):
    _exports.pop(ctypes.addressof(managed.contents), None)


_release_cb = _DELETER(_release)


_new = _api("PyCapsule_New", ctypes.py_object, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
_get = _api("PyCapsule_GetPointer", ctypes.c_void_p, ctypes.py_object, ctypes.c_void_p)
_rename = _api("PyCapsule_SetName", ctypes.c_int, ctypes.py_object, ctypes.c_void_p)


def _sweep():
    """Forget exports whose capsule nobody holds any more (a consumer refused it). Capsules
    get no destructor: one in Python would run while the refusing consumer's exception is
    pending, which CPython does not allow; so each export keeps its capsule, and one that
    only ``_exports`` still refers to is dropped here."""
    for addr in [a for a, entry in _exports.items() if sys.getrefcount(entry[-1]) <= 2]:
        del _exports[addr]


def export(arr, dl_device=None, copy=None):
    """A ``dltensor`` capsule of ``arr`` on its device (a copy first when ``copy``)."""
    if dl_device is not None and tuple(dl_device) != (_KDLCUDA, arr._mem.device_id):
        raise BufferError(f"the array is on (kDLCUDA, {arr._mem.device_id}); exporting to {tuple(dl_device)} is not "
                          "supported")
    if copy:
        arr = arr.copy()
    dt = arr.dtype
    m = _Managed()
    shape = (ctypes.c_int64 * max(arr.ndim, 1))(*arr.shape)
    strides = (ctypes.c_int64 * max(arr.ndim, 1))(*(s // dt.itemsize for s in arr.strides))
    t = m.dl_tensor
    t.data, t.ndim, t.byte_offset = arr.data.ptr, arr.ndim, 0
    t.device = _Device(_KDLCUDA, arr._mem.device_id)
    t.dtype = _DataType(4 if dt.name == "bfloat16" else _CODES[dt.kind], 8 * dt.itemsize, 1)
    t.shape, t.strides = shape, strides
    m.deleter = _release_cb
    _sweep()
    capsule = _new(ctypes.addressof(m), ctypes.addressof(_NAME), None)
    _exports[ctypes.addressof(m)] = (m, shape, strides, arr, capsule)
    return capsule


def from_dlpack(array, *, device=None, copy=None):
    """The device array that a DLPack producer on the emulated device shares (a view)."""
    if not hasattr(array, "__dlpack_device__"):
        raise TypeError(f"from_dlpack takes an object with __dlpack__ and __dlpack_device__, got {type(array)}")
    dev_type, dev_id = array.__dlpack_device__()
    if int(dev_type) != _KDLCUDA:
        raise BufferError(f"the emulated CuPy imports CUDA (kDLCUDA) arrays only, got DLPack device type {dev_type}")
    capsule = array.__dlpack__(stream=None)
    addr = _get(capsule, ctypes.addressof(_NAME))
    if addr not in _exports:
        raise BufferError("a DLPack capsule of another CUDA producer: only the emulator's own arrays exist here")
    m, _, _, src, _ = _exports[addr]
    _rename(capsule, ctypes.addressof(_USED))
    out = result(src._a.view(), [src])
    m.deleter(ctypes.pointer(m))
    return out.copy() if copy else out
