"""The PyTorch compatibility corpus (FEATURES.md, "PyTorch compatibility"; issue 16).

"A typical PyTorch MLP training script runs with the import line as its only change, and
gives the same numbers (to float32 rounding) given the same data and initial weights."

Each ``tests/compat/s*.py`` is plain PyTorch code, written as tutorials write it: it starts
with ``import torch`` (``from torch import nn``, ``import torch.nn.functional as F``,
``from torch.utils.data import DataLoader, TensorDataset``, ...), takes its data and
initial weights from NumPy with a fixed seed, and leaves its final numbers (losses,
accuracies, parameter norms, shapes, dtypes) in a dict ``RESULT`` of plain Python values.

How the import is swapped: the script text is never edited. It runs in a fresh module
namespace (``runpy.run_path``) while ``sys.modules`` maps PyTorch's module names to
gpugrad's (``ALIASES``: ``torch`` -> ``gpugrad``, ``torch.nn.functional`` ->
``gpugrad.nn.functional``, ``torch.utils.data`` -> ``gpugrad.utils.data``, ...), so that
``import torch`` binds gpugrad: that mapping *is* the changed import line. A ``torch.*``
name outside the map raises ImportError naming it, rather than loading a gpugrad file a
second time under a torch name. Real PyTorch's modules, when loaded, are set aside for the
run and put back afterwards, so both frameworks run in this one process (importing
PyTorch in a subprocess per script would cost more than the whole corpus).

The tests, per script:
- ``test_runs_and_learns``: under gpugrad the script completes, ``RESULT`` holds plain
  finite numbers, and where it reports ``losses`` the last is below the first;
- ``test_matches_pytorch`` (PyTorch installed): gpugrad's ``RESULT`` equals PyTorch's:
  bools, ints, strings and lengths exactly, floats to ``RTOL``/``ATOL``;
- ``test_matches_recorded_pytorch`` (PyTorch absent): the same comparison against
  PyTorch's numbers recorded in ``compat/torch_results.json``;
- ``test_record_is_current`` (PyTorch installed): the record still equals what PyTorch
  gives, so an edited script cannot keep a stale record.

By hand: ``python tests/test_compat.py [s01 ...]`` prints each script's differences;
``python tests/test_compat.py --record`` rewrites the record from the installed PyTorch.
"""

import contextlib
import importlib
import importlib.abc
import io
import json
import math
import runpy
import sys
import types
from pathlib import Path

import pytest

COMPAT = Path(__file__).resolve().parent / "compat"
SCRIPTS = sorted(p.name for p in COMPAT.glob("s[0-9][0-9]_*.py"))
RECORD = COMPAT / "torch_results.json"

# Float32 training: one rounding difference (a matmul summed in another order) is ~1e-7
# relative, and tens of steps grow it on these small, well-conditioned problems. Measured
# with PyTorch 2.13 (CPU): the largest relative difference in any script is 3.4e-5 (s07,
# ~100 Adam steps), most are below 1e-5; any real defect (a wrong default, an off-by-one
# schedule, a missed bias) shows as 1e-3 or more from the first steps. ATOL covers values
# near zero because they are sums that cancel (a row of centred logits, a small gradient).
RTOL, ATOL = 1e-4, 1e-6

# torch.* module -> gpugrad module; torch.utils(.data) fall back to gpugrad.data until
# gpugrad.utils exists
ALIASES = {
    "torch": "gpugrad",
    "torch.nn": "gpugrad.nn",
    "torch.nn.functional": "gpugrad.nn.functional",
    "torch.nn.init": "gpugrad.nn.init",
    "torch.nn.utils": "gpugrad.nn.utils",
    "torch.optim": "gpugrad.optim",
    "torch.optim.lr_scheduler": "gpugrad.optim.lr_scheduler",
    "torch.autograd": "gpugrad.autograd",
    "torch.amp": "gpugrad.amp",
    "torch.linalg": "gpugrad.linalg",
    "torch.utils": "gpugrad.utils",
    "torch.utils.data": "gpugrad.utils.data",
}


def _is_torch_name(name):
    return name == "torch" or name.startswith("torch.")


def _gpugrad_modules():
    """The modules that stand for torch's, by torch name."""
    mods = {}
    for torch_name, name in ALIASES.items():
        try:
            mods[torch_name] = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name is None or not name.startswith(e.name):  # a missing import inside the module
                raise
    if "torch.utils.data" not in mods:  # gpugrad.utils.data not written yet: gpugrad.data stands in
        mods["torch.utils.data"] = importlib.import_module("gpugrad.data")
    if "torch.utils" not in mods:
        stand_in = types.ModuleType("torch.utils", "gpugrad.utils does not exist yet; this stand-in holds .data")
        stand_in.data = mods["torch.utils.data"]
        mods["torch.utils"] = stand_in
    return mods


