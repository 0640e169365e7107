"""Issue 17's nn surface beyond the op table (tests/op_specs_nn.py): activation and loss
modules, pad/attention edge cases, containers, hooks, get_submodule, summary, RMSNorm,
GroupNorm, Bilinear, EmbeddingBag, Embedding(max_norm=), AlphaDropout, init and the
parameter-vector utils. Each on every device, against hand values (no PyTorch needed) and
against PyTorch when it is installed, with the errors for bad input."""

import math

import numpy as np
import pytest
from helpers import close, make, settle

import gpugrad as gg
from gpugrad import nn
from gpugrad.autograd import gradcheck
from gpugrad.errors import ArgumentError, ArgumentTypeError, DTypeError, GpugradIndexError, ShapeError
from gpugrad.nn import functional as NF


def _torch():
    return pytest.importorskip("torch")


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# -- activations ---------------------------------------------------------------------------------
ACTS = [
    (nn.SELU(), NF.selu, "SELU()"), (nn.CELU(0.5), lambda x: NF.celu(x, 0.5), "CELU(alpha=0.5)"),
    (nn.ReLU6(), NF.relu6, "ReLU6()"), (nn.Hardsigmoid(), NF.hardsigmoid, "Hardsigmoid()"),
    (nn.Hardswish(), NF.hardswish, "Hardswish()"), (nn.Mish(), NF.mish, "Mish()"),
    (nn.LogSigmoid(), NF.logsigmoid, "LogSigmoid()"), (nn.Softsign(), NF.softsign, "Softsign()"),
    (nn.Tanhshrink(), NF.tanhshrink, "Tanhshrink()"), (nn.Softmin(1), lambda x: NF.softmin(x, 1), "Softmin(dim=1)"),
    (nn.GLU(), NF.glu, "GLU(dim=-1)"),
    (nn.Threshold(0.1, 20.0), lambda x: NF.threshold(x, 0.1, 20.0), "Threshold(threshold=0.1, value=20.0)"),
]  # fmt: skip


@pytest.mark.parametrize("module,fn,text", ACTS, ids=[a[2] for a in ACTS])
def test_activation_modules_match_their_functions_and_torch(module, fn, text, device):
    x = make(_rand(3, 4) * 3, device)
    close(module(x), fn(x).numpy(), rtol=0, atol=0)
    assert repr(module) == text
    torch = _torch()
    tmod = getattr(torch.nn, type(module).__name__)(*{
        "CELU": (0.5,), "Softmin": (1,), "Threshold": (0.1, 20.0)}.get(type(module).__name__, ()))
    close(module(x), tmod(torch.tensor(x.numpy())).numpy(), rtol=1e-6, atol=1e-6)


def test_activations_by_hand(device):
    x = make([-4.0, -1.0, 0.0, 2.0, 7.0], device)
    close(NF.relu6(x), [0, 0, 0, 2, 6])
    close(NF.hardsigmoid(x), [0, 2 / 6, 0.5, 5 / 6, 1])
    close(NF.hardswish(x), [0, -2 / 6, 0, 10 / 6, 7])
    close(NF.softsign(x), [-0.8, -0.5, 0, 2 / 3, 7 / 8])
    close(NF.threshold(x, 0.0, -9.0), [-9, -9, -9, 2, 7])
    close(NF.glu(make([[1.0, 2.0, 0.0, 100.0]], device)), [[0.5, 2.0]])
    i = make(np.array([-3, 2, 9]), device)
    assert NF.relu6(i).dtype == gg.int64 and NF.relu6(i).tolist() == [0, 2, 6]
    assert NF.threshold(i, 1, 0.5).tolist() == [0, 2, 9]  # the value in the input's (integer) dtype


def test_logsigmoid_is_finite_far_out(device):
    x = make([-1e4, -50.0, 50.0, 1e4], device, requires_grad=True)
    y = NF.logsigmoid(x)
    close(y, [-1e4, -50.0, -math.exp(-50.0), 0.0], rtol=1e-12, atol=1e-30)
    y.sum().backward()
    close(x.grad, [1.0, 1.0, math.exp(-50.0), 0.0], rtol=1e-12, atol=1e-30)


def test_inplace_activations_write_the_input(device):
    x = make([-1.0, 3.0, 8.0], device)
    y = nn.ReLU6(inplace=True)(x)
    assert y is x and x.tolist() == [0.0, 3.0, 6.0]
    assert repr(nn.ReLU6(inplace=True)) == "ReLU6(inplace=True)"


def test_softmin_without_dim_warns_and_picks_pytorchs_dim(device):
    x = make(_rand(2, 3), device)
    with pytest.warns(UserWarning, match=r"\[softmin\] implicit dimension"):
        y = nn.Softmin()(x)
    close(y, NF.softmin(x, 1).numpy(), rtol=0, atol=0)


def test_activation_errors(device):
    with pytest.raises(DTypeError, match=r"^\[selu\] expected a floating point tensor, got int64"):
        NF.selu(make(np.array([1, 2]), device))
    with pytest.raises(ArgumentError, match=r"^\[celu\] expected a nonzero alpha"):
        nn.CELU(0.0)(make([1.0], device))
    with pytest.raises(ArgumentError, match=r"^\[glu\] expected an even size along dim -1 .*\(2, 3\)"):
        nn.GLU()(make(np.ones((2, 3)), device))
    with pytest.raises(ArgumentError, match=r"^\[glu\] expected a tensor with at least 1 dim"):
        NF.glu(make(1.0, device))
    with pytest.raises(DTypeError, match=r"^\[threshold\] expected a numeric tensor, got bool"):
        NF.threshold(make([True], device), 0, 1)
    with pytest.raises(ArgumentTypeError, match=r"^\[softsign\] expected a Tensor, got list"):
        NF.softsign([1.0])


