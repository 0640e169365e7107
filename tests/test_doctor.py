"""``gpugrad doctor``'s kernel check: with CUDA it compiles a kernel that includes
cuda_fp16.h and cuda_bf16.h as gpugrad's kernels do, and reports NVRTC's version, or
CuPy's error and what to install. A fake CuPy makes the compile fail or succeed at will;
the CUDA backend (a GPU, or the CUDA emulation in the tests) must compile it for real.

And what gpugrad.distributed can use: mpi4py and its MPI library (asked in a child process
that may fail, crash or hang), the MPI launcher, NCCL (its version, or why not)."""

import contextlib
import importlib
import json
import pathlib
import re
import shutil
import sys
from types import SimpleNamespace

import pytest

import gpugrad
from gpugrad.backend import cuda as backend_cuda
from gpugrad.backend import nccl
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
            runtime=SimpleNamespace(getDeviceProperties=lambda index: {"name": b"NVIDIA H200", "major": 9, "minor": 0},
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
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("kernels"))
    assert "compile failed: RuntimeError: Failed to find CUDA headers" in line
    assert "pip install 'cupy-cuda13x[ctk]'" in line
    for key in ("distributed_mpi", "distributed_launcher", "distributed_nccl"):
        assert re.search(rf"^{key} +\S", out, re.M), out


def test_doctor_json_has_the_compile_result(fake_cuda, capsys):
    fake_cuda(FakeCupy())
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kernels"] == "compile OK (NVRTC 13.0)" and report["gpu"] == "NVIDIA H200"
    assert report["distributed_mpi"].startswith(("mpi4py ", "mpi4py not installed: pip install 'gpugrad[mpi]'"))
    assert report["distributed_launcher"] == info_module._launcher_report()
    assert report["distributed_nccl"].startswith(("NCCL 2.", "unavailable: CuPy cannot load the NCCL library"))


def test_no_kernel_check_without_cuda(monkeypatch):
    monkeypatch.setattr(info_module, "cuda_available", lambda: False)
    monkeypatch.setattr(info_module, "cuda_unavailable_reason", lambda: "no GPU here")
    report = gpugrad.info(as_dict=True)
    assert report["cuda"] == "unavailable: no GPU here" and "kernels" not in report


@pytest.mark.gpu
@pytest.mark.skipif(not gpugrad.cuda.is_available(), reason="needs CUDA (a GPU or the CUDA emulation)")
def test_the_cuda_backend_compiles_the_probe_kernel():
    assert gpugrad.info(as_dict=True)["kernels"].startswith("compile OK (NVRTC ")


# -- gpugrad.distributed's parts ----------------------------------------------------------------

@pytest.fixture
def mpi_child(monkeypatch):
    """The MPI report asks a child process (this one has not started MPI) running ``code``."""
    if not info_module.is_mpi_available():
        pytest.skip("needs mpi4py: pip install 'gpugrad[mpi]'")
    monkeypatch.delitem(sys.modules, "mpi4py.MPI", raising=False)

    def run(code=None):
        if code is not None:
            monkeypatch.setattr(info_module, "_MPI_QUERY", code)
        return info_module._mpi_report()

    return run


def test_mpi_report_names_mpi4py_and_the_mpi_library(mpi_child):
    import mpi4py

    report = mpi_child()
    assert re.fullmatch(rf"mpi4py {re.escape(mpi4py.__version__)} on (MPICH|Open MPI|Intel|MVAPICH|Microsoft)[^\n]+",
                        report), report


@pytest.mark.parametrize("code,said", [
    ("import sys; sys.exit('Fatal error in MPI_Init: no PMI server')",
     r"MPI failed to start \(exit status 1: Fatal error in MPI_Init: no PMI server\)"),
    ("import os; os.abort()", r"MPI failed to start \(exit status -6\)"),
    ("import time; time.sleep(30)", r"starting MPI did not finish within 1 s"),
])
def test_mpi_report_survives_an_mpi_that_fails_crashes_or_hangs(mpi_child, monkeypatch, code, said):
    monkeypatch.setattr(info_module, "_MPI_TIMEOUT", 1)
    report = mpi_child(code)
    assert re.match(rf"mpi4py found, but {said}.*; pip install 'gpugrad\[mpi\]'", report), report


