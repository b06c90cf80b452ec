"""The field-check products of a village, remade from its screening and its register whenever
either changes (the one cache rule: ``flows.products.cache.files_key`` over the register and
the date's screening files; keys and checksums in a companion manifest).

Per main-stream date with a black-odorous screening (``OUT/<village>/<date>/``):

- ``field_check.geojson``: the date's suspects (and bodies checked for that date) with their
  status (``flows.fieldcheck.register.status_on``), why, the last verdict, the dates the
  satellite flagged them, and a point inside each (lon/lat) to walk to: the suspects GeoJSON
  with statuses, for the page's map and for field apps;
- ``field_check.csv`` / ``field_check.xlsx``: the sheet to fill on site (the bodies still
  raised: screened, checked, relapsed, confirmed; cleared bodies that did not change and
  treated ones are not raised again);
- ``field_check.json``: the date's counts by status.

Per village (``OUT/<village>/fieldcheck/``): ``national_list`` and ``provincial_list`` (``.csv``,
``.geojson``): every body a check confirmed, by its area when confirmed (>= 2,000 m2 national,
the guideline's line), with its status now. Only the main stream is screened for the register
(extra streams, e.g. drones, have ids on their own grids).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any, Mapping

import geopandas as gpd

from aoi import Village

from ..products.atomic import write_bytes, write_json
from ..products.cache import files_key, read_manifest, up_to_date, write_files_manifest
from ..products.layout import (FIELD_CHECK_CSV, FIELD_CHECK_FIGURES, FIELD_CHECK_GEOJSON, FIELD_CHECK_MANIFEST,
                               FIELD_CHECK_XLSX, LISTS_MANIFEST, NATIONAL_LIST, PROVINCIAL_LIST, SUSPECTS, WATER_BODIES,
                               date_dir, dates, fieldcheck_dir, register_path)
from ..products.vectors import write_geojson
from .criteria import RURAL_GUIDELINE, criteria_table
from .register import LISTED, ON_SHEET, STATUSES, FieldCheckParams, Register, read_register, status_on
from .sheet import write_sheets

log = logging.getLogger("villagewatch.flows")

#: bumped when the field-check products change (part of their keys)
FIELDCHECK_VERSION = "1"
#: the national list's line (m2): 农村黑臭水体治理工作指南 (2023 revision)
NATIONAL_MIN_AREA_M2 = 2000.0
#: properties of a suspect carried into field_check.geojson when present (persistence: issue #12)
CARRIED = ("area_m2", "list", "methods_agreeing", "votes", "confidence", "black_odorous_type", "boi_mean", "ndbwi_mean",
           "purity_mean", "brightness_mean", "persistence", "persistence_dates")


class Screening:
    """The main-stream screening of a village: each date's suspects and water bodies (read once)."""

    def __init__(self, out: Path, village_id: str) -> None:
        self.out, self.village_id = out, village_id
        self.dates = [d for d in dates(out, village_id) if (date_dir(out, village_id, d) / SUSPECTS).is_file()]
        self._cache: dict[tuple[str, str], gpd.GeoDataFrame] = {}

    def frame(self, date: str, name: str = SUSPECTS) -> gpd.GeoDataFrame:
        if (date, name) not in self._cache:
            gdf = gpd.read_file(date_dir(self.out, self.village_id, date) / name)
            self._cache[(date, name)] = (gdf.set_crs("EPSG:4326") if gdf.crs is None else gdf).to_crs("EPSG:4326")
        return self._cache[(date, name)]

    def files(self) -> list[Path]:
        return [date_dir(self.out, self.village_id, d) / SUSPECTS for d in self.dates]

    def flagged(self) -> dict[str, list[str]]:
        """wb_id -> the dates the satellite raised it, oldest first."""
        out: dict[str, list[str]] = {}
        for d in self.dates:
            frame = self.frame(d)
            for i in frame["wb_id"] if "wb_id" in frame.columns else []:
                out.setdefault(str(i), []).append(d)
        return out

    def geojson_crs(self, date: str) -> str:
        m = read_manifest(date_dir(self.out, self.village_id, date)) or {}
        return str(m.get("parameters", {}).get("geojson_crs") or "EPSG:4326")

    def demo(self, date: str | None = None) -> bool:
        """Whether the date's (or any date's) products were made from demo data."""
        days = [date] if date else self.dates
        return any(bool((read_manifest(date_dir(self.out, self.village_id, d)) or {}).get("inputs", {}).get("demo"))
                   for d in days)


