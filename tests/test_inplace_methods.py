"""Every in-place method with number and tensor operands (and alpha), inside a graph (on a
non-leaf, with the operand requiring grad or not) and outside one, held to PyTorch: the
values written and the gradients that reach the graph's leaves. Without PyTorch, the
arithmetic ones against hand-computed gradients, and the version checks of the fused ops
(linear + ReLU, cross-entropy's targets)."""

import numpy as np
import pytest

import gpugrad
from gpugrad.functional.linalg import linear_relu

try:
    import torch
except ImportError:
    torch = None


X = np.array([[1.0, -2.0, 3.0], [0.5, 2.5, -1.5]])
O = np.array([[0.5, 1.5, 2.5], [-1.0, 0.25, 2.0]])

# each takes the tensor to change and the operand tensor (same code for both libraries)
METHODS = {
    "add_number": lambda y, o: y.add_(1.5),
    "add_tensor": lambda y, o: y.add_(o),
    "add_number_alpha": lambda y, o: y.add_(1.5, alpha=2),
    "add_tensor_alpha": lambda y, o: y.add_(o, alpha=-3),
    "sub_number": lambda y, o: y.sub_(1.0),
    "sub_tensor": lambda y, o: y.sub_(o),
    "sub_number_alpha": lambda y, o: y.sub_(1.0, alpha=2),
    "sub_tensor_alpha": lambda y, o: y.sub_(o, alpha=0.5),
    "iadd_number": lambda y, o: y.__iadd__(1),
    "iadd_tensor": lambda y, o: y.__iadd__(o),
    "isub_number": lambda y, o: y.__isub__(1),
    "isub_tensor": lambda y, o: y.__isub__(o),
    "imul_number": lambda y, o: y.__imul__(3),
    "imul_tensor": lambda y, o: y.__imul__(o),
    "idiv_number": lambda y, o: y.__itruediv__(4),
    "idiv_tensor": lambda y, o: y.__itruediv__(o),
    "mul_number": lambda y, o: y.mul_(-2),
    "mul_tensor": lambda y, o: y.mul_(o),
    "div_number": lambda y, o: y.div_(2),
    "div_tensor": lambda y, o: y.div_(o),
    "pow_number": lambda y, o: y.pow_(2),
    "pow_tensor": lambda y, o: y.clamp_(min=0.1).pow_(o),  # a positive base for the fractional exponents
    "neg": lambda y, o: y.neg_(),
    "clamp": lambda y, o: y.clamp_(min=-0.5, max=2.0),
    "clamp_min": lambda y, o: y.clamp_(min=0.5),
    "clip_max": lambda y, o: y.clip_(max=1.0),
    "zero": lambda y, o: y.zero_(),
    "fill_number": lambda y, o: y.fill_(2.0),
    "fill_tensor": lambda y, o: y.fill_(o[0, 1]),
    "copy": lambda y, o: y.copy_(o),
    "copy_broadcast": lambda y, o: y.copy_(o[1]),
    "setitem_number": lambda y, o: y.__setitem__((0, 1), 5.0),
    "setitem_tensor": lambda y, o: y.__setitem__(slice(0, 1), o[1:]),
}  # fmt: skip


def _run(lib, method, x, o, x_grad, o_grad):
    """y = 2x changed in place, then (y * y).sum() backward: y's values and the leaves' grads."""
    tx = lib.tensor(x, requires_grad=x_grad)
    to = lib.tensor(o, requires_grad=o_grad)
    y = tx * 2
    method(y, to)
    if y.requires_grad:
        (y * y).sum().backward()
    grads = [None if t.grad is None else t.grad.detach().numpy() for t in (tx, to)]
    return y.detach().numpy(), grads


@pytest.mark.torch
@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("name", sorted(METHODS))
@pytest.mark.parametrize("requires", [(True, False), (True, True), (False, True), (False, False)],
                         ids=["graph", "graph-operand-too", "operand-only", "no-graph"])
def test_inplace_method_matches_pytorch(name, requires):
    x_grad, o_grad = requires
    y, grads = _run(gpugrad, METHODS[name], X, O, x_grad, o_grad)
    ty, tgrads = _run(torch, METHODS[name], X, O, x_grad, o_grad)
    np.testing.assert_allclose(y, ty, rtol=1e-12)
    for g, tg in zip(grads, tgrads):
        assert (g is None) == (tg is None)
        if g is not None:
            np.testing.assert_allclose(g, tg, rtol=1e-12)


@pytest.mark.torch
@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("name", sorted(METHODS))
def test_inplace_method_under_no_grad_matches_pytorch(name, device):
    y = gpugrad.tensor(X * 2, device=device)
    with gpugrad.no_grad():
        METHODS[name](y, gpugrad.tensor(O, device=device))
    ty = torch.tensor(X * 2)
    METHODS[name](ty, torch.tensor(O))
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-12)
    assert y._version >= 1


