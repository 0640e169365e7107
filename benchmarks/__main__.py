"""Run gpugrad's benchmark suites in one go: ``python -m benchmarks`` or ``gpugrad bench``.

    python -m benchmarks                 # every suite, full settings
    python -m benchmarks --quick         # a smoke run of about a minute (what CI runs)
    python -m benchmarks --suites cross_entropy mlp_step --threads 4 --out results/

Writes ``<out>/<gpu-or-host>-<date>.json`` (every figure, min/max and the environment),
the same name ``.md`` (the suites' tables) and ``-speedup.png`` / ``-mlp_step.png``
plots; ``<out>`` is ``./gpugrad-bench-results`` unless given, and a quick run's names end
in ``-quick`` so that it never replaces a full run of the same day. Frameworks with their
own thread pools run in separate processes with the same thread count; every comparison
is a ratio from the same run.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# in the folder the command runs in: a source tree (or an installed package) is no place
# for a user's results
DEFAULT_OUT = "gpugrad-bench-results"

import bench_cross_entropy  # noqa: E402
import bench_data_loader  # noqa: E402
import bench_e2e  # noqa: E402
import bench_gpu  # noqa: E402
import bench_linear_backward  # noqa: E402
import bench_mlp_step  # noqa: E402
import bench_overhead  # noqa: E402
import harness  # noqa: E402

SUITES = {"overhead": bench_overhead, "cross_entropy": bench_cross_entropy, "linear_backward": bench_linear_backward,
          "mlp_step": bench_mlp_step, "e2e": bench_e2e, "data_loader": bench_data_loader, "gpu": bench_gpu}
GPU_SUITES = {"gpu"}
QUICK = {
    "overhead": ["--number", "200", "--repeats", "3"],
    "cross_entropy": ["--rounds", "1", "--repeats", "3"],
    "linear_backward": ["--rounds", "1", "--repeats", "3", "--batches", "128", "--widths", "256"],
    "mlp_step": ["--rounds", "1", "--repeats", "2", "--batches", "32", "128"],
    "e2e": ["--target", "0.4", "--max-epochs", "5"],
    "data_loader": ["--items", "32", "--repeats", "2", "--rounds", "1"],
    "gpu": ["--repeats", "3", "--ce-shapes", "4096x10", "--batches", "128", "--widths", "256", "--mlp-batches", "256"],
}


def run_name(env, quick=False):
    gpu = env.get("gpu")
    base = gpu.replace(" ", "-") if gpu else f"{env['host']}-cpu"
    return "".join(ch for ch in base if ch.isalnum() or ch in "-_.") + "-" + env["date"] + ("-quick" if quick else "")


def speedups(all_results):
    """(label, PyTorch time / gpugrad time) for every comparison that has both."""
    out = []
    gpu = all_results.get("gpu", {})
    for prefix, results in (("", all_results), ("GPU ", gpu)):
        for section, label in (("cross_entropy", "cross-entropy {}"), ("mlp_step", "MLP step b={}"),
                               ("linear_backward", "linear+ReLU bwd {}")):
            for key, r in results.get(section, {}).items():
                if "torch" in r:
                    out.append((prefix + label.format(key), r["torch"]["median"] / r["gpugrad"]["median"]))
    e2e = all_results.get("e2e", {})
    if e2e.get("torch", {}).get("reached") and e2e.get("gpugrad", {}).get("reached"):
        out.append(("MNIST-1D time to target", e2e["torch"]["reached"]["seconds"] / e2e["gpugrad"]["reached"]["seconds"]))
    ov = all_results.get("overhead", {})
    if "torch" in ov:
        out.append(("per-op overhead", ov["torch"]["median"] / ov["gpugrad"]["median"]))
    return out


def plot(all_results, stem):
    """The speedup bars and the MLP step time against batch size, as PNGs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    sp = speedups(all_results)
    if sp:
        fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(sp)))
        ax.barh([s[0] for s in sp], [s[1] for s in sp], color="#3b7dd8")
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_xlabel("speedup over PyTorch eager (PyTorch time / gpugrad time)")
        fig.tight_layout()
        fig.savefig(stem + "-speedup.png", dpi=100)
        plt.close(fig)
        written.append(stem + "-speedup.png")
    mlp = all_results.get("mlp_step", {})
    if mlp:
        batches = sorted(int(b) for b in mlp)
        fig, ax = plt.subplots(figsize=(6, 4))
        for fw, label in (("gpugrad", "gpugrad"), ("torch", "PyTorch eager")):
            if all(fw in mlp[str(b)] for b in batches):
                ax.plot(batches, [mlp[str(b)][fw]["median"] * 1e3 for b in batches], "o-", label=label)
        ax.plot(batches, [mlp[str(b)]["gpugrad_gemms"]["median"] * 1e3 for b in batches], "k--",
                label="gpugrad's GEMMs, replayed")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        ax.set_ylabel("ms per SGD step")
        ax.set_title("MLP 784-1024-1024-10 training step")
        ax.legend()
        fig.tight_layout()
        fig.savefig(stem + "-mlp_step.png", dpi=100)
        plt.close(fig)
        written.append(stem + "-mlp_step.png")
    return written


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--suites", nargs="+", choices=sorted(SUITES),
                   help="default: every CPU suite, and the GPU suite when CUDA is available")
    p.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=DEFAULT_OUT,
                   help=f"folder for the results (default ./{DEFAULT_OUT}, in the current directory)")
    p.add_argument("--no-plots", action="store_true")
    args = p.parse_args(argv)
    from tqdm import tqdm

    import gpugrad

    # timings of the CUDA emulation (kernels on CPU threads) would say nothing about a GPU
    emulated = gpugrad.backend.cuda.emulated()
    cuda = gpugrad.cuda.is_available() and not emulated
    why = ("the CUDA device here is gpugrad's emulation (GPUGRAD_CUDA_EMULATION), which runs kernels on the CPU"
           if emulated else gpugrad.cuda.unavailable_reason())
    if args.suites is None:
        args.suites = [name for name in SUITES if cuda or name not in GPU_SUITES]
    elif not cuda and GPU_SUITES & set(args.suites):
        p.error(f"the GPU suite needs a CUDA GPU, which is not available here: {why}")

    env = harness.environment(args.threads)
    all_results, md = {}, [f"# gpugrad benchmarks, {env['date']}" + (" (quick smoke run)" if args.quick else ""), ""]
    started = time.perf_counter()
    for name in tqdm(args.suites, desc="suites", file=sys.stderr):
        module = SUITES[name]
        extra = QUICK[name] if args.quick else []
        threads = [] if name == "overhead" else ["--threads", str(args.threads)]
        results, lines = module.run(module.parser().parse_args(extra + threads))
        all_results[name] = results
        md += [f"## {name}", ""] + lines + [""]
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, run_name(env, args.quick))
    payload = {"environment": env, "quick": args.quick, "seconds": time.perf_counter() - started,
               "results": all_results, "speedups_vs_pytorch": dict(speedups(all_results))}
    with open(stem + ".json", "w") as f:
        json.dump(payload, f, indent=2)
    md += ["## Environment", "", ", ".join(f"{k}: {v}" for k, v in env.items())]
    with open(stem + ".md", "w") as f:
        f.write("\n".join(md) + "\n")
    written = [stem + ".json", stem + ".md"] + ([] if args.no_plots else plot(all_results, stem))
    print("\n".join(md))
    print("wrote " + ", ".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
