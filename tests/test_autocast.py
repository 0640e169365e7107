"""gpugrad.autocast: the op policy held to PyTorch's CPU autocast (bfloat16 and float16),
the weight-cast cache, nesting, the decorator, thread locality and the refusals. Each
test body runs on the CPU and on the (emulated) CUDA device; PyTorch runs on its CPU."""

import importlib
import threading

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as NF
from gpugrad.errors import ArgumentError, ArgumentTypeError, DTypeError

AC = importlib.import_module("gpugrad.amp.autocast")  # the module (gpugrad.amp.autocast is the class)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def const(L, like, data):
    """A constant tensor of ``data`` in library ``L`` (gpugrad or torch), on ``like``'s device."""
    return gg.tensor(data, device=like.device) if L is gg else L.tensor(data)


def _probs(L, x):
    return const(L, x, [[0.2, 0.3, 0.5, 0.0], [0.0, 0.0, 1.0, 0.0], [0.25, 0.25, 0.25, 0.25]])


class Case:
    """An op on float inputs of ``shapes``: ``fn(L, *xs)`` runs it in gpugrad (L = gpugrad) or
    in PyTorch (L = torch), unless ``torch_fn`` gives PyTorch's spelling."""

    def __init__(self, name, shapes, fn, torch_fn=None, low=0.1, high=0.9):
        self.name, self.shapes, self.fn, self.torch_fn = name, shapes, fn, torch_fn or fn
        self.low, self.high = low, high

    def arrays(self):
        rng = np.random.default_rng(abs(hash(self.name)) % 2**32)
        return [rng.uniform(self.low, self.high, size=s).astype(np.float32) for s in self.shapes]

    def __repr__(self):
        return self.name


def _nf(L):
    return L.nn.functional


LOW = [
    Case("matmul", [(3, 4), (4, 5)], lambda L, a, b: L.matmul(a, b)),
    Case("matmul_operator_batched", [(2, 3, 4), (4, 5)], lambda L, a, b: a @ b),
    Case("matmul_vector", [(3, 4), (4,)], lambda L, a, b: a @ b),
    Case("mm", [(3, 4), (4, 5)], lambda L, a, b: L.mm(a, b)),
    Case("bmm", [(2, 3, 4), (2, 4, 5)], lambda L, a, b: L.bmm(a, b)),
    Case("addmm", [(5,), (3, 4), (4, 5)], lambda L, c, a, b: L.addmm(c, a, b, beta=0.5, alpha=2.0)),
    Case("linear", [(3, 4), (5, 4), (5,)], lambda L, x, w, b: _nf(L).linear(x, w, b)),
    Case("linear_relu", [(3, 4), (5, 4), (5,)], lambda L, x, w, b: gg.functional.linear_relu(x, w, b),
         lambda L, x, w, b: L.relu(_nf(L).linear(x, w, b)), low=-0.9),
    Case("einsum", [(2, 3, 4), (2, 4, 5)], lambda L, a, b: L.einsum("bij,bjk->bik", a, b)),
    Case("tensordot", [(2, 3, 4), (3, 4, 5)], lambda L, a, b: L.tensordot(a, b, 2)),
    Case("inner", [(3, 4), (5, 4)], lambda L, a, b: L.inner(a, b)),
    Case("scaled_dot_product_attention", [(1, 2, 3, 4)] * 3,
         lambda L, q, k, v: _nf(L).scaled_dot_product_attention(q, k, v)),
]