def _village_context(village: Village) -> list[Any]:
    return [village.id, village.name_zh, village.name_en, village.county, getattr(village, "admin_code", None)]


def _clean(v: Any) -> Any:
    try:
        import pandas as pd

        if not isinstance(v, (list, tuple, dict)) and pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v.item() if hasattr(v, "item") else v


def date_rows(scr: Screening, register: Register, date: str, village: Village,
              params: FieldCheckParams) -> gpd.GeoDataFrame:
    """The date's suspects and checked bodies with their status (EPSG:4326)."""
    sus = scr.frame(date)
    flagged = scr.flagged()
    sus_ids = set(sus["wb_id"]) if "wb_id" in sus.columns else set()
    extra = {c.wb_id for c in register.checks if c.screening_date == date} - sus_ids
    frames = [sus]
    if extra:
        wb = scr.frame(date, WATER_BODIES)
        frames.append(wb[wb["wb_id"].isin(extra)])
    rows, geoms = [], []
    for frame in frames:
        for _, r in frame.iterrows():
            figures = {k: _clean(r[k]) for k in frame.columns if k != frame.geometry.name}
            wb_id = str(figures["wb_id"])
            status, reason, check = status_on(register, wb_id, date, figures, params)
            seen = flagged.get(wb_id, [])
            last = (register.of(wb_id) or [None])[-1]
            point = r.geometry.representative_point() if r.geometry is not None else None
            rows.append({
                "village": village.id, "name_zh": village.name_zh, "admin_code": getattr(village, "admin_code", None),
                "screening_date": date, "wb_id": wb_id, "status": status, "status_reason": reason,
                "verification": check.verdict if check is not None else "unverified",
                "on_sheet": status in ON_SHEET and wb_id in sus_ids,
                "raised": wb_id in sus_ids,
                **{k: figures.get(k) for k in CARRIED if k in figures},
                "dates": seen, "first_seen": seen[0] if seen else None, "last_seen": seen[-1] if seen else None,
                "check_date": check.check_date if check else None, "inspector": check.inspector if check else None,
                "criteria_met": list(check.assessment.get("criteria_met", [])) if check else None,
                "last_check": f"{last.check_date} {last.verdict} ({last.inspector})" if last else None,
                "lon": round(point.x, 6) if point is not None else None,
                "lat": round(point.y, 6) if point is not None else None,
            })
            geoms.append(r.geometry)
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
    return gdf.sort_values(["on_sheet", "wb_id"], ascending=[False, True]).reset_index(drop=True) if len(gdf) else gdf


def _figures(gdf: gpd.GeoDataFrame, date: str) -> dict[str, Any]:
    counts = Counter(gdf["status"]) if len(gdf) else Counter()
    raised = gdf[gdf["raised"]] if len(gdf) else gdf
    return {"date": date, "n_suspects": int(len(raised)), "n_on_sheet": int(gdf["on_sheet"].sum()) if len(gdf) else 0,
            "counts": {s: int(counts.get(s, 0)) for s in STATUSES}, "guideline": RURAL_GUIDELINE}


