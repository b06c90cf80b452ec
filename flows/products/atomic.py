"""Atomic file writes: write to a temporary name in the same folder, fsync, then rename.

A crash (even SIGKILL) mid-write leaves at most a ``.*.tmp`` file, never a partial file
under a final name. ``os.replace`` is atomic on POSIX within one filesystem.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from ..errors import OutputBusyError
from .layout import LOCK

TMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success rename it onto ``final``.

    On any exception the temporary file is removed and ``final`` is left untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{final.name}.", suffix=(suffix or "") + TMP_SUFFIX, dir=final.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        _fsync(tmp_path)
        os.replace(tmp_path, final)
        _fsync_dir(final.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_bytes(final: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)
    return Path(final)


def write_text(final: str | os.PathLike, text: str) -> Path:
    return write_bytes(final, text.encode("utf-8"))


def dumps_json(obj: Any) -> str:
    """Canonical JSON (sorted keys, UTF-8, no NaN): same object, same bytes."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=1, allow_nan=False) + "\n"


def write_json(final: str | os.PathLike, obj: Any) -> Path:
    return write_text(final, dumps_json(obj))


def sha256_file(path: str | os.PathLike, *, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def clean_stale_temporaries(root: str | os.PathLike) -> int:
    """Remove ``.*.tmp`` files left by a killed run under ``root``; returns how many."""
    n = 0
    for p in Path(root).rglob(f".*{TMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
            n += 1
    return n


LOCK_FILE = LOCK


@contextlib.contextmanager
def output_lock(root: str | os.PathLike) -> Iterator[Path]:
    """Hold an exclusive lock on the output folder ``root`` for a whole run (``flock`` on
    ``root/.villagewatch.lock``, released by the kernel even when the process is killed, so a
    SIGKILLed run never leaves a stale lock); ``OutputBusyError`` at once if it is held."""
    import fcntl

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise OutputBusyError(f"another villagewatch run (pid {holder}) is writing to {root}; "
                                  "wait for it to finish or use another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock
