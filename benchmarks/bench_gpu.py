"""The GPU suites, timed with CUDA events, each framework in its own process:

- cross-entropy forward + backward (float32) against PyTorch's ``F.cross_entropy`` +
  backward and against the bandwidth floor, a device-to-device copy of 2·B·C·4 bytes;
  with the number of gpugrad kernel launches in the forward and in the backward;
- backward of ``relu(linear(x))`` at MLP shapes against PyTorch eager, with the GEMMs
  gpugrad chose for each shape (its own tiled kernels or cuBLAS) and both times it measured;
- one SGD step of the MLP 784-1024-1024-10 against PyTorch eager.

    python benchmarks/bench_gpu.py [--json benchmarks/results/gpu-DATE.json]
"""

import argparse

import harness

CE_SHAPES = [(4096, 32768), (4096, 10)]
LINEAR_BATCHES = [128, 1024, 4096]
LINEAR_WIDTHS = [256, 1024, 4096]
MLP_SIZES = [784, 1024, 1024, 10]
MLP_BATCHES = [4096]


def _launch_counter(kern):
    """From now on, the name of every launch of gpugrad's own kernels, in a list."""
    names, fn = [], kern._fn

    def counted(module, name):
        launch = fn(module, name)

        def run(*args, **kwargs):
            names.append(name)
            return launch(*args, **kwargs)

        return run

    kern._fn = counted
    return names


def gpugrad_cross_entropy(n, c, repeats):
    import cupy as cp

    import gpugrad as gg
    from gpugrad.nn import functional as NF

    gg.manual_seed(0)
    x = gg.randn(n, c, device="cuda", requires_grad=True)
    t = gg.randint(0, c, (n,), device="cuda")

    def step():
        x.grad = None
        NF.cross_entropy(x, t).backward()

    event = harness.cupy_events()
    out = {"gpugrad": harness.stats(harness.time_events(step, *event, repeats))}
    names = _launch_counter(gg.backend.get_backend("cuda").kernels)
    loss = NF.cross_entropy(x, t)
    out["launches_forward"] = list(names)
    names.clear()
    loss.backward()
    out["launches_backward"] = list(names)
    nbytes = 2 * n * c * 4
    src, dst = cp.empty(nbytes, cp.uint8), cp.empty(nbytes, cp.uint8)
    out["copy"] = harness.stats(harness.time_events(lambda: dst.data.copy_from_device_async(src.data, nbytes), *event,
                                                    repeats))
    return out


def torch_cross_entropy(n, c, repeats):
    import torch

    torch.manual_seed(0)
    x = torch.randn(n, c, device="cuda", requires_grad=True)
    t = torch.randint(0, c, (n,), device="cuda")

    def step():
        x.grad = None
        torch.nn.functional.cross_entropy(x, t).backward()

    return {"torch": harness.stats(harness.time_events(step, *harness.torch_events(), repeats))}


def gpugrad_linear(batch, width, repeats):
    import gpugrad as gg

    gg.manual_seed(0)
    x = gg.randn(batch, width, device="cuda", requires_grad=True)
    w = (gg.randn(width, width, device="cuda") / width**0.5).requires_grad_()
    b = gg.randn(width, device="cuda", requires_grad=True)
    g = gg.randn(batch, width, device="cuda")
    y = gg.functional.linear_relu(x, w, b)

    def step():
        x.grad = w.grad = b.grad = None
        y.backward(g, retain_graph=True)

    samples = harness.time_events(step, *harness.cupy_events(), repeats)
    choices = gg.backend.get_backend("cuda").kernels.linear_choices
    return {"gpugrad": harness.stats(samples), "choice": next(iter(choices.values()), {"choice": "none"})}


def torch_linear(batch, width, repeats):
    import torch

    torch.manual_seed(0)
    x = torch.randn(batch, width, device="cuda", requires_grad=True)
    w = (torch.randn(width, width, device="cuda") / width**0.5).requires_grad_()
    b = torch.randn(width, device="cuda", requires_grad=True)
    g = torch.randn(batch, width, device="cuda")
    y = torch.relu(torch.nn.functional.linear(x, w, b))

    def step():
        x.grad = w.grad = b.grad = None
        y.backward(g, retain_graph=True)

    return {"torch": harness.stats(harness.time_events(step, *harness.torch_events(), repeats))}