def refresh_date(scr: Screening, register: Register, date: str, village: Village,
                 params: FieldCheckParams = FieldCheckParams()) -> list[Path]:
    """The date's field-check products, kept when their key is unchanged."""
    folder = date_dir(scr.out, village.id, date)
    reg = register_path(scr.out, village.id)
    key = files_key([reg, folder / WATER_BODIES, *scr.files()], kind="field_check", version=FIELDCHECK_VERSION,
                    date=date, params=params.as_dict(), village=_village_context(village))
    kept = up_to_date(folder, key, name=FIELD_CHECK_MANIFEST)
    if kept is not None:
        return kept
    log.info("%s %s: field-check sheet and statuses", village.id, date)
    gdf = date_rows(scr, register, date, village, params)
    title = f"{village.name_zh} {village.name_en} {date} 黑臭水体现场核查表 field check"
    outputs = [write_geojson(gdf, folder / FIELD_CHECK_GEOJSON, crs=scr.geojson_crs(date),
                             properties={"village": village.id, "date": date, "kind": "field_check",
                                         "guideline": RURAL_GUIDELINE, "demo": scr.demo(date)})]
    sheet_rows = [r for r in gdf.drop(columns="geometry").to_dict("records") if r["on_sheet"]] if len(gdf) else []
    outputs += write_sheets(sheet_rows, folder / FIELD_CHECK_CSV, folder / FIELD_CHECK_XLSX, title=title)
    outputs.append(write_json(folder / FIELD_CHECK_FIGURES, _figures(gdf, date)))
    write_files_manifest(folder, FIELD_CHECK_MANIFEST, key=key, outputs=outputs,
                         inputs={"register": _sha(reg), "suspects": [p.parent.name for p in scr.files()]},
                         parameters={**params.as_dict(), "criteria": criteria_table(), "version": FIELDCHECK_VERSION})
    return outputs + [folder / FIELD_CHECK_MANIFEST]


