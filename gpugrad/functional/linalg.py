"""matmul (1-D, 2-D, batched with broadcasting) and linear."""

from ..errors import ArgumentTypeError, DTypeError, ShapeError
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
    try:
        return Matmul()(a, b)
    except ValueError:
        raise ShapeError(f"[matmul] batch dims do not broadcast: {a.shape} and {b.shape}") from None


def linear(x, weight, bias=None):
    """x @ weight.T + bias, with weight of shape (out_features, in_features)."""
    y = matmul(x, weight.mT if weight.ndim > 1 else weight)
    return y if bias is None else y + bias
