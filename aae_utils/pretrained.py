"""Pretrained models: the course's trained checkpoints, downloaded from its release on first use.

Training every model of the course takes tens of minutes on a free cloud instance, more than a
90-minute lab can spend. So a release of the course carries the checkpoints of a default-mode
run (``<name>.pt`` and ``<name>.json``, as :mod:`aae_utils.checkpoints` writes them) and an
``index.json`` that lists, for each: its name, the sha256 of its config, the sha256 and size of
both files, its epochs and the torch version that saved it.

For learners
------------
Nothing to do. When :func:`~aae_utils.checkpoints.load_or_train` finds no usable cached model,
it looks it up in the index of the course's release (:func:`default_base_url`). If the release
has it, trained with the same config (and, where the notebook says which, on the same data),
both files are downloaded, checked against the index (size and sha256), put in the checkpoint
folder and loaded, which checks them once more::

    Downloaded aae-2d from https://github.com/.../releases/latest/download/ (sha256 ok).

On any failure (offline, a model the release does not have, another config, a bad checksum, a
connection cut midway, a timeout, a malformed index) it says why in one line and trains, exactly
as without a release::

    No pretrained aae-2d: the download of aae-2d.pt was cut off after 12,345 of 98,765 bytes;
    training instead.

Nothing half-downloaded is used or left behind: the bytes are checked in memory, and only then
written (whole or not at all, :mod:`aae_utils.writes`). A changed setting (another seed, more
epochs) changes the config's hash, so that model is trained, never swapped for the release's.

``AAE_PRETRAINED_URL``
    Where to look instead: a folder URL holding ``index.json`` (``https://``, ``http://`` or
    ``file://``, e.g. a mirror on the university's server). ``off`` (or ``0``, or empty) never
    downloads: every model is trained here. Fast mode (``AAE_FAST=1``) never downloads either,
    and says nothing: the release holds default-mode models only.

For lecturers: publishing the models
------------------------------------
1. ``make course`` runs every notebook in default mode and caches its models in
   ``data/checkpoints/`` (downloads are off there: the models come from the code at hand).
2. ``make pretrained`` (``python -m aae_utils.pretrained pack``) copies every finished
   checkpoint and writes ``index.json`` into ``build/pretrained/``, and prints the upload
   command.
3. ``gh release upload v<version> build/pretrained/* --clobber`` attaches them to the release.
   Learners download from the release GitHub marks *latest* (``releases/latest/download/``), so
   publish it as a full release, not a draft or a pre-release.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shlex
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from . import __version__
from .checkpoints import _NAME, _canonical_config, _describe_data
from .config import checkpoint_dir, display_path, is_fast
from .data import file_digest
from .links import REF, REPOSITORY
from .writes import WriteError, atomic_write, atomic_write_all

#: Seconds to wait for a connection, and then for each block of a download: a dead network
#: costs this long once per session (the index's failure is remembered), not a lab.
TIMEOUT = 10.0
#: The file of a release that lists its checkpoints.
INDEX = "index.json"
#: The layout of ``index.json`` this version writes and reads.
FORMAT = 1

_INDEX_LIMIT = 4 << 20  # an index of a few hundred models is tens of kB; anything larger is not one
_BLOCK = 1 << 20
_OFF = {"", "0", "off", "false", "no"}
#: base URL -> its index ({name: entry}), or why it could not be had: fetched once per process.
_INDEXES: dict[str, dict | str] = {}


class _Unavailable(Exception):
    """Why the release's checkpoint cannot be used (one clause, for the one line said);
    ``status`` is the HTTP status where the server answered with an error."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.status = status


def default_base_url() -> str:
    """The GitHub release where ``make pretrained``'s files are uploaded: the release of
    :data:`aae_utils.links.REF` when it is a release tag, the latest release on ``main``."""
    if REF.startswith("v"):
        return f"https://github.com/{REPOSITORY}/releases/download/{REF}/"
    return f"https://github.com/{REPOSITORY}/releases/latest/download/"


def base_url() -> str | None:
    """Where checkpoints are downloaded from: ``AAE_PRETRAINED_URL``, else
    :func:`default_base_url`; None when the variable is ``off``, ``0`` or empty. Always ends
    with ``/``."""
    raw = os.environ.get("AAE_PRETRAINED_URL")
    if raw is None:
        return default_base_url()
    raw = raw.strip()
    if raw.lower() in _OFF:
        return None
    return raw if raw.endswith("/") else raw + "/"


