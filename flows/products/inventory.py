"""What a village's output folder holds: its product sets (a date, a stream of a date, a
change pair), read from their manifests. The catalog, the quicklooks, the packages and the
pages all publish from this one inventory.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from .cache import with_companions
from .layout import (CHANGE_FOLDER, DATE_RE, MAIN_STREAM, MANIFEST, QUICKLOOK, QUICKLOOK_TRUE_COLOUR,
                     change_zip, date_dir, fieldcheck_dir, parse_pair, village_dir, village_table, watches_dir)

log = logging.getLogger("villagewatch.flows")


@dataclass(frozen=True)
class ProductSet:
    """One folder of products with a ``manifest.json``: a date, a stream of a date, or a change pair."""

    village_id: str
    kind: str  # "date" or "change"
    dates: tuple[str, ...]  # (date,) or (from, to)
    stream: str  # "main", or the extra stream's folder name ("drone")
    folder: Path
    manifest: dict = field(hash=False, compare=False)

    @property
    def key(self) -> str:
        """``2024-01-15`` or ``2024-01-15_2024-04-20`` (the folder name of the set)."""
        return "_".join(self.dates)

    @property
    def item_id(self) -> str:
        return "_".join([self.village_id, self.key] + ([self.stream] if self.stream != MAIN_STREAM else []))

    @property
    def demo(self) -> bool:
        return bool(self.manifest.get("inputs", {}).get("demo", False))

    def outputs(self) -> list[Path]:
        """The product files the manifest lists (which exist), sorted by name."""
        names = sorted(self.manifest.get("outputs", {}))
        return [self.folder / n for n in names if (self.folder / n).is_file()]

    def package_files(self) -> list[Path]:
        """What a download of the whole set holds: outputs, manifest, quicklooks (if drawn)."""
        extra = [self.folder / n for n in (MANIFEST, QUICKLOOK, QUICKLOOK_TRUE_COLOUR) if (self.folder / n).is_file()]
        return self.outputs() + extra

    @property
    def out_root(self) -> Path:
        """``OUT``: the folder is ``OUT/<village>/<date>[/<stream>]`` or ``OUT/<village>/change/<pair>[/<stream>]``."""
        depth = (1 if self.kind == "date" else 2) + (self.stream != MAIN_STREAM)
        return self.folder.parents[depth]

    def package_path(self) -> Path:
        """Where a change set's download package goes (``flows.products.layout.change_zip``)."""
        return change_zip(self.out_root, self.village_id, *self.dates, self.stream)

    def later_date_folder(self) -> Path | None:
        """The folder of a change pair's later date (same stream), if it exists."""
        folder = date_dir(self.out_root, self.village_id, self.dates[-1], self.stream)
        return folder if folder.is_dir() else None

    def rel(self, root: Path) -> str:
        """The folder relative to ``root``, POSIX style."""
        return self.folder.relative_to(root).as_posix()


@dataclass
class VillageProducts:
    """What a village's folder holds, and what could not be read (``problems``)."""

    village_id: str
    folder: Path
    sets: list[ProductSet] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def of(self, kind: str, stream: str = MAIN_STREAM) -> list[ProductSet]:
        return [s for s in self.sets if s.kind == kind and s.stream == stream]

    @property
    def dates(self) -> list[ProductSet]:
        return self.of("date")

    @property
    def changes(self) -> list[ProductSet]:
        return self.of("change")

    @property
    def streams(self) -> list[str]:
        return sorted({s.stream for s in self.sets if s.stream != MAIN_STREAM})

    @property
    def table(self) -> Path | None:
        p = village_table(self.folder.parent, self.village_id)
        return p if p.is_file() else None

    @property
    def demo(self) -> bool:
        return any(s.demo for s in self.sets)

    @property
    def fieldcheck(self) -> list[Path]:
        """The village's field-check files (``fieldcheck/``: the register, the lists and their
        manifest), sorted; empty before any field check."""
        d = fieldcheck_dir(self.folder.parent, self.village_id)
        return sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith(".")) if d.is_dir() else []

    @property
    def watches(self) -> list[Path]:
        """The village-wide watch products (``watches/``: ancient trees), sorted."""
        d = watches_dir(self.folder.parent, self.village_id)
        return sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith(".")) if d.is_dir() else []


def _read_manifest(folder: Path, problems: list[str], root: Path) -> dict | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
        return with_companions(folder, manifest)
    except (OSError, ValueError) as exc:
        problems.append(f"{path.relative_to(root).as_posix()}: unreadable manifest ({exc})")
        log.warning("publish: %s: unreadable manifest: %s", path, exc)
        return None


def _sets_in(folder: Path, village_id: str, kind: str, dates: tuple[str, ...], problems: list[str],
             root: Path) -> list[ProductSet]:
    """The product set of ``folder`` (stream "main") and of each stream sub-folder."""
    found = []
    m = _read_manifest(folder, problems, root)
    if m is not None:
        found.append(ProductSet(village_id, kind, dates, MAIN_STREAM, folder, m))
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        m = _read_manifest(sub, problems, root)
        if m is not None:
            found.append(ProductSet(village_id, kind, dates, sub.name, sub, m))
    return found


def scan_village(out: str | Path, village_id: str) -> VillageProducts:
    """Every product set under ``OUT/<village_id>``, dates then changes, oldest first."""
    root = Path(out)
    vdir = village_dir(root, village_id)
    vp = VillageProducts(village_id, vdir)
    if not vdir.is_dir():
        return vp
    for d in sorted(p for p in vdir.iterdir() if p.is_dir() and DATE_RE.match(p.name)):
        vp.sets += _sets_in(d, village_id, "date", (d.name,), vp.problems, root)
    cdir = vdir / CHANGE_FOLDER
    if cdir.is_dir():
        for d in sorted(p for p in cdir.iterdir() if p.is_dir() and parse_pair(p.name)):
            vp.sets += _sets_in(d, village_id, "change", parse_pair(d.name), vp.problems, root)
    return vp
