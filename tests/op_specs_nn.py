"""Op-table entries (see tests/op_specs.py) for the breadth issue's nn.functional ops
(activations, normalize, distances, pad, losses)."""

import numpy as np
from op_specs import Spec

import gpugrad as gg
from gpugrad.nn import functional as NF


def _tF():
    """torch.nn.functional, imported only by the cross-check (which needs torch anyway)."""
    import torch

    return torch.nn.functional


def _sig(a):
    return 1 / (1 + np.exp(-a))


def _on(fn, *arrays, dtype=None):
    """``fn`` of fresh tensors of ``arrays`` on device ``d`` (for ``bad=`` entries)."""
    return lambda d: fn(*[gg.tensor(a, dtype=dtype, device=d) for a in arrays])


_SELU_A, _SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
_INT = [[1, -2], [3, 0]]

SPECS = [
    # activations
    Spec("selu", NF.selu, lambda a: _SELU_S * np.where(a > 0, a, _SELU_A * np.expm1(a)), [(3, 4)], away_from=[0.0],
         bad=_on(NF.selu, _INT), torch=lambda a: _tF().selu(a)),
    Spec("celu", lambda a: NF.celu(a, 0.5), lambda a: np.where(a > 0, a, 0.5 * np.expm1(a / 0.5)), [(3, 4)],
         away_from=[0.0], bad=lambda d: NF.celu(gg.ones(2, device=d), alpha=0.0),
         torch=lambda a: _tF().celu(a, 0.5)),
    Spec("relu6", NF.relu6, lambda a: np.clip(a, 0, 6), [(3, 4)], low=-2, high=8, away_from=[0.0, 6.0],
         bad=_on(NF.relu6, [True, False]), torch=lambda a: _tF().relu6(a)),
    Spec("hardsigmoid", NF.hardsigmoid, lambda a: np.clip(a + 3, 0, 6) / 6, [(3, 4)], low=-5, high=5,
         away_from=[-3.0, 3.0], bad=_on(NF.hardsigmoid, _INT),
         # PyTorch's own definition: its kernel's gradient uses a float32 1/6 (3e-8 off in float64)
         torch=lambda a: _tF().relu6(a + 3) / 6),
    Spec("hardswish", NF.hardswish, lambda a: a * np.clip(a + 3, 0, 6) / 6, [(3, 4)], low=-5, high=5,
         away_from=[-3.0, 3.0], bad=_on(NF.hardswish, _INT), torch=lambda a: _tF().hardswish(a)),
    Spec("mish", NF.mish, lambda a: a * np.tanh(np.log1p(np.exp(a))), [(3, 4)], low=-4, high=4,
         bad=_on(NF.mish, _INT), torch=lambda a: _tF().mish(a)),
    Spec("softsign", NF.softsign, lambda a: a / (1 + np.abs(a)), [(3, 4)], away_from=[0.0],
         bad=_on(NF.softsign, [True]), torch=lambda a: _tF().softsign(a)),
    Spec("tanhshrink", NF.tanhshrink, lambda a: a - np.tanh(a), [(3, 4)], bad=_on(NF.tanhshrink, [True]),
         torch=lambda a: _tF().tanhshrink(a)),
    Spec("logsigmoid", NF.logsigmoid, lambda a: -np.log1p(np.exp(-a)), [(3, 4)], low=-10, high=10,
         bad=_on(NF.logsigmoid, _INT), torch=lambda a: _tF().logsigmoid(a)),
    Spec("softmin", lambda a: NF.softmin(a, 1), lambda a: np.exp(-a) / np.exp(-a).sum(1, keepdims=True), [(3, 4)],
         bad=lambda d: NF.softmin(gg.ones(2, 3, device=d), 2), torch=lambda a: _tF().softmin(a, 1)),
    Spec("glu", NF.glu, lambda a: a[:, :2] * _sig(a[:, 2:]), [(3, 4)],
         bad=lambda d: NF.glu(gg.ones(2, 3, device=d)), torch=lambda a: _tF().glu(a)),
    Spec("glu_dim0", lambda a: NF.glu(a, 0), lambda a: a[:2] * _sig(a[2:]), [(4, 3)],
         bad=_on(lambda a: NF.glu(a, 0), [[1, 2], [3, 4]]), torch=lambda a: _tF().glu(a, 0)),
    Spec("threshold", lambda a: NF.threshold(a, 0.5, -1.0), lambda a: np.where(a > 0.5, a, -1.0), [(3, 4)],
         away_from=[0.5], bad=_on(lambda a: NF.threshold(a, 0, 1), [True]),
         torch=lambda a: _tF().threshold(a, 0.5, -1.0)),
]


