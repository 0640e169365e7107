"""Op-table entries (see tests/op_specs.py) for the breadth issue's reductions, scans, sorting, selection and shape ops.

The gpugrad forms are Tensor methods where PyTorch has the same method, so the same lambda is
the PyTorch form in tests/test_torch_crosscheck.py; ``torch=`` gives it where they differ."""

import math

import numpy as np
from op_specs import Spec

import gpugrad as gg
from gpugrad import functional as F


def _torch():
    import torch

    return torch


def _dim(fn):
    """``fn`` on a (2, 3) tensor: a dim or an argument it must refuse."""

    def bad(device):
        fn(gg.ones(2, 3, device=device))

    return bad


def _ints(fn):
    def bad(device):
        fn(gg.tensor([[1, 2], [3, 4]], device=device))

    return bad


def _pair(r):
    """One tensor of a (std or var, mean) pair or a (min, max) named tuple, both parts weighted."""
    return r[0] + 3 * r[1]


def _lower_median(a, axis=None):
    s = np.sort(a, axis=axis) if axis is not None else np.sort(a.reshape(-1))
    n = s.shape[axis if axis is not None else 0]
    return np.take(s, (n - 1) // 2, axis=axis if axis is not None else 0)


def _diag_embed(a, offset, d1, d2):
    n, k = a.shape[-1], abs(offset)
    out = np.zeros(a.shape[:-1] + (n + k, n + k))
    i = np.arange(n)
    out[..., i + max(-offset, 0), i + max(offset, 0)] = a
    return np.moveaxis(out, (-2, -1), (d1, d2))


def _unfold(a, d, size, step):
    starts = range(0, a.shape[d] - size + 1, step)
    wins = [np.take(a, range(s, s + size), axis=d) for s in starts]  # each (..., size, ...)
    return np.moveaxis(np.stack(wins, axis=d), d + 1, -1)


def _t_tensor(values):
    """A PyTorch integer tensor (for the torch= forms)."""
    return _torch().tensor(values)


SPECS = [
    # scans
    Spec("cumsum", lambda a: a.cumsum(1), lambda a: np.cumsum(a, 1), [(3, 4)], bad=_dim(lambda a: a.cumsum(2))),
    Spec("cumsum_0d", lambda a: a.cumsum(0), lambda a: a, [()], bad=_dim(lambda a: F.cumsum(a, dim=(0, 1)))),
    Spec("cumprod", lambda a: a.cumprod(1), lambda a: np.cumprod(a, 1), [(3, 4)], bad=_dim(lambda a: a.cumprod(-3))),
    Spec("cummax", lambda a: a.cummax(1).values, lambda a: np.maximum.accumulate(a, 1), [(3, 5)],
         bad=_dim(lambda a: a.cummax(2))),
    Spec("cummin", lambda a: a.cummin(0)[0], lambda a: np.minimum.accumulate(a, 0), [(4, 3)],
         bad=_dim(lambda a: a.cummin(None))),
    Spec("logcumsumexp", lambda a: a.logcumsumexp(1), lambda a: np.logaddexp.accumulate(a, 1), [(3, 5)], low=-4,
         high=4, bad=_ints(lambda a: a.logcumsumexp(0))),
    # reductions
    Spec("matrix_norm_fro", lambda a: gg.linalg.matrix_norm(a), lambda a: np.linalg.norm(a, axis=(-2, -1)),
         [(2, 3, 4)], torch=lambda a: _torch().linalg.matrix_norm(a),
         bad=lambda d: gg.linalg.matrix_norm(gg.ones(3, device=d))),
    Spec("matrix_norm_1", lambda a: gg.linalg.matrix_norm(a, 1, dim=(2, 0)),
         lambda a: np.linalg.norm(np.moveaxis(a, (2, 0), (0, 1)), 1, axis=(0, 1)), [(2, 3, 4)],
         torch=lambda a: _torch().linalg.matrix_norm(a, 1, dim=(2, 0)), away_from=[0.0],
         bad=lambda d: gg.linalg.matrix_norm(gg.ones(3, 3, device=d), "nuc")),
    Spec("matrix_norm_inf_keepdim", lambda a: gg.linalg.matrix_norm(a, -math.inf, keepdim=True),
         lambda a: np.linalg.norm(a, -np.inf, axis=(-2, -1))[:, None, None], [(2, 3, 4)], away_from=[0.0],
         torch=lambda a: _torch().linalg.matrix_norm(a, -math.inf, keepdim=True),
         bad=lambda d: gg.linalg.matrix_norm(gg.ones(3, 3, device=d), 3)),
    Spec("linalg_norm_vector", lambda a: gg.linalg.norm(a, 3, dim=1),
         lambda a: (np.abs(a) ** 3).sum(1) ** (1 / 3), [(3, 4)], away_from=[0.0],
         torch=lambda a: _torch().linalg.norm(a, 3, dim=1), bad=lambda d: gg.linalg.norm(gg.ones(2, 2, 2, device=d), 1)),
    Spec("std_mean", lambda a: _pair(F.std_mean(a, 1)), lambda a: a.std(1, ddof=1) + 3 * a.mean(1), [(3, 4)],
         torch=lambda a: _pair(_torch().std_mean(a, 1)), bad=_ints(F.std_mean)),
    Spec("var_mean_biased_all", lambda a: _pair(F.var_mean(a, correction=0)), lambda a: a.var() + 3 * a.mean(),
         [(3, 4)], torch=lambda a: _pair(_torch().var_mean(a, correction=0)),
         bad=_dim(lambda a: F.var_mean(a, 1, unbiased=True, correction=1))),
    Spec("var_mean_unbiased_arg", lambda a: _pair(F.var_mean(a, 0, False, True)),
         lambda a: a.var(0, keepdims=True) + 3 * a.mean(0, keepdims=True), [(3, 4)],
         torch=lambda a: _pair(_torch().var_mean(a, 0, False, True)), bad=_dim(lambda a: F.var_mean(a, 3))),
    Spec("median_all", lambda a: a.median(), _lower_median, [(3, 4)], bad=_dim(lambda a: a.median(keepdim=True))),
    Spec("median_dim", lambda a: a.median(1).values, lambda a: _lower_median(a, 1), [(3, 4)],
         bad=_dim(lambda a: a.median(2))),
    Spec("median_keepdim", lambda a: a.median(0, keepdim=True)[0], lambda a: _lower_median(a, 0)[None], [(5, 2)],
         bad=lambda d: gg.ones(0, 3, device=d).median(0)),
    Spec("kthvalue", lambda a: a.kthvalue(2, 0).values, lambda a: np.sort(a, 0)[1], [(3, 4)],
         bad=_dim(lambda a: a.kthvalue(4))),
    Spec("kthvalue_keepdim", lambda a: a.kthvalue(4, keepdim=True)[0], lambda a: np.sort(a, -1)[:, 3:4], [(3, 5)],
         bad=_dim(lambda a: a.kthvalue(0))),
    Spec("aminmax", lambda a: _pair(a.aminmax(dim=1)), lambda a: a.min(1) + 3 * a.max(1), [(3, 4)],
         bad=_dim(lambda a: a.aminmax(dim=(0, 1)))),
    Spec("aminmax_all", lambda a: _pair(a.aminmax()), lambda a: a.min() + 3 * a.max(), [(3, 4)],
         bad=lambda d: gg.ones(0, device=d).aminmax()),
    Spec("mode", lambda a: a.mode(0).values, lambda a: a.min(0), [(3, 4)], bad=_dim(lambda a: a.mode(2))),
    # sorting (existing ops, held to PyTorch with gradients here too)
    Spec("sort_descending", lambda a: a.sort(0, descending=True).values, lambda a: -np.sort(-a, 0), [(4, 3)],
         bad=_dim(lambda a: a.sort(2))),
    Spec("topk_smallest", lambda a: a.topk(2, largest=False).values, lambda a: np.sort(a, -1)[:, :2], [(3, 5)],
         bad=_dim(lambda a: a.topk(4))),
    # shape
    Spec("repeat", lambda a: a.repeat(2, 1, 3), lambda a: np.tile(a, (2, 1, 3)), [(3, 4)],
         bad=_dim(lambda a: a.repeat(2))),
    Spec("tile", lambda a: a.tile((2,)), lambda a: np.tile(a, (1, 2)), [(3, 4)], torch=lambda a: _torch().tile(a, (2,)),
         bad=_dim(lambda a: a.tile((-1,)))),
    Spec("repeat_interleave", lambda a: a.repeat_interleave(2, dim=1), lambda a: np.repeat(a, 2, 1), [(3, 4)],
         bad=_dim(lambda a: a.repeat_interleave(-1))),
    Spec("repeat_interleave_flat", lambda a: a.repeat_interleave(3), lambda a: np.repeat(a, 3), [(3, 4)],
         bad=_dim(lambda a: a.repeat_interleave(2, dim=2))),
    Spec("repeat_interleave_counts", lambda a: a.repeat_interleave(gg.tensor([1, 0, 2], device=a.device), dim=0),
         lambda a: np.repeat(a, [1, 0, 2], 0), [(3, 4)],
         torch=lambda a: a.repeat_interleave(_t_tensor([1, 0, 2]), dim=0),
         bad=lambda d: gg.ones(3, 4, device=d).repeat_interleave(gg.tensor([1, 2], device=d), dim=0)),
    Spec("fliplr", lambda a: a.fliplr(), np.fliplr, [(3, 4)], bad=lambda d: gg.ones(3, device=d).fliplr()),
    Spec("flipud", lambda a: a.flipud(), np.flipud, [(3, 4)], bad=lambda d: gg.ones((), device=d).flipud()),
    Spec("roll", lambda a: a.roll((1, -3), (0, 1)), lambda a: np.roll(a, (1, -3), (0, 1)), [(3, 4)],
         bad=_dim(lambda a: a.roll((1, 2), 0))),
    Spec("roll_flat", lambda a: a.roll(5), lambda a: np.roll(a, 5), [(3, 4)], bad=_dim(lambda a: a.roll((1, 2)))),
    Spec("tril", lambda a: a.tril(1), lambda a: np.tril(a, 1), [(2, 3, 4)], bad=lambda d: gg.ones(3, device=d).tril()),
    Spec("triu", lambda a: a.triu(-1), lambda a: np.triu(a, -1), [(4, 3)], bad=_dim(lambda a: a.triu(0.5))),
    Spec("diagonal", lambda a: a.diagonal(1, 2, 0), lambda a: np.diagonal(a, 1, 2, 0), [(3, 2, 4)],
         bad=_dim(lambda a: a.diagonal(0, 1, 1))),
    Spec("diagonal_default", lambda a: a.diagonal(), lambda a: np.diagonal(a), [(3, 4)],
         bad=lambda d: gg.ones(3, device=d).diagonal()),
    Spec("diag_embed", lambda a: a.diag_embed(), lambda a: _diag_embed(a, 0, -2, -1), [(2, 3)],
         bad=lambda d: gg.ones((), device=d).diag_embed()),
    Spec("diag_embed_offset", lambda a: a.diag_embed(-1, 0, 2), lambda a: _diag_embed(a, -1, 0, 2), [(2, 3)],
         bad=_dim(lambda a: a.diag_embed(0, 0, -3))),
    Spec("unflatten", lambda a: a.unflatten(1, (2, -1)), lambda a: a.reshape(3, 2, 2), [(3, 4)],
         bad=_dim(lambda a: a.unflatten(1, (2, 2)))),
    Spec("movedim", lambda a: a.movedim((0, 1), (2, 0)), lambda a: np.moveaxis(a, (0, 1), (2, 0)), [(2, 3, 4)],
         bad=_dim(lambda a: a.movedim((0, 1), 0))),
    Spec("swapdims", lambda a: a.swapdims(0, 2), lambda a: np.swapaxes(a, 0, 2), [(2, 3, 4)],
         bad=_dim(lambda a: a.swapdims(0, 2))),
    Spec("view_as", lambda a, b: a.view_as(b) * b, lambda a, b: a.reshape(b.shape) * b, [(3, 4), (2, 6)],
         bad=lambda d: gg.ones(3, device=d).view_as(gg.ones(2, device=d))),
    Spec("reshape_as", lambda a, b: a.reshape_as(b) + b, lambda a, b: a.reshape(b.shape) + b, [(3, 4), (4, 3)],
         bad=lambda d: gg.ones(3, device=d).reshape_as([1, 2, 3])),
    Spec("expand_as", lambda a, b: a.expand_as(b) * b, lambda a, b: np.broadcast_to(a, b.shape) * b, [(3, 1), (3, 4)],
         bad=lambda d: gg.ones(3, device=d).expand_as(gg.ones(2, device=d))),
    Spec("narrow", lambda a: a.narrow(1, -3, 2), lambda a: a[:, 1:3], [(3, 4)], bad=_dim(lambda a: a.narrow(1, 2, 2))),
    Spec("unfold", lambda a: a.unfold(1, 2, 1), lambda a: _unfold(a, 1, 2, 1), [(3, 4)],
         bad=_dim(lambda a: a.unfold(1, 4, 1))),
    Spec("unfold_step", lambda a: a.unfold(0, 2, 2), lambda a: _unfold(a, 0, 2, 2), [(5, 2, 3)],
         bad=_dim(lambda a: a.unfold(0, 1, 0))),
    Spec("meshgrid_xy", lambda a, b: _pair(F.meshgrid(a, b, indexing="xy")),
         lambda a, b: _pair(np.meshgrid(a, b, indexing="xy")), [(3,), (4,)],
         torch=lambda a, b: _pair(_torch().meshgrid(a, b, indexing="xy")),
         bad=lambda d: F.meshgrid(gg.ones(3, device=d), gg.ones(2, 2, device=d))),
    Spec("meshgrid_ij", lambda a, b: _pair(F.meshgrid([a, b], indexing="ij")),
         lambda a, b: _pair(np.meshgrid(a, b, indexing="ij")), [(3,), (4,)],
         torch=lambda a, b: _pair(_torch().meshgrid([a, b], indexing="ij")),
         bad=lambda d: F.meshgrid(gg.ones(3, device=d), indexing="yx")),
    Spec("atleast_3d", lambda a: F.atleast_3d(a), lambda a: a[:, :, None], [(3, 4)],
         torch=lambda a: _torch().atleast_3d(a), bad=lambda d: F.atleast_3d([1.0])),
]

# (expression, PyTorch's result dtype or "error"), run by tests/test_ops.py and checked
# against torch in tests/test_torch_crosscheck.py (operands: see dtype_operands in op_specs.py)
DTYPE_CASES = [
    ("i.cumsum(0)", "int64"), ("i32.cumsum(0)", "int64"), ("b.cumsum(0)", "int64"), ("u8.cumsum(0)", "int64"),
    ("h.cumsum(0)", "float16"), ("i.cumsum(0, dtype=m.float32)", "float32"), ("i32.cumprod(0)", "int64"),
    ("b.cumprod(0)", "int64"), ("f.cumprod(0, dtype=m.float64)", "float64"), ("i.logcumsumexp(0)", "error"),
    ("f.logcumsumexp(0)", "float32"), ("i32.cummax(0).values", "int32"), ("i32.cummin(0).indices", "int64"),
    ("b.cummax(0).values", "bool"), ("u8.cummin(0)[0]", "uint8"), ("i.median()", "int64"),
    ("i32.median(0).values", "int32"), ("h.median()", "float16"), ("b.median()", "error"),
    ("i.kthvalue(2).values", "int64"), ("i32.kthvalue(1, 0).indices", "int64"), ("i.count_nonzero()", "int64"),
    ("f.count_nonzero(0)", "int64"), ("b.count_nonzero()", "int64"), ("i32.aminmax().min", "int32"),
    ("f.aminmax(dim=0).max", "float32"), ("m.std_mean(f)[0]", "float32"), ("m.var_mean(d, 0)[1]", "float64"),
    ("m.var_mean(i)[0]", "error"), ("m.std_mean(i32)[1]", "error"), ("m.unique(i32)", "int32"),
    ("m.unique(f, return_inverse=True)[1]", "int64"), ("m.unique(b, return_counts=True)[1]", "int64"),
    ("m.bincount(i.abs())", "int64"), ("m.bincount(i.abs(), weights=f)", "float32"),
    ("m.bincount(i.abs(), weights=d)", "float64"), ("m.bincount(i.abs(), weights=h)", "float64"),
    ("m.bincount(i.abs(), weights=i32)", "float64"), ("m.bincount(f)", "error"),
    ("m.searchsorted(i.sort().values, f)", "int64"), ("m.searchsorted(d.sort().values, d, out_int32=True)", "int32"),
    ("i.mode().values", "int64"), ("u8.mode(0).indices", "int64"), ("h.mode().values", "float16"),
    ("m.argwhere(i32)", "int64"), ("i32.repeat(2)", "int32"), ("b.tile((2,))", "bool"),
    ("u8.repeat_interleave(2)", "uint8"), ("i.roll(1)", "int64"), ("b.flipud()", "bool"),
    ("i.unsqueeze(0).tril()", "int64"), ("b.unsqueeze(1).triu()", "bool"), ("i.type_as(f)", "float32"),
    ("f.type_as(i32)", "int32"), ("i.diag_embed()", "int64"), ("i32.unsqueeze(0).diagonal()", "int32"),
    ("m.linalg.matrix_norm(i.reshape(1, 3))", "error"), ("m.linalg.matrix_norm(h.reshape(3, 1))", "float16"),
]  # fmt: skip
