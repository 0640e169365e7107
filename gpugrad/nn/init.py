"""Parameter initialisation (in place, outside the graph), PyTorch's nn.init names."""

import math

from ..autograd import no_grad
from ..errors import ArgumentError


def _fans(t):
    if t.ndim < 2:
        raise ArgumentError(f"[init] fan in/out need a tensor with >= 2 dims, got shape {t.shape}")
    receptive = 1
    for n in t.shape[2:]:
        receptive *= n
    return t.shape[1] * receptive, t.shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    gains = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 0.75}
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity not in gains:
        raise ArgumentError(f"[calculate_gain] unknown nonlinearity {nonlinearity!r}")
    return gains[nonlinearity]


def uniform_(t, a=0.0, b=1.0):
    with no_grad():
        return t.uniform_(a, b)


def normal_(t, mean=0.0, std=1.0):
    with no_grad():
        return t.normal_(mean, std)


def constant_(t, value):
    with no_grad():
        return t.fill_(value)


def zeros_(t):
    return constant_(t, 0.0)


def ones_(t):
    return constant_(t, 1.0)


def xavier_uniform_(t, gain=1.0):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)): Var = gain^2 * 2 / (fan_in + fan_out)."""
    fan_in, fan_out = _fans(t)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a)


def xavier_normal_(t, gain=1.0):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(t, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    fan = _fans(t)[0 if mode == "fan_in" else 1]
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(t, -bound, bound)


def kaiming_normal_(t, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    fan = _fans(t)[0 if mode == "fan_in" else 1]
    return normal_(t, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def relu_bias_(t, value=0.1):
    """A small positive bias so ReLU units start active (the study notes' advice)."""
    return constant_(t, value)
