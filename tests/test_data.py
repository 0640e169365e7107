"""DataLoader, TensorDataset, IDX files (written here), checksums, offline download
failure, and the user's .npz/.csv files."""

import gzip
import os
import struct

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.data import DataLoader, Dataset, TensorDataset, datasets
from gpugrad.data.datasets import DataError


def test_loader_batches_shuffles_reproducibly_and_moves(device):
    x = gg.arange(10).reshape(10, 1).float()
    y = gg.arange(10)
    ds = TensorDataset(x, y)
    assert len(ds) == 10 and ds[3][1].item() == 3
    loader = DataLoader(ds, batch_size=4, shuffle=True, seed=7, device=device)
    assert len(loader) == 3
    first = [b[1].tolist() for b in loader]
    assert sorted(sum(first, [])) == list(range(10))
    assert all(b[0].device == device for b in loader)
    again = [b[1].tolist() for b in DataLoader(ds, batch_size=4, shuffle=True, seed=7)]
    assert again == first  # same seed, same order
    assert [len(b[1]) for b in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]
    assert [b[1].tolist() for b in DataLoader(ds, batch_size=5)] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    with pytest.raises(gg.errors.ShapeError):
        TensorDataset(x, gg.arange(9))
    with pytest.raises(gg.errors.ArgumentError):
        DataLoader(ds, batch_size=0)


def test_loader_collates_a_plain_dataset():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.float32(i), i * i

    xb, yb = next(iter(DataLoader(Squares(), batch_size=3)))
    assert xb.tolist() == [0.0, 1.0, 2.0] and yb.tolist() == [0, 1, 4]


def test_loader_state_resumes_the_shuffle():
    ds = TensorDataset(gg.arange(20))
    a = DataLoader(ds, batch_size=5, shuffle=True, seed=1)
    list(a)
    state = a.state_dict()
    b = DataLoader(ds, batch_size=5, shuffle=True, seed=99)
    b.load_state_dict(state)
    assert [t[0].tolist() for t in a] == [t[0].tolist() for t in b]


def _write_idx(path, array, compress):
    codes = {np.uint8: 0x08, np.int32: 0x0C}
    header = struct.pack(">BBBB", 0, 0, codes[array.dtype.type], array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(data)


@pytest.fixture
def idx_folder(tmp_path):
    rng = np.random.default_rng(0)
    tr_x, tr_y = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), rng.integers(0, 10, 6).astype(np.uint8)
    te_x, te_y = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), rng.integers(0, 10, 3).astype(np.uint8)
    files = {}
    for key, arr, gz in (("train_images", tr_x, True), ("train_labels", tr_y, True),
                         ("test_images", te_x, False), ("test_labels", te_y, True)):
        name = datasets.MNIST_FILES[key][0]
        path = tmp_path / (name if gz else name[:-3])
        _write_idx(path, arr, gz)
        files[key] = (name, datasets.sha256(path) if gz else None)
    return tmp_path, files, (tr_x, tr_y, te_x, te_y)


def test_mnist_from_idx_files(idx_folder):
    folder, files, (tr_x, tr_y, te_x, te_y) = idx_folder
    x, y, xt, yt = datasets.mnist(str(folder), download=False, files=files)
    assert x.shape == (6, 784) and x.dtype == np.float32 and xt.shape == (3, 784)
    np.testing.assert_allclose(x, tr_x.reshape(6, -1) / 255.0, rtol=1e-6)
    assert y.tolist() == tr_y.tolist() and yt.tolist() == te_y.tolist()


def test_mnist_checksum_and_corruption_are_refused(idx_folder):
    folder, files, _ = idx_folder
    bad = dict(files)
    bad["train_labels"] = (files["train_labels"][0], "0" * 64)
    with pytest.raises(DataError, match="SHA-256"):
        datasets.mnist(str(folder), download=False, files=bad)
    raw = folder / "t10k-images-idx3-ubyte"
    raw.write_bytes(raw.read_bytes()[:-5])  # truncated
    with pytest.raises(DataError, match="header says"):
        datasets.mnist(str(folder), download=False, files=files)
    (folder / "junk").write_bytes(b"\x01\x02\x03\x04hello")
    with pytest.raises(DataError, match="magic"):
        datasets.read_idx(str(folder / "junk"))


