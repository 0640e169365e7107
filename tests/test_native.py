"""The compiled CPU kernels (gpugrad._C) against the pure NumPy path, on random and
extreme inputs, in float32 and float64. Skipped when the extension is not built."""

import os

import numpy as np
import pytest
from helpers import KernelSwitch

import gpugrad as gg
from gpugrad import nn
from gpugrad.backend import get_backend, native
from gpugrad.backend.native import NativeKernels

C = pytest.importorskip("gpugrad._C", reason="the CPU extension is not built")
DTYPES = [np.float32, np.float64]


@pytest.fixture
def cpu():
    """The CPU backend with the kernels switched on, and a way to run without them."""
    switch = KernelSwitch(get_backend("cpu"), NativeKernels(C))
    yield switch
    switch.restore()


def _tol(dt):
    return dict(rtol=2e-6, atol=2e-6) if dt == np.float32 else dict(rtol=1e-13, atol=1e-13)


def _ce_both(cpu, x, t, **kw):
    """(loss rows, gradient) with the kernels and with the NumPy path."""
    def run():
        xt = gg.tensor(x, requires_grad=True)
        rows = gg.functional.softmax_cross_entropy(xt, gg.tensor(t), **kw)
        g = np.linspace(0.5, 1.5, len(t)).astype(x.dtype)
        rows.backward(gg.tensor(g))
        return rows.numpy(), xt.grad.numpy()

    return run(), cpu.composed(run)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape", [(64, 10), (16, 1000), (3, 1), (0, 5)])
@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.1}, {"ignore_index": 2}, {"weight": "w"}])
def test_cross_entropy_kernel_matches_numpy(cpu, dt, shape, kw):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3).astype(dt)
    t = rng.integers(0, shape[1], shape[0])
    kw = dict(kw)
    if kw.get("weight") == "w":
        kw["weight"] = gg.tensor(rng.uniform(0.1, 2, shape[1]).astype(dt))
    (l1, g1), (l2, g2) = _ce_both(cpu, x, t, **kw)
    assert l1.dtype == dt and g1.dtype == dt
    np.testing.assert_allclose(l1, l2, **_tol(dt))
    np.testing.assert_allclose(g1, g2, **_tol(dt))


@pytest.mark.parametrize("dt", DTYPES)
def test_cross_entropy_kernel_extremes(cpu, dt):
    inf = np.inf
    x = np.array([
        [1e4, -1e4, 0.0, 5.0],      # huge logits: finite loss
        [-inf, 0.0, 1.0, -inf],     # -inf entries: probability 0
        [0.0, np.nan, 1.0, 2.0],    # NaN propagates to its row only
        [3.0, 3.0, 3.0, 3.0],       # every target in this row is ignored (below)
        [-1e4, -1e4, -1e4, 1e4],
    ], dtype=dt)
    t = np.array([1, 2, 0, -100, 3])
    (l1, g1), (l2, g2) = _ce_both(cpu, x, t)
    np.testing.assert_allclose(l1, l2, **_tol(dt))
    np.testing.assert_allclose(g1, g2, **_tol(dt))
    assert np.isfinite(l1[[0, 1, 3, 4]]).all() and np.isnan(l1[2])
    assert l1[0] == pytest.approx(2e4, rel=1e-6) and l1[3] == 0 and not g1[3].any()
    assert np.isnan(g1[2]).all() and np.isfinite(g1[[0, 1, 3, 4]]).all()
    assert g1[1, 0] == 0 and g1[1, 3] == 0  # -inf logits get no gradient
    with pytest.raises(gg.errors.GpugradIndexError, match="target 7 of row 0"):
        gg.functional.softmax_cross_entropy(gg.tensor(x[:1]), gg.tensor([7]))


def test_cross_entropy_kernel_takes_non_contiguous_logits(cpu):
    x = np.random.default_rng(1).standard_normal((8, 6))
    xt = gg.tensor(x).T  # (6, 8), a non-contiguous view
    t = gg.tensor([0, 7, 3, 3, 1, 2])
    rows = gg.functional.softmax_cross_entropy(xt, t)
    ref = cpu.composed(lambda: gg.functional.softmax_cross_entropy(gg.tensor(x.T.copy()), t))
    np.testing.assert_allclose(rows.numpy(), ref.numpy(), rtol=1e-13)


