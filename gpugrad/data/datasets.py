"""Data sets for ``gpugrad train``: MNIST-1D (generated locally), MNIST (IDX files,
downloaded with a checksum check when absent), and the user's own ``.npz`` / ``.csv``.

Each loader returns ``(x_train, y_train, x_test, y_test)`` as NumPy arrays: float32
features of shape (n, features) and int64 labels.
"""

import contextlib
import csv
import gzip
import hashlib
import os
import struct
import tempfile
import urllib.request
import zipfile

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
# Labels are class indices 0..K-1 and the model gets K outputs, so a label of 10**9 would
# ask for a billion-way classifier: far beyond any real class count, it is a column of
# IDs or of targets for regression, which is better refused than allocated.
MAX_CLASSES = 100_000

_LAYOUT = "x (n, features) and y (n,) integer labels, optionally x_test and y_test"


def load_file(path, test_fraction=0.2, seed=0):
    """A user data set: ``.npz`` with x, y (and optionally x_test, y_test), or ``.csv``
    of comma-separated numbers whose last column is the integer label (a first line
    without any number is a header and is skipped). Without a test set, ``test_fraction``
    of the examples (at least one), picked by ``seed``, become the test set.

    Returns float32 features (n, features) and int64 labels (n,); anything else (no
    rows, text, complex numbers, nan/inf, mismatched lengths or feature counts, labels
    that are not class indices 0..MAX_CLASSES-1) is refused with a DataError."""
    if not os.path.exists(path):
        raise DataError(f"[data] {path} does not exist")
    if os.path.isdir(path):
        raise DataError(f"[data] {path} is a folder; give the path of a .npz or .csv file")
    if path.endswith(".npz"):
        x, y, xt, yt = _read_npz(path)
        names = ("x", "y")
    elif path.endswith(".csv"):
        x, y = _read_csv(path)
        xt = yt = None
        names = ("features", "labels")
    else:
        raise ArgumentError(f"[data] expected a .npz or .csv file, got {path}")
    x, y = _checked(path, names, x, y)
    if xt is None:
        if len(x) < 2:
            raise DataError(f"[data] {path} has {len(x)} example; it needs at least 2 (some for training, some for testing)")
        order = np.random.default_rng(seed).permutation(len(x))
        n_test = min(max(int(round(len(x) * test_fraction)), 1), len(x) - 1)
        test, train = order[:n_test], order[n_test:]
        return x[train], y[train], x[test], y[test]
    xt, yt = _checked(path, ("x_test", "y_test"), xt, yt, features=x.shape[1])
    return x, y, xt, yt


def _read_npz(path):
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic == b"\x93NUMPY":
        raise DataError(f"[data] {path} is a single .npy array renamed to .npz; save the features and the labels "
                        "together with numpy.savez(path, x=features, y=labels)")
    if magic[:2] != b"PK":
        raise DataError(f"[data] {path} is not an .npz file (not a zip archive); write one with "
                        "numpy.savez(path, x=features, y=labels)")
    try:
        with np.load(path, allow_pickle=False) as f:
            found = set(f.files)
            if not {"x", "y"} <= found:
                raise DataError(f"[data] {path} needs arrays named x and y (found {sorted(found)}): {_LAYOUT}")
            if ("x_test" in found) != ("y_test" in found):
                have, lack = ("x_test", "y_test") if "x_test" in found else ("y_test", "x_test")
                raise DataError(f"[data] {path} has {have} but no {lack}: give both or neither "
                                "(without them 20% of x, y become the test set)")
            arrays = [f[k] if k in found else None for k in ("x", "y", "x_test", "y_test")]
    except DataError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        # a damaged archive, or object arrays (which only pickle could read: refused on purpose)
        raise DataError(f"[data] cannot read {path} ({_one_line(exc)}); it must hold numeric arrays: {_LAYOUT}") from None
    return tuple(arrays)


