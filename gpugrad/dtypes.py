"""dtypes: gpugrad uses NumPy dtype objects directly (CuPy shares them).

``gpugrad.float32`` *is* ``numpy.dtype('float32')``, so arrays, tensors and user code
agree without conversion. float32 is the default floating dtype, int64 the default
integer dtype, as in PyTorch. Type promotion between tensors and Python scalars follows
NumPy 2 (NEP 50): Python scalars are "weak" and do not widen a tensor's dtype.

``gpugrad.bfloat16`` is ml_dtypes' bfloat16 (CuPy 14 takes the same type). Its NumPy kind
is 'V', not 'f', so code asks ``is_floating(dtype)`` rather than ``dtype.kind == "f"``.
"""

import ml_dtypes
import numpy as np

from .errors import DTypeError

float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")  # noqa: A001 - torch-style alias, module-local
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
int16 = short = np.dtype("int16")
int32 = int = np.dtype("int32")  # noqa: A001
int64 = long = np.dtype("int64")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")
bfloat16 = np.dtype(ml_dtypes.bfloat16)

SUPPORTED = (float16, bfloat16, float32, float64, int8, int16, int32, int64, uint8, bool_)
_SUPPORTED_SET = frozenset(SUPPORTED)

default_float = float32
default_int = int64


def is_floating(dt):
    """Whether ``dt`` is a floating dtype: float16/32/64 or bfloat16 (whose kind is 'V')."""
    return dt.kind == "f" or (dt.kind == "V" and dt.name == "bfloat16")


def is_half(dt):
    """Whether ``dt`` is a 2-byte float (float16, bfloat16): what accumulates in float32."""
    return dt.itemsize == 2 and is_floating(dt)


def to_dtype(spec, op="dtype"):
    """Turn a user's dtype (gpugrad/NumPy dtype, name, Python type) into a NumPy dtype.

    Python ``float`` means float64 and ``int`` int64, as in PyTorch.
    """
    if spec is None:
        return None
    try:
        dt = np.dtype(spec)
    except TypeError:
        raise DTypeError(f"[{op}] expected a dtype such as gpugrad.float32, got {spec!r}") from None
    if dt not in _SUPPORTED_SET:
        names = ", ".join(d.name for d in SUPPORTED)
        raise DTypeError(f"[{op}] dtype {dt.name} is not supported; expected one of {names}")
    return dt


def infer_dtype(data):
    """The dtype PyTorch would give a tensor built from Python data (lists, scalars)."""
    arr = np.asarray(data)  # raises ValueError for ragged nesting
    if is_floating(arr.dtype):
        return default_float
    if arr.dtype.kind in "iu":
        return default_int
    if arr.dtype.kind == "b":
        return bool_
    raise DTypeError(f"[tensor] cannot build a tensor from data of NumPy dtype {arr.dtype}")
