"""One SGD training step of an MLP 784-1024-1024-10 (ReLU, cross-entropy, float32) on the
CPU: gpugrad vs PyTorch eager, each in its own process with the same thread count, and
gpugrad's step against the sum of its own GEMM times in the same process: that ratio is
what everything around the GEMMs costs.

The step's 8 matrix products (same shapes, layouts and weight arrays) are timed two ways:
replayed in the step's order as one sequence, taking turns with the step block by block
(the denominator of the step / GEMMs ratio: the GEMMs as the step meets them, with no
drift of the machine between numerator and denominator), and each alone, repeated back to
back on hot operands (a lower bound, reported beside it). The optimizer's pass inside the
step (``opt.step()`` timed in every step of both frameworks) is reported too: it streams
every parameter and gradient through memory once, so on a machine whose caches and memory
bandwidth are shared it is the part of "everything around the GEMMs" that varies most.

    python benchmarks/bench_mlp_step.py [--threads 2] [--json benchmarks/results/mlp-cpu-DATE.json]
"""

import argparse
import os
import time

import harness
import numpy as np

SIZES = [784, 1024, 1024, 10]
BATCHES = [128, 1024]


def _data(batch):
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, SIZES[0])).astype(np.float32), rng.integers(0, SIZES[-1], batch)


def gpugrad_case(batch, repeats):
    import gpugrad as gg
    from gpugrad import nn, optim

    gg.manual_seed(0)
    layers = []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    opt = optim.SGD(model.parameters(), lr=0.01)
    xa, ta = _data(batch)
    x, t = gg.tensor(xa), gg.tensor(ta)
    opt_times = []

    def step():
        loss = nn.functional.cross_entropy(model(x), t)
        opt.zero_grad()
        loss.backward()
        t0 = time.perf_counter()
        opt.step()
        opt_times.append(time.perf_counter() - t0)

    # the step's GEMMs with the step's arrays and layouts (weights are (out, in)): forward
    # h W^T per layer, then backward from the last layer: input gradient g W (not for the
    # first layer) and weight gradient g^T h
    ws = [p.numpy() for p in model.parameters() if p.ndim == 2]
    rng = np.random.default_rng(1)
    hs = [xa] + [rng.standard_normal((batch, n)).astype(np.float32) for n in SIZES[1:]]
    forward = [lambda h=h, w=w: np.matmul(h, w.T) for h, w in zip(hs, ws)]
    backward = []
    for i in reversed(range(len(ws))):
        g = hs[i + 1]
        if i > 0:
            backward.append(lambda g=g, w=ws[i]: np.matmul(g, w))
        backward.append(lambda g=g, h=hs[i]: np.matmul(g.T, h))
    gemms = forward + backward

    def replay():
        for f in gemms:
            f()

    samples = harness.interleaved({"step": step, "gemms": replay}, repeats)
    alone = [harness.stats(harness.time_it(f, repeats))["median"] for f in gemms]
    native = gg.info(as_dict=True)["native_cpu_extension"]
    return {"step": harness.stats(samples["step"]), "gemms": harness.stats(samples["gemms"]), "gemms_alone": alone,
            "gemm_alone_sum": sum(alone), "optimizer": harness.stats(opt_times), "native": native}


def torch_case(batch, repeats):
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    torch.manual_seed(0)
    layers = []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    xa, ta = _data(batch)
    x, t = torch.tensor(xa), torch.tensor(ta)
    opt_times = []

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), t)
        opt.zero_grad()
        loss.backward()
        t0 = time.perf_counter()
        opt.step()
        opt_times.append(time.perf_counter() - t0)

    return {"step": harness.stats(harness.time_it(step, repeats)), "optimizer": harness.stats(opt_times)}


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3, help="processes per framework, taking turns")
    p.add_argument("--batches", type=int, nargs="+", default=BATCHES)
    p.add_argument("--json")
    return p


def run(args):
    """(results, Markdown lines) for the parsed ``args``."""
    frameworks = ["gpugrad"] + (["torch"] if harness.torch_available() else [])
    results = {}
    lines = [f"MLP {'-'.join(map(str, SIZES))} SGD step, float32, {args.threads} threads, median over {args.rounds} "
             f"processes x {args.repeats} samples (ms); GEMMs: the step's 8 products replayed in sequence, taking "
             "turns with the step; alone: each timed by itself on hot operands; opt.step: the optimizer's "
             "pass inside the step", "",
             "| batch | gpugrad step | its GEMMs | step / GEMMs | GEMMs alone | step / alone | gpugrad opt.step | "
             "PyTorch step | PyTorch opt.step | gpugrad / PyTorch |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for batch in args.batches:
        runs = {fw: [] for fw in frameworks}
        for _ in range(args.rounds):
            for fw in frameworks:
                runs[fw].append(harness.run_isolated("bench_mlp_step", f"{fw}_case", dict(batch=batch, repeats=args.repeats),
                                                     args.threads))
        pooled = {key: harness.stats(sum((r[key]["samples"] for r in runs["gpugrad"]), [])) for key in ("step", "gemms")}
        g_step, gemm = pooled["step"], pooled["gemms"]["median"]
        alone = float(np.median([r["gemm_alone_sum"] for r in runs["gpugrad"]]))
        g_opt = harness.stats(sum((r["optimizer"]["samples"] for r in runs["gpugrad"]), []))
        entry = {"gpugrad": g_step, "gpugrad_gemms": pooled["gemms"], "gpugrad_gemm_alone_sum": alone,
                 "gpugrad_optimizer": g_opt, "native": runs["gpugrad"][0]["native"]}
        t_med = t_opt = float("nan")
        if "torch" in runs:
            entry["torch"] = harness.stats(sum((r["step"]["samples"] for r in runs["torch"]), []))
            entry["torch_optimizer"] = harness.stats(sum((r["optimizer"]["samples"] for r in runs["torch"]), []))
            t_med, t_opt = entry["torch"]["median"], entry["torch_optimizer"]["median"]
        results[str(batch)] = entry
        lines.append(f"| {batch} | {harness.ms(g_step['median'])} | {harness.ms(gemm)} | {g_step['median'] / gemm:.3f} | "
                     f"{harness.ms(alone)} | {g_step['median'] / alone:.3f} | {harness.ms(g_opt['median'])} | "
                     f"{harness.ms(t_med)} | {harness.ms(t_opt)} | {g_step['median'] / t_med:.3f} |")
    lines += ["", "min/max step (ms): " + "; ".join(
        f"batch {b} {fw} {harness.ms(e[fw]['min'])}/{harness.ms(e[fw]['max'])}" for b, e in results.items()
        for fw in frameworks)]
    lines += ["", "Targets: step / GEMMs <= 1.10; gpugrad / PyTorch <= 1.0."]
    return results, lines


def main(argv=None):
    harness.cli(parser, run, "mlp_step", "seconds per training step", argv)


if __name__ == "__main__":
    main()
