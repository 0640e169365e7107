"""PyTorch names the compatibility corpus (tests/compat, issue 16) needs: norm and
linalg.vector_norm, equal / isclose / allclose, sort / argsort / topk / flip,
Tensor.nelement / is_contiguous, nn.Flatten / Unflatten, nn.BatchNorm1d / LayerNorm and
optim.lr_scheduler.ReduceLROnPlateau, diag, nonzero, log10 / log2, binary_cross_entropy /
nn.BCELoss, multinomial and F.batch_norm / layer_norm. Each against hand-computed values and gradcheck (no
PyTorch needed), against PyTorch when it is installed, and with its errors for bad input."""

import math

import numpy as np
import pytest
from helpers import close, make, settle
from hypothesis import given, settings
from hypothesis import strategies as st

import gpugrad
from gpugrad import nn
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.errors import ArgumentError, ArgumentTypeError, DTypeError, GpugradIndexError, ShapeError
from gpugrad.optim.lr_scheduler import ReduceLROnPlateau

INF = math.inf


def _torch():
    return pytest.importorskip("torch")


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# -- norm -----------------------------------------------------------------------------------


def test_norm_by_hand(device):
    x = make([[3.0, -4.0], [0.0, 0.0]], device, dtype=gpugrad.float32)
    assert x.norm().item() == 5.0
    close(gpugrad.norm(x, dim=1), [5.0, 0.0])
    close(x.norm(1), 7.0)
    close(x.norm(INF), 4.0)
    close(x.norm(-INF), 0.0)
    close(x.norm(0), 2.0)
    close(x.norm(3, dim=0), [3.0, 4.0])
    assert x.norm(dim=1, keepdim=True).shape == (2, 1)
    assert x.norm().dtype == gpugrad.float32 and x.norm(dtype=gpugrad.float64).dtype == gpugrad.float64
    assert x.norm(2, 1, False, gpugrad.float64).dtype == gpugrad.float64  # the method's 4th is dtype
    close(gpugrad.linalg.vector_norm(x, 2, dim=(0, 1)), 5.0)


@pytest.mark.parametrize("p", [2, 1, 3, 0.5, INF, -INF])
def test_norm_gradcheck(device, p):
    x = make(_rand(3, 4, seed=1), device, requires_grad=True)
    assert gradcheck(lambda t: t.norm(p, dim=1), [x])
    assert gradcheck(lambda t: gpugrad.norm(t, p), [x])
    if p in (2, 3):
        assert gradgradcheck(lambda t: t.norm(p, dim=0), [x])


@pytest.mark.parametrize("p", [2, 1, 3, 1.5, 0.5, INF])
def test_norm_gradient_is_zero_where_the_norm_is_zero(device, p):
    # sqrt at 0 has an infinite slope: the composed formula would give NaN; PyTorch gives 0
    x = make(np.zeros((2, 3)), device, requires_grad=True)
    x.norm(p).backward()
    close(x.grad, np.zeros((2, 3)))
    y = make([[0.0, 0.0], [3.0, 4.0]], device, requires_grad=True)
    y.norm(p, dim=1).sum().backward()
    assert np.isfinite(y.grad.numpy()).all() and (y.grad.numpy()[0] == 0).all()


def test_inf_norm_shares_the_gradient_among_ties(device):
    x = make([1.0, -3.0, 3.0], device, requires_grad=True)
    x.norm(INF).backward()
    close(x.grad, [0.0, -0.5, 0.5])


