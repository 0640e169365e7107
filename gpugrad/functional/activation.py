"""Activation functions, softmax and log_softmax (dim defaults to the last)."""

import math

from ..errors import ArgumentError, DTypeError
from ..ops import activation as A
from ._util import axis, check_float, check_not_bool, check_tensor, floating, numpy_names


def relu(x):
    return A.ReLU()(check_not_bool(check_tensor(x, "relu"), "relu"))


def leaky_relu(x, negative_slope=0.01):
    return A.LeakyReLU(negative_slope)(check_float(x, "leaky_relu"))


def elu(x, alpha=1.0):
    return A.ELU(alpha)(check_float(x, "elu"))


def sigmoid(x):
    return A.Sigmoid()(floating(x))


def tanh(x):
    return A.Tanh()(floating(x))


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, linear above ``threshold``; never overflows."""
    return A.Softplus(beta, threshold)(check_float(x, "softplus"))


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """x clamped to [min_val, max_val]; an integer tensor stays integer, with the bounds
    truncated to integers as PyTorch does."""
    check_tensor(x, "hardtanh")
    if min_val >= max_val:
        raise ArgumentError(f"[hardtanh] min_val {min_val} must be below max_val {max_val}")
    if x.dtype.kind in "bu":
        raise DTypeError(f"[hardtanh] expected a signed tensor, got {x.dtype}")
    if x.dtype.kind == "i":
        min_val, max_val = int(min_val), int(max_val)
    return A.Hardtanh(min_val, max_val)(x)


def erf(x):
    return A.Erf()(floating(x))


def gelu(x, approximate="none"):
    """x * Phi(x) (exact, through erf), or the tanh approximation with approximate='tanh'."""
    x = check_float(x, "gelu")
    if approximate == "none":
        return x * 0.5 * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (1.0 + tanh(inner))
    raise ArgumentError(f"[gelu] approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    x = check_float(x, "silu")
    return x * sigmoid(x)


def _softmax_input(x, dim, dtype, op):
    """``x`` in ``dtype`` when given (PyTorch's ``dtype=``, which lets an integer tensor in)
    and its one dim (None for a 0-d tensor, whose dim 0 or -1 is its one element)."""
    check_tensor(x, op)
    if dtype is not None:
        x = x.to(dtype)
    ax = axis(dim, x.ndim, op)
    return check_float(x, op), ax if x.ndim else None


@numpy_names
def softmax(x, dim=-1, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim``, computed stably."""
    x, ax = _softmax_input(x, dim, dtype, "softmax")
    return A.Softmax(ax)(x)


@numpy_names
def log_softmax(x, dim=-1, dtype=None):
    """x - logsumexp(x) along ``dim``."""
    x, ax = _softmax_input(x, dim, dtype, "log_softmax")
    return A.LogSoftmax(ax)(x)
