"""Indexing, scatter and linear algebra of the breadth issue, beyond the op table
(tests/op_specs_index.py): integer dtypes, gradients with ties and zeros, in-place forms and
their version counters, ``where(cond)``, einsum against NumPy's, and the errors. Every test
runs on every device; the PyTorch comparisons run where torch is installed."""

import numpy as np
import pytest
from helpers import close, make, settle

import gpugrad as gg
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.errors import ArgumentError, ArgumentTypeError, AutogradError, DTypeError, GpugradIndexError, ShapeError

REDUCES = ["sum", "prod", "mean", "amax", "amin"]
DUP = [[0, 2, 2], [1, 1, 1]]  # along dim 1 of a (3, 4) tensor: repeats reduce into one entry


def _ix(data, device):
    return gg.tensor(data, dtype=gg.int64, device=device)


# -- scatter_reduce on integers: the scan path (no int64 atomics on CUDA), means rounding down --
@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCES)
def test_scatter_reduce_integers(device, dtype, include_self, reduce):
    rng = np.random.default_rng(1)
    lo = 0 if dtype == "uint8" else -4
    a = rng.integers(lo, 5, (3, 4)).astype(dtype)
    s = rng.integers(lo, 5, (2, 3)).astype(dtype)
    out = make(a, device).scatter_reduce(1, _ix(DUP, device), make(s, device), reduce, include_self=include_self)
    assert out.dtype == getattr(gg, dtype)
    want = a.astype(np.int64).copy()
    groups = {}
    for i in range(2):
        for j in range(3):
            groups.setdefault((i, DUP[i][j]), []).append(int(s[i, j]))
    for pos, vals in groups.items():
        vals = ([int(a[pos])] if include_self else []) + vals
        want[pos] = {"sum": sum(vals), "prod": int(np.prod(vals)), "mean": sum(vals) // len(vals),
                     "amax": max(vals), "amin": min(vals)}[reduce]
    np.testing.assert_array_equal(out.numpy(), want.astype(dtype))


def test_scatter_reduce_integers_match_pytorch():
    torch = pytest.importorskip("torch")
    a, s = np.array([[3, -1, 2, 7]]), np.array([[4, -7, 5, 1]])
    idx = [[1, 1, 0, 1]]
    for reduce in REDUCES:
        for inc in (True, False):
            want = torch.tensor(a).scatter_reduce(1, torch.tensor(idx), torch.tensor(s), reduce, include_self=inc)
            got = gg.tensor(a).scatter_reduce(1, gg.tensor(idx), gg.tensor(s), reduce, include_self=inc)
            assert got.tolist() == want.tolist(), (reduce, inc)


def test_scatter_reduce_mean_of_integers_rounds_down(device):
    x = _ix([4, 0, 0], device).to(dtype=gg.int32)
    out = x.scatter_reduce(0, _ix([0, 0], device), gg.tensor([-7, 0], dtype=gg.int32, device=device), "mean")
    assert out.tolist() == [-1, 0, 0]  # (4 - 7 + 0) / 3 = -1 exactly; next: a true floor
    out = x.scatter_reduce(0, _ix([1, 1], device), gg.tensor([-3, 0], dtype=gg.int32, device=device), "mean")
    assert out.tolist() == [4, -1, 0]  # (0 - 3 + 0) / 3 = -1
    out = x.scatter_reduce(0, _ix([1], device), gg.tensor([-3], dtype=gg.int32, device=device), "mean")
    assert out.tolist() == [4, -2, 0]  # -3 / 2 = -1.5 rounds down, as PyTorch


# -- gradients: ties of amax/amin shared evenly, zeros of prod, positions scatter overwrote ------
TIE_CASES = [  # (reduce, include_self, grad of x, grad of src) for x = [1, 5, 2], src = [5, 5, 0] -> dim 0 index 1
    ("amax", True, [1, 1 / 3, 1], [1 / 3, 1 / 3, 0]),
    ("amax", False, [1, 0, 1], [1 / 3, 1 / 3, 0]),  # PyTorch counts x's tie, then drops x's share
    ("amin", True, [1, 0, 1], [0, 0, 1]),
    ("amin", False, [1, 0, 1], [0, 0, 1]),
    ("prod", True, [1, 0, 1], [0, 0, 125]),  # one zero in src: its gradient is the others' product
    ("prod", False, [1, 0, 1], [0, 0, 25]),
]


