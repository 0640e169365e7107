"""Tensor creation, dtypes, conversion, printing, DLPack, operators and casts."""

import numpy as np
import pytest
from helpers import close, make, settle

import gpugrad as gg
from gpugrad.autograd import gradcheck


def test_creation_functions(device):
    assert gg.zeros(2, 3, device=device).shape == (2, 3)
    assert gg.ones((2, 3), device=device).dtype == gg.float32
    assert gg.full((2,), 7, device=device).dtype == gg.int64
    assert gg.full((2,), 7.0, device=device).tolist() == [7.0, 7.0]
    assert gg.arange(5, device=device).tolist() == [0, 1, 2, 3, 4]
    assert gg.arange(0, 1, 0.25, device=device).dtype == gg.float32
    close(gg.linspace(0, 1, 5, device=device), [0, 0.25, 0.5, 0.75, 1])
    close(gg.eye(2, 3, device=device), np.eye(2, 3))
    assert gg.empty(3, device=device).shape == (3,)
    x = gg.randn(4, 5, device=device)
    for like in (gg.zeros_like, gg.ones_like, gg.rand_like, gg.randn_like, gg.empty_like):
        y = like(x)
        assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device
    assert gg.full_like(x, 2.0).sum().item() == 40.0
    r = gg.randint(0, 3, (100,), device=device)
    assert r.dtype == gg.int64 and 0 <= r.min().item() and r.max().item() < 3
    with pytest.raises(gg.errors.ShapeError):
        gg.zeros(-1, device=device)
    with pytest.raises(gg.errors.DTypeError):
        gg.rand(2, dtype=gg.int32, device=device)


def test_tensor_from_python_data_follows_pytorch_defaults(device):
    assert gg.tensor([1.0, 2.0], device=device).dtype == gg.float32
    assert gg.tensor([1, 2], device=device).dtype == gg.int64
    assert gg.tensor([True], device=device).dtype == gg.bool
    assert gg.tensor(np.zeros(2, np.float64), device=device).dtype == gg.float64
    assert gg.tensor([1, 2], dtype=gg.float16, device=device).dtype == gg.float16
    with pytest.raises(gg.errors.DTypeError):
        gg.tensor(["a"], device=device)
    with pytest.raises(gg.errors.DTypeError):
        gg.tensor([1.0], dtype="complex64", device=device)
    with pytest.raises(gg.errors.DTypeError):
        gg.tensor([[1.0], [2.0, 3.0]], device=device)


def test_seeding_is_reproducible(device):
    gg.manual_seed(123)
    a = gg.randn(5, device=device).tolist()
    gg.manual_seed(123)
    assert gg.randn(5, device=device).tolist() == a


def test_conversions(device):
    x = make([[1.5, 2.0]], device)
    assert x.numpy().tolist() == [[1.5, 2.0]]
    assert x.tolist() == [[1.5, 2.0]]
    assert x[0, 0].item() == 1.5 and float(x[0, 1]) == 2.0
    with pytest.raises(gg.errors.ShapeError, match="one-element"):
        x.item()
    with pytest.raises(gg.errors.ShapeError, match="ambiguous"):
        bool(x)
    assert len(x) == 1 and x.size() == (1, 2) and x.size(-1) == 2 and x.dim() == 2 and x.numel() == 2
    assert [t.tolist() for t in make([1, 2], device)] == [1, 2]


def test_numpy_interop_on_cpu():
    a = np.arange(4.0)
    t = gg.from_numpy(a)
    a[0] = 9
    assert t[0].item() == 9  # shares memory
    assert np.asarray(t) is t.array
    assert (np.ones(4) * t).tolist() == [9.0, 1.0, 2.0, 3.0]  # NumPy defers to the tensor
    assert isinstance(np.ones(4) + t, gg.Tensor)


def test_dlpack_roundtrip(device):
    x = gg.arange(6, device=device).reshape(2, 3)
    y = gg.from_dlpack(x)
    assert y.tolist() == x.tolist() and y.device == x.device
    if device == "cpu":
        assert np.shares_memory(np.from_dlpack(x), x.array)


def test_repr(device):
    x = gg.tensor([1.0, 2.0], device=device, requires_grad=True)
    r = repr(x)
    assert r.startswith("tensor([1., 2.]") and "requires_grad=True" in r
    assert "grad_fn=<Mul>" in repr(x * x)
    assert "dtype=float64" in repr(x.double())
    assert repr(gg.tensor([1, 2], device=device)).startswith("tensor([1, 2]")
    if device != "cpu":
        assert f"device='{device}:0'" in r


