"""The breadth issue's reductions, scans, sorting, selection and shape functions where the op
table (tests/op_specs_reduce.py) does not reach: integer results, named tuples, ties, NaN,
zeros in products, extreme values, argument forms and refused input; against hand-computed
values on every device, and against PyTorch when it is installed."""

import math

import numpy as np
import pytest
from helpers import close, make, settle
from hypothesis import given
from hypothesis import strategies as st

import gpugrad as gg
from gpugrad import functional as F
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.errors import GpugradError

NAN = float("nan")


def _grad(fn, data, device):
    x = make(np.asarray(data, dtype=np.float64), device, requires_grad=True)
    fn(x).sum().backward()
    return x.grad


# -- named tuples -------------------------------------------------------------------------------


@pytest.mark.parametrize("name,call,fields", [
    ("CumMaxResult", lambda x: x.cummax(1), ("values", "indices")),
    ("CumMaxResult", lambda x: F.cummin(x, 0), ("values", "indices")),
    ("MedianResult", lambda x: x.median(1), ("values", "indices")),
    ("KthValueResult", lambda x: x.kthvalue(1, 0), ("values", "indices")),
    ("AMinMaxResult", lambda x: x.aminmax(dim=1), ("min", "max")),
    ("ModeResult", lambda x: x.mode(), ("values", "indices")),
])  # fmt: skip
def test_named_tuples(device, name, call, fields):
    r = call(make([[2.0, 1.0, 3.0], [0.0, 5.0, 4.0]], device))
    assert type(r).__name__ == name and r._fields == fields
    a, b = r
    assert a is r[0] and b is getattr(r, fields[1])


# -- scans --------------------------------------------------------------------------------------


def test_cumprod_gradient_with_zeros(device):
    # d/dx_i sum_j prod_{k<=j} x_k, by hand: no division by the zero entries
    close(_grad(lambda x: x.cumprod(0), [2.0, 0.0, 3.0, 4.0], device), [1, 32, 0, 0])
    close(_grad(lambda x: x.cumprod(0), [0.0, 2.0, 0.0, 3.0], device), [3, 0, 0, 0])
    x = make(np.array([[0.5, 0.0, 1.5], [0.0, 0.0, 2.0]]), device, requires_grad=True)
    assert gradcheck(lambda t: t.cumprod(1), [x]) and gradgradcheck(lambda t: t.cumprod(1), [x])
    # without a gradient the plain cumulative product, same values
    with gg.no_grad():
        close(x.cumprod(1), np.cumprod(x.detach().numpy(), 1))


def test_cumprod_zeros_match_pytorch():
    torch = pytest.importorskip("torch")
    data = np.array([[0.5, 0.0, 1.5, 2.0], [0.0, 3.0, 0.0, 2.0], [1.0, 2.0, 3.0, 0.0]])
    w = np.arange(12.0).reshape(3, 4)
    x, t = gg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    x.cumprod(1).backward(gg.tensor(w))
    t.cumprod(1).backward(torch.tensor(w))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_cumsum_and_cumprod_dtypes(device):
    b = make(np.array([True, False, True]), device)
    assert b.cumsum(0).tolist() == [1, 1, 2] and b.cumsum(0).dtype == gg.int64
    i = make(np.array([2, 3, 4], dtype=np.int32), device)
    assert i.cumprod(0).tolist() == [2, 6, 24] and i.cumprod(0).dtype == gg.int64
    assert F.cumsum(i, 0, dtype=gg.float64).dtype == gg.float64
    z = make(np.array(2.5), device, requires_grad=True)
    y = z.cumsum(0)
    assert y.shape == () and y.item() == 2.5
    y.backward()
    assert z.grad.item() == 1.0


def test_cumsum_is_differentiable_twice(device):
    x = make(np.arange(6.0).reshape(2, 3) / 5, device, requires_grad=True)
    assert gradgradcheck(lambda t: t.cumsum(1) ** 2, [x])


