"""Activation functions, softmax and log_softmax (dim defaults to the last)."""

import math

from ..errors import ArgumentError
from ..ops import activation as A
from ._util import axis, check_tensor, floating


def relu(x):
    return A.ReLU()(x)


def leaky_relu(x, negative_slope=0.01):
    return A.LeakyReLU(negative_slope)(x)


def elu(x, alpha=1.0):
    return A.ELU(alpha)(floating(x))


def sigmoid(x):
    return A.Sigmoid()(floating(x))


def tanh(x):
    return A.Tanh()(floating(x))


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, linear above ``threshold``; never overflows."""
    return A.Softplus(beta, threshold)(floating(x))


def hardtanh(x, min_val=-1.0, max_val=1.0):
    if min_val >= max_val:
        raise ArgumentError(f"[hardtanh] min_val {min_val} must be below max_val {max_val}")
    return A.Hardtanh(min_val, max_val)(x)


def erf(x):
    return A.Erf()(floating(x))


def gelu(x, approximate="none"):
    """x * Phi(x) (exact, through erf), or the tanh approximation with approximate='tanh'."""
    x = floating(check_tensor(x, "gelu"))
    if approximate == "none":
        return x * 0.5 * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (1.0 + tanh(inner))
    raise ArgumentError(f"[gelu] approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    x = floating(check_tensor(x, "silu"))
    return x * sigmoid(x)


def softmax(x, dim=-1):
    return A.Softmax(axis(dim, check_tensor(x, "softmax").ndim, "softmax"))(floating(x))


def log_softmax(x, dim=-1):
    return A.LogSoftmax(axis(dim, check_tensor(x, "log_softmax").ndim, "log_softmax"))(floating(x))
