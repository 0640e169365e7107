"""``gpugrad doctor``'s kernel check: with CUDA it compiles a kernel that includes
cuda_fp16.h and cuda_bf16.h as gpugrad's kernels do, and reports NVRTC's version, or
CuPy's error and what to install. A fake CuPy makes the compile fail or succeed at will;
the CUDA backend (a GPU, or the CUDA emulation in the tests) must compile it for real."""

import contextlib
import importlib
import json
from types import SimpleNamespace

import pytest

import gpugrad
from gpugrad.cli import main

info_module = importlib.import_module("gpugrad.info")  # gpugrad.info is the function


class FakeCupy:
    """What ``info()`` reads of CuPy: the device, the runtime, NVRTC and RawModule, whose
    compile (at ``get_function``, as in CuPy) raises ``compile_error`` when given."""

    __version__ = "14.2.0"

    def __init__(self, compile_error=None, runtime=13000):
        self.compiled = []
        fake = self

        class RawModule:
            def __init__(self, code, options=()):
                self.code, self.options = code, options

            def get_function(self, name):
                if compile_error is not None:
                    raise compile_error
                fake.compiled.append((self.code, self.options, name))
                return name

        self.RawModule = RawModule
        self.cuda = SimpleNamespace(
            Device=lambda index: contextlib.nullcontext(),
            nvrtc=SimpleNamespace(getVersion=lambda: (13, 0)),
            runtime=SimpleNamespace(getDeviceProperties=lambda index: {"name": b"NVIDIA H200"},
                                    runtimeGetVersion=lambda: runtime, driverGetVersion=lambda: 13000))


HEADERS_MISSING = RuntimeError("Failed to find CUDA headers (cuda_fp16.h)\nSet CUDA_PATH or install the CUDA toolkit")


def test_compile_ok_reports_nvrtc_and_compiles_what_the_kernels_include():
    cupy = FakeCupy()
    assert info_module._kernel_report(cupy, 13) == "compile OK (NVRTC 13.0)"
    [(code, options, name)] = cupy.compiled
    assert "#include <cuda_fp16.h>" in code and "#include <cuda_bf16.h>" in code
    assert f"void {name}(" in code and "-std=c++17" in options


@pytest.mark.parametrize("major,wheel,extra", [(13, "cupy-cuda13x[ctk]", "gpugrad[cuda13]"),
                                               (12, "cupy-cuda12x[ctk]", "gpugrad[cuda]")])
def test_compile_failure_reports_cupys_error_and_what_to_install(major, wheel, extra):
    report = info_module._kernel_report(FakeCupy(HEADERS_MISSING, runtime=major * 1000), major)
    assert report.startswith("compile failed: RuntimeError: Failed to find CUDA headers (cuda_fp16.h) Set CUDA_PATH")
    assert f"pip install '{wheel}'" in report and f"pip install '{extra}'" in report
    other = "cupy-cuda12x" if major == 13 else "cupy-cuda13x"
    assert other not in report


def test_unknown_cuda_version_names_both_wheels_and_a_long_log_is_cut_to_one_line():
    log = "\n".join(f"kernel.cu({i}): error: identifier undefined" for i in range(500))
    report = info_module._kernel_report(FakeCupy(RuntimeError(log)), 14)
    assert "\n" not in report and "... (cut)" in report and len(report) < 1200
    assert "pip install 'cupy-cuda13x[ctk]' or pip install 'cupy-cuda12x[ctk]'" in report


@pytest.fixture
def fake_cuda(monkeypatch):
    """``gpugrad doctor`` sees CUDA with the given fake CuPy (the default device stays the CPU)."""

    def install(cupy):
        monkeypatch.setattr(info_module, "cuda_available", lambda: True)
        monkeypatch.setattr(info_module, "get_default_device", lambda: "cpu")
        monkeypatch.setattr(gpugrad.backend.cuda, "probe", lambda refresh=False: (cupy, 1, None))

    return install


def test_doctor_prints_the_compile_failure(fake_cuda, capsys):
    fake_cuda(FakeCupy(HEADERS_MISSING))
    assert main(["doctor"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("kernels"))
    assert "compile failed: RuntimeError: Failed to find CUDA headers" in line
    assert "pip install 'cupy-cuda13x[ctk]'" in line


def test_doctor_json_has_the_compile_result(fake_cuda, capsys):
    fake_cuda(FakeCupy())
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kernels"] == "compile OK (NVRTC 13.0)" and report["gpu"] == "NVIDIA H200"


def test_no_kernel_check_without_cuda(monkeypatch):
    monkeypatch.setattr(info_module, "cuda_available", lambda: False)
    monkeypatch.setattr(info_module, "cuda_unavailable_reason", lambda: "no GPU here")
    report = gpugrad.info(as_dict=True)
    assert report["cuda"] == "unavailable: no GPU here" and "kernels" not in report


@pytest.mark.gpu
@pytest.mark.skipif(not gpugrad.cuda.is_available(), reason="needs CUDA (a GPU or the CUDA emulation)")
def test_the_cuda_backend_compiles_the_probe_kernel():
    assert gpugrad.info(as_dict=True)["kernels"].startswith("compile OK (NVRTC ")