def test_cross_entropy_double_backward_uses_the_graph_form(cpu):
    x = gg.tensor(np.random.default_rng(2).standard_normal((4, 3)), requires_grad=True)
    t = gg.tensor([0, 2, 1, 2])
    assert gg.autograd.gradgradcheck(lambda a: gg.functional.softmax_cross_entropy(a, t, label_smoothing=0.2), [x])


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("relu", [True, False])
def test_linear_relu_kernel_matches_numpy(cpu, dt, bias, relu):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((33, 17)).astype(dt)
    x[0, 0] = np.nan  # propagates through the ReLU as NumPy's maximum does
    w = rng.standard_normal((9, 17)).astype(dt)
    b = rng.standard_normal(9).astype(dt) if bias else None

    def run():
        xt, wt = gg.tensor(x, requires_grad=True), gg.tensor(w, requires_grad=True)
        bt = gg.tensor(b, requires_grad=True) if bias else None
        y = (gg.functional.linear_relu if relu else gg.functional.linear)(xt, wt, bt)
        gy = np.cos(np.arange(y.numel()).reshape(y.shape)).astype(dt)
        y.backward(gg.tensor(gy))
        return [y.numpy(), xt.grad.numpy(), wt.grad.numpy()] + ([bt.grad.numpy()] if bias else [])

    for a, r in zip(run(), cpu.composed(run)):
        np.testing.assert_allclose(a, r, **_tol(dt))


@pytest.mark.parametrize("dt", DTYPES)
def test_fused_optimizer_kernels_match_numpy(cpu, dt):
    rng = np.random.default_rng(4)
    shapes = [(5, 7), (7,), (3, 2, 2)]

    def run(cls, **kw):
        ps = [gg.tensor(rng_p.astype(dt), requires_grad=True) for rng_p in p0]
        opt = cls(ps, **kw)
        for step in range(4):
            for p, g in zip(ps, grads[step]):
                p.grad = gg.tensor(g.astype(dt))
            opt.step()
        return [p.numpy() for p in ps]

    p0 = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(4)]
    for cls, kw in [(gg.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)),
                    (gg.optim.SGD, dict(lr=0.1)),
                    (gg.optim.Adam, dict(lr=0.01, weight_decay=0.1)),
                    (gg.optim.AdamW, dict(lr=0.01, weight_decay=0.1))]:
        for a, r in zip(run(cls, **kw), cpu.composed(lambda cls=cls, kw=kw: run(cls, **kw))):
            np.testing.assert_allclose(a, r, **_tol(dt))


def test_sequential_fuses_linear_relu_with_the_same_result(cpu):
    gg.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    x = gg.randn(4, 6)
    y = m(x)
    assert y.creator.name == "Linear"  # the last layer; the first pair ran as one node
    assert y.creator.inputs[0].creator.name == "Linear" and y.creator.inputs[0].creator.relu
    manual = nn.functional.linear(nn.functional.linear(x, m[0].weight, m[0].bias).relu(), m[2].weight, m[2].bias)
    np.testing.assert_allclose(y.numpy(), manual.numpy(), rtol=1e-6)


def test_kernels_report_their_vector_unit():
    k = NativeKernels(C)
    assert k.simd in ("avx512f", "avx2", "baseline (x86-64)", "baseline")
    assert k.threads >= 1


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape", [(64, 10), (150, 7), (70, 32), (5, 33), (16, 300)])
@pytest.mark.parametrize("kw", [{"reduction": "mean"}, {"reduction": "sum", "label_smoothing": 0.2},
                                {"reduction": "mean", "ignore_index": 1, "weight": "w"}])
