"""Gradient clipping and the L2 penalty."""

import math

from ..autograd import no_grad
from ..errors import ArgumentError


def _grads(parameters):
    from ..tensor import Tensor

    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients so their joint norm is at most ``max_norm``; returns the norm
    before clipping (a Python float)."""
    ps = _grads(parameters)
    if not ps:
        return 0.0
    with no_grad():
        if norm_type == math.inf:
            total = max(p.grad.abs().max().item() for p in ps)
        else:
            total = sum((p.grad.abs() ** norm_type).sum().item() for p in ps) ** (1.0 / norm_type)
        if not math.isfinite(total):
            if error_if_nonfinite:
                raise ArgumentError(f"[clip_grad_norm_] the total gradient norm is {total}")
            return total
        scale = max_norm / (total + 1e-6)
        if scale < 1.0:
            for p in ps:
                p.grad = p.grad * scale
    return total


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient entry into [-clip_value, clip_value]."""
    with no_grad():
        for p in _grads(parameters):
            p.grad = p.grad.clamp(-clip_value, clip_value)


def l2_penalty(parameters, weight=1.0):
    """weight/2 * sum of squared parameters (add it to the loss: weight decay by hand)."""
    total = None
    for p in parameters:
        term = (p * p).sum()
        total = term if total is None else total + term
    if total is None:
        raise ArgumentError("[l2_penalty] got no parameters")
    return total * (0.5 * weight)
