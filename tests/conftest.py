"""Shared fixtures: every test body runs once per available device.

The ``device`` fixture yields "cpu" and, where CuPy and a GPU answer, "cuda" (marked
``gpu`` so ``pytest -m gpu`` selects the CUDA cases alone; skipped cleanly elsewhere).
"""

import os

import pytest
from hypothesis import HealthCheck, settings

import gpugrad

settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.register_profile(
    "thorough", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

_CUDA = gpugrad.cuda.is_available()
_NO_CUDA_REASON = f"CUDA not available: {gpugrad.cuda.unavailable_reason()}"

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not _CUDA, reason=_NO_CUDA_REASON)]),
]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test starts in grad mode, without anomaly mode, with seeded generators."""
    gpugrad.autograd.set_detect_anomaly(False)
    gpugrad.set_grad_enabled(True)
    gpugrad.manual_seed(0)
    yield
    gpugrad.autograd.set_detect_anomaly(False)
    gpugrad.set_grad_enabled(True)

