"""A small API for analysts' notebooks: open a run's products, tables and re-run a village.

>>> from flows import api
>>> api.villages_in("out")                       # ['haizhu-jianghai-hongwei', ...]
>>> api.dates("out", "meijiang-sanjiao-pankeng")   # ['2024-01-15', ...]
>>> ds = api.open_products("out", "meijiang-sanjiao-pankeng", "2024-07-18")   # xarray, lazy
>>> wb = api.water_bodies("out", "meijiang-sanjiao-pankeng", "2024-07-18")    # GeoDataFrame
>>> df = api.indicators("out")                    # every village, one row per date
>>> api.rerun("meijiang-sanjiao-pankeng", "2024-07-18", out="out")           # recompute one date
"""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import rioxarray
import xarray as xr

from .atomic import atomic_path

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _vdir(out: str | Path, village_id: str) -> Path:
    from aoi import is_safe_id

    if not is_safe_id(village_id):
        raise ValueError(f"not a village id: {village_id!r}")
    d = Path(out) / village_id
    if not d.is_dir():
        raise FileNotFoundError(f"no products for village {village_id!r} under {out}")
    return d


def _folder(out, village_id: str, date: str, stream: str | None) -> Path:
    if not _DATE.match(date):
        raise ValueError(f"not a date (YYYY-MM-DD): {date!r}")
    d = _vdir(out, village_id) / date
    if stream:
        d = d / stream
    if not d.is_dir():
        raise FileNotFoundError(f"no products for {village_id} on {date}{' (' + stream + ')' if stream else ''}")
    return d


def villages_in(out: str | Path) -> list[str]:
    """Village ids with products under ``out``."""
    return sorted(p.name for p in Path(out).iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def dates(out: str | Path, village_id: str) -> list[str]:
    """Acquisition dates with products for the village, oldest first."""
    return sorted(p.name for p in _vdir(out, village_id).iterdir() if p.is_dir() and _DATE.match(p.name))


def change_pairs(out: str | Path, village_id: str) -> list[tuple[str, str]]:
    cdir = _vdir(out, village_id) / "change"
    if not cdir.is_dir():
        return []
    return sorted(tuple(p.name.split("_")) for p in cdir.iterdir() if p.is_dir())


def open_raster(path: str | Path, *, chunks: Any = True) -> xr.DataArray:
    """One COG as a lazy (y, x) DataArray with CRS, nodata masked to NaN."""
    da = rioxarray.open_rasterio(path, chunks=chunks, masked=True).squeeze("band", drop=True)
    da.name = Path(path).stem
    return da


def open_products(out: str | Path, village_id: str, date: str, *, stream: str | None = None) -> xr.Dataset:
    """Every COG of a village's date as one lazy Dataset (ndvi, mndwi, water_mask, ...)."""
    folder = _folder(out, village_id, date, stream)
    layers = {p.stem: open_raster(p) for p in sorted(folder.glob("*.tif"))}
    ds = xr.Dataset(layers)
    ds.attrs.update({"village": village_id, "date": date, "stream": stream or "main"})
    return ds


def open_change(out: str | Path, village_id: str, d_from: str, d_to: str) -> xr.Dataset:
    folder = _vdir(out, village_id) / "change" / f"{d_from}_{d_to}"
    if not folder.is_dir():
        raise FileNotFoundError(f"no change products for {village_id} {d_from}..{d_to}")
    return xr.Dataset({p.stem: open_raster(p) for p in sorted(folder.glob("*.tif"))})


def read_geojson(path: str | Path) -> gpd.GeoDataFrame:
    return gpd.read_file(path)


def water_bodies(out, village_id: str, date: str, *, stream: str | None = None) -> gpd.GeoDataFrame:
    return read_geojson(_folder(out, village_id, date, stream) / "water_bodies.geojson")


def suspects(out, village_id: str, date: str, *, stream: str | None = None) -> gpd.GeoDataFrame:
    return read_geojson(_folder(out, village_id, date, stream) / "black_odorous_suspects.geojson")


def change_vectors(out, village_id: str, d_from: str, d_to: str) -> dict[str, gpd.GeoDataFrame]:
    folder = _vdir(out, village_id) / "change" / f"{d_from}_{d_to}"
    return {p.stem: read_geojson(p) for p in sorted(folder.glob("*.geojson"))}


def manifest(out, village_id: str, date: str, *, stream: str | None = None) -> dict:
    return json.loads((_folder(out, village_id, date, stream) / "manifest.json").read_text())


def indicators(out: str | Path, village_id: str | None = None) -> pd.DataFrame:
    """The indicator table: one village's, or every village's (run-wide) when ``village_id`` is None."""
    if village_id is not None:
        return pd.read_parquet(_vdir(out, village_id) / "indicators.parquet")
    tables = [pd.read_parquet(p) for p in sorted(Path(out).glob("*/indicators.parquet"))]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def write_run_table(out: str | Path) -> Path | None:
    """``OUT/indicators.parquet``: every village's table in one (rebuilt, so idempotent)."""
    df = indicators(out)
    if df.empty:
        return None
    df = df.sort_values(["village_id", "stream", "date"]).reset_index(drop=True)
    path = Path(out) / "indicators.parquet"
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return path


def rerun(village_id: str, date: str, *, out: str | Path = "out", source: Any = "demo",
          registry: str | Path | None = None, previous_date: str | None = None, **source_options: Any):
    """Recompute one village's products for one date (plain functions, no Prefect) and
    refresh its indicator table; returns the ``DateResult`` (paths and figures)."""
    from aoi.registry import load_villages

    from .sources import build_source
    from .steps import process_date, write_indicator_table

    (village,) = load_villages(registry, ids=[village_id])
    src = build_source(source, **source_options) if isinstance(source, str) else source
    day = dt.date.fromisoformat(date)
    scene = src.load(village, day, day)
    result = process_date(src, village, date, out, scene=scene, previous_date=previous_date)
    write_indicator_table(out, village)
    return result
