"""Folders on which every write fails, the way the operating system makes it fail.

``failing_folder(kind, folder, monkeypatch)`` makes writes under ``folder`` fail as they do on:

- ``"no-space"``: a full disk. Files can be created, but a write stops with ENOSPC after the
  first few bytes, so a half-written file exists until someone removes it;
- ``"read-only"``: a read-only file system (EROFS) for creating, writing, renaming, removing
  and making folders;
- ``"no-permission"``: a folder the user may not write (EACCES), likewise. The tests run as
  root in CI, and root ignores file modes, so the error is raised here as the system would
  raise it for another user;
- ``"file-in-the-way"``: a plain file where the folder should be. Nothing is patched: the file
  is really there, and the system's own errors (EEXIST, ENOTDIR) are what the code sees.

The patches sit at the boundary every Python write crosses (``os.open``, ``os.write``,
``os.mkdir``, ``os.replace``, ``os.rename``, ``os.unlink``, ``open`` in a writing mode), so a
writer that bypasses :func:`aae_utils.writes.atomic_write` is caught as well.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path

KINDS = ("no-space", "read-only", "no-permission", "file-in-the-way")

_ERRNO = {"no-space": errno.ENOSPC, "read-only": errno.EROFS, "no-permission": errno.EACCES}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
#: On a "full" disk, a file takes this many bytes before the write fails.
ROOM = 64


def _under(path, folder: Path) -> bool:
    try:
        p = Path(os.fsdecode(path)).absolute()
    except TypeError:  # a file descriptor or a file object
        return False
    return p == folder or folder in p.parents


def _fail(kind: str, path) -> OSError:
    code = _ERRNO[kind]
    return OSError(code, os.strerror(code), os.fsdecode(path))


def failing_folder(kind: str, folder: Path, monkeypatch) -> Path:
    """Make every write under ``folder`` fail as ``kind`` does; returns ``folder``."""
    folder = Path(folder).absolute()
    if kind == "file-in-the-way":
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.write_text("a file, where the folder should be\n")
        return folder
    if kind not in _ERRNO:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    real = {name: getattr(os, name) for name in ("open", "write", "mkdir", "replace", "rename",
                                                 "unlink", "remove", "close")}
    real_open = builtins.open
    full_fds: dict[int, int] = {}  # fd -> bytes written so far (no-space)

    def fake_open(path, flags, mode=0o777, *, dir_fd=None):
        if flags & _WRITE_FLAGS and _under(path, folder):
            if kind != "no-space":
                raise _fail(kind, path)
            fd = real["open"](path, flags, mode, dir_fd=dir_fd)
            full_fds[fd] = 0
            return fd
        return real["open"](path, flags, mode, dir_fd=dir_fd)

    def fake_write(fd, data):
        if fd in full_fds:
            room = ROOM - full_fds[fd]
            if room <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            n = real["write"](fd, bytes(memoryview(data)[:room]))
            full_fds[fd] += n
            return n
        return real["write"](fd, data)

    def fake_close(fd):
        full_fds.pop(fd, None)
        return real["close"](fd)

    def guard(name, *paths_at):
        def fake(*args, **kwargs):
            if kind != "no-space" and any(_under(args[i], folder) for i in paths_at if i < len(args)):
                raise _fail(kind, args[paths_at[-1]] if paths_at[-1] < len(args) else args[0])
            return real[name](*args, **kwargs)
        return fake

    def fake_mkdir(path, mode=0o777, *, dir_fd=None):
        if _under(path, folder) and kind != "no-space":
            if os.path.isdir(path):  # what the system says first for an existing folder
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fsdecode(path))
            raise _fail(kind, path)
        if _under(path, folder):  # a full disk has no room for a new folder either
            raise _fail(kind, path)
        return real["mkdir"](path, mode, dir_fd=dir_fd)

    class FullFile(io.FileIO):
        """A file on a full disk: the first ROOM bytes go in, then ENOSPC."""

        def write(self, data):
            room = ROOM - self.tell()
            if room <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.name)
            return super().write(bytes(memoryview(data)[:room]))

    def fake_builtin_open(file, mode="r", *args, **kwargs):
        writing = any(c in mode for c in "wax+")
        if writing and _under(file, folder):
            if kind != "no-space":
                raise _fail(kind, file)
            raw = FullFile(file, mode.replace("t", "").replace("b", "") or "w")
            if "b" in mode:
                return io.BufferedWriter(raw)
            return io.TextIOWrapper(io.BufferedWriter(raw), encoding=kwargs.get("encoding") or "utf-8")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "write", fake_write)
    monkeypatch.setattr(os, "close", fake_close)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)
    monkeypatch.setattr(os, "replace", guard("replace", 0, 1))
    monkeypatch.setattr(os, "rename", guard("rename", 0, 1))
    monkeypatch.setattr(os, "unlink", guard("unlink", 0))
    monkeypatch.setattr(os, "remove", guard("remove", 0))
    monkeypatch.setattr(builtins, "open", fake_builtin_open)
    monkeypatch.setattr(io, "open", fake_builtin_open)
    return folder


def files_under(folder: Path) -> list[str]:
    """Every file under ``folder`` (hidden ones included), relative to it; [] if not a folder."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
