"""Issue 17, optim: NAdam, RAdam, Adamax, Adadelta, ASGD, Rprop and LBFGS against hand-written
NumPy updates and known properties (and PyTorch's trajectories when installed); ``maximize``
and PyTorch's implementation switches on every optimizer; state_dict, deepcopy and pickle
round trips; the schedules ConstantLR, PolynomialLR, MultiplicativeLR,
CosineAnnealingWarmRestarts, SequentialLR and ChainedScheduler against their formulas and
PyTorch; every schedule's state_dict round trip."""

import copy
import inspect
import math
import pickle

import numpy as np
import pytest
from helpers import make

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.errors import ArgumentError, ArgumentTypeError, ShapeError
from gpugrad.optim import lr_scheduler as S

A = np.array([1.0, 3.0, 0.5, 2.0])
B = np.array([0.2, -0.4, 1.0, -0.3])
P0 = np.array([1.0, -2.0, 0.5, 0.7])
ROSEN0 = np.array([-1.2, 1.0])


def quartic(lib, p, device=None):
    """f(p) = 0.5 sum(A p^2) + B.p + 0.1 sum(p^4): convex, not quadratic."""
    kw = {"device": device} if lib is gg else {}
    return 0.5 * (lib.tensor(A, **kw) * p * p).sum() + (lib.tensor(B, **kw) * p).sum() + 0.1 * (p**4).sum()


def quartic_grad(p):
    return A * p + B + 0.4 * p**3


def rosenbrock(lib, p, device=None):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def trajectory(lib, name, kw, device="cpu", steps=20, loss=quartic, start=P0, sign=1.0):
    """The parameters after each of ``steps`` steps of optimizer ``name`` (gpugrad or torch)
    on ``sign * loss``, from ``start``, in float64."""
    if lib is gg:
        p = make(start, device, requires_grad=True)
    else:
        p = lib.tensor(start, dtype=lib.float64, requires_grad=True)
    opt = getattr(lib.optim, name)([p], **kw)
    out = []
    for _ in range(steps):
        def closure():
            opt.zero_grad()
            value = sign * loss(lib, p, device)
            value.backward()
            return value

        opt.step(closure)
        out.append(p.detach().numpy().copy())
    return np.array(out)


@pytest.fixture
def torch64():
    """torch with float64 as its default dtype: its optimizers keep scalar state (NAdam's
    mu_product, ASGD's eta and mu) in the default dtype, gpugrad in Python floats."""
    torch = pytest.importorskip("torch")
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(before)


# -- hand-written NumPy updates (PyTorch's documented algorithms) -------------------------------
def ref_nadam(steps, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3, decoupled=False):
    p, m, v, mu_prod, out = P0.copy(), 0.0, 0.0, 1.0, []
    b1, b2 = betas
    for t in range(1, steps + 1):
        g = quartic_grad(p)
        if weight_decay and decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * p
        mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_prod *= mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v / (1 - b2**t)) + eps
        p = p - lr * (1 - mu) / (1 - mu_prod) * g / denom - lr * mu_next / (1 - mu_prod * mu_next) * m / denom
        out.append(p)
    return np.array(out)


