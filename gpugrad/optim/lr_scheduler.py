"""Learning-rate schedules with PyTorch's rules. ``step()`` once per epoch, or per batch
for CyclicLR and OneCycleLR.

As in PyTorch, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, ConstantLR,
PolynomialLR and MultiplicativeLR step from each group's current lr (their "chainable"
form), so two of them stepped on one optimizer (or in a ChainedScheduler) compose;
``step(epoch)`` jumps to ``epoch`` by the closed form. LambdaLR, CyclicLR, OneCycleLR and
CosineAnnealingWarmRestarts set the lr from ``base_lrs`` alone."""

import bisect
import math
import numbers
import types

from ..errors import ArgumentError, ArgumentTypeError
from .optimizer import Optimizer


class LRScheduler:
    _is_initial = False  # True during the step the constructor makes

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise ArgumentTypeError(f"[{type(self).__name__}] expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for g in optimizer.param_groups:
            g.setdefault("initial_lr", g["lr"])
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def lr_at(self, base_lr, epoch):
        """The closed form: the lr at ``epoch`` of a group whose initial lr is ``base_lr``."""
        raise NotImplementedError

    def get_lr(self):
        """The lrs for ``last_epoch`` (just advanced): the closed form unless a schedule steps
        from the current lrs."""
        return [self.lr_at(b, self.last_epoch) for b in self.base_lrs]

    def _group_lrs(self):
        return [g["lr"] for g in self.optimizer.param_groups]

    def step(self, epoch=None):
        """Advance one epoch (or go to ``epoch``, by the closed form where there is one)."""
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            lrs = self.get_lr()
        else:
            self.last_epoch = epoch
            lrs = [self.lr_at(b, epoch) for b in self.base_lrs] if self._has_closed_form() else self.get_lr()
        for g, lr in zip(self.optimizer.param_groups, lrs):
            g["lr"] = lr
        self._last_lr = self._group_lrs()

    def _restart(self):
        """Epoch 0 again, by the closed form where there is one (SequentialLR at a milestone)."""
        self.step(0)

    def _has_closed_form(self):
        return type(self).lr_at is not LRScheduler.lr_at

    def get_last_lr(self):
        return list(self._last_lr)

    _transient = ("optimizer", "_is_initial", "_step_count")  # not saved by state_dict

    def state_dict(self):
        """Everything but the optimizer (and functions, which do not pickle)."""
        return {k: v for k, v in self.__dict__.items() if k not in self._transient and not callable(v)}

    def load_state_dict(self, state):
        """Take the saved state. As in PyTorch, the optimizer's lrs (which the next step works
        from) are not touched: they come back with the optimizer's own ``load_state_dict``."""
        self.__dict__.update(state)


class StepLR(LRScheduler):
    """lr = base * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if step_size < 1:
            raise ArgumentError(f"[StepLR] step_size must be >= 1, got {step_size}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, epoch):
        return base * self.gamma ** (epoch // self.step_size)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]


class MultiStepLR(LRScheduler):
    """lr = base * gamma ** (number of milestones passed)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, epoch):
        return base * self.gamma ** bisect.bisect_right(self.milestones, epoch)

    def get_lr(self):
        times = self.milestones.count(self.last_epoch)  # a milestone given twice decays twice
        return [lr * self.gamma**times if times else lr for lr in self._group_lrs()]