@pytest.mark.parametrize("p", [2, "fro", 1, 3, 0.5, INF, -INF, 0])
@pytest.mark.parametrize("dim", [None, 1, (0, 2), -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_norm_matches_torch(device, p, dim, keepdim):
    torch = _torch()
    a = _rand(2, 3, 4, seed=2)
    a[0, 1] = 0.0  # a zero row for the p < 1 and 0 norms
    x, t = make(a, device, requires_grad=True), torch.tensor(a, requires_grad=True)
    out, tout = x.norm(p, dim, keepdim), t.norm(p, dim, keepdim)
    assert out.shape == tuple(tout.shape) and out.dtype == gpugrad.float64
    close(out, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    if p != 0:
        w = _rand(*tout.shape, seed=3)
        out.backward(make(w, device))
        tout.backward(torch.tensor(w))
        close(x.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)
    v = gpugrad.linalg.vector_norm(make(a, device), 2 if p == "fro" else p, dim, keepdim)
    close(v, torch.linalg.vector_norm(torch.tensor(a), 2 if p == "fro" else p, dim, keepdim).numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_norm_float32_float16_and_dtype_match_torch(device, dtype):
    torch = _torch()
    a = (_rand(5, 7, seed=4) * 30).astype(dtype)  # squares past float16's range: summed in float32
    for kwargs in ({}, {"dim": 0}, {"p": 3, "dim": 1}, {"dtype": "float64"}):
        tk = {k: getattr(torch, v) if k == "dtype" else v for k, v in kwargs.items()}
        gk = {k: getattr(gpugrad, v) if k == "dtype" else v for k, v in kwargs.items()}
        out, tout = make(a, device).norm(**gk), torch.tensor(a).norm(**tk)
        assert str(out.dtype).split(".")[-1] == str(tout.dtype).split(".")[-1]
        close(out, tout.float().numpy(), rtol=1e-6 if dtype == "float32" else 1e-3)


def test_norm_errors(device):
    x = make(_rand(2, 3), device)
    with pytest.raises(DTypeError, match=r"^\[norm\] expected a floating point tensor, got int64"):
        make([1, 2], device).norm()
    with pytest.raises(DTypeError, match=r"^\[linalg.vector_norm\] expected a floating point"):
        gpugrad.linalg.vector_norm(make([1, 2], device))
    with pytest.raises(ArgumentError, match=r"^\[norm\] .*'nuc' is not supported"):
        x.norm("nuc")
    with pytest.raises(ArgumentError, match=r"^\[norm\] the 'fro' norm takes at most 2 dims"):
        make(_rand(2, 3, 4), device).norm("fro", dim=(0, 1, 2))
    with pytest.raises(ArgumentTypeError, match=r"^\[norm\] expected the order to be a number, got list"):
        x.norm([2])
    with pytest.raises(GpugradIndexError, match=r"^\[norm\] dim 2 is out of range"):
        x.norm(dim=2)
    with pytest.raises(ShapeError, match=r"^\[norm\] cannot take the inf norm of an empty tensor"):
        make(np.zeros((0, 3)), device).norm(INF)
    with pytest.raises(ArgumentTypeError, match=r"^\[norm\] expected a Tensor, got list"):
        gpugrad.norm([1.0, 2.0])


# -- equal, isclose, allclose -------------------------------------------------------------


def test_compare_by_hand(device):
    a = make([1.0, 2.0, math.nan, math.inf], device)
    assert gpugrad.equal(a[:2], make([1.0, 2.0], device)) is True
    assert gpugrad.equal(a, a) is False  # NaN is not equal to NaN
    assert gpugrad.equal(a[:2], make([[1.0, 2.0]], device)) is False  # shapes differ
    assert gpugrad.equal(make([1, 2], device), make([1.0, 2.0], device)) is True  # values, any dtypes
    assert a[:2].equal(make([1.0, 2.0], device))
    close_ = gpugrad.isclose(a, make([1.0 + 1e-6, 2.1, math.nan, math.inf], device))
    assert close_.dtype == gpugrad.bool and close_.tolist() == [True, False, False, True]
    assert gpugrad.isclose(a, a, equal_nan=True).tolist() == [True] * 4
    assert gpugrad.allclose(a[:2], make([1.0, 2.0 + 1e-6], device)) is True
    assert gpugrad.allclose(a[:2], make([1.0, 2.1], device), atol=0.2) is True
    assert a[:2].allclose(make([1.0, 2.1], device)) is False
    assert gpugrad.allclose(make([1.0, 2.0], device), make([[1.0], [1.0]], device)) is False  # broadcast
    assert gpugrad.isclose(make([True, False], device), make([True, True], device)).tolist() == [True, False]


def test_compare_matches_torch(device):
    torch = _torch()
    a = np.array([0.0, 1.0, -1e-9, 1e8, math.inf, -math.inf, math.nan, 1.0], np.float32)
    b = np.array([1e-9, 1.00001, 0.0, 1e8 + 1e3, math.inf, math.inf, math.nan, 1.1], np.float32)
    ga, gb, ta, tb = make(a, device), make(b, device), torch.tensor(a), torch.tensor(b)
    for kw in ({}, {"rtol": 0.0, "atol": 1e-8}, {"rtol": 0.2}, {"equal_nan": True}):
        assert gpugrad.isclose(ga, gb, **kw).tolist() == torch.isclose(ta, tb, **kw).tolist()
        assert gpugrad.allclose(ga[:2], gb[:2], **kw) == torch.allclose(ta[:2], tb[:2], **kw)
    assert gpugrad.equal(ga, ga) == torch.equal(ta, ta)
    assert gpugrad.equal(ga[:6], gb[:6]) == torch.equal(ta[:6], tb[:6])


def test_compare_errors(device):
    x = make([1.0, 2.0], device)
    with pytest.raises(ArgumentTypeError, match=r"^\[equal\] expected a Tensor as other, got list"):
        gpugrad.equal(x, [1.0, 2.0])
    with pytest.raises(ArgumentTypeError, match=r"^\[equal\] expected a Tensor, got list"):
        gpugrad.equal([1.0, 2.0], x)
    with pytest.raises(DTypeError, match=r"^\[isclose\] expected tensors of one dtype, got float64 and int64"):
        gpugrad.isclose(x, make([1, 2], device))
    with pytest.raises(ArgumentError, match=r"^\[isclose\] rtol must be greater than or equal to zero, got -1"):
        gpugrad.isclose(x, x, rtol=-1)
    with pytest.raises(ShapeError, match=r"^\[allclose\] expected broadcastable shapes, got \(2,\) and \(3,\)"):
        gpugrad.allclose(x, make([1.0, 2.0, 3.0], device))
    with pytest.raises(DTypeError, match=r"^\[allclose\] expected tensors of one dtype"):
        gpugrad.allclose(x, x.float())
    with pytest.raises(ArgumentTypeError, match=r"^\[allclose\] expected a Tensor as other, got float"):
        gpugrad.allclose(x, 1.0)


def test_compare_refuses_two_devices(device):
    if device == "cpu":
        pytest.skip("needs a second device: runs as the cuda case")
    with pytest.raises(gpugrad.errors.DeviceError, match=r"^\[equal\] expected both tensors on one device"):
        gpugrad.equal(make([1.0], device), make([1.0], "cpu"))


# -- sort, argsort, topk, flip ----------------------------------------------------------------


def test_sort_and_topk_by_hand(device):
    x = make([[3.0, 1.0, 3.0, math.nan], [0.0, -2.0, 5.0, 5.0]], device, requires_grad=True)
    values, indices = x.sort(dim=1)
    assert indices.tolist() == [[1, 0, 2, 3], [1, 0, 2, 3]]  # stable; NaN last
    r = gpugrad.sort(x, descending=True)
    assert r.indices.tolist() == [[3, 0, 2, 1], [2, 3, 0, 1]]  # NaN first, ties in index order
    assert r.indices.dtype == gpugrad.int64 and type(r).__name__ == "SortResult"
    assert gpugrad.argsort(x[1]).tolist() == [1, 0, 2, 3]
    top = x[1].topk(2)
    assert top.values.tolist() == [5.0, 5.0] and top.indices.tolist() == [2, 3]
    low = gpugrad.topk(x[1], 3, largest=False)
    assert low.indices.tolist() == [1, 0, 2]
    (top.values * make([1.0, 10.0], device)).sum().backward()
    close(x.grad, [[0, 0, 0, 0], [0, 0, 1, 10]])
    ints = make([3, 1, 2], device)
    assert ints.sort(descending=True).values.tolist() == [3, 2, 1]
    assert make([True, False, True], device).argsort(descending=True).tolist() == [0, 2, 1]
    assert make(np.array(2.5), device).topk(1).values.item() == 2.5


def test_topk_and_sort_gradcheck(device):
    x = make(_rand(3, 5, seed=5), device, requires_grad=True)
    assert gradcheck(lambda t: t.topk(2, dim=0).values, [x])
    assert gradgradcheck(lambda t: gpugrad.sort(t, descending=True).values * t.sort().values, [x])


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_sort_topk_match_torch(device, dtype):
    torch = _torch()
    a = np.random.default_rng(6).integers(-3, 4, size=(4, 6))  # many ties
    a = a > 0 if dtype == "bool" else a.astype(dtype)
    if dtype == "float32":
        a[1, 2] = math.nan
    x, t = make(a, device), torch.tensor(a)
    for dim in (0, 1, -1):
        for descending in (False, True):
            r, tr = x.sort(dim, descending), t.sort(stable=True, dim=dim, descending=descending)
            np.testing.assert_array_equal(r.values.numpy(), tr.values.numpy())
            assert r.indices.tolist() == tr.indices.tolist()
            expected = torch.argsort(t, dim=dim, descending=descending, stable=True)
            assert x.argsort(dim, descending).tolist() == expected.tolist()
    if dtype != "bool":
        b = np.random.default_rng(7).permutation(24).reshape(4, 6)
        b = (_rand(4, 6, seed=7) if dtype == "float32" else b).astype(dtype)
        x, t = make(b, device), torch.tensor(b)
        for k, dim, largest in ((2, 1, True), (3, 0, False), (6, -1, True), (0, 1, True)):
            r, tr = x.topk(k, dim, largest), t.topk(k, dim, largest)
            np.testing.assert_array_equal(r.values.numpy(), tr.values.numpy())
            assert r.indices.tolist() == tr.indices.tolist()


def test_topk_gradient_matches_torch(device):
    torch = _torch()
    a = _rand(3, 5, seed=8)
    x, t = make(a, device, requires_grad=True), torch.tensor(a, requires_grad=True)
    w = _rand(3, 2, seed=9)
    (x.topk(2).values * make(w, device)).sum().backward()
    (t.topk(2).values * torch.tensor(w)).sum().backward()
    close(x.grad, t.grad.numpy())


def test_flip(device):
    a = np.arange(24.0).reshape(2, 3, 4)
    x = make(a, device, requires_grad=True)
    close(x.flip(0), a[::-1])
    close(gpugrad.flip(x, (0, 2)), a[::-1, :, ::-1])
    close(x.flip(-1, 1), a[:, ::-1, ::-1])
    assert x.flip(2).is_contiguous()
    same = x.flip(())
    with gpugrad.no_grad():
        same[0, 0, 0] = -1.0  # a copy even when nothing is flipped
    assert x[0, 0, 0].item() == 0.0
    (x.flip(1) * make(np.arange(24.0).reshape(2, 3, 4), device)).sum().backward()
    close(x.grad, np.arange(24.0).reshape(2, 3, 4)[:, ::-1])
    assert gradgradcheck(lambda t: t.flip(0) * t, [make(_rand(2, 3), device, requires_grad=True)])


def test_flip_matches_torch(device):
    torch = _torch()
    a = np.arange(24).reshape(2, 3, 4)
    for dims in ((0,), (1, 2), (-1, 0), ()):
        assert make(a, device).flip(dims).tolist() == torch.tensor(a).flip(dims).tolist()


def test_sort_topk_flip_errors(device):
    x = make(_rand(3, 4), device)
    with pytest.raises(ArgumentError, match=r"^\[topk\] k must be in 0..4 \(the size of dim -1\), got 5"):
        x.topk(5)
    with pytest.raises(ArgumentTypeError, match=r"^\[topk\] k must be an int, got float"):
        x.topk(2.0)
    with pytest.raises(GpugradIndexError, match=r"^\[sort\] dim 2 is out of range"):
        x.sort(2)
    with pytest.raises(ArgumentTypeError, match=r"^\[sort\] expected a Tensor, got list"):
        gpugrad.sort([3, 1])
    with pytest.raises(ArgumentError, match=r"^\[flip\] dims \(0, -2\) repeat a dim"):
        x.flip((0, -2))
    with pytest.raises(GpugradIndexError, match=r"^\[flip\] dim 3 is out of range"):
        x.flip(3)


@settings(max_examples=40)
@given(
    st.lists(st.integers(-3, 3), min_size=1, max_size=12),
    st.booleans(),
    st.integers(0, 12),
)
def test_sort_topk_property(values, descending, k):
    # stable: equal values keep their index order; topk is the head of the sorted order
    a = np.array(values, dtype=np.float64)
    r = gpugrad.sort(make(a, "cpu"), descending=descending)
    order = sorted(range(len(a)), key=lambda i: (-a[i] if descending else a[i], i))
    assert r.indices.tolist() == order and r.values.tolist() == [a[i] for i in order]
    k = min(k, len(a))
    top = gpugrad.topk(make(a, "cpu"), k, largest=descending)
    assert top.indices.tolist() == order[:k]


# -- Tensor.nelement, is_contiguous ---------------------------------------------------------------


def test_nelement_and_is_contiguous(device):
    x = make(np.zeros((2, 3, 4)), device)
    assert x.nelement() == x.numel() == 24
    assert x.is_contiguous() and not x.permute(2, 0, 1).is_contiguous()
    assert x.permute(2, 0, 1).contiguous().is_contiguous()
    assert not x.transpose(0, 1).is_contiguous() and x[:, :, :2].is_contiguous() is False
    torch = pytest.importorskip("torch")
    t = torch.zeros(2, 3, 4)
    assert [t.is_contiguous(), t.permute(2, 0, 1).is_contiguous(), t[:, :, :2].is_contiguous()] == [
        x.is_contiguous(), x.permute(2, 0, 1).is_contiguous(), x[:, :, :2].is_contiguous()
    ]  # fmt: skip


# -- nn.Flatten, nn.Unflatten ------------------------------------------------------------------


def test_flatten_unflatten(device):
    x = make(_rand(2, 3, 4, 5), device, requires_grad=True)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Flatten(-3, -2)(x).shape == (2, 12, 5)
    y = nn.Unflatten(1, (3, 20))(nn.Flatten()(x))
    assert y.shape == (2, 3, 20)
    assert nn.Unflatten(-1, (5, -1))(x).shape == (2, 3, 4, 5, 1)
    y.sum().backward()
    close(x.grad, np.ones((2, 3, 4, 5)))
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Unflatten(1, (2, 2))) == "Unflatten(dim=1, unflattened_size=(2, 2))"
    torch = pytest.importorskip("torch")
    assert tuple(torch.nn.Unflatten(-1, (5, -1))(torch.zeros(2, 3, 4, 5)).shape) == (2, 3, 4, 5, 1)
    assert tuple(torch.nn.Flatten(-3, -2)(torch.zeros(2, 3, 4, 5)).shape) == (2, 12, 5)
    assert repr(torch.nn.Flatten()) == repr(nn.Flatten())
    assert repr(torch.nn.Unflatten(1, (2, 2))) == repr(nn.Unflatten(1, (2, 2)))


def test_flatten_unflatten_errors(device):
    x = make(np.zeros((2, 6)), device)
    with pytest.raises(ShapeError, match=r"^\[Unflatten\] cannot split dim 1 of size 6 into \(4, 2\)"):
        nn.Unflatten(1, (4, 2))(x)
    with pytest.raises(ShapeError, match=r"^\[Unflatten\] cannot split dim 1 of size 6 into \(4, -1\)"):
        nn.Unflatten(1, (4, -1))(x)
    with pytest.raises(GpugradIndexError, match=r"^\[Unflatten\] dim 2 is out of range"):
        nn.Unflatten(2, (1, 1))(x)
    with pytest.raises(ArgumentTypeError, match=r"^\[Unflatten\] unflattened_size must be a tuple of ints"):
        nn.Unflatten(1, 6)
    with pytest.raises(ArgumentTypeError, match=r"^\[Flatten\] start_dim must be an int, got float"):
        nn.Flatten(1.0)
    with pytest.raises(ArgumentError, match=r"^\[flatten\] start_dim 1 comes after end_dim 0"):
        nn.Flatten(1, 0)(x)


# -- nn.BatchNorm1d, nn.LayerNorm ----------------------------------------------------------------


def test_batchnorm1d_by_hand(device):
    bn = nn.BatchNorm1d(2, device=device)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    x = make([[1.0, 10.0], [3.0, 10.0], [5.0, 16.0]], device, dtype=gpugrad.float32)
    y = bn(x)
    s = math.sqrt(8 / 3 + 1e-5)
    close(y[:, 0], [-2 / s, 0.0, 2 / s], rtol=1e-5)
    close(bn.running_mean, [0.3, 1.2], rtol=1e-6)  # 0.9 * 0 + 0.1 * [3, 12]
    close(bn.running_var, [0.9 + 0.1 * 4.0, 0.9 + 0.1 * 12.0], rtol=1e-6)  # unbiased batch variance
    assert bn.num_batches_tracked.item() == 1 and bn.num_batches_tracked.dtype == gpugrad.int64
    bn.eval()
    close(bn(x)[0], (np.array([1.0, 10.0]) - [0.3, 1.2]) / np.sqrt(np.array([1.3, 2.1]) + 1e-5), rtol=1e-5)
    assert bn.num_batches_tracked.item() == 1  # eval does not count
    plain = nn.BatchNorm1d(2, affine=False, track_running_stats=False, device=device)
    assert list(plain.state_dict()) == [] and plain.running_mean is None and plain.weight is None
    plain.eval()  # without running statistics eval mode uses the batch's
    close(plain(x)[:, 0], [-2 / s, 0.0, 2 / s], rtol=1e-5)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batchnorm1d_gradcheck(device, shape):
    bn = nn.BatchNorm1d(3, device=device, dtype=gpugrad.float64)
    x = make(_rand(*shape, seed=10), device, requires_grad=True)
    w = make(_rand(3, seed=11), device, requires_grad=True)
    b = make(_rand(3, seed=12), device, requires_grad=True)
    from gpugrad.nn.normalization import batch_norm

    assert gradcheck(lambda x, w, b: batch_norm(x, None, None, w, b, True), [x, w, b])
    assert gradgradcheck(lambda x: bn(x) * x, [x])


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"momentum": 0.3, "eps": 1e-3}, {"momentum": None}, {"affine": False}, {"track_running_stats": False}],
)
@pytest.mark.parametrize("shape", [(8, 4), (5, 4, 3)])
def test_batchnorm1d_matches_torch(device, kwargs, shape):
    torch = _torch()
    bn = nn.BatchNorm1d(4, device=device, dtype=gpugrad.float64, **kwargs)
    tbn = torch.nn.BatchNorm1d(4, dtype=torch.float64, **kwargs)
    if bn.affine:
        w, b = _rand(4, seed=13), _rand(4, seed=14)
        with gpugrad.no_grad():
            bn.weight.copy_(make(w, device))
            bn.bias.copy_(make(b, device))
        with torch.no_grad():
            tbn.weight.copy_(torch.tensor(w))
            tbn.bias.copy_(torch.tensor(b))
    for step in range(3):  # three training batches, then eval
        a = _rand(*shape, seed=20 + step) * 2 + step
        x, t = make(a, device, requires_grad=True), torch.tensor(a, requires_grad=True)
        g = _rand(*shape, seed=30 + step)
        out, tout = bn(x), tbn(t)
        close(out, tout.detach().numpy(), rtol=1e-10, atol=1e-10)
        out.backward(make(g, device))
        tout.backward(torch.tensor(g))
        close(x.grad, t.grad.numpy(), rtol=1e-8, atol=1e-10)
    if bn.affine:
        close(bn.weight.grad, tbn.weight.grad.numpy(), rtol=1e-8, atol=1e-10)
        close(bn.bias.grad, tbn.bias.grad.numpy(), rtol=1e-8, atol=1e-10)
    state, tstate = bn.state_dict(), tbn.state_dict()
    assert list(state) == list(tstate)
    for k in state:
        close(state[k], tstate[k].numpy(), rtol=1e-12)
    bn.eval(), tbn.eval()
    a = _rand(*shape, seed=40)
    close(bn(make(a, device)), tbn(torch.tensor(a)).detach().numpy(), rtol=1e-10, atol=1e-10)