class _NoOtherTorch(importlib.abc.MetaPathFinder):
    """While torch is gpugrad: an import of a torch module that ALIASES does not map fails
    with its name (Python would otherwise look for it as a file inside gpugrad's folders)."""

    def find_spec(self, name, path=None, target=None):
        if _is_torch_name(name):
            raise ImportError(f"the compat shim maps no module {name!r} to gpugrad (see ALIASES in test_compat.py)")
        return None


@contextlib.contextmanager
def _torch_is_gpugrad():
    aliases = _gpugrad_modules()
    saved = {k: v for k, v in sys.modules.items() if _is_torch_name(k)}
    for k in saved:
        del sys.modules[k]
    sys.modules.update(aliases)
    finder = _NoOtherTorch()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if _is_torch_name(k)]:
            del sys.modules[k]
        sys.modules.update(saved)


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _fresh_state(framework):
    """What a fresh interpreter would start with: grad mode on, the default seed."""
    mod = importlib.import_module("gpugrad" if framework == "gpugrad" else "torch")
    mod.set_grad_enabled(True)
    mod.manual_seed(0)


def run_script(name, framework):
    """Run tests/compat/<name> under "gpugrad" or "torch"; its RESULT."""
    ctx = _torch_is_gpugrad() if framework == "gpugrad" else contextlib.nullcontext()
    with ctx, contextlib.redirect_stdout(io.StringIO()):
        _fresh_state(framework)
        namespace = runpy.run_path(str(COMPAT / name), run_name=f"compat_{framework}")
    if not isinstance(namespace.get("RESULT"), dict):
        raise AssertionError(f"{name} left no dict RESULT under {framework}")
    return namespace["RESULT"]


