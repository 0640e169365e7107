"""Op-table entries (see tests/op_specs.py) for the breadth issue's indexing, scatter and
linear-algebra ops. The gpugrad forms are written so that they are valid PyTorch code too
(tensor methods, ``_m(a)`` for the module, ``_ix`` for index tensors), so
tests/test_torch_crosscheck.py runs them unchanged on torch tensors."""

import numpy as np
from op_specs import Spec

import gpugrad as gg


def _m(a):
    """The module of tensor ``a``: gpugrad, or torch for the cross-check."""
    if isinstance(a, gg.Tensor):
        return gg
    import torch

    return torch


def _ix(a, data):
    """An int64 index tensor of ``data`` beside ``a`` (gpugrad on a's device, or torch)."""
    if isinstance(a, gg.Tensor):
        return gg.tensor(data, dtype=gg.int64, device=a.device)
    return _m(a).tensor(data)


IDX = [[0, 2, 3], [3, 1, 0]]  # along dim 1 of a (3, 4) tensor; no repeats within a row
DUP = [[0, 2, 2], [1, 1, 1]]  # repeats: values reduce into one entry


def _scatter_np(a, index, src, reduce=None, include_self=True):
    """NumPy reference of scatter / scatter_reduce along dim 1 (loops: clarity over speed)."""
    out = a.copy()
    index = np.asarray(index)
    groups = {}
    for i in range(index.shape[0]):
        for j in range(index.shape[1]):
            groups.setdefault((i, index[i, j]), []).append(src[i, j])
    for pos, vals in groups.items():
        if reduce is None:
            out[pos] = vals[-1]
            continue
        vals = ([a[pos]] if include_self else []) + vals
        out[pos] = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max, "amin": np.min}[reduce](vals)
    return out


def _index_add_np(a, index, b, alpha):
    out = a.copy()
    np.add.at(out, index, alpha * b)
    return out


def _put_np(a, key, b):
    out = a.copy()
    out[key] = b
    return out


def _masked_scatter_np(a, b):
    out = a.copy()
    m = a > 0
    out[m] = b[: m.sum()]
    return out


def _kron_np(a, b):
    return np.kron(a, b)


def _bad(fn):
    """The ``bad=`` form: the result is returned, so that the test reads it (on a GPU a bad
    index is raised at that read)."""

    def bad(device):
        return fn(device)

    return bad


_Z = lambda d, *s: gg.zeros(*s, device=d)  # noqa: E731


def _reduce_spec(reduce, include_self):
    return Spec(
        f"scatter_reduce_{reduce}_{'self' if include_self else 'noself'}",
        lambda a, b: a.scatter_reduce(1, _ix(a, DUP), b, reduce, include_self=include_self),
        lambda a, b: _scatter_np(a, DUP, b, reduce, include_self), [(3, 4), (2, 3)],
        low=0.3 if reduce == "prod" else -2.0,
        bad=_bad(lambda d: _Z(d, 3, 4).scatter_reduce(1, _ix(_Z(d), [[4]]), _Z(d, 1, 1), reduce)),
    )


