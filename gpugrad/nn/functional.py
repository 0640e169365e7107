"""gpugrad.nn.functional: losses and layer functions (PyTorch's torch.nn.functional).

Losses are numerically stable: cross_entropy goes through log_softmax (finite for logits
of magnitude 1e4); binary_cross_entropy_with_logits is y softplus(-z) + (1 - y) softplus(z),
i.e. softplus((1 - 2y) z) for 0/1 targets, which never saturates or overflows.
"""

import math

import numpy as np

from .. import functional as F
from ..amp.autocast import gate as _gate
from ..amp.autocast import policy as _autocast
from ..dtypes import is_floating
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, GpugradIndexError, ShapeError
from ..functional import (  # noqa: F401 - re-exported, as torch.nn.functional does
    elu,
    gelu,
    hardtanh,
    leaky_relu,
    linear,
    log_softmax,
    one_hot,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from ..functional._util import check_values
from ..functional.activation import (  # noqa: F401 - re-exported, as torch.nn.functional does
    celu,
    glu,
    hardsigmoid,
    hardswish,
    logsigmoid,
    mish,
    relu6,
    selu,
    softmin,
    softsign,
    tanhshrink,
    threshold,
)
from ..functional.loss import autocast_wide, check_ignore_index
from ..functional.norms import vector_norm
from ..ops.base import Op
from ..tensor import Tensor
from . import normalization as _normalization

_REDUCTIONS = ("mean", "sum", "none")

# the normalizations (nn/normalization.py) in float32 under autocast
layer_norm = _autocast("fp32")(_normalization.layer_norm)
group_norm = _autocast("fp32")(_normalization.group_norm)
rms_norm = _autocast("fp32")(_normalization.rms_norm)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):  # noqa: A002
    """``torch.nn.functional.batch_norm`` (see ``nn.normalization.batch_norm``). Under autocast
    the input, weight and bias run in float32; the running statistics are not cast (they are
    updated in place)."""
    if _gate.active and _gate.engaged(input, weight, bias):
        return _gate.fp32(lambda x, w, b: batch_norm(x, running_mean, running_var, w, b, training, momentum, eps),
                          input, weight, bias)
    return _normalization.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


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


