"""Whole-tensor comparisons as PyTorch has them: ``equal`` (same shape and values),
``isclose`` (elementwise, with tolerances) and ``allclose`` (isclose everywhere). None of
them records a graph: their results are bool."""

import numbers

from ..dtypes import is_floating
from ..errors import ArgumentError, ArgumentTypeError, DeviceError, DTypeError
from ..tensor import Tensor
from ._util import broadcast_error, check_tensor


def _pair(a, b, op):
    check_tensor(a, op)
    if not isinstance(b, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor as other, got {type(b).__name__}")
    if a._backend is not b._backend:
        raise DeviceError(f"[{op}] expected both tensors on one device, got {a.device} and {b.device}")


def equal(input, other):  # noqa: A002 - PyTorch's name
    """True when both tensors have the same shape and the same values (any dtypes, compared
    after promotion, as PyTorch does); NaN is never equal to NaN. A Python bool."""
    _pair(input, other, "equal")
    if input.shape != other.shape:
        return False
    with input._backend.scope():
        return bool((input.array == other.array).all())


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """``|input - other| <= atol + rtol * |other|`` elementwise (a bool tensor, broadcast).
    Infinities are close only to themselves; NaN only to NaN with ``equal_nan``. Both
    tensors must have one dtype, as in PyTorch."""
    _pair(input, other, "isclose")
    if input.dtype != other.dtype:
        raise DTypeError(f"[isclose] expected tensors of one dtype, got {input.dtype} and {other.dtype}")
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if not isinstance(tol, numbers.Real) or isinstance(tol, bool):
            raise ArgumentTypeError(f"[isclose] {name} must be a number, got {type(tol).__name__}")
        if not tol >= 0:
            raise ArgumentError(f"[isclose] {name} must be greater than or equal to zero, got {tol}")
    if broadcast_error("isclose", input, other) is not None:
        raise broadcast_error("isclose", input, other)
    xp = input._backend.xp
    a, b = input.array, other.array
    with input._backend.scope(), input._backend.quiet():
        out = a == b  # also the infinities, and all of it for bools
        if a.dtype.kind != "b":
            if not is_floating(a.dtype):  # integers: compared as floats, where a - b cannot overflow
                a, b = a.astype("float64"), b.astype("float64")
            out = out | (xp.isfinite(a) & xp.isfinite(b) & (xp.abs(a - b) <= atol + rtol * xp.abs(b)))
            if equal_nan:
                out = out | (xp.isnan(a) & xp.isnan(b))
        return Tensor._wrap(xp.ascontiguousarray(out), input._backend)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """True when ``isclose`` holds everywhere (a Python bool)."""
    for name, t in (("input", input), ("other", other)):
        if not isinstance(t, Tensor):
            raise ArgumentTypeError(f"[allclose] expected a Tensor as {name}, got {type(t).__name__}")
    try:
        close = isclose(input, other, rtol, atol, equal_nan)
    except (ArgumentError, ArgumentTypeError, DeviceError, DTypeError) as e:
        raise type(e)(str(e).replace("[isclose]", "[allclose]", 1)) from None
    except ValueError as e:  # the broadcasting ShapeError
        raise type(e)(str(e).replace("[isclose]", "[allclose]", 1)) from None
    return bool(close.array.all())
