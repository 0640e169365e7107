"""Shared fixtures: every test body runs once per available device.

The ``device`` fixture yields "cpu" and "cuda" (marked ``gpu`` so ``pytest -m gpu``
selects the CUDA cases alone). Without a GPU the cuda cases run on the CUDA emulation
(``GPUGRAD_CUDA_EMULATION=1``, set here before gpugrad probes CUDA): the real backend and
kernels on a CuPy stand-in, so CI without a GPU tests them too. They are skipped only
when the user sets ``GPUGRAD_CUDA_EMULATION=0`` or no C++ compiler is found (the emulator
compiles the kernels). Tests that do not name a device stay on the CPU
(``GPUGRAD_DEVICE=cpu`` unless set): ``auto`` would pick the emulated device. A cuda
case that leaves a device check pending (the CUDA backend raises a bad index at the next
read, not at once) fails in its own teardown rather than in a later test.
"""

import os
import shutil

import numpy as np
import pytest
from helpers import KernelSwitch
from hypothesis import HealthCheck, settings

import gpugrad

settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.register_profile(
    "thorough", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _use_emulation():
    """Switch to the CUDA emulation where no GPU answers (unless the user chose: 0 = off);
    the reason the cuda cases cannot run, or None."""
    spec = os.environ.get("GPUGRAD_CUDA_EMULATION", "").strip()
    if spec == "0" or (not spec and gpugrad.cuda.is_available()):
        return None
    if not spec:
        cxx = os.environ.get("CXX", "g++")
        if shutil.which(cxx) is None:
            return f"no GPU, and no C++ compiler ({cxx!r}) for the CUDA emulation"
        os.environ["GPUGRAD_CUDA_EMULATION"] = "1"
        gpugrad.backend.cuda.probe(refresh=True)
    os.environ.setdefault("GPUGRAD_DEVICE", "cpu")
    return None


_NO_EMULATION = _use_emulation()
_CUDA = gpugrad.cuda.is_available()
_NO_CUDA_REASON = _NO_EMULATION or f"CUDA not available: {gpugrad.cuda.unavailable_reason()}"

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not _CUDA, reason=_NO_CUDA_REASON)]),
]


@pytest.fixture(params=DEVICES)
def device(request):
    yield request.param
    if request.param == "cuda":
        # a check the device defers to the next read (an index out of range) fails the
        # test that made it, not the first read of some later test
        gpugrad.cuda.synchronize()


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test starts in grad mode, without anomaly mode, with seeded generators."""
    gpugrad.autograd.set_detect_anomaly(False)
    gpugrad.set_grad_enabled(True)
    gpugrad.manual_seed(0)
    yield
    gpugrad.autograd.set_detect_anomaly(False)
    gpugrad.set_grad_enabled(True)


@pytest.fixture
def cuda_device(device):
    """The cuda case only: the cuda backend with its kernels on, as a KernelSwitch whose
    ``composed(fn)`` runs ``fn`` with them off (the reference the kernels are held to)."""
    if device != "cuda":
        pytest.skip("compares the CUDA kernels with the composed path (its cuda case)")
    b = gpugrad.backend.get_backend("cuda")
    switch = KernelSwitch(b, b.kernels)
    yield switch
    switch.restore()


@pytest.fixture
def blobs(tmp_path):
    """A small .npz data set for gpugrad train: 300 examples of 5 features in 3 blobs."""
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 5)) * 3
    y = rng.integers(0, 3, 300)
    x = centers[y] + rng.standard_normal((300, 5))
    path = tmp_path / "blobs.npz"
    np.savez(path, x=x, y=y)
    return str(path)