def test_cummax_ties_take_the_latest_index_and_nan_stays(device):
    x = make([1.0, 3.0, 3.0, 2.0, 5.0, NAN, 4.0, 6.0], device)
    r = x.cummax(0)
    np.testing.assert_array_equal(r.values.numpy(), [1, 3, 3, 3, 5, NAN, NAN, NAN])
    assert r.indices.tolist() == [0, 1, 2, 2, 4, 5, 5, 5]
    m = x.cummin(0)
    assert m.indices.tolist() == [0, 0, 0, 0, 0, 5, 5, 5]
    # the gradient goes to the returned indices: ties pass it on to the latest
    close(_grad(lambda t: t.cummax(0).values, [1.0, 3.0, 3.0, 3.0], device), [1, 1, 1, 1])
    close(_grad(lambda t: t.cummin(0).values, [2.0, 1.0, 3.0, 0.5], device), [1, 2, 0, 1])


def test_cummax_integers_bools_and_0d(device):
    i = make(np.array([[3, 1, 4], [1, 5, 9]], dtype=np.int32), device)
    r = i.cummax(1)
    assert r.values.tolist() == [[3, 3, 4], [1, 5, 9]] and r.values.dtype == gg.int32
    assert r.indices.tolist() == [[0, 0, 2], [0, 1, 2]] and r.indices.dtype == gg.int64
    assert make(np.array([True, False]), device).cummax(0).indices.tolist() == [0, 0]
    z = make(np.array(3.0), device).cummin(0)
    assert z.values.shape == () and z.indices.item() == 0


def test_cummax_matches_pytorch_with_ties():
    torch = pytest.importorskip("torch")
    data = np.array([[1.0, 3.0, 3.0, 2.0, 3.0], [5.0, 5.0, 1.0, 5.0, 6.0]])
    for name in ("cummax", "cummin"):
        for d in (0, 1):
            r, t = getattr(gg.tensor(data), name)(d), getattr(torch.tensor(data), name)(d)
            assert r.indices.tolist() == t.indices.tolist(), (name, d)


def test_logcumsumexp_extreme_values(device):
    x = make([-1000.0, 0.0, -math.inf], device)
    close(x.logcumsumexp(0), [-1000.0, 0.0, 0.0])  # a global shift would give log(0) = -inf first
    np.testing.assert_array_equal(make([-math.inf, -math.inf], device).logcumsumexp(0).numpy(), [-math.inf] * 2)
    close(make([1000.0, 1000.0], device).logcumsumexp(0), [1000.0, 1000.0 + math.log(2)])
    # the gradient is softmax over each prefix, weighted: here d/dx of the sum
    close(_grad(lambda t: t.logcumsumexp(0), [0.0, 0.0], device), [1.5, 0.5])
    with pytest.raises(gg.errors.DTypeError, match=r"^\[logcumsumexp\] expected a floating point tensor, got int64"):
        make(np.array([1, 2]), device).logcumsumexp(0)


# -- reductions ---------------------------------------------------------------------------------


def test_median_is_the_lower_middle(device):
    assert make(np.array([1, 4, 2, 3]), device).median().item() == 2
    r = make([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 5.0, 5.0]], device).median(1)
    close(r.values, [1.0, 2.0])
    assert r.indices.tolist() == [0, 1]
    # NaN anywhere gives NaN (at the first NaN)
    n = make([1.0, NAN, 2.0, NAN], device).median(0)
    assert math.isnan(n.values.item()) and n.indices.item() == 1
    assert math.isnan(make([1.0, NAN, 2.0], device).median().item())


def test_median_gradients(device):
    # without a dim the gradient is shared among the entries equal to the median (PyTorch's)
    data = [[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 5.0, 5.0]]
    close(_grad(lambda t: t.median(), data, device), [[0, 0, 0, 0], [0.5, 0.5, 0, 0]])
    close(_grad(lambda t: t.median(1).values, data, device), [[1, 0, 0, 0], [0, 1, 0, 0]])
    assert make(data, device).median().item() == 2.0
    x = make([[0.5, 0.1, 0.9], [0.3, 0.7, 0.2]], device, requires_grad=True)  # no ties: smooth
    assert gradgradcheck(lambda t: t.median() * t.sum(), [x]) and gradgradcheck(lambda t: t.median(0).values ** 2, [x])


