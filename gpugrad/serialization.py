"""``gpugrad.save`` / ``gpugrad.load``: checkpoints in the safetensors format.

Tensors go in as safetensors entries (readable by any safetensors reader, no pickle);
everything around them (nesting, numbers, strings, optimizer hyper-parameters) goes in
the header's metadata as JSON text, the "tree". Everything ``load`` reads back is signed.
The metadata of format 2 holds:

- ``format``: ``"gpugrad-checkpoint-2"``;
- ``tree``: the JSON text of the object, with ``{"__tensor__": name}`` for each tensor;
- ``tensors``: the table of tensors, JSON ``{name: [dtype name, shape, SHA-256 of its
  bytes]}`` (the bytes little-endian in C order, as safetensors stores them);
- ``sha256``: the SHA-256 of format, tree and table, each fed as its length (8 bytes,
  little-endian) then its UTF-8 text, so that no two different triples hash alike.

``load`` checks the digest over the three texts as stored, then every tensor of the file
against the table (naming each one that differs), then the tree's structure node by node.
A save writes one temporary (``.<name>.gpugrad-tmp-<host>-<pid>-<random>``), fsyncs it,
renames it over the target and fsyncs the folder, so a crash leaves the old file or the
new one; it also removes the temporaries that killed saves left in that folder.
"""

import contextlib
import errno
import hashlib
import json
import os
import re
import reprlib
import secrets
import socket
import stat
import time

import numpy as np

from .backend import Device, get_default_device
from .dtypes import SUPPORTED
from .errors import ArgumentError, ArgumentTypeError, GpugradError
from .tensor import Tensor

FORMAT = "gpugrad-checkpoint-2"
_BY_NAME = {d.name: d for d in SUPPORTED}
# format 1 signed the tensor bytes only: a flipped bit in its tree or an edited dtype, shape
# or tensor name loaded silently. Such files are refused rather than loaded with a warning:
# a warning scrolls by, a damaged learning rate or a swapped moment does not announce itself
OLD_FORMATS = ("gpugrad-checkpoint-1",)
MAX_DEPTH = 100  # levels of nesting in a saved object (a training checkpoint has five)
STALE_SECONDS = 3600  # a temporary of another host untouched this long belongs to no running save
_HOST = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:32] or "host"
_TEMPORARY = re.compile(r"\..*\.gpugrad-tmp-(?P<host>[A-Za-z0-9_]+)-(?P<pid>[1-9][0-9]{0,8})-[0-9a-f]{16}")
_TAGS = ("__tensor__", "__dict__", "__intdict__", "__list__", "__tuple__", "__float__")
_NON_REGULAR = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))  # fmt: skip


