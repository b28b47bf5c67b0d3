"""Every file the course writes: whole or not at all, and a failure that says where and why.

Checkpoints, the state of an unfinished run, manifests, run records (JSON) and decompressed
data all go through :func:`atomic_write`: the bytes are written to a temporary file in the
target's folder and renamed over the target, so a full disk, a read-only folder or a crash
mid-write leaves the old file (or none), never half of one that a later run would read.

A write that fails raises :class:`WriteError`, an ``OSError`` whose message names the file and
says why in words (no space left, and how much was needed; a read-only file system; no
permission; a file where a folder should be). The callers decide what happens next: where the
work can go on (training, a benchmark that already measured its numbers), they say once what
could not be written and carry on; the trained model or the measured numbers are never lost to
a write (see :func:`~aae_utils.checkpoints.load_or_train`, :func:`~aae_utils.engine.fit`,
:func:`save_record`).
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .config import display_path


class WriteError(OSError):
    """A file could not be written. ``errno`` is the operating system's; ``str()`` is one
    sentence naming the file and the reason (:func:`describe`); ``reason`` is that reason."""

    def __init__(self, path: Path, err: BaseException, needed: int | None = None):
        code = getattr(err, "errno", None) or errno.EIO
        self.reason = describe(err, path, needed)
        super().__init__(code, self.reason, str(path))
        self.path = Path(path)

    def __str__(self) -> str:
        return f"could not write {display_path(self.path)}: {self.reason}"


def _megabytes(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{max(n / 1e3, 1):.0f} kB"


def _existing_ancestor(path: Path) -> Path:
    for p in (path, *path.parents):
        try:
            if p.exists():
                return p
        except OSError:
            continue
    return Path(path.anchor or ".")


def describe(err: BaseException, path: str | Path, needed: int | None = None) -> str:
    """Why writing ``path`` failed, in words a learner can act on.

    Args:
        err: the exception the write raised (an ``OSError``, or torch's ``RuntimeError`` on a
            full disk: "unexpected pos").
        path: the file that was being written.
        needed: its size in bytes, where known (said on a full disk, with the space free).
    """
    path = Path(path)
    code = getattr(err, "errno", None)
    text = str(err)
    if code in (errno.ENOSPC, errno.EDQUOT) or "unexpected pos" in text or "file write failed" in text:
        where = _existing_ancestor(path.parent)
        try:
            free = f"; {_megabytes(shutil.disk_usage(where).free)} free there"
        except OSError:
            free = ""
        need = f"it needs {_megabytes(needed)}" if needed else "the file did not fit"
        what = "disk quota exceeded" if code == errno.EDQUOT else "no space left on the disk"
        return f"{what} ({need}{free}); free some space or choose another folder"
    if code == errno.EROFS:
        return (f"{display_path(_existing_ancestor(path.parent))} is on a read-only file system; "
                "choose a writable folder")
    if code in (errno.EACCES, errno.EPERM):
        return (f"no permission to write in {display_path(_existing_ancestor(path.parent))}; "
                "choose a folder you own")
    if code in (errno.ENOTDIR, errno.EEXIST):
        for p in path.parents:
            if p.exists() and not p.is_dir():
                return f"{display_path(p)} is a file, not a folder; move it away or choose another folder"
    if code == errno.EISDIR or (path.is_dir() and code is not None):
        return f"{display_path(path)} is a folder, not a file; move it away or choose another name"
    strerror = getattr(err, "strerror", None) or text or type(err).__name__
    return f"{strerror} ({type(err).__name__})"


def is_write_failure(err: BaseException) -> bool:
    """True for what a failed write raises: an ``OSError``, or the ``RuntimeError`` torch's
    file writer raises when the disk fills ("unexpected pos", "file write failed")."""
    if isinstance(err, OSError):
        return True
    text = str(err)
    return isinstance(err, RuntimeError) and any(
        s in text for s in ("unexpected pos", "file write failed", "PytorchStreamWriter"))


def torch_bytes(obj) -> bytes:
    """``obj`` as ``torch.save`` writes it, in memory: the size is known before the disk is
    touched, and a full disk gives the operating system's error, not torch's "unexpected pos"."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _stage(path: Path, payload: bytes) -> str:
    """``payload`` in a temporary file beside ``path`` (flushed to the disk); its name. On
    failure nothing is left behind."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes files private; these are ordinary files
            view, done = memoryview(payload), 0
            while done < len(view):
                done += os.write(fd, view[done:])
            os.fsync(fd)
        finally:
            os.close(fd)
        return tmp
    except OSError as err:
        _discard(tmp)
        raise WriteError(path, err, needed=len(payload)) from err


def _discard(name) -> None:
    if name is None:
        return
    try:
        os.unlink(name)
    except OSError:
        pass


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` whole, or leave ``path`` as it was.

    The folder is created if needed; the bytes go to a temporary file beside ``path`` (flushed
    to the disk) that is then renamed over it. On any failure the temporary file is removed.

    Raises:
        WriteError: the folder could not be made or the file not written (full disk, read-only
            file system, no permission, a file where a folder should be); the message says which.
    """
    atomic_write_all({path: data})


def atomic_write_all(files: dict) -> None:
    """Write several files that belong together (a checkpoint's weights and manifest): every
    one is written to a temporary file first, and only when all of them are whole are they
    renamed into place. If any cannot be written, the old files are left as they were.

    Args:
        files: ``{path: data}`` with ``data`` bytes or text (written as UTF-8).

    Raises:
        WriteError: naming the first file that could not be written, and why.
    """
    staged: list[tuple[Path, str]] = []
    try:
        for path, data in files.items():
            payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
            staged.append((Path(path), _stage(Path(path), payload)))
    except WriteError:
        for _, tmp in staged:
            _discard(tmp)
        raise
    done: list[Path] = []
    for i, (path, tmp) in enumerate(staged):
        try:
            os.replace(tmp, path)
        except OSError as err:  # rare (the folder was writable a moment ago): leave no mixed set
            for _, rest in staged[i:]:
                _discard(rest)
            for new in done:
                _discard(new)
            raise WriteError(path, err) from err
        done.append(path)


def save_record(path: str | Path, record: dict, *, quiet: bool = False) -> bool:
    """Write a run's record (JSON) to ``path``; True if it was written.

    If it cannot be written, nothing is lost: the reason and the whole record are printed to
    standard output, to be saved by hand under that name, and False is returned (the script
    then ends with a non-zero status). ``quiet`` leaves out the record itself (a run that will
    try again after its next epoch prints it at the end).
    """
    text = json.dumps(record, indent=1) + "\n"
    try:
        atomic_write(path, text)
    except WriteError as err:
        print(f"{err}.", file=sys.stderr, flush=True)
        if not quiet:
            print(f"The record is printed here instead; save it as {Path(path).name}:\n{text}",
                  flush=True)
        return False
    return True


__all__ = ["WriteError", "atomic_write", "atomic_write_all", "describe", "is_write_failure", "save_record",
           "torch_bytes"]
