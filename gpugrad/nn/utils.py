"""Gradient clipping, the L2 penalty, parameters <-> one vector, and a model summary."""

import math

import gpugrad

from ..autograd import no_grad
from ..errors import ArgumentError, ArgumentTypeError, DeviceError, ShapeError


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
        with ps[0]._backend.quiet():  # an inf gradient (a step GradScaler will skip) times 0: NaN, silently as in PyTorch
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


def parameters_to_vector(parameters):
    """Every parameter flattened and concatenated into one 1-D tensor (in the graph, as
    PyTorch's); all on one device."""
    ps = _param_list(parameters, "parameters_to_vector")
    if not ps:
        raise ArgumentError("[parameters_to_vector] got no parameters")
    _one_device(ps, "parameters_to_vector")
    return gpugrad.cat([p.reshape(-1) for p in ps])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D ``vec`` into the parameters (in place, outside the
    graph); ``vec`` must have exactly as many entries as the parameters together."""
    from ..tensor import Tensor

    if not isinstance(vec, Tensor):
        raise ArgumentTypeError(f"[vector_to_parameters] expected vec to be a Tensor, got {type(vec).__name__}")
    ps = _param_list(parameters, "vector_to_parameters")
    total = sum(p.numel() for p in ps)
    if vec.ndim != 1 or vec.numel() != total:
        raise ShapeError(f"[vector_to_parameters] expected a 1-D vec of {total} entries (the parameters' total), "
                         f"got shape {vec.shape}")
    _one_device([vec] + ps, "vector_to_parameters")
    with no_grad():
        i = 0
        for p in ps:
            n = p.numel()
            p.copy_(vec[i : i + n].reshape(p.shape))
            i += n


def _param_list(parameters, op):
    from ..tensor import Tensor

    if isinstance(parameters, Tensor):
        return [parameters]
    try:
        ps = list(parameters)
    except TypeError:
        raise ArgumentTypeError(f"[{op}] expected an iterable of tensors, got {type(parameters).__name__}") from None
    for p in ps:
        if not isinstance(p, Tensor):
            raise ArgumentTypeError(f"[{op}] expected tensors, got a {type(p).__name__}")
    return ps


def _one_device(ts, op):
    devices = {str(t.device) for t in ts}
    if len(devices) > 1:
        raise DeviceError(f"[{op}] expected every tensor on one device, got {sorted(devices)}")


def summary(model):
    """A table of the model's modules (name, type, parameter count) and the
    totals (all and trainable), as a string: ``print(gpugrad.nn.utils.summary(model))``.
    Parameters shared between modules are counted once."""
    from .module import Module

    if not isinstance(model, Module):
        raise ArgumentTypeError(f"[summary] expected a Module, got {type(model).__name__}")
    rows, seen = [], set()
    for name, m in model.named_modules():
        own = [p for p in m.parameters(recurse=False) if id(p) not in seen]
        seen.update(id(p) for p in own)
        rows.append((name or "(model)", type(m).__name__, sum(p.numel() for p in own)))
    ps = list(model.parameters())
    total = sum(p.numel() for p in ps)
    trainable = sum(p.numel() for p in ps if p.requires_grad)
    w0, w1 = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
    w2 = max(len("Params"), len(f"{total:,}"))
    lines = [f"{'Layer':<{w0}}  {'Type':<{w1}}  {'Params':>{w2}}"]
    lines.append("-" * len(lines[0]))
    lines += [f"{n:<{w0}}  {t:<{w1}}  {c:>{w2},}" for n, t, c in rows]
    lines.append("-" * len(lines[0]))
    lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}"]
    return "\n".join(lines)
