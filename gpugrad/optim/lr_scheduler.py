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


class CyclicLR(LRScheduler):
    """Cyclical learning rate (Smith 2017), stepped per batch: ``triangular``,
    ``triangular2`` (amplitude halves each cycle) or ``exp_range`` (amplitude times
    gamma ** iteration). Momentum is not cycled."""

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, last_epoch=-1):
        if mode not in ("triangular", "triangular2", "exp_range"):
            raise ArgumentError(f"[CyclicLR] mode must be triangular, triangular2 or exp_range, got {mode!r}")
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
        return [lo + (hi - lo) * scale * amp for lo, hi in zip(self.min_lrs, self.max_lrs)]


class OneCycleLR(LRScheduler):
    """The 1cycle policy, stepped per batch: from max_lr/div_factor up to max_lr over
    pct_start of the steps, then (cosine or linear) down to initial/final_div_factor."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", div_factor=25.0, final_div_factor=1e4, last_epoch=-1):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ArgumentError("[OneCycleLR] give total_steps, or epochs and steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        if anneal_strategy not in ("cos", "linear"):
            raise ArgumentError(f"[OneCycleLR] anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps = total_steps
        self.anneal = anneal_strategy
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
        for initial, mx, final in self.phases:
            if step <= self.up_end:
                out.append(self._interp(initial, mx, step / self.up_end if self.up_end > 0 else 1.0))
            else:
                span = (self.total_steps - 1) - self.up_end
                out.append(self._interp(mx, final, (step - self.up_end) / span if span > 0 else 1.0))
        return out