@pytest.mark.parametrize("reduce,include_self,gx,gs", TIE_CASES, ids=[f"{c[0]}-{c[1]}" for c in TIE_CASES])
def test_scatter_reduce_gradients_with_ties_and_zeros(device, reduce, include_self, gx, gs):
    x = make([1.0, 5.0, 2.0], device, requires_grad=True)
    s = make([5.0, 5.0, 0.0], device, requires_grad=True)
    x.scatter_reduce(0, _ix([1, 1, 1], device), s, reduce, include_self=include_self).sum().backward()
    close(x.grad, gx)
    close(s.grad, gs)


def test_scatter_reduce_tie_and_zero_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    for reduce, include_self, gx, gs in TIE_CASES:
        x = torch.tensor([1.0, 5.0, 2.0], requires_grad=True)
        s = torch.tensor([5.0, 5.0, 0.0], requires_grad=True)
        x.scatter_reduce(0, torch.tensor([1, 1, 1]), s, reduce, include_self=include_self).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), gx, err_msg=reduce)
        np.testing.assert_allclose(s.grad.numpy(), gs, err_msg=reduce)


def test_prod_gradient_through_a_zero_of_self(device):
    x = make([0.0, 3.0], device, requires_grad=True)
    s = make([2.0, 4.0], device, requires_grad=True)
    x.scatter_reduce(0, _ix([0, 0], device), s, "prod").sum().backward()
    close(x.grad, [8.0, 1.0])  # d(x0 * 2 * 4)/dx0 at x0 = 0
    close(s.grad, [0.0, 0.0])


def test_scatter_gradients(device):
    x = make(np.arange(6.0).reshape(2, 3), device, requires_grad=True)
    s = make(np.full((2, 4), 10.0), device, requires_grad=True)  # larger than index: only its corner is read
    y = x.scatter(1, _ix([[2, 0]], device), s)
    np.testing.assert_array_equal(y.numpy(), [[10, 1, 10], [3, 4, 5]])
    (y * make([[1.0, 2, 3], [4, 5, 6]], device)).sum().backward()
    close(x.grad, [[0, 2, 0], [4, 5, 6]])  # nothing back where src overwrote
    close(s.grad, [[3, 1, 0, 0], [0, 0, 0, 0]])
    assert gradgradcheck(lambda a, b: a.scatter_add(1, _ix([[2, 2]], device), b) ** 2,
                         [make(np.ones((2, 3)) * 0.5, device, requires_grad=True),
                          make(np.ones((1, 2)) * 0.25, device, requires_grad=True)])


def test_index_fill_value_gradient_counts_each_entry_once(device):
    # a repeated index fills its entries once, so they count once in the value's gradient (as PyTorch)
    x = make(np.zeros((2, 3)), device, requires_grad=True)
    v = make(1.5, device, requires_grad=True)
    y = x.index_fill(1, _ix([2, 0, 2], device), v)
    close(y, [[1.5, 0, 1.5], [1.5, 0, 1.5]])
    y.sum().backward()
    close(v.grad, 4.0)
    close(x.grad, [[0, 1, 0], [0, 1, 0]])


def test_scatter_legacy_reduce_and_value_forms(device):
    x = make([1.0, 2.0, 3.0], device)
    close(x.scatter(0, _ix([0, 0], device), make([4.0, 5.0], device), reduce="add"), [10, 2, 3])
    close(x.scatter(0, _ix([2, 2], device), 2.0, reduce="multiply"), [1, 2, 12])
    close(x.scatter(0, _ix([1], device), value=-1.0), [1, -1, 3])
    assert gg.tensor([1, 2, 3], device=device).scatter(0, _ix([0], device), 7.9).tolist() == [7, 2, 3]


