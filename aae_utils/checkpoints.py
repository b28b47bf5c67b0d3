"""Trained models on disk: checkpoints with a manifest, resuming, ``load_or_train``.

A checkpoint is ``<name>.pt`` (the weights) plus ``<name>.json`` (the manifest: config, history,
library versions and the weights' SHA-256). :func:`load_or_train` reuses it only when the config
matches and the checksum checks out, so a notebook rerun takes seconds and never picks up a
model trained with other settings. While a model trains, the state after every epoch is kept in
``<name>.partial.pt`` (:class:`ResumeTarget`); an interrupted run resumes from it. A model with
no usable checkpoint here is first looked up in the course's release
(:mod:`aae_utils.pretrained`), and trained only if the release cannot provide it. Every file
is written whole or not at all (:func:`aae_utils.writes.atomic_write`), and a folder that
cannot be written (full, read-only) never costs the trained model: it is returned, saying what
could not be kept.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from . import __version__, inputs
from .config import checkpoint_dir, display_path, seed_everything
from .data import ImageData, file_digest
from .engine import History
from .models import build_model
from .resume import resuming
from .writes import WriteError, atomic_write, atomic_write_all, torch_bytes


@dataclass
class ResumeTarget:
    """The file where :func:`~aae_utils.engine.fit` keeps the state of an unfinished run, and the
    config and training data it belongs to (a state saved for others is ignored, saying so)."""

    path: Path
    config: dict
    data: dict | None = None  # data_record() of the training data, when known
    #: The epochs done in the state the file holds for this run, as far as this object knows:
    #: set when it loads one or saves one (0: none).
    saved_epochs: int = field(default=0, compare=False, repr=False)
    #: Start again: ignore a state already in the file (``bench/reproduce.py --restart`` where
    #: the old file cannot be removed).
    restart: bool = field(default=False, compare=False, repr=False)

    @property
    def location(self) -> str:
        return display_path(self.path)

    def _owner(self) -> dict:
        # Without a data record the file keeps its earlier layout (config only).
        return {"config": self.config} if self.data is None else {"config": self.config, "data": self.data}

    def save(self, state: dict) -> None:
        """Write the state whole or not at all; :class:`~aae_utils.writes.WriteError` if the
        folder cannot take it (``fit`` then says so once and trains on)."""
        atomic_write(self.path, torch_bytes({**self._owner(), **state}))
        self.saved_epochs = int(state.get("epochs_done", 0))

    def load(self) -> dict | None:
        if self.restart:
            return None
        try:
            if not self.path.exists():
                return None
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as err:  # truncated file, unreadable folder, ...
            print(f"Ignoring {self.location}: it could not be loaded ({type(err).__name__}).")
            return None
        if state.get("config") != self.config:
            print(f"Ignoring {self.location}: it belongs to another config.")
            return None
        if state.get("data") != self.data:
            print(f"Ignoring {self.location}: it was trained on other data.")
            return None
        self.saved_epochs = int(state.get("epochs_done", 0))
        return state


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _canonical_config(config: dict) -> dict:
    """``config`` as JSON gives it back (sorted keys, tuples as lists): what manifests compare."""
    try:
        return json.loads(json.dumps(config, sort_keys=True))
    except (TypeError, ValueError) as err:
        where = _first_non_json(config, "config")
        raise TypeError(
            f"config must be JSON-serialisable (dicts, lists, str, int, float, bool, None): "
            f"{where} ({err}). Store plain values, e.g. float(x) or x.tolist()"
        ) from err


def _first_non_json(value, where: str) -> str:
    """Where in nested dicts/lists the first value JSON cannot hold sits, and its type."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str | int | float | bool) and k is not None:
                return f"{where} has a key of type {type(k).__name__}"
            found = _first_non_json(v, f"{where}[{k!r}]")
            if found:
                return found
        return ""
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = _first_non_json(v, f"{where}[{i}]")
            if found:
                return found
        return ""
    if value is None or isinstance(value, str | int | float | bool):
        return ""
    return f"{where} is a {type(value).__module__}.{type(value).__name__}"


