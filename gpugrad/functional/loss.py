"""The fused softmax cross-entropy (per-row losses); gpugrad.nn.functional builds the
user-facing ``cross_entropy`` on it."""

import numpy as np

from ..amp.autocast import gate as _autocast
from ..autograd.grad_mode import is_grad_enabled
from ..dtypes import is_floating
from ..errors import ArgumentError, ArgumentTypeError, DeviceError, DTypeError, ShapeError
from ..ops.fused import SoftmaxCrossEntropy
from ..tensor import Tensor

_INT64 = np.iinfo(np.int64)


def check_ignore_index(op, ignore_index):
    """``ignore_index`` as an int: an integer (Python's or NumPy's, not a bool) within int64,
    the type the targets are compared in. A float is refused rather than truncated."""
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise ArgumentTypeError(f"[{op}] expected ignore_index to be an integer, got {type(ignore_index).__name__} "
                                f"{ignore_index!r}")
    if not _INT64.min <= ignore_index <= _INT64.max:
        raise ArgumentError(f"[{op}] expected ignore_index within int64 [{_INT64.min}, {_INT64.max}], "
                            f"got {ignore_index}")
    return int(ignore_index)


def autocast_wide(logits, target, weight):
    """Whether autocast's float32 cross-entropy of these float16/bfloat16 logits can skip the
    cast: the device's kernels take them and give float32 losses directly (the CUDA
    kernels' *_f32 variants; the CPU keeps float32 math, so there the logits are cast)."""
    return (isinstance(logits, Tensor) and isinstance(target, Tensor) and weight is None
            and target.dtype.kind in "iu" and is_floating(logits.dtype)
            and SoftmaxCrossEntropy.wide_kernels(logits._backend, logits.dtype))


def softmax_cross_entropy(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="none", *,
                          _wide=False):
    """Cross-entropy of logits (n, c) against class indices (n,) in one fused op (log-softmax
    and NLL in one pass; compiled on the CPU when built). Rows whose target is
    ``ignore_index`` count nothing. ``reduction``: 'none' (shape (n,)), 'sum', or 'mean'
    (divided by the summed weights of the counted targets, as PyTorch divides: NaN when none
    is counted). As in PyTorch, a row whose logits hold NaN or +inf has a NaN loss and
    gradient; ignored, it adds 0 to the loss but its gradient is still NaN. Under autocast
    the loss is float32 (``_wide``: of half-precision logits, by kernels that widen them)."""
    if _autocast.active and _autocast.engaged(logits, target, weight):
        if autocast_wide(logits, target, weight):
            return _autocast.plain(softmax_cross_entropy, logits, target, weight, ignore_index, label_smoothing,
                                   reduction, _wide=True)
        return _autocast.fp32(softmax_cross_entropy, logits, target, weight, ignore_index, label_smoothing, reduction)
    if not isinstance(logits, Tensor) or not isinstance(target, Tensor):
        raise DTypeError("[cross_entropy] expected tensors for logits and target")
    if logits.ndim != 2 or target.shape != (logits.shape[0],):
        raise ShapeError(f"[cross_entropy] expected logits (n, c) and target (n,), got {logits.shape} and {target.shape}")
    if target.dtype.kind not in "iu":
        raise DTypeError(f"[cross_entropy] target must hold class indices (integers), got {target.dtype}")
    if not is_floating(logits.dtype):
        raise DTypeError(f"[cross_entropy] logits must be floating point, got {logits.dtype}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"[cross_entropy] label_smoothing must be in [0, 1], got {label_smoothing}")
    ignore_index = check_ignore_index("cross_entropy", ignore_index)
    w = None
    if weight is not None:
        if not isinstance(weight, Tensor):
            raise ArgumentTypeError(f"[cross_entropy] weight must be a Tensor, got {type(weight).__name__}")
        if weight.device != logits.device:
            raise DeviceError(f"[cross_entropy] weight is on {weight.device}, logits on {logits.device}")
        if tuple(weight.shape) != (logits.shape[1],):
            raise ShapeError(f"[cross_entropy] weight must have shape ({logits.shape[1]},), got {weight.shape}")
        w = weight.array.astype(logits.dtype, copy=False)
    if target.dtype != "int64":
        target = target.long()
    if reduction not in ("none", "sum", "mean"):
        raise ArgumentError(f"[cross_entropy] reduction must be 'none', 'sum' or 'mean', got {reduction!r}")
    want_grad = logits.requires_grad and is_grad_enabled()
    return SoftmaxCrossEntropy(ignore_index, float(label_smoothing), w, reduction, want_grad, _wide)(logits, target)