def test_batchnorm1d_state_dict_round_trip(device):
    bn = nn.BatchNorm1d(3, device=device)
    bn(make(_rand(4, 3), device, dtype=gpugrad.float32))
    other = nn.BatchNorm1d(3, device=device)
    other.load_state_dict(bn.state_dict())
    for k, v in bn.state_dict().items():
        close(other.state_dict()[k], v.numpy())
    assert other.num_batches_tracked.item() == 1
    bn.reset_running_stats()
    close(bn.running_var, np.ones(3))
    assert bn.num_batches_tracked.item() == 0


def test_layernorm(device):
    ln = nn.LayerNorm(3, device=device)
    assert list(ln.state_dict()) == ["weight", "bias"]
    x = make([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]], device, dtype=gpugrad.float32, requires_grad=True)
    s = math.sqrt(2 / 3 + 1e-5)
    close(ln(x)[0], [-1 / s, 0.0, 1 / s], rtol=1e-5)
    ln(x).pow(2).sum().backward()
    assert x.grad.shape == (2, 3) and ln.weight.grad is not None
    x64 = make(_rand(2, 3, 4, seed=50), device, requires_grad=True)
    ln2 = nn.LayerNorm((3, 4), device=device, dtype=gpugrad.float64)
    assert gradcheck(lambda t: ln2(t), [x64])
    assert gradgradcheck(lambda t: ln2(t) * t, [x64])
    assert nn.LayerNorm(4, elementwise_affine=False).weight is None
    assert list(nn.LayerNorm(4, bias=False).state_dict()) == ["weight"]


