"""Test accuracy of ``gpugrad train`` with the default settings (MNIST-1D, MLP 40-256-256-10,
dropout 0.2, Adam 1e-2, cosine schedule, 150 epochs of batch 100) in fp32, bf16 and fp16,
for several seeds, and the same recipe in PyTorch (fp32, and ``torch.autocast`` in bf16 /
fp16 with a GradScaler) on the same data as the yardstick of what the precisions cost:
final and best test accuracy per seed and their means.

    python benchmarks/amp_accuracy.py [--seeds 0 1 2] [--device cpu] [--no-torch] [--json out.json]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import harness

PRECISIONS = ("fp32", "bf16", "fp16")


def gpugrad_run(precision, seed, device):
    """One ``gpugrad train`` run, as a user starts it; its final and best test accuracy."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.json")
        cmd = [sys.executable, "-m", "gpugrad", "train", "--device", device, "--seed", str(seed), "--precision",
               precision, "--quiet", "--json", out]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
        with open(out) as f:
            summary = json.load(f)
    return {"final": summary["final"]["test_acc"], "best": summary["best_test_acc"], "seconds": summary["seconds"]}


def torch_run(precision, seed, device):
    """The default recipe of ``gpugrad train`` in PyTorch, on gpugrad's MNIST-1D split."""
    import numpy as np
    import torch

    from gpugrad.data import datasets

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    started = time.perf_counter()
    x, y, xt, yt = (torch.tensor(np.asarray(a)).to(device) for a in datasets.load("mnist1d", None, seed=seed))
    x, xt = x.float(), xt.float()
    torch.manual_seed(seed)
    layers = [torch.nn.Linear(40, 256), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(256, 256),
              torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(256, 10)]
    model = torch.nn.Sequential(*layers).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    epochs, batch = 150, 100
    steps = (len(x) + batch - 1) // batch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * steps)  # stepped per batch, as gpugrad train
    dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    scaler = torch.amp.GradScaler(device, enabled=precision == "fp16")
    order = torch.Generator().manual_seed(seed)
    accs = []
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(x), generator=order).split(batch):
            with torch.autocast(device, dtype=dtype, enabled=dtype is not None):
                loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
        model.eval()
        with torch.no_grad(), torch.autocast(device, dtype=dtype, enabled=dtype is not None):
            accs.append((model(xt).argmax(1) == yt).float().mean().item())
    return {"final": accs[-1], "best": max(accs), "seconds": time.perf_counter() - started}


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-torch", dest="torch", action="store_false")
    p.add_argument("--json")
    return p


def run(args):
    frameworks = ["gpugrad"] + (["torch"] if args.torch and harness.torch_available() else [])
    results = {fw: {p: {} for p in PRECISIONS} for fw in frameworks}
    for seed in args.seeds:
        for p in PRECISIONS:
            results["gpugrad"][p][str(seed)] = gpugrad_run(p, seed, args.device)
            if "torch" in frameworks:
                results["torch"][p][str(seed)] = harness.run_isolated("amp_accuracy", "torch_run",
                                                                      dict(precision=p, seed=seed, device=args.device),
                                                                      args.threads)
    lines = [f"gpugrad train's defaults (MNIST-1D, MLP 40-256-256-10, 150 epochs) on {args.device}: test accuracy "
             "(%) at the end / best over the epochs; delta: against fp32 of the same framework and seed", "",
             "| framework | precision | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean | mean delta |",
             "|---|---|" + "---:|" * (len(args.seeds) + 2)]
    for fw in frameworks:
        for p in PRECISIONS:
            runs = [results[fw][p][str(s)] for s in args.seeds]
            base = [results[fw]["fp32"][str(s)] for s in args.seeds]
            mean = sum(r["final"] for r in runs) / len(runs)
            delta = mean - sum(r["final"] for r in base) / len(base)
            cells = [f"{100 * r['final']:.1f} / {100 * r['best']:.1f}" for r in runs]
            lines.append(f"| {fw} | {p} | " + " | ".join(cells) + f" | {100 * mean:.2f} | {100 * delta:+.2f} |")
    return results, lines


def main(argv=None):
    harness.cli(parser, run, "amp_accuracy", "test accuracy (fraction)", argv)


if __name__ == "__main__":
    main()