FP32 = [
    Case("softmax", [(3, 4)], lambda L, x: L.softmax(x, 1)),
    Case("log_softmax", [(3, 4)], lambda L, x: L.log_softmax(x, 1)),
    Case("softmin", [(3, 4)], lambda L, x: _nf(L).softmin(x, 1)),
    Case("exp", [(3, 4)], lambda L, x: L.exp(x)),
    Case("expm1", [(3, 4)], lambda L, x: L.expm1(x)),
    Case("log", [(3, 4)], lambda L, x: L.log(x)),
    Case("log1p", [(3, 4)], lambda L, x: L.log1p(x)),
    Case("log2", [(3, 4)], lambda L, x: L.log2(x)),
    Case("log10", [(3, 4)], lambda L, x: L.log10(x)),
    Case("pow_scalar", [(3, 4)], lambda L, x: x**2.5),
    Case("pow_tensors", [(3, 4), (3, 4)], lambda L, x, y: L.pow(x, y)),
    Case("pow_scalar_base", [(3, 4)], lambda L, x: 2.0**x),
    Case("reciprocal", [(3, 4)], lambda L, x: L.reciprocal(x)),
    Case("rsqrt", [(3, 4)], lambda L, x: L.rsqrt(x)),
    Case("sinh", [(3, 4)], lambda L, x: L.sinh(x)),
    Case("cosh", [(3, 4)], lambda L, x: L.cosh(x)),
    Case("tan", [(3, 4)], lambda L, x: L.tan(x)),
    Case("asin", [(3, 4)], lambda L, x: L.asin(x)),
    Case("acos", [(3, 4)], lambda L, x: L.acos(x)),
    Case("softplus", [(3, 4)], lambda L, x: _nf(L).softplus(x)),
    Case("sum", [(3, 4)], lambda L, x: x.sum()),
    Case("sum_dim", [(3, 4)], lambda L, x: L.sum(x, 1)),
    Case("mean", [(3, 4)], lambda L, x: x.mean(0)),
    Case("prod", [(3, 4)], lambda L, x: L.prod(x, 1)),
    Case("var", [(3, 4)], lambda L, x: L.var(x, 1)),
    Case("std", [(3, 4)], lambda L, x: L.std(x)),
    Case("var_mean", [(3, 4)], lambda L, x: L.var_mean(x, 1)),
    Case("std_mean", [(3, 4)], lambda L, x: L.std_mean(x, 0)),
    Case("logsumexp", [(3, 4)], lambda L, x: L.logsumexp(x, 1)),
    Case("cumsum", [(3, 4)], lambda L, x: L.cumsum(x, 1)),
    Case("cumprod", [(3, 4)], lambda L, x: L.cumprod(x, 0)),
    Case("logcumsumexp", [(3, 4)], lambda L, x: L.logcumsumexp(x, 1)),
    Case("layer_norm", [(3, 4), (4,), (4,)], lambda L, x, w, b: _nf(L).layer_norm(x, (4,), w, b)),
    Case("rms_norm", [(3, 4), (4,)], lambda L, x, w: _nf(L).rms_norm(x, (4,), w)),
    Case("group_norm", [(2, 4, 3), (4,), (4,)], lambda L, x, w, b: _nf(L).group_norm(x, 2, w, b)),
    Case("batch_norm", [(3, 4), (4,), (4,)], lambda L, x, w, b: _nf(L).batch_norm(x, None, None, w, b, training=True)),
    Case("vector_norm", [(3, 4)], lambda L, x: L.linalg.vector_norm(x, 3, 1)),
    Case("norm", [(3, 4)], lambda L, x: L.norm(x)),
    Case("linalg_norm", [(3, 4)], lambda L, x: L.linalg.norm(x, dim=1)),
    Case("matrix_norm", [(2, 3, 4)], lambda L, x: L.linalg.matrix_norm(x, 1)),
    Case("normalize", [(3, 4)], lambda L, x: _nf(L).normalize(x)),
    Case("cosine_similarity", [(3, 4), (3, 4)], lambda L, a, b: _nf(L).cosine_similarity(a, b)),
    Case("pairwise_distance", [(3, 4), (3, 4)], lambda L, a, b: _nf(L).pairwise_distance(a, b)),
    Case("cross_entropy", [(3, 4)], lambda L, x: _nf(L).cross_entropy(x, const(L, x, [0, 3, 1]))),
    Case("cross_entropy_probs", [(3, 4)], lambda L, x: _nf(L).cross_entropy(x, _probs(L, x), label_smoothing=0.1)),
    Case("cross_entropy_weight", [(3, 4), (4,)],
         lambda L, x, w: _nf(L).cross_entropy(x, const(L, x, [0, 3, 1]), weight=w, reduction="sum")),
    Case("nll_loss", [(3, 4)], lambda L, x: _nf(L).nll_loss(x, const(L, x, [2, 0, 1]))),
    Case("mse_loss", [(3, 4), (3, 4)], lambda L, a, b: _nf(L).mse_loss(a, b)),
    Case("l1_loss", [(3, 4), (3, 4)], lambda L, a, b: _nf(L).l1_loss(a, b, reduction="sum")),
    Case("smooth_l1_loss", [(3, 4), (3, 4)], lambda L, a, b: _nf(L).smooth_l1_loss(a, b, beta=0.3)),
    Case("huber_loss", [(3, 4), (3, 4)], lambda L, a, b: _nf(L).huber_loss(a, b, delta=0.3)),
    Case("binary_cross_entropy", [(3, 4), (3, 4)], lambda L, a, b: _nf(L).binary_cross_entropy(a, b)),
    Case("binary_cross_entropy_with_logits", [(3, 4), (3, 4)],
         lambda L, a, b: _nf(L).binary_cross_entropy_with_logits(a, b)),
    Case("kl_div", [(3, 4), (3, 4)], lambda L, a, b: _nf(L).kl_div(a, b, reduction="batchmean")),
    Case("poisson_nll_loss", [(3, 4), (3, 4)], lambda L, a, b: _nf(L).poisson_nll_loss(a, b)),
    Case("gaussian_nll_loss", [(3, 4), (3, 4), (3, 4)], lambda L, a, b, v: _nf(L).gaussian_nll_loss(a, b, v)),
    Case("margin_ranking_loss", [(4,), (4,)],
         lambda L, a, b: _nf(L).margin_ranking_loss(a, b, const(L, a, [1.0, -1.0, 1.0, -1.0]), margin=0.1)),
    Case("hinge_embedding_loss", [(4,)],
         lambda L, a: _nf(L).hinge_embedding_loss(a, const(L, a, [1.0, -1.0, 1.0, -1.0]))),
    Case("soft_margin_loss", [(4,)], lambda L, a: _nf(L).soft_margin_loss(a, const(L, a, [1.0, -1.0, -1.0, 1.0]))),
    Case("multilabel_soft_margin_loss", [(2, 3)],
         lambda L, a: _nf(L).multilabel_soft_margin_loss(a, const(L, a, [[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]))),
    Case("cosine_embedding_loss", [(2, 3), (2, 3)],
         lambda L, a, b: _nf(L).cosine_embedding_loss(a, b, const(L, a, [1.0, -1.0]))),
    Case("triplet_margin_loss", [(2, 3)] * 3, lambda L, a, p, n: _nf(L).triplet_margin_loss(a, p, n)),
]

# gpugrad's own losses (no PyTorch peer): held to the policy alone
OWN_FP32 = [
    Case("heteroscedastic_gaussian_nll", [(3, 2), (3, 2), (3, 2)],
         lambda L, m, r, t: NF.heteroscedastic_gaussian_nll(m, r, t)),
    Case("mdn_nll", [(3, 2), (3, 2, 1), (3, 2, 1), (3, 1)], lambda L, lg, m, s, t: NF.mdn_nll(lg, m, s, t)),
]

PROMOTE = [  # ops that refuse mixed float dtypes outside autocast
    Case("dot", [(4,), (4,)], lambda L, a, b: L.dot(a, b)),
    Case("vdot", [(4,), (4,)], lambda L, a, b: L.vdot(a, b)),
    Case("cross", [(2, 3), (2, 3)], lambda L, a, b: L.cross(a, b, dim=1)),
    Case("linalg_cross", [(2, 3), (2, 3)], lambda L, a, b: L.linalg.cross(a, b)),
    Case("index_copy", [(4, 3), (2, 3)], lambda L, a, s: a.index_copy(0, const(L, a, [3, 0]), s)),
    Case("scatter_add", [(2, 3), (2, 3)], lambda L, a, s: a.scatter_add(1, const(L, a, [[0, 0, 2], [1, 1, 1]]), s)),
    Case("bilinear", [(2, 3), (2, 4), (5, 3, 4)], lambda L, a, b, w: _nf(L).bilinear(a, b, w)),
]

WIDEST = [  # ops that promote with or without autocast, as in PyTorch
    Case("cat", [(2, 3), (1, 3)], lambda L, a, b: L.cat([a, b], 0)),
    Case("stack", [(2, 3), (2, 3)], lambda L, a, b: L.stack([a, b], 1)),
    Case("where", [(2, 3), (2, 3)], lambda L, a, b: L.where(a > 0.5, a, b)),
    Case("add", [(2, 3), (2, 3)], lambda L, a, b: a + b),
]


def _gg_inputs(arrays, dtypes, device):
    return [gg.tensor(a, device=device).to(dt) for a, dt in zip(arrays, dtypes)]


def _torch_inputs(torch, arrays, dtypes):
    return [torch.tensor(a).to(getattr(torch, dt)) for a, dt in zip(arrays, dtypes)]


def _flat(out):
    return list(out) if isinstance(out, tuple) else [out]


def _dtypes(out):
    return [str(o.dtype).replace("torch.", "") for o in _flat(out)]


def _values(out):
    return [o.to(gg.float64).numpy() if isinstance(o, gg.Tensor) else o.double().numpy() for o in _flat(out)]


def _close(got, want, rtol, atol, what):
    for g, w in zip(_values(got), _values(want)):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=what)


