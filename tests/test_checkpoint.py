"""gpugrad.save / gpugrad.load: round trips, atomic writes, refusal of corrupt, foreign
and mismatched files, of paths that are not regular files; temporaries left by a killed
save; file modes."""

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.serialization import CheckpointError


def _trained(device):
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).to(device)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = gg.randn(8, 3, device=device), gg.tensor([0, 1] * 4, device=device)
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model, opt


def test_round_trip_of_model_optimizer_and_plain_values(tmp_path, device):
    model, opt = _trained(device)
    path = tmp_path / "ck.safetensors"
    obj = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "lr": 0.1,
           "name": "mlp", "sizes": (3, 5, 2), "none": None, "inf": float("inf"), "mask": gg.tensor([True, False])}
    gg.save(obj, path)
    back = gg.load(path, device=device)
    assert back["epoch"] == 3 and back["name"] == "mlp" and back["sizes"] == (3, 5, 2) and back["none"] is None
    assert back["inf"] == float("inf") and back["mask"].tolist() == [True, False]
    m2 = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).to(device)
    m2.load_state_dict(back["model"])
    for (n, p), (_, q) in zip(model.named_parameters(), m2.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=n)
    o2 = optim.SGD(m2.parameters(), lr=0.1, momentum=0.9)
    o2.load_state_dict(back["optimizer"])
    np.testing.assert_array_equal(o2.state_dict()["state"][0]["momentum_buffer"].numpy(),
                                  opt.state_dict()["state"][0]["momentum_buffer"].numpy())


def test_file_is_plain_safetensors(tmp_path):
    from safetensors.numpy import load_file

    gg.save({"w": gg.arange(4).float()}, tmp_path / "a.safetensors")
    arrays = load_file(str(tmp_path / "a.safetensors"))
    assert [a.tolist() for a in arrays.values()] == [[0.0, 1.0, 2.0, 3.0]]


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ck.safetensors"
    gg.save({"v": gg.ones(3)}, path)
    before = path.read_bytes()

    def disk_full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(OSError, match="No space left"):
        gg.save({"v": gg.zeros(3)}, path)
    assert path.read_bytes() == before  # the old checkpoint is intact
    assert sorted(os.listdir(tmp_path)) == ["ck.safetensors"]  # no temporary left behind


