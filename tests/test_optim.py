"""Optimizers against hand-written NumPy updates (and PyTorch when installed); schedules
against their formulas; state_dict round trips; sparse gradients."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import close, make

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.backend.device import Device
from gpugrad.optim import lr_scheduler as S

A = np.array([1.0, 3.0, 0.5])
B = np.array([0.2, -0.4, 1.0])
P0 = np.array([1.0, -2.0, 0.5])


def grad_of(p):  # f(p) = 0.5 sum(A p^2) + B.p
    return A * p + B


def run_gg(cls, kw, steps, device):
    p = make(P0, device, requires_grad=True)
    opt = cls([p], **kw)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (make(A, device) * p * p).sum() + (make(B, device) * p).sum()).backward()
        opt.step()
        out.append(p.numpy().copy())
    return np.array(out)


def ref_sgd(steps, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p, buf, out = P0.copy(), None, []
    for _ in range(steps):
        g = grad_of(p) + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        out.append(p)
    return np.array(out)


def ref_adam(steps, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False, amsgrad=False):
    p, m, v, vmax, out = P0.copy(), 0.0, 0.0, 0.0, []
    for t in range(1, steps + 1):
        g = grad_of(p)
        if weight_decay and decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        vmax = np.maximum(vmax, v) if amsgrad else v
        p = p - lr / (1 - betas[0] ** t) * m / (np.sqrt(vmax) / math.sqrt(1 - betas[1] ** t) + eps)
        out.append(p)
    return np.array(out)


def ref_adagrad(steps, lr, lr_decay=0.0, eps=1e-10, init=0.0):
    p, s, out = P0.copy(), np.full(3, init), []
    for t in range(1, steps + 1):
        g = grad_of(p)
        s = s + g * g
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
        out.append(p)
    return np.array(out)


def ref_rmsprop(steps, lr, alpha=0.99, eps=1e-8, momentum=0.0, centered=False):
    p, sq, ga, buf, out = P0.copy(), np.zeros(3), np.zeros(3), np.zeros(3), []
    for _ in range(steps):
        g = grad_of(p)
        sq = alpha * sq + (1 - alpha) * g * g
        if centered:
            ga = alpha * ga + (1 - alpha) * g
            avg = np.sqrt(sq - ga * ga) + eps
        else:
            avg = np.sqrt(sq) + eps
        if momentum:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
        out.append(p)
    return np.array(out)


CASES = [
    ("sgd", optim.SGD, dict(lr=0.1), lambda n: ref_sgd(n, 0.1)),
    ("sgd_momentum_wd", optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01, dampening=0.1),
     lambda n: ref_sgd(n, 0.1, 0.9, 0.1, 0.01)),
    ("sgd_nesterov", optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=True), lambda n: ref_sgd(n, 0.05, 0.8, nesterov=True)),
    ("adam", optim.Adam, dict(lr=0.1), lambda n: ref_adam(n, 0.1)),
    ("adam_l2_amsgrad", optim.Adam, dict(lr=0.1, weight_decay=0.1, amsgrad=True),
     lambda n: ref_adam(n, 0.1, weight_decay=0.1, amsgrad=True)),
    ("adamw", optim.AdamW, dict(lr=0.1, weight_decay=0.1), lambda n: ref_adam(n, 0.1, weight_decay=0.1, decoupled=True)),
    ("adagrad", optim.Adagrad, dict(lr=0.5, lr_decay=0.1, initial_accumulator_value=0.1),
     lambda n: ref_adagrad(n, 0.5, 0.1, init=0.1)),
    ("rmsprop", optim.RMSprop, dict(lr=0.01), lambda n: ref_rmsprop(n, 0.01)),
    ("rmsprop_centered_momentum", optim.RMSprop, dict(lr=0.01, momentum=0.9, centered=True),
     lambda n: ref_rmsprop(n, 0.01, momentum=0.9, centered=True)),
]


@pytest.mark.parametrize("name,cls,kw,ref", CASES, ids=[c[0] for c in CASES])
def test_optimizer_trajectory_matches_numpy(name, cls, kw, ref, device):
    np.testing.assert_allclose(run_gg(cls, kw, 6, device), ref(6), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,cls,kw,ref", CASES, ids=[c[0] for c in CASES])
def test_optimizer_trajectory_matches_pytorch(name, cls, kw, ref):
    torch = pytest.importorskip("torch")
    p = torch.tensor(P0, requires_grad=True)
    topt = getattr(torch.optim, cls.__name__)([p], **kw)
    out = []
    for _ in range(6):
        topt.zero_grad()
        (0.5 * (torch.tensor(A) * p * p).sum() + (torch.tensor(B) * p).sum()).backward()
        topt.step()
        out.append(p.detach().numpy().copy())
    np.testing.assert_allclose(run_gg(cls, kw, 6, "cpu"), np.array(out), rtol=1e-9, atol=1e-12)


def test_param_groups_state_dict_round_trip(device):
    a, b = make(P0, device, requires_grad=True), make(P0 * 2, device, requires_grad=True)
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        ((a * a).sum() + (b * b).sum()).backward()
        opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["state"][1]["step"] == 2
    a2, b2 = make(a.numpy(), device, requires_grad=True), make(b.numpy(), device, requires_grad=True)
    opt2 = optim.Adam([{"params": [a2]}, {"params": [b2], "lr": 0.5}], lr=0.1)
    opt2.load_state_dict(sd)
    for o, x, y in ((opt, a, b), (opt2, a2, b2)):
        o.zero_grad()
        ((x * x).sum() + (y * y).sum()).backward()
        o.step()
    close(a2, a.numpy(), rtol=1e-12)
    close(b2, b.numpy(), rtol=1e-12)
    with pytest.raises(gg.errors.ArgumentError, match="parameter groups"):
        optim.Adam([a2]).load_state_dict(sd)


def test_optimizer_errors(device):
    p = make([1.0], device, requires_grad=True)
    with pytest.raises(gg.errors.ArgumentError, match="empty"):
        optim.SGD([])
    with pytest.raises(gg.errors.ArgumentError, match="Nesterov"):
        optim.SGD([p], nesterov=True)
    with pytest.raises(gg.errors.ArgumentError, match="does not require grad"):
        optim.SGD([make([1.0], device)])
    with pytest.raises(gg.errors.ArgumentError, match="lr"):
        optim.SGD([p], lr=-1)


def test_sparse_adam_updates_only_seen_rows(device):
    gg.manual_seed(0)
    emb = nn.Embedding(5, 2, sparse=True).to(device)
    before = emb.weight.numpy().copy()
    opt = optim.SparseAdam(emb.parameters(), lr=0.1)
    idx = gg.tensor([1, 3, 3], device=device)
    emb(idx).sum().backward()
    opt.step()
    after = emb.weight.numpy()
    np.testing.assert_array_equal(after[[0, 2, 4]], before[[0, 2, 4]])
    # first Adam step moves each seen entry by lr * sign(gradient)
    np.testing.assert_allclose(after[[1, 3]], before[[1, 3]] - 0.1, rtol=1e-5)
    with pytest.raises(gg.errors.ArgumentTypeError, match="SparseAdam"):
        optim.Adam(emb.parameters()).step()
    dense = make([1.0], device, requires_grad=True)
    (dense * 2).sum().backward()
    with pytest.raises(gg.errors.ArgumentTypeError, match="sparse"):
        optim.SparseAdam([dense]).step()


def _lrs(make_sched, n, lr=1.0):
    p = gg.zeros(1, requires_grad=True)
    opt = optim.SGD([p], lr=lr)
    s = make_sched(opt)
    out = [opt.param_groups[0]["lr"]]
    for _ in range(n):
        opt.step()
        s.step()
        out.append(opt.param_groups[0]["lr"])
    return np.array(out)


def _cyclic(it, lo, hi, up, down, mode, gamma=1.0):
    total = up + down
    cycle = math.floor(1 + it / total)
    x = 1 + it / total - cycle
    scale = x / (up / total) if x <= up / total else (x - 1) / (up / total - 1)
    amp = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1), "exp_range": gamma**it}[mode]
    return lo + (hi - lo) * scale * amp


SCHEDULES = [
    ("step", lambda o: S.StepLR(o, 3, 0.5), lambda e: 0.5 ** (e // 3)),
    ("multistep", lambda o: S.MultiStepLR(o, [2, 5], 0.1), lambda e: 0.1 ** ((e >= 2) + (e >= 5))),
    ("exponential", lambda o: S.ExponentialLR(o, 0.9), lambda e: 0.9**e),
    ("cosine", lambda o: S.CosineAnnealingLR(o, 10, 0.01), lambda e: 0.01 + 0.99 * (1 + math.cos(math.pi * e / 10)) / 2),
    ("lambda", lambda o: S.LambdaLR(o, lambda e: 1 / (e + 1)), lambda e: 1 / (e + 1)),
    ("linear_warmup", lambda o: S.LinearLR(o, 0.25, 1.0, 4), lambda e: 0.25 + 0.75 * min(e, 4) / 4),
    ("cyclic_triangular", lambda o: S.CyclicLR(o, 0.1, 1.0, 3, 2), lambda e: _cyclic(e, 0.1, 1.0, 3, 2, "triangular")),
    ("cyclic_triangular2", lambda o: S.CyclicLR(o, 0.1, 1.0, 2, mode="triangular2"),
     lambda e: _cyclic(e, 0.1, 1.0, 2, 2, "triangular2")),
    ("cyclic_exp_range", lambda o: S.CyclicLR(o, 0.1, 1.0, 2, mode="exp_range", gamma=0.9),
     lambda e: _cyclic(e, 0.1, 1.0, 2, 2, "exp_range", 0.9)),
]


@pytest.mark.parametrize("name,make_sched,formula", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_schedules_follow_their_formulas(name, make_sched, formula):
    np.testing.assert_allclose(_lrs(make_sched, 14), [formula(e) for e in range(15)], rtol=1e-12)


def test_onecycle_shape():
    lrs = _lrs(lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=20, pct_start=0.25), 19)
    assert lrs[0] == pytest.approx(1 / 25)
    assert lrs.argmax() == 4 and lrs.max() == pytest.approx(1.0)
    assert lrs[-1] == pytest.approx(1 / 25 / 1e4)
    assert np.all(np.diff(lrs[:5]) > 0) and np.all(np.diff(lrs[4:]) < 0)
    with pytest.raises(gg.errors.ArgumentError, match="total_steps"):
        _lrs(lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=5), 6)


def test_schedules_match_pytorch():
    torch = pytest.importorskip("torch")
    TS = torch.optim.lr_scheduler
    pairs = [
        (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=20), lambda o: TS.OneCycleLR(o, max_lr=1.0, total_steps=20)),
        (lambda o: S.CyclicLR(o, 0.1, 1.0, 3, mode="triangular2"),
         lambda o: TS.CyclicLR(o, 0.1, 1.0, 3, mode="triangular2", cycle_momentum=False)),
        (lambda o: S.CosineAnnealingLR(o, 7), lambda o: TS.CosineAnnealingLR(o, 7)),
        (lambda o: S.LinearLR(o, 0.2, 1.0, 5), lambda o: TS.LinearLR(o, 0.2, 1.0, 5)),
    ]
    for ours, theirs in pairs:
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=1.0)
        s = theirs(opt)
        ref = [opt.param_groups[0]["lr"]]
        for _ in range(19):
            opt.step()
            s.step()
            ref.append(opt.param_groups[0]["lr"])
        np.testing.assert_allclose(_lrs(ours, 19), ref, rtol=1e-9)


def test_scheduler_state_dict():
    p = gg.zeros(1, requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    s = S.StepLR(opt, 2, 0.5)
    for _ in range(3):
        s.step()
    s2 = S.StepLR(optim.SGD([gg.zeros(1, requires_grad=True)], lr=1.0), 2, 0.5)
    s2.load_state_dict(s.state_dict())
    assert s2.last_epoch == 3 and s2.get_last_lr() == s.get_last_lr()


def test_grad_of_another_dtype_shape_or_device_is_refused(device):
    p = make(P0, device, requires_grad=True)  # float64
    with pytest.raises(gg.errors.DTypeError, match="assign a gradient with dtype float32 to a tensor with dtype float64"):
        p.grad = make(P0.astype(np.float32), device)
    with pytest.raises(gg.errors.ShapeError, match=r"gradient of shape \(2,\) to a tensor of shape \(3,\)"):
        p.grad = make(P0[:2], device)
    other = "cpu" if device == "cuda" else "cuda:0"
    elsewhere = gg.Tensor._wrap(P0.copy(), SimpleNamespace(device=Device(other)))  # all the setter reads of a device
    with pytest.raises(gg.errors.DeviceError, match=f"gradient on {other} to a tensor on {device}"):
        p.grad = elsewhere
    with pytest.raises(gg.errors.ArgumentTypeError, match="Tensor or None, got ndarray"):
        p.grad = P0
    assert p.grad is None
    p.grad = make(P0, device)
    close(p.grad, P0)


def test_optimizer_step_checks_every_gradient_and_state_tensor(device):
    # .grad has other ways in than its setter, and the fused steps are public: each checks
    # before a kernel reads a float64 gradient through a float32 pointer
    p = make(P0.astype(np.float32), device, requires_grad=True)
    g32, g64 = make(np.ones(3, np.float32), device), make(np.ones(3), device)
    m, v = gg.zeros(3, device=device), gg.zeros(3, device=device)
    with pytest.raises(gg.errors.DTypeError,
                       match=r"expected the gradient of parameter 0 \(shape \(3,\), float32.*\) to be float32, got float64"):
        gg.functional.adam_step_([p], [g64], [m], [v], 0.1, 0.9, 0.999, 1e-8, 0.0, False, 1)
    with pytest.raises(gg.errors.ShapeError, match=r"second moment of parameter 0 .* to have shape \(3,\), got \(2,\)"):
        gg.functional.adam_step_([p], [g32], [m], [gg.zeros(2, device=device)], 0.1, 0.9, 0.999, 1e-8, 0.0, False, 1)
    with pytest.raises(gg.errors.DTypeError, match="momentum buffer of parameter 1 .* to be float32, got float64"):
        gg.functional.sgd_step_([p, p], [g32, g32], [m, make(np.zeros(3), device)], 0.1, momentum=0.9)
    with pytest.raises(gg.errors.ArgumentTypeError, match="momentum buffer of parameter 0 .* got NoneType"):
        gg.functional.sgd_step_([p, p], [g32, g32], [None, m], 0.1, momentum=0.9)
    with pytest.raises(gg.errors.ArgumentError, match="got 1 parameters but 2 gradients"):
        gg.functional.sgd_step_([p], [g32, g32], [None], 0.1)
    close(p, P0)  # nothing ran
    gg.functional.sgd_step_([p], [g32], [None], 0.5)
    close(p, P0 - 0.5)


def test_duplicate_parameters_are_refused():
    p, q = gg.zeros(2, requires_grad=True), gg.zeros(3, requires_grad=True)
    with pytest.raises(gg.errors.ArgumentError, match="optimizer contains a parameter group with duplicate parameters"):
        optim.SGD([p, q, p])
    opt = optim.Adam([p])
    with pytest.raises(gg.errors.ArgumentError, match="duplicate parameters"):
        opt.add_param_group({"params": [q, q]})
    with pytest.raises(gg.errors.ArgumentError, match="more than one group"):
        opt.add_param_group({"params": [q, p]})
    assert len(opt.param_groups) == 1


P16 = np.array([0.5, -0.25, 0.125, 1.0], np.float16)
G16 = np.array([1e-3, -1e-3, 2e-3, -4e-3], np.float16)  # 0.001 * g**2 is 0 in float16


def _within_float16_rounding(got, want, ulps):
    assert got.dtype == np.float16 and np.isfinite(got).all()
    np.testing.assert_array_less(np.abs(got.astype(np.float64) - want), ulps * np.spacing(np.abs(got)) + 1e-12)


def test_float16_adam_with_small_gradients_matches_float32(device):
    p = make(P16, device, requires_grad=True)
    opt = optim.Adam([p], lr=1e-2)
    ref, m, v = P16.astype(np.float32), np.zeros(4, np.float32), np.zeros(4, np.float32)
    for t in range(1, 6):
        p.grad = make(G16, device)
        opt.step()
        # float32 Adam, the parameter rounded to float16 after each step as the step stores it
        g = G16.astype(np.float32)
        m = 0.9 * m + np.float32(0.1) * g
        v = 0.999 * v + np.float32(0.001) * g * g
        ref = (ref - np.float32(1e-2 / (1 - 0.9**t)) * m / (np.sqrt(v) / np.float32(np.sqrt(1 - 0.999**t)) + 1e-8))
        ref = ref.astype(np.float16).astype(np.float32)
        _within_float16_rounding(p.numpy(), ref, 1)
    np.testing.assert_allclose(p.numpy().astype(np.float64), P16 - 5e-2 * np.sign(G16), atol=2e-3)  # lr per step
    assert {opt.state[p][k].dtype for k in ("exp_avg", "exp_avg_sq")} == {gg.float32}


F16_CASES = [
    (optim.SGD, dict(momentum=0.9)),
    (optim.SGD, dict(momentum=0.9, nesterov=True)),
    (optim.Adam, dict(amsgrad=True)),
    (optim.AdamW, dict(weight_decay=0.0)),
    (optim.Adagrad, dict()),
    (optim.RMSprop, dict(momentum=0.9, centered=True)),
]


@pytest.mark.parametrize("cls,kw", F16_CASES, ids=[f"{c.__name__}-{'-'.join(k)}" for c, k in F16_CASES])
def test_float16_parameters_keep_float32_state(device, cls, kw):
    runs, states = {}, {}
    for dt in (np.float16, np.float32):
        p = make(P16.astype(dt), device, requires_grad=True)
        opt = cls([p], lr=1e-2, **kw)
        for _ in range(3):
            p.grad = make(G16.astype(dt), device)
            opt.step()
        state = {k: t for k, t in opt.state[p].items() if isinstance(t, gg.Tensor)}
        assert state and {t.dtype for t in state.values()} == {gg.float32}
        runs[dt], states[dt] = p.numpy(), {k: t.numpy() for k, t in state.items()}
    # the updates do not depend on p here: the state is the float32 run's, and float16
    # differs by its roundings of p alone
    for k, s in states[np.float32].items():
        np.testing.assert_allclose(states[np.float16][k], s, rtol=1e-5, atol=1e-12, err_msg=k)
    _within_float16_rounding(runs[np.float16], runs[np.float32], 2)


def test_float16_moments_of_an_old_state_dict_are_upcast(device):
    p = make(P16, device, requires_grad=True)
    opt = optim.Adam([p], lr=1e-2)
    p.grad = make(G16, device)
    opt.step()
    sd = opt.state_dict()
    old = {"param_groups": sd["param_groups"],
           "state": {0: {"step": 1, "exp_avg": sd["state"][0]["exp_avg"].half(),
                         "exp_avg_sq": gg.full((4,), 1e-4, dtype=gg.float16, device=device)}}}
    q = make(P16, device, requires_grad=True)
    opt2 = optim.Adam([q], lr=1e-2)
    opt2.load_state_dict(old)
    assert {opt2.state[q][k].dtype for k in ("exp_avg", "exp_avg_sq")} == {gg.float32}
    q.grad = make(G16, device)
    opt2.step()
    assert q.dtype == gg.float16 and np.isfinite(q.numpy()).all()


# -- SparseAdam's eps, cycled momentum: as PyTorch --------------------------------------------
_EMB_W = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0], [0.1, 0.2], [1.0, -0.5]])
_EMB_ROWS = [[1, 3, 3], [0, 1], [4], [1, 2, 2, 2], [3]]  # the rows looked up at each step, in turn


def _sparse_adam_ref(steps, lr, betas, eps):
    """SparseAdam by hand (PyTorch's torch/optim/_functional.py sparse_adam): for the rows
    seen, m and v updated, then p -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps), t
    counting the steps."""
    w, m, v = _EMB_W.copy(), np.zeros_like(_EMB_W), np.zeros_like(_EMB_W)
    b1, b2 = betas
    out = []
    for t in range(1, steps + 1):
        rows = _EMB_ROWS[(t - 1) % len(_EMB_ROWS)]
        g = np.zeros_like(w)
        for r in rows:
            g[r] += np.array([1.0, -2.0]) * w[r].sum()  # see _sparse_adam_run's loss
        seen = sorted(set(rows))
        m[seen] = b1 * m[seen] + (1 - b1) * g[seen]
        v[seen] = b2 * v[seen] + (1 - b2) * g[seen] ** 2
        w[seen] -= lr * math.sqrt(1 - b2**t) / (1 - b1**t) * m[seen] / (np.sqrt(v[seen]) + eps)
        out.append(w.copy())
    return np.array(out)


def _sparse_adam_run(lib, steps, lr, betas, eps, device="cpu"):
    """The same steps with ``lib`` (gpugrad or torch): loss = sum over looked-up rows r of
    (emb(r) . [1, -2]) * stop_grad(sum(emb(r))), whose gradient is [1, -2] sum(w_r) per look-up."""
    kw = {"device": device} if lib is gg else {}
    emb = lib.nn.Embedding(5, 2, sparse=True, **kw)
    with lib.no_grad():
        emb.weight.copy_(lib.tensor(_EMB_W, dtype=emb.weight.dtype, **kw))
    opt = lib.optim.SparseAdam(emb.parameters(), lr=lr, betas=betas, eps=eps)
    coef = lib.tensor([1.0, -2.0], dtype=emb.weight.dtype, **kw)
    out = []
    for t in range(steps):
        idx = lib.tensor(_EMB_ROWS[t % len(_EMB_ROWS)], **kw)
        e = emb(idx)
        ((e * coef).sum(1) * e.detach().sum(1)).sum().backward()
        opt.step()
        opt.zero_grad()
        out.append(emb.weight.detach().numpy().copy())
    return np.array(out)


def test_sparse_adam_adds_eps_before_the_bias_correction(device):
    """20 steps at eps=1e-3 (large enough for where it is added to matter) against the hand
    formula; an eps added after the bias correction (as Adam's) ends up 1e-2 away."""
    got = _sparse_adam_run(gg, 20, 0.05, (0.9, 0.999), 1e-3, device)
    want = _sparse_adam_ref(20, 0.05, (0.9, 0.999), 1e-3)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.torch
def test_sparse_adam_trajectory_matches_pytorch():
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float32)
    got = _sparse_adam_run(gg, 20, 0.05, (0.9, 0.999), 1e-3)
    want = _sparse_adam_run(torch, 20, 0.05, (0.9, 0.999), 1e-3)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(want, _sparse_adam_ref(20, 0.05, (0.9, 0.999), 1e-3), rtol=1e-5, atol=1e-6)