# -- losses ----------------------------------------------------------------------------------------
def test_losses_by_hand(device):
    a, b = make([0.0, 1.0, 3.0], device), make([0.2, 0.0, 0.0], device)
    close(NF.smooth_l1_loss(a, b, reduction="none", beta=0.5), [0.04, 0.75, 2.75])
    close(NF.smooth_l1_loss(a, b, reduction="sum", beta=0.0), 4.2)  # beta = 0 is L1
    close(NF.huber_loss(a, b, reduction="none", delta=2.0), [0.02, 0.5, 4.0])
    y = make([1.0, -1.0, -1.0], device)
    close(NF.margin_ranking_loss(a, b, y, margin=0.5, reduction="none"), [0.7, 1.5, 3.5])
    close(NF.hinge_embedding_loss(a, y, margin=2.0, reduction="none"), [0.0, 1.0, 0.0])
    close(NF.soft_margin_loss(a, y, reduction="sum"), math.log(2) + math.log1p(math.e) + math.log1p(math.e ** 3))
    logp, p = make([[math.log(0.5), math.log(0.5)]] * 2, device), make([[1.0, 0.0], [0.25, 0.75]], device)
    kl = [math.log(2), 0.25 * math.log(0.5) + 0.75 * math.log(1.5)]
    close(NF.kl_div(logp, p, reduction="batchmean"), sum(kl) / 2)  # 0 log 0 counts 0
    close(NF.kl_div(logp, p, reduction="mean"), sum(kl) / 4)
    close(NF.poisson_nll_loss(make([0.0], device), make([3.0], device), log_input=True, full=True),
          1.0 + 3 * math.log(3) - 3 + 0.5 * math.log(6 * math.pi))
    e1, e2 = make([[1.0, 0.0], [1.0, 1.0]], device), make([[0.0, 1.0], [2.0, 2.0]], device)
    close(NF.cosine_embedding_loss(e1, e2, make([1.0, -1.0], device), margin=0.5, reduction="none"), [1.0, 0.5])
    anchor, pos, neg = make([[0.0, 0.0]], device), make([[3.0, 4.0]], device), make([[0.0, 1.0]], device)
    close(NF.triplet_margin_loss(anchor, pos, neg, margin=1.0, eps=0.0), 5.0)
    close(NF.triplet_margin_loss(anchor, pos, neg, margin=1.0, eps=0.0, swap=True), 5.0)
    close(NF.multilabel_soft_margin_loss(make([[0.0, 0.0]], device), make([[1.0, 0.0]], device)), math.log(2))


LOSSES = [
    ("SmoothL1Loss", {"beta": 0.3}, 2), ("HuberLoss", {"delta": 0.4}, 2), ("KLDivLoss", {"log_target": True}, 2),
    ("PoissonNLLLoss", {"full": True}, 2), ("MarginRankingLoss", {"margin": 0.2}, 3),
    ("HingeEmbeddingLoss", {"margin": 0.5}, 2), ("CosineEmbeddingLoss", {"margin": 0.1}, 3),
    ("MultiLabelSoftMarginLoss", {}, 2), ("SoftMarginLoss", {}, 2), ("TripletMarginLoss", {"swap": True}, 3),
]  # fmt: skip