def test_cross_entropy_training_step_sweep_matches_numpy(cpu, dt, shape, kw):
    """The forward that also makes the gradient (a reduced loss that requires grad), with an
    upstream gradient of 1 and of 3, against the NumPy path."""
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(shape) * 4).astype(dt)
    t = rng.integers(0, shape[1], shape[0])
    kw = dict(kw)
    if kw.get("weight") == "w":
        kw["weight"] = gg.tensor(rng.uniform(0.1, 2, shape[1]).astype(dt))

    def run(scale):
        xt = gg.tensor(x, requires_grad=True)
        loss = nn.functional.cross_entropy(xt, gg.tensor(t), **kw)
        (loss * scale).backward()
        return loss.numpy(), xt.grad.numpy()

    for scale in (1.0, 3.0):
        (l1, g1), (l2, g2) = run(scale), cpu.composed(lambda s=scale: run(s))
        np.testing.assert_allclose(l1, l2, **_tol(dt))
        np.testing.assert_allclose(g1, g2, **_tol(dt))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("c", [4, 40])
def test_cross_entropy_training_step_sweep_extremes(cpu, dt, c):
    """The one-sweep forward+gradient (narrow rows, blocks of 64, and wide rows) on huge
    logits, -inf entries, a NaN row, an ignored row, across more than one block."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((130, c)).astype(dt)
    x[0, :2] = [1e4, -1e4]
    x[1, 0] = x[1, -1] = -np.inf
    x[2, 1] = np.nan
    x[128, :] = -1e4
    x[128, 3] = 1e4
    t = rng.integers(0, c, 130)
    t[1], t[3], t[128] = 2, -100, 3

    def run():
        xt = gg.tensor(x, requires_grad=True)
        loss = nn.functional.cross_entropy(xt, gg.tensor(t), reduction="sum")
        loss.backward()
        return loss.numpy(), xt.grad.numpy()

    (l1, g1), (l2, g2) = run(), cpu.composed(run)
    assert np.isnan(l1) and np.isnan(l2)
    np.testing.assert_allclose(g1, g2, **_tol(dt))
    assert np.isnan(g1[2]).all() and not g1[3].any() and g1[1, 0] == 0 and g1[1, -1] == 0
    assert np.isfinite(np.delete(g1, 2, axis=0)).all()
    bad = t.copy()
    bad[100] = c
    with pytest.raises(gg.errors.GpugradIndexError, match=f"target {c} of row 100"):
        nn.functional.cross_entropy(gg.tensor(x, requires_grad=True), gg.tensor(bad))


def test_fused_optimizer_entry_points_check_every_array():
    # _C takes its pointer type from the first parameter and trusts the rest
    calls = []

    class FakeC:
        def sgd_step(self, *args):
            calls.append("sgd")

        def adam_step(self, *args):
            calls.append("adam")

    k = NativeKernels(FakeC())
    p, q = np.zeros((2, 3), np.float32), np.zeros(4, np.float32)
    g, h = np.ones((2, 3), np.float32), np.ones(4, np.float32)
    adam = (0.1, 0.9, 0.999, 1e-8, 0.0, False, 0.1, 0.001)
    sgd = (0.1, 0.9, 0.0, 0.0, False, False)
    bad = [
        (gg.errors.DTypeError, r"\[adam_step\] expected gradient 1 \(of the parameter of shape \(4,\), float32\) to be "
                               "float32, got float64",
         lambda: k.adam_step([p, q], [g, h.astype(np.float64)], [p, q], [p, q], *adam)),
        (gg.errors.DTypeError, "expected second moment 0 .* to be float32, got float64",
         lambda: k.adam_step([p], [g], [p], [p.astype(np.float64)], *adam)),
        (gg.errors.ShapeError, r"expected first moment 0 to have its parameter's shape \(2, 3\), got \(3, 2\)",
         lambda: k.adam_step([p], [g], [np.zeros((3, 2), np.float32)], [p], *adam)),
        (gg.errors.ShapeError, "momentum buffer 0 .* to be C-contiguous",
         lambda: k.sgd_step([p], [g], [np.zeros((3, 2), np.float32).T], *sgd)),
        (gg.errors.ArgumentError, "expected a momentum buffer for parameter 1 \\(or None for every parameter\\)",
         lambda: k.sgd_step([p, q], [g, h], [p, None], *sgd)),
        (gg.errors.DTypeError, "expected parameter 1 .* to be float32, got float64",
         lambda: k.sgd_step([p, q.astype(np.float64)], [g, h], [None, None], *sgd)),
        (gg.errors.DTypeError, "takes float32/float64 parameters, got float16",
         lambda: k.sgd_step([p.astype(np.float16)], [g.astype(np.float16)], [None], *sgd)),
    ]
    for err, match, call in bad:
        with pytest.raises(err, match=match):
            call()
    assert calls == []
    k.sgd_step([p, q], [g, h], [None, None], *sgd)
    k.adam_step([p, q], [g, h], [p.copy(), q.copy()], [p.copy(), q.copy()], *adam)
    assert calls == ["sgd", "adam"]


def _special_rows(dt, c):
    """Logits with one IEEE special or extreme value per row (NaN of either sign, +-inf,
    values past exp's overflow and underflow, the type's largest) in column 3i mod c, the
    +inf beside a logit whose exp overflows; the last two rows are all NaN and all +inf."""
    big = np.finfo(dt).max
    specials = [np.nan, np.copysign(np.nan, -1), np.inf, -np.inf, big, -big, big / 4, -big / 4,
                89.0 if dt == np.float32 else 710.0, -104.0 if dt == np.float32 else -746.0]
    x = np.random.default_rng(7).standard_normal((2 * len(specials), c)).astype(dt)
    for i, v in enumerate(specials * 2):
        x[i, (3 * i) % c] = v
    x[2, 8 % c] = 1e3
    x[-1], x[-2] = np.nan, np.inf
    return x


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("c", [5, 40])
@pytest.mark.parametrize("on_special", [False, True])
def test_cross_entropy_kernels_on_nan_inf_and_huge_logits_match_numpy(cpu, dt, c, on_special):
    """vexp takes NaN of either sign, +-inf and values far outside exp's range (CI's
    sanitizer build checks that none of them is undefined behaviour) and agrees with NumPy:
    the per-row forward and backward, and the training step's one sweep; each row's target
    on its special value or beside it."""
    x = _special_rows(dt, c)
    t = (3 * np.arange(x.shape[0]) + (0 if on_special else 1)) % c

    def step():
        xt = gg.tensor(x, requires_grad=True)
        nn.functional.cross_entropy(xt, gg.tensor(t), reduction="sum").backward()
        return xt.grad.numpy()

    with np.errstate(all="ignore"):
        (l1, g1), (l2, g2) = _ce_both(cpu, x, t)
        np.testing.assert_allclose(l1, l2, **_tol(dt))
        np.testing.assert_allclose(g1, g2, **_tol(dt))
        np.testing.assert_allclose(step(), cpu.composed(step), **_tol(dt))
    if not on_special:  # NaN rows and rows holding +inf are NaN (as PyTorch's), a -inf logit costs nothing
        assert np.isnan(l1[[0, 1, 2, -2, -1]]).all() and np.isfinite(l1[3])


class _RecordingC:
    """A stand-in for gpugrad._C that records which kernels were reached."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args: self.calls.append(name) or -1


