"""Trained models on disk: checkpoints with a manifest, atomic writes, resuming, ``load_or_train``.

A checkpoint is ``<name>.pt`` (the weights) plus ``<name>.json`` (the manifest: config, history,
library versions and the weights' SHA-256). :func:`load_or_train` reuses it only when the config
matches and the checksum checks out, so a notebook rerun takes seconds and never picks up a
model trained with other settings. While a model trains, the state after every epoch is kept in
``<name>.partial.pt`` (:class:`ResumeTarget`); an interrupted run resumes from it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from . import __version__
from .config import checkpoint_dir, display_path, seed_everything
from .data import file_digest
from .engine import History, resuming
from .models import build_model


@dataclass(frozen=True)
class ResumeTarget:
    """The file where :func:`~aae_utils.engine.fit` keeps the state of an unfinished run, and the
    config it belongs to (a state saved for another config is ignored, saying so)."""

    path: Path
    config: dict

    @property
    def location(self) -> str:
        return display_path(self.path)

    def save(self, state: dict) -> None:
        _atomic_write(self.path, lambda p: torch.save({"config": self.config, **state}, p))

    def load(self) -> dict | None:
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as err:  # truncated file, ...
            print(f"Ignoring {self.location}: it could not be loaded ({type(err).__name__}).")
            return None
        if state.get("config") != self.config:
            print(f"Ignoring {self.location}: it belongs to another config.")
            return None
        return state


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _canonical_config(config: dict) -> dict:
    try:
        return json.loads(json.dumps(config, sort_keys=True))
    except TypeError as err:
        raise TypeError(f"config must be JSON-serialisable (dicts, lists, numbers): {err}") from err


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; checkpoints are ordinary files
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: Path, model: nn.Module, config: dict, history: History) -> None:
    """Save weights to ``path`` and a JSON manifest (config, versions, sha256) beside it."""
    import platform

    _atomic_write(path, lambda p: torch.save(model.state_dict(), p))
    manifest = {
        "format": 1,
        "config": _canonical_config(config),
        "history": history,
        "sha256": file_digest(path, "sha256"),
        "aae_utils": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    text = json.dumps(manifest, indent=1)
    _atomic_write(path.with_suffix(".json"), lambda p: p.write_text(text))


def _try_load(path: Path, config: dict, model: nn.Module, device) -> tuple[History | None, str]:
    """Load a checkpoint into ``model`` if it is intact and matches; else say why not."""
    manifest_path = path.with_suffix(".json")
    if not path.exists() or not manifest_path.exists():
        return None, "no checkpoint yet"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None, "its manifest is unreadable"
    if manifest.get("config") != _canonical_config(config):
        return None, "it was trained with a different config"
    if manifest.get("sha256") != file_digest(path, "sha256"):
        return None, "the weights file is corrupt (checksum mismatch)"
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        model.load_state_dict(state)
    except Exception as err:  # truncated file, renamed layer, ...
        return None, f"it could not be loaded ({type(err).__name__})"
    return manifest.get("history", {}), ""


def load_or_train(
    name: str,
    config: dict,
    fn: Callable[[nn.Module], History],
    *,
    build: Callable[[], nn.Module] | None = None,
    device: torch.device | str | None = None,
    directory: str | Path | None = None,
) -> tuple[nn.Module, History]:
    """Reuse the cached model ``name`` if it was trained with ``config``; else train it.

    Args:
        name: file stem of the checkpoint (letters, digits, ``_.-``).
        config: every setting that changes the result, as JSON-like data. Unless ``build`` is
            given it must hold ``config["model"]``, the keyword arguments of
            :func:`~aae_utils.models.build_model`.
        fn: trains a freshly built model in place and returns its history
            (typically ``lambda m: fit(m, data, cfg, prior=prior)``).
        build: makes the untrained model (default: ``build_model(**config["model"])``).
        device: where the returned model lives (default: CPU).
        directory: checkpoint folder (default: :func:`aae_utils.config.checkpoint_dir`).

    The checkpoint is ``<directory>/<name>.pt`` (weights) plus ``<name>.json`` (config,
    history, versions, sha256). Both are written atomically, so an interrupted run never
    leaves a half-written file that would be mistaken for a good one. While ``fn`` trains,
    :func:`fit` keeps ``<name>.partial.pt`` after every epoch; if training is interrupted, the
    next call with the same config resumes from it.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"checkpoint name {name!r} must use only letters, digits, '_', '.', '-'")
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    if build is None:
        if not isinstance(config.get("model"), dict):
            raise ValueError('config needs a "model" dict of build_model() arguments, or pass build=')
        build = lambda: build_model(**config["model"])  # noqa: E731
    device = torch.device(device) if device is not None else torch.device("cpu")
    path = Path(directory) if directory is not None else checkpoint_dir()
    path = path / f"{name}.pt"

    seed_everything(int(config.get("seed", 0)))  # same initial weights on every rerun
    model = build().to(device)
    history, why = _try_load(path, config, model, device)
    if history is not None:
        total = sum(history.get("seconds", []))
        print(
            f"Loaded {name} from {display_path(path)} "
            f"({len(history.get('seconds', []))} epochs, trained in {total:.0f} s)."
        )
        model.eval()
        return model, history
    print(f"Training {name}: {why}.")
    start = time.perf_counter()
    partial = path.with_name(f"{name}.partial.pt")
    with resuming(ResumeTarget(partial, _canonical_config(config))):
        history = fn(model)
    model.eval()
    save_checkpoint(path, model, config, history)
    partial.unlink(missing_ok=True)  # only after the finished checkpoint is safely written
    print(
        f"Trained {name} in {time.perf_counter() - start:.0f} s; saved to {display_path(path)}."
    )
    return model, history