@pytest.mark.torch
@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("name", ["sub_number", "isub_number", "add_number_alpha", "sub_tensor_alpha", "fill_number"])
def test_inplace_method_in_a_graph_on_the_device(name, device):
    x = gpugrad.tensor(X, requires_grad=True, device=device)
    y = x * 2
    METHODS[name](y, gpugrad.tensor(O, device=device))
    (y * y).sum().backward()
    tx = torch.tensor(X, requires_grad=True)
    ty = tx * 2
    METHODS[name](ty, torch.tensor(O))
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_inplace_alpha_on_a_saved_tensor_is_caught():
    x = gpugrad.tensor(X, requires_grad=True)
    y = x * 2
    z = y * y  # saves y
    y.sub_(1.0, alpha=2)
    with pytest.raises(gpugrad.errors.InplaceError):
        z.sum().backward()


def test_fill_with_a_tensor_needs_a_0d_value():
    with pytest.raises(gpugrad.errors.ShapeError, match=r"\[fill_\] expected a 0-d value tensor, got shape \(3,\)"):
        gpugrad.zeros(3).fill_(gpugrad.ones(3))


# y = 2x changed by each step; y's value after it as a function of x, and d(sum(y * y))/dx = 2 y dy/dx
ARITHMETIC = [
    ("sub_(1.0)", lambda y: y.sub_(1.0), lambda x: 2 * x - 1, 2.0),
    ("-= 1", lambda y: y.__isub__(1), lambda x: 2 * x - 1, 2.0),
    ("add_(1.0, alpha=2)", lambda y: y.add_(1.0, alpha=2), lambda x: 2 * x + 2, 2.0),
    ("sub_(1.0, alpha=2)", lambda y: y.sub_(1.0, alpha=2), lambda x: 2 * x - 2, 2.0),
    ("mul_(2)", lambda y: y.mul_(2), lambda x: 4 * x, 4.0),
    ("div_(2)", lambda y: y.div_(2), lambda x: x, 1.0),
]


@pytest.mark.parametrize("name,method,value,slope", ARITHMETIC, ids=[a[0] for a in ARITHMETIC])
def test_inplace_arithmetic_with_numbers_on_a_non_leaf(name, method, value, slope, device):
    """Hand-computed: on y = 2x inside a graph, each number form changes y in place and the
    gradient of sum(y * y) is 2 y dy/dx."""
    x = gpugrad.tensor(X, requires_grad=True, device=device)
    y = x * 2
    assert method(y) is y and y.requires_grad
    (y * y).sum().backward()
    np.testing.assert_allclose(y.numpy(), value(X), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), 2 * value(X) * slope, rtol=1e-12)


def test_inplace_arithmetic_chain_on_a_non_leaf(device):
    """y.sub_(1.0); y -= 1; y.add_(1.0, alpha=2); y.mul_(2); y.div_(2) leaves y = 2x, and the
    gradient of sum(y * y) is 8x."""
    x = gpugrad.tensor(X, requires_grad=True, device=device)
    y = x * 2
    y.sub_(1.0)
    y -= 1
    y.add_(1.0, alpha=2)
    y.mul_(2)
    y.div_(2)
    (y * y).sum().backward()
    np.testing.assert_allclose(y.numpy(), 2 * X, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), 8 * X, rtol=1e-12)


# -- the fused ops check what they saved ---------------------------------------------------------
LINEAR_RELU = {
    "unfused": lambda x, lin: gpugrad.nn.functional.relu(gpugrad.nn.functional.linear(x, lin.weight, lin.bias)),
    "linear_relu": lambda x, lin: linear_relu(x, lin.weight, lin.bias),
    "Sequential": lambda x, lin: gpugrad.nn.Sequential(lin, gpugrad.nn.ReLU())(x),
}


@pytest.mark.parametrize("form", list(LINEAR_RELU))
def test_linear_relu_output_changed_in_place_is_caught(form, device):
    """The fused linear + ReLU reads its saved output (the ReLU mask) in backward through the
    version-checked path: changed in place after the forward, it raises the InplaceError the
    unfused form raises (rather than a gradient through the wrong mask)."""
    gpugrad.manual_seed(0)
    lin = gpugrad.nn.Linear(3, 5).to(device)
    x = gpugrad.randn(4, 3, device=device, requires_grad=True)
    y = LINEAR_RELU[form](x, lin)
    if form != "unfused":
        assert y.creator.name == "Linear"  # fused: one node
    LINEAR_RELU[form](x, lin).sum().backward()  # untouched, backward runs
    y.mul_(-1)
    with pytest.raises(gpugrad.errors.InplaceError, match=r"its output \(shape \(4, 5\).*modified by an in-place"):
        y.sum().backward()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("path", ["kernels", "composed"])
def test_cross_entropy_targets_changed_in_place_are_caught(reduction, path, device):
    """Cross-entropy's backward reads the targets again: changed in place after the forward
    (t[0] = ...), backward raises InplaceError instead of a gradient for other targets."""
    b = gpugrad.backend.get_backend(device)
    saved = b.kernels
    if path == "composed":
        b.kernels = None
    try:
        x = gpugrad.randn(3, 4, device=device, requires_grad=True)
        t = gpugrad.tensor([0, 1, 2], device=device)
        loss = gpugrad.nn.functional.cross_entropy(x, t, reduction=reduction)
        t[0] = 3
        with pytest.raises(gpugrad.errors.InplaceError, match=r"\[SoftmaxCrossEntropy\] input 1 \(shape \(3,\), int64\)"):
            loss.sum().backward()
    finally:
        b.kernels = saved