def config_sha256(config: dict) -> str:
    """sha256 (hex) of ``config`` as compact JSON in the canonical form manifests store
    (:func:`~aae_utils.checkpoints._canonical_config`: sorted keys, tuples as lists)."""
    text = json.dumps(_canonical_config(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- downloading ---------------------------------------------------------------------------------


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _unreachable(url: str, reason) -> str:
    host = _host(url)
    if isinstance(reason, TimeoutError):
        return f"{host} did not answer within {TIMEOUT:g} s"
    if isinstance(reason, socket.gaierror):
        return f"{host} cannot be found (offline, or no name service: {reason.strerror or reason})"
    if isinstance(reason, ConnectionRefusedError):
        return f"{host} refused the connection (nothing serves there)"
    if isinstance(reason, OSError):
        return f"{host} cannot be reached ({reason.strerror or reason})"
    return f"{host} cannot be reached ({reason})"


def _get(url: str, size: int | None) -> bytes:
    """The body at ``url``: exactly ``size`` bytes where the index gives the size, else the
    whole body up to :data:`_INDEX_LIMIT`. Raises :class:`_Unavailable` saying why not."""
    name = urllib.parse.unquote(url.rsplit("/", 1)[-1])
    got = bytearray()
    announced = None
    try:
        request = urllib.request.Request(url, headers={"User-Agent": f"aae-utils/{__version__}"})
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            length = response.headers.get("Content-Length", "")
            announced = int(length) if length.isdigit() else None
            if size is not None and announced is not None and announced != size:
                raise _Unavailable(f"the server's {name} has {announced:,} bytes, the index says {size:,}")
            cap = (size if size is not None else _INDEX_LIMIT) + 1  # one more: a larger file shows
            while len(got) < cap:
                block = response.read(min(_BLOCK, cap - len(got)))
                if not block:
                    break
                got += block
    except urllib.error.HTTPError as err:
        raise _Unavailable(f"{url} answered HTTP {err.code} ({err.reason})", err.code) from None
    except urllib.error.URLError as err:
        raise _Unavailable(_unreachable(url, err.reason)) from None
    except TimeoutError:
        expected = size if size is not None else announced
        if not got:
            raise _Unavailable(f"{_host(url)} did not answer within {TIMEOUT:g} s") from None
        of = f" of {expected:,}" if expected is not None else ""
        raise _Unavailable(f"the download of {name} stalled after {len(got):,}{of} bytes "
                           f"(nothing for {TIMEOUT:g} s)") from None
    except (http.client.HTTPException, OSError) as err:  # a reset or half-closed connection
        expected = size if size is not None else announced
        of = f" of {expected:,}" if expected is not None else ""
        raise _Unavailable(f"the download of {name} was cut off after {len(got):,}{of} bytes "
                           f"({type(err).__name__})") from None
    expected = size if size is not None else announced
    if expected is not None and len(got) < expected and announced == expected:
        raise _Unavailable(f"the download of {name} was cut off after {len(got):,} of {expected:,} bytes")
    if size is not None and len(got) != size:
        more = "more than " if len(got) > size else ""
        raise _Unavailable(f"the server's {name} has {more}{len(got):,} bytes, the index says {size:,}")
    if size is None and len(got) > _INDEX_LIMIT:
        raise _Unavailable(f"{url} is larger than {_INDEX_LIMIT >> 20} MB: not an index of checkpoints")
    return bytes(got)


def _is_sha256(value) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _is_size(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def parse_index(raw: bytes) -> dict[str, dict]:
    """The checkpoints an ``index.json`` lists, by name.

    Raises:
        ValueError: what is wrong with it (not JSON, another format, an entry without its
            config hash, or a file without its name, sha256 or size).
    """
    try:
        index = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"not JSON: {err}") from None
    if not isinstance(index, dict) or not isinstance(index.get("checkpoints"), list):
        raise ValueError('no "checkpoints" list')
    if index.get("format") != FORMAT:
        raise ValueError(f"format {index.get('format')!r}, but this aae_utils reads format {FORMAT}: "
                         "update aae_utils")
    found = {}
    for i, entry in enumerate(index["checkpoints"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValueError(f"checkpoints[{i}] has no name")
        if not _NAME.match(entry["name"]):  # it names files here: no folders, no ".."
            raise ValueError(f"checkpoints[{i}] has the name {entry['name']!r}, which is not a checkpoint's")
        name = entry["name"]
        if not _is_sha256(entry.get("config_sha256")):
            raise ValueError(f"{name} has no config_sha256")
        for part, suffix in (("weights", ".pt"), ("manifest", ".json")):
            spec = entry.get(part)
            if not (isinstance(spec, dict) and spec.get("file") == name + suffix
                    and _is_sha256(spec.get("sha256")) and _is_size(spec.get("size"))):
                raise ValueError(f"{name}'s {part} needs its file ({name + suffix}), sha256 and size")
        found[name] = entry
    return found


def _index(base: str) -> dict[str, dict]:
    """The index at ``base``, fetched once per process; a failure is remembered too."""
    known = _INDEXES.get(base)
    if known is None:
        url = base + INDEX
        try:
            known = parse_index(_get(url, None))
        except _Unavailable as err:
            known = (f"there is no {INDEX} at {base} (HTTP 404): no models are published there"
                     if err.status == 404 else str(err))
        except ValueError as err:
            known = f"the index at {url} is malformed ({err})"
        _INDEXES[base] = known
    if isinstance(known, str):
        raise _Unavailable(known)
    return known


def _file(base: str, spec: dict) -> bytes:
    """One file of the release, its size and sha256 checked against the index's ``spec``."""
    body = _get(base + urllib.parse.quote(spec["file"]), spec["size"])
    digest = hashlib.sha256(body).hexdigest()
    if digest != spec["sha256"]:
        raise _Unavailable(f"{spec['file']} failed its sha256 check (got {digest[:12]}..., "
                           f"the index says {spec['sha256'][:12]}...)")
    return body


def _remove(*paths: Path) -> None:
    for p in paths:
        try:
            p.unlink(missing_ok=True)
        except OSError:
            pass  # load_or_train retrains and overwrites the pair anyway


def _fetch(name: str, path: Path, base: str, canonical: dict, data: dict | None, load):
    entry = _index(base).get(name)
    if entry is None:
        raise _Unavailable(f"the release at {base} has no model named {name}")
    wanted = config_sha256(canonical)
    if entry["config_sha256"] != wanted:
        raise _Unavailable(f"the release's {name} was trained with other settings than this "
                           f"notebook's (config hash {entry['config_sha256'][:8]}, here {wanted[:8]})")
    manifest = _file(base, entry["manifest"])
    try:
        recorded = json.loads(manifest)["data"] if data is not None else None
    except (ValueError, KeyError, TypeError):
        raise _Unavailable(f"the release's {name}.json is not a checkpoint manifest") from None
    if data is not None and recorded != data:
        raise _Unavailable(f"the release's {name} was trained on other data "
                           f"({_describe_data(recorded)}; here {_describe_data(data)})")
    weights = _file(base, entry["weights"])
    manifest_path = path.with_suffix(".json")
    try:
        atomic_write_all({path: weights, manifest_path: manifest})
    except WriteError as err:
        raise _Unavailable(f"it could not be saved ({err.reason})") from None
    history, why = load()
    if history is None:
        _remove(path, manifest_path)
        raise _Unavailable(f"the downloaded checkpoint was not used: {why}")
    print(f"Downloaded {name} from {base} (sha256 ok).")
    return history


def fetch(name: str, path: Path, canonical: dict, data: dict | None,
          load: Callable[[], tuple[dict | None, str]]) -> dict | None:
    """Put the release's checkpoint ``name`` at ``path`` and load it; its history, or None.

    Called by :func:`~aae_utils.checkpoints.load_or_train` when ``path`` holds no usable
    checkpoint. ``canonical`` is the config in canonical form, ``data`` the training data's
    record (or None), ``load`` loads ``path`` into the model and returns ``(history, why)``
    like ``_try_load``. Says nothing (and asks nothing of the network) in fast mode or with
    ``AAE_PRETRAINED_URL=off``; otherwise prints one line: ``Downloaded ...`` or, on any failure,
    ``No pretrained <name>: <why>; training instead.`` Only Ctrl-C (KeyboardInterrupt) goes
    through, leaving no partial file.
    """
    base = base_url()
    if base is None or is_fast():
        return None
    try:
        return _fetch(name, Path(path), base, canonical, data, load)
    except _Unavailable as err:
        print(f"No pretrained {name}: {err}; training instead.")
    except Exception as err:  # whatever else goes wrong, the course trains as it would without it
        print(f"No pretrained {name}: an unexpected {type(err).__name__} ({err}); training instead.")
    return None


def forget() -> None:
    """Forget the indexes fetched so far (the next miss asks the server again)."""
    _INDEXES.clear()


# --- packing a release ---------------------------------------------------------------------------


def default_source() -> Path:
    """The default-mode checkpoint folder (also when ``AAE_FAST=1`` is set: fast-mode models are
    never released)."""
    folder = checkpoint_dir()
    return folder.parent if is_fast() else folder


def _epochs(history) -> int | None:
    if not isinstance(history, dict):
        return None
    if isinstance(history.get("seconds"), list):
        return len(history["seconds"])
    lengths = [len(v) for v in history.values() if isinstance(v, list)]
    return max(lengths) if lengths else None


def _checkpoints(source: Path) -> tuple[list[dict], list[str]]:
    """The finished checkpoints in ``source`` as index entries (every file checked), and notes
    on what was skipped."""
    entries, notes = [], []
    for manifest_path in sorted(source.glob("*.json")):
        name = manifest_path.stem
        weights_path = source / f"{name}.pt"
        if not weights_path.is_file():
            notes.append(f"skipped {manifest_path.name}: no {name}.pt beside it")
            continue
        try:
            manifest = json.loads(manifest_path.read_bytes())
            config, sha = manifest["config"], manifest["sha256"]
            if not isinstance(config, dict) or not _is_sha256(sha):
                raise TypeError("config or sha256 of the wrong type")
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{display_path(manifest_path)} is not a checkpoint manifest "
                             f"({type(err).__name__}: {err}); delete {name}.pt and {name}.json, or "
                             "train the model again") from None
        if file_digest(weights_path, "sha256") != sha:
            raise ValueError(f"{display_path(weights_path)} does not match the sha256 in {name}.json "
                             f"(a damaged file); delete {name}.pt and {name}.json and train it again "
                             "(make course)")
        entries.append({
            "name": name,
            "config_sha256": config_sha256(config),
            "epochs": _epochs(manifest.get("history")),
            "torch": manifest.get("torch"),
            "aae_utils": manifest.get("aae_utils"),
            "weights": {"file": weights_path.name, "sha256": sha, "size": weights_path.stat().st_size},
            "manifest": {"file": manifest_path.name, "sha256": file_digest(manifest_path, "sha256"),
                         "size": manifest_path.stat().st_size},
        })
    return entries, notes


def _inside(inner: Path, outer: Path) -> bool:
    inner, outer = inner.resolve(), outer.resolve()
    return inner == outer or outer in inner.parents


def pack(source: str | Path, out: str | Path) -> dict:
    """Copy every finished checkpoint of ``source`` into ``out`` and write ``out/index.json``.

    A finished checkpoint is a ``<name>.pt`` with its ``<name>.json`` manifest (the state of an
    unfinished run, ``<name>.partial.pt``, is not one). Each weights file is checked against
    its manifest's sha256 before anything is written. Files of an earlier pack in ``out`` that
    this one does not hold are removed, so ``out/*`` is exactly what to upload.

    Returns:
        the index written: ``{"format": 1, "aae_utils": ..., "created": ..., "checkpoints":
        [{"name", "config_sha256", "epochs", "torch", "aae_utils", "weights": {"file",
        "sha256", "size"}, "manifest": {...}}, ...]}`` (sizes in bytes).

    Raises:
        ValueError: ``source`` is not a folder or holds no finished checkpoint, ``out`` is
            inside ``source`` (or is a file, or holds files no pack wrote), a manifest is
            unreadable or a weights file does not match it.
        WriteError: ``out`` could not take a file.
    """
    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise ValueError(f"--from {display_path(source)} is not a folder; pass the folder that holds "
                         "the trained checkpoints (default: the default-mode checkpoint folder, filled "
                         "by make course)")
    if source.resolve().name == "fast":
        raise ValueError(f"--from {display_path(source)} is a fast-mode checkpoint folder; the release "
                         "carries default-mode models only (fast mode never downloads): pass the "
                         "default-mode folder (make course fills it)")
    if _inside(out, source):
        raise ValueError(f"--out {display_path(out)} is inside --from {display_path(source)}: the pack "
                         "would mix with the checkpoints it is made of; choose a folder outside it "
                         "(default build/pretrained)")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {display_path(out)} is a file, not a folder; choose another --out")
    entries, notes = _checkpoints(source)
    if not entries:
        fast = " (fast-mode models, in fast/, are never released)" if any(
            (source / "fast").glob("*.pt")) else ""
        raise ValueError(f"--from {display_path(source)} holds no finished checkpoint (<name>.pt "
                         f"beside its <name>.json){fast}; train the models first (make course)")
    new = {e[part]["file"] for e in entries for part in ("weights", "manifest")}
    earlier: set[str] = set()
    if out.is_dir():
        try:
            earlier = {e[part]["file"] for e in parse_index((out / INDEX).read_bytes()).values()
                       for part in ("weights", "manifest")}
        except (OSError, ValueError):
            pass
        strangers = sorted(p.name for p in out.iterdir() if p.name not in earlier | new | {INDEX})
        if strangers:
            shown = ", ".join(strangers[:5]) + (", ..." if len(strangers) > 5 else "")
            raise ValueError(f"--out {display_path(out)} holds files no pack wrote ({shown}); "
                             "choose an empty folder or empty this one")
    for entry in entries:
        for part in ("weights", "manifest"):
            spec = entry[part]
            body = (source / spec["file"]).read_bytes()
            if hashlib.sha256(body).hexdigest() != spec["sha256"]:  # changed since it was checked
                raise ValueError(f"{display_path(source / spec['file'])} changed while it was packed; "
                                 "run the pack again when no notebook is training")
            atomic_write(out / spec["file"], body)
    index = {"format": FORMAT, "aae_utils": __version__,
             "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "checkpoints": entries}
    atomic_write(out / INDEX, json.dumps(index, indent=1) + "\n")
    _remove(*(out / f for f in earlier - new))
    for note in notes:
        print(f"Note: {note}.")
    return index


def _shell_path(path: Path) -> str:
    """``path`` as a shell command can take it: relative to the working folder where inside it."""
    try:
        text = os.path.relpath(path)
    except ValueError:
        text = str(path.resolve())
    if text.startswith(".."):
        text = str(path.resolve())
    return shlex.quote(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m aae_utils.pretrained",
        description="Pretrained models for the course's release (see the module's docstring).")
    commands = parser.add_subparsers(dest="command", required=True)
    packer = commands.add_parser(
        "pack", help="copy every finished checkpoint and write index.json, ready to upload")
    packer.add_argument("--from", dest="source", type=Path, default=None, metavar="DIR",
                        help="the checkpoint folder (default: the default-mode one, "
                             f"{display_path(default_source())})")
    packer.add_argument("--out", type=Path, default=Path("build/pretrained"), metavar="DIR",
                        help="where the release's files go (default: build/pretrained)")
    args = parser.parse_args(argv)
    source = args.source if args.source is not None else default_source()
    try:
        index = pack(source, args.out)
    except ValueError as err:
        packer.error(str(err))
    except WriteError as err:
        print(f"{err}.", file=sys.stderr)
        return 1
    total = sum(e[p]["size"] for e in index["checkpoints"] for p in ("weights", "manifest"))
    out = _shell_path(args.out)
    n = len(index["checkpoints"])
    print(f"Packed {n} checkpoint{'s' if n != 1 else ''} ({total / 1e6:.1f} MB) and {INDEX} into "
          f"{display_path(args.out)}.\nUpload them to the release (learners download from the one "
          f"GitHub marks latest: not a draft or a pre-release):\n"
          f"  gh release upload v{__version__} {out}/* --repo {REPOSITORY} --clobber")
    return 0


if __name__ == "__main__":
    sys.exit(main())
