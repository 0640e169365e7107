"""The ``gpugrad`` command (also ``python -m gpugrad``)."""

import argparse
import json
import os
import shlex
import sys
import tempfile
import traceback

from .errors import ArgumentError, GpugradError

COMMANDS = ("doctor", "train", "eval", "bench")

TRAIN_EPILOG = """\
data files (--data FILE):
  .csv  comma-separated numbers, one example per line, the integer class label (0..K-1)
        in the last column; a first line without any number is a header and is skipped
  .npz  arrays x (examples x features) and y (labels), as numpy.savez(FILE, x=..., y=...);
        add x_test and y_test to give the test set
  Without a test set, 20% of the examples (picked by --seed) are held out as the test set.
  Features are standardized with the training examples' mean and standard deviation.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (and where to look) instead of a usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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


def _check_writable(command, flag, path):
    """Refuse an output file that cannot be written (a folder, a missing folder, a place
    where no file can be made), before any work rather than after it."""
    folder = os.path.dirname(os.path.abspath(path))
    said = f"[{command}] {flag} {path}:"
    if os.path.isdir(path):
        raise ArgumentError(f"{said} that is a folder; give the name of a file in it")
    if not os.path.isdir(folder):
        raise ArgumentError(f"{said} the folder {folder} does not exist; create it first, or choose another path")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise ArgumentError(f"{said} the file exists and may not be overwritten (no write permission)")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ArgumentError(f"{said} no file can be created in {folder} ({exc.strerror}); choose another path") from None


def _say(json_path):
    """print, or print to stderr while stdout carries the JSON summary (so that it parses)."""
    out = sys.stderr if json_path == "-" else sys.stdout
    return lambda line: print(line, file=out)


def _start_processes(args):
    """``--nproc N``: this command again on N processes through the MPI launcher (its exit
    code); None where this process should train itself. Under a launcher of several
    processes, join them in a process group and share the host's cores between them."""
    from .distributed import launch

    world = launch.launched_world_size()
    if args.nproc is not None:
        if args.nproc < 1:
            raise ArgumentError(f"[train] --nproc must be an integer >= 1, got {args.nproc}")
        if world > 1:
            raise ArgumentError(f"[train] --nproc starts the processes itself, but this one is already one of {world} "
                                "started by an MPI launcher: drop --nproc, or the launcher")
        if args.nproc > 1:
            import subprocess

            import gpugrad.distributed as dist

            if not dist.is_mpi_available():
                raise ArgumentError("[train] --nproc needs mpi4py and an MPI library: pip install 'gpugrad[mpi]'")
            return subprocess.call(launch.launch_command(args.nproc, _without_nproc(args.argv)))
    if world > 1:
        import gpugrad
        import gpugrad.distributed as dist

        # the host's cores shared out, in both pools (the kernels' and the BLAS's: a BLAS left
        # at every core in each process spins against the others: 40x slower on 2 cores)
        given = os.environ.get("GPUGRAD_NUM_THREADS", "").strip()
        count = int(given) if given.isdigit() and int(given) > 0 else None
        gpugrad.set_num_threads(count or launch.threads_per_process(launch.launched_local_size()))
        dist.init_process_group(_backend(args))
    return None


def _backend(args):
    """NCCL for a run on GPUs where it loads and each rank of a host has a GPU of its own,
    else MPI (which also carries CUDA tensors, through host memory). A resumed run without
    --device takes its checkpoint's device, unknown here: MPI, which works for both."""
    import gpugrad
    import gpugrad.distributed as dist
    from gpugrad.distributed import launch

    device = args.device or ("auto" if not args.resume else None)
    if device is None:
        return "mpi"
    on_gpu = (gpugrad.get_default_device() if device == "auto" else gpugrad.device(device)).type == "cuda"
    if on_gpu and dist.is_nccl_available() and launch.launched_local_size() <= gpugrad.cuda.device_count():
        return "nccl"
    return "mpi"


def _without_nproc(argv):
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def _rank():
    import gpugrad.distributed as dist

    return dist.get_rank() if dist.is_initialized() else 0