def test_masked_and_take_forms(device):
    x = make([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]], device)
    m = x > 0
    close(x.masked_fill(m, 0.0), [[0, -2, 0], [-4, 0, -6]])
    close(x.masked_fill(make([True, False, False], device), make(9.0, device)), [[9, -2, 3], [9, 5, -6]])
    close(x.masked_select(m), [1, 3, 5])
    close(x.masked_scatter(m, make([7.0, 8.0, 9.0, 10.0], device)), [[7, -2, 8], [-4, 9, -6]])
    close(gg.take(x, _ix([[5, -6]], device)), [[-6, 1]])
    close(gg.take_along_dim(x, _ix([[2], [0]], device), dim=1), [[3], [-4]])
    close(gg.take_along_dim(x, _ix([[-1]], device), dim=1), [[3], [-6]])
    close(gg.take_along_dim(x, _ix([4, 0], device)), [5, 1])
    close(x.index_copy(1, _ix([2, 0], device), make([[0.5, 0.25], [0.75, 1.0]], device)), [[0.25, -2, 0.5], [1, 5, 0.75]])
    close(x.index_add(0, _ix([1, 1], device), make([[1.0, 1, 1], [2, 2, 2]], device), alpha=-1),
          [[1, -2, 3], [-7, 2, -9]])
    close(x.index_fill(0, _ix([-1], device), 0.0), [[1, -2, 3], [0, 0, 0]])


def test_where_one_argument_is_nonzero_as_tuple(device):
    c = make([[0, 2, 0], [1, 0, 3]], device)
    rows, cols = gg.where(c)
    assert rows.tolist() == [0, 1, 1] and cols.tolist() == [1, 0, 2] and rows.dtype == gg.int64
    (i,) = gg.functional.where(make([True, False, True], device))
    assert i.tolist() == [0, 2]
    close(gg.where(c > 0, 1.0, 0.0), [[0, 1, 0], [1, 0, 1]])  # the three-argument form still works
    with pytest.raises(ArgumentError, match=r"^\[where\] expected where\(condition\) or"):
        gg.where(c > 0, 1.0)


# -- in-place forms --------------------------------------------------------------------------------
INPLACE = [  # (method, args builder, out-of-place equivalent)
    ("scatter_", lambda d: (1, _ix([[2, 0]], d), make([[7.0, 8.0]], d))),
    ("scatter_add_", lambda d: (1, _ix([[2, 2]], d), make([[7.0, 8.0]], d))),
    ("scatter_reduce_", lambda d: (1, _ix([[2, 2]], d), make([[7.0, 8.0]], d), "amax")),
    ("index_add_", lambda d: (0, _ix([1], d), make([[1.0, 2.0, 3.0]], d))),
    ("index_copy_", lambda d: (0, _ix([1], d), make([[1.0, 2.0, 3.0]], d))),
    ("index_fill_", lambda d: (1, _ix([0], d), -1.0)),
    ("masked_fill_", lambda d: (make([True, False, True], d), 0.5)),
    ("masked_scatter_", lambda d: (make([True, False, True], d), make([9.0, 8.0, 7.0, 6.0], d))),
]


@pytest.mark.parametrize("name,args", INPLACE, ids=[c[0] for c in INPLACE])
def test_in_place_forms(device, name, args):
    base = np.arange(6.0).reshape(2, 3)
    want = getattr(make(base, device), name[:-1])(*args(device))
    x = make(base, device)
    v = x._version
    assert getattr(x, name)(*args(device)) is x
    np.testing.assert_array_equal(x.numpy(), want.numpy())
    assert x._version == v + 1
    leaf = make(base, device, requires_grad=True)
    with pytest.raises(AutogradError, match=rf"^\[{name}\] a leaf tensor that requires grad"):
        getattr(leaf, name)(*args(device))
    y = leaf * 2  # inside a graph: the gradient goes through the in-place op
    getattr(y, name)(*args(device))
    y.sum().backward()
    ref = make(base, device, requires_grad=True)
    getattr(ref * 2, name[:-1])(*args(device)).sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), ref.grad.numpy())


def test_in_place_value_tensor_gets_its_gradient(device):
    w = make([1.0, 2.0, 3.0], device, requires_grad=True)
    v = make(4.0, device, requires_grad=True)
    y = w * 1
    y.masked_fill_(make([True, False, True], device), v)
    (y * make([1.0, 10.0, 100.0], device)).sum().backward()
    close(w.grad, [0, 10, 0])
    close(v.grad, 101.0)
    src = make([[5.0]], device, requires_grad=True)  # given by keyword: still seen by the graph
    z = w * 1
    z.scatter_(0, _ix([1], device), src=src.reshape(1))
    z.sum().backward()
    close(src.grad, [[1.0]])