def test_median_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    data = [[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 5.0, 5.0]]
    for fn in (lambda t: t.median(), lambda t: t.median(1).values, lambda t: t.median(0).values):
        x, t = gg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        fn(x).sum().backward()
        fn(t).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_median_refuses(device):
    with pytest.raises(gg.errors.ShapeError, match=r"^\[median\] cannot reduce an empty tensor"):
        make(np.zeros((0,)), device).median()
    with pytest.raises(gg.errors.DTypeError, match=r"^\[median\] expected a numeric tensor, got bool"):
        make(np.array([True]), device).median()


def test_aminmax_gradient_is_shared_among_ties(device):
    data = [[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 5.0, 5.0]]

    def both(t):
        r = t.aminmax(dim=1)
        return r.min + r.max

    close(_grad(both, data, device), [[0, 0.5, 0.5, 1], [0.5, 0.5, 0.5, 0.5]])
    with pytest.raises(gg.errors.ArgumentTypeError, match=r"^\[aminmax\] dim must be an int or None, got tuple"):
        make(data, device).aminmax(dim=(0, 1))


def test_std_mean_and_var_mean_forms(device):
    x = make([[1.0, 2.0, 4.0], [0.0, 0.0, 3.0]], device)
    s, m = F.std_mean(x)
    close(s, np.std([1, 2, 4, 0, 0, 3], ddof=1))
    close(m, 10 / 6)
    v, m = F.var_mean(x, 1, unbiased=False, keepdim=True)
    close(v, [[14 / 9], [2.0]])
    assert m.shape == (2, 1)
    v, _ = F.var_mean(x, False)  # the unbiased flag alone, as torch.var_mean(x, False)
    close(v, np.var([1, 2, 4, 0, 0, 3]))
    close(F.std_mean(x, dim=0, correction=0)[0], np.std(x.numpy(), 0))


def test_count_nonzero(device):
    x = make([[0.0, 1.0, 2.0], [3.0, 0.0, 0.0]], device)
    assert x.count_nonzero().item() == 3 and x.count_nonzero().dtype == gg.int64
    assert x.count_nonzero(0).tolist() == [1, 1, 1] and F.count_nonzero(x, dim=(0, 1)).item() == 3
    assert F.count_nonzero(x, -1).tolist() == [2, 1]


def test_matrix_norm_refuses(device):
    with pytest.raises(gg.errors.ArgumentError, match=r"^\[linalg.matrix_norm\] ord='nuc' needs singular values"):
        gg.linalg.matrix_norm(gg.ones(2, 2, device=device), "nuc")
    with pytest.raises(gg.errors.DTypeError, match=r"^\[linalg.matrix_norm\] expected a floating point tensor"):
        gg.linalg.matrix_norm(make(np.ones((2, 2), dtype=np.int64), device))
    with pytest.raises(gg.errors.ArgumentError, match=r"^\[linalg.matrix_norm\] dim must name two different dims"):
        gg.linalg.matrix_norm(gg.ones(2, 2, device=device), dim=(1, -1))
    close(gg.linalg.matrix_norm(make([[1.0, -2.0], [3.0, 4.0]], device), 1), 6.0)
    close(gg.linalg.matrix_norm(make([[1.0, -2.0], [3.0, 4.0]], device), math.inf), 7.0)
    close(gg.linalg.norm(make([[3.0, 4.0]], device)), 5.0)


# -- sorting and selection -----------------------------------------------------------------------


