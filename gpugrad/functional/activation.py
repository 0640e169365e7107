"""Activation functions, softmax and log_softmax (dim defaults to the last)."""

import math

from ..amp.autocast import gate as _autocast
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
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(softplus, x, beta, threshold)
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
    if _autocast.active and dtype is None and _autocast.engaged(x):
        return _autocast.fp32(softmax, x, dim)
    x, ax = _softmax_input(x, dim, dtype, "softmax")
    return A.Softmax(ax)(x)


@numpy_names
def log_softmax(x, dim=-1, dtype=None):
    """x - logsumexp(x) along ``dim``."""
    if _autocast.active and dtype is None and _autocast.engaged(x):
        return _autocast.fp32(log_softmax, x, dim)
    x, ax = _softmax_input(x, dim, dtype, "log_softmax")
    return A.LogSoftmax(ax)(x)


# -- the rest of torch.nn.functional's activations, composed of the ops above (their
# gradients, and second derivatives, are the composed ones) --------------------------------
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x, inplace=False):
    """scale * elu(x, alpha) with the self-normalizing constants of Klambauer et al."""
    return _inplace(x, A.ELU(_SELU_ALPHA)(check_float(x, "selu")) * _SELU_SCALE, inplace)


def celu(x, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)) = alpha * elu(x / alpha)."""
    check_float(x, "celu")
    if alpha == 0:
        raise ArgumentError("[celu] expected a nonzero alpha (it divides x), got 0")
    return _inplace(x, A.ELU(1.0)(x * (1.0 / alpha)) * alpha, inplace)


def relu6(x, inplace=False):
    """min(max(0, x), 6): hardtanh(x, 0, 6), so integer tensors stay integer."""
    return _inplace(x, hardtanh(x, 0.0, 6.0), inplace)


def hardsigmoid(x, inplace=False):
    """relu6(x + 3) / 6; the gradient is 1/6 strictly inside (-3, 3), as PyTorch's."""
    x = check_float(x, "hardsigmoid")
    return _inplace(x, A.Hardtanh(0.0, 6.0)(x + 3.0) * (1.0 / 6.0), inplace)


def hardswish(x, inplace=False):
    """x * relu6(x + 3) / 6 (MobileNetV3's swish approximation)."""
    x = check_float(x, "hardswish")
    return _inplace(x, x * (A.Hardtanh(0.0, 6.0)(x + 3.0) * (1.0 / 6.0)), inplace)


def mish(x, inplace=False):
    """x * tanh(softplus(x))."""
    x = check_float(x, "mish")
    return _inplace(x, x * A.Tanh()(A.Softplus(1.0, 20.0)(x)), inplace)


def softsign(x):
    """x / (1 + |x|); an integer tensor gives the default float dtype, as PyTorch's."""
    x = floating(check_not_bool(check_tensor(x, "softsign"), "softsign"))
    return x / (x.abs() + 1.0)


def tanhshrink(x):
    """x - tanh(x)."""
    x = floating(check_not_bool(check_tensor(x, "tanhshrink"), "tanhshrink"))
    return x - A.Tanh()(x)


def logsigmoid(x):
    """log(1 / (1 + exp(-x))), computed without overflow or log of 0 (finite for x = -1e4)."""
    return A.LogSigmoid()(check_float(x, "logsigmoid"))


def threshold(x, threshold, value, inplace=False):
    """x where x > threshold, else ``value`` (in x's dtype: integer tensors stay integer)."""
    check_not_bool(check_tensor(x, "threshold"), "threshold")
    if x.dtype.kind in "iu":
        value = int(value)
    from .math import where

    return _inplace(x, where(x > threshold, x, value), inplace)


def _implicit_softmax_dim(ndim, op):
    """PyTorch's choice of dim when none is given (deprecated there, with this warning)."""
    import warnings

    warnings.warn(f"[{op}] implicit dimension choice has been deprecated; pass dim=", UserWarning, stacklevel=4)
    return 0 if ndim in (0, 1, 3) else 1


@numpy_names
def softmin(x, dim=None, dtype=None):
    """softmax(-x) along ``dim`` (PyTorch's implicit dim, with its warning, when None)."""
    if _autocast.active and dtype is None and _autocast.engaged(x):
        return _autocast.fp32(softmin, x, dim)
    check_tensor(x, "softmin")
    if dim is None:
        dim = _implicit_softmax_dim(x.ndim, "softmin")
    x, ax = _softmax_input(x, dim, dtype, "softmin")
    return A.Softmax(ax)(-x)


def glu(x, dim=-1):
    """a * sigmoid(b), where a and b are the two halves of x along ``dim``."""
    from .shape import split

    x = check_float(x, "glu")
    if x.ndim == 0:
        raise ArgumentError("[glu] expected a tensor with at least 1 dim, got a 0-d tensor")
    d = axis(dim, x.ndim, "glu")
    if x.shape[d] % 2:
        raise ArgumentError(f"[glu] expected an even size along dim {dim} (it is halved), got shape {x.shape}")
    a, b = split(x, x.shape[d] // 2, d)
    return a * A.Sigmoid()(b)


def _inplace(x, y, inplace):
    """``y``, or (PyTorch's ``inplace=True``) ``y`` written into ``x``, which is returned."""
    if not inplace:
        return y
    return x.copy_(y)
