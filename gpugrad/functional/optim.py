"""Fused optimizer steps: every parameter of a group updated in one pass (one call into
the compiled kernels on the CPU when built), in place and outside any graph. The
optimizers in gpugrad.optim call these; they are public for custom training loops."""

import numpy as np

from ..dtypes import is_half
from ..errors import ArgumentError, ArgumentTypeError, DeviceError, DTypeError, ShapeError
from ..tensor import Tensor


def moment_dtype(dtype):
    """The dtype of an optimizer's state (momentum buffers, moments, running sums) for
    parameters of ``dtype``: float32 for the 2-byte floats, whose own range and precision
    lose small updates (0.001 * g**2 is 0 in float16 for |g| < 5e-3), else ``dtype``."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if is_half(dtype) else dtype


def _batches(params):
    """Group positions by (backend, dtype): each group is one kernel call, made (with the
    composed path's array work) while the group's device is the current one."""
    groups = {}
    for i, p in enumerate(params):
        groups.setdefault((id(p._backend), p.dtype), []).append(i)
    for idx in groups.values():
        backend = params[idx[0]]._backend
        with backend.scope():
            yield backend, idx


def _fast(backend, tensors):
    k = backend.kernels
    return k is not None and all(t.array.flags.c_contiguous and k.supports(t.dtype) for t in tensors)


def _check(params, grads, states):
    """Every gradient must have its parameter's shape, dtype and device, every state tensor
    (``states``: (name, tensors) pairs) the shape and device and ``moment_dtype``: the
    kernels read each list through one pointer type. A state list may hold None
    throughout (no momentum), never in part."""
    lists = [("gradient", grads, False)] + [(name, ts, True) for name, ts in states]
    for name, ts, optional in lists:
        if len(ts) != len(params):
            raise ArgumentError(f"[optimizer step] got {len(params)} parameters but {len(ts)} {name}s")
        if optional and all(t is None for t in ts):
            continue
        for i, (p, t) in enumerate(zip(params, ts)):
            what = f"the {name} of parameter {i} (shape {p.shape}, {p.dtype}, {p.device})"
            if not isinstance(t, Tensor):
                raise ArgumentTypeError(f"[optimizer step] expected {what} to be a tensor, got {type(t).__name__}"
                                        + (" (give every parameter one, or none)" if optional else ""))
            want = moment_dtype(p.dtype) if optional else p.dtype
            if t.dtype != want:
                raise DTypeError(f"[optimizer step] expected {what} to be {want}, got {t.dtype}")
            if t.shape != p.shape:
                raise ShapeError(f"[optimizer step] expected {what} to have shape {p.shape}, got {t.shape}")
            if t._backend is not p._backend:
                raise DeviceError(f"[optimizer step] expected {what} on {p.device}, got {t.device}")


def _working(p, acc):
    """The array the composed update works on: the parameter's own, or a copy in the
    state's dtype (float32 for 2-byte parameters: computed there, rounded back by _store)."""
    return p.array if p.dtype == acc else p.array.astype(acc)


def _store(xp, p, pd):
    if pd is not p.array:
        xp.copyto(p.array, pd, casting="same_kind")


def sgd_step_(params, grads, momentum_buffers, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
              first=False):
    """p -= lr * d with d = g + weight_decay p; with momentum, b = momentum b + (1 - dampening) d
    (b = d when ``first``) and d = b (Nesterov: d + momentum b). ``grads`` have their
    parameters' shape, dtype and device; ``momentum_buffers`` holds tensors of the
    parameters' shape and device in ``moment_dtype`` (or None entries when momentum is 0)."""
    _check(params, grads, [("momentum buffer", momentum_buffers)])
    for backend, idx in _batches(params):
        ps, gs = [params[i] for i in idx], [grads[i] for i in idx]
        bs = [momentum_buffers[i] for i in idx]
        if _fast(backend, ps + gs + [b for b in bs if b is not None]):
            backend.kernels.sgd_step([p.array for p in ps], [g.array for g in gs],
                                     [None if b is None else b.array for b in bs],
                                     lr, momentum, dampening, weight_decay, nesterov, first)
        else:
            xp = backend.xp
            for p, g, b in zip(ps, gs, bs):
                acc = moment_dtype(p.dtype)
                pd, d = _working(p, acc), g.array.astype(acc, copy=False)
                if weight_decay:
                    d = d + weight_decay * pd
                if b is not None:
                    if first:
                        b.array[...] = d
                    else:
                        b.array *= momentum
                        b.array += (1 - dampening) * d
                    d = d + momentum * b.array if nesterov else b.array
                pd -= lr * d
                _store(xp, p, pd)
        for t in ps + [b for b in bs if b is not None]:
            t._vc[0] += 1


def adam_step_(params, grads, exp_avgs, exp_avg_sqs, lr, beta1, beta2, eps, weight_decay, decoupled, step):
    """Adam (``decoupled=False``: L2 added to the gradient) or AdamW (decoupled decay) at
    step number ``step`` (from 1), bias-corrected, over all parameters at once. ``grads``
    have their parameters' shape, dtype and device, the moments the same shape and device
    in ``moment_dtype`` (float32 for float16 parameters, which are updated in float32 and
    rounded)."""
    _check(params, grads, [("first moment", exp_avgs), ("second moment", exp_avg_sqs)])
    bc1, bc2 = 1 - beta1**step, 1 - beta2**step
    for backend, idx in _batches(params):
        ps, gs = [params[i] for i in idx], [grads[i] for i in idx]
        ms, vs = [exp_avgs[i] for i in idx], [exp_avg_sqs[i] for i in idx]
        if _fast(backend, ps + gs + ms + vs):
            backend.kernels.adam_step([p.array for p in ps], [g.array for g in gs], [m.array for m in ms],
                                      [v.array for v in vs], lr, beta1, beta2, eps, weight_decay, decoupled, bc1, bc2)
        else:
            xp = backend.xp
            for p, g, m, v in zip(ps, gs, ms, vs):
                pd, gd = _working(p, m.dtype), g.array.astype(m.dtype, copy=False)
                if weight_decay and decoupled:
                    pd *= 1 - lr * weight_decay
                elif weight_decay:
                    gd = gd + weight_decay * pd
                m.array *= beta1
                m.array += (1 - beta1) * gd
                v.array *= beta2
                v.array += (1 - beta2) * gd * gd
                pd -= (lr / bc1) * m.array / (xp.sqrt(v.array) * (1 / bc2**0.5) + eps)
                _store(xp, p, pd)
        for t in ps + ms + vs:
            t._vc[0] += 1