def _plain(value):
    """Tensors and NumPy values as Python numbers and lists (what a training function may put in
    its history); raises TypeError for anything JSON cannot hold."""
    import numpy as np

    if isinstance(value, torch.Tensor):
        return _plain(value.detach().cpu().tolist())
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        item = value.item()
        if isinstance(item, np.generic):  # no Python twin (longdouble): a float, if it is one
            if np.issubdtype(value.dtype, np.floating):
                return float(value)
            raise TypeError(f"a {type(value).__module__}.{type(value).__name__}")
        return _plain(item)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"a {type(value).__module__}.{type(value).__name__}")


def plain_history(history) -> tuple[History, list[str]]:
    """``history`` as a dict of plain lists, and a note for each part that had to be left out.

    A training function's history may hold 0-d tensors (what the phases return), NumPy numbers
    or tensors of several values: they become floats and lists. A value JSON cannot hold is
    dropped, and so is a history that is not a dict; each drop is named in the notes. It never
    raises, because it runs after training, when an error would throw the trained model away.
    """
    if history is None:
        return {}, ["the training function returned None instead of its history "
                    "(end it with `return history`, e.g. `return fit(...)`)"]
    if not isinstance(history, dict):
        return {}, [f"the training function returned a {type(history).__name__}, not a history "
                    "dict ({'loss': [...], ...})"]
    out, notes, first = {}, [], {}
    for key, value in history.items():
        if str(key) in first:
            notes.append(f"history has the keys {first[str(key)]!r} and {key!r}, both stored as "
                         f"{str(key)!r}; only the first is kept")
            continue
        first[str(key)] = key
        try:
            plain = _plain(value)
            json.dumps(plain)  # what .tolist() gives may still not be JSON (complex, dates, ...)
        except (TypeError, ValueError, RecursionError) as err:
            what = str(err) if isinstance(err, TypeError) and str(err).startswith("a ") else (
                f"a value JSON cannot hold ({type(err).__name__})")
            notes.append(f"history[{key!r}] holds {what}, which a manifest cannot store")
            continue
        out[str(key)] = plain
    return out, notes


def data_record(data: ImageData) -> dict:
    """What a checkpoint records of its training data: name, size and a SHA-256 of the tensors.

    Two datasets with the same name but other images (another subset, Fashion-MNIST loaded
    under another name) get different digests. About 0.1 s for all 60,000 MNIST images.
    """
    ImageData.require(data)
    h = hashlib.sha256()
    for t, name in ((data.x, "data.x"), (data.y, "data.y")):
        t = inputs.as_tensor(t, name).detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(memoryview(t.numpy()).cast("B"))
    return {"name": data.name, "n": len(data), "sha256": h.hexdigest()}


def _differences(old, new, where: str = "", limit: int = 3) -> str:
    """The settings that differ between two configs: ``"train.epochs: 10 -> 12"``."""
    found: list[str] = []

    def walk(a, b, path):
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b), key=str):
                walk(a.get(k, "(absent)"), b.get(k, "(absent)"), f"{path}.{k}" if path else str(k))
        elif a != b:
            found.append(f"{path or 'config'}: {a!r} -> {b!r}")

    walk(old, new, where)
    shown = "; ".join(s if len(s) <= 80 else s[:77] + "..." for s in found[:limit])
    return shown + (f"; and {len(found) - limit} more" if len(found) > limit else "")


def _describe_data(record: dict | None) -> str:
    if not record:
        return "unrecorded data"
    return f"{record['name']}, {record['n']:,} images, sha256 {record['sha256'][:12]}"