def _read_csv(path):
    """(features, labels) as float64 arrays, with the line and column of the first problem."""
    rows, width = [], None
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        for line, cells in enumerate(csv.reader(f), 1):
            if not any(c.strip() for c in cells):
                continue  # blank lines, the usual last line among them
            if width is None:
                width = len(cells)
                if width == 1:
                    raise DataError(f"[data] {path} has one column (line {line}: {cells[0][:40]!r}); each line needs "
                                    f"the features and then the integer label{_separator_hint(cells)}")
                if not any(_is_number(c) for c in cells):
                    continue  # a header line: names, no numbers
            if len(cells) != width:
                raise DataError(f"[data] {path} line {line} has {len(cells)} columns where the first line has {width}; "
                                "every line needs the same number of values")
            try:
                rows.append(np.array(cells, dtype=np.float64))
            except ValueError:
                col = next(i for i, c in enumerate(cells, 1) if not _is_number(c))
                what = f"{cells[col - 1]!r} is not a number" if cells[col - 1].strip() else "is empty"
                raise DataError(f"[data] {path} line {line}, column {col} {what}{_separator_hint(cells)}") from None
    if width is None:
        raise DataError(f"[data] {path} is empty: expected lines of comma-separated numbers, the label last")
    if not rows:
        raise DataError(f"[data] {path} has a header line but no data lines")
    table = np.stack(rows)
    return table[:, :-1], table[:, -1]


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _separator_hint(cells):
    for sep, name in ((";", "';'"), ("\t", "tabs")):
        if any(sep in c for c in cells):
            return f" (the file seems to separate values with {name}; gpugrad reads comma-separated files)"
    return ""


def _one_line(exc):
    return " / ".join(part.strip() for part in str(exc).splitlines() if part.strip())


def _checked(path, names, x, y, features=None):
    """x as float32 (n, features) and y as int64 (n,), or a DataError naming what is wrong."""
    xn, yn = names
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind == "c":
        raise DataError(f"[data] {xn} in {path} is complex ({x.dtype}); gpugrad trains on real numbers: "
                        "give the real and imaginary parts as separate features")
    if x.dtype.kind not in "biuf":
        raise DataError(f"[data] {xn} in {path} holds {x.dtype} values, not numbers; convert the features to numbers")
    if y.dtype.kind not in "biuf":
        raise DataError(f"[data] {yn} in {path} holds {y.dtype} values; labels must be integers 0..K-1")
    if x.ndim == 0 or len(x) == 0:
        raise DataError(f"[data] {xn} in {path} has no examples (shape {x.shape})")
    if y.dtype.kind == "b":
        y = y.astype(np.int64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"[data] {yn} in {path} has shape {y.shape}; it must hold one integer label per example "
                        "(shape (n,); for one-hot rows use their argmax)")
    if len(y) != len(x):
        raise DataError(f"[data] {path} has {len(x)} examples in {xn} but {len(y)} labels in {yn}; they must match")
    x = x.reshape(len(x), -1)
    if x.shape[1] == 0:
        raise DataError(f"[data] {xn} in {path} has no features (shape {x.shape})")
    if features is not None and x.shape[1] != features:
        raise DataError(f"[data] {xn} in {path} has {x.shape[1]} features per example but the training set has "
                        f"{features}; they must match")
    with np.errstate(over="ignore"):
        x = x.astype(np.float32)
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(f"[data] {xn} in {path} holds nan, inf or values beyond float32's range ({int(bad.sum())} in all, "
                        f"the first at example {row}, feature {col}); remove or fix them")
    if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
        raise DataError(f"[data] {yn} in {path} must be integers (class indices 0..K-1)")
    if y.min() < 0 or y.max() >= MAX_CLASSES:
        raise DataError(f"[data] {path} has labels from {y.min():.0f} to {y.max():.0f} (in {yn}); they must be class "
                        f"indices 0..K-1 with K at most {MAX_CLASSES}: renumber the classes")
    return x, y.astype(np.int64)


def load(name, data_dir=None, seed=0):
    """By name: ``mnist1d``, ``mnist``, or a path to a ``.npz`` / ``.csv`` file."""
    if name == "mnist1d":
        return mnist1d()
    if name == "mnist":
        return mnist(data_dir)
    if name.endswith((".npz", ".csv")):
        return load_file(name, seed=seed)
    raise ArgumentError(f"[data] unknown data set {name!r}: use mnist1d, mnist, or a .npz/.csv path")


__all__ = ["MAX_CLASSES", "DataError", "cache_dir", "load", "load_file", "mnist", "mnist1d", "read_idx"]
