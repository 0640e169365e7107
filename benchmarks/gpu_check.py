"""The Python half of ``benchmarks/gpu_check.sh``: the record of the GPU and the versions,
and the closing summary of the run's steps.

    python3 benchmarks/gpu_check.py environment OUTDIR   # OUTDIR/environment.json, nvidia-smi.txt
    python3 benchmarks/gpu_check.py summary OUTDIR       # OUTDIR/summary.json; exit 1 if a step failed

The shell script appends one line per step to ``OUTDIR/steps.tsv``: name, exit code (``-``
when it was not run), seconds, time budget and log file, separated by tabs.
"""

import json
import platform
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

SMI_FIELDS = ("index", "name", "driver_version", "memory.total", "compute_cap", "pci.bus_id")
TIMED_OUT = {124: "timed out", 137: "killed after timing out"}  # what timeout(1) returns


def _run(cmd):
    """(exit code, stdout + stderr) of a command; 127 when it is not installed."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        return 127, f"{cmd[0]}: not found"
    except subprocess.TimeoutExpired:
        return 124, f"{' '.join(cmd)}: no answer in 60 s"
    return r.returncode, r.stdout + r.stderr


def parse_smi_query(text, fields=SMI_FIELDS):
    """The rows of ``nvidia-smi --query-gpu=... --format=csv,noheader`` as dicts."""
    return [dict(zip(fields, (v.strip() for v in line.split(",")))) for line in text.splitlines() if line.strip()]


def smi_cuda_version(text):
    """The CUDA version the driver supports, from plain ``nvidia-smi``'s header, or None."""
    m = re.search(r"CUDA Version:\s*([0-9.]+)", text)
    return m.group(1) if m else None


def _version(tool):
    """The last line of ``tool --version`` (where nvcc and compute-sanitizer give theirs),
    or None when the tool is missing or fails."""
    rc, text = _run([tool, "--version"])
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if rc == 0 and lines else None


def environment(outdir):
    """Write environment.json (nvidia-smi's view, gpugrad.info(), Python, PyTorch, the CUDA
    tools) and nvidia-smi.txt; 0 when gpugrad sees CUDA and its kernel check compiles, else 1."""
    out = Path(outdir)
    rc, smi_text = _run(["nvidia-smi"])
    (out / "nvidia-smi.txt").write_text(smi_text)
    _, query = _run(["nvidia-smi", f"--query-gpu={','.join(SMI_FIELDS)}", "--format=csv,noheader"])
    env = {"nvidia_smi": {"gpus": parse_smi_query(query) if rc == 0 else [], "cuda_version": smi_cuda_version(smi_text)},
           "python": platform.python_version(),
           "nvcc": _version("nvcc"),
           "compute_sanitizer": _version("compute-sanitizer")}
    problems = [] if rc == 0 else [f"nvidia-smi failed: {smi_text.strip()[:300]}"]
    try:
        import gpugrad

        env["gpugrad"] = gpugrad.info(as_dict=True)
    except Exception as exc:  # recorded, not raised: the steps after this one still run
        env["gpugrad"] = {"error": f"{type(exc).__name__}: {exc}"}
    g = env["gpugrad"]
    if g.get("cuda") != "available":
        problems.append(f"gpugrad: cuda {g.get('cuda', g.get('error'))}")
    elif not g.get("kernels", "").startswith("compile OK"):
        problems.append(f"gpugrad: kernels {g.get('kernels')}")
    try:
        import torch

        env["torch"] = {"version": torch.__version__, "cuda": torch.version.cuda}
    except ImportError:
        env["torch"] = None
    env["problems"] = problems
    (out / "environment.json").write_text(json.dumps(env, indent=2) + "\n")
    for p in problems:
        print(f"environment: {p}", file=sys.stderr)
    return 1 if problems else 0


def sanitizer_summary(text):
    """compute-sanitizer's closing line and its error count (None where the log has none,
    as when the run was cut short)."""
    lines = re.findall(r"^=+ ((?:ERROR|RACECHECK) SUMMARY: .*)$", text, re.M)
    if not lines:
        return {"summary": None, "errors": None}
    last = lines[-1]
    m = re.search(r"\((\d+) errors?" if last.startswith("RACECHECK") else r"SUMMARY: (\d+) errors?", last)
    return {"summary": last, "errors": int(m.group(1)) if m else None}