def test_python_operators(device):
    a = make([1.0, 2.0, 3.0], device)
    b = make([2.0, 2.0, 2.0], device)
    close(a + b, [3, 4, 5])
    close(1 - a, [0, -1, -2])
    close(a * 2, [2, 4, 6])
    close(6 / a, [6, 3, 2])
    close(a**2, [1, 4, 9])
    close(2**a, [2, 4, 8])
    close(a // b, [0, 1, 1])
    close(a % b, [1, 0, 1])
    close(-a, [-1, -2, -3])
    close(abs(-a), [1, 2, 3])
    assert (a < b).tolist() == [True, False, False]
    assert (a == 2).tolist() == [False, True, False]
    assert (a != b).tolist() == [True, False, True]
    assert (2 <= a).tolist() == [False, True, True]
    assert ((a > 1) & (a < 3)).tolist() == [False, True, False]
    assert (~(a > 1)).tolist() == [True, False, False]
    m = make([[1.0, 2.0], [3.0, 4.0]], device)
    close(m @ m, [[7, 10], [15, 22]])
    close(m.T, [[1, 3], [2, 4]])
    assert a.__eq__(None) is False
    assert {a: 1}[a] == 1  # hashable by identity, like PyTorch tensors


def test_scalars_are_weak_in_type_promotion(device):
    x = gg.ones(2, device=device)  # float32
    assert (x * 2.0).dtype == gg.float32
    assert (x + np.float64(1.0)).dtype == gg.float32
    assert (x + gg.ones(2, dtype=gg.float64, device=device)).dtype == gg.float64
    i = gg.tensor([1, 2], device=device)
    assert (i * 2).dtype == gg.int64
    assert (gg.tensor([1, 2], dtype=gg.int32, device=device) + 1).dtype == gg.int32


def test_integers_meet_floats_as_in_pytorch(device):
    i, j = gg.tensor([1, 2], device=device), gg.tensor([2, 4], device=device)
    f = gg.tensor([0.5, 1.0], device=device)
    d = gg.tensor([0.5, 1.0], dtype=gg.float64, device=device)
    f32 = {  # NumPy would give float64 for each of these
        "int * float scalar": i * 2.5, "float scalar / int": 2.0 / i, "int / int scalar": i / 2, "int / int": i / j,
        "int + float32 tensor": i + f, "float32 tensor * int": f * i, "bool * float": (i > 1) * 1.5,
        "int ** float": i**0.5, "exp(int)": i.exp(), "sqrt(int)": i.sqrt(),
        "sigmoid(int)": gg.functional.sigmoid(i), "softmax(int, dtype=)": gg.functional.softmax(i, 0, dtype=gg.float32),
    }
    for what, t in f32.items():
        assert t.dtype == gg.float32, what
    close(i / j, [0.5, 0.5])
    assert (i + d).dtype == gg.float64 and (i * j).dtype == gg.int64 and (i // 2).dtype == gg.int64
    assert (i**2).dtype == gg.int64 and (i * True).dtype == gg.int64
    with pytest.raises(gg.errors.DTypeError, match=r"^\[softmax\] expected a floating point tensor, got int64"):
        gg.functional.softmax(i, 0)  # PyTorch has no integer softmax (dtype= casts first)


def test_casts_are_differentiable(device):
    x = make([1.0, 2.0], device, requires_grad=True, dtype=gg.float32)
    y = x.double() * 3
    assert y.dtype == gg.float64
    y.sum().backward()
    assert x.grad.dtype == gg.float32
    close(x.grad, [3, 3])
    assert x.long().dtype == gg.int64 and not x.long().requires_grad
    assert x.to(gg.float16).dtype == gg.float16
    assert x.to("cpu").device == "cpu" or device != "cpu"
    assert gradcheck(lambda t: t.to(gg.float64) * t, [make([0.5, -1.0], device, requires_grad=True)])


def test_clone_and_contiguous_keep_the_graph(device):
    x = make([[1.0, 2.0], [3.0, 4.0]], device, requires_grad=True)
    c = x.clone()
    assert c.array is not x.array
    t = x.T.contiguous()
    assert t.array.flags.c_contiguous
    (c.sum() + (t * 2).sum()).backward()
    close(x.grad, np.full((2, 2), 3.0))


def test_views_share_the_version_counter(device):
    x = gg.zeros(2, 3, device=device)
    v = x.view(6)
    r = x[0]
    v.add_(1)
    assert x._version == v._version == r._version == 1
    assert x.sum().item() == 6
    with gg.no_grad():
        r.fill_(5)
    assert x[0].tolist() == [5, 5, 5]


def test_setitem_without_grad(device):
    x = gg.zeros(4, device=device)
    x[1:3] = 2.0
    x[gg.tensor([0], device=device)] = gg.tensor([7.0], device=device)
    x[x > 6] = -1.0
    assert x.tolist() == [-1.0, 2.0, 2.0, 0.0]


def test_inplace_dtype_refusal(device):
    i = gg.tensor([1, 2], device=device)
    with pytest.raises(gg.errors.DTypeError):
        i.add_(0.5)


def test_one_hot_and_index_errors(device):
    idx = gg.tensor([0, 2, 1], device=device)
    assert gg.one_hot(idx, 3).tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert gg.one_hot(idx).shape == (3, 3)
    with pytest.raises(gg.errors.GpugradIndexError, match="one_hot"):
        settle(gg.one_hot(idx, 2))
    with pytest.raises(gg.errors.DTypeError):
        gg.one_hot(gg.ones(2, device=device))
    x = gg.ones(3, 4, device=device)
    with pytest.raises(gg.errors.GpugradIndexError, match=r"dim 2 is out of range"):
        x.sum(2)
    with pytest.raises(gg.errors.ShapeError, match=r"\[matmul\] expected a.shape\[-1\] == b.shape\[-2\], got \(3, 4\)"):
        x @ x


def test_ieee_results_come_without_warnings(device):
    import warnings

    x = make([0.0, -1.0, 1000.0], device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyTorch gives these values silently; so do we
        out = [x.log(), 1.0 / x, x.exp(), x.sqrt(), x / x, x**-1.0, gg.tensor([7e4], device=device).to(gg.float16)]
        out[0].sum().backward()
    got = [t.tolist() for t in out]
    assert got[0][0] == -np.inf and np.isnan(got[0][1]) and got[1][0] == np.inf and got[2][2] == np.inf
    assert np.isnan(got[3][1]) and np.isnan(got[4][0]) and got[5][0] == np.inf and got[6] == [np.inf]
    assert x.grad.tolist()[0] == np.inf


def test_data_is_a_detached_tensor_on_the_same_memory(device):
    """PyTorch's ``.data``: manual SGD, in-place init and assignment work through it; autograd
    does not see changes made through it (the version counter stays); ``.array`` is the
    backend array."""
    w = make([1.0, 2.0, 3.0], device, requires_grad=True)
    (w * w).sum().backward()
    d = w.data
    assert isinstance(d, gg.Tensor) and not d.requires_grad and d.creator is None
    w.data += -0.1 * w.grad  # manual SGD: w - 0.1 * 2w
    close(w, [0.8, 1.6, 2.4], rtol=1e-6)
    assert w.requires_grad and w._vc[0] == 0
    w.data.zero_()
    assert w.tolist() == [0.0, 0.0, 0.0]
    w.data.copy_(make([4.0, 5.0, 6.0], device))
    assert w.tolist() == [4.0, 5.0, 6.0]
    w.data.normal_(0.0, 0.02)
    assert float(w.abs().max()) < 0.2
    w.data = make([7.0, 8.0], device)  # a new value, of another shape too, as in PyTorch
    assert w.shape == (2,) and w.tolist() == [7.0, 8.0] and w.requires_grad
    assert isinstance(w.array, gg.backend.get_backend(device).ndarray)
    x = make([1.0, 2.0], device, requires_grad=True)
    y = x * x  # saves x
    x.data.add_(1.0)  # not seen by the version check, as in PyTorch
    y.sum().backward()
    close(x.grad, [4.0, 6.0])
    with pytest.raises(gg.errors.ArgumentTypeError, match=r"\[data\] expected a Tensor"):
        x.data = [1.0, 2.0]


def test_tensor_class_makes_float32_as_torch_tensor_does(device):
    assert gg.Tensor([1, 2]).dtype == gg.float32 and gg.Tensor([1, 2]).tolist() == [1.0, 2.0]
    t = gg.Tensor(3, 4, device=device)
    assert t.shape == (3, 4) and t.dtype == gg.float32 and t.device == device
    assert gg.Tensor().shape == (0,)
    assert gg.Tensor(np.arange(3)).dtype == gg.float32
    with pytest.raises(gg.errors.ArgumentTypeError, match="sizes as non-negative ints"):
        gg.Tensor(3, -1)


def test_comparisons_are_made_in_the_promoted_dtype(device):
    # as in PyTorch: int64 meets float32 in float32, where 2**24 + 1 rounds to 2**24
    i = gg.tensor([16777217, 3], device=device)
    f = gg.tensor([16777216.0, 3.5], device=device)
    assert (i == f).tolist() == [True, False] and (f == i).tolist() == [True, False]
    assert (i == 16777216.0).tolist() == [True, False] and (i < 3.5).tolist() == [False, True]
    assert (gg.tensor([300], dtype=gg.int16, device=device) == 44).tolist() == [False]