@pytest.mark.parametrize("kwargs", [{}, {"eps": 1e-2}, {"elementwise_affine": False}, {"bias": False}])
@pytest.mark.parametrize("normalized", [5, (4, 5)])
def test_layernorm_matches_torch(device, kwargs, normalized):
    torch = _torch()
    ln = nn.LayerNorm(normalized, device=device, dtype=gpugrad.float64, **kwargs)
    tln = torch.nn.LayerNorm(normalized, dtype=torch.float64, **kwargs)
    with gpugrad.no_grad(), torch.no_grad():
        for i, (p, tp) in enumerate(zip(ln.parameters(), tln.parameters())):
            v = _rand(*p.shape, seed=80 + i)
            p.copy_(make(v, device))
            tp.copy_(torch.tensor(v))
    a, g = _rand(3, 4, 5, seed=60), _rand(3, 4, 5, seed=61)
    x, t = make(a, device, requires_grad=True), torch.tensor(a, requires_grad=True)
    out, tout = ln(x), tln(t)
    close(out, tout.detach().numpy(), rtol=1e-10, atol=1e-10)
    out.backward(make(g, device))
    tout.backward(torch.tensor(g))
    close(x.grad, t.grad.numpy(), rtol=1e-8, atol=1e-10)
    for p, tp in zip(ln.parameters(), tln.parameters()):
        close(p.grad, tp.grad.numpy(), rtol=1e-8, atol=1e-10)
    assert list(ln.state_dict()) == list(tln.state_dict())


def test_norm_layer_errors(device):
    bn = nn.BatchNorm1d(3, device=device)
    with pytest.raises(ShapeError, match=r"^\[BatchNorm1d\] expected 2D or 3D input .*got shape \(2, 3, 4, 5\)"):
        bn(make(np.zeros((2, 3, 4, 5), np.float32), device))
    with pytest.raises(ShapeError, match=r"^\[BatchNorm1d\] expected 3 channels in dim 1, got input of shape \(2, 4\)"):
        bn(make(np.zeros((2, 4), np.float32), device))
    with pytest.raises(ArgumentError, match=r"^\[batch_norm\] expected more than 1 value per channel when training"):
        bn(make(np.zeros((1, 3), np.float32), device))
    with pytest.raises(ArgumentError, match=r"^\[BatchNorm1d\] num_features must be a positive int, got 0"):
        nn.BatchNorm1d(0)
    ln = nn.LayerNorm((3, 4), device=device)
    with pytest.raises(ShapeError, match=r"^\[layer_norm\] expected input with shape \[\*, 3, 4\], got \(2, 4, 3\)"):
        ln(make(np.zeros((2, 4, 3), np.float32), device))
    with pytest.raises(ArgumentTypeError, match=r"^\[LayerNorm\] normalized_shape must be an int or a tuple"):
        nn.LayerNorm(3.0)