def ref_radam(steps, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    p, m, v, out = P0.copy(), 0.0, 0.0, []
    b1, b2 = betas
    rho_inf = 2 / (1 - b2) - 1
    for t in range(1, steps + 1):
        g = quartic_grad(p)
        if weight_decay and decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho_t > 5:  # rectified adaptive step
            r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p = p - lr * m_hat * r * math.sqrt(1 - b2**t) / (np.sqrt(v) + eps)
        else:  # SGD with momentum while the variance is not trusted
            p = p - lr * m_hat
        out.append(p)
    return np.array(out)


def ref_adamax(steps, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    p, m, u, out = P0.copy(), 0.0, 0.0, []
    b1, b2 = betas
    for t in range(1, steps + 1):
        g = quartic_grad(p) + weight_decay * p
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        p = p - lr / (1 - b1**t) * m / u
        out.append(p)
    return np.array(out)


def ref_adadelta(steps, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    p, sq, acc, out = P0.copy(), 0.0, 0.0, []
    for _ in range(steps):
        g = quartic_grad(p) + weight_decay * p
        sq = rho * sq + (1 - rho) * g * g
        delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * g
        acc = rho * acc + (1 - rho) * delta * delta
        p = p - lr * delta
        out.append(p)
    return np.array(out)


def ref_asgd(steps, lr, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0):
    p, eta, mu, ax, out, axs = P0.copy(), lr, 1.0, None, [], []
    for t in range(1, steps + 1):
        g = quartic_grad(p) + weight_decay * p
        p = p * (1 - lambd * eta) - eta * g
        ax = p.copy() if mu == 1 else ax + mu * (p - ax)
        eta = lr / (1 + lambd * lr * t) ** alpha
        mu = 1 / max(1, t - t0)
        out.append(p)
        axs.append(ax)
    return np.array(out), np.array(axs)


def ref_rprop(steps, lr, etas=(0.5, 1.2), step_sizes=(1e-6, 50)):
    p, prev, size, out = P0.copy(), np.zeros(4), np.full(4, lr), []
    for _ in range(steps):
        g = quartic_grad(p)
        s = np.sign(g * prev)
        size = np.clip(size * np.where(s > 0, etas[1], np.where(s < 0, etas[0], 1.0)), *step_sizes)
        g = np.where(s < 0, 0.0, g)  # a sign flip: no step this time
        p = p - np.sign(g) * size
        prev = g
        out.append(p)
    return np.array(out)


HAND = [
    ("nadam", "NAdam", dict(lr=0.05), lambda n: ref_nadam(n, 0.05)),
    ("nadam_l2", "NAdam", dict(lr=0.05, weight_decay=0.1, momentum_decay=0.01),
     lambda n: ref_nadam(n, 0.05, weight_decay=0.1, momentum_decay=0.01)),
    ("nadam_decoupled", "NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True),
     lambda n: ref_nadam(n, 0.05, weight_decay=0.1, decoupled=True)),
    ("radam", "RAdam", dict(lr=0.05), lambda n: ref_radam(n, 0.05)),  # rho_t <= 5 for the first 5 steps
    ("radam_l2", "RAdam", dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1),
     lambda n: ref_radam(n, 0.05, (0.8, 0.9), weight_decay=0.1)),
    ("radam_decoupled", "RAdam", dict(lr=0.05, betas=(0.8, 0.7), weight_decay=0.1, decoupled_weight_decay=True),
     lambda n: ref_radam(n, 0.05, (0.8, 0.7), weight_decay=0.1, decoupled=True)),
    ("adamax", "Adamax", dict(lr=0.05, weight_decay=0.1), lambda n: ref_adamax(n, 0.05, weight_decay=0.1)),
    ("adadelta", "Adadelta", dict(), lambda n: ref_adadelta(n)),
    ("adadelta_wd", "Adadelta", dict(lr=0.5, rho=0.5, weight_decay=0.1),
     lambda n: ref_adadelta(n, 0.5, 0.5, weight_decay=0.1)),
    ("asgd", "ASGD", dict(lr=0.05, lambd=0.01, t0=5), lambda n: ref_asgd(n, 0.05, 0.01, t0=5)[0]),
    ("asgd_wd", "ASGD", dict(lr=0.05, weight_decay=0.1), lambda n: ref_asgd(n, 0.05, weight_decay=0.1)[0]),
    ("rprop", "Rprop", dict(lr=0.05), lambda n: ref_rprop(n, 0.05)),
    ("rprop_bounded", "Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(0.01, 0.2)),
     lambda n: ref_rprop(n, 0.05, (0.3, 1.5), (0.01, 0.2))),
]


@pytest.mark.parametrize("case", HAND, ids=[c[0] for c in HAND])
def test_new_optimizers_follow_their_update_rules(device, case):
    _, name, kw, ref = case
    np.testing.assert_allclose(trajectory(gg, name, kw, device), ref(20), rtol=1e-10, atol=1e-12)


LBFGS_CASES = [
    dict(lr=1, max_iter=2, line_search_fn="strong_wolfe"),
    dict(lr=0.1, max_iter=3),
    dict(lr=0.5, max_iter=4, max_eval=5, history_size=3, line_search_fn="strong_wolfe"),
]
TORCH_CASES = [(c[0], c[1], c[2]) for c in HAND] + [
    ("adamax_betas", "Adamax", dict(lr=0.05, betas=(0.5, 0.8), eps=1e-3)),
    ("rprop_maximize", "Rprop", dict(lr=0.05, maximize=True)),
    ("nadam_maximize", "NAdam", dict(lr=0.05, maximize=True, weight_decay=0.1)),
] + [(f"lbfgs{i}", "LBFGS", kw) for i, kw in enumerate(LBFGS_CASES)]


@pytest.mark.torch
@pytest.mark.parametrize("case", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_new_optimizers_follow_pytorch_for_20_steps(device, torch64, case):
    """float64 on both sides; LBFGS on the Rosenbrock function (its line search and history at
    work), the others on the quartic; maximize runs ascend the negated function."""
    _, name, kw = case
    extra = dict(loss=rosenbrock, start=ROSEN0) if name == "LBFGS" else {}
    if kw.get("maximize"):
        extra["sign"] = -1.0
    got = trajectory(gg, name, kw, device, **extra)
    want = trajectory(torch64, name, kw, **extra)
    assert np.abs(want[-1] - want[0]).max() > 0.02  # the trajectory goes somewhere
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)


# -- known properties ---------------------------------------------------------------------------
def test_lbfgs_first_step_and_convergence_on_a_quadratic(device):
    """Its first iteration is steepest descent of length min(1, 1/|g|_1) lr; with the
    strong-Wolfe search and enough history it finds the minimiser of a convex quadratic
    0.5 p.Ap + b.p, -b/A, to 1e-8 in one step of up to 20 iterations."""
    def quad(lib, p, dev):
        return 0.5 * (make(A, dev) * p * p).sum() + (make(B, dev) * p).sum()

    p = make(P0, device, requires_grad=True)
    opt = optim.LBFGS([p], lr=1, max_iter=1)
    g0 = A * P0 + B

    def closure():
        opt.zero_grad()
        loss = quad(gg, p, device)
        loss.backward()
        return loss

    first = opt.step(closure)
    assert float(first) == pytest.approx(0.5 * (A * P0 * P0).sum() + (B * P0).sum())
    np.testing.assert_allclose(p.numpy(), P0 - min(1, 1 / np.abs(g0).sum()) * g0, rtol=1e-12)
    assert opt.state[p]["func_evals"] == 1 and opt.state[p]["n_iter"] == 1

    p = make(P0, device, requires_grad=True)
    opt = optim.LBFGS([p], line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-14)
    opt.step(closure)
    np.testing.assert_allclose(p.numpy(), -B / A, rtol=1e-6, atol=1e-7)  # it stops once the loss stalls
    assert opt.state[p]["n_iter"] <= 20


def test_lbfgs_solves_rosenbrock_and_stops_at_tolerance(device):
    p = make(ROSEN0, device, requires_grad=True)
    opt = optim.LBFGS([p], lr=1, max_iter=100, history_size=10, line_search_fn="strong_wolfe")
    calls = []

    def closure():
        opt.zero_grad()
        loss = rosenbrock(gg, p)
        loss.backward()
        calls.append(1)
        return loss

    opt.step(closure)
    np.testing.assert_allclose(p.numpy(), [1.0, 1.0], atol=1e-5)
    assert len(calls) == opt.state[p]["func_evals"] <= 125  # max_eval = max_iter * 5 // 4
    before = len(calls)
    opt.step(closure)  # the gradient is below tolerance_grad now: one evaluation, no move
    np.testing.assert_allclose(p.numpy(), [1.0, 1.0], atol=1e-5)
    assert len(calls) - before <= 3


def test_lbfgs_takes_several_parameters_and_missing_gradients(device):
    """All parameters are one vector; one without a gradient counts as zeros (it stays)."""
    a, b = make(np.array([2.0, -1.0]), device, requires_grad=True), make(np.array([[0.5]]), device, requires_grad=True)
    frozen = make(np.array([3.0]), device, requires_grad=True)
    opt = optim.LBFGS([a, frozen, b], line_search_fn="strong_wolfe", tolerance_grad=1e-12)

    def closure():
        opt.zero_grad()
        loss = ((a - 1.0) ** 2).sum() + 4 * ((b + 2.0) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(a.numpy(), [1.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(b.numpy(), [[-2.0]], atol=1e-6)
    assert frozen.numpy().tolist() == [3.0]
    assert opt.state[a]["d"].shape == (4,)


def test_asgd_averages_the_iterates_from_t0(device):
    """With t0 = 0, ax after step t is the mean of the iterates p_2 .. p_t (PyTorch's
    schedule for mu); with lambd = alpha = 0 the steps are plain SGD."""
    p = make(P0, device, requires_grad=True)
    opt = optim.ASGD([p], lr=0.05, lambd=0.0, alpha=0.0, t0=0)
    ps, p_sgd = [], P0.copy()
    for _ in range(8):
        opt.zero_grad()
        quartic(gg, p, device).backward()
        opt.step()
        ps.append(p.numpy().copy())
        p_sgd = p_sgd - 0.05 * quartic_grad(p_sgd)
        np.testing.assert_allclose(ps[-1], p_sgd, rtol=1e-12)
    np.testing.assert_allclose(opt.state[p]["ax"].numpy(), np.mean(ps[1:], axis=0), rtol=1e-12)
    _, axs = ref_asgd(8, 0.05, 0.0, 0.0, 0)
    np.testing.assert_allclose(opt.state[p]["ax"].numpy(), axs[-1], rtol=1e-12)


def test_rprop_moves_by_its_step_sizes(device):
    """The first step moves each entry by lr against its gradient's sign; while signs stay,
    step sizes grow by etaplus up to step_sizes[1]."""
    p = make(np.array([5.0, -5.0]), device, requires_grad=True)
    opt = optim.Rprop([p], lr=0.1, etas=(0.5, 2.0), step_sizes=(1e-3, 0.5))
    moves = []
    for _ in range(5):
        before = p.numpy().copy()
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
        moves.append(p.numpy() - before)
    np.testing.assert_allclose(np.array(moves)[:, 0], [-0.1, -0.2, -0.4, -0.5, -0.5], rtol=1e-12)
    np.testing.assert_allclose(np.array(moves)[:, 1], [0.1, 0.2, 0.4, 0.5, 0.5], rtol=1e-12)


def test_adamax_first_step_is_lr_times_the_sign(device):
    """m = (1 - b1) g and u = |g| + eps after one step: the move is lr g / (|g| + eps)."""
    p = make(P0, device, requires_grad=True)
    opt = optim.Adamax([p], lr=0.01, eps=0.0)
    quartic(gg, p, device).backward()
    opt.step()
    np.testing.assert_allclose(p.numpy(), P0 - 0.01 * np.sign(quartic_grad(P0)), rtol=1e-12)


# -- maximize and the implementation switches -----------------------------------------------------
def _grad_step_runs(name, kw, device, sign):
    return trajectory(gg, name, kw, device, steps=6, sign=sign)


ALL = {  # every gradient optimizer with the keywords of a run that uses its options
    "SGD": dict(lr=0.05, momentum=0.9, weight_decay=0.1, nesterov=True),
    "Adam": dict(lr=0.05, weight_decay=0.1),
    "AdamW": dict(lr=0.05, amsgrad=True),
    "Adagrad": dict(lr=0.05, weight_decay=0.1),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
    "NAdam": dict(lr=0.05, weight_decay=0.1),
    "RAdam": dict(lr=0.05),
    "Adamax": dict(lr=0.05),
    "Adadelta": dict(weight_decay=0.1),
    "ASGD": dict(lr=0.05, t0=2),
    "Rprop": dict(lr=0.05),
}


@pytest.mark.parametrize("name", list(ALL))
def test_maximize_ascends_exactly_as_minimize_descends(device, name):
    """maximize negates the gradient before anything else (weight decay included), so
    maximizing -f retraces minimizing f to the bit; fused kernels (SGD, Adam) included."""
    kw = ALL[name]
    down = _grad_step_runs(name, kw, device, 1.0)
    up = _grad_step_runs(name, dict(kw, maximize=True), device, -1.0)
    np.testing.assert_array_equal(up, down)
    assert np.abs(down[-1] - P0).max() > 0.01


def test_sparse_adam_maximize(device):
    runs = []
    for maximize, sign in ((False, 1.0), (True, -1.0)):
        gg.manual_seed(0)
        emb = nn.Embedding(4, 2, sparse=True).to(device)
        opt = optim.SparseAdam(emb.parameters(), lr=0.1, maximize=maximize)
        for rows in ([0, 2], [2, 3, 3]):
            opt.zero_grad()
            (sign * (emb(gg.tensor(rows, device=device)) ** 2).sum()).backward()
            opt.step()
        runs.append(emb.weight.numpy())
    np.testing.assert_array_equal(runs[1], runs[0])


@pytest.mark.parametrize("name", list(ALL) + ["SparseAdam", "LBFGS"])
def test_keywords_are_pytorch_s(name):
    """The same parameter names, defaults and keyword-only markers as torch.optim."""
    torch = pytest.importorskip("torch")
    ours = inspect.signature(getattr(optim, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    assert list(ours) == list(theirs)
    for k, p in theirs.items():
        if k != "params":
            assert ours[k].kind == p.kind and ours[k].default == p.default, k


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad", "NAdam", "Rprop"])
def test_foreach_and_fused_are_accepted_and_change_nothing(device, name):
    kw = ALL[name]
    flags = dict(foreach=True) if name in ("NAdam", "Rprop") else dict(foreach=False, fused=True)
    np.testing.assert_array_equal(_grad_step_runs(name, dict(kw, **flags), device, 1.0),
                                  _grad_step_runs(name, kw, device, 1.0))


@pytest.mark.parametrize("name, flag", [("Adam", "capturable"), ("Adam", "differentiable"), ("SGD", "differentiable"),
                                        ("NAdam", "capturable"), ("Rprop", "differentiable")])
def test_what_gpugrad_cannot_honour_is_refused(name, flag):
    p = gg.zeros(2, requires_grad=True)
    with pytest.raises(ArgumentError, match=rf"^\[{name}\] expected {flag}=False, got True: "):
        getattr(optim, name)([p], **{flag: True})
    with pytest.raises(ArgumentError, match=rf"^\[{name}\] expected {flag}=False"):
        getattr(optim, name)([{"params": [p], flag: True}])
    with pytest.raises(ArgumentTypeError, match=rf"^\[{name}\] expected foreach to be None or a bool, got 'yes'"):
        getattr(optim, name)([p], foreach="yes")
    with pytest.raises(ArgumentTypeError, match=rf"^\[{name}\] expected maximize to be a bool, got 1"):
        getattr(optim, name)([p], maximize=1)


@pytest.mark.parametrize("make_opt, error, match", [
    (lambda p: optim.NAdam([p], momentum_decay=-1), ArgumentError, r"^\[NAdam\] expected momentum_decay >= 0, got -1"),
    (lambda p: optim.NAdam([p], betas=(0.9, 1.0)), ArgumentError, r"^\[NAdam\] betas must be in \[0, 1\), got"),
    (lambda p: optim.RAdam([p], betas=0.9), ArgumentTypeError, r"^\[RAdam\] expected betas to be a pair"),
    (lambda p: optim.Adamax([p], eps=-1e-8), ArgumentError, r"^\[Adamax\] expected eps >= 0, got -1e-08"),
    (lambda p: optim.Adadelta([p], rho=1.5), ArgumentError, r"^\[Adadelta\] expected rho >= 0 and <= 1, got 1.5"),
    (lambda p: optim.ASGD([p], weight_decay=-0.1), ArgumentError, r"^\[ASGD\] expected weight_decay >= 0"),
    (lambda p: optim.ASGD([p], lr=-0.1), ArgumentError, r"^\[ASGD\] lr must be >= 0, got -0.1"),
    (lambda p: optim.Rprop([p], etas=(1.5, 1.2)), ArgumentError,
     r"^\[Rprop\] expected etas with 0 < etaminus < 1 < etaplus, got \(1.5, 1.2\)"),
    (lambda p: optim.Rprop([p], step_sizes=1e-6), ArgumentTypeError, r"^\[Rprop\] expected step_sizes to be a pair"),
    (lambda p: optim.LBFGS([p], line_search_fn="armijo"), ArgumentError,
     r"^\[LBFGS\] expected line_search_fn None or 'strong_wolfe', got 'armijo'"),
    (lambda p: optim.LBFGS([p], max_iter=0), ArgumentError, r"^\[LBFGS\] expected max_iter to be an int >= 1, got 0"),
    (lambda p: optim.LBFGS([p], history_size=2.5), ArgumentError, r"expected history_size to be an int >= 1"),
    (lambda p: optim.LBFGS([{"params": [p]}, {"params": [gg.zeros(1, requires_grad=True)]}]), ArgumentError,
     r"^\[LBFGS\] expected one parameter group .*got a second"),
    (lambda p: optim.LBFGS([p]).step(), ArgumentTypeError,
     r"^\[LBFGS\] step expected a closure that .* returns the loss, got None"),
])  # fmt: skip
def test_bad_arguments_are_refused(make_opt, error, match):
    with pytest.raises(error, match=match):
        make_opt(gg.zeros(2, requires_grad=True))


# -- state_dict, deepcopy and pickle ----------------------------------------------------------------
NEW = {
    "NAdam": dict(lr=0.05, weight_decay=0.1),
    "RAdam": dict(lr=0.05),
    "Adamax": dict(lr=0.05),
    "Adadelta": dict(),
    "ASGD": dict(lr=0.05, t0=1),
    "Rprop": dict(lr=0.05),
    "LBFGS": dict(lr=0.5, max_iter=3, history_size=2, line_search_fn="strong_wolfe"),
}


def _model_and_opt(name, device):
    gg.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).to(device)
    return model, getattr(optim, name)(model.parameters(), **NEW[name])


def _train(model, opt, device, steps):
    x = gg.tensor(np.linspace(-1, 1, 15).reshape(5, 3), device=device, dtype=gg.float32)
    y = gg.tensor(np.array([[0.5], [-0.2], [0.1], [0.9], [-1.0]]), device=device, dtype=gg.float32)
    for _ in range(steps):
        def closure():
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            return loss

        opt.step(closure)


@pytest.mark.parametrize("name", list(NEW))
def test_state_dict_round_trip_continues_identically(device, name):
    model, opt = _model_and_opt(name, device)
    _train(model, opt, device, 3)
    sd = copy.deepcopy(opt.state_dict())
    model2, opt2 = _model_and_opt(name, device)
    model2.load_state_dict(model.state_dict())
    opt2.load_state_dict(sd)
    _train(model, opt, device, 2)
    _train(model2, opt2, device, 2)
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(q.numpy(), p.numpy())


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
@pytest.mark.parametrize("name", list(NEW))
def test_optimizer_with_its_state_copies(device, name, how):
    model, opt = _model_and_opt(name, device)
    _train(model, opt, device, 3)
    model2, opt2 = pickle.loads(pickle.dumps((model, opt))) if how == "pickle" else copy.deepcopy((model, opt))
    assert type(opt2) is type(opt) and all(a is b for a, b in zip(opt2.param_groups[0]["params"], model2.parameters()))
    _train(model, opt, device, 2)
    _train(model2, opt2, device, 2)
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(q.numpy(), p.numpy())


def test_loaded_state_is_checked_for_the_new_kinds_of_state():
    p = gg.zeros(4, requires_grad=True, dtype=gg.float64)
    model, opt = _model_and_opt("NAdam", "cpu")
    _train(model, opt, "cpu", 1)
    sd = opt.state_dict()
    sd["state"][0]["mu_product"] = "0.9"
    with pytest.raises(ArgumentTypeError, match=r"\[NAdam.load_state_dict\] expected state 'mu_product' of "
                                                r"parameter 0 to be a number, got '0.9'"):
        _model_and_opt("NAdam", "cpu")[1].load_state_dict(sd)
    opt = optim.LBFGS([p], max_iter=2)

    def closure():
        opt.zero_grad()
        loss = ((p - 1.0) ** 4).sum()
        loss.backward()
        return loss

    opt.step(closure)
    sd = opt.state_dict()
    assert set(sd["state"][0]) >= {"d", "old_dirs", "ro", "prev_flat_grad", "n_iter"}
    assert sd["param_groups"][0]["line_search_fn"] is None and sd["param_groups"][0]["max_eval"] == 2
    bad = copy.deepcopy(sd)
    bad["state"][0]["d"] = gg.zeros(3, dtype=gg.float64)
    with pytest.raises(ShapeError, match=r"\[LBFGS.load_state_dict\] expected state 'd' of parameter 0 to have "
                                         r"shape \(4,\) \(all parameters' elements\), got \(3,\)"):
        optim.LBFGS([gg.zeros(4, requires_grad=True, dtype=gg.float64)], max_iter=2).load_state_dict(bad)
    bad = copy.deepcopy(sd)
    bad["param_groups"][0]["line_search_fn"] = "wolfe"
    with pytest.raises(ArgumentTypeError, match=r"'line_search_fn' of group 0 to be one of \(None, 'strong_wolfe'\)"):
        optim.LBFGS([gg.zeros(4, requires_grad=True, dtype=gg.float64)]).load_state_dict(bad)
    bad["param_groups"][0].update(line_search_fn=None, max_iter=2.5)
    with pytest.raises(ArgumentTypeError, match=r"'max_iter' of group 0 to be an int >= 0, got 2.5"):
        optim.LBFGS([gg.zeros(4, requires_grad=True, dtype=gg.float64)]).load_state_dict(bad)
    q = gg.zeros(4, requires_grad=True, dtype=gg.float64)
    fresh = optim.LBFGS([q], max_iter=2)
    fresh.load_state_dict(sd)
    assert fresh.state[q]["n_iter"] == sd["state"][0]["n_iter"] >= 1
    assert len(fresh.state[q]["old_dirs"]) == len(sd["state"][0]["old_dirs"])


def test_switch_hyper_parameters_load_and_are_checked():
    """foreach/fused are None or a bool; differentiable=True cannot be loaded either."""
    opt = optim.Adam([gg.zeros(2, requires_grad=True)], foreach=None)
    sd = opt.state_dict()
    assert sd["param_groups"][0]["foreach"] is None and sd["param_groups"][0]["maximize"] is False
    sd["param_groups"][0]["foreach"] = True
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["foreach"] is True
    sd["param_groups"][0]["foreach"] = "yes"
    with pytest.raises(ArgumentTypeError, match=r"'foreach' of group 0 to be one of \(None, True, False\), got 'yes'"):
        opt.load_state_dict(sd)
    sd["param_groups"][0].update(foreach=None, differentiable=True)
    with pytest.raises(ArgumentError, match=r"^\[Adam\] expected differentiable=False"):
        opt.load_state_dict(sd)
    assert opt.param_groups[0]["differentiable"] is False and opt.param_groups[0]["foreach"] is True


# -- schedules ---------------------------------------------------------------------------------------
def _triple(e):  # module level, so that schedules holding it pickle
    return 0.9 if e % 2 else 0.95


def lrs(lib, make_sched, n=25):
    """Both groups' lrs (1.0 and 0.5 to start) before stepping and after each of n steps."""
    ps = [lib.zeros(1, requires_grad=True) for _ in range(2)]
    opt = lib.optim.SGD([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.5}], lr=1.0)
    s = make_sched(lib, opt)
    out = [[g["lr"] for g in opt.param_groups]]
    for _ in range(n):
        opt.step()
        s.step()
        out.append([g["lr"] for g in opt.param_groups])
    return np.array(out)


def L(lib):
    return lib.optim.lr_scheduler


def _cawr(e, T0, mult, lo, base):
    """SGDR by hand: find the period that epoch e falls in."""
    T, start = T0, 0
    while e >= start + T:
        start, T = start + T, T * mult
    return lo + (base - lo) * (1 + math.cos(math.pi * (e - start) / T)) / 2


SCHEDULE_FORMULAS = {  # (schedule, lr of a group with initial lr `b` at epoch e)
    "constant": (lambda lib, o: L(lib).ConstantLR(o, 0.25, 4), lambda b, e: b * (0.25 if e < 4 else 1.0)),
    "polynomial": (lambda lib, o: L(lib).PolynomialLR(o, 7, 2.0), lambda b, e: b * (1 - min(e, 7) / 7) ** 2),
    "multiplicative": (lambda lib, o: L(lib).MultiplicativeLR(o, _triple),
                       lambda b, e: b * math.prod(_triple(k) for k in range(1, e + 1))),
    "warm_restarts": (lambda lib, o: L(lib).CosineAnnealingWarmRestarts(o, 3, 2, 0.01),
                      lambda b, e: _cawr(e, 3, 2, 0.01, b)),
    "warm_restarts_mult1": (lambda lib, o: L(lib).CosineAnnealingWarmRestarts(o, 4),
                            lambda b, e: _cawr(e, 4, 1, 0.0, b)),
    "sequential": (lambda lib, o: L(lib).SequentialLR(o, [L(lib).LinearLR(o, 0.1, 1.0, 4), L(lib).ExponentialLR(o, 0.9),
                                                          L(lib).CosineAnnealingLR(o, 5, 0.05)], [5, 12]),
                   lambda b, e: (b * (0.1 + 0.9 * min(e, 4) / 4) if e < 5 else b * 0.9 ** (e - 5) if e < 12
                                 else 0.05 + (b - 0.05) * (1 + math.cos(math.pi * (e - 12) / 5)) / 2)),
    "chained": (lambda lib, o: L(lib).ChainedScheduler([L(lib).ConstantLR(o, 0.1, 3), L(lib).ExponentialLR(o, 0.9),
                                                        L(lib).MultiStepLR(o, [4, 9, 9], 0.5)]),
                lambda b, e: b * (0.1 if e < 3 else 1) * 0.9**e * 0.5 ** ((e >= 4) + 2 * (e >= 9))),
    "chained_warmup_poly": (lambda lib, o: L(lib).ChainedScheduler([L(lib).LinearLR(o, 0.2, 1.0, 5),
                                                                    L(lib).PolynomialLR(o, 20)]),
                            lambda b, e: b * (0.2 + 0.8 * min(e, 5) / 5) * (1 - min(e, 20) / 20)),
    "two_stepped_back_to_back": (
        lambda lib, o: L(lib).ChainedScheduler([L(lib).StepLR(o, 3, 0.5), L(lib).ConstantLR(o, 0.5, 2)]),
        lambda b, e: b * 0.5 ** (e // 3) * (0.5 if e < 2 else 1)),
}


@pytest.mark.parametrize("name", list(SCHEDULE_FORMULAS))
def test_schedules_follow_their_formulas(name):
    make_sched, formula = SCHEDULE_FORMULAS[name]
    want = [[formula(b, e) for b in (1.0, 0.5)] for e in range(26)]
    np.testing.assert_allclose(lrs(gg, make_sched), want, rtol=1e-12, atol=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("name", list(SCHEDULE_FORMULAS) + ["sequential_restarts", "chained_cosine", "back_to_back"])
def test_schedules_follow_pytorch(name):
    torch = pytest.importorskip("torch")
    extra = {
        "sequential_restarts": lambda lib, o: L(lib).SequentialLR(o, [
            L(lib).ConstantLR(o, 0.5, 3), L(lib).MultiplicativeLR(o, _triple), L(lib).StepLR(o, 2, 0.5),
            L(lib).CosineAnnealingWarmRestarts(o, 3)], [3, 8, 15]),
        "chained_cosine": lambda lib, o: L(lib).ChainedScheduler([
            L(lib).LinearLR(o, 0.2, 1.0, 5), L(lib).CosineAnnealingLR(o, 6, 0.01), L(lib).PolynomialLR(o, 20)]),
    }
    if name == "back_to_back":  # PyTorch's documented chaining: two schedules stepped one after the other
        def run(lib):
            p = lib.zeros(1, requires_grad=True)
            opt = lib.optim.SGD([p], lr=1.0)
            s1, s2 = L(lib).ExponentialLR(opt, 0.9), L(lib).MultiStepLR(opt, [3, 7], 0.1)
            out = []
            for _ in range(12):
                opt.step()
                s1.step()
                s2.step()
                out.append(opt.param_groups[0]["lr"])
            return out

        np.testing.assert_allclose(run(gg), run(torch), rtol=1e-12)
        return
    make_sched = extra[name] if name in extra else SCHEDULE_FORMULAS[name][0]
    np.testing.assert_allclose(lrs(gg, make_sched), lrs(torch, make_sched), rtol=1e-12, atol=1e-15)


def test_warm_restarts_take_float_epochs():
    """step(epoch) places a fractional epoch in its period (T_0 = 3, T_mult = 2: periods
    [0, 3), [3, 9), [9, 21))."""
    opt = optim.SGD([gg.zeros(1, requires_grad=True)], lr=1.0)
    s = S.CosineAnnealingWarmRestarts(opt, 3, 2, 0.1)
    for epoch in (0.5, 2.9, 3.0, 4.5, 8.99, 9.0, 20.3, 1.0):
        s.step(epoch)
        assert opt.param_groups[0]["lr"] == pytest.approx(_cawr(epoch, 3, 2, 0.1, 1.0), rel=1e-12)
        assert s.last_epoch == math.floor(epoch)
    with pytest.raises(ArgumentError, match=r"^\[CosineAnnealingWarmRestarts\] expected a number epoch >= 0, got -1"):
        s.step(-1)


@pytest.mark.torch
def test_warm_restarts_float_epochs_follow_pytorch():
    torch = pytest.importorskip("torch")
    out = []
    for lib in (gg, torch):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=1.0)
        s = L(lib).CosineAnnealingWarmRestarts(opt, 3, 2, 0.1)
        got = []
        for epoch in (0.5, 1.25, 2.9, 3.0, 4.5, 8.99, 9.0, 20.3, 1.0, 2):
            s.step(epoch)
            got.append((opt.param_groups[0]["lr"], s.T_i, s.T_cur, s.last_epoch))
        s.step()
        got.append((opt.param_groups[0]["lr"], s.T_i, s.T_cur, s.last_epoch))
        out.append(got)
    np.testing.assert_allclose(np.array(out[0], dtype=float), np.array(out[1], dtype=float), rtol=1e-12)


@pytest.mark.parametrize("make_sched, error, match", [
    (lambda o: S.ConstantLR(o, factor=1.5), ArgumentError, r"^\[ConstantLR\] expected factor in \[0, 1\], got 1.5"),
    (lambda o: S.PolynomialLR(o, total_iters=0), ArgumentError, r"^\[PolynomialLR\] expected total_iters to be an int"),
    (lambda o: S.MultiplicativeLR(o, 0.9), ArgumentTypeError,
     r"^\[MultiplicativeLR\] expected lr_lambda to be a function, got float"),
    (lambda o: S.MultiplicativeLR(o, [_triple, _triple]), ArgumentError,
     r"^\[MultiplicativeLR\] expected 1 lr_lambdas \(one per param group\), got 2"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, 0), ArgumentError,
     r"^\[CosineAnnealingWarmRestarts\] expected T_0 to be an int >= 1, got 0"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, 2, T_mult=1.5), ArgumentError, r"expected T_mult to be an int >= 1"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, 2, eta_min="0"), ArgumentTypeError, r"expected eta_min to be a number"),
    (lambda o: S.SequentialLR(o, [], []), ArgumentError, r"^\[SequentialLR\] expected at least one scheduler, got none"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(o, 3)], [1, 2]), ArgumentError,
     r"^\[SequentialLR\] expected 1 milestones \(one fewer than the schedulers\), got 2"),
    (lambda o: S.SequentialLR(o, [S.ReduceLROnPlateau(o)], []), ArgumentError,
     r"got ReduceLROnPlateau \(it needs the metric\) at index 0"),
    (lambda o: S.ChainedScheduler([S.StepLR(o, 2), "StepLR"]), ArgumentTypeError,
     r"^\[ChainedScheduler\] expected a learning-rate scheduler at index 1, got str"),
    (lambda o: S.ChainedScheduler([S.StepLR(o, 2), S.StepLR(optim.SGD([gg.zeros(1, requires_grad=True)]), 2)]),
     ArgumentError, r"^\[ChainedScheduler\] expected every scheduler to belong to the same optimizer, got StepLR at "
                    r"index 1"),
    (lambda o: S.StepLR("opt", 2), ArgumentTypeError, r"^\[StepLR\] expected an Optimizer, got str"),
])  # fmt: skip
def test_bad_schedule_arguments_are_refused(make_sched, error, match):
    with pytest.raises(error, match=match):
        make_sched(optim.SGD([gg.zeros(1, requires_grad=True)], lr=1.0))


EVERY_SCHEDULE = {  # every schedule of lr_scheduler, by class name (the test below checks none is missing)
    "StepLR": lambda o: S.StepLR(o, 2, 0.5),
    "MultiStepLR": lambda o: S.MultiStepLR(o, [1, 3], 0.5),
    "ExponentialLR": lambda o: S.ExponentialLR(o, 0.9),
    "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, 4, 0.01),
    "LambdaLR": lambda o: S.LambdaLR(o, _triple),
    "LinearLR": lambda o: S.LinearLR(o, 0.2, 1.0, 3),
    "CyclicLR": lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=2),
    "OneCycleLR": lambda o: S.OneCycleLR(o, 0.1, total_steps=12),
    "ConstantLR": lambda o: S.ConstantLR(o, 0.5, 2),
    "PolynomialLR": lambda o: S.PolynomialLR(o, 6, 1.5),
    "MultiplicativeLR": lambda o: S.MultiplicativeLR(o, _triple),
    "CosineAnnealingWarmRestarts": lambda o: S.CosineAnnealingWarmRestarts(o, 2, 2, 0.01),
    "SequentialLR": lambda o: S.SequentialLR(o, [S.ConstantLR(o, 0.5, 2), S.ExponentialLR(o, 0.8)], [2]),
    "ChainedScheduler": lambda o: S.ChainedScheduler([S.LinearLR(o, 0.5, 1.0, 2), S.ExponentialLR(o, 0.9)]),
    "ReduceLROnPlateau": lambda o: S.ReduceLROnPlateau(o, patience=0, factor=0.5),
}


def test_the_round_trip_table_holds_every_schedule():
    classes = {n for n, c in vars(S).items() if isinstance(c, type) and not n.startswith("_")
               and (issubclass(c, S.LRScheduler) or c is S.ReduceLROnPlateau) and c is not S.LRScheduler}  # fmt: skip
    assert classes == set(EVERY_SCHEDULE)


def _advance(sched, opt, n):
    out = []
    for i in range(n):
        opt.step()
        if isinstance(sched, S.ReduceLROnPlateau):
            sched.step(1.0 if i % 2 else 2.0)
        else:
            sched.step()
        out.append([g["lr"] for g in opt.param_groups] + sched.get_last_lr())
    return out


def _fresh_opt():
    return optim.SGD([{"params": [gg.zeros(1, requires_grad=True)]},
                      {"params": [gg.zeros(1, requires_grad=True)], "lr": 0.5}], lr=1.0, momentum=0.9)


@pytest.mark.parametrize("name", list(EVERY_SCHEDULE))
def test_every_schedule_state_dict_round_trip(name):
    """A schedule saved after 3 steps, loaded with its optimizer's state_dict into a fresh
    pair (PyTorch's way: the optimizer's state holds the lrs the next step works from), goes
    on as the original; its state_dict survives pickle and deepcopy."""
    opt = _fresh_opt()
    sched = EVERY_SCHEDULE[name](opt)
    _advance(sched, opt, 3)
    saved, saved_opt = copy.deepcopy(sched.state_dict()), copy.deepcopy(opt.state_dict())
    assert pickle.loads(pickle.dumps(sched.state_dict())) == sched.state_dict()
    want = _advance(sched, opt, 6)
    opt2 = _fresh_opt()
    sched2 = EVERY_SCHEDULE[name](opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    assert _advance(sched2, opt2, 6) == want


def test_loading_a_schedule_leaves_the_optimizers_lrs_as_pytorch_does():
    """A schedule's load_state_dict does not touch the optimizer: a chainable schedule loaded
    alone onto a fresh optimizer steps from that optimizer's lr, in PyTorch as here."""
    opt = _fresh_opt()
    sched = S.ExponentialLR(opt, 0.5)
    _advance(sched, opt, 2)
    opt2 = _fresh_opt()
    sched2 = S.ExponentialLR(opt2, 0.5)
    sched2.load_state_dict(sched.state_dict())
    assert [g["lr"] for g in opt2.param_groups] == [1.0, 0.5]
    sched2.step()
    assert sched2.get_last_lr() == [0.5, 0.25]
    torch = pytest.importorskip("torch")
    ps = [torch.zeros(1, requires_grad=True) for _ in range(4)]
    t1 = torch.optim.SGD([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.5}], lr=1.0, momentum=0.9)
    ts1 = torch.optim.lr_scheduler.ExponentialLR(t1, 0.5)
    for _ in range(2):
        t1.step()
        ts1.step()
    t2 = torch.optim.SGD([{"params": [ps[2]]}, {"params": [ps[3]], "lr": 0.5}], lr=1.0, momentum=0.9)
    ts2 = torch.optim.lr_scheduler.ExponentialLR(t2, 0.5)
    ts2.load_state_dict(ts1.state_dict())
    assert [g["lr"] for g in t2.param_groups] == [1.0, 0.5]
    t2.step()
    ts2.step()
    assert ts2.get_last_lr() == [0.5, 0.25]


def test_composite_state_dicts_hold_their_schedules():
    opt = _fresh_opt()
    sched = EVERY_SCHEDULE["SequentialLR"](opt)
    sd = sched.state_dict()
    assert [type(s).__name__ for s in sched._schedulers] == ["ConstantLR", "ExponentialLR"]
    assert isinstance(sd["_schedulers"], list) and len(sd["_schedulers"]) == 2 and "optimizer" not in sd
    with pytest.raises(ArgumentError, match=r"^\[SequentialLR.load_state_dict\] expected the states of 2 schedulers, "
                                            r"got 1"):
        sched.load_state_dict(dict(sd, _schedulers=sd["_schedulers"][:1]))


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
@pytest.mark.parametrize("name", ["SequentialLR", "ChainedScheduler", "MultiplicativeLR", "CosineAnnealingWarmRestarts",
                                  "PolynomialLR", "ConstantLR"])
def test_new_schedules_copy_with_their_optimizer(name, how):
    opt = _fresh_opt()
    sched = EVERY_SCHEDULE[name](opt)
    _advance(sched, opt, 3)
    opt2, sched2 = pickle.loads(pickle.dumps((opt, sched))) if how == "pickle" else copy.deepcopy((opt, sched))
    assert sched2.optimizer is opt2
    if hasattr(sched2, "_schedulers"):
        assert all(s.optimizer is opt2 for s in sched2._schedulers)
    assert _advance(sched2, opt2, 5) == _advance(sched, opt, 5)
