"""Normalization layers: BatchNorm1d, LayerNorm, RMSNorm and GroupNorm, with PyTorch's
arguments, defaults, buffers and state_dict names. All are composed of gpugrad ops (mean,
subtraction, rsqrt), so they run on every device and their gradients are the composed ones."""

import numbers

import numpy as np

from .. import creation
from ..autograd import no_grad
from ..dtypes import is_floating
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ..tensor import Tensor
from .module import Module
from .parameter import Parameter


def _normalize(x, dims, eps):
    """(x - mean) / sqrt(var + eps) over ``dims`` with the biased variance; also (mean, var)."""
    mean = x.mean(dim=dims, keepdim=True)
    d = x - mean
    var = (d * d).mean(dim=dims, keepdim=True)
    return d * (var + eps).rsqrt(), mean, var


def _functional():
    """``nn.functional``, whose norms apply autocast's float32 policy (it imports this module)."""
    from . import functional

    return functional


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):  # noqa: A002
    """``torch.nn.functional.batch_norm`` over dim 1 (the channels) of (N, C, ...) input:
    batch statistics when ``training`` (updating the running ones in place, with the
    unbiased variance, when given) or when no running statistics are given; else the
    running statistics."""
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"[batch_norm] expected a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ShapeError(f"[batch_norm] expected input of shape (N, C, ...), got {input.shape}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(f"[batch_norm] expected {name} of shape ({c},) for input {input.shape}, got {tuple(t.shape)}")
    dims = (0,) + tuple(range(2, input.ndim))
    shape = (1, c) + (1,) * (input.ndim - 2)
    if training or running_mean is None or running_var is None:
        n = input.numel() // max(c, 1)
        if training and n <= 1:
            raise ArgumentError(
                f"[batch_norm] expected more than 1 value per channel when training, got input of shape {input.shape}"
            )
        y, mean, var = _normalize(input, dims, eps)
        if training and running_mean is not None and running_var is not None:
            with no_grad():
                unbiased = var.reshape(c) * (n / (n - 1))
                running_mean.copy_(momentum * mean.reshape(c) + (1 - momentum) * running_mean)
                running_var.copy_(momentum * unbiased + (1 - momentum) * running_var)
    else:
        y = (input - running_mean.reshape(shape)) * (running_var.reshape(shape) + eps).rsqrt()
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """``torch.nn.functional.layer_norm``: normalize over the last dims, which must equal
    ``normalized_shape``, then scale by ``weight`` and shift by ``bias``."""
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"[layer_norm] expected a Tensor, got {type(input).__name__}")
    shape = _shape(normalized_shape, "layer_norm")
    k = len(shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k :]) != shape:
        raise ShapeError(
            f"[layer_norm] expected input with shape [*, {', '.join(map(str, shape))}], got {input.shape}"
        )
    y, _, _ = _normalize(input, tuple(range(input.ndim - k, input.ndim)), eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _shape(normalized_shape, op):
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        normalized_shape = (normalized_shape,)
    if not isinstance(normalized_shape, (tuple, list)) or not all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 0 for n in normalized_shape
    ):
        raise ArgumentTypeError(f"[{op}] normalized_shape must be an int or a tuple of sizes, got {normalized_shape!r}")
    return tuple(int(n) for n in normalized_shape)