def _train(args):
    from . import train as T

    code = _start_processes(args)
    if code is not None:
        return code
    lead = _rank() == 0  # under several processes rank 0 alone writes and prints
    for flag, path in (("--save", args.save), ("--plot", args.plot), ("--json", args.json)):
        if path and not (flag == "--json" and path == "-"):
            _check_writable("train", flag, path)
    if args.plot:
        T.check_plot_path(args.plot)
    given = {k: getattr(args, k) for k in T.default_config() if getattr(args, k, None) is not None}
    # with --resume the checkpoint holds the settings; train() refuses flags that differ from them
    config = given if args.resume else {**T.default_config(), **given}
    say = _say(args.json)
    try:
        summary = T.train(config, resume=args.resume, save=args.save, progress=not args.quiet, log=say)
    except T.TrainingInterrupted as stop:
        if lead:
            print(f"gpugrad train: {_interrupted(stop, args.save)}", file=sys.stderr)
        return 130
    if not lead:
        return 0
    f = summary["final"]
    say(f"done: test accuracy {f['test_acc']:.4f} (best {summary['best_test_acc']:.4f}), "
        f"{summary['parameters']} parameters, {summary['seconds']:.1f}s on {summary['device']}")
    if args.plot:
        T.plot(summary["history"], args.plot)
        say(f"wrote {args.plot}")
    if args.json:
        T.write_json(summary, args.json)
    return 0


def _interrupted(stop, save):
    said = f"interrupted at epoch {stop.epoch}"
    if save and stop.saved_epoch:
        return f"{said}; {save} holds epoch {stop.saved_epoch}: continue with gpugrad train --resume {shlex.quote(save)}"
    if save:
        return f"{said}, before the first checkpoint was written to {save}: nothing to resume"
    return f"{said}; nothing was saved (--save FILE writes a checkpoint after every epoch, --resume FILE continues it)"