def _loss_inputs(name, n, rng):
    xs = [rng.standard_normal((4, 3)) for _ in range(n)]
    pm = np.where(rng.random(4 if name == "CosineEmbeddingLoss" else (4, 3)) > 0.5, 1.0, -1.0)
    if name in ("MarginRankingLoss", "CosineEmbeddingLoss"):
        xs[2] = pm
    elif name in ("HingeEmbeddingLoss", "SoftMarginLoss"):
        xs[1] = pm
    elif name == "MultiLabelSoftMarginLoss":
        xs[1] = (rng.random((4, 3)) > 0.5).astype(float)
    elif name == "PoissonNLLLoss":
        xs[1] = rng.integers(0, 5, (4, 3)).astype(float)
    return xs


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # PyTorch's KLDivLoss notice
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,kw,n", LOSSES, ids=[c[0] for c in LOSSES])
def test_loss_modules_match_torch(name, kw, n, reduction, device):
    torch = _torch()
    arrays = _loss_inputs(name, n, np.random.default_rng(5))
    xs = [make(a, device, requires_grad=i == 0) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a, requires_grad=i == 0) for i, a in enumerate(arrays)]
    out = getattr(nn, name)(reduction=reduction, **kw)(*xs)
    tout = getattr(torch.nn, name)(reduction=reduction, **kw)(*ts)
    close(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    close(xs[0].grad, ts[0].grad.numpy(), rtol=1e-9, atol=1e-12)
    assert "reduction" not in repr(getattr(nn, name)())


def test_loss_errors(device):
    x = make(np.ones(3), device)
    with pytest.raises(ArgumentError, match=r"^\[smooth_l1_loss\] reduction must be one of .* got 'avg'"):
        NF.smooth_l1_loss(x, x, reduction="avg")
    with pytest.raises(ArgumentError, match=r"^\[huber_loss\] expected delta > 0, got 0"):
        nn.HuberLoss(delta=0)(x, x)
    with pytest.raises(ShapeError, match=r"^\[kl_div\] input and target shapes differ: \(3,\) vs \(2,\)"):
        nn.KLDivLoss()(x, make(np.ones(2), device))
    with pytest.raises(DTypeError, match=r"^\[poisson_nll_loss\] expected a floating point input, got int64"):
        NF.poisson_nll_loss(make(np.array([1, 2]), device), make(np.array([1, 2]), device))
    with pytest.raises(ShapeError, match=r"^\[margin_ranking_loss\] expected broadcastable shapes"):
        nn.MarginRankingLoss()(x, make(np.ones(2), device), x)
    with pytest.raises(ShapeError, match=r"^\[cosine_embedding_loss\] expected inputs \(N, D\) with target \(N,\)"):
        nn.CosineEmbeddingLoss()(make(np.ones((2, 3)), device), make(np.ones((2, 3)), device), x)
    with pytest.raises(ArgumentError, match=r"^\[triplet_margin_loss\] expected margin > 0, got -1"):
        nn.TripletMarginLoss(margin=-1)(x, x, x)
    with pytest.raises(ArgumentTypeError, match=r"^\[hinge_embedding_loss\] expected tensors, got Tensor, list"):
        NF.hinge_embedding_loss(x, [1, -1, 1])


# -- distances, pad, attention ----------------------------------------------------------------------
def test_distances_and_normalize_by_hand(device):
    a, b = make([[3.0, 4.0], [0.0, 0.0]], device), make([[0.0, 0.0], [1.0, 0.0]], device)
    close(NF.normalize(a), [[0.6, 0.8], [0.0, 0.0]])  # a zero row stays zero (eps)
    close(NF.normalize(a, p=1, dim=0), [[1.0, 1.0], [0.0, 0.0]])
    close(NF.pairwise_distance(a, b, eps=0.0), [5.0, 1.0])
    close(NF.pairwise_distance(a, b, p=math.inf, eps=0.0, keepdim=True), [[4.0], [1.0]])
    close(NF.cosine_similarity(a, make([[4.0, -3.0], [1.0, 0.0]], device)), [0.0, 0.0])
    close(NF.cosine_similarity(a, make([6.0, 8.0], device), dim=-1), [1.0, 0.0])  # broadcast
    x = make([[3.0, 4.0]], device, requires_grad=True)
    assert gradcheck(lambda t: NF.normalize(t, dim=1), [x])


def test_pad_modes_by_hand(device):
    x = make([[1.0, 2.0, 3.0]], device)
    assert NF.pad(x, (2, 1), mode="reflect").tolist() == [[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]
    assert NF.pad(x, (2, 1), mode="replicate").tolist() == [[1.0, 1.0, 1.0, 2.0, 3.0, 3.0]]
    assert NF.pad(x, (2, 1), mode="circular").tolist() == [[2.0, 3.0, 1.0, 2.0, 3.0, 1.0]]
    assert NF.pad(x, (-1, 1), mode="circular").tolist() == [[2.0, 3.0, 2.0]]  # crop, then wrap
    assert NF.pad(x, (-1, -1)).tolist() == [[2.0]]
    assert NF.pad(x, (1, -2), value=9.0).tolist() == [[9.0, 1.0]]
    g = make([[1.0, 2.0, 3.0]], device, requires_grad=True)
    NF.pad(g, (2, 1), mode="replicate").sum().backward()
    assert g.grad.tolist() == [[3.0, 1.0, 2.0]]  # the edge entries count once per copy


def test_pad_errors(device):
    x = make(np.ones((2, 3)), device)
    with pytest.raises(ArgumentError, match=r"^\[pad\] mode must be one of .* got 'wrap'"):
        NF.pad(x, (1, 1), mode="wrap")
    with pytest.raises(ShapeError, match=r"^\[pad\] reflect padding must be below the size of the dim, got \(3, 0\)"):
        NF.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ShapeError, match=r"^\[pad\] circular padding must be at most the size"):
        NF.pad(x, (0, 4), mode="circular")
    with pytest.raises(ShapeError, match=r"^\[pad\] mode 'replicate' pads the last 1, 2 or 3 dims .* got shape \(3,\)"):
        NF.pad(make(np.ones(3), device), (1, 1), mode="replicate")
    with pytest.raises(ArgumentError, match=r"^\[pad\] mode 'reflect' takes no value"):
        NF.pad(x, (1, 1), mode="reflect", value=1.0)
    with pytest.raises(ShapeError, match=r"^\[pad\] padding \(-2, -2\) of dim 1 \(size 3\) leaves no entries"):
        NF.pad(x, (-2, -2))
    with pytest.raises(ArgumentTypeError, match=r"^\[pad\] expected a tuple of ints for pad, got \(1.5, 1\)"):
        NF.pad(x, (1.5, 1))


def test_pad_matches_torch(device):
    torch = _torch()
    for shape, pad, mode in [((2, 3, 4), (2, -1), "reflect"), ((1, 2, 3, 4), (1, -2, 2, 1), "reflect"),
                             ((2, 3, 4), (2, -1, 1, -2), "replicate"), ((2, 3, 4, 5), (1, -1, 2, 2, 0, 3), "circular"),
                             ((2, 3, 4), (-1, 2), "circular"), ((3, 4), (3, 2), "reflect")]:
        a = _rand(*shape)
        x, t = make(a, device, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, ty = NF.pad(x, pad, mode=mode), torch.nn.functional.pad(t, pad, mode=mode)
        close(y, ty.detach().numpy(), rtol=0, atol=0)
        w = _rand(*ty.shape, seed=1)
        y.backward(make(w, device))
        ty.backward(torch.tensor(w))
        close(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_attention_bool_mask_is_a_minus_inf_bias(device):
    q, k, v = (make(_rand(2, 3, 4, seed=s), device) for s in range(3))
    keep = make(np.array([[True, False, True], [True, True, False], [False, False, True]]), device)
    bias = make(np.where(keep.numpy(), 0.0, -np.inf), device)
    close(NF.scaled_dot_product_attention(q, k, v, keep), NF.scaled_dot_product_attention(q, k, v, bias).numpy(),
          rtol=1e-12, atol=1e-12)
    # is_causal: the first query sees only the first key, so its output is that value row
    out = NF.scaled_dot_product_attention(q, k, v, is_causal=True)
    close(out[:, 0], v[:, 0].numpy(), rtol=1e-12, atol=1e-12)


def test_attention_dropout_uses_the_generator(device):
    q = make(_rand(2, 4, 3), device)
    runs = [NF.scaled_dot_product_attention(q, q, q, dropout_p=0.5, generator=gg.Generator(device).manual_seed(3))
            for _ in range(2)]
    close(runs[0], runs[1].numpy(), rtol=0, atol=0)
    assert not np.allclose(runs[0].numpy(), NF.scaled_dot_product_attention(q, q, q).numpy())


def test_attention_matches_torch_with_a_bool_mask(device):
    torch = _torch()
    arrays = [_rand(2, 3, 4, 5, seed=s) for s in range(3)]
    mask = np.random.default_rng(4).random((4, 4)) > 0.4
    mask[:, 0] = True
    xs = [make(a, device, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = NF.scaled_dot_product_attention(*xs, attn_mask=make(mask, device), scale=0.3)
    tout = torch.nn.functional.scaled_dot_product_attention(*ts, attn_mask=torch.tensor(mask), scale=0.3)
    close(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    for x, t in zip(xs, ts):
        close(x.grad, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_attention_errors(device):
    q = make(np.ones((2, 3, 4)), device)
    with pytest.raises(ShapeError, match=r"^\[scaled_dot_product_attention\] expected query \(\.\.\., L, E\)"):
        NF.scaled_dot_product_attention(q, make(np.ones((2, 3, 5)), device), q)
    with pytest.raises(ArgumentError, match=r"^\[scaled_dot_product_attention\] pass either attn_mask or is_causal"):
        NF.scaled_dot_product_attention(q, q, q, make(np.ones((3, 3), bool), device), is_causal=True)
    with pytest.raises(ShapeError, match=r"expected attn_mask broadcastable to \(2, 3, 3\), got \(4,\)"):
        NF.scaled_dot_product_attention(q, q, q, make(np.ones(4, bool), device))
    with pytest.raises(DTypeError, match=r"expected a bool or floating point attn_mask, got int64"):
        NF.scaled_dot_product_attention(q, q, q, make(np.ones(3, np.int64), device))
    with pytest.raises(ArgumentError, match=r"dropout_p must be in \[0, 1\], got 2"):
        NF.scaled_dot_product_attention(q, q, q, dropout_p=2)


# -- containers -----------------------------------------------------------------------------------------
def test_module_dict(device):
    d = nn.ModuleDict({"enc": nn.Linear(2, 3), "act": nn.Tanh()})
    d["dec"] = nn.Linear(3, 1)
    d.double().to(device)
    assert list(d) == ["enc", "act", "dec"] and "act" in d and len(d) == 3
    assert list(d.state_dict()) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    x = make(_rand(4, 2), device)
    assert d["dec"](d["act"](d["enc"](x))).shape == (4, 1)
    assert isinstance(d.pop("act"), nn.Tanh) and list(d.keys()) == ["enc", "dec"]
    with pytest.raises(KeyError, match=r"\[ModuleDict\] no module named 'act'; it holds \['enc', 'dec'\]"):
        d["act"]
    with pytest.raises(ArgumentTypeError, match=r"^\[ModuleDict\] expected a Module, got int"):
        d["x"] = 3
    with pytest.raises(ArgumentTypeError, match=r"^\[ModuleDict\] keys must be strings, got int"):
        d[1] = nn.ReLU()


def test_parameter_list_and_dict(device):
    pl = nn.ParameterList([gg.ones(2), nn.Parameter(gg.zeros(3))]).to(device)
    pl.append(gg.full((1,), 2.0))
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in pl)
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"] and len(pl) == 3
    assert "(1): Parameter containing: [float32 of size 3" in repr(pl)
    pd = nn.ParameterDict({"scale": gg.ones(2)})
    pd["shift"] = gg.zeros(2)
    pd.to(device)
    assert list(pd.state_dict()) == ["scale", "shift"] and isinstance(pd["shift"], nn.Parameter)
    (pd["scale"] * 3 + pd["shift"]).sum().backward()
    assert pd["scale"].grad.tolist() == [3.0, 3.0]
    with pytest.raises(KeyError, match=r"\[ParameterDict\] no parameter named 'bias'"):
        pd["bias"]
    with pytest.raises(ArgumentTypeError, match=r"^\[ParameterList\] expected a Parameter or a Tensor, got float"):
        pl.append(1.0)
    with pytest.raises(GpugradIndexError, match=r"^\[ParameterList\] index 5 is out of range for 3 parameters"):
        pl[5]


def test_containers_state_dict_round_trip(device):
    def build():
        m = nn.Module()
        m.blocks = nn.ModuleDict({"a": nn.Linear(2, 2)})
        m.scales = nn.ParameterList([gg.randn(2)])
        m.extra = nn.ParameterDict({"b": gg.randn(2)})
        return m.to(device)

    src, dst = build(), build()
    dst.load_state_dict(src.state_dict())
    for (n, p), (n2, q) in zip(src.named_parameters(), dst.named_parameters()):
        assert n == n2
        close(q, p.numpy(), rtol=0, atol=0)


# -- hooks and module features ----------------------------------------------------------------------------
def test_forward_hooks_and_handles(device):
    lin = nn.Linear(2, 2).double().to(device)
    seen = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    h2 = lin.register_forward_hook(lambda m, args, out: seen.append((args[0].tolist(), out.shape)) or out + 1)
    x = make([[1.0, 2.0]], device)
    plain = NF.linear(x * 2, lin.weight, lin.bias)
    close(lin(x), plain.numpy() + 1)
    assert seen == [([[2.0, 4.0]], (1, 2))]  # the forward hook sees the pre-hook's args
    h1.remove()
    h2.remove()
    close(lin(x), NF.linear(x, lin.weight, lin.bias).numpy())
    with lin.register_forward_pre_hook(lambda m, args, kw: ((args[0] * 0,), kw), with_kwargs=True):
        close(lin(x), lin.bias.numpy()[None])
    close(lin(x), NF.linear(x, lin.weight, lin.bias).numpy())  # removed on leaving the with block
    with pytest.raises(ArgumentTypeError, match=r"^\[register_forward_hook\] expected a callable hook, got int"):
        lin.register_forward_hook(3)


def test_hooks_fire_inside_sequential_fused_pairs(device):
    """Sequential runs Linear + ReLU as one fused op; a hook on either must still run."""
    m = nn.Sequential(nn.Linear(2, 2), nn.ReLU()).double().to(device)
    seen = []
    m[0].register_forward_hook(lambda mod, args, out: seen.append("linear"))
    m[1].register_forward_pre_hook(lambda mod, args: seen.append("relu"))
    m(make(_rand(3, 2), device))
    assert seen == ["linear", "relu"]


def test_prepend_orders_the_hooks(device):
    m, order = nn.Identity(), []
    m.register_forward_hook(lambda *a: order.append("first"))
    m.register_forward_hook(lambda *a: order.append("prepended"), prepend=True)
    m(make([1.0], device))
    assert order == ["prepended", "first"]


def test_full_backward_hook_sees_and_replaces_grad_input(device):
    lin = nn.Linear(3, 2).double().to(device)
    calls = []

    def hook(module, grad_input, grad_output):
        calls.append((module, [g.numpy().copy() for g in grad_input], [g.numpy().copy() for g in grad_output]))
        return (grad_input[0] * 10,)

    handle = lin.register_full_backward_hook(hook)
    x = make(_rand(4, 3), device, requires_grad=True)
    w = _rand(4, 2, seed=1)
    (lin(x) * make(w, device)).sum().backward()
    (module, gin, gout), = calls
    assert module is lin
    close(make(gout[0], "cpu"), w)
    close(make(gin[0], "cpu"), w @ lin.weight.numpy(), rtol=1e-5)
    close(x.grad, 10 * (w @ lin.weight.numpy()), rtol=1e-5)  # replaced by the hook
    handle.remove()
    x.grad = None
    (lin(x) * make(w, device)).sum().backward()
    assert len(calls) == 1
    close(x.grad, w @ lin.weight.numpy(), rtol=1e-5)


def test_full_backward_hook_without_input_gradients(device):
    lin = nn.Linear(3, 2).double().to(device)
    got = []
    lin.register_full_backward_hook(lambda m, gi, go: got.append((gi, go[0].shape)))
    lin(make(_rand(4, 3), device)).sum().backward()  # x needs no gradient: grad_input is (None,)
    assert got == [((None,), (4, 2))]


def test_full_backward_hook_matches_torch(device):
    torch = _torch()
    a = _rand(4, 3)
    lin = nn.Linear(3, 2).double().to(device)
    tlin = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        tlin.weight.copy_(torch.tensor(lin.weight.numpy()))
        tlin.bias.copy_(torch.tensor(lin.bias.numpy()))
    got, want = [], []
    lin.register_full_backward_hook(lambda m, gi, go: got.append((gi[0].numpy(), go[0].numpy())))
    tlin.register_full_backward_hook(lambda m, gi, go: want.append((gi[0].numpy(), go[0].numpy())))
    lin(make(a, device, requires_grad=True)).pow(2).sum().backward()
    tlin(torch.tensor(a, requires_grad=True)).pow(2).sum().backward()
    close(make(got[0][1], "cpu"), want[0][1], rtol=1e-10)
    close(make(got[0][0], "cpu"), want[0][0], rtol=1e-10)


def test_get_submodule_zero_grad_requires_grad_and_repr(device):
    m = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1))).double().to(device)
    assert m.get_submodule("1.1") is m[1][1] and m.get_submodule("") is m
    with pytest.raises(AttributeError, match=r"^\[get_submodule\] 1 has no sub-module 'x' \(looking up '1.x'\)"):
        m.get_submodule("1.x")
    assert [n for n, _ in m.named_modules()] == ["", "0", "1", "1.0", "1.1"]
    assert len(list(m.children())) == 2
    m(make(_rand(4, 2), device)).sum().backward()
    m.zero_grad()  # set_to_none=True by default, as PyTorch's
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    assert "(1): Linear(in_features=3, out_features=1, bias=True)" in repr(m)


def test_summary_counts_parameters(device):
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    m[2].requires_grad_(False)
    text = nn.utils.summary(m)
    lines = text.splitlines()
    assert lines[0].split() == ["Layer", "Type", "Params"]
    assert ["0", "Linear", "16"] in [ln.split() for ln in lines] and ["2", "Linear", "10"] in [ln.split() for ln in lines]
    assert "Total params: 26" in text and "Trainable params: 16" in text and "Non-trainable params: 10" in text
    with pytest.raises(ArgumentTypeError, match=r"^\[summary\] expected a Module, got int"):
        nn.utils.summary(3)


# -- layers ----------------------------------------------------------------------------------------------------
def test_rms_norm(device):
    x = make([[3.0, 4.0], [1.0, -1.0]], device, requires_grad=True)
    norm = nn.RMSNorm(2, eps=0.0).to(device)
    close(norm(x), [[3 / math.sqrt(12.5), 4 / math.sqrt(12.5)], [1.0, -1.0]])
    assert gradcheck(lambda t: NF.rms_norm(t, (2,), eps=1e-3), [x])
    with pytest.raises(ShapeError, match=r"^\[rms_norm\] expected input with shape \[\*, 3\], got \(2, 2\)"):
        nn.RMSNorm(3)(x)
    torch = _torch()
    a = _rand(4, 3, 5)
    for eps in (None, 1e-2):
        t = torch.nn.RMSNorm((3, 5), eps=eps).double()
        g = nn.RMSNorm((3, 5), eps=eps).double().to(device)
        close(g(make(a, device)), t(torch.tensor(a)).detach().numpy(), rtol=1e-10)


def test_group_norm(device):
    torch = _torch()
    a = _rand(4, 6, 5)
    g = nn.GroupNorm(3, 6).double().to(device)
    t = torch.nn.GroupNorm(3, 6).double()
    with gg.no_grad():
        g.weight.copy_(make(_rand(6, seed=1), device))
    with torch.no_grad():
        t.weight.copy_(torch.tensor(_rand(6, seed=1)))
    x, tx = make(a, device, requires_grad=True), torch.tensor(a, requires_grad=True)
    close(g(x), t(tx).detach().numpy(), rtol=1e-9, atol=1e-12)
    g(x).pow(2).sum().backward()
    t(tx).pow(2).sum().backward()
    close(x.grad, tx.grad.numpy(), rtol=1e-8, atol=1e-10)
    with pytest.raises(ArgumentError, match=r"^\[GroupNorm\] num_channels must be divisible by num_groups"):
        nn.GroupNorm(4, 6)


def test_bilinear(device):
    b = nn.Bilinear(2, 3, 1).double().to(device)
    with gg.no_grad():
        b.weight.copy_(make(np.arange(6.0).reshape(1, 2, 3), device))
        b.bias.fill_(0.5)
    x1, x2 = make([[1.0, 2.0]], device), make([[1.0, 0.0, -1.0]], device)
    close(b(x1, x2), [[(0 - 2) + 2 * (3 - 5) + 0.5]])
    xs = [make(_rand(4, 2), device, requires_grad=True), make(_rand(4, 3, seed=1), device, requires_grad=True),
          make(_rand(5, 2, 3, seed=2), device, requires_grad=True)]
    assert gradcheck(NF.bilinear, xs)
    with pytest.raises(ShapeError, match=r"^\[bilinear\] expected input1 \(\.\.\., in1\)"):
        b(x2, x1)
    torch = _torch()
    t = torch.nn.functional.bilinear(*[torch.tensor(x.numpy()) for x in xs])
    close(NF.bilinear(*xs), t.numpy(), rtol=1e-10)


def test_embedding_bag_by_hand(device):
    w = make(np.arange(10.0).reshape(5, 2), device)
    idx, offsets = make(np.array([0, 2, 4, 1]), device), make(np.array([0, 3, 3]), device)
    close(NF.embedding_bag(idx, w, offsets, mode="sum"), [[12.0, 15.0], [0.0, 0.0], [2.0, 3.0]])  # bag 1 is empty
    close(NF.embedding_bag(idx, w, offsets, mode="mean"), [[4.0, 5.0], [0.0, 0.0], [2.0, 3.0]])
    close(NF.embedding_bag(idx, w, offsets, mode="max"), [[8.0, 9.0], [0.0, 0.0], [2.0, 3.0]])
    close(NF.embedding_bag(idx, w, make(np.array([0, 3, 4]), device), mode="sum", include_last_offset=True),
          [[12.0, 15.0], [2.0, 3.0]])
    close(NF.embedding_bag(idx, w, offsets, mode="mean", padding_idx=4), [[2.0, 3.0], [0.0, 0.0], [2.0, 3.0]])
    close(NF.embedding_bag(make(np.array([[0, 1], [2, 2]]), device), w, mode="sum",
                           per_sample_weights=make([[1.0, 2.0], [0.5, 0.5]], device)), [[4.0, 7.0], [4.0, 5.0]])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_matches_torch(mode, device):
    torch = _torch()
    table = _rand(6, 3)
    idx, offsets = np.array([1, 5, 5, 0, 2, 3, 3]), np.array([0, 2, 2, 5])
    bag = nn.EmbeddingBag.from_pretrained(make(table, device), freeze=False, mode=mode, padding_idx=3)
    tbag = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(table), freeze=False, mode=mode, padding_idx=3)
    out = bag(make(idx, device), make(offsets, device))
    tout = tbag(torch.tensor(idx), torch.tensor(offsets))
    close(out, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = _rand(*out.shape, seed=2)
    out.backward(make(w, device))
    tout.backward(torch.tensor(w))
    close(bag.weight.grad, tbag.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    two_d = np.array([[1, 2, 3], [4, 4, 0]])
    close(bag(make(two_d, device)), tbag(torch.tensor(two_d)).detach().numpy(), rtol=1e-12, atol=1e-12)


def test_embedding_bag_errors(device):
    w = make(np.ones((5, 2)), device)
    with pytest.raises(ArgumentError, match=r"^\[embedding_bag\] offsets\[0\] has to be 0, got 1"):
        settle(NF.embedding_bag(make(np.array([0, 1]), device), w, make(np.array([1]), device)))
    with pytest.raises(ShapeError, match=r"^\[embedding_bag\] 1-D input needs 1-D integer offsets"):
        NF.embedding_bag(make(np.array([0, 1]), device), w)
    with pytest.raises(ArgumentError, match=r"^\[embedding_bag\] offsets must be None for 2-D input"):
        NF.embedding_bag(make(np.array([[0, 1]]), device), w, make(np.array([0]), device))
    with pytest.raises(ArgumentError, match=r"per_sample_weights are only supported for mode='sum', got mode='mean'"):
        NF.embedding_bag(make(np.array([[0, 1]]), device), w, per_sample_weights=make([[1.0, 1.0]], device))
    with pytest.raises(ArgumentError, match=r"^\[EmbeddingBag\] mode must be 'sum', 'mean' or 'max', got 'min'"):
        nn.EmbeddingBag(5, 2, mode="min")
    with pytest.raises(GpugradIndexError, match=r"^\[embedding\] indices must lie in \[0, 4\], got 7"):
        settle(NF.embedding_bag(make(np.array([[0, 7]]), device), w))


def test_embedding_max_norm_renormalizes_looked_up_rows_in_place(device):
    table = np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]])
    emb = nn.Embedding.from_pretrained(make(table, device), freeze=False, max_norm=1.0)
    out = emb(make(np.array([0, 1, 0]), device))
    scale = 1.0 / (5.0 + 1e-7)
    close(out, [[3 * scale, 4 * scale], [0.3, 0.4], [3 * scale, 4 * scale]], rtol=1e-12)
    close(emb.weight, [[3 * scale, 4 * scale], [0.3, 0.4], [6.0, 8.0]], rtol=1e-12)  # row 2 was not looked up
    out.sum().backward()
    assert emb.weight.grad.tolist() == [[2.0, 2.0], [1.0, 1.0], [0.0, 0.0]]
    assert "max_norm=1.0" in repr(emb)
    torch = _torch()
    temb = torch.nn.Embedding.from_pretrained(torch.tensor(table), freeze=False, max_norm=1.0, norm_type=1.0)
    g = nn.Embedding.from_pretrained(make(table, device), freeze=False, max_norm=1.0, norm_type=1.0)
    idx = np.array([[2, 1], [1, 1]])
    close(g(make(idx, device)), temb(torch.tensor(idx)).detach().numpy(), rtol=1e-12)
    close(g.weight, temb.weight.detach().numpy(), rtol=1e-12)


def test_alpha_dropout(device):
    x = make(_rand(200, 50), device)
    layer = nn.AlphaDropout(0.2, generator=gg.Generator(device).manual_seed(0))
    y = layer(x).numpy()
    a = 1 / math.sqrt((1.7580993408473766**2 * 0.2 + 1) * 0.8)
    dropped = np.isclose(y, -1.7580993408473766 * a * 0.8)  # SELU's saturation value, after the affine map
    kept = ~dropped
    assert 0.17 < dropped.mean() < 0.23
    close(make(y[kept], "cpu"), a * x.numpy()[kept] + 1.7580993408473766 * a * 0.2, rtol=1e-5)
    assert abs(y.mean()) < 0.05 and abs(y.std() - 1) < 0.05  # mean and variance kept
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ArgumentError, match=r"^\[AlphaDropout\] p must be in \[0, 1\], got 1.5"):
        nn.AlphaDropout(1.5)


