"""Backward of relu(linear(x)) at MLP shapes: gpugrad's fused Linear+ReLU op (ReLU mask and
bias gradient in one pass around the two GEMMs) vs PyTorch eager's backward of
``relu(linear(x))``, each in its own process with the same thread count.

    python benchmarks/bench_linear_backward.py [--batches 128 1024] [--widths 256 1024]
"""

import argparse
import os

import harness
import numpy as np

BATCHES = [128, 1024]
WIDTHS = [256, 1024]


def _data(batch, width):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((batch, width)).astype(np.float32),
            (rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32),
            rng.standard_normal(width).astype(np.float32),
            rng.standard_normal((batch, width)).astype(np.float32))


def gpugrad_case(batch, width, repeats, device="cpu"):
    import gpugrad as gg

    xa, wa, ba, ga = _data(batch, width)
    x, w, b = (gg.tensor(a, device=device, requires_grad=True) for a in (xa, wa, ba))
    g = gg.tensor(ga, device=device)
    y = gg.functional.linear_relu(x, w, b)

    def step():
        x.grad = w.grad = b.grad = None
        y.backward(g, retain_graph=True)
        if device != "cpu":
            gg.cuda.synchronize()

    return harness.stats(harness.time_it(step, repeats))


def torch_case(batch, width, repeats, device="cpu"):
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    xa, wa, ba, ga = _data(batch, width)
    x, w, b = (torch.tensor(a, device=device, requires_grad=True) for a in (xa, wa, ba))
    g = torch.tensor(ga, device=device)
    y = torch.relu(torch.nn.functional.linear(x, w, b))

    def step():
        x.grad = w.grad = b.grad = None
        y.backward(g, retain_graph=True)
        if device != "cpu":
            torch.cuda.synchronize()

    return harness.stats(harness.time_it(step, repeats))


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--batches", type=int, nargs="+", default=BATCHES)
    p.add_argument("--widths", type=int, nargs="+", default=WIDTHS)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json")
    return p


def run(args):
    frameworks = ["gpugrad"] + (["torch"] if harness.torch_available() else [])
    results = {}
    lines = [f"relu(linear(x)) backward, float32, {args.device}, {args.threads} threads (ms)", "",
             "| batch x width | gpugrad | PyTorch | gpugrad / PyTorch |", "|---|---:|---:|---:|"]
    for batch in args.batches:
        for width in args.widths:
            r = harness.run_rounds("bench_linear_backward", {fw: f"{fw}_case" for fw in frameworks},
                                   dict(batch=batch, width=width, repeats=args.repeats, device=args.device),
                                   args.threads, args.rounds)
            results[f"{batch}x{width}"] = r
            t = r["torch"]["median"] if "torch" in r else float("nan")
            lines.append(f"| {batch} x {width} | {harness.ms(r['gpugrad']['median'])} | {harness.ms(t)} | "
                         f"{r['gpugrad']['median'] / t:.2f} |")
    lines += ["", "Target (GPU backend issue): gpugrad / PyTorch <= 1.0 at every shape."]
    return results, lines


def main(argv=None):
    harness.cli(parser, run, "linear_backward", "seconds per backward", argv)


if __name__ == "__main__":
    main()
