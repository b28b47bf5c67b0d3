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
import secrets
import shutil
import stat
import sys
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
    return f"{n / 1e3:.0f} kB" if n >= 500 or n == 0 else f"{n} bytes"


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
    """``payload`` in a temporary file beside ``path`` (flushed to the disk); its name. On any
    failure, Ctrl-C included, nothing is left behind.

    The file gets the mode ``path`` has, or an ordinary file's (0o666 less the umask, applied by
    the system: no process-wide umask juggling)."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            mode = None
        fd = None
        while fd is None:  # a short name: a target name near the 255-byte limit still fits
            tmp = str(path.parent / f".{path.name[:40]}.{secrets.token_hex(4)}.tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            except OSError:
                tmp = None
                raise
        try:
            if mode is not None:
                os.fchmod(fd, mode)
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
    except BaseException:  # Ctrl-C mid-write: no full-size leftover on a disk already short of room
        _discard(tmp)
        raise


def _discard(name) -> None:
    if name is None:
        return
    try:
        os.unlink(name)
    except OSError:
        pass


def _real(path) -> Path:
    """Where a write to ``path`` lands: the file a symbolic link points to, else ``path``."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` whole, or leave ``path`` as it was.

    The folder is created if needed; the bytes go to a temporary file beside ``path`` (flushed
    to the disk) that is then renamed over it. On any failure the temporary file is removed.
    A symbolic link is followed (its target is replaced), and an existing file keeps its mode.

    Raises:
        WriteError: the folder could not be made or the file not written (full disk, read-only
            file system, no permission, a file where a folder should be); the message says which.
    """
    atomic_write_all({path: data})


def atomic_write_all(files: dict) -> None:
    """Write several files that belong together (a checkpoint's weights and manifest): every
    one is written to a temporary file first, and only when all of them are whole are they
    renamed into place. If any cannot be written, the old files are left as they were. (If a
    rename fails after an earlier one succeeded, which needs the folder to change in between,
    the files already renamed are removed too, so that no mixed set is left.)

    Args:
        files: ``{path: data}`` with ``data`` bytes or text (written as UTF-8).

    Raises:
        WriteError: naming the first file that could not be written, and why; on a full disk,
            with the space all of them need.
    """
    payloads = {_real(path): data.encode("utf-8") if isinstance(data, str) else bytes(data)
                for path, data in files.items()}
    staged: list[tuple[Path, str]] = []
    try:
        for path, payload in payloads.items():
            staged.append((path, _stage(path, payload)))
    except BaseException as err:
        for _, tmp in staged:
            _discard(tmp)
        if isinstance(err, WriteError) and len(payloads) > 1 and err.errno in (errno.ENOSPC, errno.EDQUOT):
            # measured again now that every temporary file is gone: what the set needs, and has
            raise WriteError(err.path, err.__cause__ or err,
                             needed=sum(len(p) for p in payloads.values())) from err.__cause__
        raise
    done: list[Path] = []
    for i, (path, tmp) in enumerate(staged):
        try:
            os.replace(tmp, path)
        except OSError as err:
            for _, rest in staged[i:]:
                _discard(rest)
            for new in done:
                _discard(new)
            raise WriteError(path, err) from err
        done.append(path)


def save_record(path: str | Path, record: dict, *, final: bool = True, show: bool = True) -> bool:
    """Write a run's record (JSON) to ``path``; True if it was written.

    If it cannot be written, nothing is lost: the reason and the whole record are printed to
    standard output, to be saved by hand under that name, and False is returned (the script
    then ends with a non-zero status). ``final=False`` is for a record rewritten as a run goes
    on (after each section or epoch): a failure then says nothing, since the final write says
    it once. ``show=False`` leaves out the record itself (a script that prints it anyway).
    """
    text = json.dumps(record, indent=1) + "\n"
    try:
        atomic_write(path, text)
    except WriteError as err:
        if final:
            print(f"{err}.", file=sys.stderr, flush=True)
            if show:
                print(f"The record is printed here instead; save it as {Path(path).name}:\n{text}",
                      flush=True)
        return False
    return True


__all__ = ["WriteError", "atomic_write", "atomic_write_all", "describe", "is_write_failure", "save_record",
           "torch_bytes"]