def test_new_layers_state_dict_round_trip_and_device_moves(device):
    def build():
        return nn.ModuleDict({"rms": nn.RMSNorm(3), "gn": nn.GroupNorm(1, 3), "bil": nn.Bilinear(3, 3, 2),
                              "bag": nn.EmbeddingBag(5, 3), "emb": nn.Embedding(5, 3, max_norm=2.0)})

    src = build()
    for p in src.parameters():
        p.normal_()
    moved = build().to(device)
    moved.load_state_dict(src.state_dict())
    assert all(str(p.device) == str(make([0.0], device).device) for p in moved.parameters())
    x = gg.randn(4, 3)
    idx = gg.tensor(np.array([[0, 4], [2, 2]]))
    for name in ("rms", "gn"):
        close(moved[name](x.to(device)), src[name](x).numpy(), rtol=1e-6)
    close(moved["bil"](x.to(device), x.to(device)), src["bil"](x, x).numpy(), rtol=1e-5, atol=1e-6)
    close(moved["bag"](idx.to(device)), src["bag"](idx).numpy(), rtol=1e-6)
    close(moved["emb"](idx.to(device)), src["emb"](idx).numpy(), rtol=1e-6)
    assert list(moved.state_dict()) == ["rms.weight", "gn.weight", "gn.bias", "bil.weight", "bil.bias",
                                        "bag.weight", "emb.weight"]


