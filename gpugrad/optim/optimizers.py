"""SGD, Adagrad, RMSprop, Adam, AdamW, SparseAdam, NAdam, RAdam, Adamax, Adadelta, ASGD and
Rprop with PyTorch's update rules (LBFGS is in lbfgs.py)."""

import math

from ..creation import full_like, zeros_like
from ..errors import ArgumentError, ArgumentTypeError
from ..functional import adam_step_, maximum, sgd_step_, where
from ..functional.optim import moment_dtype
from .optimizer import Optimizer


def _state(p):
    """Zeros for a piece of optimizer state of ``p``, in moment_dtype (float32 for float16)."""
    return zeros_like(p, dtype=moment_dtype(p.dtype))


def _flags(op, **flags):
    """PyTorch's ``maximize`` and implementation switches, type-checked, for the defaults
    (kept in each param group as PyTorch keeps them). ``foreach``/``fused`` are accepted and
    gpugrad picks its own path (fused kernel or array ops); ``capturable``/``differentiable``
    must be False (``Optimizer._check`` says why)."""
    for k, v in flags.items():
        if k in ("foreach", "fused") and v is not None and not isinstance(v, bool):
            raise ArgumentTypeError(f"[{op}] expected {k} to be None or a bool, got {v!r}")
        if k not in ("foreach", "fused") and not isinstance(v, bool):
            raise ArgumentTypeError(f"[{op}] expected {k} to be a bool, got {v!r}")
    return flags


def _in_range(op, name, v, lo, hi=None, hi_open=True):
    """PyTorch's constructor checks: lo <= v (< hi, or <= hi when not hi_open)."""
    ok = lo <= v and (hi is None or (v < hi if hi_open else v <= hi))
    if not ok:
        upper = "" if hi is None else f" and {'<' if hi_open else '<='} {hi}"
        raise ArgumentError(f"[{op}] expected {name} >= {lo}{upper}, got {v!r}")


def _betas(op, betas):
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ArgumentTypeError(f"[{op}] expected betas to be a pair of numbers, got {betas!r}")
    if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
        raise ArgumentError(f"[{op}] betas must be in [0, 1), got {tuple(betas)}")
    return tuple(betas)


def _signed(group, g, dtype):
    """The gradient in the state's dtype, negated for ``maximize`` (which PyTorch applies
    first, before weight decay)."""
    g = g.to(dtype)
    return -g if group.get("maximize") else g


def _lerp_(a, b, w):
    """a += w (b - a) in place: PyTorch's lerp_ for w < 0.5 (its optimizers' moment update)."""
    return a.add_((b - a) * w) if w < 0.5 else a.copy_(b - (b - a) * (1 - w))