_BF16_RTOL = 2.0**-6  # two bfloat16 ulps: one rounding each side, in different orders
_FP16_RTOL = 2.0**-9


def _low_dtype(name):
    return {"bfloat16": gg.bfloat16, "float16": gg.float16}[name]


def _run(case, device, dtypes, region):
    xs = _gg_inputs(case.arrays(), dtypes, device)
    if region is None:
        return case.fn(gg, *xs)
    with gg.autocast(device, dtype=_low_dtype(region)):
        return case.fn(gg, *xs)


def _run_torch(torch, case, dtypes, region):
    ts = _torch_inputs(torch, case.arrays(), dtypes)
    if region is None:
        return case.torch_fn(torch, *ts)
    with torch.autocast("cpu", dtype=getattr(torch, region)):
        return case.torch_fn(torch, *ts)


# -- the low-precision list ----------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("input_dtype,region", [
    ("float32", "bfloat16"), ("bfloat16", "bfloat16"), ("float16", "bfloat16"), ("float64", "bfloat16"),
    ("float32", "float16"), ("bfloat16", "float16"),
])  # fmt: skip
@pytest.mark.parametrize("case", LOW, ids=repr)
def test_low_precision_ops_match_pytorch_cpu_autocast(case, input_dtype, region, device, torch):
    """float32 and 2-byte inputs run in the region's dtype, float64 stays float64: dtypes and
    values (to the low precision's rounding) are PyTorch's CPU autocast's."""
    dtypes = [input_dtype] * len(case.shapes)
    got, want = _run(case, device, dtypes, region), _run_torch(torch, case, dtypes, region)
    expected = input_dtype if input_dtype == "float64" else region
    assert _dtypes(got) == _dtypes(want) == [expected]
    rtol = {"bfloat16": _BF16_RTOL, "float16": _FP16_RTOL}.get(expected, 1e-12)
    _close(got, want, rtol, rtol, case.name)


