"""Datasets as in-memory tensors, a shuffling mini-batch iterator and labelled subsets.

MNIST is 60,000 images of 28x28 bytes: about 190 MB as float32, so the whole set fits on
any device. Holding it as one tensor avoids the per-batch PIL decoding and ``DataLoader``
overhead that dominate small-MLP training on a CPU.
"""

from __future__ import annotations

import gzip
import hashlib
import numbers
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from . import inputs
from .config import data_root, display_path
from .writes import WriteError, atomic_write

#: Canonical dataset names and the torchvision class that reads each one.
DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}

_RAW_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


#: md5 of the official MNIST files, compressed and decompressed (torchvision reads either).
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


class DatasetNotFoundError(FileNotFoundError):
    """The dataset files are not on disk and could not be downloaded."""


class CorruptDatasetError(OSError):
    """A dataset file is on disk but truncated or not the official file."""


def file_digest(path: Path, algorithm: str = "md5") -> str:
    """Hex digest of a file, read in blocks (datasets use md5, checkpoints sha256)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _idx_expected_size(path: Path) -> int | None:
    """Size an IDX file must have according to its own header (None if no valid header)."""
    with open(path, "rb") as f:
        header = f.read(4)
        if len(header) < 4 or header[:2] != b"\x00\x00" or header[2] != 0x08:
            return None
        ndim = header[3]
        dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        return None
    size = 1
    for i in range(ndim):
        size *= int.from_bytes(dims[4 * i : 4 * i + 4], "big")
    return 4 + 4 * ndim + size


def check_dataset_files(name: str, root: str | Path, train: bool = True) -> None:
    """Check the split's files that are present: complete (IDX header vs size) and, for MNIST,
    byte-identical to the official files (md5).

    Missing files are left to the loader (it may download them).

    Raises:
        CorruptDatasetError: naming the file, what is wrong, and how to fix it.
    """
    key = _canonical(name)
    raw = Path(root) / DATASETS[key] / "raw"
    split = "train" if train else "t10k"
    for stem in (f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"):
        for path in (raw / stem, raw / f"{stem}.gz"):
            if not path.is_file():
                continue
            fix = (
                "Delete it and load again with an internet connection (torchvision downloads a "
                "fresh copy), or replace it with an intact copy"
                if path.suffix == ".gz" or not (raw / f"{stem}.gz").is_file() else
                f"It may have been decompressed from {stem}.gz, which would then hold the same "
                "damage: delete both and load again with an internet connection, or replace them "
                "with intact copies"
            )
            if path.suffix != ".gz":
                expected = _idx_expected_size(path)
                actual = path.stat().st_size
                if expected is None:
                    raise CorruptDatasetError(
                        f"{display_path(path)} is not an IDX file (bad header). {fix}."
                    )
                if actual != expected:
                    raise CorruptDatasetError(
                        f"{display_path(path)} is truncated or damaged: {actual:,} bytes, its "
                        f"header says {expected:,}. {fix}."
                    )
            official = MNIST_MD5.get(path.name) if key == "mnist" else None
            if official is not None and file_digest(path) != official:
                raise CorruptDatasetError(
                    f"{display_path(path)} is not the official MNIST file (md5 differs from "
                    f"{official}). {fix}."
                )


@dataclass
class ImageData:
    """Images flattened to ``(N, D)`` float32 in [0, 1] and their integer labels ``(N,)``.

    What a learner makes is converted on construction (:mod:`aae_utils.inputs`): NumPy arrays,
    images of shape ``(N, H, W)`` or ``(N, 1, H, W)`` (flattened; ``image_shape`` becomes
    ``(H, W)``), float64 pixels, integer pixels 0-255 (divided by 255) and int32 labels.
    Refused with a ``ValueError`` naming ``x`` or ``y``: NaN or infinite pixels, floats outside
    [0, 1], labels below 0 (the course's -1 "unlabelled" marker goes to
    :func:`~aae_utils.engine.fit`'s ``labels``, not here) and shapes that do not match.
    """

    x: Tensor
    y: Tensor
    name: str = "mnist"
    image_shape: tuple[int, int] = (28, 28)

    def __post_init__(self) -> None:
        raw = inputs.as_tensor(self.x, "x")
        if raw.ndim == 3 or (raw.ndim == 4 and raw.shape[1] == 1):
            self.image_shape = tuple(int(s) for s in raw.shape[-2:])
        self.x = inputs.images(raw, "x")
        self.y = inputs.labels(self.y, "y", n=len(self.x), device=self.x.device)
        h, w = self.image_shape
        if h * w != self.x.shape[1]:
            raise ValueError(
                f"x has {self.x.shape[1]} values per image, which image_shape {self.image_shape} does "
                f"not match; pass image_shape=(height, width) with height * width = {self.x.shape[1]}"
            )

    @staticmethod
    def require(value, name: str = "data") -> ImageData:
        """``value`` if it is an ImageData; a TypeError naming ``name`` and the fix otherwise."""
        if not isinstance(value, ImageData):
            raise TypeError(
                f"{name} must be the ImageData the model trains on (load_dataset gives one; wrap "
                f"your own tensors or arrays as ImageData(x, y)), got {type(value).__name__}"
            )
        return value

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def device(self) -> torch.device:
        return self.x.device

    def subset(self, index: Tensor | slice) -> ImageData:
        """The examples at ``index`` (a slice or an index tensor)."""
        with inputs.trusted():  # already checked, as a whole
            return ImageData(self.x[index], self.y[index], self.name, self.image_shape)

    def to(self, device: torch.device | str) -> ImageData:
        with inputs.trusted():
            return ImageData(self.x.to(device), self.y.to(device), self.name, self.image_shape)


def _canonical(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    key = {"fashionmnist": "fashion-mnist", "fmnist": "fashion-mnist"}.get(key, key)
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    return key


def _split_files(raw: Path, train: bool) -> tuple[Path, Path]:
    split = "train" if train else "t10k"
    return raw / f"{split}-images-idx3-ubyte", raw / f"{split}-labels-idx1-ubyte"


#: Folders already told that their decompressed files could not be kept (said once each).
_UNKEPT: set[str] = set()


def _decompress(gz: Path) -> Tensor:
    """The IDX tensor in ``gz``, decompressed in memory and checked (size, and md5 for MNIST).

    The decompressed file is also kept beside ``gz`` (written whole or not at all), so later
    loads skip this step. A folder that cannot take it (read-only shared copy, full disk) is
    said once; the data are used from memory all the same.
    """
    try:
        data = gzip.decompress(gz.read_bytes())
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:  # truncated, or not gzip at all
        raise CorruptDatasetError(
            f"{display_path(gz)} could not be decompressed ({type(err).__name__}). Delete it and "
            "load again with an internet connection, or replace it with an intact copy."
        ) from err
    target = gz.with_suffix("")
    fix = ("Delete it and load again with an internet connection, or replace it with an intact "
           "copy")
    official = MNIST_MD5.get(target.name) if gz.parent.parent.name == "MNIST" else None
    if official is not None and hashlib.md5(data).hexdigest() != official:
        raise CorruptDatasetError(
            f"{display_path(gz)} does not hold the official {target.name} (md5 of its content "
            f"differs from {official}). {fix}.")
    tensor = _idx_tensor(data, gz)
    try:
        atomic_write(target, data)
    except WriteError as err:
        if str(gz.parent) not in _UNKEPT:
            _UNKEPT.add(str(gz.parent))
            print(f"Note: {err}. The .gz files are decompressed in memory instead, at each load "
                  "(about a second).", flush=True)
    return tensor


def _idx_tensor(data: bytes, source: Path) -> Tensor:
    """The uint8 IDX array in ``data`` (the MNIST format: a 4-byte magic number, one 4-byte
    big-endian size per dimension, then the bytes). What torchvision reads from a file, read
    from memory."""
    if len(data) < 4 or data[:3] != b"\x00\x00\x08" or not 1 <= data[3] <= 3:
        raise CorruptDatasetError(
            f"{display_path(source)} does not hold an IDX file of bytes (bad header). Delete it "
            "and load again with an internet connection, or replace it with an intact copy.")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    size = 1
    for d in dims:
        size *= d
    if len(data) != offset + size:
        raise CorruptDatasetError(
            f"{display_path(source)} is truncated or damaged: it holds {len(data) - offset:,} "
            f"values, its header says {size:,}. Delete it and load again with an internet "
            "connection, or replace it with an intact copy.")
    return torch.frombuffer(bytearray(data), dtype=torch.uint8, offset=offset).view(*dims)


def load_dataset(
    name: str = "mnist",
    train: bool = True,
    *,
    root: str | Path | None = None,
    device: torch.device | str = "cpu",
    download: bool = True,
    limit: int | None = None,
) -> ImageData:
    """Load MNIST or Fashion-MNIST into memory as float tensors.

    The split's two files are read wherever they are present in ``<root>/<dataset>/raw/``: as
    decompressed IDX files, or as the official ``.gz`` files, which are decompressed in memory
    and kept beside them for the next load (when that folder cannot take them, read-only or
    full, that is said once and they are decompressed again next time). Only files that are
    missing are downloaded, and only with ``download=True``.

    Args:
        name: ``"mnist"`` or ``"fashion-mnist"``.
        train: the 60,000-image training split (True) or the 10,000-image test split.
        root: dataset folder in torchvision's layout (``<root>/MNIST/raw/``); defaults to
            :func:`aae_utils.config.data_root`.
        device: where the tensors live.
        download: let torchvision fetch missing files (needs the internet).
        limit: keep only the first ``limit`` examples (fast mode, tests).

    Returns:
        :class:`ImageData` with ``x`` of shape ``(N, 784)`` (float32 in [0, 1], pixel / 255)
        and ``y`` of shape ``(N,)`` (int64 class indices 0-9).

    Raises:
        DatasetNotFoundError: the files are absent and could not be downloaded; the message
            says which files are missing and where to put them.
        CorruptDatasetError: a file is truncated or not the official one.
    """
    # imported here: torchvision is slow to import
    from torchvision.datasets.mnist import read_image_file, read_label_file

    key = _canonical(name)
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    root = Path(root) if root is not None else data_root()
    raw = root / DATASETS[key] / "raw"
    check_dataset_files(key, root, train)
    read = []
    for path, reader in zip(_split_files(raw, train), (read_image_file, read_label_file), strict=True):
        gz = path.with_name(path.name + ".gz")
        if path.is_file():
            read.append(reader(str(path)))
        elif gz.is_file():
            read.append(_decompress(gz))
    if len(read) == 2:
        images, labels = read[0], read[1].long()
    else:
        images, labels = _download(key, root, train, download)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = images.reshape(len(images), -1).to(device=device, dtype=torch.float32).div_(255.0)
    y = labels.to(device=device, dtype=torch.long)
    with inputs.trusted():  # bytes / 255: in range by construction
        return ImageData(x, y, key, tuple(images.shape[1:]))


def _download(key: str, root: Path, train: bool, download: bool) -> tuple[Tensor, Tensor]:
    """The split through torchvision's dataset class: it downloads what is missing (or reads
    its old ``processed/`` cache); a clear error naming the missing files otherwise."""
    from torchvision import datasets

    try:
        ds = getattr(datasets, DATASETS[key])(str(root), train=train, download=download)
    except Exception as err:  # torchvision raises RuntimeError, URLError, OSError, ...
        raw = root / DATASETS[key] / "raw"
        missing = [p for p in _split_files(raw, train) if not p.is_file()
                   and not p.with_name(p.name + ".gz").is_file()]
        files = "\n".join(f"  {display_path(raw / f)}" for f in _RAW_FILES)
        how = "the download failed" if download else "download=False was given"
        raise DatasetNotFoundError(
            f"{DATASETS[key]} ({'train' if train else 'test'} split) is not in "
            f"{display_path(root)}: missing {', '.join(p.name for p in missing)} (or its .gz), "
            f"and {how} ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}).\n"
            f"Put these four files (or their decompressed versions, without .gz) there:\n"
            f"{files}\n"
            "or point AAE_DATA_DIR at a folder that already has them, "
            "or rerun with an internet connection."
        ) from err
    return ds.data, ds.targets


def load_mnist(train: bool = True, **kwargs) -> ImageData:
    """Shorthand for ``load_dataset("mnist", train, **kwargs)``."""
    return load_dataset("mnist", train, **kwargs)


def batches(
    *tensors: Tensor,
    batch_size: int = 100,
    shuffle: bool = True,
    drop_last: bool = True,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[Tensor, ...]]:
    """Yield aligned mini-batches of one or more tensors that share their first dimension.

    Indexing a tensor already in memory is far cheaper than a ``DataLoader`` for small MLPs.
    ``drop_last=True`` keeps every batch the same size (the discriminator sees the same
    number of prior samples and codes each step).

    Example:
        >>> for xb, yb in batches(data.x, data.y, batch_size=100):
        ...     ...
    """
    if not tensors:
        raise ValueError("batches() needs at least one tensor")
    tensors = tuple(inputs.as_tensor(t, f"tensors[{i}]") for i, t in enumerate(tensors))
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    n = tensors[0].shape[0]
    for t in tensors[1:]:
        if t.shape[0] != n:
            raise ValueError(
                f"all tensors must have the same first dimension; got {n} and {t.shape[0]}"
            )
    if drop_last and batch_size > n:
        raise ValueError(
            f"batch_size={batch_size} is larger than the {n} examples and drop_last=True "
            "would yield nothing; use a smaller batch_size"
        )
    if shuffle:
        order = torch.randperm(n, generator=generator).to(tensors[0].device)
    else:
        order = None
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            yield tuple(t[start : start + batch_size] for t in tensors)
        else:
            idx = order[start : start + batch_size]
            yield tuple(t[idx] for t in tensors)


def balanced_subset(
    labels: Tensor, per_class: int, *, num_classes: int = 10, seed: int = 0
) -> Tensor:
    """Indices of ``per_class`` randomly chosen examples of each class (seeded, sorted).

    The paper's semi-supervised runs use 100 and 1000 labels: ``per_class=10`` and ``100``.

    Args:
        labels: the true class of every example, ``(N,)`` integers in ``[0, num_classes - 1]``
            (a tensor or a NumPy array; -1 "unlabelled" is refused: these are the labels to draw
            from).

    Raises:
        ValueError: a class has fewer than ``per_class`` examples, or ``labels`` is out of range.
    """
    if not isinstance(per_class, int) or isinstance(per_class, bool) or per_class <= 0:
        raise ValueError(f"per_class must be a positive int, got {per_class!r}")
    labels = inputs.labels(labels, "labels", classes=num_classes, device=torch.device("cpu"),
                           check=True)
    g = torch.Generator().manual_seed(seed)
    chosen = []
    for c in range(num_classes):
        members = torch.nonzero(labels == c).flatten()
        if len(members) < per_class:
            raise ValueError(
                f"class {c} has only {len(members)} examples, fewer than per_class={per_class}"
            )
        pick = members[torch.randperm(len(members), generator=g)[:per_class]]
        chosen.append(pick)
    return torch.cat(chosen).sort().values


def labelled_subset(
    labels: Tensor, n_labels: int, *, num_classes: int = 10, seed: int = 0
) -> Tensor:
    """Indices of ``n_labels`` examples, the same number from each class (the paper's
    "100 labels" is 10 per digit).

    Raises:
        ValueError: ``n_labels`` is not a positive multiple of ``num_classes``, or exceeds
            the data.
    """
    if not isinstance(n_labels, int) or isinstance(n_labels, bool) or n_labels <= 0:
        raise ValueError(f"n_labels must be a positive int, got {n_labels!r}")
    labels = inputs.labels(labels, "labels", classes=num_classes, device=torch.device("cpu"), check=True)
    if n_labels % num_classes:
        raise ValueError(
            f"n_labels={n_labels} is not a multiple of num_classes={num_classes}; a balanced "
            f"subset needs the same count per class (e.g. {n_labels - n_labels % num_classes or num_classes})"
        )
    if n_labels > len(labels):
        raise ValueError(f"n_labels={n_labels} exceeds the {len(labels)} examples available")
    return balanced_subset(labels, n_labels // num_classes, num_classes=num_classes, seed=seed)


def train_val_split(n: int, val_size: int, *, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Random disjoint (train, validation) index tensors over ``range(n)``."""
    if not 0 < val_size < n:
        raise ValueError(f"val_size must be between 1 and n-1={n - 1}, got {val_size}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[val_size:].sort().values, perm[:val_size].sort().values


def shift_images(
    x: Tensor, max_shift: int, *, image_shape: tuple[int, int] = (28, 28),
    generator: torch.Generator | None = None,
) -> Tensor:
    """Each flattened image moved by its own random whole-pixel offset in
    ``[-max_shift, max_shift]`` along both axes; pixels moved in from outside are 0 (background).

    With 100 labels the classification phase memorises its ten images per digit within a few
    epochs (cross-entropy ~0); shifted copies keep telling the encoder something new.

    Args:
        x: images of shape (N, H*W), flattened as :class:`ImageData` stores them (a tensor or
            a NumPy array; other shapes are refused, since the result is flat).
        max_shift: largest offset in pixels; 0 returns ``x`` unchanged.
        image_shape: (H, W) of one image.
        generator: draws the offsets (on the CPU), so a run can be repeated.
    """
    h, w = image_shape
    x = inputs.as_tensor(x, "x")
    if isinstance(max_shift, numbers.Integral) and not isinstance(max_shift, bool):
        max_shift = int(max_shift)
    if not isinstance(max_shift, int) or isinstance(max_shift, bool) or not 0 <= max_shift < min(h, w):
        raise ValueError(f"max_shift must be an int in [0, {min(h, w) - 1}], got {max_shift!r}")
    if x.ndim != 2 or x.shape[1] != h * w:
        raise ValueError(
            f"x must have shape (N, {h * w}) for {h}x{w} images, got {tuple(x.shape)}"
            + ("; flatten with x.reshape(len(x), -1)" if x.ndim > 2 else "")
        )
    x = inputs.images(x, "x", dim=h * w)  # 0-255 integers: grey levels; NaN, range checked
    if max_shift == 0:
        return x
    s, n = max_shift, len(x)
    offsets = torch.randint(-s, s + 1, (2, n, 1), generator=generator).to(x.device)
    padded = torch.nn.functional.pad(x.view(n, h, w), (s, s, s, s))
    rows = (torch.arange(h, device=x.device) + s - offsets[0])[:, :, None]  # (N, H, 1)
    cols = (torch.arange(w, device=x.device) + s - offsets[1])[:, None, :]  # (N, 1, W)
    return padded[torch.arange(n, device=x.device)[:, None, None], rows, cols].reshape(n, h * w)
