"""Data sets for ``gpugrad train``: MNIST-1D (generated locally), MNIST (IDX files,
downloaded with a checksum check when absent), and the user's own ``.npz`` / ``.csv``.

Each loader returns ``(x_train, y_train, x_test, y_test)`` as NumPy arrays: float32
features of shape (n, features) and int64 labels.
"""

import contextlib
import gzip
import hashlib
import os
import struct
import tempfile
import urllib.request

import numpy as np

from ..errors import ArgumentError, GpugradError


class DataError(GpugradError, ValueError):
    """A data file that is missing, malformed or fails its checksum."""


def cache_dir():
    """Where generated and downloaded data live: $GPUGRAD_CACHE or ~/.cache/gpugrad."""
    d = os.environ.get("GPUGRAD_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "gpugrad")
    os.makedirs(d, exist_ok=True)
    return d


# -- MNIST-1D ----------------------------------------------------------------------------
def mnist1d(seed=42, num_samples=5000, train_split=0.8, cache=True):
    """MNIST-1D (Greydanus 2020) made by its authors' generator (the ``mnist1d`` package)
    with its default arguments: 4000 training and 1000 test sequences of length 40,
    10 classes. No network is used; the result is cached as .npz."""
    path = os.path.join(cache_dir(), f"mnist1d-{seed}-{num_samples}-{train_split}.npz")
    if cache and os.path.exists(path):
        with np.load(path) as f:
            return f["x"], f["y"], f["x_test"], f["y_test"]
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise DataError("[mnist1d] the mnist1d package is missing: pip install mnist1d") from None
    args = get_dataset_args()
    args.seed, args.num_samples, args.train_split = seed, num_samples, train_split
    state = np.random.get_state()  # the generator seeds NumPy's global RNG; leave it as it was
    try:
        d = make_dataset(args)
    finally:
        np.random.set_state(state)
    out = (d["x"].astype(np.float32), d["y"].astype(np.int64), d["x_test"].astype(np.float32),
           d["y_test"].astype(np.int64))
    if cache:
        _atomic_savez(path, x=out[0], y=out[1], x_test=out[2], y_test=out[3])
    return out


def _atomic_savez(path, **arrays):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".npz")
    os.close(fd)
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