def test_einsum_runs_as_one_op(device):
    """A listed op runs its own body without autocast: an einsum that only sums stays in the
    region's dtype (PyTorch's CUDA list casts einsum's operands the same way)."""
    x = gg.rand(3, 4, device=device)
    with gg.autocast(device, dtype=gg.bfloat16):
        y = gg.einsum("ij->i", x)
    assert y.dtype == gg.bfloat16
    np.testing.assert_array_equal(y.to(gg.float32).numpy(), x.to(gg.bfloat16).sum(1, dtype=gg.bfloat16).float().numpy())


def test_dot_is_not_in_the_low_precision_list(device):
    """dot is built on matmul but is no listed product: float32 in, float32 out (PyTorch's
    CPU autocast leaves it alone; its CUDA list only promotes it)."""
    a, b = gg.rand(5, device=device), gg.rand(5, device=device)
    with gg.autocast(device, dtype=gg.bfloat16):
        y = gg.dot(a, b)
    assert y.dtype == gg.float32
    np.testing.assert_allclose(y.numpy(), np.dot(a.numpy(), b.numpy()), rtol=1e-6)


# -- the float32 list ----------------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("case", FP32, ids=repr)
def test_float32_ops_on_float32_inputs_match_pytorch_cpu_autocast(case, device, torch):
    dtypes = ["float32"] * len(case.shapes)
    got, want = _run(case, device, dtypes, "bfloat16"), _run_torch(torch, case, dtypes, "bfloat16")
    assert _dtypes(got) == _dtypes(want)
    assert set(_dtypes(got)) == {"float32"}
    _close(got, want, 2e-5, 2e-6, case.name)


@pytest.mark.torch
@pytest.mark.parametrize("region", ["bfloat16", "float16"])
@pytest.mark.parametrize("case", FP32, ids=repr)
def test_float32_ops_cast_low_precision_inputs_up(case, region, device, torch):
    """The documented policy on 2-byte inputs (both devices): float32, with the values of the
    op on the inputs cast up first. Where PyTorch's CPU autocast gives float32 too (the
    losses, prod) its values agree to its own rounding (its composed losses run parts in
    bfloat16); elsewhere it keeps the 2-byte dtype (see gpugrad/amp/autocast.py)."""
    dtypes = [region] * len(case.shapes)
    got = _run(case, device, dtypes, region)
    assert set(_dtypes(got)) == {"float32"}
    ts = [t.float() for t in _torch_inputs(torch, case.arrays(), dtypes)]
    _close(got, case.torch_fn(torch, *ts), 2e-5, 2e-6, case.name)
    want = _run_torch(torch, case, dtypes, region)
    if set(_dtypes(want)) == {"float32"}:
        rtol = _BF16_RTOL if region == "bfloat16" else _FP16_RTOL
        _close(got, want, rtol, rtol, case.name)


