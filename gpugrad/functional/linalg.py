"""matmul (1-D, 2-D, batched with broadcasting) and linear."""

from ..errors import ArgumentTypeError, DTypeError, ShapeError
from ..ops.fused import Linear
from ..ops.linalg import Matmul
from ..tensor import Tensor


def matmul(a, b):
    """NumPy/PyTorch matmul: 1-D operands are promoted and the extra dim removed; leading
    (batch) dims broadcast."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise ArgumentTypeError(f"[matmul] expected two tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"[matmul] both operands need at least 1 dim, got shapes {a.shape} and {b.shape}")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ShapeError(
            f"[matmul] expected a.shape[-1] == b.shape[-2], got {a.shape} and {b.shape}"
        )
    if a.dtype.kind == "b" or b.dtype.kind == "b":
        raise DTypeError(f"[matmul] bool operands are not supported, got {a.dtype} and {b.dtype}")
    if a.dtype != b.dtype:  # PyTorch promotes nothing here: a float64 batch into a float32 model is a bug
        raise DTypeError(
            f"[matmul] expected both operands to have the same dtype, got {a.dtype} and {b.dtype}; "
            f"convert one first, e.g. with {_cast_hint(a.dtype if str(a.dtype) == 'float32' else b.dtype)}"
        )
    try:
        return Matmul()(a, b)
    except ValueError:
        raise ShapeError(f"[matmul] batch dims do not broadcast: {a.shape} and {b.shape}") from None


def _cast_hint(dtype):
    """How to convert a tensor to ``dtype``: ``.float()`` for float32, and so on."""
    return {"float32": ".float()", "float64": ".double()", "float16": ".half()"}.get(str(dtype), f".to({dtype})")


def _linear(x, weight, bias, relu, op):
    if not isinstance(x, Tensor) or not isinstance(weight, Tensor):
        raise ArgumentTypeError(f"[{op}] expected tensors for x and weight")
    if bias is not None and not isinstance(bias, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a tensor or None for bias, got {type(bias).__name__}")
    for what, t in (("input", x), ("bias", bias)):
        if t is not None and t.dtype != weight.dtype:  # as PyTorch refuses it
            other = f" (or the layer with {_cast_hint(t.dtype)})" if t.dtype.kind == "f" else ""
            raise DTypeError(
                f"[{op}] the {what} is {t.dtype} but the weight is {weight.dtype}; convert the {what} "
                f"with {_cast_hint(weight.dtype)}{other}"
            )
    fused = (
        weight.ndim == 2 and x.ndim >= 1 and x.dtype == weight.dtype and x.dtype.kind == "f"
        and (bias is None or (bias.ndim == 1 and bias.dtype == x.dtype))
    )
    if fused:
        if x.shape[-1] != weight.shape[1]:
            raise ShapeError(
                f"[{op}] x has {x.shape[-1]} features, weight expects {weight.shape[1]} (shapes {x.shape}, {weight.shape})"
            )
        if bias is not None and bias.shape[0] != weight.shape[0]:
            raise ShapeError(f"[{op}] bias has shape {bias.shape}, expected ({weight.shape[0]},)")
        return Linear(relu)(x, weight, bias) if bias is not None else Linear(relu)(x, weight)
    y = matmul(x, weight.mT if weight.ndim > 1 else weight)
    y = y if bias is None else y + bias
    return y.relu() if relu else y


def linear(x, weight, bias=None):
    """x @ weight.T + bias, with weight of shape (out_features, in_features): one fused op."""
    return _linear(x, weight, bias, False, "linear")


def linear_relu(x, weight, bias=None):
    """relu(x @ weight.T + bias) as one op: the ReLU mask and bias gradient are fused
    (compiled kernels on the CPU when built)."""
    return _linear(x, weight, bias, True, "linear_relu")
