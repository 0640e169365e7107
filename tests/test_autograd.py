"""The engine: order, accumulation, retain_graph, grad mode, hooks, grad(), higher-order
derivatives, in-place version checks, anomaly mode, gradcheck's own failure reports."""

import numpy as np
import pytest
from helpers import close, make

import gpugrad as gg
from gpugrad.autograd import grad, gradcheck
from gpugrad.errors import AnomalyError, AutogradError, GradcheckError, InplaceError
from gpugrad.ops.base import Op


def test_long_chain_backpropagates_without_recursion(device):
    x = gg.tensor(1.0, device=device, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_each_node_gets_its_summed_gradient_once(device):
    x = make([1.0, 2.0], device, requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    z = y * 3 + y * 4 + y.exp().log()  # three consumers of y
    z.sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [8.0, 8.0])
    close(x.grad, [16.0, 16.0])


def test_leaf_grad_accumulates_and_is_not_aliased(device):
    x = make([1.0, 2.0], device, requires_grad=True)
    z = make([3.0, 4.0], device, requires_grad=True)
    g = make([1.0, 1.0], device)
    (x + z).backward(g)
    (x + z).backward(g)
    close(x.grad, [2.0, 2.0])
    x.grad.mul_(10)  # must not change z.grad or g
    close(z.grad, [2.0, 2.0])
    close(g, [1.0, 1.0])


def test_second_backward_on_freed_graph_raises(device):
    x = make([1.0, 2.0], device, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(AutogradError, match="second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward(device):
    x = make([1.0, 2.0], device, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    close(x.grad, [4.0, 8.0])


def test_backward_needs_a_gradient_for_non_scalars(device):
    x = make([1.0, 2.0], device, requires_grad=True)
    with pytest.raises(AutogradError, match="scalar outputs"):
        (x * 2).backward()
    with pytest.raises(gg.errors.ShapeError):
        (x * 2).backward(make([1.0], device))
    with pytest.raises(AutogradError, match="does not require grad"):
        make([1.0], device).backward()


def test_no_grad_context_and_decorator(device):
    x = make([1.0], device, requires_grad=True)
    with gg.no_grad():
        y = x * 2
        with gg.enable_grad():
            w = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert w.requires_grad

    @gg.no_grad()
    def f(t):
        return t * 3

    @gg.no_grad
    def g(t):
        return t * 3

    assert not f(x).requires_grad and not g(x).requires_grad
    assert (x * 3).requires_grad
    with gg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert gg.autograd.is_grad_enabled()


def test_backward_records_nothing_without_create_graph(device):
    x = make([1.0, 2.0], device, requires_grad=True)
    (x.exp() * x).sum().backward()
    assert x.grad.grad_fn is None and not x.grad.requires_grad
    (gx,) = grad((x * x).sum(), x)
    assert gx.grad_fn is None


def test_detach_and_requires_grad_(device):
    x = make([1.0, 2.0], device, requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    d.requires_grad_()
    (d * 3).sum().backward()
    assert x.grad is None
    close(d.grad, [3.0, 3.0])
    with pytest.raises(AutogradError, match="leaf"):
        (x * 2).requires_grad_(False)
    with pytest.raises(gg.errors.DTypeError, match="floating"):
        gg.tensor([1, 2], device=device).requires_grad_()


def test_retain_grad_and_hooks(device):
    x = make([1.0, -2.0], device, requires_grad=True)
    y = x * 3
    y.retain_grad()
    assert y.retains_grad
    handle = x.register_hook(lambda g: g * 10)
    (y * y).sum().backward()
    close(y.grad, [6.0, -12.0])
    close(x.grad, [180.0, -360.0])
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    close(x.grad, [1.0, 1.0])


def test_grad_function_allow_unused_and_non_leaf_inputs(device):
    x = make([1.0, 2.0], device, requires_grad=True)
    u = make([5.0], device, requires_grad=True)
    h = x * x
    y = (h * 3).sum()
    gx, gh, gu = grad(y, [x, h, u], allow_unused=True, retain_graph=True)
    close(gx, [6.0, 12.0])
    close(gh, [3.0, 3.0])
    assert gu is None
    assert x.grad is None  # grad() leaves .grad alone
    with pytest.raises(AutogradError, match="allow_unused"):
        grad(y, [x, u])


def test_hessian_vector_product(device):
    # f(x) = (x.x)^2: H = 4 (x.x) I + 8 x x^T
    xv = np.array([1.0, -2.0, 0.5])
    v = np.array([0.3, 0.1, -1.0])
    x = make(xv, device, requires_grad=True)
    f = (x * x).sum() ** 2
    (g,) = grad(f, x, create_graph=True)
    close(g, 4 * xv.dot(xv) * xv)
    (hv,) = grad(g, x, grad_outputs=make(v, device))
    close(hv, 4 * xv.dot(xv) * v + 8 * xv * xv.dot(v), rtol=1e-10)


def test_third_derivatives(device):
    xv = np.array([0.3, -1.2, 2.0])
    x = make(xv, device, requires_grad=True)
    for f, d3 in [(lambda t: t.sin(), -np.cos(xv)), (lambda t: t**4, 24 * xv), (lambda t: t.tanh(), None)]:
        y = f(x).sum()
        (g1,) = grad(y, x, create_graph=True)
        (g2,) = grad(g1.sum(), x, create_graph=True)
        (g3,) = grad(g2.sum(), x)
        if d3 is None:  # tanh''' = -2 (1 - t^2)(1 - 3 t^2) with t = tanh x
            t = np.tanh(xv)
            d3 = -2 * (1 - t**2) * (1 - 3 * t**2)
        close(g3, d3, rtol=1e-10, atol=1e-12)


def test_version_counter_and_modified_saved_tensor(device):
    x = make([1.0, 2.0], device, requires_grad=True)
    a = x * 1
    assert a._version == 0
    b = a * a  # saves a
    a.add_(1)
    assert a._version == 1
    with pytest.raises(InplaceError, match=r"\[Mul\].*in-place"):
        b.sum().backward()
    e = x.exp()  # saves its output
    e.mul_(2)
    with pytest.raises(InplaceError, match=r"\[Exp\]"):
        e.sum().backward()


@pytest.mark.parametrize("how", ["functional", "sequential"])
@pytest.mark.parametrize("grad_mode", [True, False], ids=["in-graph", "no-grad"])
def test_fused_linear_relu_checks_its_saved_output(device, how, grad_mode):
    # as the unfused relu(linear(x)) does: the ReLU mask is read from the output in backward
    x = make(np.arange(12.0).reshape(4, 3) / 6 - 1, device, requires_grad=True, dtype=np.float32)
    lin = gg.nn.Linear(3, 5).to(device)  # float32 like x: the fused op
    y = gg.functional.linear_relu(x, lin.weight, lin.bias) if how == "functional" else \
        gg.nn.Sequential(lin, gg.nn.ReLU())(x)
    with gg.set_grad_enabled(grad_mode):
        y.mul_(-1)
    with pytest.raises(InplaceError, match=r"\[Linear\] its output .* modified by an in-place operation"):
        y.sum().backward()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_checks_its_targets(device, reduction):
    x = make(np.arange(12.0).reshape(4, 3) / 6 - 1, device, requires_grad=True)
    t = gg.tensor([0, 1, 2, 0], device=device)
    loss = gg.nn.functional.cross_entropy(x, t, reduction=reduction)
    t[0] = 2
    with pytest.raises(InplaceError, match=r"\[SoftmaxCrossEntropy\] input 1 .* modified by an in-place operation"):
        loss.sum().backward()


def test_inplace_inside_a_graph_gives_correct_gradients(device):
    x = make([1.0, 2.0], device, requires_grad=True)
    w = make([3.0, 4.0], device, requires_grad=True)
    y = x * 2
    y.add_(1)
    y.mul_(w)  # needs y's value from before mul_
    y += 0.5
    y.sum().backward()
    close(y, [9.5, 20.5])
    close(x.grad, [6.0, 8.0])
    close(w.grad, [3.0, 5.0])


def test_inplace_on_leaf_requires_no_grad(device):
    x = make([1.0, 2.0], device, requires_grad=True)
    with pytest.raises(AutogradError, match="leaf"):
        x.add_(1)
    with gg.no_grad():
        x.sub_(make([0.5, 0.5], device), alpha=2)
        x.mul_(2)
    close(x, [0.0, 2.0])
    assert x._version == 2


def test_setitem_in_a_graph(device):
    x = make([1.0, 2.0, 3.0], device, requires_grad=True)
    v = make([10.0], device, requires_grad=True)
    y = x * 1
    y[1] = v
    (y * make([1.0, 2.0, 3.0], device)).sum().backward()
    close(y, [1.0, 10.0, 3.0])
    close(x.grad, [1.0, 0.0, 3.0])
    close(v.grad, [2.0])


def test_inplace_on_view_in_graph_is_refused(device):
    x = make([1.0, 2.0], device, requires_grad=True)
    y = x * 1
    v = y[0:1]
    with pytest.raises(AutogradError, match="view"):
        v.mul_(2)


def test_anomaly_mode_names_the_forward_op(device):
    x = make([1.0, -1.0], device, requires_grad=True)
    with gg.autograd.detect_anomaly():
        with pytest.raises(AnomalyError, match=r"\[Log\] forward") as info:
            x.log()
    assert "test_autograd.py" in str(info.value)


def test_anomaly_mode_names_the_backward_op_and_where_it_was_made(device):
    x = make([0.0, 4.0], device, requires_grad=True)
    with gg.autograd.detect_anomaly():
        y = x.sqrt().sum()  # sqrt'(0) = inf
        with pytest.raises(AnomalyError, match=r"\[Sqrt\].*backward") as info:
            y.backward()
    assert "test_autograd.py" in str(info.value)
    assert not gg.autograd.is_anomaly_enabled()


class _WrongGrad(Op):
    __slots__ = ()

    def forward(self, b, x):
        return x * x

    def backward(self, gy):
        return gy * self.saved(0) * 3.0  # should be 2x


class _WrongShape(Op):
    __slots__ = ()

    def forward(self, b, x):
        return x * 2

    def backward(self, gy):
        return gy.sum()


def test_gradcheck_reports_the_worst_entry(device):
    x = make([[1.0, 2.0], [3.0, -4.0]], device, requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: _WrongGrad()(t), [x])
    msg = str(info.value)
    assert "d out[1, 1] / d in[1, 1]" in msg and "analytic -12" in msg and "numeric -8" in msg
    assert gradcheck(lambda t: _WrongGrad()(t), [x], raise_exception=False) is False


def test_engine_blames_the_op_with_a_wrong_gradient_shape(device):
    x = make([1.0, 2.0], device, requires_grad=True)
    with pytest.raises(AutogradError, match=r"\[_WrongShape\] backward returned a gradient of shape \(\)"):
        _WrongShape()(x).sum().backward()


def test_multi_output_ops(device):
    x = make([[1.0, 5.0, 5.0], [7.0, 2.0, 3.0]], device, requires_grad=True)
    values, indices = x.max(1)
    assert indices.dtype == gg.int64 and not indices.requires_grad
    assert indices.tolist() == [1, 0]  # tie: first index wins
    a, b = gg.split(x, [1, 2], 1)
    (values.sum() + b.sum() * 2).backward()
    close(x.grad, [[0.0, 3.0, 2.0], [1.0, 2.0, 2.0]])


def test_mixed_devices_are_refused_naming_both():
    from gpugrad.backend.cpu import CpuBackend
    from gpugrad.backend.device import Device

    class OtherDevice(CpuBackend):  # a NumPy backend posing as a second device
        __slots__ = ()

        def __init__(self):
            super().__init__()
            self.device = Device("cuda:7")

    a = gg.ones(2)
    b = gg.Tensor._wrap(np.ones(2, np.float32), OtherDevice())
    with pytest.raises(gg.errors.DeviceError, match=r"\[Mul\].*cpu and cuda:7"):
        a * b


def test_a_hook_may_not_change_the_gradients_dtype_shape_or_device(device):
    # as in PyTorch ("hook 'to_float32' has changed the type of value"): an error, not a cast
    def to_float32(g):
        return g.to(gg.float32)

    x = make([1.0, 2.0], device, requires_grad=True)  # float64
    x.register_hook(to_float32)
    with pytest.raises(AutogradError, match="hook 'to_float32' has changed the dtype of the gradient: "
                                            "expected float64, got float32"):
        (x * 2).sum().backward()
    assert x.grad is None
    y = make([1.0, 2.0], device, requires_grad=True) * 3  # a hook on an op's output
    y.register_hook(lambda g: g[:1])
    with pytest.raises(AutogradError, match=r"hook '<lambda>' has changed the shape of the gradient: "
                                            r"expected \(2,\), got \(1,\)"):
        y.sum().backward()
    z = make([1.0], device, requires_grad=True)
    z.register_hook(lambda g: g.numpy())
    with pytest.raises(gg.errors.ArgumentTypeError, match="to return a tensor or None, got ndarray"):
        (z * 1).sum().backward()
    if device == "cuda":
        w = make([1.0], device, requires_grad=True)
        w.register_hook(lambda g: g.cpu())
        with pytest.raises(AutogradError, match="changed the device of the gradient: expected cuda:0, got cpu"):
            (w * 1).sum().backward()


def test_post_accumulate_grad_hook_sees_the_whole_gradient_during_backward(device):
    """PyTorch's register_post_accumulate_grad_hook: once per backward, with the leaf's
    .grad complete (all contributions summed into what was there), as soon as the last
    contribution is in: before backward reaches ops nearer the inputs."""
    w1 = make([[0.5, -1.0], [2.0, 0.25]], device, requires_grad=True)
    w2 = make([[1.5, 0.5], [-0.5, 1.0]], device, requires_grad=True)
    x = make([[1.0, 2.0], [3.0, -1.0]], device)
    events = []
    w1.register_post_accumulate_grad_hook(lambda t: events.append(("w1", t.grad.numpy().copy())))
    handle = w2.register_post_accumulate_grad_hook(lambda t: events.append(("w2", t.grad.numpy().copy())))
    h = x @ w1
    h.register_hook(lambda g: events.append(("h", None)))
    y = (h.tanh() @ w2) + (h @ w2) * 2  # w2 has two contributions
    y.sum().backward()
    order = [name for name, _ in events]
    assert order == ["w2", "h", "w1"], order
    torch = _torch()
    if torch is not None:  # the values, against PyTorch's when it is installed
        tw1, tw2 = (torch.tensor(w.numpy(), requires_grad=True) for w in (w1, w2))
        th = torch.tensor(x.numpy()) @ tw1
        ((th.tanh() @ tw2) + (th @ tw2) * 2).sum().backward()
        np.testing.assert_allclose(events[0][1], tw2.grad.numpy(), rtol=1e-6)
        np.testing.assert_allclose(events[2][1], tw1.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(events[0][1], w2.grad.numpy())
    # a second backward accumulates: the hook sees the sum
    events.clear()
    handle.remove()
    (x @ w1 @ w2).sum().backward()
    assert [name for name, _ in events] == ["w1"]
    # grad() writes no .grad: no post-accumulate hook runs
    events.clear()
    grad((x @ w1).sum(), [w1])
    assert events == []


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def test_post_accumulate_grad_hook_refusals(device):
    x = make([1.0], device, requires_grad=True)
    with pytest.raises(AutogradError, match="post accumulate grad hooks cannot be registered on non-leaf tensors"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(AutogradError, match="cannot register a hook on a tensor that does not require grad"):
        make([1.0], device).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(TypeError, match="expected a callable, got int"):
        x.register_post_accumulate_grad_hook(3)


def test_queue_callback_runs_when_backward_ends(device):
    from gpugrad.autograd.engine import queue_callback

    w = make([1.0, 2.0], device, requires_grad=True)
    v = make([3.0], device, requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(
        lambda t: queue_callback(lambda: seen.append((w.grad is not None, v.grad is not None))))
    ((w * v).sum() * 2).backward()
    assert seen == [(True, True)]  # after every .grad is written
    with pytest.raises(AutogradError, match="no backward is in progress"):
        queue_callback(lambda: None)


def test_post_accumulate_grad_hook_on_a_sparse_gradient(device):
    emb = gg.nn.Embedding(10, 3, sparse=True).to(device)
    seen = []
    emb.weight.register_post_accumulate_grad_hook(lambda t: seen.append(type(t.grad).__name__))
    emb(gg.tensor([1, 2, 2], device=device)).sum().backward()
    assert seen == ["SparseGrad"]
