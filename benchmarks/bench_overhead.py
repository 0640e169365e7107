"""Per-op overhead: ``y = a * b + c`` on 8 elements with ``requires_grad``, forward and
backward, in gpugrad, PyTorch eager (CPU) and hand-written NumPy, in one run.

Each framework runs ``--repeats`` timed blocks of ``--number`` iterations after a warm-up,
the frameworks taking turns block by block; the figures are the median (and min/max) time per op, i.e. per iteration / 2 (the
expression has two ops). The NumPy column is the floor: the same arithmetic and the
hand-written gradients with no graph at all.

    python benchmarks/bench_overhead.py [--json benchmarks/results/overhead-HOST-DATE.json]
"""

import argparse
import statistics

import harness
import numpy as np

N_OPS = 2


def gpugrad_step():
    import gpugrad as gg

    gg.set_default_device("cpu")
    a, b, c = (gg.randn(8, requires_grad=True) for _ in range(3))
    g = gg.ones(8)

    def step():
        a.grad = b.grad = c.grad = None
        (a * b + c).backward(g)

    step()
    assert a.grad is not None and np.allclose(a.grad.numpy(), b.numpy())
    return step


def torch_step():
    import torch

    torch.set_num_threads(1)
    a, b, c = (torch.randn(8, requires_grad=True) for _ in range(3))
    g = torch.ones(8)

    def step():
        a.grad = b.grad = c.grad = None
        (a * b + c).backward(g)

    return step


def numpy_step():
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(8).astype(np.float32) for _ in range(3))
    g = np.ones(8, np.float32)

    def step():
        _ = a * b + c
        ga, gb, gc = g * b, g * a, g.copy()  # noqa: F841 - the gradients a framework would hand back
        return ga, gb, gc

    return step


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--number", type=int, default=2000, help="iterations per timed block")
    p.add_argument("--repeats", type=int, default=15, help="timed blocks per framework")
    p.add_argument("--json", help="also write the results to this JSON file")
    return p


def run(args):
    """(results, Markdown lines): each framework's seconds-per-op samples."""

    steps = {"gpugrad": gpugrad_step()}
    try:
        steps["torch"] = torch_step()
    except ImportError:
        print("PyTorch is not installed (pip install torch): skipping its column")
    steps["numpy"] = numpy_step()
    per_iteration = harness.interleaved(steps, args.repeats, warmup=200, number=args.number)
    results = {k: [t / N_OPS for t in v] for k, v in per_iteration.items()}

    med = {k: statistics.median(v) for k, v in results.items()}
    lines = [
        f"a * b + c, 8 elements, forward + backward; time per op (median of {args.repeats} x {args.number})",
        "",
        "| framework | median us | min us | max us | gpugrad / this |",
        "|---|---:|---:|---:|---:|",
    ]
    for k, v in results.items():
        lines.append(
            f"| {k} | {med[k] * 1e6:.2f} | {min(v) * 1e6:.2f} | {max(v) * 1e6:.2f} | {med['gpugrad'] / med[k]:.2f} |"
        )
    if "torch" in med:
        ratio = med["gpugrad"] / med["torch"]
        verdict = "meets" if ratio <= 1.5 else "MISSES"
        lines += ["", f"gpugrad / PyTorch eager = {ratio:.2f} ({verdict} the target of <= 1.5)"]
    return {k: harness.stats(v) for k, v in results.items()}, lines


def main(argv=None):
    harness.cli(parser, run, "overhead", "seconds per op", argv)


if __name__ == "__main__":
    main()