# -- init and utils -----------------------------------------------------------------------------------------------
def test_trunc_normal_(device):
    t = gg.empty(400, 50, device=device)
    nn.init.trunc_normal_(t, mean=1.0, std=2.0, a=0.0, b=3.0, generator=gg.Generator(device).manual_seed(1))
    a = t.numpy()
    assert a.min() >= 0.0 and a.max() <= 3.0
    # the mean of N(1, 4) truncated to [0, 3]: mu + sigma (phi(alpha) - phi(beta)) / Z
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    mean = 1.0 + 2.0 * (phi(-0.5) - phi(1.0)) / (cdf(1.0) - cdf(-0.5))
    assert abs(a.mean() - mean) < 0.02
    with pytest.raises(ArgumentError, match=r"^\[trunc_normal_\] expected a < b, got a=2, b=1"):
        nn.init.trunc_normal_(t, a=2, b=1)
    with pytest.raises(ArgumentError, match=r"^\[trunc_normal_\] the window \[50, 60\] holds"):
        nn.init.trunc_normal_(t, a=50, b=60)


@pytest.mark.parametrize("shape", [(3, 5), (6, 3), (4, 2, 3)])
def test_orthogonal_(shape, device):
    t = nn.init.orthogonal_(gg.empty(*shape, device=device), gain=2.0)
    q = t.numpy().reshape(shape[0], -1).astype(np.float64)
    small = min(q.shape)
    gram = q @ q.T if q.shape[0] == small else q.T @ q
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-5)
    with pytest.raises(ArgumentError, match=r"^\[orthogonal_\] expected a tensor with >= 2 dims, got shape \(3,\)"):
        nn.init.orthogonal_(gg.empty(3, device=device))


