"""The output layout: every path under ``OUT`` and every file name, defined once.

```
OUT/catalog.json  index.html  indicators.parquet  state.json  .villagewatch.lock
OUT/<village>/collection.json  index.html  indicators.parquet
OUT/<village>/<date>/                 a date's products, manifest.json, item.json, quicklook.png
OUT/<village>/<date>/<stream>/        the same for an extra stream (the drone's)
OUT/<village>/change/<from>_<to>/     a period's change against the same season (main stream:
                                      a calendar month's clear-sky composite; an extra stream:
                                      a pair of dates) (and /<stream>/)
OUT/<village>/change/<from>_<to>.zip  its download package (<from>_<to>_<stream>.zip)
OUT/<village>/watches/                the village-wide watches: ancient trees, and the change
                                      alerts (candidate / confirmed, with their dates)
OUT/<village>/baseline/<YYYY-Qn>/     the same-season baseline of a quarter (history read from
                                      the source, land cover), reused across nights
OUT/<village>/fieldcheck/             register.json (field checks), national/provincial lists
OUT/_static/                          the map library and script of the pages
```

Writers (``flows.products``), publishers (``flows.publish``) and readers (``flows.api``) all
take their paths from here; names that reach a path (village ids, dates, streams) are checked
to be single safe folder names first, so nothing is ever written outside ``OUT``.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from aoi import is_safe_id

from ..errors import UnsafeNameError

# --------------------------------------------------------------------------- names
#: a baseline folder's season: a calendar quarter
SEASON_PATTERN = r"\d{4}-Q[1-4]"
SEASON_RE = re.compile(rf"^{SEASON_PATTERN}$")
#: a product folder's date (YYYY-MM-DD); a change folder is two of them joined by "_"
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
DATE_RE = re.compile(rf"^{DATE_PATTERN}$")
PAIR_RE = re.compile(rf"^({DATE_PATTERN})_({DATE_PATTERN})$")
DATE_FMT = "%Y-%m-%d"

MAIN_STREAM = "main"
CHANGE_FOLDER = "change"
WATCHES_FOLDER = "watches"
STAC_ITEMS_FOLDER = "_stac_items"  # the STAC source's item cache (kept for reruns)

MANIFEST = "manifest.json"
#: suffix of a companion manifest: products a later step adds to a product set
COMPANION_SUFFIX = ".manifest.json"
DATE_FIGURES = "indicators.json"
CHANGE_FIGURES = "change.json"
QUICKLOOK = "quicklook.png"
ITEM = "item.json"
COLLECTION = "collection.json"
CATALOG = "catalog.json"
PAGE = "index.html"
TABLE = "indicators.parquet"
STATE = "state.json"
LOCK = ".villagewatch.lock"
WATER_BODIES = "water_bodies.geojson"
SUSPECTS = "black_odorous_suspects.geojson"
NEW_SUSPECTS = "new_black_odorous_suspects.geojson"
#: a date's true colour (3-band uint8 COG, flows.products.truecolour) and its quicklook
TRUE_COLOUR = "true_colour.tif"
QUICKLOOK_TRUE_COLOUR = "quicklook_true_colour.png"
#: the page map's image overlays (flows.publish.webmap), in the product set's folder
MAP_TRUE_COLOUR = "map_true_colour.png"
MAP_NDVI = "map_ndvi.png"
MAP_CHANGE = "map_change.png"
#: the map library and the map script, copied from flows/publish/static (a name no village id
#: can take: ids start with a letter or digit)
STATIC_FOLDER = "_static"
#: a date's field-check products (flows.fieldcheck): the suspects with their status for field
#: apps, the sheets to fill, the date's status counts, and their companion manifest
FIELD_CHECK_GEOJSON = "field_check.geojson"
FIELD_CHECK_CSV = "field_check.csv"
FIELD_CHECK_XLSX = "field_check.xlsx"
FIELD_CHECK_FIGURES = "field_check.json"
FIELD_CHECK_MANIFEST = "field_check" + COMPANION_SUFFIX
#: a village's field-check folder: the register (written by ``villagewatch verify`` only) and
#: the lists of confirmed bodies (national >= 2,000 m2, provincial), with their manifest
FIELDCHECK_FOLDER = "fieldcheck"
REGISTER = "register.json"
NATIONAL_LIST = "national_list"
PROVINCIAL_LIST = "provincial_list"
LISTS_MANIFEST = "lists" + COMPANION_SUFFIX

# the same-season baseline (flows.products.baseline): per history layer one multi-band GeoTIFF
# (a band per history date, described by its date), the land cover and the history's NDVI low
BASELINE_FOLDER = "baseline"
BASELINE_FIGURES = "baseline.json"
HISTORY_LAYERS = ("ndvi", "ndbi", "water", "suspect")
LAND_COVER = "land_cover.tif"
ANNUAL_LOW = "ndvi_low.tif"

# the change alerts (flows.products.alerts), in the watches folder: per kind its polygons and
# three COGs (status 0 none / 1 candidate / 2 confirmed / 3 reverted / 255 never assessed; the
# first detection and the confirmation as YYYYMMDD, 0 none), the figures and a companion manifest
ALERT_PRODUCTS = ("vegetation_loss", "water_gain", "water_loss", "black_odorous", "farmland_conversion")
ALERTS_FIGURES = "alerts.json"
ALERTS_MANIFEST = "alerts" + COMPANION_SUFFIX

# a period's change (flows.products.periods), in its change folder
PERIOD_FILES = {"ndvi_median": "ndvi_median.tif", "clear_count": "clear_count.tif", "ndvi_change": "ndvi_change.tif",
                "vegetation_change": "vegetation_change.tif", "water_change": "water_change.tif",
                "water_share": "water_share.tif"}


def history_file(layer: str) -> str:
    """``history_<layer>.tif``: a baseline's history layer, one band per date."""
    if layer not in HISTORY_LAYERS:
        raise ValueError(f"unknown history layer {layer!r}; known: {', '.join(HISTORY_LAYERS)}")
    return f"history_{layer}.tif"


