"""nn: Module mechanics, every layer and unit against NumPy, gradchecks, init, clipping."""

import math

import numpy as np
import pytest
from helpers import close, make, settle

import gpugrad as gg
from gpugrad import nn
from gpugrad.autograd import gradcheck
from gpugrad.nn import functional as NF


def test_module_registration_state_dict_and_repr(device):
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    assert [n for n, _ in m.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(list(m.children())) == 3 and len(list(m.modules())) == 4
    assert "Linear(in_features=3, out_features=4, bias=True)" in repr(m)
    sd = m.state_dict()
    m2 = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    m2.load_state_dict(sd)
    x = gg.randn(5, 3, device=device)
    close(m2(x), m(x).numpy())
    with pytest.raises(gg.errors.ArgumentError, match="missing keys"):
        m2.load_state_dict({"0.weight": sd["0.weight"]})
    bad = dict(sd)
    bad["0.weight"] = gg.zeros(5, 3)
    with pytest.raises(gg.errors.ShapeError, match=r"0.weight: checkpoint has shape \(5, 3\), the model \(4, 3\)"):
        m2.load_state_dict(bad)


def test_train_eval_zero_grad_and_to(device):
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    assert m.training and m[1].training
    m.eval()
    assert not m[1].training
    x = gg.ones(4, 2)
    close(m(x), m[0](x).numpy())  # dropout is the identity in eval
    m.train()
    m(x).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    w = m[0].weight
    m.to(device)
    assert m[0].weight is w and w.device == device  # same Parameter object, moved
    m.double()
    assert w.dtype == gg.float64


def test_dropout_scales_kept_units(device):
    gg.manual_seed(3)
    x = gg.ones(2000, device=device)
    y = nn.Dropout(0.25)(x)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.05
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.75)
    with pytest.raises(gg.errors.ArgumentError):
        nn.Dropout(1.5)


def test_linear_and_low_rank(device):
    lin = nn.Linear(4, 3).to(device)
    x = np.random.default_rng(0).standard_normal((5, 4))
    out = lin(make(x, device, dtype=gg.float32))
    close(out, x @ lin.weight.numpy().T + lin.bias.numpy(), rtol=1e-5, atol=1e-5)
    lr = nn.LowRankLinear(6, 5, rank=2).to(device)
    assert sum(p.numel() for p in lr.parameters()) == (6 + 5) * 2 + 5
    w = lr.u.numpy() @ lr.v.numpy()  # W = U V
    x6 = np.random.default_rng(1).standard_normal((5, 6))
    close(lr(make(x6, device, dtype=gg.float32)), x6 @ w.T, rtol=1e-5, atol=1e-5)
    with pytest.raises(gg.errors.ArgumentError, match="rank"):
        nn.LowRankLinear(3, 3, rank=4)


def _double(module, device):
    return module.to(device).double()