def _lr_and_momentum(lib, make_opt, make_sched, n):
    """(lr, momentum or beta1) of the first group before stepping and after each of n steps."""
    p = lib.zeros(1, requires_grad=True)
    opt = make_opt(lib, p)
    s = make_sched(lib, opt)
    out = []
    for i in range(n + 1):
        g = opt.param_groups[0]
        out.append((g["lr"], g["betas"][0] if "betas" in g else g["momentum"]))
        if i < n:
            opt.step()
            s.step()
    return np.array(out)


_SGD = lambda lib, p: lib.optim.SGD([p], lr=0.1, momentum=0.9)  # noqa: E731
_ADAM = lambda lib, p: lib.optim.Adam([p], lr=0.1, betas=(0.5, 0.99))  # noqa: E731
CYCLED = {  # (optimizer, scheduler), each made with gpugrad or torch
    "cyclic-sgd": (_SGD, lambda lib, o: lib.optim.lr_scheduler.CyclicLR(o, 0.1, 1.0, 3, 2)),
    "cyclic-adam-triangular2": (_ADAM, lambda lib, o: lib.optim.lr_scheduler.CyclicLR(
        o, 0.1, 1.0, 2, mode="triangular2", base_momentum=0.6, max_momentum=0.95)),
    "cyclic-exp_range": (_SGD, lambda lib, o: lib.optim.lr_scheduler.CyclicLR(
        o, 0.1, 1.0, 2, mode="exp_range", gamma=0.9)),
    "onecycle-sgd": (_SGD, lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=20)),
    "onecycle-adam-linear": (_ADAM, lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(
        o, max_lr=1.0, total_steps=15, pct_start=0.4, anneal_strategy="linear", base_momentum=0.7)),
    "cyclic-sgd-off": (_SGD, lambda lib, o: lib.optim.lr_scheduler.CyclicLR(o, 0.1, 1.0, 3, cycle_momentum=False)),
}