def test_mnist_offline_download_fails_clearly(tmp_path):
    # port 9 on the loopback address: nothing listens, so the connection is refused at once
    with pytest.raises(DataError, match="offline"):
        datasets.mnist(str(tmp_path), mirror="http://127.0.0.1:9/", progress=False)
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())
    with pytest.raises(DataError, match="download=False"):
        datasets.mnist(str(tmp_path), download=False)


def test_user_npz_and_csv(tmp_path):
    x = np.random.default_rng(0).standard_normal((50, 3))
    y = (x[:, 0] > 0).astype(int)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    a, b, c, d = datasets.load_file(str(tmp_path / "d.npz"))
    assert a.shape == (40, 3) and c.shape == (10, 3) and a.dtype == np.float32 and b.dtype == np.int64
    np.savez(tmp_path / "e.npz", x=x, y=y, x_test=x[:5], y_test=y[:5])
    assert datasets.load_file(str(tmp_path / "e.npz"))[2].shape == (5, 3)
    csv = tmp_path / "d.csv"
    np.savetxt(csv, np.column_stack([x, y]), delimiter=",", header="a,b,c,label", comments="")
    a, b, c, d = datasets.load_file(str(csv))
    assert a.shape[1] == 3 and set(np.unique(np.concatenate([b, d]))) <= {0, 1}
    (tmp_path / "bad.csv").write_text("1,2,x\n3,4,5\n")
    with pytest.raises(DataError):
        datasets.load_file(str(tmp_path / "bad.csv"))
    np.savez(tmp_path / "f.npz", features=x)
    with pytest.raises(DataError, match="x and y"):
        datasets.load_file(str(tmp_path / "f.npz"))
    with pytest.raises(DataError, match="integers"):
        np.savez(tmp_path / "g.npz", x=x, y=y + 0.5)
        datasets.load_file(str(tmp_path / "g.npz"))
    with pytest.raises(gg.errors.ArgumentError):
        datasets.load("cifar")