class SGD(Optimizer):
    """p -= lr * d with d = g (+ weight_decay p); with momentum, d is the running buffer
    b = momentum b + (1 - dampening) d (Nesterov: d + momentum b)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ArgumentError("[SGD] Nesterov momentum needs momentum > 0 and dampening = 0")
        _in_range("SGD", "momentum", momentum, 0)
        _in_range("SGD", "weight_decay", weight_decay, 0)
        flags = _flags("SGD", maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, **flags))

    def _step_group(self, group, params):
        grads = [-self._grad(p) if group["maximize"] else self._grad(p) for p in params]
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
        g = _signed(group, g, moment_dtype(p.dtype))  # 2-byte parameters: computed in float32, rounded by add_
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
    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        for name, v in (("lr_decay", lr_decay), ("weight_decay", weight_decay), ("eps", eps),
                        ("initial_accumulator_value", initial_accumulator_value)):
            _in_range("Adagrad", name, v, 0)
        flags = _flags("Adagrad", foreach=foreach, maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps, **flags))

    def _update(self, group, p, g, state):
        if "sum" not in state:
            state["step"] = 0
            state["sum"] = _state(p).fill_(group["initial_accumulator_value"])
        state["step"] += 1
        g = _signed(group, g, state["sum"].dtype)
        if group["weight_decay"]:
            g = g + p * group["weight_decay"]
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"].add_(g * g)
        p.add_(g / (state["sum"].sqrt() + group["eps"]), alpha=-clr)


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        for name, v in (("alpha", alpha), ("eps", eps), ("weight_decay", weight_decay), ("momentum", momentum)):
            _in_range("RMSprop", name, v, 0)
        flags = _flags("RMSprop", capturable=capturable, foreach=foreach, maximize=maximize,
                       differentiable=differentiable)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, **flags))

    def _update(self, group, p, g, state):
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = _state(p)
            if group["momentum"]:
                state["momentum_buffer"] = _state(p)
            if group["centered"]:
                state["grad_avg"] = _state(p)
        state["step"] += 1
        g = _signed(group, g, state["square_avg"].dtype)
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

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        op = type(self).__name__
        _in_range(op, "eps", eps, 0)
        _in_range(op, "weight_decay", weight_decay, 0)
        flags = _flags(op, foreach=foreach, maximize=maximize, capturable=capturable, differentiable=differentiable,
                       fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, dict(lr=lr, betas=_betas(op, betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, **flags))

    def _step_group(self, group, params):
        if group["amsgrad"]:
            return super()._step_group(group, params)
        grads = [-self._grad(p) if group["maximize"] else self._grad(p) for p in params]
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
                       group["weight_decay"], group["decoupled_weight_decay"], t)

    def _update(self, group, p, g, state):  # amsgrad
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = _state(p)
            state["exp_avg_sq"] = _state(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = _state(p)
        state["step"] += 1
        g = _signed(group, g, state["exp_avg"].dtype)
        t = state["step"]
        b1, b2 = group["betas"]
        lr, wd = group["lr"], group["weight_decay"]
        if wd:
            if group["decoupled_weight_decay"]:
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

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, foreach=foreach,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


class SparseAdam(Optimizer):
    """Adam for row-sparse gradients (``Embedding(sparse=True)``): only the rows that got a
    gradient have their moments and values updated (the "lazy" Adam of PyTorch), each by
    lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps), PyTorch's formula."""

    sparse = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        _in_range("SparseAdam", "eps", eps, 0)
        flags = _flags("SparseAdam", maximize=maximize)
        super().__init__(params, dict(lr=lr, betas=_betas("SparseAdam", betas), eps=eps, **flags))

    def _update(self, group, p, g, state):
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = _state(p)
            state["exp_avg_sq"] = _state(p)
        state["step"] += 1
        t = state["step"]
        b1, b2 = group["betas"]
        g = g.coalesce()
        rows, vals = g.indices, _signed(group, g.values, state["exp_avg"].dtype)
        m_rows = state["exp_avg"][rows] * b1 + vals * (1 - b1)
        v_rows = state["exp_avg_sq"][rows] * b2 + vals * vals * (1 - b2)
        state["exp_avg"][rows] = m_rows
        state["exp_avg_sq"][rows] = v_rows
        # PyTorch's SparseAdam: eps is added to sqrt(v) before the bias correction, which
        # goes into the step size (unlike Adam, whose eps is added to the corrected sqrt(v))
        denom = v_rows.sqrt() + group["eps"]
        p[rows] = p[rows] - m_rows / denom * (group["lr"] * math.sqrt(1 - b2**t) / (1 - b1**t))


class _AdamFamily(Optimizer):
    """What NAdam, RAdam and Adamax share: betas, eps, L2 weight decay (or decoupled, where
    PyTorch has ``decoupled_weight_decay``), the first moment as PyTorch's lerp."""

    def _setup(self, params, lr, betas, eps, weight_decay, **more):
        op = type(self).__name__
        _in_range(op, "eps", eps, 0)
        _in_range(op, "weight_decay", weight_decay, 0)
        super().__init__(params, dict(lr=lr, betas=_betas(op, betas), eps=eps, weight_decay=weight_decay, **more))

    def _begin(self, group, p, g, state, second):
        """Count the step, decay weights; the gradient to use (L2 decay added)."""
        if "exp_avg" not in state:
            state.update(step=0, **self._fresh(p), exp_avg=_state(p), **{second: _state(p)})
        state["step"] += 1
        g = _signed(group, g, state["exp_avg"].dtype)
        lr, wd = group["lr"], group["weight_decay"]
        if wd:
            if group.get("decoupled_weight_decay"):
                p.mul_(1 - lr * wd)
            else:
                g = g + p * wd
        _lerp_(state["exp_avg"], g, 1 - group["betas"][0])
        return g

    def _fresh(self, p):
        return {}


