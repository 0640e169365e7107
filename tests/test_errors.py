"""Error classes: each mistake raises a gpugrad error that is also the builtin PyTorch raises
for it (so ``except RuntimeError`` written for PyTorch catches it), and still the builtin it
was before. Every row is written once, as code valid for both frameworks (``T`` is gpugrad
or torch); with PyTorch installed the table is held to what PyTorch raises."""

import pytest

import gpugrad as gg
from gpugrad import errors


def _freed_graph(T):
    x = T.ones(2, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


def _saved_tensor_modified(T):
    x = T.ones(2, requires_grad=True)
    y = x * 1
    z = y.pow(2)  # saves y
    y.add_(1)
    z.sum().backward()


def _grad_of_wrong_shape(T):
    T.ones(2, requires_grad=True).grad = T.ones(3)


def _grad_of_wrong_dtype(T):
    T.ones(2, requires_grad=True).grad = T.ones(2, dtype=T.float64)


def _grad_not_a_tensor(T):
    T.ones(2, requires_grad=True).grad = 3


def _state_dict_missing_and_unexpected_keys(T):
    T.nn.Linear(2, 3).load_state_dict({"weight": T.zeros(3, 2), "extra": T.zeros(1)})


def _state_dict_size_mismatch(T):
    T.nn.Linear(2, 3).load_state_dict({"weight": T.zeros(1), "bias": T.zeros(3)}, strict=False)


# (mistake, code, the builtin PyTorch raises)
MISTAKES = [
    ("broadcasting shapes", lambda T: T.ones(2) + T.ones(3), RuntimeError),
    ("matmul shapes", lambda T: T.ones(2, 3) @ T.ones(4, 5), RuntimeError),
    ("reshape size", lambda T: T.ones(6).reshape(5), RuntimeError),
    ("cat shapes", lambda T: T.cat([T.ones(2, 3), T.ones(2, 4)]), RuntimeError),
    ("item of many elements", lambda T: T.ones(3).item(), RuntimeError),
    ("bool of many elements", lambda T: bool(T.ones(3)), RuntimeError),
    ("negative size", lambda T: T.zeros(-1), RuntimeError),
    ("requires_grad on ints", lambda T: T.ones(2, dtype=T.int64).requires_grad_(), RuntimeError),
    ("in-place result cannot be cast", lambda T: T.ones(2, dtype=T.int64).add_(T.ones(2) * 0.5), RuntimeError),
    ("in-place on a leaf", lambda T: T.ones(2, requires_grad=True).add_(1), RuntimeError),
    ("backward through a freed graph", _freed_graph, RuntimeError),
    ("saved tensor modified in place", _saved_tensor_modified, RuntimeError),
    ("backward without grad", lambda T: T.ones(2).sum().backward(), RuntimeError),
    ("unknown device name", lambda T: T.device("foo"), RuntimeError),
    ("mixed devices", lambda T: T.ones(2) + T.ones(2, device="cuda"), RuntimeError),
    ("randint low >= high", lambda T: T.randint(5, 2, (3,)), RuntimeError),
    ("arange step 0", lambda T: T.arange(0, 1, 0), RuntimeError),
    ("split size 0", lambda T: T.ones(4).split(0), RuntimeError),
    ("permute repeats a dim", lambda T: T.ones(2, 2).permute(0, 0), RuntimeError),
    ("flatten start after end", lambda T: T.ones(2, 3).flatten(1, 0), RuntimeError),
    ("grad of the wrong shape", _grad_of_wrong_shape, RuntimeError),
    ("grad of the wrong dtype", _grad_of_wrong_dtype, RuntimeError),
    ("load_state_dict keys", _state_dict_missing_and_unexpected_keys, RuntimeError),
    ("load_state_dict sizes", _state_dict_size_mismatch, RuntimeError),
    ("index out of range", lambda T: T.ones(3)[5], IndexError),
    ("dim out of range", lambda T: T.ones(3).sum(2), IndexError),
    ("len of a 0-d tensor", lambda T: len(T.tensor(1.0)), TypeError),
    ("grad not a tensor", _grad_not_a_tensor, TypeError),
    ("negative lr", lambda T: T.optim.SGD([T.ones(1, requires_grad=True)], lr=-1), ValueError),
    ("empty parameter list", lambda T: T.optim.SGD([], lr=1), ValueError),
    ("dropout p", lambda T: T.nn.Dropout(2), ValueError),
    ("reduction name", lambda T: T.nn.functional.mse_loss(T.ones(2), T.ones(2), reduction="x"), ValueError),
]
NEEDS_CUDA = {"mixed devices"}


@pytest.mark.parametrize("mistake, code, builtin", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_mistake_raises_what_pytorch_raises(mistake, code, builtin):
    if mistake in NEEDS_CUDA and not gg.cuda.is_available():
        pytest.skip("needs a cuda device (or the emulation)")
    with pytest.raises(builtin) as info:
        code(gg)
    assert isinstance(info.value, errors.GpugradError), f"{mistake}: {info.value!r} is not gpugrad's"


@pytest.mark.torch
@pytest.mark.parametrize("mistake, code, builtin", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_the_table_says_what_pytorch_raises(mistake, code, builtin):
    torch = pytest.importorskip("torch")
    if mistake in NEEDS_CUDA and not torch.cuda.is_available():
        pytest.skip("PyTorch has no CUDA here")
    with pytest.raises(builtin):
        code(torch)


@pytest.mark.parametrize("cls, builtins", [
    (errors.ArgumentError, (ValueError, RuntimeError)),
    (errors.ArgumentTypeError, (TypeError,)),
    (errors.ShapeError, (ValueError, RuntimeError)),
    (errors.DTypeError, (TypeError, RuntimeError)),
    (errors.DeviceError, (RuntimeError,)),
    (errors.BackendUnavailableError, (RuntimeError,)),
    (errors.GpugradIndexError, (IndexError,)),
    (errors.AutogradError, (RuntimeError,)),
    (errors.InplaceError, (RuntimeError,)),
    (errors.AnomalyError, (RuntimeError,)),
    (errors.GradcheckError, (RuntimeError,)),
])  # fmt: skip
def test_each_error_is_its_builtins_and_no_others(cls, builtins):
    err = cls("[op] expected this, got that")
    assert isinstance(err, errors.GpugradError) and str(err) == "[op] expected this, got that"
    for b in (ValueError, TypeError, RuntimeError, IndexError):
        assert isinstance(err, b) == (b in builtins), f"{cls.__name__} and {b.__name__}"