def test_in_place_refuses_a_broadcast_result(device):
    with pytest.raises(ShapeError, match=r"^\[masked_fill_\] the result of shape \(2, 3\)"):
        make([1.0, 2.0, 3.0], device).masked_fill_(make(np.ones((2, 3), bool), device), 0.0)


# -- errors ------------------------------------------------------------------------------------------
def _z(device, *shape):
    return gg.zeros(*shape, device=device)


OUT_OF_RANGE = [  # each raises GpugradIndexError through the device check (read back on a GPU)
    ("scatter", lambda d: _z(d, 3).scatter(0, _ix([3], d), 1.0), r"index values must lie in \[0, 2\], got 3"),
    ("scatter", lambda d: _z(d, 3).scatter(0, _ix([-1], d), _z(d, 1)), r"got -1 at position 0"),
    ("scatter_add", lambda d: _z(d, 2, 3).scatter_add(1, _ix([[0, 5]], d), _z(d, 1, 2)), r"got 5 at position 1"),
    ("scatter_reduce", lambda d: _z(d, 3).scatter_reduce(0, _ix([9], d), _z(d, 1), "prod"), r"got 9"),
    ("index_add", lambda d: _z(d, 3).index_add(0, _ix([-1], d), _z(d, 1)), r"got -1"),
    ("index_copy", lambda d: _z(d, 3).index_copy(0, _ix([3], d), _z(d, 1)), r"got 3"),
    ("index_fill", lambda d: _z(d, 3).index_fill(0, _ix([-4], d), 1.0), r"index -4 is out of range for dim 0 of size 3"),
    ("take", lambda d: _z(d, 2, 3).take(_ix([6], d)), r"index 6 is out of range for a tensor of 6 elements"),
    ("take_along_dim", lambda d: _z(d, 2, 3).take_along_dim(_ix([[-4]], d), 1), r"index -4 is out of range"),
    ("gather", lambda d: _z(d, 4).take_along_dim(_ix([4], d)), r"got 4"),
]


@pytest.mark.parametrize("name,fn,msg", OUT_OF_RANGE, ids=[f"{c[0]}-{i}" for i, c in enumerate(OUT_OF_RANGE)])
def test_index_out_of_range(device, name, fn, msg):
    with pytest.raises(GpugradIndexError, match=rf"^\[{name}\] .*{msg}"):
        settle(fn(device))


