"""The ``gpugrad`` command (also ``python -m gpugrad``)."""

import argparse
import json
import sys

from .errors import GpugradError


def _doctor(args):
    import gpugrad

    report = gpugrad.info(as_dict=True)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        width = max(len(k) for k in report)
        for k, v in report.items():
            print(f"{k:<{width}}  {v}")
    return 0


def _hidden(text):
    text = text.strip()
    if text in ("", "0", "none"):
        return []
    try:
        sizes = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer widths such as 100,100, got {text!r}") from None
    if any(v <= 0 for v in sizes):
        raise argparse.ArgumentTypeError(f"layer widths must be positive, got {text!r}")
    return sizes


def _train(args):
    from . import train as T

    given = {k: getattr(args, k) for k in T.default_config() if getattr(args, k, None) is not None}
    if args.resume:  # the checkpoint holds the run's settings; only these may change
        config = {k: v for k, v in given.items() if k in ("epochs", "device")}
    else:
        config = {**T.default_config(), **given}
    summary = T.train(config, resume=args.resume, save=args.save, progress=not args.quiet)
    f = summary["final"]
    print(f"done: test accuracy {f['test_acc']:.4f} (best {summary['best_test_acc']:.4f}), "
          f"{summary['parameters']} parameters, {summary['seconds']:.1f}s on {summary['device']}")
    if args.plot:
        T.plot(summary["history"], args.plot)
        print(f"wrote {args.plot}")
    if args.json:
        T.write_json(summary, args.json)
    return 0


def _eval(args):
    from . import train as T

    result = T.evaluate_checkpoint(args.checkpoint, args.data, args.data_dir, args.device)
    if args.json:
        T.write_json(result, args.json)
    print(f"{args.checkpoint} (epoch {result['epoch']}): test loss {result['test_loss']:.4f}, "
          f"accuracy {result['test_acc']:.4f} on {result['n']} examples")
    return 0


def _bench(rest):
    """Run the benchmark suites of a source checkout (they are not part of the wheel)."""
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "__main__.py"
    if not script.exists():
        print("gpugrad bench: the benchmarks live in gpugrad's source checkout (benchmarks/); run it from there "
              "with an editable install (pip install -e .)", file=sys.stderr)
        return 2
    saved = sys.argv
    sys.argv = [str(script)] + rest
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        sys.argv = saved
    return 0


def main(argv=None):
    from . import train as T

    parser = argparse.ArgumentParser(prog="gpugrad", description="gpugrad command-line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    doctor = sub.add_parser("doctor", help="which backend is active, what is built, what to install")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.set_defaults(run=_doctor)

    d = T.default_config()
    tr = sub.add_parser("train", help="train an MLP classifier (default: MNIST-1D on the best device)")
    tr.add_argument("--data", help=f"mnist1d, mnist, or a .npz/.csv file (default {d['data']})")
    tr.add_argument("--data-dir", dest="data_dir", help="folder with the MNIST IDX files")
    tr.add_argument("--hidden", type=_hidden, help="hidden widths such as 256,256 (the default); 0 = logistic regression")
    tr.add_argument("--activation", choices=sorted(T.ACTIVATIONS), help=f"default {d['activation']}")
    tr.add_argument("--dropout", type=float)
    tr.add_argument("--optimizer", choices=T.OPTIMIZERS, help=f"default {d['optimizer']}")
    tr.add_argument("--lr", type=float, help=f"learning rate (default {d['lr']})")
    tr.add_argument("--momentum", type=float, help=f"for sgd/rmsprop (default {d['momentum']})")
    tr.add_argument("--weight-decay", dest="weight_decay", type=float)
    tr.add_argument("--schedule", choices=T.SCHEDULES, help=f"learning-rate schedule (default {d['schedule']})")
    tr.add_argument("--epochs", type=int, help=f"default {d['epochs']}")
    tr.add_argument("--batch-size", dest="batch_size", type=int, help=f"default {d['batch_size']}")
    tr.add_argument("--clip", type=float, help="clip the gradient norm to this value")
    tr.add_argument("--device", help="auto, cpu, cuda or cuda:N (default auto)")
    tr.add_argument("--seed", type=int, help=f"default {d['seed']}")
    tr.add_argument("--save", help="checkpoint file (.safetensors), written after every epoch")
    tr.add_argument("--resume", help="continue from this checkpoint (up to --epochs)")
    tr.add_argument("--plot", help="write loss/accuracy curves to this PNG")
    tr.add_argument("--json", help="write a JSON summary to this file ('-' for stdout)")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.set_defaults(run=_train)

    ev = sub.add_parser("eval", help="score a saved checkpoint on its test set")
    ev.add_argument("checkpoint")
    ev.add_argument("--data", help="another data set than the one it was trained on")
    ev.add_argument("--data-dir", dest="data_dir")
    ev.add_argument("--device", default="auto")
    ev.add_argument("--json")
    ev.set_defaults(run=_eval)

    sub.add_parser("bench", help="run the benchmark suites (python -m benchmarks; --help there)", add_help=False)

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        return _bench(argv[1:])
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except GpugradError as exc:
        print(f"gpugrad {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
