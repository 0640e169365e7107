"""``gpugrad train`` on bad input and on runs that go wrong: one table, one row per case.

Every row runs the command in-process and expects its exit code and, when it fails,
exactly one line on stderr (``gpugrad train: ...``) holding a given fragment, and never a
traceback. To add a case, add a Row: the extra arguments (a later flag overrides BASE's),
the files it needs, the exit code and a fragment of the message.
"""

import io
import itertools
from dataclasses import dataclass, field

import numpy as np
import pytest

from gpugrad import train as T
from gpugrad.cli import main

# a small run on blobs.npz (3 classes, 5 features, 300 examples) that rows modify
BASE = ("train", "--data", "{tmp}/blobs.npz", "--hidden", "4", "--epochs", "1", "--batch-size", "32", "--lr", "0.05",
        "--schedule", "none", "--device", "cpu", "--quiet")


@dataclass(frozen=True)
class Row:
    name: str
    args: tuple  # appended to BASE; "{tmp}" is the test's folder
    code: int  # the exit code
    says: str  # in the one line on stderr (on stdout when code is 0)
    files: dict = field(default_factory=dict)  # name in {tmp}: text, bytes, or a dict of arrays for an .npz
    patch: tuple = ()  # (name in gpugrad.train, a factory of its stand-in)
    before: tuple = ()  # appended to BASE for a run that must succeed first (a checkpoint to resume)


def _npy_bytes(array):
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _raising(exc):
    def stand_in(*args, **kwargs):
        raise exc

    return lambda: stand_in


def _ctrl_c_in_epoch(n):
    """An evaluate() that raises KeyboardInterrupt (what Ctrl-C raises) in epoch n, after
    epoch n - 1 was saved."""

    def factory():
        calls, real = itertools.count(1), T.evaluate

        def evaluate(*args, **kwargs):
            if next(calls) == n:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        return evaluate

    return factory


_X = np.random.default_rng(1).standard_normal((60, 3))
_Y = (_X[:, 0] > 0).astype(np.int64)
_CK = "{tmp}/ck.safetensors"

