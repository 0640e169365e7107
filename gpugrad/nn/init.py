"""Parameter initialisation (in place, outside the graph), PyTorch's nn.init names; the
functions that draw take ``generator=`` (a ``gpugrad.Generator``), as PyTorch's do."""

import math
import warnings

import numpy as np

from ..autograd import no_grad
from ..dtypes import is_floating
from ..errors import ArgumentError, ArgumentTypeError, DTypeError


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


def _check_float_tensor(t, op):
    from ..tensor import Tensor

    if not isinstance(t, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a Tensor, got {type(t).__name__}")
    if not is_floating(t.dtype):
        raise DTypeError(f"[{op}] expected a floating point tensor, got {t.dtype}")


def trunc_normal_(t, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std^2) conditioned on [a, b] (bounds in the tensor's units, as PyTorch's), by
    redrawing the entries that fall outside: exact, with a few rounds for usual windows. A
    window holding less than 1e-4 of the normal's mass is refused (it would take too long)."""
    _check_float_tensor(t, "trunc_normal_")
    if not a < b:
        raise ArgumentError(f"[trunc_normal_] expected a < b, got a={a}, b={b}")
    if not std > 0:
        raise ArgumentError(f"[trunc_normal_] expected std > 0, got {std}")
    cdf = lambda x: 0.5 * (1.0 + math.erf((x - mean) / (std * math.sqrt(2.0))))  # noqa: E731
    if cdf(b) - cdf(a) < 1e-4:
        raise ArgumentError(f"[trunc_normal_] the window [{a}, {b}] holds {cdf(b) - cdf(a):.2e} of N({mean}, {std}^2)"
                            "'s mass (< 1e-4): move it nearer the mean or widen it")
    from .. import functional as F

    with no_grad():
        t.normal_(mean, std, generator=generator)
        outside = (t < a) | (t > b)
        while bool(outside.any()):
            fresh = t.new_empty(t.shape).normal_(mean, std, generator=generator)
            t.copy_(F.where(outside, fresh, t))
            outside = (t < a) | (t > b)
    return t


def orthogonal_(t, gain=1.0, generator=None):
    """A (semi-)orthogonal matrix (Saxe et al.): Q of the QR decomposition of a standard
    normal (rows, numel / rows) matrix, signs fixed by R's diagonal so that Q is uniformly
    distributed, times ``gain``. The QR runs on the host (initialisation only)."""
    _check_float_tensor(t, "orthogonal_")
    if t.ndim < 2:
        raise ArgumentError(f"[orthogonal_] expected a tensor with >= 2 dims, got shape {t.shape}")
    if t.numel() == 0:
        return t
    from .. import creation

    rows = t.shape[0]
    cols = t.numel() // rows
    flat = creation.empty(rows, cols, dtype="float64", device=t.device).normal_(0.0, 1.0, generator=generator).numpy()
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    with no_grad():
        t.copy_(creation.tensor(np.ascontiguousarray(q * gain).reshape(t.shape), device=t.device))
    return t


def sparse_(t, sparsity, std=0.01, generator=None):
    """A 2-D tensor with N(0, std^2) entries and, in each column, ceil(sparsity * rows) of them
    (chosen at random) set to zero (Martens, 2010)."""
    _check_float_tensor(t, "sparse_")
    if t.ndim != 2:
        raise ArgumentError(f"[sparse_] expected a 2-D tensor, got shape {t.shape}")
    if not 0 <= sparsity <= 1:
        raise ArgumentError(f"[sparse_] expected sparsity in [0, 1], got {sparsity}")
    rows = t.shape[0]
    zeros = int(math.ceil(sparsity * rows))
    from .. import creation
    from .. import functional as F

    with no_grad():
        t.normal_(0.0, std, generator=generator)
        if zeros:
            # the `zeros` smallest of random keys in each column: a random subset of that size
            keys = creation.rand(t.shape, generator=generator, device=t.device)
            rank = F.argsort(F.argsort(keys, 0), 0)
            t.copy_(F.where(rank < zeros, 0.0, t))
    return t


def eye_(t):
    """The identity matrix in a 2-D tensor (ones on the diagonal of a non-square one too)."""
    if t.ndim != 2:
        raise ArgumentError(f"[eye_] expected a 2-D tensor, got shape {t.shape}")
    from .. import creation

    with no_grad():
        return t.copy_(creation.eye(t.shape[0], t.shape[1], dtype=t.dtype, device=t.device))


def dirac_(t, groups=1):
    """The Dirac delta for a (out, in, k...) convolution weight with 1 to 3 spatial dims: each
    output channel passes one input channel through unchanged (per group)."""
    if t.ndim not in (3, 4, 5):
        raise ArgumentError(f"[dirac_] expected a 3-, 4- or 5-D tensor, got shape {t.shape}")
    if groups < 1 or t.shape[0] % groups:
        raise ArgumentError(f"[dirac_] expected dim 0 ({t.shape[0]}) divisible by groups ({groups})")
    per = t.shape[0] // groups
    a = np.zeros(t.shape, dtype=t.dtype)
    centre = tuple(n // 2 for n in t.shape[2:])
    for g in range(groups):
        for d in range(min(per, t.shape[1])):
            a[(g * per + d, d) + centre] = 1
    from .. import creation

    with no_grad():
        return t.copy_(creation.tensor(a, device=t.device))