def plain_problems(value, path="RESULT"):
    """Where a RESULT holds something other than plain Python data (a tensor, a NumPy
    scalar: the kind of thing item() and tolist() are there to avoid), or a non-finite float."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in plain_problems(v, f"{path}[{k!r}]")]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in plain_problems(v, f"{path}[{i}]")]
    if value is None or type(value) in (bool, int, str):
        return []
    if type(value) is float:
        return [] if math.isfinite(value) else [f"{path} = {value}"]
    return [f"{path} is a {type(value).__module__}.{type(value).__qualname__}: {value!r}"]


def differences(expected, actual, path="RESULT", rtol=RTOL, atol=ATOL):
    """Where two RESULTs differ: types and structure exactly, floats to rtol/atol."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        if list(expected) != list(actual):
            return [f"{path}: keys {list(expected)} != {list(actual)}"]
        return [d for k in expected for d in differences(expected[k], actual[k], f"{path}[{k!r}]", rtol, atol)]
    if isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple)):
        if len(expected) != len(actual):
            return [f"{path}: length {len(expected)} != {len(actual)}: torch {expected!r}, gpugrad {actual!r}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual)) for d in differences(e, a, f"{path}[{i}]", rtol, atol)]
    if type(expected) is not type(actual):
        return [f"{path}: torch {expected!r} ({type(expected).__name__}), gpugrad {actual!r} ({type(actual).__name__})"]
    if type(expected) is float:
        if math.isclose(expected, actual, rel_tol=rtol, abs_tol=atol) or (math.isnan(expected) and math.isnan(actual)):
            return []
        rel = abs(expected - actual) / max(abs(expected), 1e-30)
        return [f"{path}: torch {expected!r}, gpugrad {actual!r} (relative difference {rel:.2e})"]
    return [] if expected == actual else [f"{path}: torch {expected!r}, gpugrad {actual!r}"]


_RUNS = {}


def _result(name, framework):
    """One run per script and framework per session; a failed run fails every test that uses it."""
    key = (name, framework)
    if key not in _RUNS:
        try:
            _RUNS[key] = ("ok", run_script(name, framework))
        except Exception as e:  # replayed to each test that needs this run
            _RUNS[key] = ("error", e)
    status, value = _RUNS[key]
    if status == "error":
        raise value
    return value


def _record():
    return json.loads(RECORD.read_text()) if RECORD.exists() else {}


def _assert_same(expected, actual):
    diffs = differences(expected, actual)
    shown = "\n  ".join(diffs[:12]) + (f"\n  ... and {len(diffs) - 12} more" if len(diffs) > 12 else "")
    assert not diffs, f"{len(diffs)} differences:\n  {shown}"


needs_torch = pytest.mark.skipif(not torch_available(), reason="PyTorch is not installed")


@pytest.mark.parametrize("name", SCRIPTS)
def test_runs_and_learns(name):
    result = _result(name, "gpugrad")
    assert not plain_problems(result), plain_problems(result)
    losses = result.get("losses")
    if losses is not None:
        assert losses[-1] < losses[0], f"the loss did not go down: {losses}"


@pytest.mark.torch
@needs_torch
@pytest.mark.parametrize("name", SCRIPTS)
def test_matches_pytorch(name):
    expected = _result(name, "torch")
    _assert_same(expected, _result(name, "gpugrad"))


@pytest.mark.skipif(torch_available(), reason="PyTorch is installed: test_matches_pytorch compares with it live")
@pytest.mark.parametrize("name", SCRIPTS)
def test_matches_recorded_pytorch(name):
    record = _record()
    assert name in record, f"{name} has no recorded PyTorch result: run `python tests/test_compat.py --record`"
    _assert_same(record[name]["RESULT"], _result(name, "gpugrad"))


@pytest.mark.torch
@needs_torch
@pytest.mark.parametrize("name", SCRIPTS)
def test_record_is_current(name):
    record = _record().get(name)
    assert record is not None, f"{name} has no recorded PyTorch result: run `python tests/test_compat.py --record`"
    _assert_same(record["RESULT"], _result(name, "torch"))


def test_shim_restores_modules():
    """Running a script under gpugrad leaves ``sys.modules`` and the import machinery as
    they were: no ``torch`` name bound to gpugrad leaks into other tests, and PyTorch's
    own modules (when loaded) are back."""
    before = {k: v for k, v in sys.modules.items() if _is_torch_name(k)}
    finders = list(sys.meta_path)
    run_script(SCRIPTS[0], "gpugrad")
    assert {k: v for k, v in sys.modules.items() if _is_torch_name(k)} == before
    assert sys.meta_path == finders
    with pytest.raises(ZeroDivisionError), _torch_is_gpugrad():  # also when the script raises
        raise ZeroDivisionError
    assert {k: v for k, v in sys.modules.items() if _is_torch_name(k)} == before
    assert sys.meta_path == finders


def test_comparison_is_strict():
    """The comparison can fail: a float off by more than float32 training noise, an int, a
    type, a key or a length that differs each counts."""
    assert differences({"a": [1.0, 2.0]}, {"a": [1.0, 2.0 * (1 + 1e-7)]}) == []
    assert differences({"a": 1.0}, {"a": 1.0 + 1e-3})
    assert differences({"a": 0.0}, {"a": 1e-5})
    assert differences({"n": 3}, {"n": 4}) and differences({"n": 3}, {"n": 3.0})
    assert differences({"a": 1}, {"b": 1}) and differences({"a": [1]}, {"a": [1, 2]})
    assert differences({"ok": True}, {"ok": False})


def test_corpus_is_complete():
    assert len(SCRIPTS) >= 15
    assert sorted(_record()) == SCRIPTS, "the record and the scripts differ: run `python tests/test_compat.py --record`"
    for name in SCRIPTS:
        text = (COMPAT / name).read_text()
        assert "import torch" in text and "gpugrad" not in text, f"{name} must be plain PyTorch code"


def main(argv):
    """``--record``: rewrite the record from PyTorch; otherwise compare the named scripts
    (prefixes such as s01; all by default) and print their differences."""
    record = "--record" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    names = [n for n in SCRIPTS if not wanted or any(n.startswith(w) for w in wanted)]
    if record:
        import torch

        data = _record()
        for name in names:
            data[name] = {"torch": torch.__version__, "RESULT": run_script(name, "torch")}
        RECORD.write_text(json.dumps({k: data[k] for k in sorted(data) if k in SCRIPTS}, indent=1) + "\n")
        print(f"recorded {len(names)} scripts with PyTorch {torch.__version__} in {RECORD}")
        return 0
    failed = 0
    for name in names:
        try:
            expected = run_script(name, "torch") if torch_available() else _record()[name]["RESULT"]
            diffs = differences(expected, run_script(name, "gpugrad"))
        except Exception as e:  # reported, then the next script
            diffs = [f"{type(e).__name__}: {e}"]
        failed += bool(diffs)
        print(f"{'FAIL' if diffs else 'ok  '} {name}")
        for d in diffs[:20]:
            print(f"     {d}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
