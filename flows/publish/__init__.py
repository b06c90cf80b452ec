"""Publishing: a run's products made readable for people and catalogues, after every run
(``flows.runner.finish_run`` calls :func:`publish`).

``quicklook`` (PNG pictures), ``packages`` (change-package zips), ``catalog`` (STAC),
``webmap`` (the pages' offline map: static files, image overlays, layer descriptions),
``page`` and ``fieldpage`` (the offline download page, with the field checks of
``flows.fieldcheck``), ``serve`` (a read-only HTTP server of the folder).

Deterministic: the same products give the same bytes (no clock time anywhere; zip entries
sorted with a fixed timestamp; PNGs without a software tag), and a quicklook or zip whose
inputs are unchanged is kept as it is. A village whose products are broken is logged and
noted on the page; the other villages are published all the same.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from aoi import Village

from .. import state
from ..fieldcheck import county_precision, village_summary
from ..products.inventory import VillageProducts, scan_village
from ..products.layout import PAGE, village_dir, village_folders
from .catalog import make_collection, write_catalog
from .packages import change_package
from .page import VillageEntry, write_pages
from .quicklook import quicklook, true_colour_quicklook
from .webmap import copy_static, map_images

log = logging.getLogger("villagewatch.flows")

# --------------------------------------------------------------------------- villages
def _all_villages(out: Path, villages: Sequence[Village]) -> list[Village]:
    """This run's villages and, from the default registry, any other village with products under ``out``."""
    known = {v.id: v for v in villages}
    others = [n for n in village_folders(out) if n not in known]
    others += [n for n in state.statuses(out) if n not in known and n not in others]
    if others:
        try:
            from aoi.registry import load_villages

            registry = {v.id: v for v in load_villages()}
        except Exception as exc:  # the registry is optional here
            log.warning("publish: registry unreadable (%s); publishing only this run's villages", exc)
            registry = {}
        for n in others:
            if n in registry:
                known[n] = registry[n]
            else:
                log.warning("publish: %s/%s is not a village of this run or of the registry; left out", out, n)
    return sorted(known.values(), key=lambda v: v.id)


def _status(vid: str, states: dict, runs: dict) -> tuple[str, str]:
    if vid in states:
        return states[vid].get("last_status", ""), states[vid].get("last_reason", "")
    if vid in runs:
        return runs[vid].status, runs[vid].reason
    return "", ""


def publish_village(village: Village, out: Path) -> VillageProducts:
    """Quicklooks, map images and change zips of one village; a set that fails is noted in ``problems``."""
    vp = scan_village(out, village.id)
    for ps in vp.sets:
        try:
            quicklook(ps, village)
            true_colour_quicklook(ps, village)
            map_images(ps, village)
            if ps.kind == "change":
                change_package(ps)
        except Exception as exc:  # one broken product set must not stop the rest
            log.error("publish: %s: %s", ps.item_id, exc, exc_info=True)
            vp.problems.append(f"{ps.rel(out)}: {type(exc).__name__}: {exc}")
    return vp


def publish(out: str | Path, villages: Sequence[Village], runs: Sequence = (), *,
            basemap: dict | None = None) -> list[Path]:
    """Quicklooks, map images, change zips, ``OUT/catalog.json`` and the download page for every
    village with products under ``out`` (the map library copied into ``OUT/_static``; an online
    ``basemap`` only when given: ``flows.publish.webmap.basemap_option``); returns the catalog
    and page paths written or confirmed. The field-check products are made before, by the night
    or ``flows.runner.republish``; publishing reads them."""
    out = Path(out).resolve()
    copy_static(out)
    states = dict(state.statuses(out))
    by_id = {r.village_id: r for r in runs}
    entries, collections, folders = [], [], {}
    for v in _all_villages(out, villages):
        entry = VillageEntry(v, None, *_status(v.id, states, by_id))
        entries.append(entry)
        if not village_dir(out, v.id).is_dir():
            continue
        try:
            vp = publish_village(v, out)
            entry.products = vp
            entry.fieldcheck = village_summary(out, v)
            collections.append(make_collection(v, vp))
            folders.update({s.item_id: s.folder for s in vp.sets})
        except Exception as exc:  # a village whose products are broken is noted, not fatal
            log.error("publish: %s: %s", v.id, exc, exc_info=True)
            entry.problems.append(f"{type(exc).__name__}: {exc}")
        if entry.products is not None:
            entry.problems = entry.products.problems + entry.problems
    demo = any(e.demo for e in entries)
    paths = write_catalog(out, collections, folders, demo=demo)
    summaries = {e.village.id: e.fieldcheck for e in entries if e.fieldcheck is not None}
    paths += write_pages(out, entries, basemap=basemap,
                         counties=county_precision(summaries, [e.village for e in entries]))
    log.info("published %d villages: %s", len(collections), out / PAGE)
    return paths
