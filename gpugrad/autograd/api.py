"""``gpugrad.autograd.grad`` and ``backward``: the functional entry points to the engine."""

from ..errors import ArgumentError, AutogradError, DeviceError, ShapeError
from .engine import run_backward


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _grad_outputs(outputs, grad_outputs, op):
    grads = _as_list(grad_outputs) if grad_outputs is not None else [None] * len(outputs)
    if len(grads) != len(outputs):
        raise ArgumentError(f"[{op}] got {len(outputs)} outputs but {len(grads)} grad_outputs")
    out = []
    for y, g in zip(outputs, grads):
        if not y.requires_grad:
            raise AutogradError(
                f"[{op}] an output (shape {y.shape}) does not require grad and has no grad_fn"
            )
        if g is None:
            if y.array.size != 1:
                raise AutogradError(
                    f"[{op}] grad can be created implicitly only for scalar outputs, got shape {y.shape}"
                )
            with y._backend.scope():
                g = y._like(y._backend.xp.ones(y.shape, dtype=y.dtype))
        else:
            if not hasattr(g, "_backend"):  # array-like data
                g = y._like(y._backend.asarray(g, dtype=y.dtype))
            if g._backend is not y._backend:
                raise DeviceError(f"[{op}] grad_output is on {g.device}, the output on {y.device}")
            if g.shape != y.shape:
                raise ShapeError(f"[{op}] grad_output has shape {g.shape}, the output {y.shape}")
            if g.dtype != y.dtype:
                g = g.to(y.dtype)
        out.append(g)
    return out


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """d(outputs)/d(inputs) contracted with ``grad_outputs``, returned as a tuple (one entry
    per input) without touching any ``.grad``. ``create_graph=True`` records the backward
    pass so the result can be differentiated again. ``allow_unused=True`` gives None for
    an input the outputs do not depend on (otherwise that raises)."""
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    for i, x in enumerate(inputs):
        if not getattr(x, "requires_grad", False):
            raise AutogradError(f"[grad] input {i} (shape {getattr(x, 'shape', '?')}) does not require grad")
    roots = _grad_outputs(outputs, grad_outputs, "grad")
    keep = create_graph if retain_graph is None else retain_graph
    result = run_backward(outputs, roots, retain_graph=keep, create_graph=create_graph, targets=inputs)
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise AutogradError(
                f"[grad] input {i} (shape {inputs[i].shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
        if g is not None and not create_graph:
            result[i] = g.detach()
    return tuple(result)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate gradients of several outputs into the leaves' ``.grad`` in one pass."""
    tensors = _as_list(tensors)
    roots = _grad_outputs(tensors, grad_tensors, "backward")
    keep = create_graph if retain_graph is None else retain_graph
    run_backward(tensors, roots, retain_graph=keep, create_graph=create_graph)