class CheckpointError(GpugradError, ValueError):
    """A checkpoint that is missing, not a regular file, corrupt, or not written by gpugrad."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """A checkpoint path where there is no file: a FileNotFoundError too, as in ``torch.load``."""


# -- the tree -----------------------------------------------------------------------------
def _join(path, key):
    return f"{path}.{key}" if path else str(key)


def _encode(obj, tensors, path, depth):
    if isinstance(obj, (dict, list, tuple)) and depth >= MAX_DEPTH:
        raise ArgumentError(f"[save] expected at most {MAX_DEPTH} levels of nesting, got deeper than that "
                            "(a list or dict that holds itself?)")
    if isinstance(obj, Tensor):
        key = f"t{len(tensors)}:{path}"[:200]
        tensors[key] = obj
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        return _encode(Tensor(obj), tensors, path, depth)
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {"__dict__": {k: _encode(v, tensors, _join(path, k), depth + 1) for k, v in obj.items()}}
        if all(isinstance(k, int) and not isinstance(k, bool) for k in obj):
            return {"__intdict__": [[int(k), _encode(v, tensors, _join(path, k), depth + 1)] for k, v in obj.items()]}
        raise ArgumentTypeError(f"[save] dict keys must be all str or all int, at {path or 'the top'}")
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, tensors, _join(path, i), depth + 1) for i, v in enumerate(obj)]
        return {"__tuple__" if isinstance(obj, tuple) else "__list__": items}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"__float__": repr(obj)}
        return obj
    if isinstance(obj, np.generic):
        return _encode(obj.item(), tensors, path, depth)
    raise ArgumentTypeError(f"[save] cannot store a {type(obj).__name__} at {path or 'the top'}: checkpoints "
                            f"hold tensors, numbers, strings, None and dicts, lists and tuples of them (safetensors, "
                            f"no pickle); {_instead(obj)}")


def _instead(obj):
    """What to save in place of ``obj``, which ``save`` cannot store."""
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        return (f"save its state_dict() and rebuild the {type(obj).__name__} with load_state_dict() "
                f"(pickle.dumps or copy.deepcopy copy one in memory)")
    return "convert it to one of those, or pickle it yourself if you trust whoever loads it"


class _Decoder:
    """Rebuilds the saved object from its tree, accepting only the nodes ``_encode`` writes
    and using every tensor of the file exactly once."""

    def __init__(self, path, arrays, device):
        self.path, self.arrays, self.device, self.used = path, arrays, device, set()

    def bad(self, expected, where, node):
        return CheckpointError(f"[load] {self.path} is malformed: expected {expected} at {where or 'the top'}, "
                               f"got {reprlib.repr(node)}")

    def node(self, node, where, depth):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not (isinstance(node, dict) and len(node) == 1 and next(iter(node)) in _TAGS):
            raise self.bad(f"a number, string, null or one of the nodes {', '.join(_TAGS)}", where, node)
        ((tag, v),) = node.items()
        if tag == "__tensor__":
            return self.tensor(v, where)
        if tag == "__float__":
            if v not in ("inf", "-inf", "nan"):
                raise self.bad('"inf", "-inf" or "nan" in a __float__ node', where, v)
            return float(v)
        if depth >= MAX_DEPTH:  # the containers save accepts
            raise CheckpointError(f"[load] {self.path} is malformed: nesting deeper than {MAX_DEPTH} levels")
        if tag == "__dict__":
            if not isinstance(v, dict):
                raise self.bad("an object in a __dict__ node", where, v)
            return {k: self.node(x, _join(where, k), depth + 1) for k, x in v.items()}
        if not isinstance(v, list):
            raise self.bad(f"a list in a {tag} node", where, v)
        if tag == "__intdict__":
            if not all(isinstance(e, list) and len(e) == 2 and type(e[0]) is int for e in v):
                raise self.bad("[int key, value] pairs in an __intdict__ node", where, v)
            if len({e[0] for e in v}) != len(v):
                raise self.bad("distinct keys in an __intdict__ node", where, v)
            return {k: self.node(x, _join(where, k), depth + 1) for k, x in v}
        items = [self.node(x, _join(where, i), depth + 1) for i, x in enumerate(v)]
        return tuple(items) if tag == "__tuple__" else items

    def tensor(self, name, where):
        from .creation import tensor

        if not isinstance(name, str) or name not in self.arrays:
            raise self.bad("the name of one of the file's tensors", where, name)
        if name in self.used:
            raise self.bad("each tensor used once", where, name)
        self.used.add(name)
        arr = self.arrays[name]
        if arr.dtype not in SUPPORTED:
            raise CheckpointError(f"[load] {self.path}: tensor {name!r} has dtype {arr.dtype}, which gpugrad does not "
                                  f"support; expected one of {', '.join(d.name for d in SUPPORTED)}")
        return tensor(arr, device=self.device)


def _no_constant(name):
    raise ValueError(f"{name} is not JSON (save writes non-finite floats as __float__ nodes)")


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate keys in an object: {sorted(k for k in set(keys) if keys.count(k) > 1)}")
    return dict(pairs)


def _parse_json(path, text, what):
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise CheckpointError(f"[load] {path} is malformed: its {what} is nested too deeply to read") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, Python's limit on the digits of an int
        raise CheckpointError(f"[load] {path} is malformed: its {what} is not valid JSON ({exc})") from None


# -- signing ------------------------------------------------------------------------------
def _digest(*texts):
    h = hashlib.sha256()
    for text in texts:
        b = text.encode("utf-8", "surrogatepass")  # a forged header may hold lone surrogates
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _entry(a):
    """[dtype name, shape, SHA-256 of the bytes as stored (little-endian, C order)]."""
    stored = np.asarray(a, dtype=a.dtype.newbyteorder("<"), order="C").reshape(-1)
    return [a.dtype.name, list(a.shape), hashlib.sha256(stored.view(np.uint8)).hexdigest()]


def _sign(tree, arrays):
    """The metadata of a checkpoint of ``tree`` (JSON text) and ``arrays``."""
    table = json.dumps({k: _entry(a) for k, a in arrays.items()}, sort_keys=True)
    return {"format": FORMAT, "tree": tree, "tensors": table, "sha256": _digest(FORMAT, tree, table)}


def _shown(entry):
    dtype, shape = entry[0], entry[1]
    return f"{dtype} {tuple(shape) if isinstance(shape, list) else shape}"


def _check_tensors(path, table_text, arrays):
    """Every tensor of the file against the (signed) table: each difference named."""
    table = _parse_json(path, table_text, "table of tensors")
    actual = {k: _entry(a) for k, a in arrays.items()}
    if table == actual:
        return
    if not isinstance(table, dict):
        raise CheckpointError(f"[load] {path} is malformed: expected its table of tensors to be an object, "
                              f"got {reprlib.repr(table)}")
    problems, bad_bytes = [], []
    for name in sorted(set(table) | set(actual)):
        want, got = table.get(name), actual.get(name)
        if got is None:
            problems.append(f"tensor {name!r} is missing")
        elif want is None:
            problems.append(f"tensor {name!r} is not in its table")
        elif not (isinstance(want, list) and len(want) == 3):
            problems.append(f"the table's entry of tensor {name!r} is malformed ({reprlib.repr(want)})")
        elif want[:2] != got[:2]:
            problems.append(f"tensor {name!r} was written as {_shown(want)}, the file holds {_shown(got)}")
        elif want[2] != got[2]:
            bad_bytes.append(repr(name))
    if bad_bytes:
        problems.append(f"the data of tensor {', '.join(bad_bytes)} fails its SHA-256 check")
    raise CheckpointError(f"[load] {path} is corrupt: {'; '.join(problems)}")


# -- files --------------------------------------------------------------------------------
def _refuse_non_regular(op, path, st):
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _NON_REGULAR if test(st.st_mode)), "no regular file")
        raise CheckpointError(f"[{op}] expected {path} to be a regular file, got {kind}")


def _read(path):
    try:
        _refuse_non_regular("load", path, os.stat(path))
        # O_NONBLOCK: should the path have become a FIFO since the stat, open() returns at
        # once (and the fstat refuses it) instead of waiting for a writer forever
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as f:
            _refuse_non_regular("load", path, os.fstat(f.fileno()))
            return f.read()
    except FileNotFoundError:
        raise CheckpointNotFoundError(f"[load] {path} does not exist") from None
    except OSError as exc:
        raise CheckpointError(f"[load] cannot read {path}: {exc.strerror or exc}") from None


def _metadata(path, data):
    """The gpugrad metadata of the safetensors bytes ``data``, after checking that the file
    is whole and is a checkpoint of this format."""
    if len(data) < 8:
        raise CheckpointError(f"[load] {path} is truncated: it holds {len(data)} bytes, a safetensors file at least 8")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8:
        raise CheckpointError(f"[load] {path} is truncated: its header needs {n} bytes, the file holds {len(data) - 8}")
    header = _parse_json(path, data[8 : 8 + n], "safetensors header")
    if not isinstance(header, dict):
        raise CheckpointError(f"[load] {path} is not a safetensors file: its header is not an object")
    ends = [e["data_offsets"][1] for e in header.values()
            if isinstance(e, dict) and isinstance(e.get("data_offsets"), list) and len(e["data_offsets"]) == 2
            and type(e["data_offsets"][1]) is int]  # fmt: skip
    if max(ends, default=0) > len(data) - 8 - n:
        raise CheckpointError(f"[load] {path} is truncated: its header describes {max(ends)} bytes of tensor data, "
                              f"the file holds {len(data) - 8 - n}")
    meta = header.get("__metadata__")
    fmt = meta.get("format") if isinstance(meta, dict) else None
    if fmt in OLD_FORMATS:
        raise CheckpointError(
            f"[load] {path} was written by an older gpugrad (format {fmt}) whose digest covers only the tensor bytes, "
            "not the tree, dtypes and shapes, so it cannot be verified; its tensors stay readable with "
            "safetensors.numpy.load_file"
        )
    if fmt != FORMAT:
        raise CheckpointError(f"[load] {path} is a safetensors file but not a gpugrad checkpoint (format {fmt!r})")
    missing = [k for k in ("tree", "tensors", "sha256") if not isinstance(meta.get(k), str)]
    if missing:
        raise CheckpointError(f"[load] {path} is malformed: its header lacks {', '.join(missing)}")
    return meta


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    return True


def _remove_stale_temporaries(folder):
    """Remove the temporaries of saves that died midway (kill -9, power loss). On this host
    the pid in the name tells: its process is gone. A temporary of another host (a machine
    or container sharing the folder, whose pids mean nothing here) goes once nothing has
    written to it for STALE_SECONDS. A live pid keeps its temporary however old: a save
    stopped with SIGSTOP and continued later still renames it."""
    now = time.time()
    with os.scandir(folder) as entries:
        for e in entries:
            m = _TEMPORARY.fullmatch(e.name)
            if m is None:
                continue
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:  # gone meanwhile: removed by another save
                continue
            # os.kill(pid, 0) probes a process on POSIX only (on Windows it would end it)
            if m["host"] == _HOST and os.name == "posix":
                stale = not _alive(int(m["pid"]))
            else:
                stale = now - st.st_mtime > STALE_SECONDS
            if stale and stat.S_ISREG(st.st_mode):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(e.path)


def _fsync_folder(folder):
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # file systems that cannot sync a folder say EINVAL; the file is synced
            raise
    finally:
        os.close(fd)


def _write(path, data):
    """``data`` to ``path`` through a temporary in the same folder, renamed when complete."""
    path = os.path.abspath(path)
    with contextlib.suppress(FileNotFoundError):
        _refuse_non_regular("save", path, os.stat(path))  # a FIFO or a folder is not replaced
    folder, name = os.path.split(path)
    os.makedirs(folder, exist_ok=True)
    _remove_stale_temporaries(folder)
    tmp = os.path.join(folder, f".{name[:64]}.gpugrad-tmp-{_HOST}-{os.getpid()}-{secrets.token_hex(8)}")
    # 0o666: the umask applies, as for the files of any other tool (mkstemp made 0o600)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt too: no temporary is left behind
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    if os.name == "posix":  # the rename itself is durable once the folder is synced
        _fsync_folder(folder)


# -- the API ------------------------------------------------------------------------------
def save(obj, path):
    """Write ``obj`` (nested dicts/lists of tensors, numbers and strings, e.g. a model's
    and an optimizer's ``state_dict()``) to ``path`` atomically."""
    from safetensors.numpy import save as serialize

    tensors = {}
    tree = json.dumps(_encode(obj, tensors, "", 0), allow_nan=False)
    # asarray, not ascontiguousarray: that one makes a 0-d array 1-d
    arrays = {k: np.asarray(t.numpy(), order="C") for k, t in tensors.items()}
    _write(path, serialize(arrays, metadata=_sign(tree, arrays)))


def load(path, map_location=None, *, weights_only=True, device=None):
    """Read a checkpoint written by :func:`save`. Refuses missing (CheckpointNotFoundError,
    also a FileNotFoundError), corrupt, foreign or unverifiable files, and paths that are not
    regular files, with CheckpointError.

    The file records no device, so a tensor's saved location is the one it gets by default:
    the default device. ``map_location`` (``device`` is the same argument under gpugrad's
    older name) moves it as ``torch.load``'s does: a device (``"cpu"``, ``"cuda:1"``, a
    ``gpugrad.device``) puts every tensor there; a dict maps location names
    (``{"cuda:0": "cpu"}``) and leaves the locations it does not name alone; a callable is
    called as ``map_location(tensor, location)`` with the tensor on the CPU and returns the
    tensor to use (``lambda storage, loc: storage`` keeps it on the CPU), or None for the
    default device.

    ``weights_only`` is accepted for PyTorch's signature and changes nothing: nothing is
    ever unpickled (the tree is JSON), so a load is always weights-only in effect, also with
    ``weights_only=False``."""
    data = _read(path)
    meta = _metadata(path, data)
    if _digest(FORMAT, meta["tree"], meta["tensors"]) != meta["sha256"]:
        raise CheckpointError(f"[load] {path} is corrupt: its tree or its table of tensors fails the SHA-256 check")
    try:
        arrays = _deserialize(path, data)
    except CheckpointError:
        raise
    except Exception as exc:  # safetensors raises its own error type
        raise CheckpointError(f"[load] {path} is not a readable safetensors file: {exc}") from None
    _check_tensors(path, meta["tensors"], arrays)
    place = _placement(map_location, device)
    decoder = _Decoder(path, arrays, "cpu" if callable(place) else place)
    obj = decoder.node(_parse_json(path, meta["tree"], "tree"), "", 0)
    unused = sorted(set(arrays) - decoder.used)
    if unused:
        raise CheckpointError(f"[load] {path} is malformed: its tree does not use tensors {unused}")
    return _mapped(obj, place, str(get_default_device())) if callable(place) else obj


# safetensors' dtype names for gpugrad's dtypes (safetensors.numpy has no BF16: NumPy lacks it)
_STORED = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64",
           "F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64"}
