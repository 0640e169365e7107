"""Every CUDA source compiles with NVRTC for sm_80 and sm_90 without an error or a warning.

NVRTC from the ``nvidia-cuda-nvrtc`` wheel (13.0 series) compiles without a GPU; the
CUDA headers (cuda_fp16.h, cuda_bf16.h) come from the ``nvidia-cuda-runtime`` wheel. Both
are in the test extras for Linux x86-64. This is what checks the CUDA code on machines
(and CI) without a GPU; the kernels' math is held to NumPy by the composed paths the GPU
tests compare against.
"""

import ctypes
import os
import re
from pathlib import Path

import pytest

SOURCES = sorted((Path(__file__).resolve().parent.parent / "csrc" / "cuda").glob("*.cu"))
ARCHS = ["compute_80", "compute_90"]


def _nvrtc():
    try:
        import nvidia
    except ImportError:
        pytest.skip("the nvidia-cuda-nvrtc / nvidia-cuda-runtime wheels are not installed (pip install -e '.[test]')")
    for root in nvidia.__path__:
        base = Path(root) / "cu13"
        lib, headers = base / "lib" / "libnvrtc.so.13", base / "include" / "cuda_fp16.h"
        if lib.exists() and headers.exists():
            ctypes.CDLL(str(base / "lib" / "libnvrtc-builtins.so.13.0"), mode=ctypes.RTLD_GLOBAL)
            return ctypes.CDLL(str(lib)), base / "include"
    pytest.skip("NVRTC 13 or the CUDA headers were not found in the nvidia wheels")


def compile_source(path, arch):
    """(return code, log, PTX) of NVRTC on one source."""
    nvrtc, include = _nvrtc()
    prog = ctypes.c_void_p()
    src = path.read_bytes()
    assert nvrtc.nvrtcCreateProgram(ctypes.byref(prog), src, path.name.encode(), 0, None, None) == 0
    opts = [f"--gpu-architecture={arch}", "-std=c++17", f"-I{path.parent}", f"-I{include}"]
    arr = (ctypes.c_char_p * len(opts))(*[o.encode() for o in opts])
    rc = nvrtc.nvrtcCompileProgram(prog, len(opts), arr)
    size = ctypes.c_size_t()
    nvrtc.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    nvrtc.nvrtcGetProgramLog(prog, log)
    ptx = b""
    if rc == 0:
        nvrtc.nvrtcGetPTXSize(prog, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        nvrtc.nvrtcGetPTX(prog, buf)
        ptx = buf.value
    nvrtc.nvrtcDestroyProgram(ctypes.byref(prog))
    return rc, log.value.decode(errors="replace"), ptx.decode(errors="replace")


def test_there_are_cuda_sources():
    assert [p.name for p in SOURCES] == sorted(["cross_entropy.cu", "linear.cu", "optim.cu"])


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_source_compiles_cleanly(path, arch):
    rc, log, ptx = compile_source(path, arch)
    assert rc == 0, f"{path.name} ({arch}) failed:\n{log}"
    assert "warning" not in log.lower(), f"{path.name} ({arch}) compiles with warnings:\n{log}"
    kernels = re.findall(r'extern "C" __global__ void (gpugrad_\w+)##name', path.read_text())
    assert kernels, f"{path.name} defines no gpugrad_ kernels"
    for stem in kernels:  # every dtype variant made it into the PTX
        for dt in re.findall(r"^GPUGRAD_\w+\((\w+),", path.read_text(), re.M):
            assert f".entry {stem}{dt}(" in ptx or f".entry {stem}{dt} (" in ptx, f"{stem}{dt} missing from the PTX"


def test_kernels_use_no_toolkit_header_beyond_fp16_bf16():
    for path in (Path(__file__).resolve().parent.parent / "csrc" / "cuda").glob("*.cu*"):
        includes = re.findall(r"#include\s*[<\"]([^>\"]+)[>\"]", path.read_text())
        assert set(includes) <= {"cuda_fp16.h", "cuda_bf16.h", "common.cuh"}, (path.name, includes)
        code = re.sub(r"//[^\n]*", "", path.read_text())  # comments may mention it
        assert "INFINITY" not in code, f"{path.name}: INFINITY is undefined under NVRTC"


def test_compile_errors_are_reported():
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        bad = Path(d) / "bad.cu"
        bad.write_text('extern "C" __global__ void k(float* x) { int unused; x[0] = 1.0f }\n')
        rc, log, _ = compile_source(bad, "compute_80")
        assert rc != 0 and "error" in log
    assert os.path.exists(SOURCES[0])