# -- ReduceLROnPlateau ------------------------------------------------------------------------------


def _optimizer(lib, lrs=(1.0, 0.1)):
    groups = [{"params": [lib.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
    return lib.optim.SGD(groups, lr=lrs[0])


def test_plateau_by_hand():
    opt = _optimizer(gpugrad)
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=1, min_lr=[0.3, 0.0])
    lrs = []
    for metric in [1.0, 0.9, 0.95, 0.97, 0.96, 0.8, 0.85, 0.86, 0.87, 0.9]:
        sched.step(metric)
        lrs.append([g["lr"] for g in opt.param_groups])
    # two bad epochs after the best (0.9) halve the rates; the first group stops at min_lr
    assert lrs == [[1.0, 0.1]] * 3 + [[0.5, 0.05]] * 3 + [[0.5, 0.05], [0.3, 0.025], [0.3, 0.025], [0.3, 0.0125]]
    assert sched.get_last_lr() == [0.3, 0.0125] and sched.best == 0.8 and sched.last_epoch == 10
    sched.step(gpugrad.tensor(0.1))  # a one-element tensor counts as its value
    assert sched.best == pytest.approx(0.1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"mode": "max", "factor": 0.5, "patience": 2},
        {"threshold": 0.05, "threshold_mode": "abs", "patience": 0, "cooldown": 2},
        {"threshold": 0.1, "patience": 1, "min_lr": 0.01, "factor": 0.2},
        {"patience": 0, "eps": 0.3, "factor": 0.5},
        {"mode": "max", "threshold_mode": "abs", "threshold": 0.2, "patience": 1, "cooldown": 1, "min_lr": [0.0, 0.05]},
    ],
)
def test_plateau_matches_torch(kwargs):
    torch = _torch()
    metrics = np.round(np.random.default_rng(70).uniform(0, 1, size=40).cumsum() % 1.7, 3).tolist()
    ours, theirs = _optimizer(gpugrad), _optimizer(torch)
    s, ts = ReduceLROnPlateau(ours, **kwargs), torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **kwargs)
    for i, m in enumerate(metrics):
        s.step(m)
        ts.step(m)
        assert [g["lr"] for g in ours.param_groups] == pytest.approx([g["lr"] for g in theirs.param_groups], rel=1e-15)
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-15)
        assert (s.num_bad_epochs, s.cooldown_counter, s.best, s.last_epoch) == (
            ts.num_bad_epochs, ts.cooldown_counter, ts.best, ts.last_epoch
        ), i  # fmt: skip


def test_plateau_state_dict_round_trip():
    metrics = [1.0, 0.9, 0.95, 0.97, 0.96, 0.8, 0.85, 0.86, 0.87, 0.9, 0.91, 0.7]
    opt = _optimizer(gpugrad)
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1)
    for m in metrics[:5]:
        sched.step(m)
    state = sched.state_dict()
    assert "optimizer" not in state and state["best"] == 0.9 and state["num_bad_epochs"] == 0
    opt2 = _optimizer(gpugrad)
    opt2.load_state_dict(opt.state_dict())
    resumed = ReduceLROnPlateau(opt2)
    resumed.load_state_dict(state)
    for m in metrics[5:]:
        sched.step(m)
        resumed.step(m)
        assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]
    assert resumed.state_dict() == sched.state_dict() and resumed.factor == 0.5


def test_plateau_errors():
    opt = _optimizer(gpugrad)
    with pytest.raises(ArgumentError, match=r"^\[ReduceLROnPlateau\] factor must be < 1.0, got 1.5"):
        ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ArgumentError, match=r"^\[ReduceLROnPlateau\] mode must be 'min' or 'max', got 'low'"):
        ReduceLROnPlateau(opt, mode="low")
    with pytest.raises(ArgumentError, match=r"^\[ReduceLROnPlateau\] threshold_mode must be 'rel' or 'abs'"):
        ReduceLROnPlateau(opt, threshold_mode="relative")
    with pytest.raises(ArgumentError, match=r"^\[ReduceLROnPlateau\] expected 2 min_lrs \(one per param group\), got 3"):
        ReduceLROnPlateau(opt, min_lr=[0, 0, 0])
    with pytest.raises(ArgumentError, match=r"^\[ReduceLROnPlateau\] patience must be an int >= 0, got -1"):
        ReduceLROnPlateau(opt, patience=-1)
    with pytest.raises(ArgumentError, match=r"^\[ReduceLROnPlateau\] step expected a number or a one-element tensor"):
        ReduceLROnPlateau(opt).step("loss")


# -- diag, nonzero ----------------------------------------------------------------------------


