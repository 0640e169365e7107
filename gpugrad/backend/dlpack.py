"""DLPack's C structures (ctypes), and bfloat16 through DLPack on the CPU.

NumPy's DLPack refuses bfloat16 (kDLBfloat is not a NumPy dtype), so a CPU bfloat16 tensor
goes out as NumPy's capsule of its bits viewed as uint16 with the type code set to
kDLBfloat, and a producer's kDLBfloat capsule comes in as NumPy's uint16 import of it
with the code set back, then viewed as ``ml_dtypes.bfloat16``: both ways share memory,
and the producer's deleter runs when NumPy lets go of the array, as for any import.
"""

import ctypes

import numpy as np


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32), ("dtype", DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class DLManagedTensor(ctypes.Structure):
    pass


DELETER = ctypes.CFUNCTYPE(None, ctypes.POINTER(DLManagedTensor))
DLManagedTensor._fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", DELETER)]


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class DLManagedTensorVersioned(ctypes.Structure):  # DLPack 1.0: a capsule named "dltensor_versioned"
    _fields_ = [("version", _Version), ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p),
                ("flags", ctypes.c_uint64), ("dl_tensor", DLTensor)]


CODES = {"i": 0, "u": 1, "f": 2, "c": 5, "b": 6}  # DLDataTypeCode by NumPy kind
KDL_UINT, KDL_BFLOAT = 1, 4
KDL_CPU, KDL_CUDA = 1, 2


def api(name, restype, *argtypes):
    fn = ctypes.pythonapi[name]  # a fresh function pointer: its argtypes are ours alone
    fn.restype, fn.argtypes = restype, list(argtypes)
    return fn


_get = api("PyCapsule_GetPointer", ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)
_name = api("PyCapsule_GetName", ctypes.c_char_p, ctypes.py_object)


def _dl_tensor(capsule):
    """The DLTensor inside an unconsumed capsule of either DLPack version."""
    name = _name(capsule)
    if name == b"dltensor":
        return DLManagedTensor.from_address(_get(capsule, name)).dl_tensor
    if name == b"dltensor_versioned":
        return DLManagedTensorVersioned.from_address(_get(capsule, name)).dl_tensor
    raise BufferError(f"not a DLPack capsule (named {name!r})")


def _recode(capsule, old, new):
    t = _dl_tensor(capsule)
    if (t.dtype.code, t.dtype.bits, t.dtype.lanes) != (old, 16, 1):
        return False
    t.dtype.code = new
    return True


def export_bfloat16(array, *args, **kwargs):
    """A capsule of the NumPy bfloat16 ``array`` that says kDLBfloat."""
    capsule = array.view(np.uint16).__dlpack__(*args, **kwargs)
    _recode(capsule, KDL_UINT, KDL_BFLOAT)
    return capsule


class _Recoded:
    """A DLPack producer handing NumPy one capsule (its kDLBfloat code made kDLUInt)."""

    __slots__ = ("capsule",)

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, *args, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return (KDL_CPU, 0)


def import_cpu(obj, bfloat16):
    """NumPy's import of a CPU DLPack producer, bfloat16 (kDLBfloat, 16 bits) included."""
    try:
        return np.from_dlpack(obj)
    except (BufferError, RuntimeError):  # NumPy 2 raises RuntimeError for a dtype it lacks
        try:  # a versioned capsule says whether the memory is writable; NumPy takes a legacy one as read-only
            capsule = obj.__dlpack__(max_version=(1, 0))
        except TypeError:  # a producer from before DLPack 1.0
            capsule = obj.__dlpack__()
        if not _recode(capsule, KDL_BFLOAT, KDL_UINT):
            raise
    return np.from_dlpack(_Recoded(capsule)).view(bfloat16)
