"""The one up-to-date rule, for every product: a product is reused when the key of its inputs
is the key recorded with it and every file it lists still has its recorded checksum.

- **Keys.** :func:`digest` is the only hash of inputs: canonical JSON (sorted keys) of what
  shaped a product, sha256. :func:`product_key` is a product set's (village and boundary,
  scene item ids, source options, parameters, algorithm version, kind); :func:`files_key` is
  that of something made from files (a quicklook, a download package): their checksums and
  whatever else shaped it.
- **Records.** A product set records its key and its outputs' checksums in ``manifest.json``
  (:func:`write_manifest`); products a later step adds to a set keep a companion manifest
  ``<product>.manifest.json`` beside it (the watches; products made from files, such as the
  field-check sheets, through :func:`write_files_manifest`). A quicklook keeps its key in a PNG
  text chunk and a download package in its zip comment, since each is a single file.
- **Check.** :func:`up_to_date` for manifests; :func:`fresh` for a key recorded in a file.
- **In memory.** :class:`Kept` keeps the last few things read in a run (baselines, date layers,
  the quicklooks' vectors), keyed by what they were read from.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..params import ALGORITHM_VERSION
from .atomic import sha256_file, write_json
from .layout import COMPANION_SUFFIX, MANIFEST
from .versions import versions

log = logging.getLogger("villagewatch.flows")


# --------------------------------------------------------------------------- keys
def digest(payload: Mapping[str, Any]) -> str:
    """sha256 of ``payload`` as canonical JSON (sorted keys; other objects by ``str``)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def product_key(village, item_ids: Iterable[str], source, params, kind: str) -> str:
    """Key of a product set: the village and its boundary, the scene item ids (or the input
    products' ids), the source's options, the run parameters and algorithm version, the kind."""
    return digest({
        "village": village.id,
        "boundary": hashlib.sha256(village.geometry.wkb).hexdigest(),
        "items": sorted(str(i) for i in item_ids),
        "source": source.describe(),
        "params": params.as_dict(),
        "algorithm_version": ALGORITHM_VERSION,
        "kind": kind,
    })


@functools.lru_cache(maxsize=4096)
def _sha256_of(path: str, size: int, mtime_ns: int, inode: int) -> str:
    return sha256_file(path)


def file_sha256(path: str | Path) -> str:
    """sha256 of ``path``, remembered while its inode, size and modification time stay the same
    (publishing reads each file for the catalog, the packages and the quicklook keys; an
    atomic rewrite gives a new inode)."""
    st = Path(path).stat()
    return _sha256_of(str(Path(path).resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


def files_key(files: Sequence[Path], **context: Any) -> str:
    """Key of something made from ``files`` (by name; a missing file counts as ``None``) and
    ``context`` (drawing version, village, boundary ...)."""
    return digest({"files": [[p.name, file_sha256(p) if p.is_file() else None] for p in files],
                   "context": context})


def fresh(recorded: str | None, key: str) -> bool:
    """A single-file product (quicklook, package) is up to date when it records ``key``."""
    return recorded is not None and recorded == key


# --------------------------------------------------------------------------- manifests
def read_manifest(folder: Path, name: str = MANIFEST) -> dict | None:
    """The manifest ``name`` of ``folder``; ``None`` if missing or not a JSON object (a
    damaged manifest only means the products are made again)."""
    try:
        manifest = json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def up_to_date(folder: Path, key: str, *, name: str = MANIFEST) -> list[Path] | None:
    """The product paths of ``folder`` (and its manifest) if the manifest ``name`` records
    ``key`` and every listed file's checksum matches; else ``None``."""
    manifest = read_manifest(folder, name)
    if manifest is None or manifest.get("inputs_key") != key:
        return None
    paths = []
    for rel, meta in manifest.get("outputs", {}).items():
        p = folder / rel
        if not p.is_file() or sha256_file(p) != meta.get("sha256"):
            return None
        paths.append(p)
    return paths + [folder / name]


def reuse(result, folder: Path, key: str, figures: str, *, name: str = MANIFEST, part: str | None = None) -> bool:
    """Whether the product set of ``folder`` (its manifest ``name``) is up to date for ``key``;
    if so ``result`` (a ``flows.results`` step result) gets its paths, ``reused`` and the
    figures of the JSON file ``figures`` (its ``part`` when given)."""
    paths = up_to_date(folder, key, name=name)
    if paths is None:
        return False
    data = json.loads((folder / figures).read_text(encoding="utf-8"))
    result.paths, result.reused, result.indicators = paths, True, data.get(part, {}) if part else data
    return True


def write_manifest(folder: Path, *, village, key: str, outputs: list[Path], source, params,
                   inputs: dict[str, Any], extra: dict[str, Any] | None = None, name: str = MANIFEST,
                   parameters: dict[str, Any] | None = None) -> Path:
    """``manifest.json`` (or ``name``: a companion manifest): inputs (item ids), parameters
    (``params``, or ``parameters`` when given), versions, checksums; no timestamps, so a re-run
    with the same inputs writes the same bytes."""
    manifest = {
        "village": {"id": village.id, "name_zh": village.name_zh, "name_en": village.name_en,
                    "boundary_source": village.boundary_source},
        "inputs_key": key,
        "inputs": inputs,
        "source": source.describe(),
        "parameters": params.as_dict() if parameters is None else parameters,
        "versions": versions(),
        "outputs": {str(p.relative_to(folder)): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
                    for p in sorted(outputs)},
        **(extra or {}),
    }
    return write_json(folder / name, manifest)


def write_files_manifest(folder: Path, name: str, *, key: str, outputs: list[Path], inputs: dict[str, Any],
                         parameters: dict[str, Any] | None = None) -> Path:
    """The companion manifest ``name`` of products made from files (the field-check sheets and
    lists: ``flows.fieldcheck``): their key (:func:`files_key`), inputs, parameters, versions
    and checksums; no timestamps. :func:`up_to_date` checks it like any manifest."""
    manifest = {
        "inputs_key": key,
        "inputs": inputs,
        "parameters": parameters or {},
        "versions": versions(),
        "outputs": {str(p.relative_to(folder)): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
                    for p in sorted(outputs)},
    }
    return write_json(folder / name, manifest)


def with_companions(folder: Path, manifest: dict) -> dict:
    """``manifest`` with the outputs of the folder's companion manifests merged in (and each
    companion listed as an output itself), as a product set is published."""
    companions = sorted(folder.glob(f"*{COMPANION_SUFFIX}"))
    if not companions:
        return manifest
    outputs = dict(manifest.get("outputs", {}))
    for c in companions:
        extra = read_manifest(folder, c.name)
        if extra is None:
            log.warning("publish: %s: unreadable companion manifest", c)
            continue
        outputs.update(extra.get("outputs", {}))
        outputs[c.name] = {"sha256": sha256_file(c), "bytes": c.stat().st_size}
    return {**manifest, "outputs": outputs}


class Kept:
    """In memory, the values last read, by key, first in first out, while their summed ``size``
    stays within ``bound`` (a value larger than the bound is returned, not kept); thread-safe."""

    def __init__(self, bound: int, size: Callable[[Any], int] = lambda value: 1) -> None:
        self._bound, self._size = bound, size
        self._items: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, read: Callable[[], Any]) -> Any:
        """The value kept under ``key``, else ``read()``, kept."""
        with self._lock:
            if key in self._items:
                return self._items[key]
        value = read()
        n = self._size(value)
        with self._lock:
            while self._items and sum(map(self._size, self._items.values())) + n > self._bound:
                self._items.pop(next(iter(self._items)))
            if n <= self._bound:
                self._items[key] = value
        return value