class BatchNorm1d(Module):
    """Batch normalization of (N, C) or (N, C, L) input over the batch (and length) dims.

    In training mode it uses the batch's mean and biased variance and updates the buffers
    ``running_mean`` / ``running_var`` (with the unbiased variance) by ``momentum`` (None:
    the cumulative average over ``num_batches_tracked``); in eval mode it uses them.
    With ``track_running_stats=False`` it always uses batch statistics and has no buffers.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None):
        super().__init__()
        if not isinstance(num_features, numbers.Integral) or isinstance(num_features, bool) or num_features < 1:
            raise ArgumentError(f"[BatchNorm1d] num_features must be a positive int, got {num_features!r}")
        if momentum is not None and not isinstance(momentum, numbers.Real):
            raise ArgumentTypeError(f"[BatchNorm1d] momentum must be a number or None, got {type(momentum).__name__}")
        if not isinstance(eps, numbers.Real) or not eps >= 0:
            raise ArgumentError(f"[BatchNorm1d] eps must be a number >= 0, got {eps!r}")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(creation.ones(num_features, device=device, dtype=dtype))
            self.bias = Parameter(creation.zeros(num_features, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", creation.ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype="int64", device=device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self):
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            with no_grad():
                self.weight.fill_(1)
                self.bias.zero_()

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise ArgumentTypeError(f"[BatchNorm1d] expected a Tensor, got {type(x).__name__}")
        if x.ndim not in (2, 3):
            raise ShapeError(f"[BatchNorm1d] expected 2D or 3D input (N, C) or (N, C, L), got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ShapeError(
                f"[BatchNorm1d] expected {self.num_features} channels in dim 1, got input of shape {x.shape}"
            )
        momentum = self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if momentum is None:  # the cumulative moving average
                momentum = 1.0 / self.num_batches_tracked.item()
        use_batch = self.training or not self.track_running_stats
        return _functional().batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_batch,
            0.0 if momentum is None else momentum,
            self.eps,
        )

    def extra_repr(self):
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class LayerNorm(Module):
    """Normalizes over the last dims (``normalized_shape``) of each example, with a learned
    elementwise ``weight`` (ones) and ``bias`` (zeros) when ``elementwise_affine``."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _shape(normalized_shape, "LayerNorm")
        if not isinstance(eps, numbers.Real) or not eps >= 0:
            raise ArgumentError(f"[LayerNorm] eps must be a number >= 0, got {eps!r}")
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(creation.ones(self.normalized_shape, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(creation.zeros(self.normalized_shape, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        with no_grad():
            if self.weight is not None:
                self.weight.fill_(1)
            if self.bias is not None:
                self.bias.zero_()

    def forward(self, x):
        return _functional().layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


def rms_norm(input, normalized_shape, weight=None, eps=None):  # noqa: A002 - PyTorch's names
    """``torch.nn.functional.rms_norm``: x / sqrt(mean(x^2) + eps) over the last dims (which
    must equal ``normalized_shape``), times ``weight``; eps defaults to the dtype's epsilon."""
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"[rms_norm] expected a Tensor, got {type(input).__name__}")
    if not is_floating(input.dtype):
        raise DTypeError(f"[rms_norm] expected a floating point tensor, got {input.dtype}")
    shape = _shape(normalized_shape, "rms_norm")
    k = len(shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k :]) != shape:
        raise ShapeError(f"[rms_norm] expected input with shape [*, {', '.join(map(str, shape))}], got {input.shape}")
    if eps is None:
        eps = float(np.finfo(input.dtype).eps)
    dims = tuple(range(input.ndim - k, input.ndim))
    y = input * ((input * input).mean(dim=dims, keepdim=True) + eps).rsqrt() if k else input
    return y * weight if weight is not None else y


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """``torch.nn.functional.group_norm``: the C channels of (N, C, ...) input in
    ``num_groups`` groups, each normalized over its channels and the other dims, then a
    per-channel ``weight`` and ``bias``."""
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"[group_norm] expected a Tensor, got {type(input).__name__}")
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise ShapeError(f"[group_norm] expected input (N, C, ...) with C divisible by num_groups={num_groups}, got "
                         f"{input.shape}")
    n, c = input.shape[0], input.shape[1]
    y, _, _ = _normalize(input.reshape(n, num_groups, -1), (2,), eps)
    y = y.reshape(input.shape)
    shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


class RMSNorm(Module):
    """Root-mean-square normalization over the last dims (``normalized_shape``) with a learned
    elementwise ``weight`` (ones) when ``elementwise_affine``; no mean is subtracted."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _shape(normalized_shape, "RMSNorm")
        if eps is not None and (not isinstance(eps, numbers.Real) or not eps >= 0):
            raise ArgumentError(f"[RMSNorm] eps must be None or a number >= 0, got {eps!r}")
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(creation.ones(self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self):
        if self.weight is not None:
            with no_grad():
                self.weight.fill_(1)

    def forward(self, x):
        return _functional().rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Group normalization of (N, C, ...) input: ``num_groups`` groups of channels, with a
    learned per-channel ``weight`` and ``bias`` when ``affine``; the same in training and eval."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None):
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ArgumentError(f"[GroupNorm] num_channels must be divisible by num_groups, got {num_channels} and "
                                f"{num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        if affine:
            self.weight = Parameter(creation.ones(num_channels, device=device, dtype=dtype))
            self.bias = Parameter(creation.zeros(num_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise ArgumentTypeError(f"[GroupNorm] expected a Tensor, got {type(x).__name__}")
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(f"[GroupNorm] expected input (N, {self.num_channels}, ...), got {x.shape}")
        return _functional().group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