def _read_only(shape):
    a = np.zeros(shape, np.float32)
    a.flags.writeable = False
    return a


def _read_only_flag():
    a = np.zeros(1, np.int32)
    a.flags.writeable = False
    return a


def _entry_point_cases():
    f32, f16 = np.float32, np.float16

    def flag():
        return np.zeros(1, np.int32)

    def inv():
        return np.full(1, 0.5, f32)

    x, t, lse = np.zeros((3, 4), f32), np.zeros(3, np.int64), np.zeros(3, f32)
    y, w, ro = np.zeros((3, 5), f32), np.zeros((5, 4), f32), _read_only((3, 5))
    odd = np.zeros(4 * 24 + 1, np.uint8)[1:].view(f32)  # C-contiguous but not aligned for float32
    err = gg.errors
    return [
        ("fwd: float16 logits", err.DTypeError, "expected logits of dtype float32 or float64",
         lambda k: k.cross_entropy_fwd(x.astype(f16), t, None, -100, 0.0)),
        ("fwd: float targets", err.DTypeError, "expected integer targets, got float32",
         lambda k: k.cross_entropy_fwd(x, t.astype(f32), None, -100, 0.0)),
        ("fwd_bwd: too few targets", err.ShapeError, r"logits \(n, c\) and targets \(n,\), got \(3, 4\) and \(2,\)",
         lambda k: k.cross_entropy_fwd_bwd(x, t[:2], None, -100, 0.0, 1.0, True)),
        ("fwd_bwd: weight dtype", err.DTypeError, "expected weight of dtype float32, got float64",
         lambda k: k.cross_entropy_fwd_bwd(x, t, np.ones(4), -100, 0.0, 1.0, True)),
        ("fwd: ignore_index past int64", err.ArgumentError, "ignore_index to be an integer within int64",
         lambda k: k.cross_entropy_fwd(x, t, None, 2**63, 0.0)),
        ("bwd: short lse", err.ShapeError, r"expected lse of shape \(3,\), got \(2,\)",
         lambda k: k.cross_entropy_bwd(x, t, None, lse[:2], lse, -100, 0.0)),
        ("bwd: upstream dtype", err.DTypeError, "expected upstream gradient of dtype float32, got float64",
         lambda k: k.cross_entropy_bwd(x, t, None, lse, lse.astype(np.float64), -100, 0.0)),
        ("bwd: short weight", err.ShapeError, r"expected weight of shape \(4,\), got \(3,\)",
         lambda k: k.cross_entropy_bwd(x, t, np.ones(3, f32), lse, lse, -100, 0.0)),
        ("bwd: targets not an array", err.DTypeError, "expected integer targets, got list",
         lambda k: k.cross_entropy_bwd(x, [0, 0, 0], None, lse, lse, -100, 0.0)),
        ("bias_relu_: float16", err.DTypeError, "expected output of dtype float32 or float64",
         lambda k: k.bias_relu_(y.astype(f16), None)),
        ("bias_relu_: read-only", err.ShapeError, "writeable=False", lambda k: k.bias_relu_(ro, None)),
        ("bias_relu_: unaligned", err.ShapeError, "aligned=False", lambda k: k.bias_relu_(odd.reshape(4, 6), None)),
        ("bias_relu_: 1-D", err.ShapeError, "expected output with 2 dimensions", lambda k: k.bias_relu_(lse, None)),
        ("relu_bias_bwd: float16", err.DTypeError, "float32 or float64",
         lambda k: k.relu_bias_bwd(y.astype(f16), y.astype(f16), True)),
        ("relu_bias_bwd: gradient shape", err.ShapeError, r"expected gradient of shape \(3, 5\), got \(3, 4\)",
         lambda k: k.relu_bias_bwd(x, y, True)),
        ("linear_backward: weight shape", err.ShapeError, r"expected weight of shape \(5, 4\), got \(4, 4\)",
         lambda k: k.linear_backward(y, y, x, w[:4], True, True, True)),
        ("linear_backward: input dtype", err.DTypeError, "expected input of dtype float32, got float64",
         lambda k: k.linear_backward(y, None, x.astype(np.float64), w, False, True, True)),
        ("sgd_step: unaligned parameter", err.ArgumentError, "parameter 0 .* aligned and writeable, got aligned=False",
         lambda k: k.sgd_step([odd], [np.zeros(24, f32)], [None], 0.1, 0.0, 0.0, 0.0, False, False)),
        ("adam_step: read-only moment", err.ArgumentError, "second moment 0 .* writeable=False",
         lambda k: k.adam_step([y], [y], [y.copy()], [ro], 0.1, 0.9, 0.999, 1e-8, 0.0, False, 0.1, 0.001)),
        ("sgd_step: a list as parameter", err.ArgumentTypeError, "expected parameter 0 to be a numpy.ndarray, got list",
         lambda k: k.sgd_step([[0.0]], [np.zeros(1, f32)], [None], 0.1, 0.0, 0.0, 0.0, False, False)),
        ("amp_unscale_: float16", err.DTypeError, "takes float32/float64 gradients, got float16",
         lambda k: k.amp_unscale_([y.astype(f16)], flag(), inv())),
        ("amp_unscale_: dtypes mixed", err.DTypeError,
         r"one dtype, got float32 \(gradient 0\) and float64 \(gradient 1, shape \(3,\)\)",
         lambda k: k.amp_unscale_([y, lse.astype(np.float64)], flag(), inv())),
        ("amp_unscale_: read-only", err.ArgumentError, "gradient 1 .* aligned and writeable, got .* writeable=False",
         lambda k: k.amp_unscale_([y, ro], flag(), inv())),
        ("amp_unscale_: unaligned", err.ArgumentError, "gradient 0 .* aligned and writeable, got aligned=False",
         lambda k: k.amp_unscale_([odd], flag(), inv())),
        ("amp_unscale_: strided", err.ShapeError, r"gradient 0 \(shape \(5, 3\)\) to be C-contiguous",
         lambda k: k.amp_unscale_([y.T], flag(), inv())),
        ("amp_unscale_: a list as gradient", err.ArgumentTypeError, "gradient 0 to be a numpy.ndarray, got list",
         lambda k: k.amp_unscale_([[1.0]], flag(), inv())),
        ("amp_unscale_: float flag", err.DTypeError, "found_inf to be a one-element int32 array, got float32",
         lambda k: k.amp_unscale_([y], np.zeros(1, f32), inv())),
        ("amp_unscale_: read-only flag", err.ArgumentError, "found_inf .* writeable=False",
         lambda k: k.amp_unscale_([y], _read_only_flag(), inv())),
        ("amp_unscale_: scale of two", err.ShapeError, r"inv_scale to be a one-element array, got shape \(2,\)",
         lambda k: k.amp_unscale_([y], flag(), np.ones(2, f32))),
        ("amp_unscale_: scale as a number", err.ArgumentTypeError, "inv_scale to be a numpy.ndarray, got float",
         lambda k: k.amp_unscale_([y], flag(), 0.5)),
    ]


