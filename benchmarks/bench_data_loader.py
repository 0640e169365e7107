"""DataLoader worker processes: one pass over a dataset whose ``__getitem__`` does a few
milliseconds of single-threaded NumPy work (sort of a sine of 50k floats, repeated), with
``num_workers=0`` and ``num_workers=2``, in gpugrad and in PyTorch (each in its own
process, every thread pool set to ``--threads``).

Two figures per worker count: the steady state (persistent workers, their start-up paid
before the timing) and a cold pass (workers started and stopped within it, as a
non-persistent loader does every epoch). Within a framework's process the worker counts
take turns pass by pass, so that a busy spell of a shared machine slows them alike. The
speedup of 2 workers is bounded by the cores the machine gives: on 2 cores, 2x at best.

    python benchmarks/bench_data_loader.py [--items 96] [--work-ms 3] [--json out.json]
"""

import argparse
import statistics
import time

import harness
import numpy as np

SIZE = 50_000


def _work(seed, reps):
    x = np.random.default_rng(seed).standard_normal(SIZE)
    for _ in range(reps):
        x = np.sort(np.sin(x))
    return x[:64].astype(np.float32)


class Work:
    """Item i: 64 float32 features from ``reps`` rounds of NumPy work, and the label i % 10."""

    def __init__(self, items, reps):
        self.items, self.reps = items, reps

    def __len__(self):
        return self.items

    def __getitem__(self, i):
        return _work(i, self.reps), i % 10


def calibrate(work_ms):
    """How many rounds of the work take about ``work_ms`` milliseconds here."""
    _work(0, 2)
    t0 = time.perf_counter()
    _work(0, 20)
    per = (time.perf_counter() - t0) / 20
    return max(1, round(work_ms / 1e3 / per))


def _time_passes(make_loader, workers, repeats):
    """Seconds per pass for each worker count, the counts taking turns pass by pass (so that
    a busy spell of the machine slows them alike): steady (persistent workers) and cold."""
    loaders = {w: make_loader(w, w > 0) for w in workers}
    for loader in loaders.values():
        for _ in range(2):  # warm-up; starts the persistent workers
            for _ in loader:
                pass
    out = {str(w): {"steady": [], "cold": []} for w in workers}
    for _ in range(repeats):
        for w, loader in loaders.items():
            t0 = time.perf_counter()
            n = sum(1 for _ in loader)
            out[str(w)]["steady"].append(time.perf_counter() - t0)
            fresh = make_loader(w, False)
            t0 = time.perf_counter()
            assert sum(1 for _ in fresh) == n
            out[str(w)]["cold"].append(time.perf_counter() - t0)
    return out


def gpugrad_case(workers, items, reps, batch, repeats):
    from gpugrad.data import DataLoader

    def make(w, persistent):
        return DataLoader(Work(items, reps), batch_size=batch, num_workers=w, persistent_workers=persistent)

    return _time_passes(make, workers, repeats)


def torch_case(workers, items, reps, batch, repeats):
    import torch
    from torch.utils.data import DataLoader

    torch.set_num_threads(1)

    def make(w, persistent):
        return DataLoader(Work(items, reps), batch_size=batch, num_workers=w, persistent_workers=persistent)

    return _time_passes(make, workers, repeats)


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--items", type=int, default=96, help="dataset length")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--work-ms", type=float, default=3.0, help="NumPy work per item, in milliseconds")
    p.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    p.add_argument("--repeats", type=int, default=5, help="timed passes per case and round")
    p.add_argument("--rounds", type=int, default=2, help="processes per framework, taking turns")
    p.add_argument("--threads", type=int, default=1, help="threads of every pool (NumPy's BLAS, PyTorch)")
    p.add_argument("--json", help="also write the results to this JSON file")
    return p


def run(args):
    """(results, Markdown lines): seconds per pass for every framework and worker count."""
    reps = calibrate(args.work_ms)
    frameworks = ["gpugrad"] + (["torch"] if harness.torch_available() else [])
    results = {"reps": reps, "items": args.items, "batch": args.batch, "work_ms": args.work_ms}
    pooled = {fw: {str(w): {"steady": [], "cold": []} for w in args.workers} for fw in frameworks}
    for _ in range(args.rounds):  # the frameworks' processes take turns (see harness.run_rounds)
        for fw in frameworks:
            out = harness.run_isolated("bench_data_loader", f"{fw}_case",
                                       {"workers": args.workers, "items": args.items, "reps": reps, "batch": args.batch,
                                        "repeats": args.repeats}, args.threads)
            for w in args.workers:
                for kind in ("steady", "cold"):
                    pooled[fw][str(w)][kind] += out[str(w)][kind]
    for fw in frameworks:
        base = pooled[fw][str(args.workers[0])]["steady"]
        for w in args.workers:
            r = results[f"{fw}/{w}"] = {k: harness.stats(v) for k, v in pooled[fw][str(w)].items()}
            # per pair of adjacent passes, so that the machine's slow spells cancel
            r["speedup"] = statistics.median(b / t for b, t in zip(base, pooled[fw][str(w)]["steady"]))
    lines = [f"One pass over {args.items} items of about {args.work_ms:g} ms of NumPy work each "
             f"({reps} rounds of sort(sin(x))), batch {args.batch}, {args.threads} thread(s) per pool; "
             "ms per pass, median (min-max).",
             "", f"| framework | workers | steady | cold (workers started in the pass) | speedup over {args.workers[0]} "
             "workers (steady, median of adjacent passes) |",
             "|---|---|---|---|---|"]
    for fw in frameworks:
        for w in args.workers:
            r = results[f"{fw}/{w}"]
            s, c = r["steady"], r["cold"]
            lines.append(f"| {fw} | {w} | {harness.ms(s['median'])} ({harness.ms(s['min'])}-{harness.ms(s['max'])}) | "
                         f"{harness.ms(c['median'])} ({harness.ms(c['min'])}-{harness.ms(c['max'])}) | "
                         f"{r['speedup']:.2f}x |")
    return results, lines


def main(argv=None):
    harness.cli(parser, run, "data_loader", "seconds per pass", argv)


if __name__ == "__main__":
    main()