def test_kthvalue(device):
    x = make([[3.0, 1.0, 2.0], [1.0, 1.0, 0.0]], device)
    r = x.kthvalue(2)
    close(r.values, [2.0, 1.0])
    assert r.indices.tolist() == [2, 0]
    r = x.kthvalue(1, 0, keepdim=True)
    assert r.values.shape == (1, 3) and r.indices.tolist() == [[1, 0, 1]]
    z = make(np.array(4.0), device).kthvalue(1)
    assert z.values.shape == () and z.indices.item() == 0
    with pytest.raises(gg.errors.ArgumentError, match=r"^\[kthvalue\] k must be in 1..3 .*got 0"):
        x.kthvalue(0)
    with pytest.raises(gg.errors.ArgumentTypeError, match=r"^\[kthvalue\] k must be an int, got float"):
        x.kthvalue(1.0)


def test_mode(device):
    # the most frequent value, the smallest of equally frequent ones, at its last occurrence
    r = make(np.array([[1, 2, 2, 1, 3], [3, 3, 1, 1, 1]]), device).mode(1)
    assert r.values.tolist() == [1, 1] and r.indices.tolist() == [3, 4]
    r = make([2.0, 1.0, 2.0, 1.0, 5.0, 1.0, 2.0], device).mode()
    assert r.values.item() == 1.0 and r.indices.item() == 5
    close(_grad(lambda t: t.mode().values, [2.0, 1.0, 2.0, 1.0, 5.0], device), [0, 0, 0, 1, 0])
    r = make([[4.0], [4.0]], device).mode(0, keepdim=True)
    assert r.values.shape == (1, 1) and r.indices.tolist() == [[1]]
    with pytest.raises(gg.errors.ShapeError, match=r"^\[mode\] cannot take the mode of an empty dim 1"):
        gg.ones(2, 0, device=device).mode()


def test_mode_matches_pytorch():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).integers(0, 4, (5, 7, 6))
    for d in range(3):
        ours, theirs = gg.tensor(data).mode(d), torch.tensor(data).mode(d)
        assert ours.values.tolist() == theirs.values.tolist() and ours.indices.tolist() == theirs.indices.tolist()


def test_unique(device):
    x = make(np.array([[3, 1], [3, 2]]), device)
    assert F.unique(x).tolist() == [1, 2, 3]
    values, inverse, counts = F.unique(x, return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 3] and inverse.tolist() == [[2, 0], [2, 1]] and counts.tolist() == [1, 1, 2]
    assert inverse.dtype == gg.int64 and counts.dtype == gg.int64
    values, counts = x.unique(sorted=False, return_counts=True)
    assert values.tolist() == [1, 2, 3] and counts.tolist() == [1, 1, 2]
    nan = F.unique(make([2.0, NAN, 1.0, NAN], device))  # NaNs stay distinct, as in PyTorch
    np.testing.assert_array_equal(nan.numpy(), [1.0, 2.0, NAN, NAN])
    with pytest.raises(gg.errors.ArgumentError, match=r"^\[unique\] only dim=None .* got dim=0"):
        F.unique(x, dim=0)


def test_unique_matches_pytorch():
    torch = pytest.importorskip("torch")
    data = np.array([[4.0, NAN, 1.0], [1.0, 4.0, -2.0]])
    ours = F.unique(gg.tensor(data), return_inverse=True, return_counts=True)
    theirs = torch.unique(torch.tensor(data), return_inverse=True, return_counts=True)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_bincount(device):
    i = make(np.array([0, 2, 2, 5]), device)
    assert F.bincount(i).tolist() == [1, 0, 2, 0, 0, 1] and F.bincount(i).dtype == gg.int64
    assert i.bincount(minlength=8).tolist() == [1, 0, 2, 0, 0, 1, 0, 0]
    w = F.bincount(i, weights=make(np.array([1.0, 2.0, 3.0, 0.5], dtype=np.float32), device))
    assert w.tolist() == [1.0, 0.0, 5.0, 0.0, 0.0, 0.5] and w.dtype == gg.float32
    empty = F.bincount(make(np.zeros(0, dtype=np.int64), device), minlength=2)
    assert empty.tolist() == [0, 0] and empty.dtype == gg.int64
    with pytest.raises(gg.errors.ArgumentError, match=r"^\[bincount\] expected non-negative values, got -1"):
        F.bincount(make(np.array([1, -1]), device))
    with pytest.raises(gg.errors.DTypeError, match=r"^\[bincount\] expected a 1-D integer tensor, got 2-D int64"):
        F.bincount(make(np.ones((2, 2), dtype=np.int64), device))
    with pytest.raises(gg.errors.ShapeError, match=r"^\[bincount\] weights must have input's shape \(4,\), got \(3,\)"):
        F.bincount(i, weights=gg.ones(3, device=device))