def _eval(args):
    from . import train as T

    if args.json and args.json != "-":
        _check_writable("eval", "--json", args.json)
    result = T.evaluate_checkpoint(args.checkpoint, args.data, args.data_dir, args.device)
    if args.json:
        T.write_json(result, args.json)
    _say(args.json)(f"{args.checkpoint} (epoch {result['epoch']}): test loss {result['test_loss']:.4f}, "
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


def _fail(prog, message, code):
    """The one line an error gets (its traceback too under GPUGRAD_DEBUG=1); returns ``code``."""
    if os.environ.get("GPUGRAD_DEBUG", "0") not in ("", "0"):
        traceback.print_exc()
    line = " / ".join(part.strip() for part in str(message).splitlines() if part.strip())
    rank = _rank()
    print(f"{prog}: {f'rank {rank}: ' if rank else ''}error: {line}", file=sys.stderr)
    return code


def _end_processes(code):
    """A process of a group that fails ends the whole job (the others would wait for it in
    their next collective); one that succeeds leaves the group."""
    import gpugrad.distributed as dist

    if not dist.is_initialized():
        return code
    if code == 0:
        dist.destroy_process_group()
        return code
    sys.stdout.flush()
    sys.stderr.flush()
    from .distributed.launch import abort

    abort(code)


def main(argv=None):
    """Run the command in ``argv`` (default: the process's arguments); returns the exit
    code: 0, 2 for input refused with a message, 130 after Ctrl-C, 1 for a bug in gpugrad.
    argparse's own refusals exit 2 through SystemExit."""
    argv = sys.argv[1:] if argv is None else list(argv)
    prog = f"gpugrad {argv[0]}" if argv[:1] and argv[0] in COMMANDS else "gpugrad"
    try:
        if argv[:1] == ["bench"]:
            return _bench(argv[1:])
        args = _parser().parse_args(argv)
        args.argv = argv
        code = args.run(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        code = 130
    except GpugradError as exc:
        code = _fail(prog, exc, 2)
    except MemoryError as exc:
        code = _fail(prog, f"out of memory ({exc or 'MemoryError'}); narrower --hidden layers or a smaller "
                           "--batch-size need less", 2)
    except OSError as exc:  # a disk that filled up, a file that vanished: not gpugrad's bug, but no traceback either
        code = _fail(prog, exc, 2)
    except Exception as exc:
        code = _fail(prog, f"internal error ({type(exc).__name__}: {exc}); this is a bug in gpugrad: please report it "
                           "with the traceback that GPUGRAD_DEBUG=1 prints", 1)
    return _end_processes(code)


def _parser():
    from . import train as T

    parser = _Parser(prog="gpugrad", description="gpugrad command-line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    doctor = sub.add_parser("doctor", help="which backend is active, what is built, what to install")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.set_defaults(run=_doctor)

    d = T.default_config()
    tr = sub.add_parser("train", help="train an MLP classifier (default: MNIST-1D on the best device)",
                        epilog=TRAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    tr.add_argument("--data", help=f"mnist1d, mnist, or a .npz/.csv file, see below (default {d['data']})")
    tr.add_argument("--data-dir", dest="data_dir", help="folder with the MNIST IDX files")
    tr.add_argument("--hidden", type=_hidden, help="hidden widths such as 256,256 (the default); 0 = logistic regression")
    tr.add_argument("--activation", choices=sorted(T.ACTIVATIONS),
                    help=f"default {d['activation']}; ReLU layers start with a bias of 0.1 (nn.init.relu_bias_)")
    tr.add_argument("--dropout", type=float, help=f"probability of zeroing a hidden unit, 0 <= p < 1 "
                                                  f"(default {d['dropout']})")
    tr.add_argument("--optimizer", choices=T.OPTIMIZERS, help=f"default {d['optimizer']}")
    tr.add_argument("--lr", type=float, help=f"learning rate (default {d['lr']})")
    tr.add_argument("--momentum", type=float, help=f"for sgd/rmsprop (default {d['momentum']})")
    tr.add_argument("--weight-decay", dest="weight_decay", type=float)
    tr.add_argument("--schedule", choices=T.SCHEDULES, help=f"learning-rate schedule (default {d['schedule']})")
    tr.add_argument("--epochs", type=int, help=f"default {d['epochs']}")
    tr.add_argument("--batch-size", dest="batch_size", type=int, help=f"default {d['batch_size']}")
    tr.add_argument("--clip", type=float, help="clip the gradient norm to this value (default 0: no clipping)")
    tr.add_argument("--no-stop-on-divergence", dest="stop_on_divergence", action="store_const", const=False,
                    help="keep training when the loss grows past 1e6 and 1000x its start (a NaN loss always stops)")
    tr.add_argument("--device", help="auto, cpu, cuda or cuda:N (default auto)")
    tr.add_argument("--precision", choices=tuple(T.PRECISIONS),
                    help="fp32, or mixed precision: bf16 or fp16 matrix products under autocast with float32 weights "
                         f"(fp16 with loss scaling); kept in the checkpoint (default {d['precision']})")
    tr.add_argument("--seed", type=int, help=f"default {d['seed']}")
    tr.add_argument("--save", help="checkpoint file (.safetensors), written after every epoch")
    tr.add_argument("--resume", help="continue from this checkpoint (up to --epochs) with its settings")
    tr.add_argument("--plot", help="write loss/accuracy curves to this image (.png, .svg, .pdf, ...)")
    tr.add_argument("--json", help="write a JSON summary to this file ('-': to stdout, and the progress lines to stderr)")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.add_argument("--nproc", type=int, help="train on N processes started through the MPI launcher (mpiexec), each "
                                              "batch split between them; also works as mpiexec -n N gpugrad train")
    tr.set_defaults(run=_train)

    ev = sub.add_parser("eval", help="score a saved checkpoint on its test set")
    ev.add_argument("checkpoint")
    ev.add_argument("--data", help="another data set than the one it was trained on")
    ev.add_argument("--data-dir", dest="data_dir")
    ev.add_argument("--device", default="auto")
    ev.add_argument("--json")
    ev.set_defaults(run=_eval)

    sub.add_parser("bench", help="run the benchmark suites (python -m benchmarks; --help there)", add_help=False)
    return parser


if __name__ == "__main__":
    sys.exit(main())