ROWS = [
    # -- CSV files
    Row("csv header only", ("--data", "{tmp}/d.csv"), 2, "has a header line but no data lines", {"d.csv": "a,b,label\n"}),
    Row("csv with semicolons", ("--data", "{tmp}/d.csv"), 2, "separate values with ';'", {"d.csv": "1;2;0\n3;4;1\n"}),
    Row("csv empty", ("--data", "{tmp}/d.csv"), 2, "d.csv is empty", {"d.csv": ""}),
    Row("csv ragged", ("--data", "{tmp}/d.csv"), 2, "line 3 has 2 columns where the first line has 3",
        {"d.csv": "a,b,label\n1,2,0\n3,1\n"}),
    Row("csv one column", ("--data", "{tmp}/d.csv"), 2, "has one column", {"d.csv": "0\n1\n0\n1\n"}),
    Row("csv empty cell", ("--data", "{tmp}/d.csv"), 2, "line 2, column 2 is empty", {"d.csv": "1,2,0\n3,,1\n5,6,0\n"}),
    # -- .npz files
    Row("npz empty arrays", ("--data", "{tmp}/d.npz"), 2, "has no examples", {"d.npz": {"x": np.zeros((0, 3)), "y": []}}),
    Row("npz without x and y", ("--data", "{tmp}/d.npz"), 2, "needs arrays named x and y", {"d.npz": {"features": _X}}),
    Row("npz x_test without y_test", ("--data", "{tmp}/d.npz"), 2, "has x_test but no y_test",
        {"d.npz": {"x": _X, "y": _Y, "x_test": _X}}),
    Row("npy renamed to npz", ("--data", "{tmp}/d.npz"), 2, "a single .npy array renamed", {"d.npz": _npy_bytes(_X)}),
    Row("npz not a zip", ("--data", "{tmp}/d.npz"), 2, "not an .npz file", {"d.npz": b"hello"}),
    Row("x and y of different lengths", ("--data", "{tmp}/d.npz"), 2, "60 examples in x but 50 labels in y",
        {"d.npz": {"x": _X, "y": _Y[:50]}}),
    Row("test set of another feature count", ("--data", "{tmp}/d.npz"), 2, "has 2 features per example but the training",
        {"d.npz": {"x": _X, "y": _Y, "x_test": _X[:5, :2], "y_test": _Y[:5]}}),
    Row("string features", ("--data", "{tmp}/d.npz"), 2, "not numbers",
        {"d.npz": {"x": np.array([["a", "b"]] * 10), "y": np.zeros(10, int)}}),
    Row("object features", ("--data", "{tmp}/d.npz"), 2, "it must hold numeric arrays",
        {"d.npz": {"x": np.array([{"a": 1}] * 10, dtype=object), "y": np.zeros(10, int)}}),
    Row("complex features", ("--data", "{tmp}/d.npz"), 2, "is complex", {"d.npz": {"x": _X + 1j, "y": _Y}}),
    Row("inf in the features", ("--data", "{tmp}/d.npz"), 2, "holds nan, inf or values beyond float32's range",
        {"d.npz": {"x": np.where(_X > 2, np.inf, _X), "y": _Y}}),
    Row("labels of 1e9", ("--data", "{tmp}/d.npz"), 2, "labels from 0 to 1000000000",
        {"d.npz": {"x": _X, "y": _Y * 10**9}}),
    Row("negative labels", ("--data", "{tmp}/d.npz"), 2, "labels from -1 to 0", {"d.npz": {"x": _X, "y": -_Y}}),
    # -- flags
    Row("model too big for the memory", ("--hidden", "100000,100000"), 2,
        "10,001,000,003 parameters, which with their gradients and adam's state need about 149.0 GiB",
        patch=("available_memory", lambda: lambda: 8 * 2**30)),
    Row("out of memory all the same", (), 2, "out of memory (Unable to allocate 37.3 GiB)",
        patch=("build_mlp", _raising(MemoryError("Unable to allocate 37.3 GiB")))),
    Row("a bug in gpugrad", (), 1, "internal error (RuntimeError: boom); this is a bug in gpugrad",
        patch=("evaluate", _raising(RuntimeError("boom")))),
    Row("negative seed", ("--seed", "-1"), 2, "--seed must be an integer >= 0, got -1"),
    Row("zero epochs", ("--epochs", "0"), 2, "--epochs must be an integer >= 1, got 0"),
    Row("negative epochs", ("--epochs", "-5"), 2, "--epochs must be an integer >= 1, got -5"),
    Row("epochs not a number", ("--epochs", "abc"), 2, "argument --epochs: invalid int value: 'abc'"),
    Row("negative clip", ("--clip", "-1"), 2, "--clip must be a number >= 0"),
    Row("nan clip", ("--clip", "nan"), 2, "--clip must be a number >= 0 (0: no clipping), got nan"),
    Row("negative momentum", ("--momentum", "-1"), 2, "--momentum must be at least 0 and below 1"),
    Row("negative weight decay", ("--weight-decay", "-1"), 2, "--weight-decay must be a number >= 0"),
    Row("dropout of 1", ("--dropout", "1.0"), 2, "--dropout must be at least 0 and below 1, got 1.0"),
    Row("nan learning rate", ("--lr", "nan"), 2, "--lr must be a positive number, got nan"),
    # -- output files, checked before training
    Row("plot into a missing folder", ("--plot", "{tmp}/no/c.png"), 2, "/no does not exist"),
    Row("json into a missing folder", ("--json", "{tmp}/no/s.json"), 2, "/no does not exist"),
    Row("save into a missing folder", ("--save", "{tmp}/no/m.safetensors"), 2, "/no does not exist"),
    Row("json into /proc", ("--json", "/proc/s.json"), 2, "no file can be created in /proc"),
    Row("save onto a folder", ("--save", "{tmp}"), 2, "that is a folder"),
    Row("plot of an unknown type", ("--plot", "{tmp}/c.txt"), 2, "the file name must end in one of"),
    # -- training that goes wrong
    Row("adam diverges", ("--lr", "1e6", "--optimizer", "adam", "--epochs", "3"), 2, "diverged"),
    Row("rmsprop diverges", ("--lr", "1e6", "--optimizer", "rmsprop", "--epochs", "3"), 2, "diverged"),
    Row("adagrad diverges", ("--lr", "1e6", "--optimizer", "adagrad", "--epochs", "3"), 2, "lower --lr or add --clip"),
    Row("clipped sgd diverges", ("--lr", "1e6", "--optimizer", "sgd", "--clip", "1", "--epochs", "3"), 2,
        "diverged at epoch"),
    Row("divergence allowed", ("--lr", "1e6", "--epochs", "3", "--no-stop-on-divergence"), 0, "done: test accuracy"),
    Row("ctrl-c with --save", ("--epochs", "3", "--save", _CK), 130,
        "interrupted at epoch 2; {tmp}/ck.safetensors holds epoch 1: continue with gpugrad train --resume",
        patch=("evaluate", _ctrl_c_in_epoch(2))),
    Row("ctrl-c without --save", ("--epochs", "3"), 130, "interrupted at epoch 2; nothing was saved",
        patch=("evaluate", _ctrl_c_in_epoch(2))),
    # -- resume
    Row("resume with other settings", ("--resume", _CK, "--hidden", "8", "--lr", "0.1", "--epochs", "2"), 2,
        "--hidden 8 (checkpoint: 4), --lr 0.1 (checkpoint: 0.05)", before=("--save", _CK)),
    Row("resume with the same settings", ("--resume", _CK, "--epochs", "2", "--device", "cpu"), 0, "epoch   2",
        before=("--save", _CK)),
    Row("resume without divergence stops", ("--resume", _CK, "--epochs", "2", "--no-stop-on-divergence", "--json", "-"),
        0, '"stop_on_divergence": false', before=("--save", _CK)),
]  # fmt: skip


def _write(folder, files):
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 5)) * 3
    y = rng.integers(0, 3, 300)
    np.savez(folder / "blobs.npz", x=centers[y] + rng.standard_normal((300, 5)), y=y)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, dict):
            np.savez(path, **content)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's refusals
        code = exc.code
    except (Exception, KeyboardInterrupt) as exc:
        pytest.fail(f"gpugrad {' '.join(argv)} raised {exc!r} instead of exiting with one line")
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_cli_refuses_with_one_line(row, tmp_path, capsys, monkeypatch):
    _write(tmp_path, row.files)
    fill = [a.replace("{tmp}", str(tmp_path)) for a in BASE]
    if row.before:
        code, out, err = _run(fill + [a.replace("{tmp}", str(tmp_path)) for a in row.before], capsys)
        assert code == 0, err
    if row.patch:
        monkeypatch.setattr(T, row.patch[0], row.patch[1]())
    code, out, err = _run(fill + [a.replace("{tmp}", str(tmp_path)) for a in row.args], capsys)
    assert "Traceback" not in out + err
    assert code == row.code, f"exit {code}; stderr: {err}"
    says = row.says.replace("{tmp}", str(tmp_path))
    if code == 0:
        assert says in out
    else:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("gpugrad train: "), err
        assert says in lines[0], err
