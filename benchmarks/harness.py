"""Shared benchmark plumbing: timing with warm-up, medians with min/max, running a
framework in its own process with a fixed thread count, and writing results.

A framework with its own thread pool (PyTorch, OpenMP, the BLAS under NumPy) is timed in
a separate process whose environment pins every pool to the same number of threads, so
no framework competes with another's idle workers.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GPUGRAD_NUM_THREADS")


def interleaved(fns, repeats=15, warmup=3, min_block=0.05, number=None):
    """Seconds per call of each function in ``fns`` (a dict): ``repeats`` samples each, the
    functions taking turns block by block so that a slow spell of the machine slows them
    all alike. A block is ``number`` calls, or as many as last ``min_block`` s (so tiny
    calls are not timer noise), after ``warmup`` calls of each."""
    blocks = {}
    for name, fn in fns.items():
        for _ in range(warmup):
            fn()
        t0 = time.perf_counter()
        fn()
        blocks[name] = number or max(1, int(min_block / max(time.perf_counter() - t0, 1e-7)))
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            n = blocks[name]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - t0) / n)
    return samples


def time_it(fn, repeats=15, warmup=3, min_block=0.05):
    """Seconds per call of one function (see ``interleaved``)."""
    return interleaved({"fn": fn}, repeats, warmup, min_block)["fn"]


def time_events(fn, event, elapsed_ms, repeats=15, warmup=3, min_block=0.02):
    """Seconds per call of GPU work, by events recorded on the current stream around
    blocks of calls (``event()`` makes an event with ``record()`` and ``synchronize()``;
    ``elapsed_ms(start, end)`` reads the time between two): CUDA events through CuPy or
    PyTorch. A block lasts at least ``min_block`` s, after ``warmup`` calls."""

    def block(number):
        start, end = event(), event()
        start.record()
        for _ in range(number):
            fn()
        end.record()
        end.synchronize()
        return elapsed_ms(start, end) / 1e3 / number

    for _ in range(warmup):
        fn()
    number = max(1, int(min_block / max(block(1), 1e-7)))
    return [block(number) for _ in range(repeats)]


def cupy_events():
    """``(event, elapsed_ms)`` for ``time_events`` with CuPy."""
    import cupy

    return cupy.cuda.Event, cupy.cuda.get_elapsed_time


def torch_events():
    """``(event, elapsed_ms)`` for ``time_events`` with PyTorch."""
    import torch

    return (lambda: torch.cuda.Event(enable_timing=True)), (lambda start, end: start.elapsed_time(end))


def stats(samples):
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "samples": samples}


def run_rounds(module, cases, args, threads, rounds=3):
    """Run every case (a function name per framework) in its own process, ``rounds`` times
    taking turns, and pool each case's samples: a noisy neighbour then slows every
    framework alike instead of whichever happened to be running."""
    pooled = {name: [] for name in cases}
    for _ in range(rounds):
        for name, function in cases.items():
            pooled[name] += run_isolated(module, function, args, threads)["samples"]
    return {name: stats(samples) for name, samples in pooled.items()}


def run_isolated(module, function, args, threads):
    """Call ``module.function(**args)`` in a fresh interpreter with every thread pool set
    to ``threads``; return its (JSON) result."""
    env = dict(os.environ)
    for v in THREAD_VARS:
        env[v] = str(threads)
    here = os.path.dirname(os.path.abspath(__file__))
    code = (
        f"import json, sys, importlib; sys.path.insert(0, {here!r}); m = importlib.import_module({module!r}); "
        f"print('@@' + json.dumps(getattr(m, {function!r})(**json.loads({json.dumps(args)!r}))))"
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{module}.{function}({args}) failed:\n{r.stderr[-3000:]}")
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("@@")][-1]
    return json.loads(line[2:])


def environment(threads=None):
    import numpy as np

    env = {"date": time.strftime("%Y-%m-%d"), "host": platform.node(), "python": platform.python_version(),
           "numpy": np.__version__, "cores": os.cpu_count(), "threads": threads}
    try:
        with open("/proc/cpuinfo") as f:
            env["cpu"] = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        env["cpu"] = platform.processor() or "unknown"
    try:
        import gpugrad

        report = gpugrad.info(as_dict=True)  # what gpugrad already knows: native path, GPU, driver, CUDA, CuPy
        env["gpugrad_native"] = report["native_cpu_extension"]
        for key in ("gpu", "cuda_driver", "cuda_runtime", "cupy"):
            if key in report:
                env[key] = report[key]
    except Exception as exc:  # the benchmark still reports what it can
        env["gpugrad_native"] = f"unknown ({exc})"
    try:
        import torch

        env["torch"] = torch.__version__
    except ImportError:
        env["torch"] = None
    try:
        cfg = np.show_config(mode="dicts")
        env["blas"] = cfg["Build Dependencies"]["blas"]["name"]
    except Exception:
        env["blas"] = "unknown"
    return env


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def write(path, payload, markdown_lines):
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)
    md = os.path.splitext(path)[0] + ".md"
    env = payload["environment"]
    with open(md, "w") as f:
        f.write("\n".join(markdown_lines) + "\n\n" + ", ".join(f"{k} {v}" for k, v in env.items()) + "\n")
    print(f"wrote {path} and {md}")


def us(x):
    return f"{x * 1e6:.1f}"


def ms(x):
    return f"{x * 1e3:.2f}"


def cli(parser, run, benchmark, unit, argv=None):
    """A suite's command line: parse, run, print the table, write JSON/Markdown if asked."""
    args = parser().parse_args(argv)
    results, lines = run(args)
    print("\n".join(lines))
    if args.json:
        env = environment(getattr(args, "threads", 1))
        write(args.json, {"benchmark": benchmark, "environment": env, "unit": unit, "results": results}, lines)