def _cycled_by_hand(name, n):
    """The momentum each schedule should give, from its learning rates: it moves against the
    learning rate by the same fraction of its range (CyclicLR: max - (max - base) * lr's
    fraction; OneCycleLR: down from max to base while lr rises, then back)."""
    lrs = _lr_and_momentum(gg, *CYCLED[name], n)[:, 0]
    if name.startswith("cyclic"):
        lo_m, hi_m = {"cyclic-adam-triangular2": (0.6, 0.95)}.get(name, (0.8, 0.9))
        if name.endswith("off"):
            return np.full(n + 1, 0.9)
        return hi_m - (hi_m - lo_m) * (lrs - 0.1) / (1.0 - 0.1)
    total, pct_start, base_m, anneal = (20, 0.3, 0.85, "cos") if name == "onecycle-sgd" else (15, 0.4, 0.7, "linear")
    interp = (lambda a, b, f: b + (a - b) / 2 * (math.cos(math.pi * f) + 1)) if anneal == "cos" else \
        (lambda a, b, f: a + (b - a) * f)
    up = pct_start * total - 1
    return np.array([interp(0.95, base_m, i / up) if i <= up else interp(base_m, 0.95, (i - up) / (total - 1 - up))
                     for i in range(n + 1)])


@pytest.mark.parametrize("name", list(CYCLED))
def test_cyclic_schedules_cycle_momentum(name):
    n = 14
    got = _lr_and_momentum(gg, *CYCLED[name], n)
    np.testing.assert_allclose(got[:, 1], _cycled_by_hand(name, n), rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("name", list(CYCLED))
def test_cyclic_schedules_lr_and_momentum_match_pytorch(name):
    torch = pytest.importorskip("torch")
    n = 14
    np.testing.assert_allclose(_lr_and_momentum(gg, *CYCLED[name], n), _lr_and_momentum(torch, *CYCLED[name], n),
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("sched", ["CyclicLR", "OneCycleLR"])
def test_cycling_momentum_needs_an_optimizer_with_momentum(sched):
    """As PyTorch: cycle_momentum=True (the default) on an optimizer without momentum or betas
    (Adagrad) is an error naming the way out; cycle_momentum=False schedules only lr."""
    args = {"CyclicLR": dict(base_lr=0.1, max_lr=1.0), "OneCycleLR": dict(max_lr=1.0, total_steps=10)}[sched]
    make = getattr(S, sched)
    with pytest.raises(gg.errors.ArgumentError, match=rf"\[{sched}\] expected an optimizer with momentum or betas.*"
                                                     r"got Adagrad.*cycle_momentum=False"):
        make(optim.Adagrad([gg.zeros(1, requires_grad=True)], lr=0.1), **args)
    opt = optim.Adagrad([gg.zeros(1, requires_grad=True)], lr=0.1)
    make(opt, cycle_momentum=False, **args).step()
    assert "momentum" not in opt.param_groups[0] and "betas" not in opt.param_groups[0]