def test_mpi_report_runs_its_child_outside_the_launchers_job(mpi_child, monkeypatch):
    monkeypatch.setenv("PMI_FD", "7")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    monkeypatch.setenv("GPUGRAD_DOCTOR_KEPT", "yes")
    env = "import os; print(os.environ.get('PMI_FD'), os.environ.get('OMPI_COMM_WORLD_SIZE'))"
    assert mpi_child(f"{env}; print(os.environ.get('GPUGRAD_DOCTOR_KEPT'))") == "mpi4py None None on yes"


def test_mpi_report_asks_an_mpi_this_process_started_directly(monkeypatch):
    pytest.importorskip("mpi4py")
    library = "Open MPI v5.0.3, package: Open MPI builder, ident: 5.0.3\nMPI_Init: ...\n"
    monkeypatch.setitem(sys.modules, "mpi4py.MPI", SimpleNamespace(Get_library_version=lambda: library))
    monkeypatch.setattr(info_module, "_MPI_QUERY", "raise SystemExit('no child process may run')")
    import mpi4py

    report = info_module._mpi_report()
    assert report == f"mpi4py {mpi4py.__version__} on Open MPI v5.0.3, package: Open MPI builder, ident: 5.0.3"


def test_mpi_report_without_mpi4py_says_what_to_install(monkeypatch):
    monkeypatch.setattr(info_module, "is_mpi_available", lambda: False)
    assert info_module._mpi_report().startswith("mpi4py not installed: pip install 'gpugrad[mpi]' (mpi4py and MPICH")


def test_launcher_report(monkeypatch, tmp_path):
    beside = pathlib.Path(sys.executable).with_name("mpiexec")
    if beside.exists():
        assert info_module._launcher_report() == str(beside)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    report = info_module._launcher_report()
    assert report.startswith("not found: ") and "pip install 'gpugrad[mpi]'" in report, report


@pytest.mark.parametrize("binding,want", [
    ((SimpleNamespace(get_version=lambda: 22707), None), "NCCL 2.27.7 (through CuPy's cupy.cuda.nccl)"),
    ((None, "CuPy cannot load the NCCL library (libnccl.so.2): " + nccl.INSTALL_HINT),
     "unavailable: CuPy cannot load the NCCL library (libnccl.so.2): pip install 'nvidia-nccl-cu13' for CUDA 13 or "
     "'nvidia-nccl-cu12' for CUDA 12 (the NCCL wheel CuPy loads libnccl.so.2 from)"),
])
def test_nccl_report_with_cuda(fake_cuda, monkeypatch, binding, want):
    fake_cuda(FakeCupy())
    monkeypatch.setattr(nccl, "_load", lambda: binding)
    assert gpugrad.info(as_dict=True)["distributed_nccl"] == want


def test_nccl_report_of_a_broken_nccl(fake_cuda, monkeypatch):
    fake_cuda(FakeCupy())

    def broken():
        raise RuntimeError("NCCL_ERROR_SYSTEM_ERROR:\n unhandled system error")

    monkeypatch.setattr(nccl, "_load", lambda: (SimpleNamespace(get_version=broken), None))
    assert info_module._nccl_report() == "unavailable: RuntimeError: NCCL_ERROR_SYSTEM_ERROR: unhandled system error"


@pytest.mark.parametrize("binding,found", [((SimpleNamespace(available=True), None), "loads"),
                                           ((None, "no"), "does not load either: pip install 'nvidia-nccl-cu13'")])
def test_nccl_report_without_cuda_still_says_whether_the_library_loads(monkeypatch, binding, found):
    monkeypatch.setattr(info_module, "cuda_available", lambda: False)
    monkeypatch.setattr(info_module, "cuda_unavailable_reason", lambda: "no GPU here")
    monkeypatch.setattr(backend_cuda, "emulated", lambda: False)
    monkeypatch.setattr(nccl, "_load", lambda: binding)
    assert info_module._nccl_report().startswith(f"unavailable: needs CUDA (see cuda); the NCCL library {found}")


@pytest.mark.skipif(not backend_cuda.emulated(), reason="on the CUDA emulation")
def test_nccl_report_on_the_emulation():
    assert gpugrad.info(as_dict=True)["distributed_nccl"] == ("unavailable: gpugrad's CUDA runs on its emulation "
                                                              "(GPUGRAD_CUDA_EMULATION), which has no NCCL")