def test_diag_by_hand(device):
    m = make([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device, dtype=gpugrad.float32)
    close(m.diag(), [1.0, 5.0])
    close(gpugrad.diag(m, 1), [2.0, 6.0])
    close(gpugrad.diag(m, diagonal=-1), [4.0])
    assert gpugrad.diag(m, 3).shape == (0,) and gpugrad.diag(m, -2).shape == (0,)
    v = make([1, 2], device)
    out = gpugrad.diag(v, 1)
    assert out.dtype == gpugrad.int64 and out.numpy().tolist() == [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
    assert v.diag(-1).numpy().tolist() == [[0, 0, 0], [1, 0, 0], [0, 2, 0]]
    assert v.diag().numpy().tolist() == [[1, 0], [0, 2]]
    assert gpugrad.diag(make(np.zeros(0), device)).shape == (0, 0)
    # the result is a copy, not a view of the input
    d = m.diag()
    d += 10
    close(m, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


@pytest.mark.parametrize("offset", [0, 1, -2])
def test_diag_gradients(device, offset):
    v = make(_rand(3, seed=2), device, requires_grad=True)
    assert gradcheck(lambda t: gpugrad.diag(t, offset), [v])
    assert gradgradcheck(lambda t: gpugrad.diag(t, offset) * gpugrad.diag(t, offset), [v])
    m = make(_rand(3, 4, seed=3), device, requires_grad=True)
    assert gradcheck(lambda t: t.diag(offset), [m])
    assert gradgradcheck(lambda t: t.diag(offset) ** 2, [m])
    gpugrad.diag(m, offset).sum().backward()
    expected = np.zeros((3, 4))
    for i in range(3):
        if 0 <= i + offset < 4:
            expected[i, i + offset] = 1.0
    close(m.grad, expected)


@pytest.mark.parametrize("shape", [(4,), (3, 5), (5, 3)])
@pytest.mark.parametrize("offset", [0, 2, -1, 6])
def test_diag_matches_torch(device, shape, offset):
    torch = _torch()
    a = _rand(*shape, seed=4)
    x = make(a, device, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    y, ty = gpugrad.diag(x, offset), torch.diag(tx, offset)
    assert y.shape == tuple(ty.shape)
    close(y, ty.detach().numpy(), rtol=0, atol=0)
    g = _rand(*y.shape, seed=5)
    y.backward(make(g, device))
    ty.backward(torch.tensor(g))
    close(x.grad, tx.grad.numpy(), rtol=0, atol=0)


def test_nonzero_by_hand(device):
    x = make([[0.0, 1.5, 0.0], [-2.0, 0.0, 3.0]], device)
    idx = x.nonzero()
    assert idx.dtype == gpugrad.int64 and idx.numpy().tolist() == [[0, 1], [1, 0], [1, 2]]
    rows, cols = gpugrad.nonzero(x, as_tuple=True)
    assert rows.numpy().tolist() == [0, 1, 1] and cols.numpy().tolist() == [1, 0, 2]
    assert (make([3, 0, 0, 7], device) == 7).nonzero().view(-1).numpy().tolist() == [3]
    assert make(np.zeros((2, 3)), device).nonzero().shape == (0, 2)
    assert make(np.array([True, False, True]), device).nonzero().numpy().tolist() == [[0], [2]]
    assert gpugrad.nonzero(make(np.float64(5.0), device)).shape == (1, 0)
    assert gpugrad.nonzero(make(np.float64(0.0), device)).shape == (0, 0)
    (t,) = make(np.float64(5.0), device).nonzero(as_tuple=True)
    assert t.numpy().tolist() == [0]
    y = make([1.0, 0.0], device, requires_grad=True).nonzero()
    assert not y.requires_grad


@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 3, 2), ()])
def test_nonzero_matches_torch(device, shape):
    torch = _torch()
    a = np.random.default_rng(6).integers(0, 2, size=shape).astype(np.float32)
    x, tx = make(a, device), torch.tensor(a)
    assert np.array_equal(x.nonzero().numpy(), tx.nonzero().numpy()) and x.nonzero().shape == tuple(tx.nonzero().shape)
    for ours, theirs in zip(x.nonzero(as_tuple=True), tx.nonzero(as_tuple=True), strict=True):
        assert ours.dtype == gpugrad.int64 and np.array_equal(ours.numpy(), theirs.numpy())


def test_diag_nonzero_errors(device):
    with pytest.raises(ShapeError, match=r"^\[diag\] expected a 1-D or 2-D tensor, got 0-D"):
        gpugrad.diag(make(np.float32(1.0), device))
    with pytest.raises(ShapeError, match=r"^\[diag\] expected a 1-D or 2-D tensor, got 3-D \(shape \(2, 2, 2\)\)"):
        gpugrad.diag(make(np.zeros((2, 2, 2)), device))
    with pytest.raises(ArgumentTypeError, match=r"^\[diag\] diagonal must be an int, got float"):
        gpugrad.diag(make(np.zeros(2), device), 1.0)
    with pytest.raises(ArgumentTypeError, match=r"^\[diag\] expected a Tensor, got list"):
        gpugrad.diag([1.0, 2.0])
    with pytest.raises(ArgumentTypeError, match=r"^\[nonzero\] expected a Tensor, got list"):
        gpugrad.nonzero([1.0, 2.0])
    with pytest.raises(ArgumentError, match=r"^\[nonzero\] out= is not supported"):
        gpugrad.nonzero(make(np.zeros(2), device), out=make(np.zeros(2), device))


# -- log10, log2 ------------------------------------------------------------------------------


def test_log10_log2_by_hand(device):
    x = make([1.0, 8.0, 100.0, 0.5], device, dtype=gpugrad.float64)
    close(x.log10(), [0.0, math.log10(8.0), 2.0, math.log10(0.5)], rtol=1e-15)
    close(gpugrad.log2(x), [0.0, 3.0, math.log2(100.0), -1.0], rtol=1e-15)
    i = make([0, 1, 1024], device)
    for fn, expected in ((gpugrad.log10, [-INF, 0.0, math.log10(1024)]), (gpugrad.log2, [-INF, 0.0, 10.0])):
        y = fn(i)  # ints give float32, as PyTorch's
        assert y.dtype == gpugrad.float32
        close(y, expected, rtol=1e-6)
    assert gpugrad.log2(make(np.array([True]), device)).dtype == gpugrad.float32
    assert np.isnan(gpugrad.log10(make([-1.0], device)).numpy()[0])
    assert gpugrad.log10(make([1.0], device, dtype=gpugrad.float16)).dtype == gpugrad.float16


def test_log10_log2_no_warning_at_zero(device):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gpugrad.log10(make([0.0], device)).numpy()[0] == -INF
        assert gpugrad.log2(make([0.0, -1.0], device)).numpy()[0] == -INF


@pytest.mark.parametrize("name", ["log10", "log2"])
def test_log10_log2_gradients(device, name):
    x = make(np.abs(_rand(3, 4, seed=7)) + 0.1, device, requires_grad=True)
    fn = getattr(gpugrad, name)
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])
    fn(x).sum().backward()
    base = 10.0 if name == "log10" else 2.0
    close(x.grad, 1.0 / (x.numpy() * math.log(base)), rtol=1e-12)


@pytest.mark.parametrize("name", ["log10", "log2"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_log10_log2_match_torch(device, name, dtype):
    torch = _torch()
    a = np.array([0, 1, 2, 3, 10, 1000]).astype(dtype)
    y, ty = getattr(make(a, device), name)(), getattr(torch.tensor(a), name)()
    assert str(y.dtype) == str(ty.dtype).replace("torch.", "")
    close(y, ty.numpy(), rtol=3e-7)
    if dtype != "int64":
        x = make(a[1:], device, requires_grad=True)
        tx = torch.tensor(a[1:], requires_grad=True)
        getattr(x, name)().sum().backward()
        getattr(tx, name)().sum().backward()
        close(x.grad, tx.grad.numpy(), rtol=1e-6)


def test_log10_log2_errors(device):
    with pytest.raises(ArgumentTypeError, match=r"^\[Log10\] expected Tensor inputs, got \(list\)"):
        gpugrad.log10([1.0])
    with pytest.raises(ArgumentTypeError, match=r"^\[Log2\] expected Tensor inputs, got \(float\)"):
        gpugrad.log2(2.0)


# -- binary_cross_entropy, BCELoss ------------------------------------------------------------


def _bce_by_hand(p, y, w=1.0):
    return -w * (y * np.maximum(np.log(p), -100.0) + (1 - y) * np.maximum(np.log1p(-p), -100.0))


def test_binary_cross_entropy_by_hand(device):
    NF = nn.functional
    p = np.array([[0.2, 0.9, 0.5], [0.0, 1.0, 0.7]])
    y = np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 1.0]])
    w = np.array([1.0, 2.0, 0.5])
    x, t = make(p, device, requires_grad=True), make(y, device)
    with np.errstate(divide="ignore"):
        ref = _bce_by_hand(p, y)
    close(NF.binary_cross_entropy(x, t, reduction="none"), ref, rtol=1e-12)
    assert NF.binary_cross_entropy(x, t, reduction="none")[1, 0].item() == 100.0  # the log clamped at -100
    close(NF.binary_cross_entropy(x, t), ref.mean(), rtol=1e-12)
    close(NF.binary_cross_entropy(x, t, reduction="sum"), ref.sum(), rtol=1e-12)
    close(NF.binary_cross_entropy(x, t, make(w, device)), (ref * w).mean(), rtol=1e-12)
    close(nn.BCELoss(weight=make(w, device), reduction="sum")(x, t), (ref * w).sum(), rtol=1e-12)
    # the gradient: (p - y) / max(p (1 - p), eps), finite at p = 0 and 1; PyTorch's eps is
    # 1e-12 rounded to float32
    eps = float(np.float32(1e-12))
    nn.BCELoss(reduction="sum")(x, t).backward()
    close(x.grad, (p - y) / np.maximum(p * (1 - p), eps), rtol=1e-12)
    assert x.grad[1, 0].item() == -1 / eps and x.grad[1, 1].item() == 1 / eps


