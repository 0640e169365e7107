"""Mixed precision: one Adam training step of the MLP 784-1024-1024-10 (ReLU,
cross-entropy) at batch 4096 in fp32, bf16 and fp16 (autocast over the forward and the
loss, float32 weights; fp16 with a GradScaler), gpugrad against PyTorch's autocast on the
same device, each framework and precision in its own process, taking turns.

On a GPU (CUDA events) the low-precision steps run their products on tensor cores. On the
CPU neither NumPy nor gpugrad has a half-precision GEMM (gpugrad multiplies the rounded
inputs in float32), so there the figure is the cost of autocast itself: a bf16 step
against the fp32 step of the same framework. The CUDA emulation is refused: its speed says
nothing about a GPU's.

    python benchmarks/bench_amp.py [--device cpu|cuda] [--batch 4096] [--json out.json]
"""

import argparse
import os
import time

import harness

SIZES = [784, 1024, 1024, 10]
PRECISIONS = ("fp32", "bf16", "fp16")


def _data(batch):
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, SIZES[0])).astype(np.float32), rng.integers(0, SIZES[-1], batch)


def _timer(device, fw):
    """(time, samples) for ``fn``: CUDA events on a GPU, wall time on the CPU."""
    if device == "cuda":
        events = harness.cupy_events() if fw == "gpugrad" else harness.torch_events()
        return lambda fn, repeats: harness.time_events(fn, *events, repeats)
    return harness.time_it


def _step(lib, device, precision, batch):
    """The training step in ``lib`` (gpugrad or torch: the same code, PyTorch's API)."""
    lib.manual_seed(0)
    layers = []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        layers += [lib.nn.Linear(a, b), lib.nn.ReLU()]
    model = lib.nn.Sequential(*layers[:-1]).to(device)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    xa, ta = _data(batch)
    x, t = lib.tensor(xa, device=device), lib.tensor(ta, device=device)
    dtype = {"fp32": None, "bf16": lib.bfloat16, "fp16": lib.float16}[precision]
    scaler = lib.amp.GradScaler(device, enabled=precision == "fp16")

    def step():
        with lib.autocast(device, dtype=dtype, enabled=dtype is not None):
            loss = lib.nn.functional.cross_entropy(model(x), t)
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    return step


def gpugrad_case(device, precision, batch, repeats):
    import gpugrad as gg

    if device == "cuda" and os.environ.get("GPUGRAD_CUDA_EMULATION", "").strip() not in ("", "0"):
        raise SystemExit("bench_amp: the CUDA emulation is not a GPU; its times would mean nothing")
    return harness.stats(_timer(device, "gpugrad")(_step(gg, device, precision, batch), repeats))


def torch_case(device, precision, batch, repeats):
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    return harness.stats(_timer(device, "torch")(_step(torch, device, precision, batch), repeats))


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: cuda when a GPU is there")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2, help="processes per framework and precision, taking turns")
    p.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=list(PRECISIONS))
    p.add_argument("--json")
    return p


def _device(choice):
    if choice:
        return choice
    import gpugrad as gg

    emulated = os.environ.get("GPUGRAD_CUDA_EMULATION", "").strip() not in ("", "0")
    return "cuda" if gg.cuda.is_available() and not emulated else "cpu"


def run(args):
    """(results, Markdown lines); every ratio comes from this run."""
    device = _device(args.device)
    frameworks = ["gpugrad"] + (["torch"] if harness.torch_available() else [])
    pooled = {(fw, p): [] for fw in frameworks for p in args.precisions}
    started = time.perf_counter()
    for _ in range(args.rounds):
        for p in args.precisions:
            for fw in frameworks:
                r = harness.run_isolated("bench_amp", f"{fw}_case",
                                         dict(device=device, precision=p, batch=args.batch, repeats=args.repeats),
                                         args.threads)
                pooled[fw, p] += r["samples"]
    results = {fw: {p: harness.stats(pooled[fw, p]) for p in args.precisions} for fw in frameworks}
    nan = float("nan")

    def med(fw, p):
        return results.get(fw, {}).get(p, {"median": nan})["median"]

    timing = "CUDA events" if device == "cuda" else f"wall time, {args.threads} threads"
    lines = [f"MLP {'-'.join(map(str, SIZES))} Adam step at batch {args.batch} on {device}, autocast over forward and "
             f"loss, float32 weights, fp16 with a GradScaler; {timing}; median over {args.rounds} processes x "
             f"{args.repeats} samples (ms)", "",
             "| precision | gpugrad | PyTorch | gpugrad / PyTorch | gpugrad vs its fp32 | PyTorch vs its fp32 |",
             "|---|---:|---:|---:|---:|---:|"]
    for p in args.precisions:
        g, t = med("gpugrad", p), med("torch", p)
        lines.append(f"| {p} | {harness.ms(g)} | {harness.ms(t)} | {g / t:.3f} | {g / med('gpugrad', 'fp32'):.3f} | "
                     f"{t / med('torch', 'fp32'):.3f} |")
    lines += ["", "min/max (ms): " + "; ".join(f"{fw} {p} {harness.ms(r['min'])}/{harness.ms(r['max'])}"
                                                for fw, rs in results.items() for p, r in rs.items())]
    if device == "cpu":
        lines += ["", "On the CPU the bf16 and fp16 steps do the fp32 step's float32 GEMMs plus the casts around them: "
                  "'vs its fp32' is autocast's overhead, not a speedup."]
    results["device"], results["seconds"] = device, time.perf_counter() - started
    return results, lines


def main(argv=None):
    harness.cli(parser, run, "amp", "seconds per training step", argv)


if __name__ == "__main__":
    main()
