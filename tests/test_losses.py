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


def test_cross_entropy_mean_of_an_all_ignored_batch_is_nan_and_errors(device):
    """As PyTorch: the mean over no counted target is 0 / 0 = NaN, with a 0 gradient; the sum is 0."""
    z = make(np.zeros((2, 3)), device, requires_grad=True)
    t = gg.tensor([-100, -100], device=device)
    loss = NF.cross_entropy(z, t)
    loss.backward()
    assert math.isnan(loss.item()) and not z.grad.numpy().any()
    assert NF.cross_entropy(z, t, reduction="sum").item() == 0.0
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


def test_ignored_rows_count_nothing_and_pass_nan_gradients_as_pytorch(device):
    """The kernels and the composed path alike, as PyTorch: a row whose target is ignore_index
    adds 0 to the loss whatever its logits hold, and its gradient is 0 times its probabilities
    (PyTorch's log_softmax backward): NaN in a row holding NaN or +inf, 0 in the others."""
    b = gg.backend.get_backend(device)
    switch = KernelSwitch(b, b.kernels)
    x0 = np.array([[np.nan, 1.0, 2.0], [0.5, np.inf, -1.0], [0.1, 0.2, 0.3], [-np.inf, 0.0, 1.0]], np.float32)

    def run():
        x = make(x0, device, requires_grad=True)
        t = gg.tensor([-100, -100, 2, -100], device=device)
        rows = NF.cross_entropy(x, t, reduction="none")
        rows.backward(gg.ones(4, device=device))
        g1 = x.grad.numpy()
        x.grad = None
        gx, = gg.autograd.grad(NF.cross_entropy(x, t, reduction="sum"), [x], create_graph=True)  # the graph form
        return rows.numpy(), g1, gx.numpy()

    try:
        for rows, g1, g2 in (run(), switch.composed(run)):
            assert rows[0] == 0 and rows[1] == 0 and rows[3] == 0 and np.isfinite(rows[2])
            for g in (g1, g2):
                assert np.isnan(g[:2]).all() and np.isfinite(g[2]).all() and not g[3].any()
    finally:
        switch.restore()


# -- extremes, against PyTorch ---------------------------------------------------------------
nan, inf = np.nan, np.inf

# name: (logits, targets, keyword arguments), each an input that is easy to get wrong
EXTREMES = {
    "all_ignored": (np.zeros((2, 3)), [-100, -100], {}),
    "all_ignored_smooth_w": (np.zeros((2, 3)), [-100, -100], {"label_smoothing": 0.1, "weight": [1.0, 2.0, 3.0]}),
    "empty": (np.zeros((0, 3)), [], {}),
    "ignored_nonfinite": (np.array([[0.0, 1, 2], [nan, inf, 1], [-inf, 0, 1], [inf, 0, 0]]), [1, -100, -100, -100], {}),
    "ignored_nonfinite_smooth": (np.array([[0.0, 1, 2], [nan, inf, 1], [-inf, 0, 1]]), [1, -100, -100],
                                 {"label_smoothing": 0.1}),
    "nan_weight_unused": (np.array([[0.0, 1, 2], [1, 0, 2], [3, 0, 0]]), [0, 1, -100], {"weight": [1.0, 2.0, nan]}),
    "equal_1e30": (np.array([[1e30] * 3, [-1e30] * 3]), [0, 2], {}),
    "equal_1e30_smooth": (np.array([[1e30] * 3, [-1e30] * 3]), [0, 2], {"label_smoothing": 0.2}),
    "smooth_huge": (np.array([[1e22] * 3, [5e21, -5e21, 0]]), [0, 0], {"label_smoothing": 0.1}),
    "weights_sum_zero": (np.array([[0.0, 1, 2], [1, 0, 2], [2, 1, 0]]), [0, 1, -100], {"weight": [0.0, 0.0, 1.0]}),
    "weights_sum_negative": (np.array([[0.0, 1, 2], [1, 0, 2]]), [0, 1], {"weight": [-1.0, 0.5, 1.0]}),
    "weights_negative_smooth": (np.array([[0.0, 1, 2], [1, 0, 2]]), [0, 1],
                                {"weight": [-1.0, 0.5, 1.0], "label_smoothing": 0.3}),
    "nonfinite_counted": (np.array([[inf, 0, 0], [-inf, -inf, -inf], [nan, 0, 0], [-inf, 0, 1], [inf, inf, 1]]),
                          [1, 0, 2, 1, -100], {}),
    "nonfinite_counted_smooth": (np.array([[inf, 0, 0], [-inf, 0, 1], [0, 1, 2]]), [1, 1, -100], {"label_smoothing": 0.1}),
    # past 32 classes (the CPU kernels' wide rows) and 1024 (the CUDA block kernel)
    "wide_40": (np.concatenate([np.full((2, 40), 1e22), np.linspace(-5e21, 5e21, 80).reshape(2, 40)]), [0, 5, 39, -100],
                {"label_smoothing": 0.1}),
    "wide_1030": (np.concatenate([np.full((2, 1030), 1e30), np.full((2, 1030), -1e30)]), [0, 5, 1029, 7],
                  {"label_smoothing": 0.1}),
}