@_autocast("fp32")
def mse_loss(input, target, reduction="mean"):
    """Mean squared error (the linear output unit's loss)."""
    _pair(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


@_autocast("fp32")
def l1_loss(input, target, reduction="mean"):
    """Mean absolute error."""
    _pair(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


@_autocast("fp32")
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


@_autocast("fp32")
def binary_cross_entropy(input, target, weight=None, reduction="mean"):  # noqa: A002 - PyTorch's names
    """-w [y log p + (1 - y) log(1 - p)] of probabilities ``input`` (in [0, 1], e.g. after a
    sigmoid) and targets ``target`` (in [0, 1], same shape and dtype), each log clamped at
    -100 as PyTorch's; ``weight`` broadcasts to the input's shape. Values outside [0, 1] are
    an error (on a GPU raised at the next read). binary_cross_entropy_with_logits is the
    stable form for logits."""
    op = "binary_cross_entropy"
    _pair(input, target, op)
    if not is_floating(input.dtype) or target.dtype != input.dtype:
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


@_autocast("fp32")
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

    ``target`` holds class indices, or class probabilities of the input's shape. Under
    autocast, float32 (half-precision logits go to the CUDA kernels as they are, which
    widen them as they read them, see ``functional.loss.autocast_wide``)."""
    if _gate.active and _gate.engaged(input, target, weight):
        if autocast_wide(input, target, weight):
            return _gate.plain(_cross_entropy, input, target, weight, ignore_index, reduction, label_smoothing, True)
        return _gate.fp32(_cross_entropy, input, target, weight, ignore_index, reduction, label_smoothing)
    return _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)


def _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing, wide=False):
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise DTypeError("[cross_entropy] expected tensors for input and target")
    check_ignore_index("cross_entropy", ignore_index)  # also with probability targets, which ignore it
    if is_floating(target.dtype):
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
    out = F.softmax_cross_entropy(x2, t1, weight, ignore_index, label_smoothing, reduction, _wide=wide)
    return out.reshape(target.shape) if reduction == "none" and input.ndim > 2 else out


@_autocast("fp32")
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


@_autocast("fp32")
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


@_autocast("fp32")
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


def embedding(idx, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` at integer ``idx`` (any shape); ``padding_idx`` rows get no gradient.
    With ``max_norm``, the looked-up rows whose ``norm_type``-norm exceeds it are first scaled
    down to norm max_norm in ``weight`` itself (in place, outside the graph, as PyTorch's)."""
    from .sparse import SparseEmbedding

    if scale_grad_by_freq:
        raise ArgumentError("[embedding] scale_grad_by_freq=True is not supported")
    n = weight.shape[0]
    check_values(idx, lambda a: (a < -n) | (a >= n),
                 f"[embedding] indices must lie in [0, {n - 1}], got {{value}} at position {{position}}")
    if max_norm is not None:
        embedding_renorm_(weight, idx, max_norm, norm_type)
    if sparse and weight.requires_grad:
        out = SparseEmbedding(idx)(weight)
    else:
        out = weight[idx]
    if padding_idx is not None and weight.requires_grad:
        # same values, but no gradient reaches the padding row
        out = F.where((idx != padding_idx).unsqueeze(-1), out, out.detach())
    return out


# -- issue 17: more of torch.nn.functional's losses ---------------------------------------------
def _tensors(op, *ts):
    if not all(isinstance(t, Tensor) for t in ts):
        raise ArgumentTypeError(f"[{op}] expected tensors, got " + ", ".join(type(t).__name__ for t in ts))


def _three(a, b, c, op):
    """Refuse non-tensors and shapes that do not broadcast together (margin/embedding losses)."""
    _tensors(op, a, b, c)
    try:
        np.broadcast_shapes(tuple(a.shape), tuple(b.shape), tuple(c.shape))
    except ValueError:
        raise ShapeError(f"[{op}] expected broadcastable shapes, got {a.shape}, {b.shape} and {c.shape}") from None


def _float_pair(input, target, op):  # noqa: A002 - PyTorch's names
    _pair(input, target, op)
    if not is_floating(input.dtype):
        raise DTypeError(f"[{op}] expected a floating point input, got {input.dtype}")


@_autocast("fp32")
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):  # noqa: A002
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target); beta = 0 is L1."""
    _float_pair(input, target, "smooth_l1_loss")
    if beta < 0:
        raise ArgumentError(f"[smooth_l1_loss] expected beta >= 0, got {beta}")
    z = (input - target).abs()
    if beta == 0:
        return _reduce(z, reduction, "smooth_l1_loss")
    return _reduce(F.where(z < beta, z * z * (0.5 / beta), z - 0.5 * beta), reduction, "smooth_l1_loss")


@_autocast("fp32")
def huber_loss(input, target, reduction="mean", delta=1.0):  # noqa: A002
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): smooth_l1_loss times delta."""
    _float_pair(input, target, "huber_loss")
    if not delta > 0:
        raise ArgumentError(f"[huber_loss] expected delta > 0, got {delta}")
    z = (input - target).abs()
    return _reduce(F.where(z < delta, z * z * 0.5, (z - 0.5 * delta) * delta), reduction, "huber_loss")


@_autocast("fp32")
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):  # noqa: A002
    """KL(target || exp(input)) pointwise, with ``input`` log-probabilities: target (log target
    - input), 0 where target is 0 (or exp(target) (target - input) with ``log_target``).
    ``reduction='batchmean'`` divides the sum by the batch size (the true KL divergence)."""
    _float_pair(input, target, "kl_div")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # 0 log 0 = 0 (with no NaN in the gradient); a negative target gives NaN, as PyTorch's xlogy
        loss = target * (F.where(target == 0, 1.0, target).log() - input)
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction, "kl_div")


@_autocast("fp32")
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,  # noqa: A002
                     reduction="mean"):
    """Poisson NLL of ``target`` with rate exp(input) (``log_input``) or input: exp(x) - t x, or
    x - t log(x + eps); ``full`` adds Stirling's t log t - t + 0.5 log(2 pi t) where t > 1."""
    _float_pair(input, target, "poisson_nll_loss")
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        big = target > 1
        t = F.where(big, target, 2.0)
        stirling = t * t.log() - t + 0.5 * (2 * math.pi * t).log()
        loss = loss + F.where(big, stirling, 0.0)
    return _reduce(loss, reduction, "poisson_nll_loss")