def save_checkpoint(
    path: Path, model: nn.Module, config: dict, history: History, data: dict | None = None
) -> None:
    """Save weights to ``path`` and a JSON manifest beside it: config, training data
    (:func:`data_record`, or None), history, versions and the weights' SHA-256.

    Both files are written whole before either replaces an older checkpoint, so a full disk or
    a read-only folder leaves the old pair as it was, and a later :func:`load_or_train` never
    finds a half-written file or weights that belong to another manifest.

    Raises:
        WriteError: the folder could not take the files (full disk, read-only, no permission,
            a file where the folder should be); the message names the file and the reason.
    """
    import platform

    path = Path(path)
    weights = torch_bytes(model.state_dict())
    manifest = {
        "format": 1,
        "config": _canonical_config(config),
        "data": data,
        "history": history,
        "sha256": hashlib.sha256(weights).hexdigest(),
        "aae_utils": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    atomic_write_all({path: weights, path.with_suffix(".json"): json.dumps(manifest, indent=1)})


def _try_load(
    path: Path, canonical: dict, data: dict | None, model: nn.Module, device
) -> tuple[History | None, str]:
    """Load a checkpoint into ``model`` if it is intact and matches ``canonical`` (the config as
    :func:`_canonical_config` gives it) and ``data``; else say why not."""
    manifest_path = path.with_suffix(".json")
    try:
        if not path.exists() or not manifest_path.exists():
            return None, "no checkpoint yet"
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None, "its manifest is unreadable"
    if manifest.get("config") != canonical:
        changed = _differences(manifest.get("config"), canonical)
        return None, f"it was trained with a different config ({changed})"
    if data is not None and manifest.get("data") != data:
        if "data" not in manifest:
            return None, "its manifest does not say which data it was trained on (an older checkpoint)"
        return None, (
            f"it was trained on other data ({_describe_data(manifest['data'])}; "
            f"now {_describe_data(data)})"
        )
    try:
        if manifest.get("sha256") != file_digest(path, "sha256"):
            return None, "the weights file is corrupt (checksum mismatch)"
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
    data: ImageData | None = None,
    build: Callable[[], nn.Module] | None = None,
    device: torch.device | str | None = None,
    directory: str | Path | None = None,
) -> tuple[nn.Module, History]:
    """Reuse the cached model ``name`` if it was trained with ``config`` on ``data``; else train it.

    Args:
        name: file stem of the checkpoint (letters, digits, ``_.-``).
        config: every setting that changes the result, as JSON-like data. Unless ``build`` is
            given it must hold ``config["model"]``, the keyword arguments of
            :func:`~aae_utils.models.build_model`.
        fn: trains a freshly built model in place and returns its history
            (typically ``lambda m: fit(m, data, cfg, prior=prior)``). Tensors and NumPy numbers
            in the history are stored as plain floats; anything else a manifest cannot hold is
            left out, saying so, and the trained model is kept all the same.
        data: the training data. Its name, size and a digest of its tensors
            (:func:`data_record`) become part of the checkpoint's identity, so a model trained
            on other data (another dataset, another subset) is never reused for this one.
            Without it only ``config`` is compared.
        build: makes the untrained model (default: ``build_model(**config["model"])``).
        device: where the returned model lives (default: CPU).
        directory: checkpoint folder (default: :func:`aae_utils.config.checkpoint_dir`).

    Returns:
        ``(model, history)``: the model in eval mode, and its per-epoch history.

    Raises:
        ValueError / TypeError: a bad name, config, ``fn``, ``build`` or ``data``, always before
            any training starts.

    The checkpoint is ``<directory>/<name>.pt`` (weights) plus ``<name>.json`` (config, data,
    history, versions, sha256). Both are written atomically, so an interrupted run never
    leaves a half-written file that would be mistaken for a good one. While ``fn`` trains,
    :func:`~aae_utils.engine.fit` keeps ``<name>.partial.pt`` after every epoch; if training
    is interrupted, the next call with the same config and data resumes from it.

    Before training, a model with no usable checkpoint is looked up in the course's release
    (:func:`aae_utils.pretrained.fetch`; ``AAE_PRETRAINED_URL`` says where, ``off`` disables
    it, fast mode never asks): a checkpoint of the same config and data is downloaded, checked
    and loaded (``Downloaded <name> from <url> (sha256 ok).``); any failure is said in one line,
    and the model is trained as without a release.

    A folder that cannot be written (full disk, read-only, no permission, a file in the way)
    never stops training or loses the model: each file that could not be written is named
    once, with the reason, and the trained model is returned uncached.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"checkpoint name {name!r} must use only letters, digits, '_', '.', '-'")
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    if not callable(fn):
        raise TypeError(f"fn must be a function that trains a model, got {type(fn).__name__}")
    if build is None:
        if not isinstance(config.get("model"), dict):
            raise ValueError('config needs a "model" dict of build_model() arguments, or pass build=')
        build = lambda: build_model(**config["model"])  # noqa: E731
    canonical = _canonical_config(config)  # refused here, before any training, if not JSON
    record = data_record(data) if data is not None else None
    device = torch.device(device) if device is not None else torch.device("cpu")
    path = Path(directory) if directory is not None else checkpoint_dir()
    path = path / f"{name}.pt"

    seed_everything(int(config.get("seed", 0)))  # same initial weights on every rerun
    model = build()
    if not isinstance(model, nn.Module):
        raise TypeError(f"build() must return a torch model (nn.Module), got {type(model).__name__}")
    model = model.to(device)
    history, why = _try_load(path, canonical, record, model, device)
    if history is None:  # the course's release may have it (aae_utils.pretrained)
        from .pretrained import fetch  # imported here: it imports this module

        tried = []

        def load_download():
            tried.append(True)
            return _try_load(path, canonical, record, model, device)

        history = fetch(name, path, canonical, record, load_download)
        if history is None and tried:  # a refused load may have filled some layers: start afresh
            seed_everything(int(config.get("seed", 0)))
            model = build().to(device)
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
    target = ResumeTarget(partial, canonical, record)
    with resuming(target):
        returned = fn(model)
    model.eval()
    # From here on the model is trained: nothing may lose it.
    history, notes = plain_history(returned)
    for note in notes:
        print(f"Note: {note}; the trained model is saved and returned all the same.")
    if "stopped_after" in history:  # fit(epoch_end=...) ended the run early: not a finished model
        print(f"{name} stopped after epoch {int(history['stopped_after'][-1])}, before the end of "
              f"its training: not cached as finished. "
              + (f"{display_path(partial)} keeps its state after epoch {target.saved_epochs}; the "
                 "same call continues from there." if target.saved_epochs else ""))
        return model, history
    try:
        save_checkpoint(path, model, config, history, record)
    except Exception as err:  # disk full, read-only folder, ...: the model is kept all the same
        why = err.reason if isinstance(err, WriteError) else f"{type(err).__name__}: {err}"
        print(
            f"Could not save {name} to {display_path(path)} ({why}). The trained model is "
            "returned but not cached"
            + (f"; {display_path(partial)} keeps its state after epoch {target.saved_epochs}, from "
               "which the same call continues." if target.saved_epochs else ".")
        )
        return model, history
    try:
        partial.unlink(missing_ok=True)  # only after the finished checkpoint is safely written
    except OSError:
        pass  # a stale state of a finished run is ignored: the checkpoint is found first
    print(
        f"Trained {name} in {time.perf_counter() - start:.0f} s; saved to {display_path(path)}."
    )
    return model, history


def clean_checkpoints(directory: str | Path | None = None) -> list[Path]:
    """Delete every cached model (``make clean-checkpoints``): the ``<name>.pt`` / ``<name>.json``
    pairs, the states of unfinished runs (``<name>.partial.pt``) and the same in the ``fast/`` and
    ``reproduce/`` subfolders of ``directory`` (default: the default-mode folder of
    :func:`aae_utils.config.checkpoint_dir`, so ``AAE_CHECKPOINT_DIR`` counts). Other files are
    left alone, so a mistyped folder loses nothing else. Returns the files deleted."""
    if directory is None:
        from .config import default_checkpoint_dir

        directory = default_checkpoint_dir()
    root = Path(directory)
    deleted = []
    for folder in (root, root / "fast", root / "reproduce"):
        if not folder.is_dir():
            continue
        for weights in sorted(folder.glob("*.pt")):  # <name>.pt and <name>.partial.pt
            for path in (weights, weights.with_suffix(".json")):  # and the manifest of a pair
                if path.is_file():
                    path.unlink()
                    deleted.append(path)
    return deleted