def test_binary_cross_entropy_gradcheck(device):
    NF = nn.functional
    p = make(np.random.default_rng(8).uniform(0.05, 0.95, (3, 4)), device, requires_grad=True)
    y = make(np.random.default_rng(9).uniform(0.0, 1.0, (3, 4)), device, requires_grad=True)
    w = make(np.random.default_rng(10).uniform(0.5, 2.0, (4,)), device)
    assert gradcheck(lambda a, b: NF.binary_cross_entropy(a, b, w), [p, y])
    assert gradgradcheck(lambda a, b: NF.binary_cross_entropy(a, b, reduction="sum"), [p, y])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy_matches_torch(device, reduction, weighted, dtype):
    torch = _torch()
    rng = np.random.default_rng(11)
    p = rng.uniform(0.0, 1.0, (4, 5)).astype(dtype)
    p[0, :4] = [0.0, 1.0, 0.0, 1.0]  # the clamped logs and the clamped gradient
    y = rng.uniform(0.0, 1.0, (4, 5)).astype(dtype)
    y[0, :4] = [0.0, 1.0, 1.0, 0.0]
    w = rng.uniform(0.5, 2.0, (5,)).astype(dtype)
    x, t = make(p, device, requires_grad=True), make(y, device, requires_grad=True)
    tx, tt = torch.tensor(p, requires_grad=True), torch.tensor(y, requires_grad=True)
    kw = {"reduction": reduction}
    out = nn.functional.binary_cross_entropy(x, t, make(w, device) if weighted else None, **kw)
    tout = torch.nn.functional.binary_cross_entropy(tx, tt, torch.tensor(w) if weighted else None, **kw)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    assert out.dtype == x.dtype and out.shape == tuple(tout.shape)
    close(out, tout.detach().numpy(), rtol=rtol)
    g = rng.uniform(0.5, 1.5, out.shape).astype(dtype)
    out.backward(make(g, device))
    tout.backward(torch.tensor(g))
    close(x.grad, tx.grad.numpy(), rtol=rtol)
    # the target's gradient is -logit(p): +-inf where p is 0 or 1, as PyTorch's
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=rtol)
    sig = nn.Sigmoid()
    module = nn.BCELoss(make(w, device) if weighted else None, reduction)
    close(module(sig(x), t), torch.nn.BCELoss(torch.tensor(w) if weighted else None, reduction=reduction)(
        torch.sigmoid(tx), tt).detach().numpy(), rtol=rtol)


def test_binary_cross_entropy_errors(device):
    NF = nn.functional  # out of [0, 1]: a RuntimeError (an ArgumentError here), as PyTorch's
    p, t = make([0.5, 0.5], device), make([1.0, 0.0], device)
    with pytest.raises(RuntimeError, match=r"^\[binary_cross_entropy\] all elements of input should be between "
                                                r"0 and 1; the one at \(flat\) position 1 is not"):
        settle(NF.binary_cross_entropy(make([0.5, 1.5], device), t))
    with pytest.raises(RuntimeError, match=r"^\[binary_cross_entropy\] all elements of input should be"):
        settle(NF.binary_cross_entropy(make([math.nan, 0.5], device), t))
    with pytest.raises(RuntimeError, match=r"^\[binary_cross_entropy\] all elements of target should be "
                                                r"between 0 and 1; the one at \(flat\) position 0 is not"):
        settle(nn.BCELoss()(p, make([-0.5, 0.0], device)))
    with pytest.raises(ShapeError, match=r"^\[binary_cross_entropy\] input and target shapes differ: \(2,\) vs \(1,\)"):
        NF.binary_cross_entropy(p, make([1.0], device))
    with pytest.raises(ShapeError, match=r"^\[binary_cross_entropy\] expected weight broadcastable to the input's "
                                         r"shape \(2,\), got \(3,\)"):
        NF.binary_cross_entropy(p, t, make([1.0, 2.0, 3.0], device))
    with pytest.raises(ShapeError, match=r"^\[binary_cross_entropy\] expected weight broadcastable"):
        NF.binary_cross_entropy(p, t, make([[1.0], [2.0]], device))  # would grow the result
    with pytest.raises(DTypeError, match=r"^\[binary_cross_entropy\] expected floating point input and target of "
                                         r"one dtype, got int64 and int64"):
        NF.binary_cross_entropy(make([1, 0], device), make([1, 0], device))
    with pytest.raises(DTypeError, match=r"^\[binary_cross_entropy\] expected floating point input and target of "
                                         r"one dtype, got float32 and float64"):
        NF.binary_cross_entropy(make([0.5], device, dtype=gpugrad.float32), make([1.0], device))
    with pytest.raises(DTypeError, match=r"^\[binary_cross_entropy\] expected tensors, got list and Tensor"):
        NF.binary_cross_entropy([0.5, 0.5], t)
    with pytest.raises(ArgumentError, match=r"^\[binary_cross_entropy\] reduction must be one of"):
        NF.binary_cross_entropy(p, t, reduction="avg")


# -- multinomial ------------------------------------------------------------------------------


def test_multinomial_by_hand(device):
    w = make([0.0, 2.0, 0.0, 1.0], device, dtype=gpugrad.float32)
    draws = gpugrad.multinomial(w, 50, replacement=True)
    assert draws.dtype == gpugrad.int64 and draws.shape == (50,)
    assert set(draws.numpy().tolist()) <= {1, 3}
    perm = w.multinomial(2)  # without replacement: both non-zero categories, once each
    assert sorted(perm.numpy().tolist()) == [1, 3]
    rows = make([[1.0, 0.0, 0.0], [0.0, 0.0, 5.0]], device, dtype=gpugrad.float64)
    assert gpugrad.multinomial(rows, 3, True).numpy().tolist() == [[0, 0, 0], [2, 2, 2]]
    assert gpugrad.multinomial(rows, 1).shape == (2, 1)
    many = gpugrad.multinomial(make(np.ones((20, 6)), device), 6)
    assert all(sorted(r) == list(range(6)) for r in many.numpy().tolist())  # no repeats
    assert gpugrad.multinomial(make(np.ones((0, 3)), device), 2).shape == (0, 2)
    assert gpugrad.multinomial(make([1.0, 1e-30], device, dtype=gpugrad.float16), 1).shape == (1,)