@pytest.mark.parametrize("case", OWN_FP32, ids=repr)
def test_gpugrads_own_losses_run_in_float32(case, device):
    arrays = case.arrays()
    got = _run(case, device, ["bfloat16"] * len(arrays), "bfloat16")
    ref = case.fn(gg, *[t.float() for t in _gg_inputs(arrays, ["bfloat16"] * len(arrays), device)])
    assert got.dtype == gg.float32
    np.testing.assert_array_equal(got.numpy(), ref.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("case", ["sum", "cumsum", "softmax"])
def test_an_explicit_dtype_is_kept(case, device, torch):
    """sum/cumsum/softmax with dtype= run in that dtype (PyTorch's fp32_set_opt_dtype)."""
    x = gg.rand(3, 4, device=device)
    fns = {"sum": lambda L, t: L.sum(t, 1, dtype=L.bfloat16), "cumsum": lambda L, t: L.cumsum(t, 1, dtype=L.bfloat16),
           "softmax": lambda L, t: L.softmax(t, 1, dtype=L.bfloat16)}
    with gg.autocast(device):
        got = fns[case](gg, x)
    with torch.autocast("cpu"):
        want = fns[case](torch, torch.tensor(x.numpy()))
    assert _dtypes(got) == _dtypes(want) == ["bfloat16"]
    _close(got, want, _BF16_RTOL, _BF16_RTOL, case)


# -- widest input type ---------------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("case", PROMOTE + WIDEST, ids=repr)
def test_mixed_float_inputs_run_in_the_widest(case, device, torch):
    """bfloat16 with float32 gives float32, with the values of the op on float32 inputs.
    Where PyTorch takes the mix in the same way (cat, stack, where, add; index_copy under its
    CPU autocast), its dtype and values are the same."""
    dtypes = ["bfloat16"] + ["float32"] * (len(case.shapes) - 1)
    got = _run(case, device, dtypes, "bfloat16")
    assert _dtypes(got) == ["float32"]
    ts = [t.float() for t in _torch_inputs(torch, case.arrays(), dtypes)]
    _close(got, case.torch_fn(torch, *ts), 1e-6, 1e-7, case.name)
    try:
        want = _run_torch(torch, case, dtypes, "bfloat16")
    except RuntimeError:  # PyTorch's CPU autocast refuses this mix (CUDA's promotes it)
        return
    assert _dtypes(want) == ["float32"]
    _close(got, want, 1e-6, 1e-7, case.name)


@pytest.mark.parametrize("case", PROMOTE, ids=repr)
def test_mixed_float_inputs_are_refused_outside_autocast(case, device):
    xs = _gg_inputs(case.arrays(), ["bfloat16"] + ["float32"] * (len(case.shapes) - 1), device)
    with pytest.raises(DTypeError):
        case.fn(gg, *xs)


@pytest.mark.torch
@pytest.mark.parametrize("case", PROMOTE + WIDEST, ids=repr)
def test_same_dtype_inputs_are_left_alone(case, device, torch):
    """float32 inputs give float32, as under PyTorch's CPU autocast, computed as outside
    autocast (PyTorch's CPU autocast runs bilinear's inner products in bfloat16, its CUDA
    autocast promotes bilinear and runs it in float32, as here)."""
    dtypes = ["float32"] * len(case.shapes)
    got = _run(case, device, dtypes, "bfloat16")
    assert _dtypes(got) == _dtypes(_run_torch(torch, case, dtypes, "bfloat16")) == ["float32"]
    _close(got, _run_torch(torch, case, dtypes, None), 2e-6, 1e-7, case.name)


def test_other_ops_keep_their_input_dtype(device):
    """Ops on no list run in their inputs' type: bfloat16 activations stay bfloat16."""
    x = gg.rand(3, 4, device=device)
    with gg.autocast(device, dtype=gg.bfloat16):
        h = x @ x.T
        outs = {"relu": h.relu(), "gelu": NF.gelu(h, approximate="tanh"), "tanh": h.tanh(), "sigmoid": h.sigmoid(),
                "mul": h * h, "sqrt": h.sqrt(), "max": h.amax(1), "reshape": h.reshape(-1),
                "dropout": NF.dropout(h, 0.5), "mish": NF.mish(h), "silu": NF.silu(h), "x": x * 2}
    assert {k: v.dtype for k, v in outs.items()} == {**{k: gg.bfloat16 for k in outs}, "x": gg.float32}


def test_embedding_bag_runs_as_one_op_of_its_weights_type(device):
    """embedding_bag sums its bags with a matmul, but is no listed product."""
    w = gg.rand(5, 3, device=device, requires_grad=True)
    idx, offsets = gg.tensor([0, 2, 4, 1], device=device), gg.tensor([0, 3], device=device)
    with gg.autocast(device, dtype=gg.bfloat16):
        y = NF.embedding_bag(idx, w, offsets, mode="sum")
    assert y.dtype == gg.float32
    np.testing.assert_array_equal(y.numpy(), NF.embedding_bag(idx, w, offsets, mode="sum").numpy())


# -- a model: forward under autocast, backward after it ------------------------------------------
def _mlp(rng, device):
    model = gg.nn.Sequential(gg.nn.Linear(6, 16), gg.nn.ReLU(), gg.nn.Linear(16, 4))
    with gg.no_grad():
        for p in model.parameters():
            p.copy_(gg.tensor(rng.uniform(-0.5, 0.5, size=p.shape).astype(np.float32)))
    return model.to(device)


@pytest.mark.torch
def test_mlp_forward_backward_matches_pytorch(device, torch):
    rng = np.random.default_rng(0)
    model = _mlp(rng, device)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = rng.integers(0, 4, 8)
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    with torch.no_grad():
        for p, q in zip(tmodel.parameters(), model.parameters()):
            p.copy_(torch.tensor(q.numpy()))
    with gg.autocast(device, dtype=gg.bfloat16):
        logits = model(gg.tensor(x, device=device))
        loss = NF.cross_entropy(logits, gg.tensor(y, device=device))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        tlogits = tmodel(torch.tensor(x))
        tloss = torch.nn.functional.cross_entropy(tlogits, torch.tensor(y))
    assert (logits.dtype, loss.dtype) == (gg.bfloat16, gg.float32)
    assert (tlogits.dtype, tloss.dtype) == (torch.bfloat16, torch.float32)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-2)
    for p, q in zip(model.parameters(), tmodel.parameters()):
        assert p.dtype == p.grad.dtype == gg.float32
        g, want = p.grad.numpy(), q.grad.numpy()
        np.testing.assert_allclose(g, want, rtol=0, atol=2e-2 * np.abs(want).max())
    # and the mixed-precision gradient is not the float32 one: the region did something
    loss32 = NF.cross_entropy(model(gg.tensor(x, device=device)), gg.tensor(y, device=device))
    assert loss32.item() != loss.item()


