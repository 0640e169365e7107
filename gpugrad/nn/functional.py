"""gpugrad.nn.functional: losses and layer functions (PyTorch's torch.nn.functional).

Losses are numerically stable: cross_entropy goes through log_softmax (finite for logits
of magnitude 1e4); binary_cross_entropy_with_logits is y softplus(-z) + (1 - y) softplus(z),
i.e. softplus((1 - 2y) z) for 0/1 targets, which never saturates or overflows.
"""

import math

import numpy as np

from .. import functional as F
from ..errors import ArgumentError, DTypeError, ShapeError
from ..functional import (  # noqa: F401 - re-exported, as torch.nn.functional does
    elu,
    gelu,
    hardtanh,
    leaky_relu,
    linear,
    log_softmax,
    one_hot,
    pad,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from ..functional._util import check_values
from ..functional.loss import check_ignore_index
from ..ops.base import Op
from ..tensor import Tensor
from .normalization import batch_norm, layer_norm  # noqa: F401 - re-exported, as torch.nn.functional does

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss, reduction, op):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ArgumentError(f"[{op}] reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _pair(input, target, op):
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise DTypeError(f"[{op}] expected tensors, got {type(input).__name__} and {type(target).__name__}")
    if input.shape != target.shape:
        raise ShapeError(f"[{op}] input and target shapes differ: {input.shape} vs {target.shape}")


def mse_loss(input, target, reduction="mean"):
    """Mean squared error (the linear output unit's loss)."""
    _pair(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error."""
    _pair(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """-[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))] from logits z, computed as
    y softplus(-z) + (1 - y) softplus(z): exact for 0/1 targets and finite for any z."""
    _pair(input, target, "binary_cross_entropy_with_logits")
    pos = softplus(-input)
    if pos_weight is not None:
        pos = pos * pos_weight
    loss = target * pos + (1.0 - target) * softplus(input)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


class BinaryCrossEntropy(Op):
    """Elementwise -[y max(log p, -100) + (1 - y) max(log(1 - p), -100)] of probabilities p
    and targets y (PyTorch's clamp keeps it finite at p = 0 and 1)."""

    __slots__ = ()
    ieee = True
    EPS = float(np.float32(1e-12))  # PyTorch's clamp of p (1 - p): 1e-12 as a float32

    def forward(self, b, p, y):
        xp = b.xp
        return -(y * xp.maximum(xp.log(p), -100.0) + (1.0 - y) * xp.maximum(xp.log1p(-p), -100.0))

    def backward(self, gy):
        # d/dp = (p - y) / (p (1 - p)), the denominator clamped at ~1e-12 as PyTorch's (so the
        # gradient is finite at p = 0 and 1); d/dy = log(1 - p) - log(p) (-logit p, unclamped)
        p, y = self.saved(0), self.saved(1)
        gp = gy * (p - y) / ((1.0 - p) * p).clip(min=self.EPS)
        return gp, gy * (F.log1p(-p) - F.log(p))


def binary_cross_entropy(input, target, weight=None, reduction="mean"):  # noqa: A002 - PyTorch's names
    """-w [y log p + (1 - y) log(1 - p)] of probabilities ``input`` (in [0, 1], e.g. after a
    sigmoid) and targets ``target`` (in [0, 1], same shape and dtype), each log clamped at
    -100 as PyTorch's; ``weight`` broadcasts to the input's shape. Values outside [0, 1] are
    an error (on a GPU raised at the next read). binary_cross_entropy_with_logits is the
    stable form for logits."""
    op = "binary_cross_entropy"
    _pair(input, target, op)
    if input.dtype.kind != "f" or target.dtype != input.dtype:
        raise DTypeError(f"[{op}] expected floating point input and target of one dtype, got {input.dtype} and "
                         f"{target.dtype}")
    for name, t in (("input", input), ("target", target)):  # NaN too (checked as a mask: no value to print)
        check_values(~((t >= 0) & (t <= 1)), lambda bad: bad,
                     f"[{op}] all elements of {name} should be between 0 and 1; the one at (flat) position "
                     "{position} is not", ArgumentError)
    loss = BinaryCrossEntropy()(input, target)
    if weight is not None:
        if not isinstance(weight, Tensor):
            raise DTypeError(f"[{op}] expected weight to be a Tensor, got {type(weight).__name__}")
        try:
            fits = np.broadcast_shapes(tuple(weight.shape), tuple(input.shape)) == tuple(input.shape)
        except ValueError:
            fits = False
        if not fits:
            raise ShapeError(f"[{op}] expected weight broadcastable to the input's shape {input.shape}, got "
                             f"{weight.shape}")
        loss = loss * weight
    return _reduce(loss, reduction, op)


def _class_last(input, target, op):
    """(N, C, d1, ...) and (N, d1, ...) -> (M, C) and (M,)."""
    if input.ndim < 1:
        raise ShapeError(f"[{op}] input needs a class dim, got shape {input.shape}")
    if input.ndim == 1:
        return input.unsqueeze(0), target.reshape(1)
    if input.ndim > 2:
        perm = (0,) + tuple(range(2, input.ndim)) + (1,)
        input = input.permute(*perm).reshape(-1, input.shape[1])
        target = target.reshape(-1)
    return input, target


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Negative log likelihood of class ``target`` under log-probabilities ``input`` (N, C).

    ``weight`` (C,) weighs classes (the mean divides by the summed weights of the counted
    targets, as PyTorch does, whatever that sum is: a batch in which every target is ignored
    gives NaN, as in PyTorch); targets equal to ``ignore_index`` count nothing.
    """
    if target.dtype.kind not in "iu":
        raise DTypeError(f"[nll_loss] target must hold class indices (integers), got {target.dtype}")
    ignore_index = check_ignore_index("nll_loss", ignore_index)
    n_classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if input.ndim > 1 and tuple(target.shape) != (input.shape[0],) + tuple(input.shape[2:]):
        raise ShapeError(f"[nll_loss] target shape {target.shape} does not match input {input.shape}")
    logp, t = _class_last(input, target, "nll_loss")
    keep = t != ignore_index
    safe = F.where(keep, t, 0)
    check_values(t, lambda a: (a != ignore_index) & ((a < 0) | (a >= n_classes)),
                 f"[nll_loss] targets must lie in [0, {n_classes - 1}] (or be ignore_index={ignore_index}), got "
                 "{value} at position {position}")
    picked = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    w = keep.to(logp.dtype)
    if weight is not None:
        if tuple(weight.shape) != (n_classes,):
            raise ShapeError(f"[nll_loss] weight must have shape ({n_classes},), got {weight.shape}")
        w = w * weight[safe]
    # an ignored row is 0 even where its input is NaN or inf (-picked, not -(picked * 0), which
    # would make a NaN, with NumPy's warning, for an ignored -inf)
    loss = F.where(keep, -picked if weight is None else -(picked * weight[safe]), 0.0)
    if label_smoothing:
        if not 0.0 <= label_smoothing <= 1.0:
            raise ArgumentError(f"[nll_loss] label_smoothing must be in [0, 1], got {label_smoothing}")
        per_class = logp if weight is None else logp * weight
        smooth = F.where(keep, -per_class.sum(1), 0.0) / n_classes
        loss = loss * (1.0 - label_smoothing) + smooth * label_smoothing
    if reduction == "mean":
        return loss.sum() / w.sum()
    if reduction == "none" and input.ndim > 2:
        return loss.reshape(target.shape)
    return _reduce(loss, reduction, "nll_loss")


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy from logits (N, C) or (N, C, d...): log_softmax then nll_loss.

    ``target`` holds class indices, or class probabilities of the input's shape."""
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise DTypeError("[cross_entropy] expected tensors for input and target")
    check_ignore_index("cross_entropy", ignore_index)  # also with probability targets, which ignore it
    if target.dtype.kind == "f":
        logp = log_softmax(input, dim=1 if input.ndim > 1 else 0)
        if target.shape != input.shape:
            raise ShapeError(f"[cross_entropy] probability targets need the input's shape {input.shape}, got {target.shape}")
        c = input.shape[1] if input.ndim > 1 else input.shape[0]
        if label_smoothing:
            target = target * (1.0 - label_smoothing) + label_smoothing / c
        per = logp * target if weight is None else logp * target * weight.reshape((c,) + (1,) * (input.ndim - 2))
        loss = -per.sum(1 if input.ndim > 1 else 0)
        return _reduce(loss, reduction, "cross_entropy")
    if target.dtype.kind not in "iu":
        raise DTypeError(f"[cross_entropy] target must hold class indices or probabilities, got {target.dtype}")
    if input.ndim > 1 and tuple(target.shape) != (input.shape[0],) + tuple(input.shape[2:]):
        raise ShapeError(f"[cross_entropy] target shape {target.shape} does not match input {input.shape}")
    x2, t1 = _class_last(input, target, "cross_entropy")
    out = F.softmax_cross_entropy(x2, t1, weight, ignore_index, label_smoothing, reduction)
    return out.reshape(target.shape) if reduction == "none" and input.ndim > 2 else out


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log likelihood with predicted variance ``var`` (> 0):
    0.5 (log var + (input - target)^2 / var) [+ 0.5 log 2 pi]; var is clamped at ``eps``."""
    _pair(input, target, "gaussian_nll_loss")
    if var.shape != input.shape:
        var = var.broadcast_to(input.shape)
    v = var.clamp(min=eps)
    d = input - target
    loss = (v.log() + d * d / v) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


def heteroscedastic_gaussian_nll(mean, raw_precision, target, reduction="mean", eps=1e-6):
    """NLL of ``target`` under N(mean, 1/beta) with precision beta = softplus(raw) + eps.

    Parameterising the precision (not the variance) through softplus keeps it positive and
    the loss's gradient well scaled: -0.5 log beta + 0.5 beta (y - mean)^2 + 0.5 log 2 pi.
    """
    _pair(mean, target, "heteroscedastic_gaussian_nll")
    beta = softplus(raw_precision) + eps
    d = target - mean
    loss = -0.5 * beta.log() + 0.5 * beta * d * d + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "heteroscedastic_gaussian_nll")


def mdn_nll(logits, mean, log_std, target, reduction="mean"):
    """NLL of ``target`` (N, D) under a mixture of K diagonal Gaussians: mixing logits
    (N, K), means and log standard deviations (N, K, D). Stable through logsumexp."""
    if target.ndim == 1:
        target = target.unsqueeze(1)
    if mean.ndim != 3 or mean.shape != log_std.shape or mean.shape[:2] != logits.shape:
        raise ShapeError(f"[mdn_nll] expected logits (N, K), mean and log_std (N, K, D); got {logits.shape}, "
                         f"{mean.shape}, {log_std.shape}")
    z = (target.unsqueeze(1) - mean) * (-log_std).exp()
    comp = (-0.5 * z * z - log_std).sum(2) - 0.5 * mean.shape[2] * math.log(2 * math.pi)
    loss = -(log_softmax(logits, 1) + comp).logsumexp(1)
    return _reduce(loss, reduction, "mdn_nll")


def dropout(x, p=0.5, training=True, *, generator=None):
    """Zero each element with probability p (in training), scaling the rest by 1/(1-p). The
    mask comes from ``generator`` (a ``gpugrad.Generator`` on x's device) when given, else
    from the device's default generator; ``generator`` extends PyTorch's signature."""
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    from ..creation import rand_like

    return F.where(rand_like(x, generator=generator) >= p, x * (1.0 / (1.0 - p)), 0.0)


def prelu(x, weight):
    """max(0, x) + weight * min(0, x), with one slope or one per channel (dim 1)."""
    if weight.numel() > 1 and x.ndim > 1:
        weight = weight.reshape((1, -1) + (1,) * (x.ndim - 2))
    return F.where(x > 0, x, x * weight)


def abs_rectification(x):
    """g(z) = |z|: the absolute-value rectifier (a leaky ReLU with slope -1)."""
    return x.abs()


def maxout(x, pieces):
    """Max over groups of ``pieces`` consecutive features of the last dim."""
    n = x.shape[-1]
    if n % pieces:
        raise ShapeError(f"[maxout] the last dim ({n}) must be a multiple of pieces ({pieces})")
    return x.reshape(tuple(x.shape[:-1]) + (n // pieces, pieces)).amax(-1)


def embedding(idx, weight, padding_idx=None, sparse=False):
    """Rows of ``weight`` at integer ``idx`` (any shape); ``padding_idx`` rows get no gradient."""
    from .sparse import SparseEmbedding

    n = weight.shape[0]
    check_values(idx, lambda a: (a < -n) | (a >= n),
                 f"[embedding] indices must lie in [0, {n - 1}], got {{value}} at position {{position}}")
    if sparse and weight.requires_grad:
        out = SparseEmbedding(idx)(weight)
    else:
        out = weight[idx]
    if padding_idx is not None and weight.requires_grad:
        # same values, but no gradient reaches the padding row
        out = F.where((idx != padding_idx).unsqueeze(-1), out, out.detach())
    return out
