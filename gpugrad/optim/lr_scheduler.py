"""Learning-rate schedules (PyTorch's closed forms). ``step()`` once per epoch, or per
batch for CyclicLR and OneCycleLR."""

import bisect
import math

from ..errors import ArgumentError


class LRScheduler:
    def __init__(self, optimizer, last_epoch=-1):
        self.optimizer = optimizer
        for g in optimizer.param_groups:
            g.setdefault("initial_lr", g["lr"])
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, base_lr, epoch):
        raise NotImplementedError

    def get_lr(self):
        return [self.lr_at(b, self.last_epoch) for b in self.base_lrs]

    def step(self):
        self.last_epoch += 1
        lrs = self.get_lr()
        for g, lr in zip(self.optimizer.param_groups, lrs):
            g["lr"] = lr
        self._last_lr = lrs

    def get_last_lr(self):
        return list(self._last_lr)

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k != "optimizer" and not callable(v)}

    def load_state_dict(self, state):
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


class MultiStepLR(LRScheduler):
    """lr = base * gamma ** (number of milestones passed)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, epoch):
        return base * self.gamma ** bisect.bisect_right(self.milestones, epoch)


class ExponentialLR(LRScheduler):
    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, epoch):
        return base * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base - eta_min) (1 + cos(pi epoch / T_max)) / 2."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if T_max <= 0:
            raise ArgumentError(f"[CosineAnnealingLR] T_max must be positive, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, epoch):
        return self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


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
        self.__dict__.update(state)
