"""Randomized (hypothesis): the native CPU entry points (cross-entropy, linear, optimizer
steps) on random shapes (0 included), dtypes (float32/float64, and ones the kernels do not
take), strides (views that are not C-contiguous) and values (NaN, +-inf, targets out of
range, bad ignore_index), against the NumPy path (the CPU backend with its kernels
switched off): the same results, or an error of the same class. Wrong-size buffers
handed to the entry points directly must be refused before any kernel runs. Skipped
when the extension is not built."""

import numpy as np
import pytest
from helpers import KernelSwitch
from hypothesis import given
from hypothesis import strategies as st

import gpugrad as gg
from gpugrad.backend import get_backend
from gpugrad.backend.native import NativeKernels

C = pytest.importorskip("gpugrad._C", reason="the CPU extension is not built")


@pytest.fixture
def cpu():
    switch = KernelSwitch(get_backend("cpu"), NativeKernels(C))
    yield switch
    switch.restore()


def _outcome(fn):
    """fn()'s arrays, or the class of the gpugrad error it raised."""
    try:
        with np.errstate(all="ignore"):
            return fn()
    except gg.errors.GpugradError as exc:
        return type(exc)


def _agree(native, numpy_path, dt, atols=()):
    """The same error class, or arrays of the same shape, dtype, NaN and inf positions and
    values within a relative 1e-4 (float32; 1e-10 otherwise) plus ``atols`` (per array)."""
    if isinstance(numpy_path, type) or isinstance(native, type):
        assert native is numpy_path
        return
    rtol = 1e-4 if dt == np.float32 else 1e-10
    assert len(native) == len(numpy_path)
    for i, (a, r) in enumerate(zip(native, numpy_path)):
        assert a.shape == r.shape and a.dtype == r.dtype
        a, r = a.astype(np.float64), r.astype(np.float64)  # the tolerances may overflow float16
        finite = np.abs(r[np.isfinite(r)])
        atol = rtol * max(1.0, float(finite.max(initial=0.0))) + (atols[i] if i < len(atols) else 0.0)
        np.testing.assert_allclose(a, r, rtol=rtol, atol=atol)


def _layout(data, base, shape):
    """``base`` (already of ``shape``) as a C-contiguous array or as a strided view of the
    same values (transposed copy, every other column, reversed rows)."""
    kind = data.draw(st.sampled_from(["contiguous", "transposed", "strided", "reversed"]), label="layout")
    if kind == "transposed" and len(shape) == 2:
        return np.ascontiguousarray(base.T).T
    if kind == "strided" and len(shape) == 2:
        wide = np.zeros((shape[0], 2 * shape[1]), base.dtype)
        wide[:, ::2] = base
        return wide[:, ::2]
    if kind == "reversed" and shape[0] > 1:
        return np.ascontiguousarray(base[::-1])[::-1]
    return base