def gpugrad_mlp(batch, repeats):
    import gpugrad as gg
    from gpugrad import nn, optim

    gg.manual_seed(0)
    layers = []
    for a, b in zip(MLP_SIZES[:-1], MLP_SIZES[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers[:-1]).to("cuda")
    opt = optim.SGD(model.parameters(), lr=0.01)
    x = gg.randn(batch, MLP_SIZES[0], device="cuda")
    t = gg.randint(0, MLP_SIZES[-1], (batch,), device="cuda")

    def step():
        loss = nn.functional.cross_entropy(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return {"gpugrad": harness.stats(harness.time_events(step, *harness.cupy_events(), repeats))}


def torch_mlp(batch, repeats):
    import torch

    torch.manual_seed(0)
    layers = []
    for a, b in zip(MLP_SIZES[:-1], MLP_SIZES[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).to("cuda")
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(batch, MLP_SIZES[0], device="cuda")
    t = torch.randint(0, MLP_SIZES[-1], (batch,), device="cuda")

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return {"torch": harness.stats(harness.time_events(step, *harness.torch_events(), repeats))}


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--ce-shapes", nargs="+", default=[f"{n}x{c}" for n, c in CE_SHAPES])
    p.add_argument("--batches", type=int, nargs="+", default=LINEAR_BATCHES, help="linear backward batches")
    p.add_argument("--widths", type=int, nargs="+", default=LINEAR_WIDTHS, help="linear backward widths")
    p.add_argument("--mlp-batches", type=int, nargs="+", default=MLP_BATCHES)
    p.add_argument("--json")
    return p


def _cases(name, frameworks, args, threads):
    """Merge each framework's result dict for one case, every framework in its own process."""
    merged = {}
    for fw in frameworks:
        merged.update(harness.run_isolated("bench_gpu", f"{fw}_{name}", args, threads))
    return merged


def _ratio(a, b):
    return a / b if b else float("nan")


def run(args):
    """(results, Markdown lines); every ratio comes from this run."""
    frameworks = ["gpugrad"] + (["torch"] if harness.torch_available() else [])
    nan = {"median": float("nan")}
    results = {"cross_entropy": {}, "linear_backward": {}, "mlp_step": {}}
    lines = ["Cross-entropy forward + backward on the GPU, float32, CUDA events (ms); copy: device-to-device copy of "
             "2·B·C·4 bytes, the bandwidth floor", "",
             "| shape | gpugrad | copy | gpugrad / copy | PyTorch | PyTorch / gpugrad | gpugrad launches fwd / bwd |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for shape in args.ce_shapes:
        n, c = (int(v) for v in shape.split("x"))
        r = results["cross_entropy"][shape] = _cases("cross_entropy", frameworks, dict(n=n, c=c, repeats=args.repeats),
                                                     args.threads)
        g, cp_, tt = r["gpugrad"]["median"], r["copy"]["median"], r.get("torch", nan)["median"]
        lines.append(f"| ({n}, {c}) | {harness.ms(g)} | {harness.ms(cp_)} | {_ratio(g, cp_):.2f} | {harness.ms(tt)} | "
                     f"{_ratio(tt, g):.2f} | {len(r['launches_forward'])} / {len(r['launches_backward'])} |")
    lines += ["", "Targets: (4096, 32768) gpugrad / copy <= 1.25 and PyTorch / gpugrad >= 2.5; (4096, 10) one launch "
              "forward and one backward.", "",
              "relu(linear(x)) backward on the GPU, float32, CUDA events (ms); gpugrad's GEMMs: its choice for the "
              "shape, from both timed on the first backward", "",
              "| batch x width | gpugrad | PyTorch | gpugrad / PyTorch | GEMMs | tiled ms | cuBLAS ms |",
              "|---|---:|---:|---:|---|---:|---:|"]
    for batch in args.batches:
        for width in args.widths:
            r = results["linear_backward"][f"{batch}x{width}"] = _cases(
                "linear", frameworks, dict(batch=batch, width=width, repeats=args.repeats), args.threads)
            g, tt, ch = r["gpugrad"]["median"], r.get("torch", nan)["median"], r["choice"]
            lines.append(f"| {batch} x {width} | {harness.ms(g)} | {harness.ms(tt)} | {_ratio(g, tt):.2f} | "
                         f"{ch['choice']} | {ch.get('tiled_ms', float('nan')):.3f} | "
                         f"{ch.get('cublas_ms', float('nan')):.3f} |")
    lines += ["", "Target: gpugrad / PyTorch <= 1.0 at every shape.", "",
              f"MLP {'-'.join(map(str, MLP_SIZES))} SGD step on the GPU, float32, CUDA events (ms)", "",
              "| batch | gpugrad | PyTorch | gpugrad / PyTorch |", "|---:|---:|---:|---:|"]
    for batch in args.mlp_batches:
        r = results["mlp_step"][str(batch)] = _cases("mlp", frameworks, dict(batch=batch, repeats=args.repeats),
                                                     args.threads)
        g, tt = r["gpugrad"]["median"], r.get("torch", nan)["median"]
        lines.append(f"| {batch} | {harness.ms(g)} | {harness.ms(tt)} | {_ratio(g, tt):.2f} |")
    lines += ["", "Target: gpugrad / PyTorch <= 1.0."]
    return results, lines


def main(argv=None):
    harness.cli(parser, run, "gpu", "seconds per call", argv)


if __name__ == "__main__":
    main()