def test_argwhere_is_nonzero(device):
    x = make(np.array([[0, 1], [2, 0]]), device)
    assert F.argwhere(x).tolist() == [[0, 1], [1, 0]] and x.argwhere().dtype == gg.int64
    assert F.argwhere(make(np.array(3.0), device)).shape == (1, 0)


def test_searchsorted(device):
    seq = make(np.array([1, 3, 5]), device)
    v = make(np.array([[3, 6], [0, 1]]), device)
    assert F.searchsorted(seq, v).tolist() == [[1, 3], [0, 0]]
    assert F.searchsorted(seq, v, right=True).tolist() == [[2, 3], [0, 1]]
    assert F.searchsorted(seq, v, side="right").tolist() == [[2, 3], [0, 1]]
    s = F.searchsorted(seq, 3)
    assert s.shape == () and s.item() == 1
    assert F.searchsorted(seq, v, out_int32=True).dtype == gg.int32
    rows = make(np.array([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]), device)
    assert F.searchsorted(rows, make([[3.0, 7.0], [3.0, 2.0]], device)).tolist() == [[1, 3], [1, 0]]
    assert F.searchsorted(rows, make([[3.0], [2.0]], device), right=True).tolist() == [[2], [1]]
    unsorted = make(np.array([5.0, 1.0, 3.0]), device)
    order = make(np.array([1, 2, 0]), device)
    assert F.searchsorted(unsorted, make([2.0, 6.0], device), sorter=order).tolist() == [1, 3]
    with pytest.raises(gg.errors.ArgumentError, match=r"^\[searchsorted\] side='left' and right=True contradict"):
        F.searchsorted(seq, v, right=True, side="left")
    with pytest.raises(gg.errors.ShapeError, match=r"^\[searchsorted\] an N-D sequence of shape \(2, 3\) needs"):
        F.searchsorted(rows, make([1.0], device))


def test_searchsorted_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    seq = np.sort(rng.integers(0, 6, (2, 7)).astype(np.float64), axis=-1)
    vals = rng.integers(-1, 8, (2, 5)).astype(np.float64)
    for right in (False, True):
        for s in (seq, seq[0]):
            got = F.searchsorted(gg.tensor(s), gg.tensor(vals), right=right)
            want = torch.searchsorted(torch.tensor(s), torch.tensor(vals), right=right)
            assert got.tolist() == want.tolist()


# -- shape --------------------------------------------------------------------------------------


def test_repeat_tile_roll_are_copies(device):
    x = make([1.0, 2.0], device)
    for y in (x.repeat(1), x.tile((1,)), x.roll(0), x.repeat_interleave(1)):
        y[0] = 9.0
        assert x.tolist() == [1.0, 2.0]
    assert x.repeat(2, 2).tolist() == [[1, 2, 1, 2], [1, 2, 1, 2]]
    assert x.tile(2).tolist() == [1, 2, 1, 2] and F.tile(x, (2, 1)).shape == (2, 2)
    assert x.repeat(0).shape == (0,)