SPECS = [
    # scatter family
    Spec("scatter", lambda a, b: a.scatter(1, _ix(a, IDX), b), lambda a, b: _scatter_np(a, IDX, b), [(3, 4), (2, 3)],
         bad=_bad(lambda d: _Z(d, 3, 4).scatter(1, _ix(_Z(d), [[0, -1]]), _Z(d, 1, 2)))),
    Spec("scatter_value", lambda a: a.scatter(1, _ix(a, IDX), 1.5), lambda a: _scatter_np(a, IDX, np.full((2, 3), 1.5)),
         [(3, 4)], bad=_bad(lambda d: _Z(d, 3, 4).scatter(1, _ix(_Z(d), [0, 1]), 1.5))),
    Spec("scatter_add", lambda a, b: a.scatter_add(1, _ix(a, DUP), b), lambda a, b: _scatter_np(a, DUP, b, "sum"),
         [(3, 4), (2, 3)], bad=_bad(lambda d: _Z(d, 3, 4).scatter_add(1, _ix(_Z(d), [[0]]), _Z(d, 1, 1).double()))),
    _reduce_spec("sum", False),
    _reduce_spec("prod", True),
    _reduce_spec("prod", False),
    _reduce_spec("mean", True),
    _reduce_spec("mean", False),
    _reduce_spec("amax", True),
    _reduce_spec("amin", False),
    Spec("index_add", lambda a, b: a.index_add(0, _ix(a, [2, 0, 2]), b, alpha=2.5),
         lambda a, b: _index_add_np(a, [2, 0, 2], b, 2.5), [(3, 4), (3, 4)],
         bad=_bad(lambda d: _Z(d, 3, 4).index_add(0, _ix(_Z(d), [0, 1]), _Z(d, 3, 4)))),
    Spec("index_copy", lambda a, b: a.index_copy(1, _ix(a, [3, 0]), b), lambda a, b: _put_np(a, (slice(None), [3, 0]), b),
         [(3, 4), (3, 2)], bad=_bad(lambda d: _Z(d, 3, 4).index_copy(1, _ix(_Z(d), [4]), _Z(d, 3, 1)))),
    Spec("index_fill", lambda a: a.index_fill(1, _ix(a, [1, 3]), -1.0), lambda a: _put_np(a, (slice(None), [1, 3]), -1.0),
         [(3, 4)], bad=_bad(lambda d: _Z(d, 3, 4).index_fill(1, _ix(_Z(d), [[1]]), -1.0))),
    Spec("index_fill_tensor", lambda a, v: a.index_fill(1, _ix(a, [1, 3, 1]), v),
         lambda a, v: _put_np(a, (slice(None), [1, 3]), v), [(3, 4), ()],
         bad=_bad(lambda d: _Z(d, 3, 4).index_fill(1, _ix(_Z(d), [1]), _Z(d, 2)))),
    Spec("masked_fill", lambda a: a.masked_fill(a > 0, 0.5), lambda a: np.where(a > 0, 0.5, a), [(3, 4)],
         away_from=[0.0], bad=_bad(lambda d: _Z(d, 3, 4).masked_fill(_Z(d, 3, 4), 0.5))),
    Spec("masked_fill_tensor", lambda a, v: a.masked_fill(a[0] > 0, v), lambda a, v: np.where(a[0] > 0, v, a),
         [(3, 4), ()], away_from=[0.0], bad=_bad(lambda d: _Z(d, 3, 4).masked_fill(_Z(d, 5) > 0, 0.5))),
    Spec("masked_scatter", lambda a, b: a.masked_scatter(a > 0, b), _masked_scatter_np, [(3, 4), (12,)],
         away_from=[0.0], bad=_bad(lambda d: _Z(d, 3).masked_scatter(_Z(d, 3) == 0, _Z(d, 2)))),
    Spec("masked_select", lambda a, b: a.masked_select(b > 0) * b.sum(),
         lambda a, b: np.broadcast_to(a, (3, 4))[b > 0] * b.sum(), [(4,), (3, 4)], away_from=[0.0],
         bad=_bad(lambda d: _Z(d, 3).masked_select(_Z(d, 3)))),
    Spec("take", lambda a: a.take(_ix(a, [[0, 5], [-1, 5]])), lambda a: a.reshape(-1)[[[0, 5], [-1, 5]]], [(3, 4)],
         bad=_bad(lambda d: _Z(d, 3, 4).take(_ix(_Z(d), [12])))),
    Spec("take_along_dim", lambda a: a.take_along_dim(_ix(a, [[0, -1, 0]]), 1),
         lambda a: np.take_along_axis(a, np.array([[0, 3, 0]] * 3), 1), [(3, 4)],
         bad=_bad(lambda d: _Z(d, 3, 4).take_along_dim(_ix(_Z(d), [[4]]), 1))),
    Spec("take_along_dim_flat", lambda a: a.take_along_dim(_ix(a, [11, 0, 4])), lambda a: a.reshape(-1)[[11, 0, 4]],
         [(3, 4)], bad=_bad(lambda d: _Z(d, 3, 4).take_along_dim(_Z(d, 2)))),
    # linear algebra
    Spec("mm", lambda a, b: a.mm(b), np.matmul, [(3, 4), (4, 2)], bad=_bad(lambda d: _Z(d, 3, 4).mm(_Z(d, 4)))),
    Spec("bmm", lambda a, b: a.bmm(b), np.matmul, [(2, 3, 4), (2, 4, 2)],
         bad=_bad(lambda d: _Z(d, 2, 3, 4).bmm(_Z(d, 1, 4, 2)))),
    Spec("addmm", lambda c, a, b: _m(a).addmm(c, a, b, beta=0.5, alpha=-2), lambda c, a, b: 0.5 * c - 2 * (a @ b),
         [(2,), (3, 4), (4, 2)], bcast=[[(3, 2), (3, 4), (4, 2)], [(3, 1), (3, 4), (4, 2)]],
         bad=_bad(lambda d: gg.addmm(_Z(d, 3), _Z(d, 3, 4), _Z(d, 4, 2)))),
    Spec("outer", lambda a, b: a.outer(b), np.outer, [(3,), (4,)], bad=_bad(lambda d: _Z(d, 3).outer(_Z(d, 4, 1)))),
    Spec("dot", lambda a, b: a.dot(b), np.dot, [(4,), (4,)], bad=_bad(lambda d: _Z(d, 3).dot(_Z(d, 3).double()))),
    Spec("vdot", lambda a, b: a.vdot(b), np.vdot, [(4,), (4,)], bad=_bad(lambda d: _Z(d, 3).vdot(_Z(d, 4)))),
    Spec("inner", lambda a, b: a.inner(b), np.inner, [(2, 4), (3, 4)], bad=_bad(lambda d: _Z(d, 3, 4).inner(_Z(d, 3)))),
    Spec("tensordot", lambda a, b: _m(a).tensordot(a, b, dims=([0, 2], [1, 0])),
         lambda a, b: np.tensordot(a, b, axes=([0, 2], [1, 0])), [(2, 3, 4), (4, 2, 5)],
         bad=_bad(lambda d: gg.tensordot(_Z(d, 2, 3), _Z(d, 2, 3), dims=([0], [1])))),
    Spec("tensordot_int", lambda a, b: _m(a).tensordot(a, b, 2), lambda a, b: np.tensordot(a, b, 2),
         [(2, 3, 4), (3, 4, 2)], bad=_bad(lambda d: gg.tensordot(_Z(d, 2, 3), _Z(d, 2, 3), 3))),
    Spec("einsum_matmul", lambda a, b: _m(a).einsum("bij,bjk->bik", a, b),
         lambda a, b: np.einsum("bij,bjk->bik", a, b), [(2, 3, 4), (2, 4, 5)],
         bad=_bad(lambda d: gg.einsum("ij,jk", _Z(d, 2, 3), _Z(d, 4, 5)))),
    Spec("einsum_ellipsis", lambda a, b: _m(a).einsum("...ij,...kj", a, b), lambda a, b: np.einsum("...ij,...kj", a, b),
         [(2, 1, 3, 4), (5, 2, 4)], bad=_bad(lambda d: gg.einsum("i...i", _Z(d, 2, 3)))),
    Spec("einsum_diag_three", lambda a, b, c: _m(a).einsum("ii,ij,jk->k", a, b, c),
         lambda a, b, c: np.einsum("ii,ij,jk->k", a, b, c), [(3, 3), (3, 4), (4, 2)],
         bad=_bad(lambda d: gg.einsum("ij,jk->q", _Z(d, 2, 3), _Z(d, 3, 4)))),
    Spec("einsum_implicit_sum", lambda a, b: _m(a).einsum("ba,cab", a, b), lambda a, b: np.einsum("ba,cab", a, b),
         [(2, 3), (4, 3, 2)], bad=_bad(lambda d: gg.einsum("ij,j", _Z(d, 2, 3)))),
    Spec("kron", lambda a, b: _m(a).kron(a, b), np.kron, [(2, 3), (3, 2)],
         bad=_bad(lambda d: gg.kron(_Z(d, 2), [1.0]))),
    Spec("cross", lambda a, b: _m(a).cross(a, b, dim=0), lambda a, b: np.cross(a, b, axis=0), [(3, 2), (3, 2)],
         bcast=[[(3, 1), (3, 4)]], bad=_bad(lambda d: gg.cross(_Z(d, 2, 3), _Z(d, 2, 3), dim=0))),
]

