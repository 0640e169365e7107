"""``gpugrad.save`` / ``gpugrad.load``: checkpoints in the safetensors format.

Tensors go in as safetensors entries (readable by any safetensors reader, no pickle);
everything around them (nesting, numbers, strings, optimizer hyper-parameters) goes in
the header's metadata as JSON, together with a SHA-256 of all tensor bytes. Files are
written to a temporary name and renamed, so a crash never leaves half a checkpoint.
"""

import contextlib
import hashlib
import json
import os
import tempfile

import numpy as np

from .errors import ArgumentTypeError, GpugradError
from .tensor import Tensor

FORMAT = "gpugrad-checkpoint-1"


class CheckpointError(GpugradError, ValueError):
    """A checkpoint that is missing, corrupt, or not written by gpugrad."""


def _encode(obj, tensors, path):
    if isinstance(obj, Tensor):
        key = f"t{len(tensors)}:{path}"[:200]
        tensors[key] = obj
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        return _encode(Tensor(obj), tensors, path)
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {"__dict__": {k: _encode(v, tensors, f"{path}.{k}") for k, v in obj.items()}}
        if all(isinstance(k, int) for k in obj):
            return {"__intdict__": [[k, _encode(v, tensors, f"{path}.{k}")] for k, v in obj.items()]}
        raise ArgumentTypeError(f"[save] dict keys must be all str or all int, at {path or 'the top'}")
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, tensors, f"{path}.{i}") for i, v in enumerate(obj)]
        return {"__tuple__" if isinstance(obj, tuple) else "__list__": items}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"__float__": repr(obj)}
        return obj
    if isinstance(obj, np.generic):
        return _encode(obj.item(), tensors, path)
    raise ArgumentTypeError(f"[save] cannot store a {type(obj).__name__} at {path or 'the top'} (no pickle)")


def _decode(node, arrays, device):
    if isinstance(node, dict):
        if "__tensor__" in node:
            from .creation import tensor

            return tensor(arrays[node["__tensor__"]], device=device)
        if "__dict__" in node:
            return {k: _decode(v, arrays, device) for k, v in node["__dict__"].items()}
        if "__intdict__" in node:
            return {int(k): _decode(v, arrays, device) for k, v in node["__intdict__"]}
        if "__list__" in node:
            return [_decode(v, arrays, device) for v in node["__list__"]]
        if "__tuple__" in node:
            return tuple(_decode(v, arrays, device) for v in node["__tuple__"])
        if "__float__" in node:
            return float(node["__float__"])
    return node


def _digest(arrays):
    h = hashlib.sha256()
    for k in sorted(arrays):
        h.update(k.encode())
        h.update(np.ascontiguousarray(arrays[k]).tobytes())
    return h.hexdigest()


def save(obj, path):
    """Write ``obj`` (nested dicts/lists of tensors, numbers and strings, e.g. a model's
    and an optimizer's ``state_dict()``) to ``path`` atomically."""
    from safetensors.numpy import save_file

    tensors = {}
    tree = _encode(obj, tensors, "")
    arrays = {k: np.ascontiguousarray(t.numpy()) for k, t in tensors.items()}
    meta = {"format": FORMAT, "tree": json.dumps(tree), "sha256": _digest(arrays)}
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".gpugrad-", suffix=".tmp")
    os.close(fd)
    try:
        save_file(arrays, tmp, metadata=meta)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def load(path, device=None):
    """Read a checkpoint written by :func:`save`, placing tensors on ``device`` (default:
    the default device). Refuses missing, corrupt or foreign files with CheckpointError."""
    from safetensors import safe_open

    if not os.path.exists(path):
        raise CheckpointError(f"[load] {path} does not exist")
    try:
        with safe_open(path, framework="numpy") as f:
            meta = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise CheckpointError(f"[load] {path} is not a readable safetensors file (corrupt or truncated?): {exc}") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            f"[load] {path} is a safetensors file but not a gpugrad checkpoint (format {meta.get('format')!r})"
        )
    if _digest(arrays) != meta.get("sha256"):
        raise CheckpointError(f"[load] {path} is corrupt: its tensor data fails the SHA-256 check")
    try:
        tree = json.loads(meta["tree"])
    except (KeyError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"[load] {path} has a damaged header: {exc}") from None
    return _decode(tree, arrays, device)
