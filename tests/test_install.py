"""``pip install -e .`` of a checkout named ``gpugrad``: ``import gpugrad`` from the folder
that holds the checkout must give the package, not the checkout's folder as an empty
namespace package (what setuptools' default editable install of a flat layout gives, its
import hook coming after the folder on sys.path)."""

import importlib.util
import os
import shutil
import site
import subprocess
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not all(importlib.util.find_spec(m) for m in ("pip", "setuptools", "wheel")),
                    reason="needs pip, setuptools and wheel")
def test_editable_install_wins_over_the_checkout_folder(tmp_path):
    checkout = tmp_path / "gpugrad"
    keep = ("setup.py", "pyproject.toml", "README.md", "MANIFEST.in", "gpugrad", "csrc")
    checkout.mkdir()
    for name in keep:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, checkout / name, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        else:
            shutil.copy2(src, checkout / name)

    # a bare environment that sees this interpreter's packages (numpy, pip, setuptools) by a
    # path entry, without their .pth files: this gpugrad's own editable install stays out
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    dirs = [d for d in [*site.getsitepackages(), site.getusersitepackages()] if os.path.isdir(d)]
    Path(purelib, "_host_packages.pth").write_text("\n".join(dirs) + "\n")

    env = {**os.environ, "GPUGRAD_BUILD_NATIVE": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-build-isolation",
                    "-e", str(checkout)], cwd=tmp_path, env=env, check=True, timeout=300)

    check = textwrap.dedent("""
        import gpugrad, gpugrad.added_after_install
        print(gpugrad.__file__)
        print(gpugrad.zeros(2).shape)
    """)
    (checkout / "gpugrad" / "added_after_install.py").write_text("")  # a new module needs no reinstall
    out = subprocess.run([python, "-c", check], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(checkout / "gpugrad" / "__init__.py"), "(2,)"]
