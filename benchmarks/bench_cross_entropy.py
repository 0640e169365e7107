"""Cross-entropy forward + backward on the CPU: gpugrad (fused kernel) vs PyTorch
``F.cross_entropy`` + backward vs the NumPy composition (log-softmax, gather, mean, and
the hand-written gradient). Each framework runs in its own process with the same number
of threads.

    python benchmarks/bench_cross_entropy.py [--threads 2] [--json benchmarks/results/ce-cpu-DATE.json]
"""

import argparse

import harness
import numpy as np

SHAPES = [(4096, 1000), (4096, 10)]


def _data(n, c):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, c)).astype(np.float32), rng.integers(0, c, n)


def gpugrad_case(n, c, repeats):
    import gpugrad as gg
    from gpugrad.nn import functional as NF

    xa, ta = _data(n, c)
    x, t = gg.tensor(xa, requires_grad=True), gg.tensor(ta)

    def step():
        x.grad = None
        NF.cross_entropy(x, t).backward()

    return harness.stats(harness.time_it(step, repeats))


def torch_case(n, c, repeats):
    import torch

    torch.set_num_threads(int(__import__("os").environ["OMP_NUM_THREADS"]))
    xa, ta = _data(n, c)
    x, t = torch.tensor(xa, requires_grad=True), torch.tensor(ta)

    def step():
        x.grad = None
        torch.nn.functional.cross_entropy(x, t).backward()

    return harness.stats(harness.time_it(step, repeats))


def numpy_case(n, c, repeats):
    x, t = _data(n, c)
    rows = np.arange(n)

    def step():
        m = x.max(axis=1, keepdims=True)
        z = x - m
        lse = np.log(np.exp(z).sum(axis=1, keepdims=True))
        logp = z - lse
        loss = -logp[rows, t].mean()
        g = np.exp(logp)
        g[rows, t] -= 1.0
        g /= n
        return loss, g

    return harness.stats(harness.time_it(step, repeats))


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=10, help="timed samples per process")
    p.add_argument("--rounds", type=int, default=3, help="processes per framework, taking turns")
    p.add_argument("--json")
    return p


def run(args):
    """(results, Markdown lines) for the parsed ``args``."""
    frameworks = ["gpugrad", "numpy"] + (["torch"] if harness.torch_available() else [])
    results = {}
    lines = [f"Cross-entropy forward + backward, float32, {args.threads} threads, median of {args.rounds} x "
             f"{args.repeats} samples (ms)", "",
             "| shape | gpugrad | PyTorch | NumPy | PyTorch / gpugrad | NumPy / gpugrad |", "|---|---:|---:|---:|---:|---:|"]
    for n, c in SHAPES:
        key = f"{n}x{c}"
        results[key] = harness.run_rounds("bench_cross_entropy", {fw: f"{fw}_case" for fw in frameworks},
                                          dict(n=n, c=c, repeats=args.repeats), args.threads, args.rounds)
        r = results[key]
        g = r["gpugrad"]["median"]
        tt = r["torch"]["median"] if "torch" in r else float("nan")
        lines.append(f"| ({n}, {c}) | {harness.ms(g)} | {harness.ms(tt)} | {harness.ms(r['numpy']['median'])} | "
                     f"{tt / g:.2f} | {r['numpy']['median'] / g:.2f} |")
    lines += ["", "min/max (ms): " + "; ".join(
        f"{k} {fw} {harness.ms(v['min'])}/{harness.ms(v['max'])}" for k, r in results.items() for fw, v in r.items())]
    lines += ["", "Targets: PyTorch / gpugrad >= 3, NumPy / gpugrad >= 4."]
    return results, lines


def main(argv=None):
    harness.cli(parser, run, "cross_entropy", "seconds per forward+backward", argv)


if __name__ == "__main__":
    main()
