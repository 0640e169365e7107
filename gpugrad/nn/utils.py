"""Gradient clipping and the L2 penalty."""

import math

import gpugrad

from ..autograd import no_grad
from ..errors import ArgumentError


def _grads(parameters):
    from ..tensor import Tensor

    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients so their joint norm is at most ``max_norm``; returns the norm
    before clipping as a 0-d tensor (0 when no parameter has a gradient), as PyTorch does.
    Everything stays on the device (no read back to the host) unless ``error_if_nonfinite``
    asks to check the norm. ``foreach`` is accepted for PyTorch's signature (one code path)."""
    ps = _grads(parameters)
    if not ps:
        return gpugrad.zeros(())
    with no_grad():
        if norm_type == math.inf:
            total = gpugrad.stack([p.grad.abs().max() for p in ps]).max()
        else:
            total = gpugrad.stack([(p.grad.abs() ** norm_type).sum() for p in ps]).sum() ** (1.0 / norm_type)
        if error_if_nonfinite and not bool(total.isfinite()):
            raise ArgumentError(f"[clip_grad_norm_] expected a finite total norm of order {norm_type} of the "
                                f"gradients, got {total.item()}; pass error_if_nonfinite=False to clip anyway")
        # min(max_norm / norm, 1), a device scalar: no branch on the norm's value
        coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for p in ps:
            p.grad = p.grad * coef.to(p.grad.dtype)
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