_OTHERS = {"U16": "uint16", "U32": "uint32", "U64": "uint64", "C64": "complex64"}  # NumPy's names, for the error


def _deserialize(path, data):
    """The arrays of the safetensors bytes ``data`` by name (views of one copy of them)."""
    from safetensors import deserialize

    arrays = {}
    for name, view in deserialize(data):
        if view["dtype"] not in _STORED:
            named = _OTHERS.get(view["dtype"], view["dtype"])
            raise CheckpointError(f"[load] {path}: tensor {name!r} has dtype {named}, which gpugrad does not support")
        dtype = _BY_NAME[_STORED[view["dtype"]]]
        stored = np.frombuffer(view["data"], dtype=dtype.newbyteorder("<")).reshape(view["shape"])
        # the host's own dtype object (the extension's kernels test dtype identity)
        arrays[name] = stored.view(dtype) if stored.dtype == dtype else stored.astype(dtype)
    return arrays


def _placement(map_location, device):
    """The device tensors load on (None: the default), or the callable that places each one."""
    if device is not None and map_location is not None:
        raise ArgumentError(f"[load] expected map_location or device (the same argument), got both: "
                            f"{map_location!r} and {device!r}")
    where = device if map_location is None else map_location
    if isinstance(where, dict):
        default = str(get_default_device())
        where = next((v for k, v in where.items() if Device(k) == default), None)
    if where is None or callable(where) or isinstance(where, (str, Device)):
        return where
    raise ArgumentTypeError(f"[load] expected map_location to be a device name, a gpugrad.device, a dict or a "
                            f"callable, got {type(where).__name__}")


def _mapped(obj, place, location):
    """``obj`` with every tensor (on the CPU) replaced by ``place(tensor, location)``."""
    if isinstance(obj, Tensor):
        t = place(obj, location)
        if t is None:
            return obj.to(get_default_device())
        if not isinstance(t, Tensor):
            raise ArgumentTypeError(f"[load] expected map_location to return a Tensor or None, got {type(t).__name__}")
        return t
    if isinstance(obj, dict):
        return {k: _mapped(v, place, location) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_mapped(v, place, location) for v in obj)
    return obj