def alert_file(kind: str, what: str) -> str:
    """An alert kind's file: ``what`` is ``polygons`` (``<kind>_alerts.geojson``), ``status``,
    ``first`` or ``confirmed`` (``<kind>_<what>.tif``)."""
    if kind not in ALERT_PRODUCTS:
        raise ValueError(f"unknown alert kind {kind!r}; known: {', '.join(ALERT_PRODUCTS)}")
    if what == "polygons":
        return f"{kind}_alerts.geojson"
    if what in ("status", "first", "confirmed"):
        return f"{kind}_{what}.tif"
    raise ValueError(f"unknown alert file {what!r}")


def period_vectors(kind: str) -> str:
    """A period's polygons of ``kind`` (vegetation_loss, vegetation_gain, water_gain, water_loss)."""
    return f"{kind}.geojson"


def _id(village: Any) -> str:
    return str(getattr(village, "id", village))


def safe_part(value: object, what: str, *, date: bool = False) -> str:
    """``value`` if it is a safe single folder name (a village-id slug, or a real YYYY-MM-DD
    date), else :class:`UnsafeNameError`: ids, dates and stream names reach paths from the
    Python API and from sources, and must never lead outside ``OUT`` (``../x``, ``/etc``)."""
    text = str(value)
    if date:
        ok = bool(DATE_RE.match(text))
        if ok:
            try:
                dt.date.fromisoformat(text)
            except ValueError:
                ok = False
    else:
        ok = is_safe_id(text)
    if not ok:
        kind = "a YYYY-MM-DD date" if date else "an ASCII slug (a-z, 0-9, '-', '_')"
        raise UnsafeNameError(f"{what} {text!r} is not {kind}; refusing to use it as a folder name")
    return text


def is_main(stream: str | None) -> bool:
    return stream in (None, "", MAIN_STREAM)


def pair_name(d_from: str, d_to: str) -> str:
    """``<from>_<to>``: the folder of a change pair."""
    return f"{safe_part(d_from, 'date', date=True)}_{safe_part(d_to, 'date', date=True)}"


def parse_pair(name: str) -> tuple[str, str] | None:
    """``(from, to)`` of a change folder's name, ``None`` if it is not one."""
    m = PAIR_RE.match(name)
    return (m.group(1), m.group(2)) if m else None


# --------------------------------------------------------------------------- paths
def village_dir(out: str | Path, village: Any) -> Path:
    return Path(out) / safe_part(_id(village), "village id")


def date_dir(out: str | Path, village: Any, date: str, stream: str | None = None) -> Path:
    d = village_dir(out, village) / safe_part(date, "date", date=True)
    return d if is_main(stream) else d / safe_part(stream, "stream")


