import struct
from urllib.error import URLError

import pytest
import torch

from aae_utils.data import (
    CorruptDatasetError,
    DatasetNotFoundError,
    ImageData,
    balanced_subset,
    batches,
    labelled_subset,
    load_dataset,
    load_mnist,
    shift_images,
    train_val_split,
)


def test_mnist_is_float_tensor_in_unit_range(mnist_small):
    assert mnist_small.x.shape == (2000, 784)
    assert mnist_small.x.dtype == torch.float32
    assert 0.0 <= float(mnist_small.x.min()) and float(mnist_small.x.max()) == 1.0
    assert mnist_small.y.dtype == torch.long
    assert set(mnist_small.y.tolist()) == set(range(10))
    # The first training label of MNIST is a 5 (a fixed fact of the dataset).
    assert int(mnist_small.y[0]) == 5


def test_mnist_test_split(mnist_root):
    test = load_mnist(train=False, root=mnist_root, download=False)
    assert len(test) == 10_000 and test.image_shape == (28, 28)


def _write_idx(path, array: torch.Tensor) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + b"".join(
        struct.pack(">I", s) for s in array.shape
    )
    data = header + array.to(torch.uint8).numpy().tobytes()
    path.write_bytes(data)


def test_fashion_mnist_loads_from_generated_idx_files(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    g = torch.Generator().manual_seed(0)
    for split, n in (("train", 30), ("t10k", 20)):
        imgs = torch.randint(0, 256, (n, 28, 28), generator=g)
        _write_idx(raw / f"{split}-images-idx3-ubyte", imgs)
        _write_idx(raw / f"{split}-labels-idx1-ubyte", torch.arange(n) % 10)
    train = load_dataset("fashion-mnist", root=tmp_path, download=False)
    test = load_dataset("Fashion_MNIST", train=False, root=tmp_path, download=False)
    assert train.x.shape == (30, 784) and test.x.shape == (20, 784)
    assert train.name == "fashion-mnist"
    expected = torch.randint(0, 256, (30, 28, 28), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(train.x[0], expected[0].flatten().float() / 255)
    assert train.y.tolist() == [i % 10 for i in range(30)]


def test_missing_data_gives_one_clear_error(tmp_path, monkeypatch):
    from torchvision import datasets

    def offline(self):
        raise URLError("no network")

    monkeypatch.setattr(datasets.MNIST, "download", offline)
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(root=tmp_path, download=True)
    message = str(info.value)
    assert "download failed" in message and "AAE_DATA_DIR" in message
    for name in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert name in message
    assert "MNIST/raw" in message


def test_missing_data_without_download(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="download=False"):
        load_mnist(root=tmp_path, download=False)


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")


def test_batches_cover_every_example_once():
    x = torch.arange(23).float().unsqueeze(1)
    y = torch.arange(23)
    seen = []
    for xb, yb in batches(x, y, batch_size=5, generator=torch.Generator().manual_seed(0)):
        assert xb.shape == (5, 1) and torch.equal(xb[:, 0].long(), yb)
        seen += yb.tolist()
    assert len(seen) == 20 and len(set(seen)) == 20  # drop_last: 3 left out
    all_seen = [b[0] for b in batches(y, batch_size=5, drop_last=False, shuffle=False)]
    assert torch.equal(torch.cat(all_seen), y)


def test_batches_are_shuffled_and_seeded():
    y = torch.arange(1000)
    a = next(batches(y, batch_size=100, generator=torch.Generator().manual_seed(1)))[0]
    b = next(batches(y, batch_size=100, generator=torch.Generator().manual_seed(1)))[0]
    assert torch.equal(a, b) and not torch.equal(a, y[:100])


def test_batches_reject_bad_input():
    with pytest.raises(ValueError, match="batch_size"):
        next(batches(torch.zeros(10), batch_size=0))
    with pytest.raises(ValueError, match="first dimension"):
        next(batches(torch.zeros(10), torch.zeros(9)))
    with pytest.raises(ValueError, match="larger than"):
        next(batches(torch.zeros(10), batch_size=20))


def test_balanced_subset_is_balanced_seeded_and_distinct():
    labels = torch.arange(10).repeat(50)[torch.randperm(500, generator=torch.Generator().manual_seed(3))]
    idx = balanced_subset(labels, 10, seed=0)
    assert len(idx) == 100 and len(set(idx.tolist())) == 100
    assert torch.bincount(labels[idx], minlength=10).tolist() == [10] * 10
    assert torch.equal(idx, balanced_subset(labels, 10, seed=0))
    assert not torch.equal(idx, balanced_subset(labels, 10, seed=1))
    with pytest.raises(ValueError, match="fewer than per_class"):
        balanced_subset(labels, 51)


def test_train_val_split_is_disjoint():
    tr, va = train_val_split(100, 10, seed=0)
    assert len(tr) == 90 and len(va) == 10
    assert set(tr.tolist()).isdisjoint(va.tolist())


def test_image_data_checks_shapes():
    square = ImageData(torch.zeros(4, 10, 10), torch.zeros(4, dtype=torch.long))  # flattened
    assert square.x.shape == (4, 100) and square.image_shape == (10, 10)
    with pytest.raises(ValueError, match=r"x must be a batch of images of shape \(N, D\)"):
        ImageData(torch.zeros(4, 2, 28, 28), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"y must be 1-D, shape \(4,\).*same length"):
        ImageData(torch.zeros(4, 784), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"x has 100 values per image, which image_shape \(28, 28\)"):
        ImageData(torch.zeros(4, 100), torch.zeros(4, dtype=torch.long))


def _mnist_copy(tmp_path, mnist_root, damaged: str | None = None):
    """A data root linking to the real MNIST files, with a private copy of ``damaged``."""
    src, raw = mnist_root / "MNIST" / "raw", tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in src.iterdir():
        if f.name == damaged:
            (raw / f.name).write_bytes(f.read_bytes())
        else:
            (raw / f.name).symlink_to(f.resolve())
    return raw


def test_truncated_file_is_named(tmp_path, mnist_root):
    raw = _mnist_copy(tmp_path, mnist_root, damaged="t10k-labels-idx1-ubyte")
    path = raw / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:5000])
    expected = r"t10k-labels-idx1-ubyte is truncated.*5,000 bytes.*10,008"
    with pytest.raises(CorruptDatasetError, match=expected):
        load_mnist(train=False, root=tmp_path, download=False)
    load_mnist(train=True, root=tmp_path, download=False, limit=10)  # the other split is fine


