"""ignore_index of the class-index losses: an integer within int64 (Python's or NumPy's),
checked before any kernel sees it; a float, a bool or a value past int64 is refused with
an error naming it, on every device and every path (native, CUDA, NumPy)."""

import numpy as np
import pytest
from helpers import make, settle

import gpugrad as gg
from gpugrad.nn import functional as NF

LOSSES = {
    "softmax_cross_entropy": lambda x, t, **kw: gg.functional.softmax_cross_entropy(x, t, reduction="sum", **kw),
    "cross_entropy": NF.cross_entropy,
    "nll_loss": lambda x, t, **kw: NF.nll_loss(NF.log_softmax(x, 1), t, **kw),
}


def _inputs(device):
    x = make(np.arange(12.0).reshape(3, 4) / 7, device, requires_grad=True)
    return x, make(np.array([0, 3, 1]), device)


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("bad, err, match", [
    (1.5, gg.errors.ArgumentTypeError, r"expected ignore_index to be an integer, got float 1\.5"),
    (1.0, gg.errors.ArgumentTypeError, "expected ignore_index to be an integer, got float"),
    (True, gg.errors.ArgumentTypeError, "expected ignore_index to be an integer, got bool"),
    (np.bool_(False), gg.errors.ArgumentTypeError, "expected ignore_index to be an integer, got bool"),
    ("1", gg.errors.ArgumentTypeError, "expected ignore_index to be an integer, got str"),
    (2**63, gg.errors.ArgumentError, r"expected ignore_index within int64 .*, got 9223372036854775808"),
    (-(2**63) - 1, gg.errors.ArgumentError, "expected ignore_index within int64"),
    (np.uint64(2**64 - 1), gg.errors.ArgumentError, "expected ignore_index within int64"),
])
def test_ignore_index_must_be_an_int64_integer(device, loss, bad, err, match):
    x, t = _inputs(device)
    with pytest.raises(err, match=r"\[(cross_entropy|nll_loss)\] " + match):
        settle(LOSSES[loss](x, t, ignore_index=bad))


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("value", [np.int32(3), np.int64(3), np.uint8(3), 2**63 - 1, -(2**63)])
def test_ignore_index_takes_any_integer_within_int64(device, loss, value):
    """NumPy integers count as the int of the same value; int64's ends ignore nothing."""
    x, t = _inputs(device)
    out = LOSSES[loss](x, t, ignore_index=value)
    out.sum().backward()
    x_ref, _ = _inputs(device)
    ref = LOSSES[loss](x_ref, t, ignore_index=int(value) if int(value) == 3 else -100)
    ref.sum().backward()
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), x_ref.grad.numpy(), rtol=1e-12, atol=1e-15)
    if int(value) == 3:
        assert not x.grad.numpy()[1].any()  # the row with target 3 is ignored


def test_probability_targets_check_ignore_index_too():
    x = gg.randn(2, 3)
    p = gg.tensor(np.full((2, 3), 1 / 3))
    with pytest.raises(gg.errors.ArgumentTypeError, match=r"\[cross_entropy\] expected ignore_index"):
        NF.cross_entropy(x, p, ignore_index=0.5)