def change_dir(out: str | Path, village: Any, d_from: str, d_to: str, stream: str | None = None) -> Path:
    d = village_dir(out, village) / CHANGE_FOLDER / pair_name(d_from, d_to)
    return d if is_main(stream) else d / safe_part(stream, "stream")


def change_zip(out: str | Path, village: Any, d_from: str, d_to: str, stream: str | None = None) -> Path:
    """The change pair's download package: ``change/<pair>.zip`` (``<pair>_<stream>.zip``)."""
    name = pair_name(d_from, d_to) + ("" if is_main(stream) else f"_{safe_part(stream, 'stream')}")
    return village_dir(out, village) / CHANGE_FOLDER / f"{name}.zip"


def watches_dir(out: str | Path, village: Any) -> Path:
    return village_dir(out, village) / WATCHES_FOLDER


def fieldcheck_dir(out: str | Path, village: Any) -> Path:
    return village_dir(out, village) / FIELDCHECK_FOLDER


def register_path(out: str | Path, village: Any) -> Path:
    """The village's field-check register (``<village>/fieldcheck/register.json``)."""
    return fieldcheck_dir(out, village) / REGISTER


def static_dir(out: str | Path) -> Path:
    return Path(out) / STATIC_FOLDER


def baseline_dir(out: str | Path, village: Any, season: str) -> Path:
    """``OUT/<village>/baseline/<YYYY-Qn>/``: the same-season baseline of a quarter."""
    if not SEASON_RE.match(str(season)):
        raise UnsafeNameError(f"season {season!r} is not YYYY-Qn; refusing to use it as a folder name")
    return village_dir(out, village) / BASELINE_FOLDER / str(season)


def season_of(date: str | dt.date) -> str:
    """``YYYY-Qn``: the calendar quarter of a date (the baseline a date is compared with)."""
    d = dt.date.fromisoformat(date) if isinstance(date, str) else date
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def season_bounds(season: str) -> tuple[dt.date, dt.date]:
    """First and last day of a ``YYYY-Qn`` season."""
    if not SEASON_RE.match(str(season)):
        raise UnsafeNameError(f"season {season!r} is not YYYY-Qn")
    year, q = int(season[:4]), int(season[-1])
    start = dt.date(year, 3 * q - 2, 1)
    end = dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1) - dt.timedelta(days=1)
    return start, end


def month_periods(dates: list[str]) -> list[tuple[str, str]]:
    """The calendar months holding ``dates``: ``(first day, last day)`` each, oldest first."""
    out = []
    for ym in sorted({d[:7] for d in dates}):
        y, m = int(ym[:4]), int(ym[5:7])
        end = dt.date(y + (m == 12), 1 if m == 12 else m + 1, 1) - dt.timedelta(days=1)
        out.append((f"{ym}-01", end.isoformat()))
    return out


def village_table(out: str | Path, village: Any) -> Path:
    return village_dir(out, village) / TABLE


def run_table(out: str | Path) -> Path:
    return Path(out) / TABLE


def stac_items_dir(out: str | Path) -> Path:
    return Path(out) / STAC_ITEMS_FOLDER


# --------------------------------------------------------------------------- what is there
def dates(out: str | Path, village: Any, *, stream: str | None = None) -> list[str]:
    """Dates with a product set (a manifest) for the village, oldest first: of the main
    stream, or of ``stream`` (whose products sit in ``<date>/<stream>/``)."""
    vdir = village_dir(out, village)
    if not vdir.is_dir():
        return []
    sub = None if is_main(stream) else safe_part(stream, "stream")
    return sorted(p.name for p in vdir.iterdir()
                  if p.is_dir() and DATE_RE.match(p.name) and ((p / sub) if sub else p).joinpath(MANIFEST).is_file())


def change_pairs(out: str | Path, village: Any) -> list[tuple[str, str]]:
    """``(from, to)`` pairs with a change folder for the village, oldest first."""
    cdir = village_dir(out, village) / CHANGE_FOLDER
    if not cdir.is_dir():
        return []
    return sorted(pair for p in cdir.iterdir() if p.is_dir() and (pair := parse_pair(p.name)))


def village_folders(out: str | Path) -> list[str]:
    """Names of the folders under ``out`` that hold a village's products (a date or change folder)."""
    root = Path(out)
    if not root.is_dir():
        return []
    return [p.name for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith((".", "_")) and is_safe_id(p.name)
            and ((p / CHANGE_FOLDER).is_dir() or any(c.is_dir() and DATE_RE.match(c.name) for c in p.iterdir()))]
