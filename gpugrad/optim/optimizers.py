"""SGD, Adagrad, RMSprop, Adam, AdamW and SparseAdam with PyTorch's update rules."""

import math

from ..creation import zeros_like
from ..errors import ArgumentError
from ..functional import adam_step_, maximum, sgd_step_
from ..functional.optim import moment_dtype
from .optimizer import Optimizer


def _state(p):
    """Zeros for a piece of optimizer state of ``p``, in moment_dtype (float32 for float16)."""
    return zeros_like(p, dtype=moment_dtype(p.dtype))


class SGD(Optimizer):
    """p -= lr * d with d = g (+ weight_decay p); with momentum, d is the running buffer
    b = momentum b + (1 - dampening) d (Nesterov: d + momentum b)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ArgumentError("[SGD] Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _step_group(self, group, params):
        grads = [self._grad(p) for p in params]
        mom = group["momentum"]
        fresh = {id(p) for p in params if mom and "momentum_buffer" not in self.state.setdefault(p, {})}
        for p in params:
            if id(p) in fresh:
                self.state[p]["momentum_buffer"] = _state(p)
        kw = dict(lr=group["lr"], momentum=mom, dampening=group["dampening"], weight_decay=group["weight_decay"],
                  nesterov=group["nesterov"])
        for first in (True, False):  # new buffers start as the first direction, old ones decay
            sel = [i for i, p in enumerate(params) if (id(p) in fresh) == first]
            if sel:
                sgd_step_([params[i] for i in sel], [grads[i] for i in sel],
                          [self.state[params[i]]["momentum_buffer"] if mom else None for i in sel], first=first, **kw)

    def _update(self, group, p, g, state):  # the one-parameter form (kept as the reference)
        g = g.to(moment_dtype(p.dtype))  # 2-byte parameters: computed in float32, rounded by add_
        if group["weight_decay"]:
            g = g + p * group["weight_decay"]
        mom = group["momentum"]
        if mom:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.clone()
            else:
                buf.mul_(mom).add_(g, alpha=1.0 - group["dampening"])
            g = g + buf * mom if group["nesterov"] else buf
        p.add_(g, alpha=-group["lr"])


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))

    def _update(self, group, p, g, state):
        if "sum" not in state:
            state["step"] = 0
            state["sum"] = _state(p).fill_(group["initial_accumulator_value"])
        state["step"] += 1
        g = g.to(state["sum"].dtype)
        if group["weight_decay"]:
            g = g + p * group["weight_decay"]
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"].add_(g * g)
        p.add_(g / (state["sum"].sqrt() + group["eps"]), alpha=-clr)


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _update(self, group, p, g, state):
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = _state(p)
            if group["momentum"]:
                state["momentum_buffer"] = _state(p)
            if group["centered"]:
                state["grad_avg"] = _state(p)
        state["step"] += 1
        g = g.to(state["square_avg"].dtype)
        if group["weight_decay"]:
            g = g + p * group["weight_decay"]
        a = group["alpha"]
        sq = state["square_avg"].mul_(a).add_(g * g, alpha=1 - a)
        if group["centered"]:
            ga = state["grad_avg"].mul_(a).add_(g, alpha=1 - a)
            avg = (sq - ga * ga).sqrt() + group["eps"]
        else:
            avg = sq.sqrt() + group["eps"]
        if group["momentum"]:
            buf = state["momentum_buffer"].mul_(group["momentum"]).add_(g / avg)
            p.add_(buf, alpha=-group["lr"])
        else:
            p.add_(g / avg, alpha=-group["lr"])


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; weight_decay is L2 added to the gradient
    (use AdamW for decoupled decay); ``amsgrad`` keeps the running max of v."""

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ArgumentError(f"[{type(self).__name__}] betas must be in [0, 1), got {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    def _step_group(self, group, params):
        if group["amsgrad"]:
            return super()._step_group(group, params)
        grads = [self._grad(p) for p in params]
        states = [self.state.setdefault(p, {}) for p in params]
        for p, st in zip(params, states):
            if "exp_avg" not in st:
                st.update(step=0, exp_avg=_state(p), exp_avg_sq=_state(p))
            st["step"] += 1
        by_step = {}
        for i, st in enumerate(states):  # parameters that joined later are at another step
            by_step.setdefault(st["step"], []).append(i)
        b1, b2 = group["betas"]
        for t, sel in by_step.items():
            adam_step_([params[i] for i in sel], [grads[i] for i in sel], [states[i]["exp_avg"] for i in sel],
                       [states[i]["exp_avg_sq"] for i in sel], group["lr"], b1, b2, group["eps"],
                       group["weight_decay"], self._decoupled, t)

    def _update(self, group, p, g, state):  # amsgrad
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = _state(p)
            state["exp_avg_sq"] = _state(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = _state(p)
        state["step"] += 1
        g = g.to(state["exp_avg"].dtype)
        t = state["step"]
        b1, b2 = group["betas"]
        lr, wd = group["lr"], group["weight_decay"]
        if wd:
            if self._decoupled:
                p.mul_(1 - lr * wd)
            else:
                g = g + p * wd
        m = state["exp_avg"].mul_(b1).add_(g, alpha=1 - b1)
        v = state["exp_avg_sq"].mul_(b2).add_(g * g, alpha=1 - b2)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = v = maximum(state["max_exp_avg_sq"], v)
        denom = v.sqrt() * (1.0 / math.sqrt(1 - b2**t)) + group["eps"]
        p.add_(m / denom, alpha=-lr / (1 - b1**t))


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before the Adam step."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


class SparseAdam(Optimizer):
    """Adam for row-sparse gradients (``Embedding(sparse=True)``): only the rows that got a
    gradient have their moments and values updated (the "lazy" Adam of PyTorch), each by
    lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps), PyTorch's formula."""

    sparse = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps))

    def _update(self, group, p, g, state):
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = _state(p)
            state["exp_avg_sq"] = _state(p)
        state["step"] += 1
        t = state["step"]
        b1, b2 = group["betas"]
        g = g.coalesce()
        rows, vals = g.indices, g.values.to(state["exp_avg"].dtype)
        m_rows = state["exp_avg"][rows] * b1 + vals * (1 - b1)
        v_rows = state["exp_avg_sq"][rows] * b2 + vals * vals * (1 - b2)
        state["exp_avg"][rows] = m_rows
        state["exp_avg_sq"][rows] = v_rows
        # PyTorch's SparseAdam: eps is added to sqrt(v) before the bias correction, which
        # goes into the step size (unlike Adam, whose eps is added to the corrected sqrt(v))
        denom = v_rows.sqrt() + group["eps"]
        p[rows] = p[rows] - m_rows / denom * (group["lr"] * math.sqrt(1 - b2**t) / (1 - b1**t))