def _sha(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


# --------------------------------------------------------------------------- lists
LIST_COLUMNS = (("wb_id", "水体编号 water body id"), ("list", "清单 list"), ("area_m2", "面积 area (m²)"),
                ("status", "状态 status now"), ("confirmed_on", "确认日期 confirmed on"),
                ("inspector", "核查人 inspector"), ("criteria_met", "超标指标 criteria met"),
                ("screening_date", "遥感日期 screening date"), ("last_seen", "最近一次遥感 last flagged"),
                ("lon", "经度 longitude"), ("lat", "纬度 latitude"), ("village", "村 village"),
                ("admin_code", "统计用区划代码 division code"), ("county", "县/区 county"))


def current_status(register: Register, wb_id: str, flagged: Mapping[str, list[str]], scr: Screening,
                   params: FieldCheckParams = FieldCheckParams()) -> str:
    """A body's status now: its status on the last date it was flagged if that is after its
    last check, else its last verdict (screened without a check)."""
    checks = register.of(wb_id)
    seen = flagged.get(wb_id, [])
    if seen and (not checks or seen[-1] > checks[-1].check_date):
        sus = scr.frame(seen[-1])
        row = sus[sus["wb_id"] == wb_id]
        figures = {k: _clean(row.iloc[0][k]) for k in row.columns if k != row.geometry.name} if len(row) else {}
        return status_on(register, wb_id, seen[-1], figures, params)[0]
    return checks[-1].verdict if checks else "screened"


def listed_bodies(scr: Screening, register: Register, village: Village,
                  params: FieldCheckParams = FieldCheckParams()) -> gpd.GeoDataFrame:
    """Every body a check confirmed, with its area when last confirmed and its status now."""
    flagged = scr.flagged()
    rows, geoms = [], []
    for wb_id in register.bodies:
        confirmed = [c for c in register.of(wb_id) if c.verdict == "confirmed"]
        if not confirmed:
            continue
        c = confirmed[-1]
        status = current_status(register, wb_id, flagged, scr, params)
        area = c.screening.get("area_m2")
        frame = scr.frame(c.screening_date, SUSPECTS if c.raised else WATER_BODIES)
        match = frame[frame["wb_id"] == wb_id]
        geom = match.geometry.iloc[0] if len(match) else None
        point = geom.representative_point() if geom is not None else None
        rows.append({"wb_id": wb_id, "list": "national" if (area or 0) >= NATIONAL_MIN_AREA_M2 else "provincial",
                     "area_m2": area, "status": status if status in LISTED else "confirmed", "confirmed_on": c.check_date,
                     "inspector": c.inspector, "criteria_met": ", ".join(c.assessment.get("criteria_met", [])),
                     "screening_date": c.screening_date, "last_seen": (flagged.get(wb_id) or [None])[-1],
                     "lon": round(point.x, 6) if point is not None else None,
                     "lat": round(point.y, 6) if point is not None else None,
                     "village": village.id, "admin_code": getattr(village, "admin_code", None), "county": village.county})
        geoms.append(geom)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326") if rows else \
        gpd.GeoDataFrame({k: [] for k, _ in LIST_COLUMNS}, geometry=[], crs="EPSG:4326")


def _list_csv(gdf: gpd.GeoDataFrame) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([h for _, h in LIST_COLUMNS])
    for r in gdf.drop(columns="geometry").to_dict("records"):
        w.writerow(["" if r.get(k) is None else r.get(k) for k, _ in LIST_COLUMNS])
    return buf.getvalue().encode("utf-8-sig")


def refresh_lists(scr: Screening, register: Register, village: Village,
                  params: FieldCheckParams = FieldCheckParams()) -> list[Path]:
    """The village's national and provincial lists of confirmed bodies."""
    folder = fieldcheck_dir(scr.out, village.id)
    reg = register_path(scr.out, village.id)
    if not reg.is_file() and not folder.is_dir():
        return []  # nothing checked yet: no lists
    key = files_key([reg, *scr.files()], kind="lists", version=FIELDCHECK_VERSION, params=params.as_dict(),
                    village=_village_context(village))
    kept = up_to_date(folder, key, name=LISTS_MANIFEST)
    if kept is not None:
        return kept
    gdf = listed_bodies(scr, register, village, params)
    crs = scr.geojson_crs(scr.dates[-1]) if scr.dates else "EPSG:4326"
    outputs = []
    for name, kind in ((NATIONAL_LIST, "national"), (PROVINCIAL_LIST, "provincial")):
        part = gdf[gdf["list"] == kind] if len(gdf) else gdf
        outputs.append(write_geojson(part, folder / f"{name}.geojson", crs=crs,
                                     properties={"village": village.id, "list": kind, "guideline": RURAL_GUIDELINE,
                                                 "demo": scr.demo()}))
        outputs.append(write_bytes(folder / f"{name}.csv", _list_csv(part)))
    write_files_manifest(folder, LISTS_MANIFEST, key=key, outputs=outputs,
                         inputs={"register": _sha(reg), "suspects": [p.parent.name for p in scr.files()]},
                         parameters={**params.as_dict(), "national_min_area_m2": NATIONAL_MIN_AREA_M2})
    return outputs + [folder / LISTS_MANIFEST]


def refresh_village(out: str | Path, village: Village, params: FieldCheckParams = FieldCheckParams()) -> list[Path]:
    """Every field-check product of the village, remade where the register or the screening
    changed; returns the paths written or kept. A broken register stops here with its
    :class:`~flows.errors.RegisterError` (nothing is overwritten)."""
    out = Path(out)
    register = read_register(out, village.id)
    scr = Screening(out, village.id)
    paths: list[Path] = []
    for d in scr.dates:
        paths += refresh_date(scr, register, d, village, params)
    return paths + refresh_lists(scr, register, village, params)


def read_figures(folder: Path) -> dict[str, Any]:
    """A date's ``field_check.json`` (empty when the date has none)."""
    try:
        return json.loads((folder / FIELD_CHECK_FIGURES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