def test_sparse_eye_and_dirac(device):
    t = nn.init.sparse_(gg.empty(10, 6, device=device), 0.3, std=0.5)
    assert ((t.numpy() == 0).sum(0) == 3).all()  # ceil(0.3 * 10) zeros per column
    with pytest.raises(ArgumentError, match=r"^\[sparse_\] expected a 2-D tensor, got shape \(3,\)"):
        nn.init.sparse_(gg.empty(3, device=device), 0.1)
    assert nn.init.eye_(gg.empty(2, 3, device=device)).tolist() == [[1, 0, 0], [0, 1, 0]]
    d = nn.init.dirac_(gg.empty(4, 2, 3, device=device), groups=2).numpy()
    assert d[:, :, 1].tolist() == [[1, 0], [0, 1], [1, 0], [0, 1]] and d.sum() == 4
    with pytest.raises(ArgumentError, match=r"^\[dirac_\] expected a 3-, 4- or 5-D tensor"):
        nn.init.dirac_(gg.empty(2, 2, device=device))
    torch = _torch()
    tw = torch.empty(6, 2, 3, 3)
    torch.nn.init.dirac_(tw, groups=3)
    close(nn.init.dirac_(gg.empty(6, 2, 3, 3, device=device), groups=3), tw.numpy(), rtol=0, atol=0)