@_autocast("fp32")
def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -y (x1 - x2) + margin): y = 1 asks x1 to rank above x2, y = -1 below."""
    _three(input1, input2, target, "margin_ranking_loss")
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0.0), reduction, "margin_ranking_loss")


@_autocast("fp32")
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """x where y = 1, max(0, margin - x) where y = -1 (x a distance, y in {1, -1})."""
    _three(input, target, target, "hinge_embedding_loss")
    loss = F.where(target != 1, (margin - input).clamp(min=0.0), 0.0) + F.where(target != -1, input, 0.0)
    return _reduce(loss, reduction, "hinge_embedding_loss")


@_autocast("fp32")
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """log(1 + exp(-y x)), through softplus (no overflow)."""
    _float_pair(input, target, "soft_margin_loss")
    return _reduce(softplus(-target * input), reduction, "soft_margin_loss")


@_autocast("fp32")
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """-mean over classes (last dim) of y log sigmoid(x) + (1 - y) log sigmoid(-x), times weight."""
    _float_pair(input, target, "multilabel_soft_margin_loss")
    loss = -(target * logsigmoid(input) + (1.0 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.sum(-1) / input.shape[-1] if input.ndim else loss, reduction, "multilabel_soft_margin_loss")


_COS_EPS = 1e-12  # PyTorch's guard in cosine_embedding_loss


@_autocast("fp32")
def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1; rows of (N, D)
    inputs with (N,) targets, or (D,) inputs with a 0-d target."""
    op = "cosine_embedding_loss"
    _tensors(op, input1, input2, target)
    if input1.shape != input2.shape or input1.ndim not in (1, 2) or target.ndim != input1.ndim - 1 or (
            target.ndim and target.shape[0] != input1.shape[0]):
        raise ShapeError(f"[{op}] expected inputs (N, D) with target (N,), or (D,) with a 0-d target; got "
                         f"{input1.shape}, {input2.shape} and {target.shape}")
    dot = (input1 * input2).sum(-1)
    cos = dot / (((input1 * input1).sum(-1) + _COS_EPS) * ((input2 * input2).sum(-1) + _COS_EPS)).sqrt()
    loss = F.where(target == 1, 1.0 - cos, 0.0) + F.where(target == -1, (cos - margin).clamp(min=0.0), 0.0)
    return _reduce(loss, reduction, op)


