"""``villagewatch verify OUT SHEET``: import a filled field-check sheet into the village's register.

The whole sheet is checked before anything is written: every problem (an id that is no water
body of the village on the sheet's date, a value outside its plausible range, a value or
header in another unit, a check date before the screening or in the future, a missing
inspector, a verdict the measurements contradict by the guideline, rows of several villages or
dates, a sheet of another village than ``--village``) is listed, one line each, in one
:class:`~flows.errors.FieldSheetError`, and the register and every product stay byte-identical.
A clean sheet is merged into the register (a check of the same body, screening and day
replaces the earlier one) and the register is written atomically. Rows without a verdict and
without any value are left for a later visit.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..errors import FieldSheetError
from ..products.atomic import sha256_file
from ..products.layout import SUSPECTS, WATER_BODIES, date_dir, register_path, safe_part
from .criteria import BY_KEY as MEASURES, UNIT_ALIASES, assess
from .register import SCREENING_FIGURES, VERDICTS, Check, read_register, write_register
from .sheet import BY_KEY as COLUMNS, MEASUREMENT_KEYS, SheetRow, read_sheet

_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S.*?)?\s*$")
_PHOTO_SPLIT = re.compile(r"[;,；，、\n]+")
#: 2024-05-03, 2024/5/3, 2024.5.3, 2024年5月3日, optionally followed by a time (a spreadsheet's date cell)
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the village and date, the checks imported, the register written."""

    village_id: str
    screening_date: str
    checks: tuple[Check, ...]
    register: Path
    changed: bool


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _date(v: Any) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    text = _text(v)
    if not text:
        return None
    m = _DATE.match(text)
    if not m:
        raise ValueError(text)
    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def _verdict(v: Any) -> str | None:
    text = _text(v)
    if not text:
        return None
    low = text.lower()
    for key, (zh, en) in VERDICTS.items():
        if low in (key, zh, en.lower()) or low.startswith(key + " ") or text.startswith(zh):
            return key
    return "?"


def _measure(key: str, v: Any) -> tuple[float | None, str | None]:
    """(value, problem) of a measurement cell: a number, optionally followed by its unit."""
    m = MEASURES[key]
    if v is None or _text(v) == "":
        return None, None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        value = float(v)
    else:
        hit = _NUMBER_UNIT.match(_text(v).replace("，", "."))
        if not hit:
            return None, f"{_text(v)!r} is not a number"
        value, unit = float(hit.group(1)), hit.group(2)
        if unit is not None and UNIT_ALIASES.get(unit, UNIT_ALIASES.get(unit.lower())) != m.unit:
            return None, (f"{_text(v)!r} is in {unit!r}, but {m.en} is taken in {m.unit} (the guideline's unit); "
                          "convert it")
    if not (m.low <= value <= m.high):
        hint = {"dissolved_oxygen_mg_l": " (% saturation instead of mg/L?)", "ammonia_nitrogen_mg_l": " (ug/L instead of mg/L?)",
                "transparency_cm": " (mm instead of cm?)"}.get(key, "") if value > m.high else ""
        return None, (f"{value:g} {m.unit} is impossible for {m.en}: it must lie within {m.low:g}..{m.high:g} "
                      f"{m.unit}{hint}")
    return value, None


def _products(out: Path, village_id: str, date: str) -> tuple[dict[str, dict], set[str]]:
    """Every water body of the date (id -> properties) and the ids of its suspects."""
    folder = date_dir(out, village_id, date)
    wb_path, sus_path = folder / WATER_BODIES, folder / SUSPECTS
    if not sus_path.is_file() or not wb_path.is_file():
        raise FieldSheetError(f"village {village_id} has no black-odorous screening for {date} in {out} "
                              f"({sus_path.relative_to(out)} is missing): is the sheet for this output folder? nothing was imported")

    def props(path: Path) -> dict[str, dict]:
        return {f["properties"]["wb_id"]: f["properties"] for f in json.loads(path.read_text(encoding="utf-8"))["features"]}

    return props(wb_path), set(props(sus_path))


def _one(rows: list[SheetRow], key: str, path: Path) -> str:
    values = sorted({_text(r.cells.get(key)) for r in rows})
    if len(values) != 1 or not values[0]:
        what = COLUMNS[key].header
        raise FieldSheetError(f"{path.name}: the column {what!r} must hold one value on every row (a sheet is of one "
                              f"village and one screening date), found {values}; nothing was imported")
    return values[0]