# result dtypes, as PyTorch gives them (see op_specs.DTYPE_CASES for the operands)
DTYPE_CASES = [
    ("m.outer(i, f)", "float32"), ("m.outer(f, d)", "float64"), ("m.dot(f, d)", "error"), ("m.dot(i, i)", "int64"),
    ("m.vdot(i32, i32)", "int32"), ("m.inner(i, f)", "error"), ("m.kron(i, f)", "float32"), ("m.kron(b, b)", "bool"),
    ("m.einsum('i,i', f, d)", "error"), ("m.einsum('i,i->i', i, i)", "int64"), ("m.einsum('i,i', b, b)", "error"),
    ("m.tensordot(f, d, 1)", "error"), ("m.tensordot(i32, i32, 1)", "int32"), ("m.mm(f[None], d[:, None])", "error"),
    ("m.bmm(i[None, None], i[None, :, None])", "int64"), ("m.addmm(d[:1], f[None], f[:, None])", "error"),
    ("m.cross(f, d, dim=0)", "error"), ("m.cross(i, i, dim=0)", "int64"),
    ("i.masked_fill(b, 2.7)", "int64"), ("f.masked_fill(b, zd)", "float32"), ("i.masked_fill(b, zf)", "int64"),
    ("i.scatter_add(0, i % 2, i)", "int64"), ("i.scatter_add(0, i % 2, i32)", "error"),
    ("i32.scatter_reduce(0, i % 2, i32, 'mean')", "int32"), ("i.scatter_reduce(0, i % 2, i, 'amax')", "int64"),
    ("u8.scatter_reduce(0, i % 2, u8, 'prod', include_self=False)", "uint8"),
    ("i.scatter_reduce(0, i % 2, i, 'amin', include_self=False)", "int64"),
    ("h.scatter_reduce(0, i % 2, h, 'sum')", "float16"), ("h.scatter_reduce(0, i % 2, h, 'amax')", "float16"),
    ("i.scatter_reduce(0, i % 2, i, 'prod')", "int64"), ("b.scatter_reduce(0, i % 2, b, 'amax')", "bool"),
    ("f.scatter(0, i % 2, d)", "error"), ("i.scatter(0, i % 2, 7.9)", "int64"), ("i32.scatter(0, i % 2, i32)", "int32"),
    ("f.index_add(0, i % 3, d)", "error"), ("i.index_add(0, i % 3, i, alpha=2)", "int64"),
    ("i32.index_copy(0, i % 3, i32)", "int32"), ("i.index_fill(0, i % 3, 7.9)", "int64"),
    ("f.index_fill(0, i % 3, zd)", "float32"), ("i.take(i % 3)", "int64"), ("f.masked_select(b)", "float32"),
    ("u8.masked_scatter(b, u8)", "uint8"), ("i.take_along_dim(i % 3)", "int64"),
]  # fmt: skip
