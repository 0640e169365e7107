"""Damaged, forged and foreign checkpoints through gpugrad.load, ``gpugrad eval`` and
``gpugrad train --resume``: each is refused with CheckpointError (one line, exit code 2
on the command line), never with a KeyError, TypeError, RecursionError or a crash later.

The forged files are signed again after each change (serialization._sign), so that the
structural checks are what refuses them, not the digest."""

import copy
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gpugrad as gg
from gpugrad import serialization
from gpugrad import train as T
from gpugrad.cli import main
from gpugrad.serialization import CheckpointError


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished two-epoch run: (folder, data file, checkpoint, its tree, its arrays)."""
    folder = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 5)) * 3
    y = rng.integers(0, 3, 300)
    data = folder / "blobs.npz"
    np.savez(data, x=centers[y] + rng.standard_normal((300, 5)), y=y)
    cfg = T.default_config()
    cfg.update(data=str(data), hidden=[8], epochs=2, batch_size=64, lr=0.05, device="cpu", schedule="step")
    ck = folder / "ck.safetensors"
    T.train(cfg, save=str(ck), progress=False, log=lambda s: None)
    tree, arrays = _parts(ck)
    return folder, data, ck, tree, arrays


def _parts(path):
    from safetensors.numpy import load

    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(json.loads(raw[8 : 8 + n])["__metadata__"]["tree"]), load(raw)


def _forge(path, tree, arrays):
    """A checkpoint of ``tree`` (JSON text or value) and ``arrays`` with a valid signature."""
    from safetensors.numpy import save

    text = tree if isinstance(tree, str) else json.dumps(tree)
    path.write_bytes(save(arrays, metadata=serialization._sign(text, arrays)))


def _outcomes(path, folder):
    """What load, eval and resume make of ``path``: "ok" or the exception's type name."""
    calls = {
        "load": lambda: gg.load(path),
        "eval": lambda: T.evaluate_checkpoint(str(path), device="cpu"),
        # as `gpugrad train --resume FILE --epochs 2 --device cpu`: nothing left to train
        "resume": lambda: T.train({"epochs": 2, "device": "cpu"}, resume=str(path), progress=False,
                                  log=lambda s: None),
    }  # fmt: skip
    out = {}
    for name, call in calls.items():
        try:
            call()
        except CheckpointError as exc:
            assert "\n" not in str(exc), exc
            out[name] = "CheckpointError"
        else:
            out[name] = "ok"
    return out


def test_the_valid_run_loads_evaluates_and_resumes(run):
    folder, _, ck, tree, arrays = run
    forged = folder / "same.safetensors"
    _forge(forged, tree, arrays)
    assert _outcomes(forged, folder) == {"load": "ok", "eval": "ok", "resume": "ok"}


