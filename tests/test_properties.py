"""Property tests (hypothesis): broadcasting, reductions and indexing against NumPy,
forward and backward, on every device."""

import numpy as np
from helpers import make
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gpugrad as gg

small_floats = st.floats(-10, 10, allow_nan=False, width=64)


def _unbroadcast(g, shape):
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True) if shape else g.sum()


@given(st.data(), hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4))
def test_broadcast_binary_ops(device, data, shapes):
    sa, sb = shapes.input_shapes
    a = data.draw(hnp.arrays(np.float64, sa, elements=small_floats))
    b = data.draw(hnp.arrays(np.float64, sb, elements=st.floats(0.5, 3, width=64)))
    ta, tb = make(a, device, requires_grad=True), make(b, device, requires_grad=True)
    out = ta * tb + ta / tb
    np.testing.assert_allclose(out.numpy(), a * b + a / b, rtol=1e-12)
    assert out.shape == shapes.result_shape
    out.sum().backward()
    ones = np.ones(shapes.result_shape)
    np.testing.assert_allclose(ta.grad.numpy(), _unbroadcast(ones * (b + 1 / b), sa), rtol=1e-10)
    np.testing.assert_allclose(tb.grad.numpy(), _unbroadcast(ones * (a - a / b**2), sb), rtol=1e-10, atol=1e-12)


@st.composite
def array_and_axis(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, max_side=5))
    # small integers make ties common, which exercises the tie rule
    x = draw(hnp.arrays(np.float64, shape, elements=st.integers(-3, 3).map(float)))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return x, axis, draw(st.booleans())


@given(array_and_axis())
def test_reductions_match_numpy(device, case):
    x, axis, keepdim = case
    t = make(x, device, requires_grad=True)
    np.testing.assert_allclose(t.sum(axis, keepdim=keepdim).numpy(), x.sum(axis, keepdims=keepdim))
    np.testing.assert_allclose(t.mean(axis, keepdim=keepdim).numpy(), x.mean(axis, keepdims=keepdim))
    np.testing.assert_allclose(t.logsumexp(axis).numpy(), np.log(np.exp(x).sum(axis)), rtol=1e-12)
    values, indices = t.max(axis, keepdim=keepdim)
    np.testing.assert_array_equal(values.numpy(), x.max(axis, keepdims=keepdim))
    np.testing.assert_array_equal(indices.numpy(), np.expand_dims(x.argmax(axis), axis) if keepdim else x.argmax(axis))
    values.sum().backward()
    expected = np.zeros_like(x)  # the gradient goes to the first maximum only
    np.put_along_axis(expected, np.expand_dims(x.argmax(axis), axis), 1.0, axis)
    np.testing.assert_array_equal(t.grad.numpy(), expected)
    assert t.argmin().item() == x.argmin()


@given(st.data())
def test_advanced_indexing_accumulates_repeats(device, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    x = data.draw(hnp.arrays(np.float64, shape, elements=small_floats))
    idx = data.draw(hnp.arrays(np.int64, st.integers(1, 8), elements=st.integers(-shape[0], shape[0] - 1)))
    t = make(x, device, requires_grad=True)
    picked = t[gg.tensor(idx, device=device)]
    np.testing.assert_array_equal(picked.numpy(), x[idx])
    w = np.arange(picked.numel(), dtype=np.float64).reshape(picked.shape)
    (picked * make(w, device)).sum().backward()
    expected = np.zeros_like(x)
    np.add.at(expected, idx, w)
    np.testing.assert_allclose(t.grad.numpy(), expected)


@given(st.data())
def test_boolean_mask_and_slices(device, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=5))
    x = data.draw(hnp.arrays(np.float64, shape, elements=small_floats))
    mask = data.draw(hnp.arrays(np.bool_, shape))
    t = make(x, device, requires_grad=True)
    sel = t[make(mask, device)]
    np.testing.assert_array_equal(sel.numpy(), x[mask])
    start = data.draw(st.integers(0, shape[0]))
    step = data.draw(st.integers(1, 3))
    sl = t[start::step]
    np.testing.assert_array_equal(sl.numpy(), x[start::step])
    (sel.sum() + sl.sum() * 2).backward()
    expected = mask.astype(float)
    expected[start::step] += 2
    np.testing.assert_array_equal(t.grad.numpy(), expected)