@pytest.mark.parametrize("case", _entry_point_cases(), ids=lambda case: case[0])
def test_native_entry_points_refuse_bad_arrays_before_the_kernel(case):
    _, err, match, call = case
    fake = _RecordingC()
    with pytest.raises(err, match=match):
        call(NativeKernels(fake))
    assert fake.calls == []


def test_native_entry_points_hand_the_kernel_contiguous_aligned_copies():
    seen = []

    class Spy:
        def __getattr__(self, name):
            return lambda *args: seen.append([a for a in args if isinstance(a, np.ndarray)]) or -1

    k = NativeKernels(Spy())
    x = np.arange(24, dtype=np.float64).reshape(4, 6).T  # a strided view
    odd = np.zeros(8 * 6 + 1, np.uint8)[1:].view(np.float64)  # unaligned
    k.cross_entropy_fwd(x, np.zeros(6, np.int32), np.ones(8, np.float64)[::2], -100, 0.0)
    k.cross_entropy_bwd(x, np.zeros(6, np.int64), None, odd, odd, np.int16(-1), 0.0)
    k.sgd_step([np.zeros(6)], [odd], [None], 0.1, 0.0, 0.0, 0.0, False, False)
    for arrays in seen:
        assert all(a.flags.c_contiguous and a.flags.aligned for a in arrays)
    assert seen[0][1].dtype == np.int64