def _k(array, like):
    """A constant (targets, masks) next to ``like``: a gpugrad tensor on its device, or a torch
    tensor for the cross-check's torch forms."""
    if isinstance(like, gg.Tensor):
        return gg.tensor(array, dtype=like.dtype if array.dtype.kind == "f" else array.dtype, device=like.device)
    import torch

    return torch.tensor(array, dtype=like.dtype if array.dtype.kind == "f" else None)


_R = np.random.default_rng(17)
_PM = np.where(_R.random((3, 4)) > 0.5, 1.0, -1.0)  # +-1 targets
_PM_ROW = np.array([1.0, -1.0, 1.0])
_01 = np.where(_R.random((3, 4)) > 0.5, 1.0, 0.0)
_MASK_F = _R.standard_normal((4, 6))


def _smooth_l1(a, b, beta):
    z = np.abs(a - b)
    return np.where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta).mean()


def _huber(a, b, delta):
    z = np.abs(a - b)
    return np.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta)).mean()


def _stirling(t):
    return np.where(t > 1, t * np.log(t) - t + 0.5 * np.log(2 * np.pi * t), 0.0)


def _logsig(a):
    return -np.log1p(np.exp(-a))


def _cos_emb(a, b, y, margin):
    cos = (a * b).sum(-1) / np.sqrt(((a * a).sum(-1) + 1e-12) * ((b * b).sum(-1) + 1e-12))
    return np.where(y == 1, 1 - cos, np.maximum(cos - margin, 0)).mean()


def _pdist(a, b, p, eps=1e-6):
    return (np.abs(a - b + eps) ** p).sum(-1) ** (1 / p)