def test_training_steps_keep_parameters_float32(device):
    rng = np.random.default_rng(1)
    model = _mlp(rng, device)
    opt = gg.optim.SGD(model.parameters(), lr=0.1)
    x, y = gg.tensor(rng.standard_normal((8, 6)).astype(np.float32), device=device), gg.tensor(rng.integers(0, 4, 8),
                                                                                               device=device)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        with gg.autocast(device, dtype=gg.bfloat16):
            loss = NF.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(p.dtype == gg.float32 for p in model.parameters())
    assert losses[-1] < losses[0]


def test_backward_inside_the_region_gives_float32_gradients(device):
    w = gg.rand(4, 3, device=device, requires_grad=True)
    x = gg.rand(2, 3, device=device)
    with gg.autocast(device, dtype=gg.bfloat16):
        loss = (x @ w.T).sum()
        loss.backward()
    assert w.grad.dtype == gg.float32
    np.testing.assert_allclose(w.grad.numpy(), np.broadcast_to(x.numpy().sum(0), (4, 3)), rtol=_BF16_RTOL)


# -- the cast cache ------------------------------------------------------------------------------
@pytest.fixture
def casts(monkeypatch):
    """Every cast autocast makes, as (source tensor, dtype)."""
    seen = []
    real = AC.cast

    def counting(t, dtype):
        seen.append((t, dtype))
        return real(t, dtype)

    monkeypatch.setattr(AC, "cast", counting)
    return seen


def _of(seen, t):
    return sum(1 for s, _ in seen if s is t)


def test_a_weight_used_twice_is_cast_once(device, casts):
    w = gg.rand(4, 3, device=device, requires_grad=True)
    x = gg.rand(2, 3, device=device)
    with gg.autocast(device, dtype=gg.bfloat16):
        a = NF.linear(x, w)
        b = x @ w.T
        c = gg.mm(x, w.T)  # w.T is a view, made outside autocast: cast on its own
    assert _of(casts, w) == 1
    assert _of(casts, x) == 3  # activations are not cached
    np.testing.assert_array_equal(a.float().numpy(), b.float().numpy())
    np.testing.assert_array_equal(a.float().numpy(), c.float().numpy())
    (a.float().sum() + b.float().sum()).backward()
    assert w.grad.dtype == gg.float32
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.broadcast_to(x.to(gg.bfloat16).float().numpy().sum(0), (4, 3)),
                               rtol=_BF16_RTOL)


def test_the_cache_lives_until_the_outermost_region_exits(device, casts):
    w = gg.rand(4, 3, device=device, requires_grad=True)
    x = gg.rand(2, 3, device=device)
    with gg.autocast(device):
        with gg.autocast(device):
            NF.linear(x, w)
        NF.linear(x, w)  # the inner exit kept the cache
        assert _of(casts, w) == 1
    with gg.autocast(device):
        NF.linear(x, w)  # a new region casts again
    assert _of(casts, w) == 2


def test_what_is_not_cached(device, casts):
    w = gg.rand(4, 3, device=device, requires_grad=True)
    frozen = gg.rand(4, 3, device=device)  # no grad: not a parameter
    x = gg.rand(2, 3, device=device)
    with gg.autocast(device, cache_enabled=False):
        NF.linear(x, w)
        NF.linear(x, w)
    assert _of(casts, w) == 2
    with gg.autocast(device):
        NF.linear(x, frozen)
        NF.linear(x, frozen)
    assert _of(casts, frozen) == 2


def test_an_in_place_update_is_seen(device, casts):
    w = gg.rand(4, 3, device=device, requires_grad=True)
    x = gg.rand(2, 3, device=device)
    with gg.autocast(device, dtype=gg.bfloat16):
        before = NF.linear(x, w)
        with gg.no_grad():
            w.mul_(2.0)
        after = NF.linear(x, w)
    assert _of(casts, w) == 2
    np.testing.assert_allclose(after.float().numpy(), 2 * before.float().numpy(), rtol=_BF16_RTOL)


