"""The standard opening cell of every notebook: versions, device, seed, mode and data."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from . import __version__
from .config import data_root, display_path, get_device, is_fast, seed_everything
from .viz import set_style

MIN_PYTHON = (3, 10)
MIN_TORCH = (2, 1)


@dataclass(frozen=True)
class NotebookSetup:
    """What the opening cell decided; notebooks read ``setup.device`` and ``setup.fast``."""

    device: torch.device
    seed: int
    fast: bool
    data_root: Path
    colab: bool


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("+")[0].split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def mnist_present(root: Path) -> bool:
    """True if the four MNIST files (compressed or not) are in ``root/MNIST/raw``."""
    raw = root / "MNIST" / "raw"
    stems = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    return all((raw / s).exists() or (raw / f"{s}.gz").exists() for s in stems)


def _enable_colab_widgets() -> None:
    """Colab's own front end renders ipywidgets 7; with 8 installed it needs its CDN widget
    manager, or the latent explorers would not appear."""
    import ipywidgets

    if _version_tuple(ipywidgets.__version__) >= (8, 0):
        from google.colab import output  # type: ignore[import-not-found]

        output.enable_custom_widget_manager()


def setup_notebook(seed: int = 0, *, verbose: bool = True) -> NotebookSetup:
    """Check versions, seed everything, pick the device and report the data folder.

    Raises:
        RuntimeError: Python or torch is older than the course supports.
    """
    if sys.version_info[:2] < MIN_PYTHON:
        raise RuntimeError(
            f"this course needs Python >= {'.'.join(map(str, MIN_PYTHON))}, "
            f"this is {platform.python_version()}"
        )
    if _version_tuple(torch.__version__) < MIN_TORCH:
        raise RuntimeError(
            f"this course needs torch >= {'.'.join(map(str, MIN_TORCH))}, found "
            f"{torch.__version__}; run `pip install -U torch torchvision`"
        )
    import torchvision

    seed_everything(seed)
    device = get_device()
    fast = is_fast()
    root = data_root()
    colab = "google.colab" in sys.modules
    if colab:
        _enable_colab_widgets()
    set_style()
    if verbose:
        print(
            f"aae_utils {__version__} | torch {torch.__version__} | "
            f"torchvision {torchvision.__version__} | Python {platform.python_version()}"
        )
        print(f"device: {device} | seed: {seed}" + (" | running on Colab" if colab else ""))
        print(
            "mode: FAST (AAE_FAST=1: tiny runs in seconds; numbers and figures will not match the text)"
            if fast
            else "mode: default (set AAE_FAST=1 for a quick test run)"
        )
        status = "MNIST found" if mnist_present(root) else "MNIST not there yet: it will download"
        print(f"data: {display_path(root)} ({status})")
    return NotebookSetup(device, seed, fast, root, colab)