def _check_row(row: SheetRow, bodies: Mapping[str, dict], suspects: set[str], date: str, today: dt.date,
               sheet: Mapping[str, str], village_id: str) -> tuple[Check | None, list[str]]:
    """The check a row records (``None`` for a row left blank) and its problems."""
    c = row.cells
    where = f"row {row.number}"
    filled = [k for k in ("check_date", "inspector", *MEASUREMENT_KEYS, "verdict", "photos", "notes")
              if _text(c.get(k))]
    if not filled:
        return None, []
    problems = []
    wb_id = _text(c.get("wb_id"))
    if wb_id not in bodies:
        near = ", ".join(sorted(suspects)[:5]) or "none"
        problems.append(f"{where}: unknown water body id {wb_id!r}: not a water body of {village_id} on {date} "
                        f"(its suspects: {near})")
    verdict = _verdict(c.get("verdict"))
    if verdict is None:
        problems.append(f"{where} ({wb_id}): values were filled in but no verdict: give one of {', '.join(VERDICTS)}")
    elif verdict == "?":
        problems.append(f"{where} ({wb_id}): verdict {_text(c.get('verdict'))!r} is not one of "
                        + ", ".join(f"{k} ({zh})" for k, (zh, _) in VERDICTS.items()))
    try:
        day = _date(c.get("check_date"))
    except ValueError:
        day = None
        problems.append(f"{where} ({wb_id}): check date {_text(c.get('check_date'))!r} is not a date (YYYY-MM-DD)")
    else:
        if day is None:
            problems.append(f"{where} ({wb_id}): no check date (YYYY-MM-DD)")
        elif day.isoformat() < date:
            problems.append(f"{where} ({wb_id}): check date {day} is before the screening date {date}: a check answers "
                            "the screening of the sheet's date")
        elif day > today:
            problems.append(f"{where} ({wb_id}): check date {day} is in the future (today is {today})")
    inspector = _text(c.get("inspector"))
    if not inspector:
        problems.append(f"{where} ({wb_id}): no inspector (核查人)")
    values: dict[str, float] = {}
    for key in MEASUREMENT_KEYS:
        value, problem = _measure(key, c.get(key))
        if problem:
            problems.append(f"{where} ({wb_id}), {COLUMNS[key].header}: {problem}")
        elif value is not None:
            values[key] = value
    if "transparency_cm" in values and "depth_cm" in values and values["transparency_cm"] > values["depth_cm"]:
        problems.append(f"{where} ({wb_id}): transparency {values['transparency_cm']:g} cm is more than the water depth "
                        f"{values['depth_cm']:g} cm (a disc seen on the bottom: write the depth)")
    said = assess(values)
    if verdict in ("cleared", "treated") and said["guideline"] == "black_odorous":
        met = ", ".join(f"{MEASURES[k].en} {values[k]:g} {MEASURES[k].unit} ({MEASURES[k].rule()})" for k in said["criteria_met"])
        problems.append(f"{where} ({wb_id}): verdict {verdict} but the guideline's criterion is met: {met}; "
                        "correct the verdict or the value")
    if verdict == "confirmed" and said["guideline"] == "not_black_odorous":
        problems.append(f"{where} ({wb_id}): verdict confirmed but no criterion of the guideline is met by the three "
                        "measurements; correct the verdict or the values")
    if problems:
        return None, problems
    photos = tuple(p.strip() for p in _PHOTO_SPLIT.split(_text(c.get("photos"))) if p.strip())
    figures = bodies[wb_id]
    return Check(wb_id=wb_id, screening_date=date, check_date=day.isoformat(), verdict=verdict, inspector=inspector,
                 measurements=values, assessment=said, photos=photos, notes=_text(c.get("notes")),
                 raised=wb_id in suspects, screening={k: figures.get(k) for k in SCREENING_FIGURES if k in figures},
                 sheet=dict(sheet)), []


def import_sheet(out: str | Path, sheet: str | Path, *, village_id: str | None = None,
                 today: dt.date | None = None) -> ImportResult:
    """Check every row of ``sheet`` against the village's products of the sheet's date and
    merge its checks into the register (written atomically); :class:`FieldSheetError` listing
    every problem, with nothing written, otherwise. The caller holds the output folder's lock
    and re-publishes (``flows.runner.republish``)."""
    out, sheet = Path(out).resolve(), Path(sheet)
    rows = read_sheet(sheet)
    if not rows:
        raise FieldSheetError(f"{sheet.name}: the sheet has no rows; nothing was imported")
    vid = _one(rows, "village", sheet)
    date = _one(rows, "screening_date", sheet)
    if village_id is not None and vid != village_id:
        raise FieldSheetError(f"{sheet.name} is the field-check sheet of village {vid!r} ({date}), not of {village_id!r}; "
                              "nothing was imported")
    try:
        safe_part(vid, "village id")
        safe_part(date, "screening date", date=True)
    except ValueError as exc:
        raise FieldSheetError(f"{sheet.name}: {exc}; nothing was imported") from None
    bodies, suspects = _products(out, vid, date)
    register = read_register(out, vid)
    today = today or dt.date.today()
    meta = {"file": sheet.name, "sha256": sha256_file(sheet)}
    checks, problems, seen = [], [], {}
    for row in rows:
        wb_id = _text(row.cells.get("wb_id"))
        if wb_id in seen:
            problems.append(f"row {row.number}: water body {wb_id} is also on row {seen[wb_id]}: one row per body")
            continue
        seen[wb_id] = row.number
        check, issues = _check_row(row, bodies, suspects, date, today, meta, vid)
        problems += issues
        if check is not None:
            checks.append(check)
    if len(problems) == 1:
        raise FieldSheetError(f"{sheet.name} ({vid}, {date}): {problems[0]}; nothing was imported")
    if problems:
        raise FieldSheetError(f"{sheet.name} ({vid}, {date}): {len(problems)} problems; nothing was imported:\n  "
                              + "\n  ".join(problems))
    if not checks:
        raise FieldSheetError(f"{sheet.name} ({vid}, {date}): no row has a verdict; nothing was imported")
    merged = register.merged(checks)
    path = write_register(out, merged) if merged != register else None
    return ImportResult(vid, date, tuple(checks), path or register_path(out, vid), merged != register)