def test_multinomial_is_reproducible(device):
    w = make([[0.1, 0.2, 0.3, 0.4], [4.0, 3.0, 2.0, 1.0]], device, dtype=gpugrad.float32)
    for replacement in (True, False):
        gpugrad.manual_seed(123)
        a = gpugrad.multinomial(w, 4, replacement).numpy()
        gpugrad.manual_seed(123)
        b = w.multinomial(4, replacement).numpy()
        assert np.array_equal(a, b)
        g1, g2 = gpugrad.Generator(device).manual_seed(7), gpugrad.Generator(device).manual_seed(7)
        c = gpugrad.multinomial(w, 4, replacement, generator=g1).numpy()
        gpugrad.rand(5, device=device)  # the default stream moves; the generators' do not
        assert np.array_equal(c, gpugrad.multinomial(w, 4, replacement, generator=g2).numpy())
    g = gpugrad.Generator(device).manual_seed(1)
    runs = {tuple(gpugrad.multinomial(make(np.ones(8), device), 8, generator=g).numpy().tolist()) for _ in range(5)}
    assert len(runs) > 1  # the stream advances between calls


def test_multinomial_frequencies(device):
    """With a fixed seed the counts are fixed; the bounds are 5 standard deviations wide."""
    g = gpugrad.Generator(device).manual_seed(2024)
    w = np.array([1.0, 0.0, 3.0, 6.0])
    n = 20000
    draws = gpugrad.multinomial(make(w, device), n, True, generator=g).numpy()
    freq = np.bincount(draws, minlength=4) / n
    p = w / w.sum()
    assert freq[1] == 0 and np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n))
    # without replacement: the first draw in proportion to w, the second to the weights left
    w = np.array([1.0, 2.0, 3.0, 4.0])
    rows = 5000
    draws = gpugrad.multinomial(make(np.tile(w, (rows, 1)), device), 2, generator=g).numpy()
    assert np.all(draws[:, 0] != draws[:, 1])
    p1 = w / w.sum()
    p2 = np.array([sum(p1[i] * w[j] / (w.sum() - w[i]) for i in range(4) if i != j) for j in range(4)])
    for col, p in ((0, p1), (1, p2)):
        freq = np.bincount(draws[:, col], minlength=4) / rows
        assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / rows)), (col, freq, p)


def test_multinomial_matches_torch_in_shape_and_dtype(device):
    torch = _torch()
    for shape, k, replacement in (((5,), 3, False), ((2, 5), 7, True), ((3, 4), 4, False)):
        w = np.random.default_rng(12).uniform(0.1, 1.0, shape).astype(np.float32)
        ours, theirs = gpugrad.multinomial(make(w, device), k, replacement), torch.multinomial(torch.tensor(w), k,
                                                                                             replacement)
        assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).replace("torch.", "")


def test_multinomial_errors(device):
    w = make([1.0, 2.0], device)
    for bad in ([1.0, -1.0], [1.0, math.nan], [1.0, INF]):
        with pytest.raises(ArgumentError, match=r"^\[multinomial\] expected finite, non-negative weights"):
            gpugrad.multinomial(make(bad, device), 1, True)
    with pytest.raises(ArgumentError, match=r"^\[multinomial\] expected every row of weights to have a positive sum"):
        gpugrad.multinomial(make([[1.0, 0.0], [0.0, 0.0]], device), 1, True)
    with pytest.raises(ArgumentError, match=r"^\[multinomial\] cannot draw 2 samples without replacement from a row "
                                            r"with only 1 non-zero weights"):
        gpugrad.multinomial(make([1.0, 0.0], device), 2)
    with pytest.raises(ArgumentError, match=r"^\[multinomial\] cannot draw 3 samples without replacement from 2 "
                                            r"categories"):
        w.multinomial(3)
    for k in (0, -1):
        with pytest.raises(ArgumentError, match=rf"^\[multinomial\] expected num_samples > 0, got {k}"):
            gpugrad.multinomial(w, k, True)
    with pytest.raises(ArgumentTypeError, match=r"^\[multinomial\] expected num_samples to be an int, got float"):
        gpugrad.multinomial(w, 1.5)
    with pytest.raises(ShapeError, match=r"^\[multinomial\] expected a 1-D or 2-D tensor of weights, got shape \(\)"):
        gpugrad.multinomial(make(np.float32(1.0), device), 1)
    with pytest.raises(ShapeError, match=r"^\[multinomial\] expected a 1-D or 2-D tensor of weights, got shape"):
        gpugrad.multinomial(make(np.ones((2, 2, 2)), device), 1)
    with pytest.raises(ShapeError, match=r"^\[multinomial\] expected at least one category"):
        gpugrad.multinomial(make(np.ones((2, 0)), device), 1)
    with pytest.raises(DTypeError, match=r"^\[multinomial\] expected floating point weights, got int64"):
        gpugrad.multinomial(make([1, 2], device), 1)
    with pytest.raises(ArgumentTypeError, match=r"^\[multinomial\] expected a Tensor of weights, got list"):
        gpugrad.multinomial([1.0, 2.0], 1)
    with pytest.raises(ArgumentTypeError, match=r"^\[multinomial\] expected generator to be a gpugrad.Generator"):
        gpugrad.multinomial(w, 1, generator=np.random.default_rng(0))
    if device != "cpu":
        with pytest.raises(gpugrad.errors.DeviceError, match=r"^\[multinomial\] expected a generator on cuda"):
            gpugrad.multinomial(w, 1, generator=gpugrad.Generator("cpu"))


def test_multinomial_with_replacement_in_chunks(device):
    """Many rows times many categories: the draws are compared with the cumulative sums a
    few samples at a time (here one), with the same result."""
    rows, n = 64, 1 << 16
    w = np.zeros((rows, n), dtype=np.float32)
    hot = np.random.default_rng(13).integers(0, n, size=(rows, 2))
    w[np.arange(rows), hot[:, 0]] = 1.0
    w[np.arange(rows), hot[:, 1]] = 1e-3
    draws = gpugrad.multinomial(make(w, device), 3, True).numpy()
    assert draws.shape == (rows, 3)
    assert np.all((draws == hot[:, :1]) | (draws == hot[:, 1:]))


def test_functional_batch_norm_and_layer_norm(device):
    F = nn.functional
    x = make(_rand(4, 3, seed=14), device, requires_grad=True)
    ref = (x.numpy() - x.numpy().mean(0)) / np.sqrt(x.numpy().var(0) + 1e-5)
    close(F.batch_norm(x, None, None, training=True), ref, rtol=1e-10)
    ref = (x.numpy() - x.numpy().mean(1, keepdims=True)) / np.sqrt(x.numpy().var(1, keepdims=True) + 1e-5)
    close(F.layer_norm(x, (3,)), ref, rtol=1e-10)
    assert gradcheck(lambda t: F.layer_norm(t, [3]), [x])