BAD = [  # (error, message start, call)
    (DTypeError, r"\[scatter\] expected src to have the tensor's dtype float32, got float64",
     lambda d: _z(d, 3).scatter(0, _ix([0], d), _z(d, 1).double())),
    (DTypeError, r"\[scatter_add\] index must be an integer tensor, got float32",
     lambda d: _z(d, 3).scatter_add(0, _z(d, 1), _z(d, 1))),
    (ShapeError, r"\[scatter\] index must have the tensor's 2 dims, got 1",
     lambda d: _z(d, 2, 3).scatter(1, _ix([0], d), _z(d, 2, 3))),
    (ShapeError, r"\[scatter_add\] index shape \(1, 3\) exceeds src shape \(1, 2\)",
     lambda d: _z(d, 2, 3).scatter_add(1, _ix([[0, 1, 2]], d), _z(d, 1, 2))),
    (ShapeError, r"\[scatter\] index shape \(3, 1\) exceeds the tensor's shape \(2, 3\) in dim 0",
     lambda d: _z(d, 2, 3).scatter(1, _ix([[0], [0], [0]], d), 1.0)),
    (ArgumentError, r"\[scatter_reduce\] reduce must be one of sum, prod, mean, amax, amin, got 'max'",
     lambda d: _z(d, 3).scatter_reduce(0, _ix([0], d), _z(d, 1), "max")),
    (ArgumentError, r"\[scatter\] reduce must be 'add' or 'multiply', got 'sum'",
     lambda d: _z(d, 3).scatter(0, _ix([0], d), _z(d, 1), reduce="sum")),
    (ShapeError, r"\[index_add\] expected source of shape \(2, 2\) for 2 indices in dim 1",
     lambda d: _z(d, 2, 3).index_add(1, _ix([0, 0], d), _z(d, 2, 3))),
    (ArgumentTypeError, r"\[index_add\] a float alpha needs a float tensor, got int64",
     lambda d: _ix([1, 2], d).index_add(0, _ix([0], d), _ix([1], d), alpha=0.5)),
    (DTypeError, r"\[masked_fill\] expected a bool tensor as mask, got int64",
     lambda d: _z(d, 3).masked_fill(_ix([1, 0, 1], d), 1.0)),
    (ShapeError, r"\[masked_fill\] expected a number or a 0-d value tensor, got shape \(1,\)",
     lambda d: _z(d, 3).masked_fill(_z(d, 3) == 0, _z(d, 1))),
    (ShapeError, r"\[masked_select\] the mask of shape \(2,\) does not broadcast with shape \(3,\)",
     lambda d: _z(d, 3).masked_select(_z(d, 2) == 0)),
    (ShapeError, r"\[masked_scatter\] the mask has 3 True values but source has only 2 elements",
     lambda d: _z(d, 3).masked_scatter(_z(d, 3) == 0, _z(d, 2))),
    (DTypeError, r"\[masked_scatter\] expected source to have the tensor's dtype float32, got int64",
     lambda d: _z(d, 3).masked_scatter(_z(d, 3) == 0, _ix([1, 2, 3], d))),
    (DTypeError, r"\[take\] index must be an integer tensor, got float32", lambda d: _z(d, 3).take(_z(d, 1))),
    (DTypeError, r"\[mm\] expected all operands to have the same dtype, got float32 and float64; .*\.float\(\)",
     lambda d: _z(d, 2, 2).mm(_z(d, 2, 2).double())),
    (ShapeError, r"\[mm\] expected mat2 to be 2-D, got 1-D", lambda d: _z(d, 2, 2).mm(_z(d, 2))),
    (ShapeError, r"\[bmm\] expected shapes \(b, n, m\) and \(b, m, p\)", lambda d: _z(d, 2, 2, 3).bmm(_z(d, 1, 3, 2))),
    (ShapeError, r"\[addmm\] input of shape \(3,\) does not broadcast to \(2, 2\)",
     lambda d: gg.addmm(_z(d, 3), _z(d, 2, 3), _z(d, 3, 2))),
    (DTypeError, r"\[dot\] bool operands are not supported", lambda d: gg.dot(_z(d, 2) == 0, _z(d, 2) == 0)),
    (ShapeError, r"\[dot\] expected vectors of one size, got 2 and 3", lambda d: gg.dot(_z(d, 2), _z(d, 3))),
    (ShapeError, r"\[outer\] expected vec2 to be 1-D, got 2-D", lambda d: gg.outer(_z(d, 2), _z(d, 2, 1))),
    (ShapeError, r"\[inner\] expected the last dims to match", lambda d: gg.inner(_z(d, 2, 3), _z(d, 2))),
    (ShapeError, r"\[tensordot\] contracted dims differ in size: dim 1 of \(2, 3\) and dim 0 of \(2, 3\)",
     lambda d: gg.tensordot(_z(d, 2, 3), _z(d, 2, 3), 1)),
    (ArgumentTypeError, r"\[tensordot\] dims must be an int or a pair of lists",
     lambda d: gg.tensordot(_z(d, 2), _z(d, 2), "x")),
    (ArgumentError, r"\[einsum\] the equation 'ij,jk' has 2 operand\(s\), got 1 tensor",
     lambda d: gg.einsum("ij,jk", _z(d, 2, 2))),
    (ShapeError, r"\[einsum\] subscript j has size 4 in one operand and 3 in another",
     lambda d: gg.einsum("ij,jk", _z(d, 2, 3), _z(d, 4, 5))),
    (ShapeError, r"\[einsum\] subscripts ij do not fit an operand of shape \(2, 3, 4\)",
     lambda d: gg.einsum("ij", _z(d, 2, 3, 4))),
    (ArgumentError, r"\[einsum\] subscripts must be letters a-z, A-Z or '...', got '1'",
     lambda d: gg.einsum("i1", _z(d, 2, 3))),
    (ArgumentError, r"\[einsum\] output subscript k does not appear", lambda d: gg.einsum("ij->k", _z(d, 2, 3))),
    (ArgumentError, r"\[einsum\] a subscript repeats in the output", lambda d: gg.einsum("ij->ii", _z(d, 2, 2))),
    (ShapeError, r"\[einsum\] subscript i repeats in one operand with different sizes \[2, 3\]",
     lambda d: gg.einsum("ii->i", _z(d, 2, 3))),
    (DTypeError, r"\[einsum\] expected all operands to have the same dtype, got float32 and int64",
     lambda d: gg.einsum("i,i", _z(d, 2), _ix([1, 2], d))),
    (ShapeError, r"\[cross\] dim 0 must have size 3, got shape \(2, 3\)", lambda d: gg.cross(_z(d, 2, 3), _z(d, 2, 3), 0)),
    (ShapeError, r"\[cross\] no dim of size 3 in shape \(2, 2\)", lambda d: gg.cross(_z(d, 2, 2), _z(d, 2, 2))),
    (ArgumentTypeError, r"\[kron\] expected tensors, got list", lambda d: gg.kron(_z(d, 2), [1.0])),
]


