"""The field-check sheet: one row per suspect of a village on a date, to fill on site and import
with ``villagewatch verify OUT SHEET``; written as CSV (UTF-8 with a byte-order mark, so
Excel shows the Chinese) and XLSX (openpyxl; a verdict drop-down and a notes sheet with the
guideline's criteria), and read back from either (a CSV saved by Chinese Excel in GB18030 too).

Headers are bilingual, Chinese first, with the unit in brackets: ``透明度 transparency (cm)``.
The first columns say what was screened (village, date, id, status, list, area, a point inside
the body in WGS 84 lon/lat, the methods that agree); the inspector fills the rest: check date,
inspector, the guideline's measurements (``flows.fieldcheck.criteria``), verdict, photo file
names and notes. Bytes are deterministic (the XLSX's zip entries and document dates fixed).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import FieldSheetError
from ..products.atomic import write_bytes
from .criteria import MEASUREMENTS, RURAL_GUIDELINE, UNIT_ALIASES, criteria_table
from .register import STATUSES, VERDICTS

#: the document date written into every XLSX (no clock time in our outputs)
FIXED_TIME = dt.datetime(2000, 1, 1)
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")
SHEET_TITLE = "核查表 field check"
NOTES_TITLE = "说明 notes"


@dataclass(frozen=True)
class Column:
    """A sheet column: its key, bilingual name, unit, and whether the inspector fills it."""

    key: str
    zh: str
    en: str
    unit: str | None = None
    fill: bool = False

    @property
    def header(self) -> str:
        return f"{self.zh} {self.en}" + (f" ({self.unit})" if self.unit else "")


COLUMNS: tuple[Column, ...] = (
    Column("village", "村", "village"),
    Column("screening_date", "遥感日期", "screening date"),
    Column("wb_id", "水体编号", "water body id"),
    Column("status", "状态", "status"),
    Column("list", "清单", "list"),
    Column("area_m2", "面积", "area", "m²"),
    Column("lon", "经度", "longitude", "WGS 84"),
    Column("lat", "纬度", "latitude", "WGS 84"),
    Column("methods_agreeing", "一致的方法", "methods agreeing"),
    Column("persistence", "持续性", "persistence"),
    Column("check_date", "核查日期", "check date", "YYYY-MM-DD", fill=True),
    Column("inspector", "核查人", "inspector", fill=True),
    *(Column(m.key, m.zh, m.en, m.unit, fill=True) for m in MEASUREMENTS),
    Column("verdict", "结论", "verdict", fill=True),
    Column("photos", "照片", "photo files", fill=True),
    Column("notes", "备注", "notes", fill=True),
)
BY_KEY = {c.key: c for c in COLUMNS}
MEASUREMENT_KEYS = tuple(m.key for m in MEASUREMENTS)
VERDICT_HELP = " / ".join(f"{k} {zh}" for k, (zh, _) in VERDICTS.items())


# --------------------------------------------------------------------------- writing
def _cell(row: Mapping[str, Any], key: str) -> Any:
    v = row.get(key)
    if key == "status" and v in STATUSES:
        return f"{v} {STATUSES[v][0]}"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v))
    return "" if v is None else v


def sheet_csv(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The sheet as CSV: UTF-8 with a byte-order mark, CRLF lines (what Excel expects)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([c.header for c in COLUMNS])
    for r in rows:
        w.writerow([_cell(r, c.key) for c in COLUMNS])
    return buf.getvalue().encode("utf-8-sig")


def _deterministic_zip(data: bytes) -> bytes:
    """``data`` (a zip) re-written with every entry's time fixed, in the same order."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.create_system = 3
            fixed.external_attr = 0o644 << 16
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time into it
                body = _MODIFIED.sub(rb"\g<1>" + FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>", body)
            dst.writestr(fixed, body)
    return out.getvalue()


def sheet_xlsx(rows: Sequence[Mapping[str, Any]], *, title: str) -> bytes:
    """The sheet as XLSX: the rows, a verdict drop-down, frozen headers, and a notes sheet with
    the criteria (deterministic bytes)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_TITLE
    ws.append([c.header for c in COLUMNS])
    fill = PatternFill("solid", fgColor="FFF2CC")
    for i, c in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True)
        if c.fill:
            cell.fill = fill
        ws.column_dimensions[get_column_letter(i)].width = max(12, min(40, len(c.header) + 4))
    for r in rows:
        ws.append([_cell(r, c.key) for c in COLUMNS])
    ws.freeze_panes = "D2"
    col = get_column_letter(COLUMNS.index(BY_KEY["verdict"]) + 1)
    dv = DataValidation(type="list", formula1='"' + ",".join(VERDICTS) + '"', allow_blank=True,
                        showErrorMessage=True, error="confirmed / cleared / treated / checked")
    dv.add(f"{col}2:{col}{max(2, len(rows) + 1)}")
    ws.add_data_validation(dv)
    notes = wb.create_sheet(NOTES_TITLE)
    notes.append([title])
    notes.append([f"结论 verdict: {VERDICT_HELP}"])
    notes.append([f"依据 source: {RURAL_GUIDELINE}"])
    notes.append([])
    notes.append(["指标 measurement", "单位 unit", "判定 rule", "合理范围 plausible range", "来源 source"])
    for c in criteria_table():
        notes.append([f"{c['zh']} {c['en']}", c["unit"], c["rule"] + ("" if c["decisive"] else " (information only)"),
                      f"{c['plausible'][0]:g} .. {c['plausible'][1]:g}", c["source"]])
    notes.column_dimensions["A"].width = 30
    notes.column_dimensions["C"].width = 40
    wb.properties.creator = "villagewatch"
    wb.properties.title = title
    wb.properties.created = wb.properties.modified = FIXED_TIME
    buf = io.BytesIO()
    wb.save(buf)
    return _deterministic_zip(buf.getvalue())


def write_sheets(rows: Sequence[Mapping[str, Any]], csv_path: Path, xlsx_path: Path, *, title: str) -> list[Path]:
    """Both sheets, atomically."""
    return [write_bytes(csv_path, sheet_csv(rows)), write_bytes(xlsx_path, sheet_xlsx(rows, title=title))]


# --------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class SheetRow:
    """One row of a filled sheet: its row number (as the user sees it) and raw cells by key."""

    number: int
    cells: Mapping[str, Any]


_UNIT_RE = re.compile(r"^(.*?)\s*[(（]\s*([^)）]*)\s*[)）]\s*$")


def _header_key(text: str, path: Path) -> tuple[str | None, str | None]:
    """(column key, unit written in the header) of one header cell; (None, None) if unknown."""
    text = str(text or "").strip()
    m = _UNIT_RE.match(text)
    name, unit = (m.group(1).strip(), m.group(2).strip()) if m else (text, None)
    low = name.lower()
    for c in COLUMNS:
        if low in (f"{c.zh} {c.en}".lower(), c.en.lower(), c.zh, c.key):
            return c.key, unit
    return None, None


def _check_header_unit(key: str, unit: str | None, header: str, path: Path) -> None:
    want = BY_KEY[key].unit
    if key not in MEASUREMENT_KEYS or unit is None:
        return
    if UNIT_ALIASES.get(unit, UNIT_ALIASES.get(unit.lower())) != want:
        raise FieldSheetError(f"{path.name}: column {header!r} is in {unit!r}, but the sheet takes {BY_KEY[key].en} "
                              f"in {want} (the guideline's unit): convert the values and restore the header "
                              f"{BY_KEY[key].header!r}; nothing was imported")


def _read_table(path: Path) -> list[list[Any]]:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # not a workbook, damaged zip ...
            raise FieldSheetError(f"{path.name}: not a readable XLSX workbook ({exc}); nothing was imported") from None
        try:
            ws = wb[SHEET_TITLE] if SHEET_TITLE in wb.sheetnames else wb.worksheets[0]
            return [list(r) for r in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    if suffix == ".csv":
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes any byte string
            raise FieldSheetError(f"{path.name}: neither UTF-8 nor GB18030 text; nothing was imported")
        return [row for row in csv.reader(io.StringIO(text))]
    raise FieldSheetError(f"{path.name}: a field-check sheet is a .csv or .xlsx file (as downloaded from the "
                          "village page); nothing was imported")


def read_sheet(path: str | Path) -> list[SheetRow]:
    """The rows of a filled sheet (CSV or XLSX) with their cells by column key; headers are
    matched by their Chinese or English names, a measurement header in another unit is a
    :class:`FieldSheetError`; empty rows are left out."""
    path = Path(path)
    if not path.is_file():
        raise FieldSheetError(f"{path}: no such sheet")
    table = _read_table(path)
    if not table or not any(str(v or "").strip() for v in table[0]):
        raise FieldSheetError(f"{path.name}: the sheet is empty (no header row); nothing was imported")
    keys: list[str | None] = []
    for h in table[0]:
        key, unit = _header_key(h, path)
        if key is not None:
            _check_header_unit(key, unit, str(h), path)
            if key in keys:
                raise FieldSheetError(f"{path.name}: column {BY_KEY[key].header!r} appears twice; nothing was imported")
        keys.append(key)
    missing = [BY_KEY[k].header for k in ("village", "screening_date", "wb_id", "verdict") if k not in keys]
    if missing:
        raise FieldSheetError(f"{path.name}: no column {', '.join(repr(m) for m in missing)}: is this a villagewatch "
                              "field-check sheet? nothing was imported")
    rows = []
    for n, values in enumerate(table[1:], start=2):
        cells = {k: v for k, v in zip(keys, values) if k is not None}
        if not any(str(v if v is not None else "").strip() for v in cells.values()):
            continue
        rows.append(SheetRow(n, cells))
    return rows