def _values(data, shape, dt, rng):
    """Logits of ``shape``: normal values at a drawn scale, with some NaN/+-inf/huge ones."""
    scale = data.draw(st.sampled_from([1.0, 30.0, 1e4]), label="scale")
    x = (rng.standard_normal(shape) * scale).astype(dt)
    if x.size and x.dtype.kind == "f" and data.draw(st.booleans(), label="specials"):
        picks = rng.integers(0, x.size, max(1, x.size // 10))
        with np.errstate(over="ignore"):  # 1e30 is +inf in float16
            x.flat[picks] = rng.choice([np.nan, -np.nan, np.inf, -np.inf, 1e30 if dt != np.float64 else 1e300],
                                       len(picks))
    return x


@given(data=st.data())
def test_cross_entropy_entry_points_match_numpy(cpu, data):
    n = data.draw(st.integers(0, 70), label="n")
    c = data.draw(st.sampled_from([1, 2, 7, 32, 33, 60]), label="c")
    dt = data.draw(st.sampled_from([np.float32, np.float64, np.float16, np.int32]), label="dtype")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    ignore_index = data.draw(st.sampled_from([-100, 0, c - 1, 1.5, 2**63, True]), label="ignore_index")
    ignored = -100 if isinstance(ignore_index, bool) else int(ignore_index) % 2**31
    t = rng.integers(0, c, n)
    if n and data.draw(st.booleans(), label="ignored rows"):
        t[rng.integers(0, n, max(1, n // 4))] = ignored
    x = _values(data, (n, c), dt, rng)
    # NaN/inf only in counted rows: in an ignored row the kernels give 0 (loss and gradient)
    # where the NumPy path gives NaN
    x[t == ignored] = rng.standard_normal((int((t == ignored).sum()), c))
    x = _layout(data, x, (n, c))
    if n and data.draw(st.integers(0, 9), label="bad target") == 0:
        t[rng.integers(0, n)] = data.draw(st.sampled_from([-1, c, 2**40]))
    t = t.astype(data.draw(st.sampled_from([np.int64, np.int32]), label="target dtype"))
    weight = rng.uniform(0.1, 2.0, c).astype(dt) if data.draw(st.booleans(), label="weight") else None
    kw = dict(ignore_index=ignore_index, label_smoothing=data.draw(st.sampled_from([0.0, 0.1])),
              reduction=data.draw(st.sampled_from(["none", "sum", "mean"])))
    upstream = rng.uniform(0.5, 1.5, n).astype(dt)

    def run():
        xt = gg.from_numpy(x)
        xt.requires_grad = x.dtype.kind == "f"
        loss = gg.functional.softmax_cross_entropy(xt, gg.tensor(t), None if weight is None else gg.tensor(weight),
                                                   **kw)
        if xt.requires_grad:
            loss.backward(gg.tensor(upstream) if kw["reduction"] == "none" else None)
            return loss.numpy(), xt.grad.numpy()
        return (loss.numpy(),)

    # Where |x| is large the two paths round differently: the kernels' one sweep takes
    # p = e / s, the NumPy path exp(x - lse), and lse absorbs log(s) below an ulp of |x|;
    # so a few ulps of the largest logit per class summed (loss) and per element (gradient).
    finite = np.abs(x[np.isfinite(x)]) if x.dtype.kind == "f" else np.zeros(0)
    ulp = float(np.finfo(x.dtype).eps) * max(1.0, float(finite.max(initial=0.0))) if x.dtype.kind == "f" else 0.0
    _agree(_outcome(run), _outcome(lambda: cpu.composed(run)), dt, (16 * ulp * c * max(1, n), 16 * ulp))


@given(data=st.data())
def test_linear_entry_points_match_numpy(cpu, data):
    n, k, m = (data.draw(st.integers(0, 9), label=name) for name in "nkm")
    lead = data.draw(st.sampled_from([(), (n,), (2, n)]), label="batch dims")
    dt = data.draw(st.sampled_from([np.float32, np.float64]), label="dtype")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    x = rng.standard_normal(lead + (k,)).astype(dt)
    if x.size and data.draw(st.booleans(), label="nan"):
        x.flat[rng.integers(0, x.size)] = np.nan
    x = _layout(data, x, x.shape)
    w = _layout(data, rng.standard_normal((m, k)).astype(dt), (m, k))
    b = rng.standard_normal(m).astype(dt) if data.draw(st.booleans(), label="bias") else None
    fn = data.draw(st.sampled_from([gg.functional.linear, gg.functional.linear_relu]), label="op")

    def run():
        xt, wt = gg.from_numpy(x), gg.from_numpy(w)
        xt.requires_grad = wt.requires_grad = True
        bt = None if b is None else gg.tensor(b, requires_grad=True)
        y = fn(xt, wt, bt)
        y.backward(gg.tensor(np.cos(np.arange(y.numel())).reshape(y.shape).astype(dt)))
        return (y.numpy(), xt.grad.numpy(), wt.grad.numpy()) + (() if bt is None else (bt.grad.numpy(),))

    _agree(_outcome(run), _outcome(lambda: cpu.composed(run)), dt)


@given(data=st.data())
def test_optimizer_entry_points_match_numpy(cpu, data):
    dt = data.draw(st.sampled_from([np.float32, np.float64, np.float16]), label="dtype")
    shapes = data.draw(st.lists(st.sampled_from([(0,), (1,), (5,), (3, 4), (0, 3), (2, 2, 2)]), min_size=1,
                                max_size=4), label="shapes")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    p0 = [rng.standard_normal(s).astype(dt) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dt) for s in shapes] for _ in range(2)]
    if data.draw(st.booleans(), label="nan/inf gradient"):
        g = grads[0][0]
        g.flat[: min(2, g.size)] = [np.nan, np.inf][: min(2, g.size)]
    strided = data.draw(st.booleans(), label="strided gradients")
    cls, kw = data.draw(st.sampled_from([
        (gg.optim.SGD, dict(lr=0.1)),
        (gg.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
        (gg.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
        (gg.optim.Adam, dict(lr=0.01, weight_decay=0.1)),
        (gg.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
    ]), label="optimizer")

    def run():
        ps = [gg.tensor(p, requires_grad=True) for p in p0]
        opt = cls(ps, **kw)
        for step in grads:
            for p, g in zip(ps, step):
                # a strided gradient: the kernels take contiguous ones, the step must still agree
                p.grad = gg.from_numpy(np.stack([g, g], axis=-1)[..., 0] if strided else g.copy())
            opt.step()
        return [p.numpy() for p in ps]

    _agree(_outcome(run), _outcome(lambda: cpu.composed(run)), dt)


def _wrong(data, shape):
    """``shape`` with one dimension off by a drawn amount (or a dimension more)."""
    if not shape or data.draw(st.integers(0, 4), label="extra dim") == 0:
        return shape + (1,)
    i = data.draw(st.integers(0, len(shape) - 1), label="dim")
    delta = data.draw(st.sampled_from([-1, 1, 3]), label="delta")
    return shape[:i] + (max(0, shape[i] + delta) if shape[i] + delta >= 0 else shape[i] + 1,) + shape[i + 1:]


@given(data=st.data())
def test_entry_points_refuse_wrong_size_buffers(data):
    """Each entry point called directly, with one array of a wrong shape: a ShapeError from
    the Python checks (a missing check would reach the bindings' own, a ValueError that is
    not a ShapeError, or worse, the kernel)."""
    k = NativeKernels(C)
    n, c, m = (data.draw(st.integers(0, 6), label=name) for name in ("n", "c", "m"))
    dt = data.draw(st.sampled_from([np.float32, np.float64]), label="dtype")
    f = lambda shape: np.ones(shape, dt)  # noqa: E731
    shapes = {"x": (n, c), "t": (n,), "w": (c,), "lse": (n,), "g": (n,), "y": (n, m), "gy": (n, m), "b": (m,),
              "xk": (n, c), "wk": (m, c)}
    bad = data.draw(st.sampled_from(sorted(shapes)), label="wrong array")
    shapes[bad] = _wrong(data, shapes[bad])
    a = {name: f(s) for name, s in shapes.items()}
    a["t"] = np.zeros(shapes["t"], np.int64)
    calls = {
        "x": lambda: k.cross_entropy_fwd_bwd(a["x"], np.zeros(n, np.int64), f(c), -100, 0.0, 1.0, True),
        "t": lambda: k.cross_entropy_fwd(f((n, c)), a["t"], None, -100, 0.0),
        "w": lambda: k.cross_entropy_bwd(f((n, c)), np.zeros(n, np.int64), a["w"], f(n), f(n), -100, 0.0),
        "lse": lambda: k.cross_entropy_bwd(f((n, c)), np.zeros(n, np.int64), None, a["lse"], f(n), -100, 0.0),
        "g": lambda: k.cross_entropy_bwd(f((n, c)), np.zeros(n, np.int64), None, f(n), a["g"], -100, 0.0),
        "y": lambda: k.relu_bias_bwd(f((n, m)), a["y"], True),
        "gy": lambda: k.linear_backward(a["gy"], f((n, m)), f((n, c)), f((m, c)), True, True, True),
        "b": lambda: k.bias_relu_(f((n, m)), a["b"]),
        "xk": lambda: k.linear_backward(f((n, m)), None, a["xk"], f((m, c)), False, True, True),
        "wk": lambda: k.linear_backward(f((n, m)), f((n, m)), f((n, c)), a["wk"], True, True, True),
    }
    with pytest.raises(gg.errors.ShapeError):
        calls[bad]()
    p = [f(s) for s in data.draw(st.lists(st.sampled_from([(0,), (3,), (2, 3)]), min_size=1, max_size=3))]
    i = data.draw(st.integers(0, len(p) - 1), label="wrong state")
    state = [q.copy() for q in p]
    state[i] = f(_wrong(data, p[i].shape))
    with pytest.raises(gg.errors.ShapeError):
        k.adam_step(p, [q.copy() for q in p], state, [q.copy() for q in p], 0.1, 0.9, 0.999, 1e-8, 0.0, False, 0.1,
                    0.001)