@pytest.mark.parametrize("error,msg,fn", BAD, ids=[f"{i}-{c[1][2:14]}" for i, c in enumerate(BAD)])
def test_bad_input(device, error, msg, fn):
    with pytest.raises(error, match="^" + msg):
        settle(fn(device))


# -- linear algebra -------------------------------------------------------------------------------
EINSUM = [
    ("ij,jk", [(2, 3), (3, 4)]), ("ij,jk->ki", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ii", [(3, 3)]), ("ii->i", [(3, 3)]), ("ij->", [(2, 3)]), ("ji", [(2, 3)]), ("i,i", [(3,), (3,)]),
    ("i,j", [(3,), (4,)]), ("i,j->", [(3,), (4,)]), ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)]),
    ("b...,b...->...", [(2, 3, 4), (2, 3, 4)]), ("i...->...", [(3, 2, 2)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("iij->j", [(3, 3, 2)]), ("iji->j", [(3, 2, 3)]), ("ab,cd->abcd", [(2, 3), (2, 2)]), ("ba,aB", [(2, 3), (3, 4)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]), ("...", [(2, 3)]), ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("i, j -> ij", [(2,), (3,)]), ("ijk,ikj->", [(2, 3, 4), (2, 4, 3)]), ("i...j,j...->...", [(2, 3, 4), (4, 3)]),
]  # fmt: skip


@pytest.mark.parametrize("eq,shapes", EINSUM, ids=[e[0] for e in EINSUM])
def test_einsum_matches_numpy(device, eq, shapes):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    out = gg.einsum(eq, *[make(a, device) for a in arrays])
    want = np.einsum(eq.replace(" ", ""), *arrays)
    assert out.shape == want.shape and out.dtype == gg.float64
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda *ts: gg.einsum(eq, *ts), [make(a, device, requires_grad=True) for a in arrays])


def test_einsum_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    for eq, shapes in EINSUM + [("i,i->i", [(1,), (3,)])]:
        arrays = [rng.standard_normal(s) for s in shapes]
        xs = [gg.tensor(a, requires_grad=True) for a in arrays]
        ts = [torch.tensor(a, requires_grad=True) for a in arrays]
        out, tout = gg.einsum(eq, xs), torch.einsum(eq, ts)
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=eq)
        w = rng.standard_normal(tuple(tout.shape))
        out.backward(gg.tensor(w))
        tout.backward(torch.tensor(w))
        for x, t in zip(xs, ts):
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=eq)


def test_einsum_contracts_through_matmul_not_elementwise(device, monkeypatch):
    # one batched matmul per pair of operands, whatever the sizes (no loop over elements)
    from gpugrad.ops import linalg as L

    calls = []
    forward = L.Matmul.forward
    monkeypatch.setattr(L.Matmul, "forward", lambda self, b, x0, x1: calls.append(x0.shape) or forward(self, b, x0, x1))
    gg.einsum("bij,bjk,bkl->bil", _z(device, 8, 16, 32), _z(device, 8, 32, 16), _z(device, 8, 16, 4))
    assert calls == [(8, 16, 32), (8, 16, 16)]


