"""Download packages: each change pair's products in one deterministic zip beside its folder
(``OUT/<village>/change/<from>_<to>.zip``), kept when its inputs are unchanged (its key, by the
one cache rule, is in the zip comment)."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Sequence

from ..products.atomic import atomic_path
from ..products.cache import files_key, fresh
from ..products.inventory import ProductSet

#: the timestamp of every zip entry (the earliest a zip can hold): no clock time in the bytes
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_KEY_PREFIX = b"villagewatch-inputs:"


# --------------------------------------------------------------------------- zips
def package_key(files: Sequence[Path]) -> str:
    """The package's inputs key by the one rule (``flows.products.cache.files_key``)."""
    return files_key(sorted(files, key=lambda p: p.name), kind="package")


def recorded_key(path: Path) -> str | None:
    """The inputs key a package was written from (its zip comment), ``None`` if unreadable."""
    try:
        with zipfile.ZipFile(path) as zf:
            comment = zf.comment
    except (OSError, zipfile.BadZipFile):
        return None
    return comment[len(ZIP_KEY_PREFIX):].decode() if comment.startswith(ZIP_KEY_PREFIX) else None


def write_zip(path: Path, files: Sequence[Path], arcdir: str, comment: bytes) -> Path:
    """A deterministic zip of ``files`` under ``arcdir/``: sorted, fixed timestamps and
    permissions, deflated, written atomically."""
    with atomic_path(path, suffix=".zip") as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.comment = comment
            for p in sorted(files, key=lambda p: p.name):
                info = zipfile.ZipInfo(f"{arcdir}/{p.name}", date_time=ZIP_DATE_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix, whatever the machine
                info.external_attr = 0o644 << 16
                with open(p, "rb") as src, zf.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    return path


def change_package(ps: ProductSet) -> Path:
    """The change pair's whole package as a zip beside its folder (kept if its inputs are unchanged)."""
    files = ps.package_files()
    key = package_key(files)
    path = ps.package_path()
    if fresh(recorded_key(path), key):
        return path
    return write_zip(path, files, ps.item_id, ZIP_KEY_PREFIX + key.encode())