class NAdam(_AdamFamily):
    """Adam with Nesterov momentum (Dozat 2016), PyTorch's form: the momentum coefficient
    mu_t = b1 (1 - 0.96^(t momentum_decay) / 2) and its running product weight the gradient
    and the first moment in each step."""

    _scalar_state = ("mu_product",)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _in_range("NAdam", "momentum_decay", momentum_decay, 0)
        flags = _flags("NAdam", decoupled_weight_decay=decoupled_weight_decay, foreach=foreach, maximize=maximize,
                       capturable=capturable, differentiable=differentiable)
        self._setup(params, lr, betas, eps, weight_decay, momentum_decay=momentum_decay, **flags)

    def _fresh(self, p):
        return {"mu_product": 1.0}

    def _update(self, group, p, g, state):
        g = self._begin(group, p, g, state, "exp_avg_sq")
        t, (b1, b2), lr, md = state["step"], group["betas"], group["lr"], group["momentum_decay"]
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * md))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * md))
        state["mu_product"] *= mu
        v = state["exp_avg_sq"].mul_(b2).add_(g * g, alpha=1 - b2)
        denom = (v / (1 - b2**t)).sqrt() + group["eps"]
        p.add_(g / denom, alpha=-lr * (1.0 - mu) / (1.0 - state["mu_product"]))
        p.add_(state["exp_avg"] / denom, alpha=-lr * mu_next / (1.0 - state["mu_product"] * mu_next))


class RAdam(_AdamFamily):
    """Rectified Adam (Liu et al. 2019): plain momentum steps while the variance estimate
    is unreliable (rho_t <= 5), then Adam's step times the rectification term."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        flags = _flags("RAdam", decoupled_weight_decay=decoupled_weight_decay, foreach=foreach, maximize=maximize,
                       capturable=capturable, differentiable=differentiable)
        self._setup(params, lr, betas, eps, weight_decay, **flags)

    def _update(self, group, p, g, state):
        g = self._begin(group, p, g, state, "exp_avg_sq")
        t, (b1, b2), lr = state["step"], group["betas"], group["lr"]
        v = state["exp_avg_sq"].mul_(b2).add_(g * g, alpha=1 - b2)
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        m_hat = state["exp_avg"] / bc1
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * (b2**t) / bc2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            p.add_(m_hat * lr * (bc2**0.5 / (v.sqrt() + group["eps"])) * rect, alpha=-1.0)
        else:
            p.add_(m_hat * lr, alpha=-1.0)


class Adamax(_AdamFamily):
    """Adam with the infinity norm (Kingma & Ba, section 7): u = max(b2 u, |g| + eps),
    p -= lr / (1 - b1^t) m / u."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        flags = _flags("Adamax", foreach=foreach, maximize=maximize, differentiable=differentiable,
                       capturable=capturable)
        self._setup(params, lr, betas, eps, weight_decay, **flags)

    def _update(self, group, p, g, state):
        g = self._begin(group, p, g, state, "exp_inf")
        b1, b2 = group["betas"]
        state["exp_inf"].copy_(maximum(state["exp_inf"].mul_(b2), g.abs() + group["eps"]))
        p.add_(state["exp_avg"] / state["exp_inf"], alpha=-group["lr"] / (1 - b1 ** state["step"]))


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012): the step is g sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps), both
    running averages with rate rho, scaled by lr."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        _in_range("Adadelta", "rho", rho, 0, 1, hi_open=False)
        _in_range("Adadelta", "eps", eps, 0)
        _in_range("Adadelta", "weight_decay", weight_decay, 0)
        flags = _flags("Adadelta", foreach=foreach, capturable=capturable, maximize=maximize,
                       differentiable=differentiable)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, **flags))

    def _update(self, group, p, g, state):
        if "square_avg" not in state:
            state.update(step=0, square_avg=_state(p), acc_delta=_state(p))
        state["step"] += 1
        g = _signed(group, g, state["square_avg"].dtype)
        if group["weight_decay"]:
            g = g + p * group["weight_decay"]
        rho, eps = group["rho"], group["eps"]
        sq = state["square_avg"].mul_(rho).add_(g * g, alpha=1 - rho)
        delta = (state["acc_delta"] + eps).sqrt() / (sq + eps).sqrt() * g
        state["acc_delta"].mul_(rho).add_(delta * delta, alpha=1 - rho)
        p.add_(delta, alpha=-group["lr"])