@pytest.mark.parametrize(
    "name,make_module,ref",
    [
        ("prelu", lambda: nn.PReLU(3, init=0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
        ("abs", nn.AbsRectification, np.abs),
        ("leaky", lambda: nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
        ("hardtanh", nn.Hardtanh, lambda x: np.clip(x, -1, 1)),
        ("softplus", nn.Softplus, lambda x: np.log1p(np.exp(x))),
        ("elu", nn.ELU, lambda x: np.where(x > 0, x, np.expm1(x))),
        ("sigmoid", nn.Sigmoid, lambda x: 1 / (1 + np.exp(-x))),
        ("tanh", nn.Tanh, np.tanh),
        ("softmax", lambda: nn.Softmax(1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
        ("logsoftmax", lambda: nn.LogSoftmax(1), lambda x: x - np.log(np.exp(x).sum(1, keepdims=True))),
    ],
)
def test_units_forward_and_gradcheck(name, make_module, ref, device):
    x = np.random.default_rng(1).uniform(-2, 2, (4, 3))
    x = np.where(np.abs(x) < 0.1, 0.3, x)
    x = np.where(np.abs(np.abs(x) - 1) < 0.1, 0.5, x)
    m = _double(make_module(), device)
    close(m(make(x, device)), ref(x), rtol=1e-10)
    assert gradcheck(lambda t: m(t), [make(x, device, requires_grad=True)])


def test_prelu_learns_its_slope(device):
    m = nn.PReLU().to(device).double()
    x = make([-1.0, -2.0, 3.0], device)
    m(x).sum().backward()
    close(m.weight.grad, [-3.0])


def test_maxout_and_rbf(device):
    gg.manual_seed(0)
    mo = _double(nn.Maxout(3, 2, pieces=4), device)
    x = np.random.default_rng(2).standard_normal((5, 3))
    z = x @ mo.linear.weight.numpy().T + mo.linear.bias.numpy()
    close(mo(make(x, device)), z.reshape(5, 2, 4).max(-1), rtol=1e-10)
    assert gradcheck(lambda t: mo(t), [make(x, device, requires_grad=True)])
    rbf = _double(nn.RBF(3, 4), device)
    c, s = rbf.centers.numpy(), np.exp(rbf.log_sigma.numpy())
    d2 = ((x[:, None, :] - c[None]) ** 2).sum(-1)
    close(rbf(make(x, device)), np.exp(-d2 / s**2), rtol=1e-8, atol=1e-12)
    assert gradcheck(lambda t: rbf(t), [make(x, device, requires_grad=True)])
    with pytest.raises(gg.errors.ShapeError, match="maxout"):
        NF.maxout(gg.ones(2, 5, device=device), 2)


def test_embedding_dense_padding_pretrained_and_sparse(device):
    table = np.arange(12.0).reshape(4, 3)
    emb = nn.Embedding.from_pretrained(make(table, device), freeze=True)
    idx = gg.tensor([[0, 3], [3, 3]], device=device)
    close(emb(idx), table[[[0, 3], [3, 3]]])
    assert not emb.weight.requires_grad
    e = nn.Embedding.from_pretrained(make(table, device), freeze=False, padding_idx=0)
    (e(idx) * 2).sum().backward()
    expected = np.zeros_like(table)
    expected[3] = 6.0  # three lookups of row 3; row 0 is padding: no gradient
    close(e.weight.grad, expected)
    s = nn.Embedding(4, 3, sparse=True).to(device)
    (s(idx) * 2).sum().backward()
    g = s.weight.grad
    assert isinstance(g, nn.SparseGrad) and g.indices.shape == (4,)
    close(g.to_dense(), np.array([[2.0] * 3, [0] * 3, [0] * 3, [6.0] * 3]))
    with pytest.raises(gg.errors.GpugradIndexError):
        settle(e(gg.tensor([4], device=device)))
    with pytest.raises(gg.errors.DTypeError):
        e(gg.ones(2, device=device))


def test_xavier_variance_and_gain():
    gg.manual_seed(0)
    w = gg.empty(400, 600)
    nn.init.xavier_uniform_(w)
    assert abs(w.numpy().var() - 2.0 / (400 + 600)) < 1e-4
    nn.init.xavier_normal_(w)
    assert abs(w.numpy().var() - 2.0 / (400 + 600)) < 1e-4
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(w.numpy().var() - 2.0 / 600) < 2e-4
    b = gg.empty(5)
    nn.init.relu_bias_(b)
    assert b.tolist() == pytest.approx([0.1] * 5)
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
    with pytest.raises(gg.errors.ArgumentError):
        nn.init.xavier_uniform_(b)


def test_clipping_and_l2(device):
    p = make([3.0, 4.0], device, requires_grad=True)
    q = make([0.0], device, requires_grad=True)
    (p * p).sum().backward()  # grad (6, 8), norm 10
    q.grad = make([0.0], device)
    norm = nn.utils.clip_grad_norm_([p, q], 5.0)
    assert norm.item() == pytest.approx(10.0)
    close(p.grad, [3.0, 4.0], rtol=1e-5)
    nn.utils.clip_grad_value_([p], 3.5)
    close(p.grad, [3.0, 3.5])
    pen = nn.utils.l2_penalty([p, q], weight=0.1)
    assert pen.item() == pytest.approx(0.05 * 25)
    assert math.isclose(nn.utils.clip_grad_norm_([p], 1.0, norm_type=math.inf), 3.5)


def test_layer_gradchecks_through_parameters(device):
    gg.manual_seed(1)
    x = make(np.random.default_rng(4).standard_normal((3, 4)), device, requires_grad=True)
    lin = _double(nn.Linear(4, 2), device)
    assert gradcheck(lambda t, w, b: NF.linear(t, w, b), [x, lin.weight, lin.bias])
    low = _double(nn.LowRankLinear(4, 3, rank=2), device)

    def low_rank(t, u, v, b):
        return NF.linear(NF.linear(t, v), u, b)

    assert gradcheck(low_rank, [x, low.u, low.v, low.bias])
    close(low_rank(x, low.u, low.v, low.bias), low(x).numpy())
    table = make(np.random.default_rng(5).standard_normal((5, 2)), device, requires_grad=True)
    idx = gg.tensor([[0, 4], [4, 2]], device=device)
    assert gradcheck(lambda w: NF.embedding(idx, w), [table])  # (padding rows get no gradient by design)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("fan_in, fan_out", [(0, 4), (4, 0), (0, 0)])
def test_zero_width_linear_layers(device, fan_in, fan_out, bias, relu):
    """As in PyTorch: Linear(0, m) gives the bias broadcast (ReLU'd) and an empty weight
    gradient; Linear(k, 0) an empty output and zero input gradients; batch dims kept."""
    lin = nn.Linear(fan_in, fan_out, bias=bias, device=device)
    b = np.linspace(-1, 1, fan_out, dtype=np.float32)
    bt = make(b, device, requires_grad=True) if bias else None
    x = make(np.ones((2, 3, fan_in), np.float32), device, requires_grad=True)
    y = (gg.functional.linear_relu if relu else gg.functional.linear)(x, lin.weight, bt)
    z = b if bias else np.zeros(fan_out)
    assert y.shape == (2, 3, fan_out)
    close(y, np.broadcast_to(np.maximum(z, 0) if relu else z, (2, 3, fan_out)))
    gy = np.arange(6 * fan_out, dtype=np.float32).reshape(2, 3, fan_out)
    y.backward(make(gy, device))
    assert lin.weight.grad.shape == (fan_out, fan_in) and not lin.weight.grad.numpy().any()
    assert x.grad.shape == x.shape and not x.grad.numpy().any()
    if bias:
        close(bt.grad, (gy * (z > 0) if relu else gy).sum((0, 1)))
    assert lin(x).shape == (2, 3, fan_out)


@pytest.mark.parametrize("init", ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"])
@pytest.mark.parametrize("shape", [(0, 4), (4, 0), (0, 0)])
def test_fan_scaled_inits_leave_zero_element_tensors_alone(init, shape):
    t = gg.empty(*shape)
    with pytest.warns(UserWarning, match=rf"\[{init}\] initializing a zero-element tensor .* is a no-op"):
        assert getattr(nn.init, init)(t) is t
    assert nn.Linear(shape[1], shape[0]).bias.numpy().tolist() == [0.0] * shape[0]  # bound 1/sqrt(0) taken as 0


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_training_steps_through_zero_width_layers(device, optimizer):
    """A net whose hidden layer has no units learns its output bias alone: each step moves
    it by the mean of softmax(bias) - onehot(target), as NumPy computes."""
    net = nn.Sequential(nn.Linear(5, 0), nn.ReLU(), nn.Linear(0, 3)).to(device)
    opt = gg.optim.SGD(net.parameters(), lr=0.5) if optimizer == "SGD" else gg.optim.Adam(net.parameters(), lr=0.1)
    x, t = gg.randn(4, 5, device=device), np.array([0, 2, 2, 1])
    b = np.zeros(3)
    for _ in range(3):
        opt.zero_grad()
        loss = NF.cross_entropy(net(x), make(t, device))
        loss.backward()
        p = np.exp(b) / np.exp(b).sum()
        g = (p - np.eye(3)[t]).mean(0)
        close(net[2].bias.grad, g)
        assert net[0].weight.grad.shape == (0, 5) and net[2].weight.grad.shape == (3, 0)
        opt.step()
        b = net[2].bias.numpy().astype(np.float64)
    assert np.isfinite(loss.item()) and b[2] > b[1]


def _ordered_model(T):
    """A model built the same way in gpugrad and torch (``T``): a root buffer, a Linear, a
    child with a parameter, a buffer and a non-persistent buffer, and a shared child."""

    class Scaled(T.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("shift", T.zeros(2))
            self.scale = T.nn.Parameter(T.ones(2))
            self.register_buffer("scratch", T.zeros(1), persistent=False)
            self.inner = T.nn.Linear(2, 2)

    class Model(T.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", T.zeros(3))
            self.inp = T.nn.Linear(3, 2)
            self.block = Scaled()
            self.again = self.block  # one module under two names
            self.head = T.nn.Linear(2, 1, bias=False)

    return Model()


ORDERED_STATE = ["mean", "inp.weight", "inp.bias", "block.scale", "block.shift", "block.inner.weight",
                 "block.inner.bias", "again.scale", "again.shift", "again.inner.weight", "again.inner.bias",
                 "head.weight"]  # fmt: skip


def _orders(model):
    return {
        "state_dict": list(model.state_dict()),
        "parameters": [n for n, _ in model.named_parameters()],
        "buffers": [n for n, _ in model.named_buffers()],
        "modules": [n for n, _ in model.named_modules()],
        "all parameters": [n for n, _ in model.named_parameters(remove_duplicate=False)],
        "own buffers": [n for n, _ in model.block.named_buffers(recurse=False)],
    }


def test_state_dict_names_come_in_pytorchs_order(device):
    model = _ordered_model(gg).to(device)
    orders = _orders(model)
    assert orders["state_dict"] == ORDERED_STATE  # the root buffer first, not after all parameters
    assert orders["parameters"] == ["inp.weight", "inp.bias", "block.scale", "block.inner.weight",
                                    "block.inner.bias", "head.weight"]  # fmt: skip
    assert orders["buffers"] == ["mean", "block.shift", "block.scratch"]
    assert orders["modules"] == ["", "inp", "block", "block.inner", "head"]
    assert len(orders["all parameters"]) == 9 and orders["own buffers"] == ["shift", "scratch"]
    state = model.state_dict()
    assert state["again.scale"].tolist() == [1.0, 1.0] and "block.scratch" not in state
    model.load_state_dict(state)  # each name of a shared tensor is expected
    with pytest.raises(gg.errors.ArgumentError, match=r"missing keys \['again.scale'\]"):
        model.load_state_dict({k: v for k, v in state.items() if k != "again.scale"})
    kept = model.state_dict(keep_vars=True)
    assert kept["block.scale"] is model.block.scale
    into = model.state_dict(destination={"x": 1}, prefix="m.")
    assert list(into) == ["x"] + ["m." + k for k in ORDERED_STATE]


@pytest.mark.torch
def test_state_dict_and_named_orders_agree_with_torch():
    torch = pytest.importorskip("torch")
    assert _orders(_ordered_model(gg)) == _orders(_ordered_model(torch))


def test_load_state_dict_returns_the_named_tuple_of_keys(device):
    model = nn.Linear(2, 3).to(device)
    result = model.load_state_dict(model.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == [] and repr(result) == "<All keys matched successfully>"
    result = model.load_state_dict({"weight": gg.zeros(3, 2, device=device), "extra": gg.zeros(1)}, strict=False)
    assert isinstance(result, tuple) and result._fields == ("missing_keys", "unexpected_keys")
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    missing, unexpected = result  # PyTorch's named tuple unpacks too
    assert (missing, unexpected) == (["bias"], ["extra"]) and "missing_keys=['bias']" in repr(result)
    assert model.weight.tolist() == [[0.0, 0.0]] * 3


def test_clip_grad_norm_returns_the_total_norm_as_a_0d_tensor(device):
    p = make([3.0, -4.0], device, requires_grad=True)
    p.grad = make([3.0, -4.0], device)
    norm = nn.utils.clip_grad_norm_(p, 100.0)
    assert isinstance(norm, gg.Tensor) and norm.shape == () and norm.device == device
    assert norm.item() == pytest.approx(5.0) and p.grad.tolist() == [3.0, -4.0]  # below max_norm: unchanged
    norm = nn.utils.clip_grad_norm_([p], 2.0, norm_type=math.inf)
    assert isinstance(norm, gg.Tensor) and norm.shape == () and norm.item() == pytest.approx(4.0)
    close(p.grad, [1.5, -2.0], rtol=1e-5)
    norm = nn.utils.clip_grad_norm_([p], 1.0, norm_type=1, error_if_nonfinite=True, foreach=None)
    assert norm.shape == () and norm.item() == pytest.approx(3.5)
    empty = nn.utils.clip_grad_norm_([make([1.0], device, requires_grad=True)], 1.0)
    assert isinstance(empty, gg.Tensor) and empty.shape == () and empty.item() == 0.0
    p.grad = make([math.inf, 1.0], device)
    with pytest.raises(RuntimeError, match=r"\[clip_grad_norm_\] expected a finite total norm of order 2.0 .*inf"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