def test_mnist1d_default_split(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUGRAD_CACHE", str(tmp_path))
    x, y, xt, yt = datasets.mnist1d()
    assert x.shape == (4000, 40) and xt.shape == (1000, 40) and set(np.unique(y)) == set(range(10))
    assert os.path.exists(tmp_path / "mnist1d-42-5000-0.8.npz")
    x2 = datasets.mnist1d()[0]  # from the cache, identical
    np.testing.assert_array_equal(x, x2)
    state = np.random.get_state()[1][:3].tolist()
    datasets.mnist1d(cache=False)
    assert np.random.get_state()[1][:3].tolist() == state  # the global NumPy RNG is left alone


def test_user_files_small_or_unusual_but_valid(tmp_path):
    # two examples: one to train on, one to test on; labels given as a column
    np.savez(tmp_path / "two.npz", x=[[0.0], [1.0]], y=[[0], [1]])
    x, y, xt, yt = datasets.load_file(str(tmp_path / "two.npz"))
    assert (len(x), len(xt)) == (1, 1) and y.shape == (1,) and y.dtype == np.int64
    # a header, blank lines (counted in the line numbers of errors)
    csv = tmp_path / "d.csv"
    csv.write_text("f1,f2,label\n\n1,2,1\n3,4,0\n\n5,6,1\n7,8,0\n9,10,1\n")
    x, y, xt, yt = datasets.load_file(str(csv))
    assert sorted(np.concatenate([x[:, 0], xt[:, 0]]).tolist()) == [1, 3, 5, 7, 9] and len(xt) == 1
    csv.write_text("1,2,1\n\n3,x,0\n")
    with pytest.raises(DataError, match=r"line 3, column 2 'x' is not a number"):
        datasets.load_file(str(csv))
    # booleans are numbers; the largest class index allowed is MAX_CLASSES - 1
    top = datasets.MAX_CLASSES - 1
    np.savez(tmp_path / "b.npz", x=np.ones((4, 2), bool), y=[0, top, 1, 0])
    assert datasets.load_file(str(tmp_path / "b.npz"))[0].dtype == np.float32
    np.savez(tmp_path / "c.npz", x=np.ones((4, 2)), y=[0, top + 1, 1, 0])
    with pytest.raises(DataError, match="renumber the classes"):
        datasets.load_file(str(tmp_path / "c.npz"))


def test_torch_utils_data_names_translate_by_the_import_alone():
    import gpugrad.utils.data as d
    from gpugrad.utils.data import DataLoader as Loader
    from gpugrad.utils.data import Dataset as Base
    from gpugrad.utils.data import TensorDataset as Tensors

    assert (Loader, Base, Tensors) == (DataLoader, Dataset, TensorDataset)
    assert gg.utils.data is d and d.datasets is datasets
    assert set(gg.data.__all__) <= set(dir(d)) and all(getattr(d, n) is getattr(gg.data, n) for n in gg.data.__all__)


def _order(loader):
    return [i for (batch,) in loader for i in batch.tolist()]


def test_the_shuffle_order_comes_from_the_generator(device):
    ds = TensorDataset(gg.arange(30, device=device))
    first = DataLoader(ds, batch_size=4, shuffle=True, generator=gg.Generator().manual_seed(3))
    second = DataLoader(ds, batch_size=4, shuffle=True, generator=gg.Generator().manual_seed(3))
    gg.rand(5)  # the default generator moves; the loaders' generators do not care
    epochs = [_order(first), _order(first)]
    assert sorted(epochs[0]) == list(range(30)) and epochs[0] != epochs[1]  # a new order each epoch
    assert [_order(second), _order(second)] == epochs
    g = gg.Generator().manual_seed(3)
    assert _order(DataLoader(ds, batch_size=4, shuffle=True, generator=g)) == epochs[0]
    assert gg.randperm(30, generator=gg.Generator().manual_seed(3)).tolist() == epochs[0]  # as PyTorch's sampler
    other = DataLoader(ds, batch_size=4, shuffle=True, generator=gg.Generator().manual_seed(4))
    assert _order(other) != epochs[0]
    state = first.state_dict()
    again = DataLoader(ds, batch_size=4, shuffle=True, generator=gg.Generator())
    again.load_state_dict(state)
    assert _order(again) == _order(first)


def test_without_a_generator_the_shuffle_follows_manual_seed():
    ds = TensorDataset(gg.arange(30))
    gg.manual_seed(11)
    a = _order(DataLoader(ds, batch_size=7, shuffle=True))
    gg.manual_seed(11)
    b = _order(DataLoader(ds, batch_size=7, shuffle=True))
    gg.manual_seed(12)
    c = _order(DataLoader(ds, batch_size=7, shuffle=True))
    assert a == b != c and sorted(a) == list(range(30))
    loader = DataLoader(ds, batch_size=7, shuffle=True)
    assert loader.state_dict() == {}  # nothing of its own: gpugrad.get_rng_state() holds it
    loader.load_state_dict({})
    with pytest.raises(gg.errors.ArgumentTypeError, match=r"\[DataLoader.load_state_dict\] expected \{\} \(it draws"):
        loader.load_state_dict({"generator": gg.Generator().get_state()})


def test_loader_generator_arguments_are_checked():
    ds = TensorDataset(gg.arange(4))
    with pytest.raises(gg.errors.ArgumentTypeError, match=r"\[DataLoader\] expected generator to be a .*Generator, got int"):
        DataLoader(ds, shuffle=True, generator=3)
    with pytest.raises(gg.errors.ArgumentError, match=r"\[DataLoader\] expected seed or generator, got both"):
        DataLoader(ds, shuffle=True, seed=1, generator=gg.Generator())
    with pytest.raises(gg.errors.ArgumentTypeError, match=r"expected \{'generator': \.\.\.\}, got \{\}"):
        DataLoader(ds, shuffle=True, seed=1).load_state_dict({})