def test_bindings_refuse_wrong_buffers_without_python_checks():
    """gpugrad._C called directly (the Python checks skipped) raises instead of reading or
    writing out of bounds."""
    f32 = np.float32
    x, t = np.zeros((3, 4), f32), np.zeros(3, np.int64)

    def rows(n=3, dt=f32):
        return np.empty(n, dt)

    bad = [
        (ValueError, r"\[cross_entropy_fwd\] expected targets with 3 elements, got shape \(2,\), int64",
         lambda: C.cross_entropy_fwd(x, t[:2], None, -100, 0.0, rows(), rows(), rows())),
        (ValueError, "expected loss with 3 elements",
         lambda: C.cross_entropy_fwd(x, t, None, -100, 0.0, rows(2), rows(), rows())),
        (TypeError, "expected logits of dtype float32 or float64, got shape \\(3, 4\\), float16",
         lambda: C.cross_entropy_fwd(x.astype(np.float16), t, None, -100, 0.0, rows(), rows(), rows())),
        (TypeError, "expected targets of dtype int64, got shape \\(3,\\), int32",
         lambda: C.cross_entropy_fwd(x, t.astype(np.int32), None, -100, 0.0, rows(), rows(), rows())),
        (ValueError, "expected weight with 4 elements",
         lambda: C.cross_entropy_fwd(x, t, np.ones(3, f32), -100, 0.0, rows(), rows(), rows())),
        (ValueError, "expected logits C-contiguous and aligned, got .* strides \\(4, 12\\)",
         lambda: C.cross_entropy_fwd(np.zeros((4, 3), f32).T, t, None, -100, 0.0, rows(), rows(), rows())),
        (ValueError, "expected gx with 12 elements",
         lambda: C.cross_entropy_fwd_bwd(x, t, None, -100, 0.0, 1.0, True, rows(), rows(), rows(), rows(11))),
        (ValueError, "expected g with 3 elements",
         lambda: C.cross_entropy_bwd(x, t, None, rows(), rows(1), -100, 0.0, np.empty_like(x))),
        (ValueError, "expected y with 2 dimensions", lambda: C.bias_relu_fwd(rows(), None)),
        (ValueError, "expected y writeable, got a read-only array", lambda: C.bias_relu_fwd(_read_only((2, 2)), None)),
        (ValueError, "expected gb with 4 elements",
         lambda: C.relu_bias_bwd(np.zeros((2, 4), f32), np.zeros((2, 4), f32), np.zeros((2, 4), f32), rows())),
        (ValueError, "expected gradient 0 with 4 elements",
         lambda: C.sgd_step([rows(4)], [rows(3)], [None], 0.1, 0.0, 0.0, 0.0, False, False)),
        (ValueError, "expected a gradient for each of 1 parameters, got 0",
         lambda: C.sgd_step([rows(4)], [], [None], 0.1, 0.0, 0.0, 0.0, False, False)),
        (TypeError, "expected momentum buffer 0 of dtype float32",
         lambda: C.sgd_step([rows(4)], [rows(4)], [rows(4, np.float64)], 0.1, 0.9, 0.0, 0.0, False, False)),
        (ValueError, "expected second moment 0 with 4 elements",
         lambda: C.adam_step([rows(4)], [rows(4)], [rows(4)], [rows(2)], 0.1, 0.9, 0.9, 1e-8, 0.0, False, 0.1, 0.1)),
        (ValueError, "expected parameter 0 C-contiguous and aligned, .* misaligned",
         lambda: C.adam_step([np.zeros(9, np.uint8)[1:].view(np.float64)], [rows(1, np.float64)],
                             [rows(1, np.float64)], [rows(1, np.float64)], 0.1, 0.9, 0.9, 1e-8, 0.0, False, 0.1, 0.1)),
        (TypeError, r"\[amp_unscale\] expected gradient 0 of dtype float32 or float64, got shape \(3,\), float16",
         lambda: C.amp_unscale([rows(3, np.float16)], 0.5)),
        (TypeError, r"expected gradient 1 of dtype float32, got shape \(3,\), float64",
         lambda: C.amp_unscale([rows(), rows(3, np.float64)], 0.5)),
        (ValueError, "expected gradient 1 writeable, got a read-only array",
         lambda: C.amp_unscale([rows(), _read_only((2, 2))], 0.5)),
        (ValueError, "expected gradient 0 C-contiguous and aligned, .* misaligned",
         lambda: C.amp_unscale([np.zeros(9, np.uint8)[1:].view(np.float64)], 0.5)),
        (ValueError, r"expected gradient 0 C-contiguous and aligned, got .* strides \(4, 12\)",
         lambda: C.amp_unscale([np.zeros((4, 3), f32).T], 0.5)),
    ]
    for err, match, call in bad:
        with pytest.raises(err, match=match):
            call()


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("cls, kw", [(gg.optim.SGD, dict(lr=0.1)), (gg.optim.SGD, dict(lr=0.1, momentum=0.9)),
                                     (gg.optim.Adam, dict(lr=0.1)), (gg.optim.AdamW, dict(lr=0.1))])