def _np_pad(a, width, mode):
    return np.pad(a, width, mode={"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode])


def _sdpa(q, k, v, bias=0.0, scale=None):
    s = q @ np.swapaxes(k, -1, -2) * (1 / np.sqrt(q.shape[-1]) if scale is None else scale) + bias
    e = np.exp(s - s.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)) @ v


_CAUSAL = np.where(np.tril(np.ones((4, 4), dtype=bool)), 0.0, -np.inf)

SPECS += [
    # losses
    Spec("smooth_l1_loss", lambda a, b: NF.smooth_l1_loss(a, b, beta=0.5), lambda a, b: _smooth_l1(a, b, 0.5),
         [(3, 4), (3, 4)], bad=lambda d: NF.smooth_l1_loss(gg.ones(2, device=d), gg.ones(2, device=d), beta=-1.0),
         torch=lambda a, b: _tF().smooth_l1_loss(a, b, beta=0.5)),
    Spec("huber_loss", lambda a, b: NF.huber_loss(a, b, delta=0.7), lambda a, b: _huber(a, b, 0.7),
         [(3, 4), (3, 4)], bad=lambda d: NF.huber_loss(gg.ones(2, device=d), gg.ones(3, device=d)),
         torch=lambda a, b: _tF().huber_loss(a, b, delta=0.7)),
    Spec("kl_div_batchmean", lambda a, b: NF.kl_div(a, b, reduction="batchmean"),
         lambda a, b: (b * (np.log(b) - a)).sum() / 3, [(3, 4), (3, 4)], low=0.2, high=2.0,
         bad=lambda d: NF.kl_div(gg.ones(2, device=d), gg.ones(2, device=d), reduction="batch"),
         torch=lambda a, b: _tF().kl_div(a, b, reduction="batchmean")),
    Spec("kl_div_log_target", lambda a, b: NF.kl_div(a, b, reduction="sum", log_target=True),
         lambda a, b: (np.exp(b) * (b - a)).sum(), [(3, 4), (3, 4)],
         bad=_on(lambda a, b: NF.kl_div(a, b), [1, 2], [1, 2]),
         torch=lambda a, b: _tF().kl_div(a, b, reduction="sum", log_target=True)),
    Spec("poisson_nll_loss", NF.poisson_nll_loss, lambda a, b: (np.exp(a) - b * a).mean(), [(3, 4), (3, 4)],
         bad=lambda d: NF.poisson_nll_loss(gg.ones(2, device=d), gg.ones(2, device=d), reduction="avg"),
         torch=lambda a, b: _tF().poisson_nll_loss(a, b)),
    Spec("poisson_nll_loss_full", lambda a, b: NF.poisson_nll_loss(a, b, log_input=False, full=True, reduction="sum"),
         lambda a, b: (a - b * np.log(a + 1e-8) + _stirling(b)).sum(), [(3, 4), (3, 4)], low=0.2, high=3.0,
         away_from=[1.0], bad=_on(lambda a, b: NF.poisson_nll_loss(a, b), [1, 2], [1, 2]),
         torch=lambda a, b: _tF().poisson_nll_loss(a, b, log_input=False, full=True, reduction="sum")),
    Spec("margin_ranking_loss", lambda a, b: NF.margin_ranking_loss(a, b, _k(_PM, a), margin=0.1),
         lambda a, b: np.maximum(0, -_PM * (a - b) + 0.1).mean(), [(3, 4), (3, 4)],
         bad=lambda d: NF.margin_ranking_loss(gg.ones(2, device=d), gg.ones(3, device=d), gg.ones(2, device=d)),
         torch=lambda a, b: _tF().margin_ranking_loss(a, b, _k(_PM, a), margin=0.1)),
    Spec("hinge_embedding_loss", lambda a: NF.hinge_embedding_loss(a, _k(_PM, a), reduction="sum"),
         lambda a: np.where(_PM == 1, a, np.maximum(0, 1 - a)).sum(), [(3, 4)], away_from=[1.0],
         bad=lambda d: NF.hinge_embedding_loss(gg.ones(2, device=d), [1, -1]),
         torch=lambda a: _tF().hinge_embedding_loss(a, _k(_PM, a), reduction="sum")),
    Spec("soft_margin_loss", lambda a: NF.soft_margin_loss(a, _k(_PM, a)), lambda a: np.log1p(np.exp(-_PM * a)).mean(),
         [(3, 4)], bad=lambda d: NF.soft_margin_loss(gg.ones(2, device=d), gg.ones(3, device=d)),
         torch=lambda a: _tF().soft_margin_loss(a, _k(_PM, a))),
    Spec("multilabel_soft_margin_loss", lambda a, w: NF.multilabel_soft_margin_loss(a, _k(_01, a), weight=w),
         lambda a, w: (-(_01 * _logsig(a) + (1 - _01) * _logsig(-a)) * w).mean(-1).mean(), [(3, 4), (4,)],
         bad=_on(lambda a: NF.multilabel_soft_margin_loss(a, a), [[1, 0]]),
         torch=lambda a, w: _tF().multilabel_soft_margin_loss(a, _k(_01, a), weight=w)),
    Spec("cosine_embedding_loss", lambda a, b: NF.cosine_embedding_loss(a, b, _k(_PM_ROW, a), margin=-0.2),
         lambda a, b: _cos_emb(a, b, _PM_ROW, -0.2), [(3, 4), (3, 4)],
         bad=lambda d: NF.cosine_embedding_loss(gg.ones(3, 4, device=d), gg.ones(3, 4, device=d), gg.ones(4, device=d)),
         torch=lambda a, b: _tF().cosine_embedding_loss(a, b, _k(_PM_ROW, a), margin=-0.2)),
    Spec("triplet_margin_loss", lambda a, p, n: NF.triplet_margin_loss(a, p, n, margin=2.0, reduction="sum"),
         lambda a, p, n: np.maximum(2.0 + _pdist(a, p, 2) - _pdist(a, n, 2), 0).sum(), [(3, 4)] * 3,
         bad=lambda d: NF.triplet_margin_loss(gg.ones(3, 4, device=d), gg.ones(3, 4, device=d), gg.ones(4, device=d)),
         torch=lambda a, p, n: _tF().triplet_margin_loss(a, p, n, margin=2.0, reduction="sum")),
    Spec("triplet_margin_loss_swap_p1", lambda a, p, n: NF.triplet_margin_loss(a, p, n, margin=3.0, p=1, swap=True),
         lambda a, p, n: np.maximum(3.0 + _pdist(a, p, 1) - np.minimum(_pdist(a, n, 1), _pdist(p, n, 1)), 0).mean(),
         [(3, 4)] * 3, bad=lambda d: NF.triplet_margin_loss(*[gg.ones(3, 4, device=d)] * 3, margin=0.0),
         torch=lambda a, p, n: _tF().triplet_margin_loss(a, p, n, margin=3.0, p=1, swap=True)),
    # distances and normalize
    Spec("pairwise_distance", NF.pairwise_distance, lambda a, b: _pdist(a, b, 2), [(3, 4), (3, 4)],
         bcast=[[(3, 4), (4,)]], bad=_on(NF.pairwise_distance, [1, 2], [2, 3]),
         torch=lambda a, b: _tF().pairwise_distance(a, b)),
    Spec("pairwise_distance_p3", lambda a, b: NF.pairwise_distance(a, b, p=3, keepdim=True),
         lambda a, b: _pdist(a, b, 3)[:, None], [(3, 4), (3, 4)],
         bad=lambda d: NF.pairwise_distance(gg.ones(2, device=d), gg.ones(3, device=d)),
         torch=lambda a, b: _tF().pairwise_distance(a, b, p=3, keepdim=True)),
    Spec("cosine_similarity", NF.cosine_similarity,
         lambda a, b: (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)), [(3, 4), (3, 4)],
         bcast=[[(3, 4), (1, 4)]], bad=lambda d: NF.cosine_similarity(gg.ones(2, 3, device=d), gg.ones(2, 3, device=d), 2),
         torch=lambda a, b: _tF().cosine_similarity(a, b)),
    Spec("normalize", NF.normalize, lambda a: a / np.linalg.norm(a, axis=1, keepdims=True), [(3, 4)],
         bad=_on(NF.normalize, [[1, 2]]), torch=lambda a: _tF().normalize(a)),
    Spec("normalize_p1_dim0", lambda a: NF.normalize(a, p=1, dim=0), lambda a: a / np.abs(a).sum(0, keepdims=True),
         [(3, 4)], away_from=[0.0], bad=lambda d: NF.normalize(gg.ones(2, 3, device=d), dim=2),
         torch=lambda a: _tF().normalize(a, p=1, dim=0)),
    # pad in every mode (negative padding crops)
    Spec("pad_reflect", lambda a: NF.pad(a, (2, -1), mode="reflect"),
         lambda a: _np_pad(a, ((0, 0), (2, 0)), "reflect")[:, :-1], [(3, 4)],
         bad=lambda d: NF.pad(gg.ones(3, 4, device=d), (4, 0), mode="reflect"),
         torch=lambda a: _tF().pad(a, (2, -1), mode="reflect")),
    Spec("pad_replicate_2d", lambda a: NF.pad(a, (1, 2, -1, 3), mode="replicate"),
         lambda a: _np_pad(a[:, 1:], ((0, 0), (0, 3), (1, 2)), "replicate"), [(2, 3, 4)],
         bad=lambda d: NF.pad(gg.ones(4, device=d), (1, 1), mode="replicate"),
         torch=lambda a: _tF().pad(a, (1, 2, -1, 3), mode="replicate")),
    Spec("pad_circular", lambda a: NF.pad(a, (3, 1, 1, 0), mode="circular"),
         lambda a: _np_pad(a, ((0, 0), (1, 0), (3, 1)), "circular"), [(2, 3, 4)],
         bad=lambda d: NF.pad(gg.ones(2, 3, device=d), (4, 0), mode="circular"),
         torch=lambda a: _tF().pad(a, (3, 1, 1, 0), mode="circular")),
    Spec("pad_constant_negative", lambda a: NF.pad(a, (-1, 2, 1, -2), value=0.5),
         lambda a: np.pad(a[:-2, 1:], ((1, 0), (0, 2)), constant_values=0.5), [(3, 4)],
         bad=lambda d: NF.pad(gg.ones(3, 4, device=d), (1, 1), mode="wrap"),
         torch=lambda a: _tF().pad(a, (-1, 2, 1, -2), value=0.5)),
    # attention
    Spec("scaled_dot_product_attention", lambda q, k, v: NF.scaled_dot_product_attention(q, k, v, _k(_MASK_F, q)),
         lambda q, k, v: _sdpa(q, k, v, _MASK_F), [(2, 4, 3), (2, 6, 3), (2, 6, 5)],
         bad=lambda d: NF.scaled_dot_product_attention(*[gg.ones(2, 4, 3, device=d)] * 2, gg.ones(2, 5, 3, device=d)),
         torch=lambda q, k, v: _tF().scaled_dot_product_attention(q, k, v, _k(_MASK_F, q))),
    Spec("sdpa_causal_scaled", lambda q, k, v: NF.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.4),
         lambda q, k, v: _sdpa(q, k, v, _CAUSAL, 0.4), [(2, 2, 4, 3), (2, 2, 4, 3), (2, 2, 4, 2)],
         bad=lambda d: NF.scaled_dot_product_attention(*[gg.ones(4, 3, device=d)] * 3, gg.ones(4, 4, device=d),
                                                       is_causal=True),
         torch=lambda q, k, v: _tF().scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.4)),
]

