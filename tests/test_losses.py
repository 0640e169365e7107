"""Losses: forward against NumPy references, gradchecks, stability at extreme logits,
ignore_index / label_smoothing / weight / reduction, and the output-unit losses."""

import math

import numpy as np
import pytest
from helpers import KernelSwitch, close, make, settle

import gpugrad as gg
from gpugrad.autograd import gradcheck
from gpugrad.nn import functional as NF


def _np_log_softmax(z):
    m = z.max(1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(1, keepdims=True))


def _np_ce(z, t, weight=None, ignore=-100, smoothing=0.0, reduction="mean"):
    logp = _np_log_softmax(z)
    n, c = z.shape
    w = np.ones(c) if weight is None else weight
    keep = t != ignore
    ts = np.where(keep, t, 0)
    nll = -logp[np.arange(n), ts] * w[ts] * keep
    smooth = -(logp * w).sum(1) / c * keep
    loss = (1 - smoothing) * nll + smoothing * smooth
    if reduction == "mean":
        return loss.sum() / (w[ts] * keep).sum()
    return loss.sum() if reduction == "sum" else loss


CASES = [
    dict(),
    dict(reduction="sum"),
    dict(reduction="none"),
    dict(ignore_index=2),
    dict(label_smoothing=0.1),
    dict(weight=[0.5, 2.0, 1.0, 0.25]),
    dict(weight=[0.5, 2.0, 1.0, 0.25], label_smoothing=0.2, ignore_index=1),
]


@pytest.mark.parametrize("kw", CASES, ids=[str(k) for k in CASES])
def test_cross_entropy_matches_reference_and_gradcheck(kw, device):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 4))
    t = np.array([0, 2, 1, 3, 2, 1])
    args = dict(kw)
    wnp = np.array(args["weight"]) if "weight" in args else None
    if wnp is not None:
        args["weight"] = make(wnp, device)
    out = NF.cross_entropy(make(z, device), gg.tensor(t, device=device), **args)
    ref = _np_ce(z, t, wnp, kw.get("ignore_index", -100), kw.get("label_smoothing", 0.0), kw.get("reduction", "mean"))
    close(out, ref, rtol=1e-10)
    tt = gg.tensor(t, device=device)
    assert gradcheck(lambda a: NF.cross_entropy(a, tt, **args), [make(z, device, requires_grad=True)])


def test_cross_entropy_is_finite_for_huge_logits(device):
    z = make([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], device, dtype=gg.float32, requires_grad=True)
    t = gg.tensor([1, 2], device=device)
    loss = NF.cross_entropy(z, t)
    loss.backward()
    assert math.isfinite(loss.item()) and loss.item() == pytest.approx(1e4, rel=1e-6)
    assert np.isfinite(z.grad.numpy()).all()


def test_cross_entropy_all_ignored_and_errors(device):
    z = make(np.zeros((2, 3)), device, requires_grad=True)
    t = gg.tensor([-100, -100], device=device)
    loss = NF.cross_entropy(z, t)
    loss.backward()
    assert loss.item() == 0.0 and not z.grad.numpy().any()
    with pytest.raises(gg.errors.GpugradIndexError, match=r"target 3 of row 1 is outside \[0, 2\]"):
        settle(NF.cross_entropy(z, gg.tensor([0, 3], device=device)))
    with pytest.raises(gg.errors.ShapeError):
        NF.cross_entropy(z, gg.tensor([0, 1, 2], device=device))
    with pytest.raises(gg.errors.ArgumentError, match="reduction"):
        NF.cross_entropy(z, gg.tensor([0, 1], device=device), reduction="avg")


def test_cross_entropy_with_probabilities_and_class_dims(device):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((3, 4))
    p = rng.dirichlet(np.ones(4), 3)
    close(NF.cross_entropy(make(z, device), make(p, device)), -(p * _np_log_softmax(z)).sum(1).mean())
    z3 = rng.standard_normal((2, 4, 5))  # (N, C, d)
    t3 = rng.integers(0, 4, (2, 5))
    ref = _np_ce(z3.transpose(0, 2, 1).reshape(-1, 4), t3.reshape(-1))
    close(NF.cross_entropy(make(z3, device), gg.tensor(t3, device=device)), ref)


def test_nll_loss_on_log_probabilities(device):
    z = np.random.default_rng(2).standard_normal((5, 3))
    t = np.array([0, 1, 2, 1, 0])
    logp = make(_np_log_softmax(z), device)
    close(NF.nll_loss(logp, gg.tensor(t, device=device)), _np_ce(z, t))
    with pytest.raises(gg.errors.DTypeError, match="class indices"):
        NF.nll_loss(logp, make(t.astype(float), device))