@_autocast("fp32")
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """max(0, d(a, p) - d(a, n) + margin) with d the p-norm pairwise distance; ``swap`` uses
    min(d(a, n), d(p, n)) as the negative distance."""
    op = "triplet_margin_loss"
    _three(anchor, positive, negative, op)
    nd = {anchor.ndim, positive.ndim, negative.ndim}
    if len(nd) != 1 or nd.pop() not in (1, 2):
        raise ShapeError(f"[{op}] expected anchor, positive and negative all (N, D) or all (D,), got "
                         f"{anchor.shape}, {positive.shape} and {negative.shape}")
    if margin <= 0:
        raise ArgumentError(f"[{op}] expected margin > 0, got {margin}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = F.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0.0), reduction, op)


# -- distances, normalize ---------------------------------------------------------------------
def _check_p(p, op):
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise ArgumentTypeError(f"[{op}] expected a number p, got {type(p).__name__}")


@_autocast("fp32")
def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p along the last dim (inputs broadcast): (N, D), (N, D) -> (N,)."""
    op = "pairwise_distance"
    _three(x1, x2, x2, op)
    _check_p(p, op)
    if not is_floating(x1.dtype) or not is_floating(x2.dtype):
        raise DTypeError(f"[{op}] expected floating point inputs, got {x1.dtype} and {x2.dtype}")
    return vector_norm(x1 - x2 + eps, p, max(x1.ndim, x2.ndim) - 1, keepdim)


@_autocast("fp32")
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """x1 . x2 / (max(||x1||, eps) max(||x2||, eps)) along ``dim`` (inputs broadcast)."""
    op = "cosine_similarity"
    _three(x1, x2, x2, op)
    if not is_floating(x1.dtype) or not is_floating(x2.dtype):
        raise DTypeError(f"[{op}] expected floating point inputs, got {x1.dtype} and {x2.dtype}")
    ndim = max(x1.ndim, x2.ndim)
    if not -ndim <= dim < max(ndim, 1):
        raise GpugradIndexError(f"[{op}] dim {dim} is out of range for inputs of shapes {x1.shape} and {x2.shape}")
    n1 = vector_norm(x1, 2, dim, keepdim=True).clamp(min=eps)
    n2 = vector_norm(x2, 2, dim, keepdim=True).clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


@_autocast("fp32")
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002
    """input / max(||input||_p, eps) along ``dim``: unit rows (dim=1) for p = 2."""
    op = "normalize"
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor, got {type(input).__name__}")
    _check_p(p, op)
    if not is_floating(input.dtype):
        raise DTypeError(f"[{op}] expected a floating point tensor, got {input.dtype}")
    if out is not None:
        raise ArgumentError(f"[{op}] out= is not supported; assign the result instead")
    if not -input.ndim <= dim < max(input.ndim, 1):
        raise GpugradIndexError(f"[{op}] dim {dim} is out of range for an input of shape {input.shape}")
    return input / vector_norm(input, p, dim, keepdim=True).clamp(min=eps)


# -- pad (every mode) and attention --------------------------------------------------------------
_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_index(n, left, right, mode):
    """Indices into a dim of size ``n`` from -left to n + right (reflected, clipped or wrapped)."""
    j = np.arange(-left, n + right)
    if mode == "reflect":
        return np.where(j < 0, -j, np.where(j >= n, 2 * (n - 1) - j, j))
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    return j % n  # circular


def pad(input, pad, mode="constant", value=None):  # noqa: A002 - PyTorch's names
    """Pads the last len(pad) // 2 dims, PyTorch's order: (left, right) of the last dim, then
    of the one before it, ... ``mode`` 'constant' (with ``value``, default 0) pads any dims;
    'reflect' (mirror without the edge), 'replicate' (the edge repeated) and 'circular'
    (wrap around) pad the last 1, 2 or 3 dims of (N, C, ...) or (C, ...) input, as PyTorch's.
    Negative padding crops, in every mode."""
    op = "pad"
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor, got {type(input).__name__}")
    if mode not in _PAD_MODES:
        raise ArgumentError(f"[{op}] mode must be one of {_PAD_MODES}, got {mode!r}")
    if not isinstance(pad, (tuple, list)) or not all(isinstance(p, int) and not isinstance(p, bool) for p in pad):
        raise ArgumentTypeError(f"[{op}] expected a tuple of ints for pad, got {pad!r}")
    k = len(pad) // 2
    if len(pad) % 2 or k > input.ndim:
        raise ShapeError(f"[{op}] expected (left, right) pairs for at most {input.ndim} dims, got {len(pad)} values")
    if mode != "constant":
        if value is not None:
            raise ArgumentError(f"[{op}] mode {mode!r} takes no value (only 'constant' does), got value={value}")
        if k not in (1, 2, 3) or input.ndim not in (k + 1, k + 2):
            raise ShapeError(f"[{op}] mode {mode!r} pads the last 1, 2 or 3 dims of a (N, C, ...) or (C, ...) "
                             f"input: padding size {len(pad)} needs a {k + 1}-d or {k + 2}-d input, got shape "
                             f"{input.shape}")
    # 'constant' and 'circular' crop the negative sides first, then pad (PyTorch's order);
    # 'reflect' and 'replicate' index the input itself, from -left to n + right
    crop = [slice(None)] * input.ndim
    width = [(0, 0)] * input.ndim
    for i in range(k):
        d, (left, right) = input.ndim - 1 - i, pad[2 * i : 2 * i + 2]
        n = input.shape[d]
        if n + left + right < 0 or (mode != "constant" and n + min(left, 0) + min(right, 0) <= 0):
            raise ShapeError(f"[{op}] padding ({left}, {right}) of dim {d} (size {n}) leaves no entries "
                             f"(input shape {input.shape})")
        if mode == "reflect" and max(left, right) >= n:
            raise ShapeError(f"[{op}] reflect padding must be below the size of the dim, got ({left}, {right}) for "
                             f"dim {d} of size {n} (input shape {input.shape})")
        if mode == "circular" and max(left, right) > n:
            raise ShapeError(f"[{op}] circular padding must be at most the size of the dim (one wrap), got "
                             f"({left}, {right}) for dim {d} of size {n} (input shape {input.shape})")
        if mode in ("constant", "circular"):
            crop[d] = slice(max(-left, 0), n - max(-right, 0))
            width[d] = (max(left, 0), max(right, 0))
        else:
            width[d] = (left, right)
    x = input[tuple(crop)] if any(s != slice(None) for s in crop) else input
    if mode == "constant":
        if all(w == (0, 0) for w in width):
            return x
        return F.pad(x, [p for i in range(k) for p in width[input.ndim - 1 - i]], value=0.0 if value is None else value)
    for d, (left, right) in enumerate(width):
        if left or right:
            idx = _pad_index(x.shape[d], left, right, mode)
            idx = Tensor(idx, dtype=idx.dtype, device=x.device)
            x = x[(slice(None),) * d + (idx,)]
    return x


@_autocast("lower")
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False, *, generator=None):
    """softmax(q k^T * scale + mask) v over (..., L, E) queries, (..., S, E) keys and (..., S, Ev)
    values -> (..., L, Ev); scale defaults to 1 / sqrt(E). ``attn_mask`` is a bool mask (True:
    attend) or an additive float bias, broadcast to (..., L, S); ``is_causal`` masks the
    future (query i sees keys <= i). Composed of matmul and softmax (PyTorch's reference
    math), so every device runs it and its gradients are the composed ones; ``dropout_p``
    drops attention weights (always, as PyTorch's: pass 0 in eval)."""
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise ArgumentTypeError(f"[{op}] expected {name} to be a Tensor, got {type(t).__name__}")
        if t.ndim < 2 or not is_floating(t.dtype):
            raise ShapeError(f"[{op}] expected floating point {name} with >= 2 dims, got {t.dtype} {t.shape}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"[{op}] expected query (..., L, E), key (..., S, E), value (..., S, Ev), got "
                         f"{query.shape}, {key.shape} and {value.shape}")
    if enable_gqa:
        raise ArgumentError(f"[{op}] enable_gqa=True is not supported; repeat key and value over the head dim")
    if is_causal and attn_mask is not None:
        raise ArgumentError(f"[{op}] pass either attn_mask or is_causal=True, not both")
    if not 0.0 <= dropout_p <= 1.0:
        raise ArgumentError(f"[{op}] dropout_p must be in [0, 1], got {dropout_p}")
    L, S = query.shape[-2], key.shape[-2]
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * s
    if is_causal:
        attn_mask = Tensor(np.tril(np.ones((L, S), dtype=bool)), dtype=bool, device=query.device)
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise ArgumentTypeError(f"[{op}] expected attn_mask to be a Tensor, got {type(attn_mask).__name__}")
        try:
            np.broadcast_shapes(tuple(attn_mask.shape), tuple(scores.shape))
        except ValueError:
            raise ShapeError(f"[{op}] expected attn_mask broadcastable to {scores.shape}, got {attn_mask.shape}") from None
        if attn_mask.dtype.kind == "b":
            scores = F.where(attn_mask, scores, -math.inf)
        elif is_floating(attn_mask.dtype):
            scores = scores + attn_mask
        else:
            raise DTypeError(f"[{op}] expected a bool or floating point attn_mask, got {attn_mask.dtype}")
    weights = softmax(scores, -1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, True, generator=generator)
    return weights @ value


def embedding_renorm_(weight, idx, max_norm, norm_type=2.0):
    """Scale the rows of ``weight`` at ``idx`` whose p-norm exceeds ``max_norm`` to norm
    max_norm (times max_norm / (norm + 1e-7), PyTorch's formula), in place, outside the graph."""
    from ..autograd import no_grad

    flat = idx.reshape(-1)
    with no_grad():
        rows = weight[flat]
        norms = vector_norm(rows, norm_type, 1, keepdim=True)
        scale = F.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).to(weight.dtype)
        weight[flat] = rows * scale  # a repeated index writes the same row twice
    return weight


_BAG_MODES = ("sum", "mean", "max")


@_autocast("plain")
def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,  # noqa: A002
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxes of bags of embedding rows, without the (bags, length, dim) lookup
    of ``embedding``: ``input`` (B, L) holds B bags of L indices, or ``input`` (N,) holds the
    bags one after another, bag i starting at ``offsets[i]`` (offsets[0] = 0; with
    ``include_last_offset`` the last offset is the end). ``per_sample_weights`` (mode 'sum'
    only) weigh each index; ``padding_idx`` entries are left out (of the mean's count too).
    An empty bag gives zeros. -> (B, embedding_dim)."""
    op = "embedding_bag"
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise ArgumentTypeError(f"[{op}] expected tensors for input and weight")
    if input.dtype.kind not in "iu":
        raise DTypeError(f"[{op}] expected integer indices, got {input.dtype}")
    if mode not in _BAG_MODES:
        raise ArgumentError(f"[{op}] mode must be one of {_BAG_MODES}, got {mode!r}")
    if sparse or scale_grad_by_freq:
        raise ArgumentError(f"[{op}] sparse=True and scale_grad_by_freq=True are not supported")
    if per_sample_weights is not None:
        if mode != "sum":
            raise ArgumentError(f"[{op}] per_sample_weights are only supported for mode='sum', got mode={mode!r}")
        if not isinstance(per_sample_weights, Tensor) or per_sample_weights.shape != input.shape:
            raise ShapeError(f"[{op}] expected per_sample_weights of the input's shape {input.shape}, got "
                             f"{getattr(per_sample_weights, 'shape', type(per_sample_weights).__name__)}")
    n, dim = weight.shape
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise GpugradIndexError(f"[{op}] padding_idx {padding_idx} is out of range for {n} rows")
        padding_idx %= n
    if input.ndim == 2:
        if offsets is not None:
            raise ArgumentError(f"[{op}] offsets must be None for 2-D input (each row is a bag), got offsets")
        nbags = input.shape[0]
        member = None  # row i of input is bag i
    elif input.ndim == 1:
        if not isinstance(offsets, Tensor) or offsets.ndim != 1 or offsets.dtype.kind not in "iu":
            raise ShapeError(f"[{op}] 1-D input needs 1-D integer offsets (where each bag starts), got "
                             f"{getattr(offsets, 'shape', offsets)!r}")
        check_values(offsets[:1], lambda a: a != 0, f"[{op}] offsets[0] has to be 0, got {{value}}", ArgumentError)
        starts = offsets[:-1] if include_last_offset else offsets
        ends = offsets[1:] if include_last_offset else F.cat([offsets[1:], offsets.new_full((1,), input.shape[0])])
        pos = Tensor(np.arange(input.shape[0]), dtype="int64", device=input.device)
        member = (pos >= starts.unsqueeze(1)) & (pos < ends.unsqueeze(1))  # (bags, N): index j in bag i
        nbags = member.shape[0]
    else:
        raise ShapeError(f"[{op}] expected 1-D input with offsets or 2-D input (bags, length), got {input.shape}")
    rows = embedding(input, weight, max_norm=max_norm, norm_type=norm_type)  # (..., dim)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.unsqueeze(-1)
    if input.numel() == 0:
        return weight.new_zeros((nbags, dim))
    m = member if member is not None else input == input  # (bags, N) or (bags, L)
    if padding_idx is not None:
        m = m & (input != padding_idx)
    spread = rows if member is None else rows.unsqueeze(0)  # (bags, N or L, dim) by broadcasting
    if mode == "max":
        out = F.where(m.unsqueeze(-1), spread, -math.inf).amax(1)
        return F.where(m.any(1, keepdim=True), out, 0.0)  # an empty bag gives zeros
    mf = m.to(rows.dtype)
    total = mf @ rows if member is not None else (rows * mf.unsqueeze(-1)).sum(1)
    if mode == "sum":
        return total
    return total / mf.sum(1, keepdim=True).clamp(min=1.0)


@_autocast("promote")
def bilinear(input1, input2, weight, bias=None):
    """y_o = x1^T W_o x2 + b_o over the last dims: x1 (..., in1), x2 (..., in2), weight
    (out, in1, in2), bias (out,) -> (..., out); through one matmul."""
    op = "bilinear"
    _tensors(op, input1, input2, weight)
    if weight.ndim != 3 or input1.shape[-1:] != weight.shape[1:2] or input2.shape[-1:] != weight.shape[2:] or \
            input1.shape[:-1] != input2.shape[:-1]:
        raise ShapeError(f"[{op}] expected input1 (..., in1), input2 (..., in2) with the same leading dims and weight "
                         f"(out, in1, in2), got {input1.shape}, {input2.shape} and {weight.shape}")
    out, in1, in2 = weight.shape
    z = input1 @ weight.permute(1, 0, 2).reshape(in1, out * in2)  # (..., out * in2)
    y = (z.reshape(tuple(input1.shape[:-1]) + (out, in2)) * input2.unsqueeze(-2)).sum(-1)
    return y + bias if bias is not None else y


_ALPHA = 1.7580993408473766  # -SELU's scale * alpha: SELU's lower limit, negated


def alpha_dropout(input, p=0.5, training=False, inplace=False, *, generator=None):  # noqa: A002
    """Dropout for SELU networks: dropped entries are set to SELU's saturation value and an
    affine map keeps the mean and variance of standard-normal input. The identity unless
    ``training``; ``generator`` as in ``dropout``."""
    if not 0 <= p <= 1:
        raise ArgumentError(f"[alpha_dropout] p must be in [0, 1], got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0.0
    from ..creation import rand_like

    keep = (rand_like(input, generator=generator) >= p).to(input.dtype)
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    y = input * keep * a + (keep - 1.0) * (_ALPHA * a) + _ALPHA * a * p
    return input.copy_(y) if inplace else y
