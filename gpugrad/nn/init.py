"""Parameter initialisation (in place, outside the graph), PyTorch's nn.init names; the
functions that draw take ``generator=`` (a ``gpugrad.Generator``), as PyTorch's do."""

import math
import warnings

from ..autograd import no_grad
from ..errors import ArgumentError


def _fans(t):
    if t.ndim < 2:
        raise ArgumentError(f"[init] fan in/out need a tensor with >= 2 dims, got shape {t.shape}")
    receptive = 1
    for n in t.shape[2:]:
        receptive *= n
    return t.shape[1] * receptive, t.shape[0] * receptive


def _empty(t, op):
    """Whether ``t`` has no elements, warning that initialising it does nothing (as PyTorch
    does): a layer of zero width has a fan of 0, which the scaled inits would divide by."""
    if t.numel():
        return False
    warnings.warn(f"[{op}] initializing a zero-element tensor (shape {tuple(t.shape)}) is a no-op", stacklevel=3)
    return True


def calculate_gain(nonlinearity, param=None):
    gains = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 0.75}
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity not in gains:
        raise ArgumentError(f"[calculate_gain] unknown nonlinearity {nonlinearity!r}")
    return gains[nonlinearity]


def uniform_(t, a=0.0, b=1.0, generator=None):
    with no_grad():
        return t.uniform_(a, b, generator=generator)


def normal_(t, mean=0.0, std=1.0, generator=None):
    with no_grad():
        return t.normal_(mean, std, generator=generator)


def constant_(t, value):
    with no_grad():
        return t.fill_(value)


def zeros_(t):
    return constant_(t, 0.0)


def ones_(t):
    return constant_(t, 1.0)


def xavier_uniform_(t, gain=1.0, generator=None):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)): Var = gain^2 * 2 / (fan_in + fan_out)."""
    if _empty(t, "xavier_uniform_"):
        return t
    fan_in, fan_out = _fans(t)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a, generator)


def xavier_normal_(t, gain=1.0, generator=None):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    if _empty(t, "xavier_normal_"):
        return t
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(t, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if _empty(t, "kaiming_uniform_"):
        return t
    fan = _fans(t)[0 if mode == "fan_in" else 1]
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(t, -bound, bound, generator)


def kaiming_normal_(t, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if _empty(t, "kaiming_normal_"):
        return t
    fan = _fans(t)[0 if mode == "fan_in" else 1]
    return normal_(t, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), generator)


def relu_bias_(t, value=0.1):
    """A small positive bias so ReLU units start active (the study notes' advice). Opt-in for
    your own layers (nn.Linear keeps PyTorch's initialisation); ``gpugrad train`` applies it
    to the hidden layers of its MLP when their activation is ReLU."""
    return constant_(t, value)