def test_parameters_to_vector_and_back(device):
    m = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1)).to(device)
    v = nn.utils.parameters_to_vector(m.parameters())
    assert v.shape == (11,) and v.requires_grad  # in the graph, as PyTorch's
    close(v, np.concatenate([p.numpy().reshape(-1) for p in m.parameters()]), rtol=0, atol=0)
    nn.utils.vector_to_parameters(gg.arange(11.0, device=device), m.parameters())
    assert m[0].weight.tolist() == [[0, 1, 2], [3, 4, 5]] and m[1].bias.tolist() == [10]
    with pytest.raises(ShapeError, match=r"^\[vector_to_parameters\] expected a 1-D vec of 11 entries"):
        nn.utils.vector_to_parameters(gg.zeros(10, device=device), m.parameters())
    with pytest.raises(ArgumentTypeError, match=r"^\[vector_to_parameters\] expected vec to be a Tensor, got list"):
        nn.utils.vector_to_parameters([1.0], m.parameters())
    m(gg.ones(1, 3, device=device)).sum().backward()
    total = nn.utils.clip_grad_norm_(m.parameters(), 1.0, foreach=True)
    assert total.item() > 1.0
    close(nn.utils.parameters_to_vector(p.grad for p in m.parameters()).norm(), 1.0, rtol=1e-5)
