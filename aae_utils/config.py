"""Run-time settings shared by every notebook: device, seed, fast mode and paths.

Everything here reads the environment once per call, so a test (or a learner) can change
``AAE_FAST`` / ``AAE_DATA_DIR`` / ``AAE_DEVICE`` between calls without reloading the module.

Environment variables
---------------------
``AAE_FAST=1``
    Fast mode: tiny data subsets and one or two epochs, so a notebook runs in seconds.
    The test suite (nbval) and CI use it.
``AAE_DATA_DIR``
    Where datasets live, in torchvision's layout (``<root>/MNIST/raw/...``). Defaults to the
    repository's ``data/`` folder in a clone, else ``data/`` in the working folder (after
    ``pip install``, on Colab).
``AAE_CHECKPOINT_DIR``
    Where trained models are cached. Defaults to ``data/checkpoints/`` in a clone, else
    ``checkpoints/`` in the working folder; fast mode uses a ``fast/`` subfolder, so a test
    run never overwrites the checkpoints of a full run.
``AAE_PRETRAINED_URL``
    Where :func:`~aae_utils.checkpoints.load_or_train` downloads a model it has no checkpoint
    of, before training it (default: the course's latest release; ``off`` never downloads).
    See :mod:`aae_utils.pretrained`.
``AAE_DEVICE``
    Force a device (``cpu``, ``cuda``, ``mps``) instead of the automatic choice.
``AAE_PROGRESS=0``
    Hide progress bars (used when notebooks are executed to refresh their stored outputs).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

#: The repository root when the package is used from a clone (``pip install -e .``).
REPO_ROOT = Path(__file__).resolve().parent.parent


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(
        f"environment variable {name}={raw!r} is not understood; use 1 (on) or 0 (off)"
    )


def is_fast() -> bool:
    """True when ``AAE_FAST=1``: notebooks train on tiny subsets for a few seconds."""
    return _env_flag("AAE_FAST", False)


def show_progress() -> bool:
    """True unless ``AAE_PROGRESS=0``; progress bars are hidden in stored notebook outputs."""
    return _env_flag("AAE_PROGRESS", True)


def _in_repo() -> bool:
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "aae_utils").is_dir()


def data_root() -> Path:
    """Folder holding the datasets (``AAE_DATA_DIR``, else the repository's ``data/``).

    When the package is installed outside a clone (Colab, ``pip install``), the default is
    ``./data`` under the current working directory.
    """
    env = os.environ.get("AAE_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return (REPO_ROOT / "data") if _in_repo() else Path.cwd() / "data"


def default_checkpoint_dir() -> Path:
    """Folder for the cached checkpoints of default mode: ``AAE_CHECKPOINT_DIR``, else
    ``data/checkpoints/`` in a clone (``checkpoints/`` in the working folder outside one)."""
    env = os.environ.get("AAE_CHECKPOINT_DIR")
    if env:
        return Path(env).expanduser()
    return (REPO_ROOT / "data" / "checkpoints") if _in_repo() else Path.cwd() / "checkpoints"


def checkpoint_dir() -> Path:
    """Folder for cached checkpoints; fast-mode checkpoints live in a ``fast/`` subfolder."""
    base = default_checkpoint_dir()
    return base / "fast" if is_fast() else base


def get_device(prefer: str | None = None) -> torch.device:
    """Pick the compute device: CUDA, then Apple's MPS, then the CPU.

    Args:
        prefer: force a device name (``"cpu"``, ``"cuda"``, ``"mps"``). Defaults to the
            ``AAE_DEVICE`` environment variable, else the automatic choice.

    Raises:
        ValueError: if the requested device is unknown or not available on this machine.
    """
    name = prefer if prefer is not None else os.environ.get("AAE_DEVICE")
    if name:
        name = name.strip().lower()
        if name not in {"cpu", "cuda", "mps"}:
            raise ValueError(f"device {name!r} is unknown; use 'cpu', 'cuda' or 'mps'")
        if name == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' was requested but torch sees no CUDA GPU; use 'cpu'")
        if name == "mps" and not _mps_available():
            raise ValueError("device 'mps' was requested but is not available; use 'cpu'")
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def seed_everything(seed: int = 0) -> int:
    """Seed Python, NumPy and torch (all devices) so a run can be repeated.

    Returns the seed, so notebooks can print the value they used.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ValueError(f"seed must be a non-negative int below 2**63, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return seed


def display_path(path: Path | str) -> str:
    """A path as learners should see it, never with a ``..`` chain.

    In a clone of the course repository: ``<repo>/data/...`` for a path inside it. Otherwise,
    or for a path outside the clone: ``$AAE_DATA_DIR/...`` (or ``$AAE_CHECKPOINT_DIR/...``)
    under a folder the learner chose with those variables, else relative to the working folder
    (``data/MNIST``: what a Colab or pip user sees after ``setup_notebook()``), else ``~/...``
    under the home folder, else the path as it is. So stored outputs and error messages do not
    show the machine's folder layout.
    """
    def absolute(q) -> Path:  # absolute, with symlinks kept: a linked data/ stays "data"
        return Path(os.path.abspath(Path(q).expanduser()))

    bases = [(absolute(os.environ[v]), f"${v}/")
             for v in ("AAE_DATA_DIR", "AAE_CHECKPOINT_DIR") if os.environ.get(v)]
    bases += [(absolute(Path.cwd()), ""), (absolute(Path.home()), "~/")]
    if _in_repo():
        bases.insert(0, (REPO_ROOT, "<repo>/"))
    # As given first; then with symlinks resolved (a path reached through a link elsewhere)
    for p in (absolute(path), Path(path).expanduser().resolve()):
        for base, label in bases + [(b.resolve(), lab) for b, lab in bases]:
            try:
                rel = p.relative_to(base).as_posix()
            except ValueError:
                continue
            if rel == ".":
                return label.rstrip("/") or "."
            return f"{label}{rel}"
    return absolute(path).as_posix()