DTYPE_CASES = [
    ("m.nn.functional.selu(i)", "error"), ("m.nn.functional.celu(f)", "float32"), ("m.nn.functional.relu6(i)", "int64"),
    ("m.nn.functional.relu6(b)", "error"), ("m.nn.functional.hardsigmoid(i)", "error"),
    ("m.nn.functional.hardswish(d)", "float64"), ("m.nn.functional.mish(i)", "error"),
    ("m.nn.functional.softsign(i)", "float32"), ("m.nn.functional.softsign(i32)", "float32"),
    ("m.nn.functional.tanhshrink(i)", "float32"), ("m.nn.functional.logsigmoid(i)", "error"),
    ("m.nn.functional.logsigmoid(f)", "float32"), ("m.nn.functional.threshold(i, 1, 0.5)", "int64"),
    ("m.nn.functional.threshold(f, 0, 2)", "float32"), ("m.nn.functional.threshold(b, 0, 1)", "error"),
    ("m.nn.functional.softmin(i, 0)", "error"), ("m.nn.functional.softmin(d, 0)", "float64"),
    ("m.nn.functional.smooth_l1_loss(f, d)", "float64"), ("m.nn.functional.huber_loss(f, f)", "float32"),
    ("m.nn.functional.kl_div(f, d, reduction='sum')", "float64"), ("m.nn.functional.normalize(f, dim=0)", "float32"),
    ("m.nn.functional.normalize(i, dim=0)", "error"), ("m.nn.functional.cosine_similarity(f, d, 0)", "float64"),
    ("m.nn.functional.pairwise_distance(f, f)", "float32"), ("m.nn.functional.soft_margin_loss(f, f)", "float32"),
    ("m.nn.functional.pad(f.reshape(1, 3), (1, 1), mode='replicate')", "float32"),
    ("m.nn.functional.pad(i.reshape(1, 3), (2, -1), mode='reflect')", "int64"),
]  # fmt: skip