def test_bce_with_logits_is_stable_and_correct(device):
    z = np.array([-1e4, -30.0, -1.0, 0.0, 2.0, 40.0, 1e4])
    y = np.array([1.0, 0.0, 1.0, 0.5, 0.0, 1.0, 0.0])
    ref = np.logaddexp(0, z) - y * z
    out = NF.binary_cross_entropy_with_logits(make(z, device), make(y, device), reduction="none")
    close(out, ref, rtol=1e-12)
    # exactness for 0/1 targets where softplus(z) - y z would cancel: y = 1, z = 40
    assert out.numpy()[5] == pytest.approx(math.log1p(math.exp(-40.0)), rel=1e-12)
    zz, yy = z[1:6], y[1:6]
    target = make(yy, device)
    assert gradcheck(lambda a: NF.binary_cross_entropy_with_logits(a, target), [make(zz, device, requires_grad=True)])
    pw = NF.binary_cross_entropy_with_logits(make([0.0], device), make([1.0], device), pos_weight=make([3.0], device))
    assert pw.item() == pytest.approx(3 * math.log(2))


def test_regression_losses(device):
    a, b = np.array([1.0, -2.0, 3.0]), np.array([0.5, 0.0, 3.5])
    close(NF.mse_loss(make(a, device), make(b, device)), ((a - b) ** 2).mean())
    close(NF.l1_loss(make(a, device), make(b, device), reduction="sum"), np.abs(a - b).sum())
    var = np.array([0.5, 2.0, 1.0])
    ref = 0.5 * (np.log(var) + (a - b) ** 2 / var)
    close(NF.gaussian_nll_loss(make(a, device), make(b, device), make(var, device), reduction="none"), ref)
    with pytest.raises(gg.errors.ShapeError):
        NF.mse_loss(make(a, device), make(b[:2], device))


def test_heteroscedastic_gaussian_with_softplus_precision(device):
    mu, raw, y = np.array([0.0, 1.0]), np.array([-3.0, 2.0]), np.array([0.5, -1.0])
    beta = np.log1p(np.exp(raw)) + 1e-6
    ref = (-0.5 * np.log(beta) + 0.5 * beta * (y - mu) ** 2 + 0.5 * np.log(2 * np.pi)).mean()
    close(NF.heteroscedastic_gaussian_nll(make(mu, device), make(raw, device), make(y, device)), ref)
    assert gradcheck(lambda m, r: NF.heteroscedastic_gaussian_nll(m, r, make(y, device)),
                     [make(mu, device, requires_grad=True), make(raw, device, requires_grad=True)])


def test_mixture_density_nll(device):
    rng = np.random.default_rng(3)
    n, k, d = 4, 3, 2
    logits, mean, log_std, y = rng.standard_normal((n, k)), rng.standard_normal((n, k, d)), \
        rng.uniform(-1, 0.5, (n, k, d)), rng.standard_normal((n, d))
    pi = np.exp(_np_log_softmax(logits))
    dens = np.exp(-0.5 * ((y[:, None] - mean) / np.exp(log_std)) ** 2) / (np.sqrt(2 * np.pi) * np.exp(log_std))
    ref = -np.log((pi * dens.prod(-1)).sum(1)).mean()
    args = [make(v, device, requires_grad=True) for v in (logits, mean, log_std)]
    close(NF.mdn_nll(*args, make(y, device)), ref, rtol=1e-10)
    assert gradcheck(lambda a, b, c: NF.mdn_nll(a, b, c, make(y, device)), args)
    far = NF.mdn_nll(args[0], args[1], args[2], make(y + 1e3, device))  # far from every component
    assert math.isfinite(far.item())


def test_ignored_rows_count_nothing_even_with_nan_or_inf_logits(device):
    """The kernels and the composed path alike: a row whose target is ignore_index gives
    0 loss and 0 gradient whatever its logits hold (the rows' own NaN must not leak)."""
    b = gg.backend.get_backend(device)
    switch = KernelSwitch(b, b.kernels)
    x0 = np.array([[np.nan, 1.0, 2.0], [0.5, np.inf, -1.0], [0.1, 0.2, 0.3]], np.float32)

    def run():
        x = make(x0, device, requires_grad=True)
        t = gg.tensor([-100, -100, 2], device=device)
        rows = NF.cross_entropy(x, t, reduction="none")
        rows.backward(gg.ones(3, device=device))
        g1 = x.grad.numpy()
        x.grad = None
        gx, = gg.autograd.grad(NF.cross_entropy(x, t, reduction="sum"), [x], create_graph=True)  # the graph form
        return rows.numpy(), g1, gx.numpy()

    try:
        for rows, g1, g2 in (run(), switch.composed(run)):
            assert rows[0] == 0 and rows[1] == 0 and np.isfinite(rows[2])
            assert not g1[:2].any() and not g2[:2].any() and np.isfinite(g1).all() and np.isfinite(g2).all()
    finally:
        switch.restore()