def test_corrupt_foreign_and_missing_files_are_refused(tmp_path):
    path = tmp_path / "ck.safetensors"
    gg.save({"v": gg.arange(100).float()}, path)
    data = bytearray(path.read_bytes())
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        gg.load(tmp_path / "trunc.safetensors")
    data[-7] ^= 0xFF  # flip bits in the tensor data
    (tmp_path / "flip.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="the data of tensor 't0:v' fails its SHA-256 check"):
        gg.load(tmp_path / "flip.safetensors")
    from safetensors.numpy import save_file

    save_file({"x": np.zeros(2, np.float32)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(CheckpointError, match="not a gpugrad checkpoint"):
        gg.load(tmp_path / "other.safetensors")
    with pytest.raises(CheckpointError, match="does not exist"):
        gg.load(tmp_path / "nope.safetensors")
    with pytest.raises(gg.errors.ArgumentTypeError, match="no pickle"):
        gg.save({"f": object()}, tmp_path / "x.safetensors")
    assert isinstance(CheckpointError("x"), ValueError)


def _split(path):
    """(header as a dict, the bytes after it) of a safetensors file."""
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def _rewrite_header(path, edit):
    """Apply ``edit`` to the file's header dict in place, keeping the signature as it was
    (what a bit flip or a hand edit of the header does)."""
    header, body = _split(path)
    edit(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + body)


def _entries(header):
    return {k: v for k, v in header.items() if k != "__metadata__"}


def test_a_bit_flipped_in_the_tree_is_refused(tmp_path):
    path = tmp_path / "ck.safetensors"
    gg.save({"lr": 0.01, "w": gg.ones(3)}, path)
    data = bytearray(path.read_bytes())
    data[data.index(b"0.01") + 3] ^= 1  # "0.01" -> "0.00": still valid JSON, a different lr
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="tree"):
        gg.load(path)


def test_a_dtype_edited_in_the_header_is_refused(tmp_path):
    path = tmp_path / "ck.safetensors"
    gg.save({"w": gg.arange(4).float()}, path)
    _rewrite_header(path, lambda h: next(iter(_entries(h).values())).update(dtype="I32"))
    with pytest.raises(CheckpointError, match="written as float32 .* int32"):
        gg.load(path)


def test_two_tensors_with_swapped_names_are_refused(tmp_path):
    path = tmp_path / "ck.safetensors"
    gg.save({"exp_avg": gg.zeros(3), "exp_avg_sq": gg.ones(3)}, path)

    def swap(h):
        a, b = _entries(h).values()
        a["data_offsets"], b["data_offsets"] = b["data_offsets"], a["data_offsets"]

    _rewrite_header(path, swap)
    with pytest.raises(CheckpointError, match=r"exp_avg.*exp_avg_sq"):
        gg.load(path)


def test_a_truncated_file_is_refused(tmp_path):
    path = tmp_path / "ck.safetensors"
    gg.save({"w": gg.arange(10).float()}, path)
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(CheckpointError, match="truncated: its header describes 40 bytes of tensor data, the file holds 36"):
        gg.load(path)
    path.write_bytes(b"\x10\x00")
    with pytest.raises(CheckpointError, match="truncated"):
        gg.load(path)


def test_a_checkpoint_of_the_older_format_is_refused(tmp_path):
    """Format 1 signed the tensor bytes only: its tree, dtypes and shapes cannot be trusted."""
    import hashlib

    from safetensors.numpy import save_file

    arrays = {"t0:.w": np.ones(3, np.float32)}
    h = hashlib.sha256()
    h.update(b"t0:.w")
    h.update(arrays["t0:.w"].tobytes())
    tree = json.dumps({"__dict__": {"w": {"__tensor__": "t0:.w"}}})
    save_file(arrays, str(tmp_path / "old.safetensors"),
              metadata={"format": "gpugrad-checkpoint-1", "tree": tree, "sha256": h.hexdigest()})
    with pytest.raises(CheckpointError, match="older gpugrad"):
        gg.load(tmp_path / "old.safetensors")


def test_nesting_deeper_than_the_limit_is_refused_on_save(tmp_path):
    deep = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(gg.errors.ArgumentError, match="deeper than"):
        gg.save(deep, tmp_path / "deep.safetensors")
    cycle = []
    cycle.append(cycle)
    with pytest.raises(gg.errors.ArgumentError, match="deeper than"):
        gg.save({"c": cycle}, tmp_path / "cycle.safetensors")
    assert not os.listdir(tmp_path)


def test_zero_dim_tensors_stay_zero_dim(tmp_path):
    path = tmp_path / "ck.safetensors"
    gg.save({"x": gg.tensor(3.5), "n": gg.tensor(7), "e": gg.zeros(0, 3)}, path)
    back = gg.load(path)
    assert (back["x"].shape, back["n"].shape, back["e"].shape) == ((), (), (0, 3))
    assert back["x"].item() == 3.5 and back["n"].dtype == gg.int64


def _in_a_child(code, *args):
    """Run ``code`` in a fresh interpreter (a thread blocked in open() of a FIFO could hold
    the GIL); (its return code, stderr), or None when it was still running after 60 s."""
    try:
        r = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None
    return r.returncode, r.stderr


_LOAD_OR_SAVE = """
import sys
import gpugrad as gg
from gpugrad.serialization import CheckpointError
try:
    gg.load(sys.argv[2]) if sys.argv[1] == "load" else gg.save({"v": gg.ones(2)}, sys.argv[2])
except CheckpointError as exc:
    sys.exit(str(exc))
"""


def test_a_fifo_or_a_folder_is_refused_at_once(tmp_path):
    fifo = tmp_path / "ck.safetensors"
    os.mkfifo(fifo)
    for op in ("load", "save"):
        out = _in_a_child(_LOAD_OR_SAVE, op, fifo)
        assert out is not None, f"gpugrad.{op} blocked on a FIFO"
        assert out[0] == 1 and "a FIFO" in out[1], out
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and os.listdir(tmp_path) == ["ck.safetensors"]
    with pytest.raises(CheckpointError, match="expected .* to be a regular file, got a directory"):
        gg.load(tmp_path)
    with pytest.raises(CheckpointError, match="a directory"):
        gg.save({"v": gg.ones(2)}, tmp_path)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_the_file_mode_follows_the_umask(tmp_path, umask, mode):
    path = tmp_path / "ck.safetensors"
    old = os.umask(umask)
    try:
        gg.save({"v": gg.ones(2)}, path)
        gg.save({"v": gg.ones(3)}, path)  # a replaced file too
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode


_CHILD = """
import os, sys, time
import gpugrad as gg

path, stage = sys.argv[1], sys.argv[2]
real = getattr(os, stage)


def pause(*args):
    if stage == "write":  # half of the checkpoint reaches the temporary file
        real(args[0], bytes(args[1])[: len(args[1]) // 2])
    print("paused", flush=True)
    time.sleep(120)


setattr(os, stage, pause)
gg.save({"v": gg.zeros(1000)}, path)
"""


@pytest.mark.parametrize("stage", ["write", "replace"])
def test_a_save_killed_midway_leaves_the_old_file_and_one_temporary_that_the_next_save_removes(tmp_path, stage):
    folder = tmp_path / "run"
    path = folder / "ck.safetensors"
    gg.save({"v": gg.ones(1000)}, path)
    before = path.read_bytes()
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    child = subprocess.Popen([sys.executable, str(script), str(path), stage], stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, child.kill)  # a child that never pauses must not hang the suite
    watchdog.start()
    try:
        assert child.stdout.readline() == "paused\n", "the save never reached the pause"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        watchdog.cancel()
        child.kill()
        child.wait(timeout=60)
        child.stdout.close()
    left = sorted(os.listdir(folder))
    assert len(left) == 2 and left[0].startswith(".ck.safetensors.gpugrad-tmp-"), left
    assert path.read_bytes() == before
    gg.save({"v": gg.full((1000,), 2.0)}, path)
    assert os.listdir(folder) == ["ck.safetensors"]
    assert gg.load(path)["v"].tolist() == [2.0] * 1000


def test_temporaries_of_live_or_recent_saves_are_left_alone(tmp_path):
    from gpugrad.serialization import _HOST

    names = {
        "live": f".ck.safetensors.gpugrad-tmp-{_HOST}-{os.getpid()}-{'0' * 16}",  # this process, maybe another thread
        "recent elsewhere": f".ck.safetensors.gpugrad-tmp-x{_HOST}-1-{'1' * 16}",  # pid of another host's namespace
        "old elsewhere": f".ck.safetensors.gpugrad-tmp-x{_HOST}-1-{'2' * 16}",
        "not ours": ".ck.safetensors.tmp",
    }
    for n in names.values():
        (tmp_path / n).write_bytes(b"x")
    hours_ago = time.time() - 3 * 3600
    os.utime(tmp_path / names["old elsewhere"], (hours_ago, hours_ago))
    gg.save({"v": gg.ones(2)}, tmp_path / "ck.safetensors")
    kept = set(os.listdir(tmp_path))
    assert kept == {"ck.safetensors", names["live"], names["recent elsewhere"], names["not ours"]}


def test_a_missing_file_is_also_a_file_not_found_error(tmp_path):
    path = tmp_path / "nope.safetensors"
    with pytest.raises(FileNotFoundError, match="does not exist") as info:
        gg.load(path)
    assert isinstance(info.value, CheckpointError)  # what gpugrad raised for it before


def test_map_location_places_the_tensors_as_torch_load_does(tmp_path, device):
    path = tmp_path / "ck.safetensors"
    gg.save({"w": gg.ones(2), "rows": [gg.zeros(1), (gg.zeros(3),)], "epoch": 4}, path)

    def devices(obj):
        return {str(obj["w"].device), str(obj["rows"][0].device), str(obj["rows"][1][0].device)}

    default = str(gg.get_default_device())
    assert devices(gg.load(path, map_location=device)) == {str(gg.device(device))}
    assert devices(gg.load(path, gg.device(device))) == {str(gg.device(device))}  # positional, as torch.load's
    assert devices(gg.load(path, map_location={default: device})) == {str(gg.device(device))}
    assert devices(gg.load(path, map_location={"cuda:7": device})) == {default}  # names no tensor's location
    seen = []
    kept = gg.load(path, map_location=lambda storage, loc: seen.append((str(storage.device), loc)) or storage)
    assert devices(kept) == {"cpu"} and seen == [("cpu", default)] * 3
    moved = gg.load(path, map_location=lambda storage, loc: storage.to(device))
    assert devices(moved) == {str(gg.device(device))} and moved["epoch"] == 4 and isinstance(moved["rows"][1], tuple)
    assert devices(gg.load(path, map_location=lambda storage, loc: None)) == {default}
    with pytest.raises(gg.errors.ArgumentTypeError, match="map_location to return a Tensor or None, got int"):
        gg.load(path, map_location=lambda storage, loc: 1)
    with pytest.raises(gg.errors.ArgumentTypeError, match="map_location to be a device name"):
        gg.load(path, map_location=0)
    with pytest.raises(gg.errors.ArgumentError, match="map_location or device"):
        gg.load(path, map_location="cpu", device="cpu")


def test_weights_only_is_accepted_and_changes_nothing(tmp_path):
    path = tmp_path / "ck.safetensors"
    gg.save({"w": gg.arange(3).float(), "lr": 0.5}, path)
    for weights_only in (True, False):
        back = gg.load(path, weights_only=weights_only)
        assert back["w"].tolist() == [0.0, 1.0, 2.0] and back["lr"] == 0.5


@pytest.mark.parametrize("make, hint", [
    (lambda: nn.Linear(2, 2), r"save its state_dict\(\) and rebuild the Linear with load_state_dict\(\)"),
    (lambda: optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1), r"save its state_dict\(\) and rebuild the SGD"),
    (lambda: {"model": nn.Linear(2, 2)}, r"Linear at model: .*save its state_dict\(\)"),
    (lambda: {1.5, 2.5}, r"set at the top: .*convert it to one of those, or pickle it yourself"),
])  # fmt: skip
def test_saving_what_a_checkpoint_cannot_hold_says_what_to_save_instead(tmp_path, make, hint):
    path = tmp_path / "ck.safetensors"
    with pytest.raises(gg.errors.ArgumentTypeError, match=r"\[save\] cannot store a .*no pickle\); ") as info:
        gg.save(make(), path)
    assert info.match(hint) and not path.exists()


def test_a_missing_file_is_a_file_not_found_error_on_the_model_and_optimizer_paths(tmp_path):
    model = nn.Linear(2, 2)
    opt = optim.Adam(model.parameters())
    for load in (lambda p: model.load_state_dict(gg.load(p)), lambda p: opt.load_state_dict(gg.load(p)["optimizer"]),
                 lambda p: gg.load(p, map_location="cpu", weights_only=True)):  # fmt: skip
        with pytest.raises(FileNotFoundError, match=r"\[load\] .*nope.safetensors does not exist"):
            load(str(tmp_path / "nope.safetensors"))