def test_optimizer_kernels_keep_infinite_parameters_without_weight_decay(cpu, dt, cls, kw):
    """Without weight decay nothing multiplies the parameter (0 * inf would be NaN), as in
    PyTorch and the NumPy path."""
    def run():
        p = gg.tensor(np.array([np.inf, -np.inf, 1.0], dt), requires_grad=True)
        opt = cls([p], **kw)
        for _ in range(2):
            p.grad = gg.tensor(np.ones(3, dt))
            opt.step()
        return p.numpy()

    with np.errstate(invalid="ignore"):
        native = run()
        np.testing.assert_allclose(native, cpu.composed(run), **_tol(dt))
    assert native[0] == np.inf and native[1] == -np.inf and np.isfinite(native[2])


def test_thread_count_from_the_environment_is_capped_at_the_cpu_count(monkeypatch):
    """GPUGRAD_NUM_THREADS=100000 made libgomp crash the process at the first parallel
    region; a number past C's int made loading fail with a TypeError."""
    before = C.max_threads()
    monkeypatch.delenv("GPUGRAD_NATIVE", raising=False)
    try:
        for value in ("100000", "99999999999999999999"):
            monkeypatch.setenv("GPUGRAD_NUM_THREADS", value)
            assert native.load().threads == os.cpu_count()
        monkeypatch.setenv("GPUGRAD_NUM_THREADS", "1")
        assert native.load().threads == 1
    finally:
        C.set_num_threads(before)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("bad", [None, np.inf, -np.inf, np.nan, "overflow"])