class ASGD(Optimizer):
    """Averaged SGD (Polyak & Juditsky 1992), PyTorch's form: p *= 1 - lambd eta, p -= eta g,
    with eta = lr / (1 + lambd lr t)^alpha; ``ax`` (state) averages p from step t0 on."""

    _scalar_state = ("eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        _in_range("ASGD", "weight_decay", weight_decay, 0)
        flags = _flags("ASGD", foreach=foreach, maximize=maximize, differentiable=differentiable,
                       capturable=capturable)
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, **flags))

    def _update(self, group, p, g, state):
        if "ax" not in state:
            state.update(step=0, eta=float(group["lr"]), mu=1.0, ax=_state(p))
        state["step"] += 1
        g = _signed(group, g, state["ax"].dtype)
        if group["weight_decay"]:
            g = g + p * group["weight_decay"]
        eta, lambd, lr, t = state["eta"], group["lambd"], group["lr"], state["step"]
        p.mul_(1 - lambd * eta)
        p.add_(g, alpha=-eta)
        ax = state["ax"]
        if state["mu"] != 1:
            ax.add_((p - ax) * state["mu"])
        else:
            ax.copy_(p)
        state["eta"] = lr / ((1 + lambd * lr * t) ** group["alpha"])
        state["mu"] = 1 / max(1, t - group["t0"])


class Rprop(Optimizer):
    """Resilient backpropagation (Riedmiller & Braun 1993): each element's step size grows by
    etas[1] while its gradient keeps its sign and shrinks by etas[0] when it flips (that
    step is skipped), within step_sizes; the update is -sign(g) times the step size."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        pairs = (("etas", etas), ("step_sizes", step_sizes))
        for name, v in pairs:
            if not (isinstance(v, (tuple, list)) and len(v) == 2):
                raise ArgumentTypeError(f"[Rprop] expected {name} to be a pair of numbers, got {v!r}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ArgumentError(f"[Rprop] expected etas with 0 < etaminus < 1 < etaplus, got {tuple(etas)}")
        flags = _flags("Rprop", capturable=capturable, foreach=foreach, maximize=maximize,
                       differentiable=differentiable)
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), **flags))

    def _update(self, group, p, g, state):
        if "prev" not in state:
            state.update(step=0, prev=_state(p), step_size=_state(p).fill_(group["lr"]))
        state["step"] += 1
        g = _signed(group, g, state["prev"].dtype)
        (minus, plus), (lo, hi) = group["etas"], group["step_sizes"]
        s = (g * state["prev"]).sign()
        # tensors, not numbers, for where: numbers would come out in the default dtype
        factor = where(s > 0, full_like(s, plus), where(s < 0, full_like(s, minus), full_like(s, 1.0)))
        state["step_size"].mul_(factor).clamp_(lo, hi)
        g = where(factor == minus, 0.0, g)  # a flipped sign: no step this time, and no flip next time
        p.add_(g.sign() * state["step_size"], alpha=-1)
        state["prev"].copy_(g)
