"""Helpers for the tests (importable from any test module)."""

import numpy as np

import gpugrad


def make(array, device, requires_grad=False, dtype=None):
    """A tensor on ``device`` from array-like data, keeping NumPy's dtype unless given."""
    arr = np.asarray(array)
    return gpugrad.tensor(arr, dtype=dtype or arr.dtype, device=device, requires_grad=requires_grad)


def close(t, expected, rtol=1e-6, atol=1e-6):
    np.testing.assert_allclose(np.asarray(t.numpy(), dtype=np.float64), expected, rtol=rtol, atol=atol)