# -- MNIST (IDX) -------------------------------------------------------------------------
MNIST_FILES = {
    # name: (file, SHA-256 of the published gzip file). An uncompressed copy (the name
    # without .gz) is accepted too; it has no published digest, so read_idx's exact size
    # check against the header is what guards it.
    "train_images": ("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}
MNIST_MIRROR = "https://storage.googleapis.com/cvdf-datasets/mnist/"


def read_idx(path):
    """An IDX file (gzip or raw) as a NumPy array, with its header checked."""
    opener = gzip.open if _is_gzip(path) else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise DataError(f"[read_idx] cannot read {path}: {exc}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"[read_idx] {path} is not an IDX file (bad magic number)")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    code, ndim = data[2], data[3]
    if code not in dtypes:
        raise DataError(f"[read_idx] {path} has unknown element type 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"[read_idx] {path} is truncated in its header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dt = np.dtype(dtypes[code])
    need = int(np.prod(shape)) * dt.itemsize
    if len(data) - header != need:
        got = len(data) - header
        raise DataError(f"[read_idx] {path}: header says {need} bytes of data for shape {shape}, file has {got}")
    return np.frombuffer(data, dtype=dt, offset=header).reshape(shape).astype(dt.newbyteorder("="))


def _is_gzip(path):
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def mnist(folder=None, download=True, files=MNIST_FILES, mirror=MNIST_MIRROR, progress=True):
    """MNIST from IDX files in ``folder`` (default: the cache). Missing files are downloaded
    (with a progress bar) when ``download``; every file's SHA-256 must match. Images
    become float32 rows of 784 values in [0, 1]."""
    folder = folder or os.path.join(cache_dir(), "mnist")
    os.makedirs(folder, exist_ok=True)
    arrays = {}
    for key, (name, digest) in files.items():
        path = _find(folder, name)
        if path is None:
            if not download:
                raise DataError(f"[mnist] {name} is not in {folder} (and download=False)")
            path = os.path.join(folder, name)
            _download(mirror + name, path, progress)
        if digest is not None and path.endswith(".gz") and sha256(path) != digest:
            raise DataError(f"[mnist] {path} fails its SHA-256 check: the file is corrupt or not the MNIST file")
        arrays[key] = read_idx(path)
    x = arrays["train_images"].reshape(len(arrays["train_images"]), -1).astype(np.float32) / 255.0
    xt = arrays["test_images"].reshape(len(arrays["test_images"]), -1).astype(np.float32) / 255.0
    return x, arrays["train_labels"].astype(np.int64), xt, arrays["test_labels"].astype(np.int64)


def _find(folder, name):
    for cand in (name, name[:-3] if name.endswith(".gz") else name):
        p = os.path.join(folder, cand)
        if os.path.exists(p):
            return p
    return None


def _download(url, path, progress):
    tmp = path + ".part"
    try:
        with urllib.request.urlopen(url, timeout=30) as r, open(tmp, "wb") as f:
            total = int(r.headers.get("Content-Length") or 0)
            bar = None
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=total or None, unit="B", unit_scale=True, desc=os.path.basename(path))
            for chunk in iter(lambda: r.read(1 << 16), b""):
                f.write(chunk)
                if bar:
                    bar.update(len(chunk))
            if bar:
                bar.close()
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise DataError(
            f"[mnist] could not download {url} ({exc}); are you offline? Put the four IDX files in "
            f"{os.path.dirname(path)} (or pass --data-dir) and run again"
        ) from None


# -- the user's files --------------------------------------------------------------------
def load_file(path, test_fraction=0.2, seed=0):
    """A user data set: ``.npz`` with x, y (and optionally x_test, y_test), or ``.csv``
    whose last column is the integer label (a header row is skipped if present)."""
    if not os.path.exists(path):
        raise DataError(f"[data] {path} does not exist")
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f or "y" not in f:
                raise DataError(f"[data] {path} needs arrays named x and y (found {sorted(f.files)})")
            x, y = f["x"], f["y"]
            xt, yt = (f["x_test"], f["y_test"]) if "x_test" in f and "y_test" in f else (None, None)
    elif path.endswith(".csv"):
        try:
            table = np.genfromtxt(path, delimiter=",", dtype=np.float64)
        except ValueError as exc:
            raise DataError(f"[data] {path} is not a numeric CSV: {exc}") from None
        if table.ndim == 1:
            table = table[None, :]
        if np.isnan(table[0]).all():
            table = table[1:]  # a header row (no cell of it is a number)
        if np.isnan(table).any():
            raise DataError(f"[data] {path} has empty or non-numeric cells")
        x, y = table[:, :-1], table[:, -1]
        xt = yt = None
    else:
        raise ArgumentError(f"[data] expected a .npz or .csv file, got {path}")
    x = np.asarray(x, np.float32).reshape(len(x), -1)
    if not np.all(np.asarray(y) == np.round(y)):
        raise DataError(f"[data] labels in {path} must be integers")
    y = np.asarray(y).astype(np.int64)
    if xt is None:
        order = np.random.default_rng(seed).permutation(len(x))
        n_test = int(round(len(x) * test_fraction))
        test, train = order[:n_test], order[n_test:]
        return x[train], y[train], x[test], y[test]
    return x, y, np.asarray(xt, np.float32).reshape(len(xt), -1), np.asarray(yt).astype(np.int64)


def load(name, data_dir=None, seed=0):
    """By name: ``mnist1d``, ``mnist``, or a path to a ``.npz`` / ``.csv`` file."""
    if name == "mnist1d":
        return mnist1d()
    if name == "mnist":
        return mnist(data_dir)
    if name.endswith((".npz", ".csv")):
        return load_file(name, seed=seed)
    raise ArgumentError(f"[data] unknown data set {name!r}: use mnist1d, mnist, or a .npz/.csv path")


__all__ = ["DataError", "cache_dir", "load", "load_file", "mnist", "mnist1d", "read_idx"]