def test_a_cast_made_without_grad_does_not_serve_an_op_with_grad(device):
    w = gg.rand(4, 3, device=device, requires_grad=True)
    x = gg.rand(2, 3, device=device)
    with gg.autocast(device):
        with gg.no_grad():
            NF.linear(x, w)
        y = NF.linear(x, w)
    assert y.requires_grad
    y.float().sum().backward()
    assert w.grad is not None and w.grad.dtype == gg.float32


# -- regions: nesting, disabling, the decorator, threads, device types ---------------------------
def test_nested_regions_restore_the_outer_state(device):
    a = gg.rand(2, 3, device=device)
    b = gg.rand(3, 2, device=device)
    assert not gg.is_autocast_enabled(device)
    with gg.autocast(device, dtype=gg.bfloat16):
        assert ((a @ b).dtype, gg.get_autocast_dtype(device)) == (gg.bfloat16, gg.bfloat16)
        with gg.autocast(device, enabled=False):
            assert not gg.is_autocast_enabled(device)
            y = a @ b
            assert y.dtype == gg.float32
            np.testing.assert_allclose(y.numpy(), a.numpy() @ b.numpy(), rtol=1e-6)
            with gg.autocast(device, dtype=gg.float16):
                assert (a @ b).dtype == gg.float16
            assert (a @ b).dtype == gg.float32
        assert gg.is_autocast_enabled(device)
        assert ((a @ b).dtype, gg.get_autocast_dtype(device)) == (gg.bfloat16, gg.bfloat16)
    assert not gg.is_autocast_enabled(device)
    assert (a @ b).dtype == gg.float32
    assert gg.get_autocast_dtype(device) == {"cpu": gg.bfloat16, "cuda": gg.float16}[device]
    assert AC.gate.active == 0


def test_a_region_left_by_an_exception_is_closed(device):
    with pytest.raises(ValueError, match="inside"):
        with gg.autocast(device):
            raise ValueError("inside")
    assert not gg.is_autocast_enabled(device)
    assert AC.gate.active == 0
    assert (gg.rand(2, 3, device=device) @ gg.rand(3, 2, device=device)).dtype == gg.float32


def test_defaults_are_pytorchs():
    assert gg.get_autocast_dtype("cpu") == gg.bfloat16
    assert gg.get_autocast_dtype("cuda") == gg.float16
    assert gg.autocast("cpu").fast_dtype == gg.bfloat16
    assert gg.autocast("cuda").fast_dtype == gg.float16
    assert gg.amp.autocast is gg.autocast
    with gg.autocast("cpu"):
        assert gg.is_autocast_enabled("cpu") and not gg.is_autocast_enabled("cuda")
        assert not gg.is_autocast_enabled()  # no device type: "cuda", as torch.is_autocast_enabled()


def test_a_region_affects_only_its_device_type(device):
    other = "cuda" if device == "cpu" else "cpu"
    a = gg.rand(2, 3, device=device)
    with gg.autocast(other):
        assert (a @ a.T).dtype == gg.float32
        assert a.exp().dtype == gg.float32
    with gg.autocast(device, dtype=gg.float16):
        assert (a @ a.T).dtype == gg.float16


def test_decorator(device):
    a = gg.rand(2, 3, device=device)

    @gg.autocast(device, dtype=gg.bfloat16)
    def forward(x, depth=0):
        assert gg.is_autocast_enabled(device)
        y = x @ x.T
        return forward(x, depth + 1) if depth < 2 else y

    assert forward.__name__ == "forward"
    assert forward(a).dtype == gg.bfloat16
    assert not gg.is_autocast_enabled(device)
    assert (a @ a.T).dtype == gg.float32

    @gg.autocast(device, enabled=False)
    def plain(x):
        return x @ x.T

    with gg.autocast(device):
        assert plain(a).dtype == gg.float32
        assert (a @ a.T).dtype == {"cpu": gg.bfloat16, "cuda": gg.float16}[device]


def test_state_is_thread_local(device):
    a = gg.rand(2, 3, device=device)
    seen = {}

    def other():
        seen["enabled"] = gg.is_autocast_enabled(device)
        seen["dtype"] = (a @ a.T).dtype
        with gg.autocast(device, dtype=gg.bfloat16):
            seen["own"] = (a @ a.T).dtype

    with gg.autocast(device, dtype=gg.float16):
        t = threading.Thread(target=other)
        t.start()
        t.join()
        mine = (a @ a.T).dtype
    assert seen == {"enabled": False, "dtype": gg.float32, "own": gg.bfloat16}
    assert mine == gg.float16

    # and a region in another thread leaves this one alone
    entered, release = threading.Event(), threading.Event()

    def hold():
        with gg.autocast(device):
            entered.set()
            release.wait(30)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert entered.wait(30)
        assert not gg.is_autocast_enabled(device)
        assert (a @ a.T).dtype == gg.float32
    finally:
        release.set()
        t.join()
    assert AC.gate.active == 0


