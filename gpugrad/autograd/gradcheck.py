"""gradcheck / gradgradcheck: analytic Jacobians against central differences in float64."""

import numpy as np

from ..dtypes import is_floating
from ..errors import ArgumentError, GradcheckError
from .api import grad
from .grad_mode import enable_grad


def _as_tuple(x):
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _is_tensor(x):
    return hasattr(x, "_backend") and hasattr(x, "creator")


def _float64_leaves(inputs):
    """Fresh float64 leaf copies of the floating inputs (others pass through)."""
    out = []
    for x in inputs:
        if _is_tensor(x) and is_floating(x.dtype):
            leaf = x._like(x.array.astype(np.float64, copy=True))
            leaf.requires_grad = x.requires_grad
            out.append(leaf)
        else:
            out.append(x)
    return out


def _outputs(fn, xs):
    return [y for y in _as_tuple(fn(*xs)) if _is_tensor(y) and is_floating(y.dtype)]


def _to_host(t):
    return np.array(t._backend.to_host(t.array), dtype=np.float64)  # a copy, never a view


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check ``fn``'s gradients for every floating input with ``requires_grad=True``.

    Inputs are copied to float64; the numeric Jacobian uses two-sided differences
    (f(x + eps) - f(x - eps)) / 2 eps. On a mismatch the error (or, with
    ``raise_exception=False``, the returned False) reports the worst entry: which output
    and input, the element indices, both values and the tolerance it broke.
    """
    xs = _float64_leaves(_as_tuple(inputs))
    diff = [i for i, x in enumerate(xs) if _is_tensor(x) and x.requires_grad]
    if not diff:
        raise ArgumentError("[gradcheck] no input has requires_grad=True")
    outs = _outputs(fn, xs)
    numeric = {i: _numeric_jacobians(fn, xs, i, eps) for i in diff}  # per input: one Jacobian per output
    worst = None
    for oi, y in enumerate(outs):
        n_out = y.array.size
        analytic = [np.zeros((n_out, xs[i].array.size)) for i in diff]
        if y.requires_grad:
            for j in range(n_out):
                seed = np.zeros(n_out)
                seed[j] = 1.0
                go = y._like(y._backend.from_host(seed.reshape(y.shape).astype(y.dtype)))
                gs = grad(y, [xs[i] for i in diff], go, retain_graph=True, allow_unused=True)
                for k, g in enumerate(gs):
                    if g is not None:
                        analytic[k][j] = _to_host(g).reshape(-1)
        for k, i in enumerate(diff):
            num = numeric[i][oi]
            err = np.abs(analytic[k] - num) - (atol + rtol * np.abs(num))
            if err.size and (worst is None or err.max() > worst[0]):
                j, m = np.unravel_index(int(np.argmax(err)), err.shape)
                worst = (float(err.max()), oi, i, j, m, analytic[k][j, m], num[j, m], y.shape, xs[i].shape)
    if worst is not None and worst[0] > 0:
        _, oi, i, j, m, a, n, yshape, xshape = worst
        msg = (
            f"[gradcheck] Jacobian mismatch for output {oi} with respect to input {i}: worst entry "
            f"d out{_idx(j, yshape)} / d in{_idx(m, xshape)}: analytic {a:.8g}, numeric {n:.8g} "
            f"(|diff| {abs(a - n):.3g} > atol + rtol*|numeric| = {atol + rtol * abs(n):.3g})"
        )
        if raise_exception:
            raise GradcheckError(msg)
        return False
    return True


def _idx(flat, shape):
    return [int(i) for i in np.unravel_index(flat, shape)] if shape else "[]"


def _numeric_jacobians(fn, xs, i, eps):
    """Two-sided differences of every float output with respect to input ``i``: a list
    (one per output) of (output size, input size) arrays, from one pair of evaluations
    per input element."""
    flat = xs[i].array.reshape(-1)
    cols = []
    with enable_grad():  # fn may itself differentiate (gradgradcheck's first derivative)
        for m in range(flat.size):
            orig = flat[m].item()
            flat[m] = orig + eps
            plus = [_to_host(y).reshape(-1) for y in _outputs(fn, xs)]
            flat[m] = orig - eps
            minus = [_to_host(y).reshape(-1) for y in _outputs(fn, xs)]
            flat[m] = orig
            cols.append([(p - q) / (2 * eps) for p, q in zip(plus, minus)])
    if not cols:
        return [np.zeros((_to_host(y).size, 0)) for y in _outputs(fn, xs)]
    return [np.stack([c[oi] for c in cols], axis=1) for oi in range(len(cols[0]))]


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Check second derivatives: gradcheck of ``(x, v) -> d(fn(x) . v)/dx`` with
    ``create_graph=True``, with respect to both x and the output gradients v (random,
    seeded, unless given)."""
    xs = _float64_leaves(_as_tuple(inputs))
    diff = [i for i, x in enumerate(xs) if _is_tensor(x) and x.requires_grad]
    outs = _outputs(fn, xs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        gos = []
        for y in outs:
            g = y._like(y._backend.from_host(rng.standard_normal(y.shape)))
            g.requires_grad = True
            gos.append(g)
    else:
        gos = _float64_leaves(_as_tuple(grad_outputs))
    n = len(xs)

    def first_derivative(*args):
        pairs = [(y, v) for y, v in zip(_outputs(fn, args[:n]), args[n:]) if y.requires_grad]
        if not pairs:
            return ()
        ys, vs = zip(*pairs)
        gs = grad(list(ys), [args[i] for i in diff], list(vs), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivative, list(xs) + gos, eps, atol, rtol, raise_exception)
