"""STAC items as the STAC source reads them: which asset holds a band or the quality layer,
the item's time, the item JSON saved for provenance (signed tokens stripped, written
atomically under a safe name), and a village's load plan (:class:`LoadPlan`)."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd
import pystac

from .errors import SensingError
from .http import strip_signed_query
from .radiometry import Radiometry
from .sensors import Sensor


def _norm(key: str) -> str:
    k = key.lower()
    for suffix in (".tif", ".tiff"):
        if k.endswith(suffix):
            k = k[: -len(suffix)]
    return k


def resolve_asset(item: pystac.Item, sensor: Sensor, common_name: str) -> str | None:
    """The asset key holding ``common_name`` in ``item``: the sensor table's asset name
    (``B04``, ``SR_B4``, case and ``.TIF`` insensitive), else an asset named like the common name
    (Earth Search / PC Landsat: ``red``), else the one asset whose ``eo:bands`` says so."""
    keys = {_norm(k): k for k in item.assets}
    try:
        native = sensor.asset_for(common_name)
    except KeyError:
        native = None
    if native is not None and _norm(native) in keys:
        return keys[_norm(native)]
    if common_name in keys:
        return keys[common_name]
    hits = []
    for k, a in item.assets.items():
        for b in a.extra_fields.get("eo:bands", []) or []:
            if isinstance(b, Mapping) and b.get("common_name") == common_name:
                hits.append(k)
    return hits[0] if len(hits) == 1 else None


def resolve_quality_asset(item: pystac.Item, sensor: Sensor) -> str | None:
    """The quality asset (``SCL``/``scl``, ``QA_PIXEL``/``qa_pixel``) of ``item``, or None."""
    if sensor.mask.kind == "none" or not sensor.mask.band:
        return None
    keys = {_norm(k): k for k in item.assets}
    return keys.get(_norm(sensor.mask.band))


def item_json_for_provenance(item: pystac.Item) -> dict:
    """The item as a dict with signed query tokens stripped from every asset and link href."""
    d = item.to_dict(include_self_link=True, transform_hrefs=False)
    for a in d.get("assets", {}).values():
        if "href" in a:
            a["href"] = strip_signed_query(a["href"])
    for link in d.get("links", []):
        if "href" in link:
            link["href"] = strip_signed_query(link["href"])
    return d


def save_item_json(item: pystac.Item, folder: str | Path) -> Path:
    """Write ``folder/<item id>.json`` atomically (temporary name, then ``os.replace``). The id
    comes from a remote server: characters other than ``A-Za-z0-9._-`` become ``_`` and leading
    dots are dropped, so an id like ``../../x`` or ``/etc/x`` cannot write outside ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(item.id)).lstrip(".") or "item"
    target = folder / f"{name}.json"
    tmp = folder / f".{name}.json.{os.getpid()}.{threading.get_ident()}.tmp"  # threads save the same item
    tmp.write_text(json.dumps(item_json_for_provenance(item), indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, target)
    return target


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def _item_time(item: pystac.Item) -> dt.datetime:
    t = item.datetime or item.common_metadata.start_datetime
    if t is None:
        raise SensingError(f"STAC item {item.id} has no datetime")
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class LoadPlan:
    """What one village's load reads (``sensing.stac.StacSource.prepare``)."""

    window: str
    usable: list[pystac.Item]
    assets: dict[str, str]
    quality: str | None
    grid: Any
    rad: dict[str, dict[str, Radiometry]]
    key_of: dict[str, tuple[str, int]]
    groups: list[tuple[str, int]]
    members: dict[tuple[str, int], list[pystac.Item]]

    @property
    def item_ids(self) -> list[str]:
        """Per time step (after same-day fusion), the ids of its items joined by ``+``."""
        ids = ["+".join(i.id for i in self.members[g]) for g in self.groups]
        return ["+".join(ids[i] for i, d in enumerate(self.days_unfused) if d == day) for day in self.days]

    @property
    def days_unfused(self) -> list[str]:
        return [g[0] for g in self.groups]

    @property
    def days(self) -> list[str]:
        return list(dict.fromkeys(self.days_unfused))

    def share_key(self) -> tuple:
        """Equal for villages whose loads read the same items, assets and time steps on one
        pixel lattice: a window of one load over all of them is each one's load."""
        return (self.grid.crs, self.grid.resolution, tuple(sorted(self.key_of.items())),
                tuple(sorted(self.assets.items())), self.quality)
