"""L-BFGS with PyTorch's algorithm (after minFunc): one flat vector of all parameters, a
history of (y, s) pairs, a fixed step or a strong-Wolfe line search; ``step(closure)``
runs up to ``max_iter`` iterations."""

import math
import numbers

from ..autograd import enable_grad, no_grad
from ..creation import zeros
from ..dtypes import is_floating
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ..functional import cat
from ..nn.sparse import is_sparse_grad
from ..tensor import Tensor
from .optimizer import Optimizer, _number, _shown


def _dot(a, b):
    return float((a * b).sum().item())


def _amax(a):
    return float(a.abs().max().item())


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), within bounds (the
    interval's midpoint where the cubic has none)."""
    xmin_bound, xmax_bound = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step t along d meeting the strong Wolfe conditions (bracketing, then zooming by
    cubic interpolation), as PyTorch's: (loss, flat gradient, t, evaluations)."""
    d_norm = _amax(d)
    g = g.clone()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = _dot(g_new, d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    bracket_gtd = None
    while ls_iter < max_ls:  # bracket a step that meets the conditions
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new.clone()], \
                [gtd_prev, gtd_new]  # fmt: skip
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new.clone()], \
                [gtd_prev, gtd_new]  # fmt: skip
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.clone(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = _dot(g_new, d)
        ls_iter += 1
    if ls_iter == max_ls:  # reached the most evaluations allowed
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:  # zoom into the bracket
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # a point too close to an end (or outside): move it in, unless the last one made progress
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = _dot(g_new, d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos], bracket_g[high_pos] = t, f_new, g_new.clone()
            bracket_gtd[high_pos] = gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos], bracket_g[low_pos] = t, f_new, g_new.clone()
            bracket_gtd[low_pos] = gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    """L-BFGS over all parameters as one vector (one param group, as PyTorch). ``step(closure)``
    calls ``closure`` (zero the gradients, compute the loss, backward, return the loss) as
    often as it needs, up to ``max_eval`` times; returns the first loss. It stops early when
    the largest gradient entry is <= tolerance_grad, or the step or the change of the loss
    is below tolerance_change. ``line_search_fn``: None (a step of lr) or "strong_wolfe"."""

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        for name, v in (("max_iter", max_iter), ("max_eval", max_eval), ("history_size", history_size)):
            if v is None and name == "max_eval":
                continue
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ArgumentError(f"[LBFGS] expected {name} to be an int >= 1, got {v!r}")
        for name, v in (("tolerance_grad", tolerance_grad), ("tolerance_change", tolerance_change)):
            _number("LBFGS", name, v)
        if line_search_fn not in (None, "strong_wolfe") or isinstance(line_search_fn, bool):
            raise ArgumentError(f"[LBFGS] expected line_search_fn None or 'strong_wolfe', got {line_search_fn!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, group):
        if self.param_groups:
            raise ArgumentError("[LBFGS] expected one parameter group (LBFGS has no per-parameter options), "
                                "got a second")
        super().add_param_group(group)

    def _numel(self):
        return sum(p.numel() for p in self._params)

    def _gather_flat_grad(self):
        views = []
        for p in self._params:
            g = p.grad
            if g is None:
                views.append(zeros(p.numel(), dtype=p.dtype, device=p.device))
            else:
                views.append((g.to_dense() if is_sparse_grad(g) else g).reshape(-1))
        return cat(views, 0)

    def _add_grad(self, step_size, update):
        offset = 0
        for p in self._params:
            n = p.numel()
            p.add_(update[offset:offset + n].reshape(p.shape), alpha=step_size)
            offset += n

    def _directional_evaluate(self, closure, x, t, d):
        """Loss and flat gradient at x + t d (the parameters are put back to x)."""
        self._add_grad(t, d)
        with enable_grad():
            loss = float(closure())
        flat_grad = self._gather_flat_grad()
        for p, data in zip(self._params, x):
            p.copy_(data)
        return loss, flat_grad

    def step(self, closure=None):
        """Up to max_iter L-BFGS iterations; ``closure`` is required."""
        if closure is None or not callable(closure):
            raise ArgumentTypeError("[LBFGS] step expected a closure that zeroes the gradients, computes the loss, "
                                    f"calls backward and returns the loss, got {_shown(closure)}")
        with no_grad():
            return self._step(closure)

    def _step(self, closure):
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if _amax(flat_grad) <= tolerance_grad:  # already optimal
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:  # steepest descent first
                d = -flat_grad
                old_dirs, old_stps, ro, H_diag = [], [], [], 1
            else:  # the L-BFGS direction: two loops over the history
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = _dot(y, s)
                if ys > 1e-10:  # keep the pair only where curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / _dot(y, y)
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = _dot(old_stps[i], q) * ro[i]
                    q.add_(old_dirs[i], alpha=-al[i])
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = _dot(old_dirs[i], r) * ro[i]
                    r.add_(old_stps[i], alpha=al[i] - be_i)
            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.clone()
            else:
                prev_flat_grad.copy_(flat_grad)
            prev_loss = loss

            t = min(1.0, 1.0 / float(flat_grad.abs().sum().item())) * lr if state["n_iter"] == 1 else lr
            gtd = _dot(flat_grad, d)
            if gtd > -tolerance_change:  # not a descent direction
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = [p.clone() for p in self._params]

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd,
                                                                  max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = _amax(flat_grad) <= tolerance_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:  # re-evaluate, unless this was the last iteration
                    with enable_grad():
                        loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = _amax(flat_grad) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if _amax(d * t) <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    def _load_state(self, op, where, p, key, v):
        """LBFGS's state (under its first parameter): counts, numbers, and flat vectors of all
        parameters (the direction, the last gradient, the history)."""
        if key in ("func_evals", "n_iter"):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
                raise ArgumentTypeError(f"[{op}] expected {where} to be an int >= 0, got {v!r}")
            return int(v)
        if key in ("t", "H_diag", "prev_loss"):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise ArgumentTypeError(f"[{op}] expected {where} to be a finite number, got {v!r}")
            return v
        if key in ("ro", "al"):
            if not isinstance(v, list) or not all(
                    x is None and key == "al" or (isinstance(x, numbers.Real) and not isinstance(x, bool)) for x in v):
                raise ArgumentTypeError(f"[{op}] expected {where} to be a list of numbers, got {_shown(v)}")
            return list(v)
        if key in ("old_dirs", "old_stps"):
            if not isinstance(v, list):
                raise ArgumentTypeError(f"[{op}] expected {where} to be a list of tensors, got {_shown(v)}")
            return [self._flat(op, f"{where}[{i}]", x) for i, x in enumerate(v)]
        if key in ("d", "prev_flat_grad"):
            return self._flat(op, where, v)
        raise ArgumentError(f"[{op}] unknown {where} (LBFGS keeps func_evals, n_iter, d, t, old_dirs, old_stps, ro, "
                            "al, H_diag, prev_flat_grad, prev_loss)")

    def _flat(self, op, where, v):
        """A saved flat vector: a floating tensor of all parameters' elements."""
        if not isinstance(v, Tensor):
            raise ArgumentTypeError(f"[{op}] expected {where} to be a tensor, got {_shown(v)}")
        if v.shape != (self._numel(),):
            raise ShapeError(f"[{op}] expected {where} to have shape ({self._numel()},) (all parameters' elements), "
                             f"got {v.shape}")
        if not is_floating(v.dtype):
            raise DTypeError(f"[{op}] expected {where} to be a floating tensor, got {v.dtype}")
        p = self._params[0]
        return v.to(p.device, dtype=p.dtype).clone()