class ExponentialLR(LRScheduler):
    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, epoch):
        return base * self.gamma**epoch

    def get_lr(self):
        return self._group_lrs() if self._is_initial else [lr * self.gamma for lr in self._group_lrs()]


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base - eta_min) (1 + cos(pi epoch / T_max)) / 2."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if T_max <= 0:
            raise ArgumentError(f"[CosineAnnealingLR] T_max must be positive, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, epoch):
        return self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2

    def get_lr(self):
        e, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._group_lrs()
        if self._step_count == 1 and e > 0:  # made with last_epoch >= 0
            return [self.lr_at(b, e) for b in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:  # past the trough (cos of the ratio below is 0/0)
            return [lr + (b - lo) * (1 - math.cos(math.pi / T)) / 2 for b, lr in zip(self.base_lrs, self._group_lrs())]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [ratio * (lr - lo) + lo for lr in self._group_lrs()]


class LambdaLR(LRScheduler):
    """lr = base * lr_lambda(epoch)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambda = lr_lambda
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, epoch):
        return base * self.lr_lambda(epoch)


class LinearLR(LRScheduler):
    """Linear warm-up (or decay): the factor goes from start_factor to end_factor over
    total_iters steps, then stays."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ArgumentError("[LinearLR] start_factor must be in (0, 1] and end_factor in [0, 1]")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, epoch):
        frac = min(epoch, self.total_iters) / self.total_iters if self.total_iters else 1.0
        return base * (self.start_factor + (self.end_factor - self.start_factor) * frac)

    def get_lr(self):
        e, a, b = self.last_epoch, self.start_factor, self.end_factor
        if e == 0:
            return [lr * a for lr in self._group_lrs()]
        if self._is_initial or e > self.total_iters:
            return self._group_lrs()
        return [lr * (1.0 + (b - a) / (self.total_iters * a + (e - 1) * (b - a))) for lr in self._group_lrs()]


class ConstantLR(LRScheduler):
    """lr = base * factor until total_iters epochs have passed, then base."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if not 0 <= factor <= 1:
            raise ArgumentError(f"[ConstantLR] expected factor in [0, 1], got {factor!r}")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, epoch):
        return base * (self.factor + (epoch >= self.total_iters) * (1 - self.factor))

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._group_lrs()]
        if self.last_epoch != self.total_iters:
            return self._group_lrs()
        return [lr * (1.0 / self.factor) for lr in self._group_lrs()]


class PolynomialLR(LRScheduler):
    """lr = base * (1 - min(epoch, total_iters) / total_iters) ** power: down to 0 at
    total_iters, then 0."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        if isinstance(total_iters, bool) or not isinstance(total_iters, numbers.Integral) or total_iters < 1:
            raise ArgumentError(f"[PolynomialLR] expected total_iters to be an int >= 1, got {total_iters!r}")
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, epoch):
        return base * (1.0 - min(self.total_iters, epoch) / self.total_iters) ** self.power

    def get_lr(self):
        e, n = self.last_epoch, self.total_iters
        if self._is_initial or e > n:
            return self._group_lrs()
        decay = ((1.0 - e / n) / (1.0 - (e - 1) / n)) ** self.power
        return [lr * decay for lr in self._group_lrs()]


def _lambdas(op, lr_lambda, n):
    """One function per param group (``lr_lambda`` one function or a list of n)."""
    fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
    if len(fns) != n:
        raise ArgumentError(f"[{op}] expected {n} lr_lambdas (one per param group), got {len(fns)}")
    for fn in fns:
        if not callable(fn):
            raise ArgumentTypeError(f"[{op}] expected lr_lambda to be a function, got {type(fn).__name__}")
    return fns


class MultiplicativeLR(LRScheduler):
    """Each epoch multiplies each group's lr by ``lr_lambda(epoch)`` (one function, or one
    per group)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambdas = _lambdas("MultiplicativeLR", lr_lambda, len(optimizer.param_groups))
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._group_lrs()
        return [lr * fn(self.last_epoch) for fn, lr in zip(self.lr_lambdas, self._group_lrs())]

    def state_dict(self):
        """As PyTorch: the functions are not saved, but the attributes of callable objects are."""
        sd = {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}
        sd["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
                            for fn in self.lr_lambdas]  # fmt: skip
        return sd

    def load_state_dict(self, state):
        state = dict(state)
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        super().load_state_dict(state)
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                fn.__dict__.update(attrs)


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter): cosine from base to eta_min over T_i epochs, then a
    restart, with T_0 the first period and T_{i+1} = T_mult T_i. ``step(epoch)`` takes a
    float epoch (a fraction of the way through, for per-batch steps)."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if isinstance(T_0, bool) or not isinstance(T_0, numbers.Integral) or T_0 <= 0:
            raise ArgumentError(f"[CosineAnnealingWarmRestarts] expected T_0 to be an int >= 1, got {T_0!r}")
        if isinstance(T_mult, bool) or not isinstance(T_mult, numbers.Integral) or T_mult < 1:
            raise ArgumentError(f"[CosineAnnealingWarmRestarts] expected T_mult to be an int >= 1, got {T_mult!r}")
        if isinstance(eta_min, bool) or not isinstance(eta_min, numbers.Real):
            raise ArgumentTypeError(f"[CosineAnnealingWarmRestarts] expected eta_min to be a number, got {eta_min!r}")
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [self.eta_min + (b - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for b in self.base_lrs]  # fmt: skip

    def step(self, epoch=None):
        """The next epoch, or ``epoch`` (a number >= 0, fractions allowed)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real) or not epoch >= 0:
                raise ArgumentError(f"[CosineAnnealingWarmRestarts] expected a number epoch >= 0, got {epoch!r}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:  # the restart n the epoch falls in: T_0 (T_mult^n - 1) / (T_mult - 1) <= epoch
                    n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self._step_count = getattr(self, "_step_count", 0) + 1
        self.last_epoch = math.floor(epoch)
        for g, lr in zip(self.optimizer.param_groups, self.get_lr()):
            g["lr"] = lr
        self._last_lr = self._group_lrs()


class _Composite(LRScheduler):
    """What SequentialLR and ChainedScheduler share: checking the schedules and saving
    theirs in their own state_dict."""

    def _check_schedulers(self, schedulers, optimizer):
        op = type(self).__name__
        schedulers = list(schedulers)
        if not schedulers:
            raise ArgumentError(f"[{op}] expected at least one scheduler, got none")
        optimizer = optimizer if optimizer is not None else getattr(schedulers[0], "optimizer", None)
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ArgumentError(f"[{op}] expected schedulers stepped without arguments, got ReduceLROnPlateau "
                                    f"(it needs the metric) at index {i}")
            if not isinstance(s, LRScheduler):
                raise ArgumentTypeError(f"[{op}] expected a learning-rate scheduler at index {i}, "
                                        f"got {type(s).__name__}")
            if s.optimizer is not optimizer:
                raise ArgumentError(f"[{op}] expected every scheduler to belong to the same optimizer, got "
                                    f"{type(s).__name__} at index {i} with another {type(s.optimizer).__name__}")
        return schedulers, optimizer

    def state_dict(self):
        sd = {k: v for k, v in self.__dict__.items() if k not in self._transient and k != "_schedulers"}
        sd["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return sd

    def load_state_dict(self, state):
        state = dict(state)
        saved = state.pop("_schedulers")
        if not isinstance(saved, list) or len(saved) != len(self._schedulers):
            got = len(saved) if isinstance(saved, list) else type(saved).__name__
            raise ArgumentError(f"[{type(self).__name__}.load_state_dict] expected the states of "
                                f"{len(self._schedulers)} schedulers, got {got}")
        for s, st in zip(self._schedulers, saved):
            s.load_state_dict(st)
        super().load_state_dict(state)  # the lrs last set, over what the schedules put back


class SequentialLR(_Composite):
    """``schedulers[i]`` runs from ``milestones[i - 1]`` (restarting at its epoch 0 there)
    to ``milestones[i]``: a warm-up, then a decay."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        self._schedulers, self.optimizer = self._check_schedulers(schedulers, optimizer)
        milestones = list(milestones)
        if len(milestones) != len(self._schedulers) - 1:
            raise ArgumentError(f"[SequentialLR] expected {len(self._schedulers) - 1} milestones (one fewer than the "
                                f"schedulers), got {len(milestones)}")
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        for g in optimizer.param_groups:  # undo the schedules' first steps: the first one starts afresh
            g["lr"] = g["initial_lr"]
        self._undo(self)
        first = self._schedulers[bisect.bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _undo(self, sched):
        for s in sched._schedulers:
            if hasattr(s, "_schedulers"):
                self._undo(s)
            else:
                s.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        i = bisect.bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            sched._restart()
        else:
            sched.step()
        self._last_lr = sched.get_last_lr()


class ChainedScheduler(_Composite):
    """Steps every scheduler in turn each epoch; the chainable ones each act on the lr the
    one before left, so their factors multiply."""

    def __init__(self, schedulers, optimizer=None):
        self._schedulers, self.optimizer = self._check_schedulers(schedulers, optimizer)
        self._last_lr = self._group_lrs()

    def step(self):
        for s in self._schedulers:
            s.step()
        self._last_lr = self._group_lrs()


def _per_group(op, name, value, n):
    """A hyper-parameter given once or per param group, as a list of n."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ArgumentError(f"[{op}] expected {n} values of {name} (one per param group), got {len(value)}")
        return list(value)
    return [value] * n


class _CycledMomentum:
    """What CyclicLR and OneCycleLR share, as PyTorch has it: with cycle_momentum the
    momentum goes against the learning rate, between base_momentum and max_momentum; it is
    SGD's (or RMSprop's) ``momentum``, or beta1 of an optimizer with ``betas`` (Adam, AdamW).
    An optimizer with neither cannot cycle it (pass cycle_momentum=False)."""

    def _setup_momentum(self, op, optimizer, cycle_momentum, base_momentum, max_momentum):
        self.cycle_momentum = bool(cycle_momentum)
        if not self.cycle_momentum:
            return
        if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
            raise ArgumentError(
                f"[{op}] expected an optimizer with momentum or betas to cycle (cycle_momentum=True), got "
                f"{type(optimizer).__name__}, which has neither; pass cycle_momentum=False")
        self.use_beta1 = "betas" in optimizer.defaults
        n = len(optimizer.param_groups)
        self.base_momentums = _per_group(op, "base_momentum", base_momentum, n)
        self.max_momentums = _per_group(op, "max_momentum", max_momentum, n)
        for g, m in zip(optimizer.param_groups, self.max_momentums):
            self._set_momentum(g, m)

    def _set_momentum(self, group, m):
        if self.use_beta1:
            group["betas"] = (m, *group["betas"][1:])
        else:
            group["momentum"] = m


class CyclicLR(_CycledMomentum, LRScheduler):
    """Cyclical learning rate (Smith 2017), stepped per batch: ``triangular``,
    ``triangular2`` (amplitude halves each cycle) or ``exp_range`` (amplitude times
    gamma ** iteration). With ``cycle_momentum`` (the default, as in PyTorch) the momentum
    (or Adam's beta1) cycles the other way, from max_momentum down to base_momentum at the
    learning rate's peak."""

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        if mode not in ("triangular", "triangular2", "exp_range"):
            raise ArgumentError(f"[CyclicLR] mode must be triangular, triangular2 or exp_range, got {mode!r}")
        self._setup_momentum("CyclicLR", optimizer, cycle_momentum, base_momentum, max_momentum)
        n = len(optimizer.param_groups)
        self.min_lrs = list(base_lr) if isinstance(base_lr, (list, tuple)) else [base_lr] * n
        self.max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * n
        down = step_size_up if step_size_down is None else step_size_down
        self.total_size = float(step_size_up + down)
        self.step_ratio = step_size_up / self.total_size
        self.mode, self.gamma = mode, gamma
        for g, lr in zip(optimizer.param_groups, self.min_lrs):
            g["lr"] = g["initial_lr"] = lr
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        it = self.last_epoch
        cycle = math.floor(1 + it / self.total_size)
        x = 1.0 + it / self.total_size - cycle
        scale = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        if self.mode == "triangular":
            amp = 1.0
        elif self.mode == "triangular2":
            amp = 1 / (2.0 ** (cycle - 1))
        else:
            amp = self.gamma**it
        if self.cycle_momentum:
            for g, lo, hi in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                self._set_momentum(g, hi - (hi - lo) * scale * amp)
        return [lo + (hi - lo) * scale * amp for lo, hi in zip(self.min_lrs, self.max_lrs)]


class OneCycleLR(_CycledMomentum, LRScheduler):
    """The 1cycle policy, stepped per batch: from max_lr/div_factor up to max_lr over
    pct_start of the steps, then (cosine or linear) down to initial/final_div_factor. With
    ``cycle_momentum`` (the default, as in PyTorch) the momentum (or Adam's beta1) goes the
    other way: from max_momentum down to base_momentum, then back."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, last_epoch=-1):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ArgumentError("[OneCycleLR] give total_steps, or epochs and steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        if anneal_strategy not in ("cos", "linear"):
            raise ArgumentError(f"[OneCycleLR] anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps = total_steps
        self.anneal = anneal_strategy
        self._setup_momentum("OneCycleLR", optimizer, cycle_momentum, base_momentum, max_momentum)
        n = len(optimizer.param_groups)
        maxs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * n
        self.phases = []
        for g, mx in zip(optimizer.param_groups, maxs):
            initial = mx / div_factor
            g["lr"] = g["initial_lr"] = initial
            self.phases.append((initial, mx, initial / final_div_factor))
        self.up_end = float(pct_start * total_steps) - 1
        super().__init__(optimizer, last_epoch)

    def _interp(self, start, end, pct):
        if self.anneal == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ArgumentError(f"[OneCycleLR] stepped {step} times, more than total_steps={self.total_steps}")
        out = []
        moms = zip(self.base_momentums, self.max_momentums) if self.cycle_momentum else [(None, None)] * len(self.phases)
        for g, (initial, mx, final), (lo, hi) in zip(self.optimizer.param_groups, self.phases, moms):
            if step <= self.up_end:  # lr up, momentum down
                pct = step / self.up_end if self.up_end > 0 else 1.0
                lr, mom = self._interp(initial, mx, pct), (hi, lo)
            else:  # lr down, momentum back up
                span = (self.total_steps - 1) - self.up_end
                pct = (step - self.up_end) / span if span > 0 else 1.0
                lr, mom = self._interp(mx, final, pct), (lo, hi)
            out.append(lr)
            if self.cycle_momentum:
                self._set_momentum(g, self._interp(*mom, pct))
        return out


class ReduceLROnPlateau:
    """Multiply each group's lr by ``factor`` when a metric has not improved for more than
    ``patience`` steps (``step(metric)``, once per epoch), then wait ``cooldown`` steps
    before counting again; never below ``min_lr`` (a number or one per group), and only
    when the change exceeds ``eps``. Improvement: in ``mode`` "min" (lower is better) or
    "max", by more than ``threshold``, relative ("rel") or absolute ("abs")."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, eps=1e-8):  # fmt: skip
        if mode not in ("min", "max"):
            raise ArgumentError(f"[ReduceLROnPlateau] mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ArgumentError(f"[ReduceLROnPlateau] threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        if not factor < 1.0:
            raise ArgumentError(f"[ReduceLROnPlateau] factor must be < 1.0, got {factor}")
        if not isinstance(patience, int) or isinstance(patience, bool) or patience < 0:
            raise ArgumentError(f"[ReduceLROnPlateau] patience must be an int >= 0, got {patience!r}")
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ArgumentError(f"[ReduceLROnPlateau] expected {n} min_lrs (one per param group), got {len(min_lr)}")
            self.min_lrs = list(min_lr)
        else:
            self.min_lrs = [min_lr] * n
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def is_better(self, a, best):
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return a > (best * (self.threshold + 1.0) if self.threshold_mode == "rel" else best + self.threshold)

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def step(self, metrics, epoch=None):
        """One epoch's ``metrics`` (a number or a one-element tensor)."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise ArgumentError(
                f"[ReduceLROnPlateau] step expected a number or a one-element tensor, got {metrics!r}"
            ) from None
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            for g, low in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(g["lr"])
                new = max(old * self.factor, low)
                if old - new > self.eps:
                    g["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self):
        return list(self._last_lr)

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state):
        """As LRScheduler.load_state_dict: the saved state only (the optimizer's lrs come back
        with its own load_state_dict)."""
        LRScheduler.load_state_dict(self, state)
