"""One SGD training step of an MLP 784-1024-1024-10 (ReLU, cross-entropy, float32) on the
CPU: gpugrad vs PyTorch eager, each in its own process with the same thread count, and
gpugrad's step against the sum of its own GEMM times (the same 8 matrix products, timed
alone with NumPy in the same process): that ratio is what everything around the GEMMs
costs.

    python benchmarks/bench_mlp_step.py [--threads 2] [--json benchmarks/results/mlp-cpu-DATE.json]
"""

import argparse
import os

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

    def step():
        loss = nn.functional.cross_entropy(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step_stats = harness.stats(harness.time_it(step, repeats))
    # the step's 8 GEMMs, alone, same shapes and layouts (weights are (out, in))
    ws = [p.numpy() for p in model.parameters() if p.ndim == 2]
    rng = np.random.default_rng(1)
    hs = [xa] + [rng.standard_normal((batch, n)).astype(np.float32) for n in SIZES[1:]]
    gemms = []
    for i, w in enumerate(ws):
        h_in, gz = hs[i], hs[i + 1]
        gemms.append(lambda h=h_in, w=w: np.matmul(h, w.T))  # forward
        gemms.append(lambda g=gz, h=h_in: np.matmul(g.T, h))  # weight gradient
        if i > 0:
            gemms.append(lambda g=gz, w=w: np.matmul(g, w))  # input gradient (not for the first layer)
    gemm_times = [harness.stats(harness.time_it(f, repeats))["median"] for f in gemms]
    native = gg.info(as_dict=True)["native_cpu_extension"]
    return {"step": step_stats, "gemms": gemm_times, "gemm_sum": sum(gemm_times), "native": native}


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

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return {"step": harness.stats(harness.time_it(step, repeats))}


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
             f"processes x {args.repeats} samples (ms)", "",
             "| batch | gpugrad step | its GEMMs | step / GEMMs | PyTorch step | gpugrad / PyTorch |",
             "|---:|---:|---:|---:|---:|---:|"]
    for batch in args.batches:
        runs = {fw: [] for fw in frameworks}
        for _ in range(args.rounds):
            for fw in frameworks:
                runs[fw].append(harness.run_isolated("bench_mlp_step", f"{fw}_case", dict(batch=batch, repeats=args.repeats),
                                                     args.threads))
        g_step = harness.stats(sum((r["step"]["samples"] for r in runs["gpugrad"]), []))
        gemm = float(np.median([r["gemm_sum"] for r in runs["gpugrad"]]))
        entry = {"gpugrad": g_step, "gpugrad_gemm_sum": gemm, "native": runs["gpugrad"][0]["native"]}
        t_med = float("nan")
        if "torch" in runs:
            entry["torch"] = harness.stats(sum((r["step"]["samples"] for r in runs["torch"]), []))
            t_med = entry["torch"]["median"]
        results[str(batch)] = entry
        lines.append(f"| {batch} | {harness.ms(g_step['median'])} | {harness.ms(gemm)} | {g_step['median'] / gemm:.3f} | "
                     f"{harness.ms(t_med)} | {g_step['median'] / t_med:.3f} |")
    lines += ["", "min/max step (ms): " + "; ".join(
        f"batch {b} {fw} {harness.ms(e[fw]['min'])}/{harness.ms(e[fw]['max'])}" for b, e in results.items()
        for fw in frameworks)]
    lines += ["", "Targets: step / GEMMs <= 1.10; gpugrad / PyTorch <= 1.0."]
    return results, lines


def main(argv=None):
    harness.cli(parser, run, "mlp_step", "seconds per training step", argv)


if __name__ == "__main__":
    main()