def test_repeat_interleave_forms(device):
    counts = make(np.array([2, 0, 1]), device)
    assert F.repeat_interleave(counts).tolist() == [0, 0, 2]
    x = make([[1, 2], [3, 4]], device)
    assert x.repeat_interleave(make(np.array([1, 2]), device), dim=0).tolist() == [[1, 2], [3, 4], [3, 4]]
    assert x.repeat_interleave(make(np.array(2), device)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    assert x.repeat_interleave(2, dim=1, output_size=4).tolist() == [[1, 1, 2, 2], [3, 3, 4, 4]]
    with pytest.raises(gg.errors.ShapeError, match=r"^\[repeat_interleave\] output_size 3 does not match .* 4"):
        x.repeat_interleave(2, dim=1, output_size=3)
    with pytest.raises(gg.errors.ArgumentError, match=r"^\[repeat_interleave\] repeats must be non-negative"):
        x.repeat_interleave(make(np.array([1, -1]), device), dim=0)
    grad = _grad(lambda t: t.repeat_interleave(make(np.array([3, 1]), device), dim=0), [[1.0], [2.0]], device)
    close(grad, [[3.0], [1.0]])


def test_diagonal_and_diag_embed(device):
    x = make(np.arange(12.0).reshape(3, 4), device)
    assert x.diagonal().tolist() == [0, 5, 10] and x.diagonal(1).tolist() == [1, 6, 11]
    assert x.diagonal(-2).tolist() == [8] and x.diagonal(5).shape == (0,)
    close(_grad(lambda t: t.diagonal(1), np.zeros((3, 3)), device), [[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    e = make([[1.0, 2.0]], device).diag_embed(1)
    assert e.tolist() == [[[0, 1, 0], [0, 0, 2], [0, 0, 0]]]
    assert make(np.array([True, True]), device).diag_embed().dtype == gg.bool


def test_tril_triu(device):
    x = make(np.ones((3, 3), dtype=np.int32), device)
    assert x.tril().tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]] and x.tril().dtype == gg.int32
    assert x.triu(1).tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    close(_grad(lambda t: t.tril(-1), np.ones((2, 2)), device), [[0, 0], [1, 0]])


def test_meshgrid_and_atleast(device):
    a, b = make([1, 2, 3], device), make([4, 5], device)
    gi, gj = F.meshgrid(a, b)  # PyTorch's default is "ij"
    assert gi.tolist() == [[1, 1], [2, 2], [3, 3]] and gj.tolist() == [[4, 5], [4, 5], [4, 5]]
    gx, gy = F.meshgrid([a, b], indexing="xy")
    assert gx.tolist() == [[1, 2, 3], [1, 2, 3]] and gy.tolist() == [[4, 4, 4], [5, 5, 5]]
    z = make(np.array(1.0), device)
    assert F.atleast_1d(z).shape == (1,) and F.atleast_2d(a).shape == (1, 3)
    assert F.atleast_3d(a).shape == (1, 3, 1) and F.atleast_3d(z).shape == (1, 1, 1)
    p, q = F.atleast_2d(z, a)
    assert p.shape == (1, 1) and q.shape == (1, 3)
    assert isinstance(F.atleast_1d([z]), tuple)
    with pytest.raises(gg.errors.ArgumentError, match=r"^\[meshgrid\] expected one dtype and device"):
        F.meshgrid(a, make([1.0], device))


def test_small_shape_methods(device):
    x = make(np.arange(6.0).reshape(2, 3), device)
    assert x.type_as(make(np.array([1]), device)).dtype == gg.int64
    assert x.view_as(gg.ones(3, 2)).shape == (3, 2) and x.reshape_as(gg.ones(6)).shape == (6,)
    assert x[:1].expand_as(x).shape == (2, 3)
    assert x.narrow(1, 1, 2).tolist() == [[1, 2], [4, 5]]
    assert x.unfold(1, 2, 1).tolist() == [[[0, 1], [1, 2]], [[3, 4], [4, 5]]]
    assert x.unflatten(1, (3, 1)).shape == (2, 3, 1) and x.movedim(0, -1).shape == (3, 2)
    assert x.fliplr().tolist() == [[2, 1, 0], [5, 4, 3]] and x.flipud().tolist() == [[3, 4, 5], [0, 1, 2]]
    assert x.roll(1, 1).tolist() == [[2, 0, 1], [5, 3, 4]] and x.roll(-1).tolist() == [[1, 2, 3], [4, 5, 0]]


REFUSED = [
    ("cumsum", lambda d: make(np.ones(3), d).cumsum(1), gg.errors.GpugradIndexError, "dim 1 is out of range"),
    ("cummax", lambda d: F.cummax([1.0], 0), gg.errors.ArgumentTypeError, "expected a Tensor, got list"),
    ("repeat", lambda d: gg.ones(2, 3, device=d).repeat(2), gg.errors.ShapeError, "expected at least 2 sizes"),
    ("roll", lambda d: gg.ones(3, device=d).roll((1, 2), (0,)), gg.errors.ShapeError, "differ in length"),
    ("narrow", lambda d: gg.ones(3, device=d).narrow(0, 2, 2), gg.errors.GpugradIndexError, "exceeds dim 0 of size 3"),
    ("unflatten", lambda d: gg.ones(6, device=d).unflatten(0, (4, -1)), gg.errors.ShapeError, "do not multiply"),
    ("movedim", lambda d: gg.ones(2, 3, device=d).movedim((0, 0), (0, 1)), gg.errors.ArgumentError, "repeated dim"),
    ("unfold", lambda d: gg.ones(3, device=d).unfold(0, 2, 0), gg.errors.ShapeError, "step > 0"),
    ("tril", lambda d: gg.ones(3, device=d).tril(), gg.errors.ShapeError, "at least 2 dims"),
    ("diagonal", lambda d: gg.ones(2, 2, device=d).diagonal(0, 1, -1), gg.errors.ArgumentError, "must differ"),
    ("atleast_2d", lambda d: F.atleast_2d(gg.ones(1, device=d), 3), gg.errors.ArgumentTypeError, "got int"),
    ("searchsorted", lambda d: F.searchsorted(gg.ones(3, device=d), "x"), gg.errors.ArgumentTypeError, "got str"),
    ("linalg.norm", lambda d: gg.linalg.norm(gg.ones(3, device=d), "fro"), gg.errors.ArgumentError, "matrix norm"),
]  # fmt: skip


@pytest.mark.parametrize("op,call,error,message", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_input(device, op, call, error, message):
    with pytest.raises(error) as info:
        settle(call(device))
    assert isinstance(info.value, GpugradError)
    text = str(info.value)
    assert text.startswith(f"[{op}]") and message in text, text


# -- properties ---------------------------------------------------------------------------------


@st.composite
def _arrays_and_dim(draw):
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    values = draw(st.lists(st.integers(-3, 3), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    return np.array(values, dtype=np.float64).reshape(shape), draw(st.integers(0, len(shape) - 1))


@given(_arrays_and_dim())
def test_scans_and_selections_agree_with_brute_force(device, case):
    # small integers, so ties are common: every index rule is checked against its definition
    a, d = case
    x = make(a, device)
    close(x.cumsum(d), np.cumsum(a, d))
    close(x.cumprod(d), np.cumprod(a, d))
    r = x.cummax(d)
    close(r.values, np.maximum.accumulate(a, d))
    idx = np.moveaxis(r.indices.numpy(), d, -1)
    rows = np.moveaxis(a, d, -1)
    for pos in np.ndindex(idx.shape):
        *lead, j = pos
        row = rows[tuple(lead)]
        best = row[: j + 1].max()
        assert idx[pos] == max(i for i in range(j + 1) if row[i] == best)  # the latest of the ties
    n = a.shape[d]
    close(x.median(d).values, np.take(np.sort(a, d), (n - 1) // 2, d))
    k = 1 + (n - 1) // 3
    close(x.kthvalue(k, d).values, np.take(np.sort(a, d), k - 1, d))
    m = x.mode(d)
    for pos in np.ndindex(idx.shape[:-1]):
        row = rows[pos]
        vals, counts = np.unique(row, return_counts=True)
        want = vals[np.argmax(counts)]
        assert m.values.numpy()[pos] == want and m.indices.numpy()[pos] == np.nonzero(row == want)[0][-1]