def junit_counts(path):
    """tests / failures / errors / skipped of a pytest JUnit XML file, or None."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    return {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}


def train_record(path):
    """The training run's epochs, final accuracy and CUDA memory at the first and last epoch."""
    try:
        history = json.loads(Path(path).read_text())["history"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    rec = {"epochs": len(history), "final_test_acc": history[-1]["test_acc"] if history else None}
    for key in ("cuda_memory_allocated", "cuda_memory_reserved"):
        values = [h[key] for h in history if key in h]
        rec[key] = [values[0], values[-1]] if values else None
    return rec


def read_steps(outdir):
    steps = []
    path = Path(outdir) / "steps.tsv"
    for line in path.read_text().splitlines() if path.exists() else []:
        name, rc, seconds, budget, log = line.split("\t")
        steps.append({"name": name, "exit_code": None if rc == "-" else int(rc), "seconds": int(seconds),
                      "budget": int(budget), "log": log})
    return steps


def _where(env):
    """The GPU, driver, CUDA and CuPy in one line, from environment.json's record."""
    if env is None:
        return "no environment.json"
    g, smi = env.get("gpugrad", {}), env.get("nvidia_smi", {})
    gpu = (smi.get("gpus") or [{}])[0]
    return (f"{g.get('gpu') or gpu.get('name', '?')}, driver {gpu.get('driver_version', '?')} "
            f"(CUDA {smi.get('cuda_version') or '?'}), CUDA runtime {g.get('cuda_runtime', '?')}, CuPy {g.get('cupy', '?')}")


def _detail(step, out, env):
    """A few words on a step's result beyond its exit code."""
    if step["exit_code"] is None:
        return "not run: no time left"
    words = [TIMED_OUT[step["exit_code"]]] if step["exit_code"] in TIMED_OUT else []
    log = out / step["log"]
    if step["name"] == "environment" and env is not None:
        words += env.get("problems", [])
    elif step["name"] in ("memcheck", "racecheck") and log.exists():
        san = sanitizer_summary(log.read_text(errors="replace"))
        step["sanitizer"] = san
        words.append(san["summary"] or "no sanitizer summary in the log")
    elif step["name"] == "pytest-gpu":
        counts = step["junit"] = junit_counts(out / "pytest-gpu.xml")
        if counts:
            words.append("{tests} tests, {failures} failed, {errors} errors, {skipped} skipped".format(**counts))
    elif step["name"] == "train":
        rec = step["train"] = train_record(out / "train.json")
        if rec and rec["final_test_acc"] is not None:
            words.append(f"{rec['epochs']} epochs, test accuracy {rec['final_test_acc']:.3f}")
            if rec["cuda_memory_allocated"]:
                a, r = rec["cuda_memory_allocated"], rec["cuda_memory_reserved"]
                words.append(f"pool allocated {a[0]} -> {a[1]} B, reserved {r[0]} -> {r[1]} B")
    return "; ".join(words)


def summarize(outdir):
    """Write summary.json, print the table; 0 when every step exited 0, else 1."""
    out = Path(outdir)
    try:
        env = json.loads((out / "environment.json").read_text())
    except (OSError, ValueError):
        env = None
    steps = read_steps(out)
    for s in steps:
        s["detail"] = _detail(s, out, env)
        s["ok"] = s["exit_code"] == 0
    failed = [s["name"] for s in steps if not s["ok"]]
    where = _where(env)
    ok = bool(steps) and not failed
    (out / "summary.json").write_text(json.dumps({"ok": ok, "failed": failed, "where": where, "steps": steps},
                                                 indent=2) + "\n")
    print(f"gpu_check: {where}")
    width = max([len(s["name"]) for s in steps] + [4])
    print(f"{'step':<{width}}  exit  seconds/budget  result")
    for s in steps:
        rc = "-" if s["exit_code"] is None else s["exit_code"]
        print(f"{s['name']:<{width}}  {rc!s:>4}  {s['seconds']:>7}/{s['budget']:<6}  "
              f"{'ok' if s['ok'] else 'FAILED'}{': ' + s['detail'] if s['detail'] else ''}")
    overall = "failed: " + ", ".join(failed) if failed else "every step passed" if steps else "no step ran"
    print(f"overall: {overall}; results and logs in {out}")
    return 0 if ok else 1


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] not in ("environment", "summary"):
        print("usage: gpu_check.py environment|summary OUTDIR", file=sys.stderr)
        return 2
    return (environment if argv[0] == "environment" else summarize)(argv[1])


if __name__ == "__main__":
    sys.exit(main())