# -- refusals ------------------------------------------------------------------------------------
@pytest.mark.parametrize("args,kwargs,error,match", [
    (("tpu",), {}, ArgumentError, "device_type 'cpu' or 'cuda', got 'tpu'"),
    (("cuda:0",), {}, ArgumentError, "got 'cuda:0'"),
    ((gg.device("cpu"),), {}, ArgumentTypeError, "expected device_type to be a str"),
    ((None,), {}, ArgumentTypeError, "expected device_type to be a str"),
    (("cpu",), {"dtype": gg.float32}, DTypeError, "bfloat16 or gpugrad.float16, got dtype\\('float32'\\)"),
    (("cpu",), {"dtype": gg.int64}, DTypeError, "bfloat16 or gpugrad.float16"),
    (("cpu",), {"dtype": "complex64"}, DTypeError, "bfloat16 or gpugrad.float16, got 'complex64'"),
    (("cpu",), {"enabled": 1}, ArgumentTypeError, "enabled to be a bool, got int 1"),
    (("cpu",), {"enabled": None}, ArgumentTypeError, "enabled to be a bool"),
    (("cpu",), {"cache_enabled": "yes"}, ArgumentTypeError, "cache_enabled to be a bool, got str"),
])  # fmt: skip
def test_bad_arguments_are_refused(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        gg.autocast(*args, **kwargs)
    assert not gg.is_autocast_enabled("cpu")


def test_names_are_accepted_for_dtypes():
    assert gg.autocast("cpu", dtype="float16").fast_dtype == gg.float16
    assert gg.autocast("cuda", dtype="bfloat16").fast_dtype == gg.bfloat16


def test_bad_queries_and_decorations_are_refused():
    with pytest.raises(ArgumentError, match="\\[is_autocast_enabled\\] expected device_type 'cpu' or 'cuda'"):
        gg.is_autocast_enabled("gpu")
    with pytest.raises(ArgumentTypeError, match="\\[get_autocast_dtype\\]"):
        gg.get_autocast_dtype(0)
    with pytest.raises(ArgumentTypeError, match="decorator, expected a function, got int"):
        gg.autocast("cpu")(3)


@pytest.mark.parametrize("low", [gg.bfloat16, gg.float16])
def test_cross_entropy_of_half_logits_skips_the_cast_where_the_kernels_widen(device, low):
    """Under autocast the loss is float32 either way; on CUDA the kernels read the half
    logits and widen them (SoftmaxCrossEntropy(wide=True)), with the cast path's numbers
    bit for bit: the loss, and the logits' gradient rounded once to their dtype. The CPU
    (float32 math) casts the logits first."""
    rng = np.random.default_rng(3)
    z = gg.tensor(rng.standard_normal((9, 7)).astype(np.float32), device=device).to(low)
    t = gg.tensor(rng.integers(0, 7, 9), device=device)
    for red in ("mean", "sum", "none"):
        a = z.detach().requires_grad_()
        with gg.autocast(device, dtype=low):
            loss = NF.cross_entropy(a, t, reduction=red, label_smoothing=0.1)
        assert loss.dtype == gg.float32
        assert loss.creator.name == "SoftmaxCrossEntropy" and loss.creator.wide == (device == "cuda")
        loss.sum().backward()
        b = z.detach().float().requires_grad_()
        want = NF.cross_entropy(b, t, reduction=red, label_smoothing=0.1)
        want.sum().backward()
        np.testing.assert_array_equal(loss.detach().cpu().numpy(), want.detach().cpu().numpy())
        assert a.grad.dtype == low
        np.testing.assert_array_equal(a.grad.float().cpu().numpy(), b.grad.to(low).float().cpu().numpy())


def test_norm_modules_take_the_float32_policy_of_their_functions(device):
    """nn.LayerNorm/RMSNorm/GroupNorm/BatchNorm1d go through nn.functional's norms, so a
    bfloat16 input is normalized in float32 (RMSNorm's default eps is float32's, as
    nn.functional.rms_norm's under autocast)."""
    x = gg.randn(6, 4, device=device).bfloat16()
    for module, fn in ((gg.nn.LayerNorm(4), lambda t: NF.layer_norm(t, (4,))),
                       (gg.nn.RMSNorm(4), lambda t: NF.rms_norm(t, (4,))),
                       (gg.nn.GroupNorm(2, 4), lambda t: NF.group_norm(t, 2)),
                       (gg.nn.BatchNorm1d(4, affine=False, track_running_stats=False),
                        lambda t: NF.batch_norm(t, None, None, training=True))):
        module.to(device)
        with gg.autocast(device, dtype=gg.bfloat16):
            got = module(x)
            want = fn(x)
        assert got.dtype == gg.float32, type(module).__name__
        np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().cpu().numpy(), rtol=1e-6, atol=1e-6)