# PyTorch 2.13's answers in float64, for runs without torch:
# per reduction, (loss, gradient of the loss, or of the rows' sum for 'none')
TORCH_EXTREMES = {
    "all_ignored": {
        "mean": (nan, [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
        "none": ([0.0, 0.0], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
    },
    "all_ignored_smooth_w": {
        "mean": (nan, [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
        "none": ([0.0, 0.0], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
    },
    "empty": {"mean": (nan, []), "none": ([], [])},
    "ignored_nonfinite": {
        "mean": (
            1.40760596444,
            [[0.0900305731704, -0.755271528945, 0.665240955775], [nan, nan, nan], [0.0, 0.0, 0.0], [nan, nan, nan]],
        ),
        "none": (
            [1.40760596444, 0.0, 0.0, 0.0],
            [[0.0900305731704, -0.755271528945, 0.665240955775], [nan, nan, nan], [0.0, 0.0, 0.0], [nan, nan, nan]],
        ),
    },
    "ignored_nonfinite_smooth": {
        "mean": (1.40760596444, [[0.056697239837, -0.688604862279, 0.631907622441], [nan, nan, nan], [0.0, 0.0, 0.0]]),
        "none": (
            [1.40760596444, 0.0, 0.0],
            [[0.056697239837, -0.688604862279, 0.631907622441], [nan, nan, nan], [0.0, 0.0, 0.0]],
        ),
    },
    "nan_weight_unused": {
        "mean": (
            2.40760596444,
            [
                [-0.303323142277, 0.0815761570183, 0.221746985258],
                [0.163152314037, -0.606646284553, 0.443493970517],
                [0.0, 0.0, 0.0],
            ],
        ),
        "none": (
            [2.40760596444, 4.81521192889, 0.0],
            [
                [-0.90996942683, 0.244728471055, 0.665240955775],
                [0.48945694211, -1.81993885366, 1.33048191155],
                [0.0, 0.0, 0.0],
            ],
        ),
    },
    "equal_1e30": {
        "mean": (
            1.09861228867,
            [[-0.333333333333, 0.166666666667, 0.166666666667], [0.166666666667, 0.166666666667, -0.333333333333]],
        ),
        "none": (
            [1.09861228867, 1.09861228867],
            [[-0.666666666667, 0.333333333333, 0.333333333333], [0.333333333333, 0.333333333333, -0.666666666667]],
        ),
    },
    "equal_1e30_smooth": {
        "mean": (
            1.09861228867,
            [[-0.266666666667, 0.133333333333, 0.133333333333], [0.133333333333, 0.133333333333, -0.266666666667]],
        ),
        "none": (
            [1.09861228867, 1.09861228867],
            [[-0.533333333333, 0.266666666667, 0.266666666667], [0.266666666667, 0.266666666667, -0.533333333333]],
        ),
    },
    "smooth_huge": {
        "mean": (2.5e20, [[-0.3, 0.15, 0.15], [0.0333333333333, -0.0166666666667, -0.0166666666667]]),
        "none": ([1.09861228867, 5e20], [[-0.6, 0.3, 0.3], [0.0666666666667, -0.0333333333333, -0.0333333333333]]),
    },
    "weights_sum_zero": {
        "mean": (nan, [[nan, nan, nan], [nan, nan, nan], [0.0, 0.0, 0.0]]),
        "none": ([0.0, 0.0, 0.0], [[-0.0, 0.0, 0.0], [0.0, -0.0, 0.0], [0.0, 0.0, 0.0]]),
    },
    "weights_sum_negative": {
        "mean": (
            2.40760596444,
            [[-1.81993885366, 0.48945694211, 1.33048191155], [-0.244728471055, 0.90996942683, -0.665240955775]],
        ),
        "none": (
            [-2.40760596444, 1.20380298222],
            [[0.90996942683, -0.244728471055, -0.665240955775], [0.122364235527, -0.454984713415, 0.332620477887]],
        ),
    },
    "weights_negative_smooth": {
        "mean": (
            1.90380298222,
            [[-1.48296025488, 0.418147012371, 1.06481324251], [-0.395782776844, 0.727975541464, -0.33219276462]],
        ),
        "none": (
            [-1.81494387689, 0.863042385778],
            [[0.741480127439, -0.209073506186, -0.532406621254], [0.197891388422, -0.363987770732, 0.16609638231]],
        ),
    },
    "nonfinite_counted": {
        "mean": (
            nan,
            [
                [nan, nan, nan],
                [nan, nan, nan],
                [nan, nan, nan],
                [0.0, -0.182764644658, 0.182764644658],
                [nan, nan, nan],
            ],
        ),
        "none": (
            [nan, nan, nan, 1.31326168752, 0.0],
            [[nan, nan, nan], [nan, nan, nan], [nan, nan, nan], [0.0, -0.73105857863, 0.73105857863], [nan, nan, nan]],
        ),
    },
    "nonfinite_counted_smooth": {
        "mean": (nan, [[nan, nan, nan], [-0.0166666666667, -0.332195955982, 0.348862622648], [0.0, 0.0, 0.0]]),
        "none": (
            [nan, inf, 0.0],
            [[nan, nan, nan], [-0.0333333333333, -0.664391911963, 0.697725245297], [0.0, 0.0, 0.0]],
        ),
    },
}


def _torch_extreme(x, t, kw, reduction, dtype):
    torch = pytest.importorskip("torch")
    tdt = {np.float32: torch.float32, np.float64: torch.float64}[dtype]
    kw = dict(kw, **({"weight": torch.tensor(kw["weight"], dtype=tdt)} if "weight" in kw else {}))
    xt = torch.tensor(x, dtype=tdt, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(xt, torch.tensor(t, dtype=torch.int64), reduction=reduction, **kw)
    loss.backward(torch.ones_like(loss))
    return loss.detach().numpy(), xt.grad.numpy()


def _expected_extreme(name, reduction, dtype):
    x, t, kw = EXTREMES[name]
    try:
        return _torch_extreme(x, t, kw, reduction, dtype)
    except pytest.skip.Exception:
        if name not in TORCH_EXTREMES:  # the wide rows: all-equal rows cost log c as in PyTorch
            pytest.skip("torch is not installed (the wide cases have no hard-coded answer)")
        loss, grad = TORCH_EXTREMES[name]["none" if reduction == "sum" else reduction]
        loss, grad = np.asarray(loss, np.float64), np.asarray(grad, np.float64).reshape(np.shape(x))
        if reduction == "sum":
            loss = loss.sum()
        return loss, grad


@pytest.fixture(params=["kernels", "composed"])
def ce_path(request, device):
    """The device's fused cross-entropy kernels (the CPU extension, the CUDA kernels), or its
    composed NumPy/CuPy path (GPUGRAD_NATIVE=0 on the CPU)."""
    b = gg.backend.get_backend(device)
    kernels = b.kernels
    if kernels is None and device == "cpu":
        C = pytest.importorskip("gpugrad._C", reason="the CPU extension is not built")
        kernels = gg.backend.native.NativeKernels(C)
    switch = KernelSwitch(b, kernels)
    if request.param == "composed":
        b.kernels = None
    yield request.param
    switch.restore()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", list(EXTREMES))
def test_cross_entropy_extremes_match_pytorch(device, ce_path, name, reduction, dtype):
    """Every path gives PyTorch's loss and gradient (first order, and the graph form of
    create_graph=True) on: ignored rows holding NaN/inf, a NaN weight of an unused class, rows
    of equal logits at +-1e30 (log c), label smoothing on huge logits, weighted means over
    zero or negative weight sums and over no counted target (NaN), +inf/NaN/-inf rows."""
    x, t, kw = EXTREMES[name]
    want_loss, want_grad = _expected_extreme(name, reduction, dtype)
    args = dict(kw, reduction=reduction)
    if "weight" in kw:
        args["weight"] = make(np.asarray(kw["weight"], dtype), device)
    tt = gg.tensor(np.asarray(t, np.int64), device=device)
    xt = make(x.astype(dtype), device, requires_grad=True)
    loss = NF.cross_entropy(xt, tt, **args)
    loss.backward(gg.ones(loss.shape, dtype=loss.dtype, device=device))
    gx, = gg.autograd.grad(NF.cross_entropy(xt, tt, **args).sum(), [xt], create_graph=True)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-12)
    assert loss.dtype == dtype and loss.shape == np.shape(want_loss)
    np.testing.assert_allclose(loss.numpy(), want_loss, **tol)
    np.testing.assert_allclose(xt.grad.numpy(), want_grad, **tol)
    np.testing.assert_allclose(gx.numpy(), want_grad, **tol)



@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(EXTREMES))
# a zero weight sum makes the composed mean's gradient inf * 0 in a plain multiply, whose
# NumPy warning gpugrad does not silence (only the ops marked ieee run quiet)
@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")
def test_nll_of_log_softmax_agrees_with_cross_entropy(device, name, reduction, dtype):
    """nll_loss(log_softmax(x)) is cross_entropy(x) on every extreme input (weights, ignored
    rows, smoothing, NaN and inf rows): the same loss and the same gradient, NaN where the
    other has NaN."""
    x, t, kw = EXTREMES[name]
    args = dict(kw, reduction=reduction)
    if "weight" in kw:
        args["weight"] = make(np.asarray(kw["weight"], dtype), device)
    tt = gg.tensor(np.asarray(t, np.int64), device=device)
    results = []
    for composed in (False, True):
        xt = make(x.astype(dtype), device, requires_grad=True)
        loss = NF.nll_loss(NF.log_softmax(xt, 1), tt, **args) if composed else NF.cross_entropy(xt, tt, **args)
        loss.backward(gg.ones(loss.shape, dtype=loss.dtype, device=device))
        results.append((loss.numpy(), xt.grad.numpy()))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-12)
    for fused, composed in zip(*results):
        np.testing.assert_allclose(composed, fused, **tol)

def test_the_extreme_inputs_cover_what_they_claim():
    """The hard-coded answers say what the cases are for: an all-ignored mean is NaN, equal
    rows at 1e30 cost log 3, smoothing on 1e22 costs log 3 too (not 5e21)."""
    assert math.isnan(TORCH_EXTREMES["all_ignored"]["mean"][0])
    assert TORCH_EXTREMES["equal_1e30"]["none"][0] == pytest.approx([math.log(3)] * 2)
    assert TORCH_EXTREMES["smooth_huge"]["none"][0][0] == pytest.approx(math.log(3))
    assert TORCH_EXTREMES["weights_sum_negative"]["mean"][0] == pytest.approx(2.40760596444)