def test_md5_mismatch_is_named(tmp_path, mnist_root):
    raw = _mnist_copy(tmp_path, mnist_root, damaged="t10k-images-idx3-ubyte")
    path = raw / "t10k-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[5000] ^= 0xFF  # one changed pixel: same size, different file
    path.write_bytes(bytes(data))
    expected = "t10k-images-idx3-ubyte is not the official MNIST file"
    with pytest.raises(CorruptDatasetError, match=expected):
        load_mnist(train=False, root=tmp_path, download=False)


def test_corrupt_gz_is_named(tmp_path, mnist_root):
    raw = _mnist_copy(tmp_path, mnist_root, damaged="t10k-labels-idx1-ubyte.gz")
    path = raw / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CorruptDatasetError, match=r"t10k-labels-idx1-ubyte\.gz is not the official"):
        load_mnist(train=False, root=tmp_path, download=False)


def test_not_an_idx_file(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_text("<html>a captive portal page</html>")
    with pytest.raises(CorruptDatasetError, match="not an IDX file"):
        load_dataset("fashion-mnist", root=tmp_path, download=False)


def test_labelled_subset_checks_its_size():
    labels = torch.arange(10).repeat(20)
    assert len(labelled_subset(labels, 100)) == 100
    with pytest.raises(ValueError, match="not a multiple of num_classes=10"):
        labelled_subset(labels, 105)
    with pytest.raises(ValueError, match="exceeds the 200 examples"):
        labelled_subset(labels, 1000)
    with pytest.raises(ValueError, match="positive int"):
        labelled_subset(labels, 0)


def test_shift_images_moves_each_image_by_its_own_offset():
    x = torch.zeros(200, 784)
    x.view(200, 28, 28)[:, 10, 12] = 1.0  # one lit pixel per image
    out = shift_images(x, 2, generator=torch.Generator().manual_seed(0))
    where = torch.nonzero(out.view(200, 28, 28))
    assert len(where) == 200 and (where[:, 0] == torch.arange(200)).all()  # one pixel each, kept
    dy, dx = where[:, 1] - 10, where[:, 2] - 12
    assert dy.abs().max() == 2 and dx.abs().max() == 2  # within the bound, reaching it
    assert len(set(zip(dy.tolist(), dx.tolist(), strict=True))) == 25  # all offsets occur
    again = shift_images(x, 2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    assert shift_images(x, 0) is x
    edge = torch.zeros(1, 784)
    edge.view(28, 28)[0, 0] = 1.0  # moved off the image: gone, replaced by background
    outs = torch.cat([shift_images(edge, 1, generator=torch.Generator().manual_seed(k)) for k in range(20)])
    assert set(outs.sum(1).tolist()) == {0.0, 1.0}


def test_shift_images_rejects_bad_input():
    with pytest.raises(ValueError, match="max_shift must be an int"):
        shift_images(torch.zeros(2, 784), -1)
    with pytest.raises(ValueError, match="max_shift must be an int"):
        shift_images(torch.zeros(2, 784), 28)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 784\)"):
        shift_images(torch.zeros(2, 28, 28), 2)


def _gz_only(tmp_path, mnist_root, stems=None):
    """A data root holding copies of the official .gz files only (as data/README.md says)."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in (mnist_root / "MNIST" / "raw").glob("*.gz"):
        if stems is None or f.name.split(".")[0] in stems:
            (raw / f.name).write_bytes(f.read_bytes())
    return raw


def test_compressed_files_alone_are_decompressed_and_loaded(tmp_path, mnist_root):
    raw = _gz_only(tmp_path, mnist_root)
    test = load_mnist(train=False, root=tmp_path, download=False)
    reference = load_mnist(train=False, root=mnist_root, download=False)
    assert torch.equal(test.x, reference.x) and torch.equal(test.y, reference.y)
    assert (raw / "t10k-images-idx3-ubyte").is_file()  # kept: the next load reads it directly
    assert not (raw / "train-images-idx3-ubyte").exists()  # only the split asked for
    assert sorted(p.name for p in raw.iterdir() if p.name.startswith(".")) == []  # no temp files


def test_present_split_loads_without_the_other(tmp_path, mnist_root):
    _gz_only(tmp_path, mnist_root, stems={"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    assert len(load_mnist(train=False, root=tmp_path, download=False)) == 10_000
    with pytest.raises(DatasetNotFoundError, match=r"train split.*missing train-images-idx3-ubyte, "
                                                   r"train-labels-idx1-ubyte \(or its \.gz\)"):
        load_mnist(train=True, root=tmp_path, download=False)


def test_fashion_mnist_loads_from_compressed_files(tmp_path):
    import gzip

    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    images = torch.randint(0, 256, (12, 28, 28), generator=torch.Generator().manual_seed(2))
    _write_idx(raw / "t10k-images-idx3-ubyte", images)
    _write_idx(raw / "t10k-labels-idx1-ubyte", torch.arange(12) % 10)
    for f in list(raw.iterdir()):
        (raw / f"{f.name}.gz").write_bytes(gzip.compress(f.read_bytes()))
        f.unlink()
    test = load_dataset("fashion-mnist", train=False, root=tmp_path, download=False)
    assert torch.equal(test.x, images.reshape(12, -1).float() / 255)
    assert test.y.tolist() == [i % 10 for i in range(12)] and test.name == "fashion-mnist"


def test_truncated_compressed_file_is_named(tmp_path):
    import gzip

    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    whole = gzip.compress(bytes(range(256)) * 40)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(whole[: len(whole) // 2])
    (raw / "train-labels-idx1-ubyte.gz").write_bytes(whole)
    with pytest.raises(CorruptDatasetError, match=r"train-images-idx3-ubyte\.gz could not be decompressed"):
        load_dataset("fashion-mnist", root=tmp_path, download=False)
    assert not (raw / "train-images-idx3-ubyte").exists()  # no half file left to be trusted
