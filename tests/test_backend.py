"""Device selection and the errors for a missing CUDA, checked on any machine by
simulating each way CUDA can be absent."""

import json
import sys
import types

import pytest

import gpugrad as gg
from gpugrad import backend
from gpugrad.backend import cuda as cuda_backend
from gpugrad.errors import BackendUnavailableError, DeviceError


@pytest.fixture
def fresh_selection(monkeypatch):
    """Forget the probed CUDA state and the default device; restore both afterwards."""
    monkeypatch.setattr(cuda_backend, "_probe_result", None)
    monkeypatch.setattr(backend, "_default", None)
    # no cuda backend made by an earlier test (on the emulation, say) may answer here
    monkeypatch.setattr(backend, "_backends", {k: v for k, v in backend._backends.items() if k.type == "cpu"})
    yield monkeypatch
    cuda_backend._probe_result = None


def _fake_cupy(monkeypatch, get_count):
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=get_count))
    monkeypatch.setitem(sys.modules, "cupy", fake)


def test_device_names():
    assert gg.device("cuda") == "cuda:0" and str(gg.device("cuda:1")) == "cuda:1"
    assert gg.device("CPU") == "cpu" and gg.device("cpu") != "cuda"
    with pytest.raises(DeviceError, match="expected 'cpu', 'cuda' or 'cuda:N'"):
        gg.device("tpu")
    with pytest.raises(DeviceError):
        gg.device("cuda:x")


def test_no_cupy_says_what_to_install(fresh_selection):
    fresh_selection.delenv("GPUGRAD_CUDA_EMULATION", raising=False)  # the real CuPy path, not the emulation
    fresh_selection.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    assert not gg.cuda.is_available()
    assert "CuPy is not installed" in gg.cuda.unavailable_reason()
    with pytest.raises(BackendUnavailableError, match=r"\[cuda\].*pip install 'gpugrad\[cuda13\]'"):
        gg.zeros(2, device="cuda")


def test_no_driver_is_reported(fresh_selection):
    fresh_selection.delenv("GPUGRAD_CUDA_EMULATION", raising=False)  # the real CuPy path, not the emulation
    def no_driver():
        raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")

    _fake_cupy(fresh_selection, no_driver)
    assert not gg.cuda.is_available()
    with pytest.raises(BackendUnavailableError, match="no usable NVIDIA driver"):
        gg.tensor([1.0]).to("cuda")


def test_no_gpu_is_reported(fresh_selection):
    fresh_selection.delenv("GPUGRAD_CUDA_EMULATION", raising=False)  # the real CuPy path, not the emulation
    _fake_cupy(fresh_selection, lambda: 0)
    assert "no NVIDIA GPU" in gg.cuda.unavailable_reason()
    with pytest.raises(BackendUnavailableError, match="no NVIDIA GPU"):
        gg.ones(1).cuda()


def test_auto_falls_back_to_cpu_and_env_var_is_honoured(fresh_selection):
    fresh_selection.delenv("GPUGRAD_CUDA_EMULATION", raising=False)  # the real CuPy path, not the emulation
    fresh_selection.setitem(sys.modules, "cupy", None)
    fresh_selection.setenv("GPUGRAD_DEVICE", "auto")
    assert gg.get_default_device() == "cpu"
    backend.set_default_device(None)
    fresh_selection.setenv("GPUGRAD_DEVICE", "cuda")
    with pytest.raises(BackendUnavailableError, match="GPUGRAD_DEVICE='cuda'"):
        gg.zeros(1)
    backend.set_default_device(None)
    fresh_selection.setenv("GPUGRAD_DEVICE", "gpu0")
    with pytest.raises(DeviceError, match="expected auto, cpu, cuda or cuda:N"):
        gg.zeros(1)


def test_set_default_device(fresh_selection, device):
    gg.set_default_device(device)
    assert gg.zeros(1).device == device
    gg.set_default_device("cpu")
    assert gg.zeros(1).device == "cpu"


def test_info_reports_backends():
    report = gg.info(as_dict=True)
    assert report["default_device"] in ("cpu", "cuda:0")
    assert "numpy" in report and "cuda" in report
    assert report["cuda"] == "available" or "unavailable" in report["cuda"]


def test_transfer_round_trip_keeps_gradients(device):
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(device) * 3
    assert y.device == device
    y.sum().backward()
    assert x.grad.device == "cpu" and x.grad.tolist() == [3.0, 3.0]
    assert x.cpu() is x


@pytest.mark.gpu
@pytest.mark.skipif(not gg.cuda.is_available(), reason="needs a CUDA GPU")
def test_mixing_cpu_and_cuda_names_both_devices():
    with pytest.raises(DeviceError, match="cpu and cuda:0"):
        gg.ones(2) + gg.ones(2, device="cuda")


def test_doctor_command(capsys):
    from gpugrad.cli import main

    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["default_device"] in ("cpu", "cuda:0") and "cuda" in report
    assert main(["doctor"]) == 0
    assert "native_cpu_extension" in capsys.readouterr().out