def test_a_gpugrad_file_that_is_no_training_checkpoint_is_refused_in_one_line(run, tmp_path, capsys):
    plain = tmp_path / "weights.safetensors"
    gg.save({"w": gg.ones(3)}, plain)
    for argv in (["eval", str(plain), "--device", "cpu"], ["train", "--resume", str(plain), "--quiet"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "not a checkpoint of gpugrad train" in err and "Traceback" not in err, err
    for obj, match in (([1, 2], "not a checkpoint of gpugrad train"), ({"config": [1]}, "not a checkpoint of"),
                       ({"config": {}, "model": {}}, "a checkpoint of gpugrad train without epoch"),
                       ({"config": {}, "model": {}, "epoch": 1}, "its config lacks data, hidden")):
        gg.save(obj, plain)
        with pytest.raises(CheckpointError, match=match):
            T.evaluate_checkpoint(str(plain), device="cpu")


def test_nesting_100000_deep_is_refused(tmp_path):
    path = tmp_path / "deep.safetensors"
    _forge(path, '{"__list__": [' * 100_000 + "]}" * 100_000, {})
    with pytest.raises(CheckpointError, match="nested too deeply"):
        gg.load(path)
    _forge(path, '{"__list__": [' * 101 + "]}" * 101, {})  # readable JSON, deeper than save writes
    with pytest.raises(CheckpointError, match="nesting deeper than 100 levels"):
        gg.load(path)


_W = {"t0:w": np.ones(3, np.float32)}


@pytest.mark.parametrize("tree, arrays, match", [
    ({"__dict__": {"w": {"__tensor__": "t9:w"}}}, {}, r"expected the name of one of the file's tensors at w, got 't9:w'"),
    ({"__list__": [{"__tensor__": "t0:w"}, {"__tensor__": "t0:w"}]}, _W, "expected each tensor used once at 1"),
    ({"__dict__": {}}, _W, r"its tree does not use tensors \['t0:w'\]"),
    ({"__dict__": {"a": [1, 2]}}, {}, "expected a number, string, null or one of the nodes .* at a, got"),
    ({"__intdict__": [[1, 2], [1, 3]]}, {}, "expected distinct keys in an __intdict__ node at the top"),
    ({"__intdict__": [["1", 2]]}, {}, r"expected \[int key, value\] pairs"),
    ({"__float__": "1e400"}, {}, '"inf", "-inf" or "nan" in a __float__ node'),
    ({"__list__": [], "__dict__": {}}, {}, "expected a number"),
    ('{"__list__": [NaN]}', {}, "NaN is not JSON"),
    ('{"__dict__": {"a": 1, "a": 2}}', {}, "duplicate keys"),
    ('{"__list__": [' + "1" * 5000 + "]}", {}, "not valid JSON"),
])  # fmt: skip
def test_malformed_trees_are_refused(tmp_path, tree, arrays, match):
    path = tmp_path / "ck.safetensors"
    _forge(path, tree, arrays)
    with pytest.raises(CheckpointError, match=match):
        gg.load(path)


def test_a_tensor_of_a_dtype_gpugrad_lacks_is_refused(tmp_path):
    path = tmp_path / "ck.safetensors"
    _forge(path, {"__tensor__": "t0:w"}, {"t0:w": np.ones(3, np.uint16)})
    with pytest.raises(CheckpointError, match="dtype uint16, which gpugrad does not support"):
        gg.load(path)


def _positions(node, path=()):
    """Every place in a JSON value: paths of keys and indices."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + (k,)
            yield from _positions(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield path + (i,)
            yield from _positions(v, path + (i,))


_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([2**70, -(2**63), 10**6]),
                  st.floats(-1e3, 1e3), st.sampled_from([1e308, -1e-300, 0.5]), st.text(max_size=4))  # fmt: skip
_NODE = st.one_of(
    _LEAF,
    st.builds(lambda v: {"__float__": v}, st.sampled_from(["inf", "-inf", "nan", "1.5", 3])),
    st.builds(lambda v: {"__list__": v}, st.lists(_LEAF, max_size=3)),
    st.builds(lambda v: {"__tuple__": v}, st.lists(_LEAF, max_size=3)),
    st.builds(lambda v: {"__dict__": v}, st.dictionaries(st.text(max_size=3), _LEAF, max_size=3)),
    st.builds(lambda v: {"__intdict__": v}, st.lists(st.lists(_LEAF, max_size=3), max_size=3)),
    st.sampled_from([{}, [1, 2], {"__bogus__": 1}, {"__list__": [], "__dict__": {}}, {"__tensor__": 3}]),
)
_DATA_SET = ("__dict__", "config", "__dict__", "data")  # names a file outside the checkpoint


def _tensor_mutations(arrays, name, kind, other):
    arrays = dict(arrays)
    a = arrays[name]
    if kind == "int32":  # the same bytes read as another dtype
        arrays[name] = a.view(np.int32) if a.dtype.itemsize == 4 else a.astype(np.int32)
    elif kind in ("float64", "float16", "bool", "uint16"):
        arrays[name] = a.astype(kind)
    elif kind == "flat":
        arrays[name] = a.reshape(-1)
    elif kind == "0-d":
        arrays[name] = a.reshape(-1)[:1].reshape(())
    elif kind == "lead":
        arrays[name] = a[None]
    elif kind == "swap":
        arrays[name], arrays[other] = arrays[other], a
    elif kind == "drop":
        del arrays[name]
    elif kind == "extra":
        arrays["t99:extra"] = np.zeros(2, np.float32)
    return arrays


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_trees_and_tensors_are_refused_with_checkpoint_error_only(run, data):
    folder, _, _, tree, arrays = run
    tree, names = copy.deepcopy(tree), sorted(arrays)
    if data.draw(st.booleans(), label="mutate the tree"):
        places = list(_positions(tree))
        where = places[data.draw(st.integers(0, len(places) - 1), label="place")]
        parent = tree
        for key in where[:-1]:
            parent = parent[key]
        if data.draw(st.booleans(), label="delete"):
            del parent[where[-1]]
        else:
            value = data.draw(st.one_of(_NODE, st.builds(lambda n: {"__tensor__": n}, st.sampled_from(names))),
                              label="value")
            assume(not (where == _DATA_SET and isinstance(value, str)))  # another data file: not the checkpoint's error
            parent[where[-1]] = value
    else:
        kind = data.draw(st.sampled_from(["int32", "float64", "float16", "bool", "uint16", "flat", "0-d", "lead",
                                          "swap", "drop", "extra"]), label="tensor change")
        arrays = _tensor_mutations(arrays, data.draw(st.sampled_from(names)), kind, data.draw(st.sampled_from(names)))
    path = folder / "forged.safetensors"
    _forge(path, tree, arrays)
    _outcomes(path, folder)  # anything but CheckpointError (or success) fails the test


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_flipped_bytes_are_refused_with_checkpoint_error_only(run, data):
    folder, _, ck, _, _ = run
    raw = bytearray(ck.read_bytes())
    for _ in range(data.draw(st.integers(1, 3), label="flips")):
        raw[data.draw(st.integers(0, len(raw) - 1), label="byte")] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    path = folder / "flipped.safetensors"
    path.write_bytes(bytes(raw))
    assert _outcomes(path, folder) in ({"load": "CheckpointError", "eval": "CheckpointError",
                                        "resume": "CheckpointError"}, {"load": "ok", "eval": "ok", "resume": "ok"})