def test_products_of_integers_and_hand_values(device):
    a = _ix([[1, 2], [3, 4]], device)
    assert gg.mm(a, a).tolist() == [[7, 10], [15, 22]] and gg.mm(a, a).dtype == gg.int64
    assert gg.addmm(a, a, a, beta=2, alpha=3).tolist() == [[23, 34], [51, 74]]
    assert gg.bmm(a[None], a[None]).tolist() == [[[7, 10], [15, 22]]]
    assert gg.dot(a[0], a[1]).item() == 11 and gg.vdot(a[0], a[1]).item() == 11
    assert gg.outer(a[0], a[1]).tolist() == [[3, 4], [6, 8]]
    assert gg.inner(a, a).tolist() == [[5, 11], [11, 25]]
    assert gg.tensordot(a, a, dims=([0], [1])).tolist() == [[7, 15], [10, 22]]
    assert gg.kron(a[0], a).tolist() == [[1, 2, 2, 4], [3, 4, 6, 8]]
    assert gg.cross(_ix([1, 0, 0], device), _ix([0, 1, 0], device)).tolist() == [0, 0, 1]
    assert gg.einsum("ij,ij->", a, a).item() == 30


def test_addmm_with_beta_zero_ignores_nan_input(device):
    c = make(np.full((2, 2), np.nan), device, requires_grad=True)
    a = make(np.eye(2), device, requires_grad=True)
    out = gg.addmm(c, a, a, beta=0, alpha=2)
    close(out, 2 * np.eye(2))
    out.sum().backward()
    assert c.grad is None or not np.isnan(c.grad.numpy()).any()


def test_tensor_methods(device):
    x = make(np.arange(6.0).reshape(2, 3), device)
    close(x.mm(x.mT), [[5, 14], [14, 50]])
    close(x.inner(x), [[5, 14], [14, 50]])
    close(x[0].outer(x[1]), np.outer([0, 1, 2], [3, 4, 5]))
    close(x[0].ger(x[1]), np.outer([0, 1, 2], [3, 4, 5]))
    close(x[0].dot(x[1]), 14)
    close(x[0].kron(x[1]), np.kron([0, 1, 2], [3, 4, 5]))
    close(x.cross(x.flip(1), dim=1), np.cross(np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3)[:, ::-1]))
    close(x[None].bmm(x.mT[None]), [[[5, 14], [14, 50]]])
    a = np.arange(6.0).reshape(2, 3)
    close(x.mT.addmm(x.mT, x[:, :2]), a.T + a.T @ a[:, :2])


def test_empty_operands(device):
    # a size-0 subscript stays 0 (only size 1 broadcasts), and empty scatters change nothing
    assert gg.einsum("ij,jk", _z(device, 0, 3), _z(device, 3, 2)).shape == (0, 2)
    assert gg.einsum("i,i->i", _z(device, 1), _z(device, 0)).shape == (0,)
    close(gg.einsum("i,i", _z(device, 0), _z(device, 0)), 0.0)
    close(gg.tensordot(_z(device, 2, 0), _z(device, 0, 3), 1), np.zeros((2, 3)))
    x = _ix([[1, 2, 3]], device)
    assert x.scatter_reduce(1, _ix(np.zeros((1, 0), int), device), x[:, :0], "prod").tolist() == [[1, 2, 3]]
    assert x.index_add(1, _ix(np.zeros(0, int), device), x[:, :0]).tolist() == [[1, 2, 3]]


def test_linalg_cross_is_torch_linalg_cross(device):
    a, b = np.random.default_rng(5).standard_normal((2, 4, 3))
    x, y = make(a, device, requires_grad=True), make(b, device)
    out = gg.linalg.cross(x, y)
    close(out, np.cross(a, b))
    out.sum().backward()
    close(x.grad, np.cross(b, np.ones((4, 3))))  # d/da sum(a x b) = b x 1
