"""The sdist carries every native source, and a wheel built from that sdist (what
``python -m build`` and pip do) ships the CUDA kernels, the CUDA emulation's headers and the
compiled CPU extension. Built from a copy of the checkout, without build isolation (no
network): pyproject.toml's build requirements come with the test extras. About half a
minute, most of it compiling gpugrad._C."""

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# what builds, tests and tools leave in a checkout (.gitignore's list): not part of the source
_IGNORED = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
                                  ".hypothesis", ".whl", ".venv", "*.so", "gpugrad-bench-results")


def LEFTOVERS(folder, names):  # noqa: N802 - stands for a constant, as ignore_patterns' result
    """The names above, and docker/local's downloads (the torch wheel, a CA bundle: ignored by
    git, hundreds of MB once docker/container-bench.sh has run)."""
    ignored = set(_IGNORED(folder, names))
    if Path(folder) == ROOT / "docker" / "local":
        ignored |= {n for n in names if n not in ("README.md", ".gitignore")}
    return ignored


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """(source copy, sdist member names without the top folder, wheel member names)."""
    tmp = tmp_path_factory.mktemp("packaging")
    src, out = tmp / "src", tmp / "dist"
    shutil.copytree(ROOT, src, ignore=LEFTOVERS)
    env = {k: v for k, v in os.environ.items() if k != "GPUGRAD_BUILD_NATIVE"}  # the extension must be built
    r = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
                       capture_output=True, text=True, env=env, timeout=900)
    log = r.stdout[-4000:] + r.stderr[-4000:]
    assert r.returncode == 0, f"python -m build failed (pip install -e '.[test]' brings build, pybind11, wheel):\n{log}"
    assert "Building wheel from sdist" in r.stdout + r.stderr, f"the wheel was not built from the sdist:\n{log}"
    [sdist] = out.glob("*.tar.gz")
    [wheel] = out.glob("*.whl")
    with tarfile.open(sdist) as tar:
        in_sdist = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    with zipfile.ZipFile(wheel) as whl:
        in_wheel = set(whl.namelist())
    return src, in_sdist, in_wheel, log


def _sources(src, folder, *patterns):
    return sorted(p.relative_to(src).as_posix() for pattern in patterns for p in (src / folder).rglob(pattern))


def test_sdist_has_every_native_source_and_the_build_files(dist):
    src, in_sdist, _, _ = dist
    native = _sources(src, "csrc", "*.cu", "*.cuh", "*.h", "*.cpp")
    assert any(p.startswith("csrc/cpu/") for p in native) and any(p.startswith("csrc/emu/include/") for p in native)
    missing = [p for p in native + ["setup.py", "pyproject.toml", "README.md"] if p not in in_sdist]
    assert not missing, f"the sdist lacks {missing} (MANIFEST.in)"


def test_wheel_from_the_sdist_ships_the_kernels_the_emulation_and_the_extension(dist):
    src, _, in_wheel, log = dist
    kernels = [p.name for p in (src / "csrc" / "cuda").iterdir() if p.suffix in (".cu", ".cuh")]
    assert "cross_entropy.cu" in kernels and "common.cuh" in kernels
    expected = [f"gpugrad/cuda_src/{name}" for name in kernels] + ["gpugrad/emu_src/gpugrad_emu.h"] + [
        f"gpugrad/emu_src/include/{p.name}" for p in (src / "csrc" / "emu" / "include").glob("*.h")]
    missing = [p for p in expected if p not in in_wheel]
    assert not missing, f"the wheel lacks {missing}"
    extension = [n for n in in_wheel if re.fullmatch(r"gpugrad/_C\.[^/]*(\.so|\.pyd)", n)]
    assert extension, f"the wheel has no compiled gpugrad._C (were the CPU sources in the sdist?); build log:\n{log}"
