"""Fused optimizer steps: every parameter of a group updated in one pass (one call into
the compiled kernels on the CPU when built), in place and outside any graph. The
optimizers in gpugrad.optim call these; they are public for custom training loops."""

from ..errors import ArgumentError, DeviceError


def _batches(params, arrays):
    """Group positions by (backend, dtype): each group is one kernel call."""
    groups = {}
    for i, p in enumerate(params):
        groups.setdefault((id(p._backend), p.dtype), []).append(i)
    for idx in groups.values():
        p0 = params[idx[0]]
        for i in idx:
            for a in arrays:
                if a[i] is not None and a[i]._backend is not p0._backend:
                    raise DeviceError(f"[optimizer step] state on {a[i].device}, parameter on {p0.device}")
        yield p0._backend, idx


def _fast(backend, tensors):
    k = backend.kernels
    return k is not None and all(t.data.flags.c_contiguous and k.supports(t.dtype) for t in tensors)


def _check(params, *lists):
    for lst in lists:
        if len(lst) != len(params):
            raise ArgumentError(f"[optimizer step] got {len(params)} parameters but {len(lst)} state tensors")


def sgd_step_(params, grads, momentum_buffers, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
              first=False):
    """p -= lr * d with d = g + weight_decay p; with momentum, b = momentum b + (1 - dampening) d
    (b = d when ``first``) and d = b (Nesterov: d + momentum b). ``momentum_buffers`` holds
    tensors (or None entries when momentum is 0)."""
    _check(params, grads, momentum_buffers)
    for backend, idx in _batches(params, [grads, momentum_buffers]):
        ps, gs = [params[i] for i in idx], [grads[i] for i in idx]
        bs = [momentum_buffers[i] for i in idx]
        if _fast(backend, ps + gs + [b for b in bs if b is not None]):
            backend.kernels.sgd_step([p.data for p in ps], [g.data for g in gs],
                                     [None if b is None else b.data for b in bs],
                                     lr, momentum, dampening, weight_decay, nesterov, first)
        else:
            for p, g, b in zip(ps, gs, bs):
                d = g.data + weight_decay * p.data if weight_decay else g.data
                if b is not None:
                    if first:
                        b.data[...] = d
                    else:
                        b.data *= momentum
                        b.data += (1 - dampening) * d
                    d = d + momentum * b.data if nesterov else b.data
                p.data -= lr * d
        for t in ps + [b for b in bs if b is not None]:
            t._vc[0] += 1


def adam_step_(params, grads, exp_avgs, exp_avg_sqs, lr, beta1, beta2, eps, weight_decay, decoupled, step):
    """Adam (``decoupled=False``: L2 added to the gradient) or AdamW (decoupled decay) at
    step number ``step`` (from 1), bias-corrected, over all parameters at once."""
    _check(params, grads, exp_avgs, exp_avg_sqs)
    bc1, bc2 = 1 - beta1**step, 1 - beta2**step
    for backend, idx in _batches(params, [grads, exp_avgs, exp_avg_sqs]):
        ps, gs = [params[i] for i in idx], [grads[i] for i in idx]
        ms, vs = [exp_avgs[i] for i in idx], [exp_avg_sqs[i] for i in idx]
        if _fast(backend, ps + gs + ms + vs):
            backend.kernels.adam_step([p.data for p in ps], [g.data for g in gs], [m.data for m in ms],
                                      [v.data for v in vs], lr, beta1, beta2, eps, weight_decay, decoupled, bc1, bc2)
        else:
            xp = backend.xp
            for p, g, m, v in zip(ps, gs, ms, vs):
                gd = g.data
                if weight_decay and decoupled:
                    p.data *= 1 - lr * weight_decay
                elif weight_decay:
                    gd = gd + weight_decay * p.data
                m.data *= beta1
                m.data += (1 - beta1) * gd
                v.data *= beta2
                v.data += (1 - beta2) * gd * gd
                p.data -= (lr / bc1) * m.data / (xp.sqrt(v.data) * (1 / bc2**0.5) + eps)
        for t in ps + ms + vs:
            t._vc[0] += 1