def test_amp_unscale_kernel_multiplies_in_place_and_finds_non_finite_products(dt, bad):
    """One pass over each gradient, of lengths around the vector widths: the products bit
    for bit as NumPy's, and a bad value (inf, -inf, NaN, or with a scale of 1/4 the largest
    finite one, whose product overflows) first, in the middle or last of any gradient is
    found."""
    k = NativeKernels(C)
    rng = np.random.default_rng(9)
    sizes = [0, 1, 7, 8, 9, 15, 16, 17, 33, 1000]
    inv = np.float32(4.0 if bad == "overflow" else 1 / 3)
    for which in range(1, len(sizes)):  # gradient 0 is empty
        for at in {0, sizes[which] // 2, sizes[which] - 1}:
            gs = [(rng.standard_normal(n) * 50).astype(dt) for n in sizes]
            if bad is not None:
                gs[which][at] = np.finfo(dt).max if bad == "overflow" else bad
            with np.errstate(over="ignore"):
                want = [g * dt(inv) for g in gs]
            flag = np.zeros(1, np.int32)
            k.amp_unscale_(gs, flag, np.array([inv], np.float32))
            for g, w in zip(gs, want):
                np.testing.assert_array_equal(g, w)
            assert flag[0] == (bad is not None), (which, at)


def test_amp_unscale_kernel_threads_agree_with_one_thread():
    """A gradient past the threads' threshold (2**23 elements) is split among the threads;
    a NaN in the last thread's part is found, and the products are those of one thread."""
    before = C.max_threads()
    try:
        g = np.random.default_rng(10).standard_normal((1 << 23) + 5).astype(np.float32)
        g[-2] = np.nan
        results = []
        for threads in (1, 2):
            C.set_num_threads(threads)
            a = g.copy()
            results.append((C.amp_unscale([a], 0.25), a))
        assert results[0][0] and results[1][0]
        np.testing.assert_array_equal(results[0][1], results[1][1])
        np.testing.assert_array_equal(results[0][1][:-2], g[:-2] * np.float32(0.25))
    finally:
        C.set_num_threads(before)
