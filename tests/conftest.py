"""Shared fixtures. MNIST is read from AAE_DATA_DIR (CI points it at a read-only copy)."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import importlib.util  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from aae_utils.config import REPO_ROOT, data_root  # noqa: E402
from aae_utils.notebook import mnist_present  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_checkpoints(tmp_path, monkeypatch):
    """Tests never read or write the learner's checkpoint cache, nor download the course's
    release (a test that serves one sets AAE_PRETRAINED_URL itself)."""
    monkeypatch.setenv("AAE_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("AAE_PRETRAINED_URL", "off")
    monkeypatch.setenv("AAE_PROGRESS", "0")
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def mnist_root():
    root = data_root()
    if not mnist_present(root):
        pytest.skip(f"MNIST is not in {root}; set AAE_DATA_DIR to a folder with MNIST/raw/")
    return root


@pytest.fixture(scope="session")
def mnist_small(mnist_root):
    from aae_utils.data import load_mnist

    return load_mnist(root=mnist_root, limit=2000, download=False)


def load_bench(name: str) -> ModuleType:
    """Import ``bench/<name>.py`` as a module (bench/ holds scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def reproduce() -> ModuleType:
    return load_bench("reproduce")


@pytest.fixture
def speed() -> ModuleType:
    return load_bench("speed")


@pytest.fixture
def alternatives() -> ModuleType:
    return load_bench("alternatives")


@pytest.fixture
def report() -> ModuleType:
    return load_bench("report")


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The course site, built once per session as `make site` builds it (from the stored outputs,
    nothing executed) into a temporary folder; returns its ``_build/html``. Shared by
    tests/test_site.py (static checks) and tests/test_site_browser.py (Chromium)."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    if not jupyter_book.exists() and shutil.which("jupyter-book") is None:
        pytest.skip("jupyter-book is not installed (pip install -e '.[dev]' brings it)")
    exe = str(jupyter_book) if jupyter_book.exists() else "jupyter-book"
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [exe, "build", ".", "--config", "site/_config.yml", "--toc", "site/_toc.yml",
         "--path-output", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "_build" / "html"
