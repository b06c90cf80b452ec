"""The field-check loop: from a satellite suspect to the register and the lists.

Satellite screening raises suspects (``flows.products.date``); per village and date a
field-check sheet lists them (``sheet``: CSV, XLSX, and GeoJSON for field apps) with the rural
guideline's criteria (``criteria``); ``villagewatch verify OUT SHEET`` imports a filled sheet
(``verify``: all or nothing) into the village's register (``register``: every body's history:
screened, checked, confirmed or cleared, treated, relapsed); the statuses, sheets and the
national/provincial lists of confirmed bodies are remade from the register and the screening
whenever either changes (``status``), and the pages read them (``summary``).

Imports ``flows.products`` (layout, cache, atomic, vectors) and ``aoi``; imported by the night
(``flows.work``, ``flows.runner``), ``flows.publish`` and the CLI.
"""
from __future__ import annotations

from .criteria import MEASUREMENTS, RURAL_GUIDELINE, assess, criteria_table
from .register import (LISTED, ON_SHEET, STATUSES, VERDICTS, Check, FieldCheckParams, Register, changed, precision,
                       read_register, status_on, write_register)
from .sheet import COLUMNS, read_sheet, sheet_csv, sheet_xlsx
from .status import FIELDCHECK_VERSION, refresh_village
from .summary import FieldCheckSummary, county_precision, pooled_precision, village_summary
from .verify import ImportResult, import_sheet

__all__ = [
    "MEASUREMENTS", "RURAL_GUIDELINE", "assess", "criteria_table",
    "LISTED", "ON_SHEET", "STATUSES", "VERDICTS", "Check", "FieldCheckParams", "Register", "changed", "precision",
    "read_register", "status_on", "write_register",
    "COLUMNS", "read_sheet", "sheet_csv", "sheet_xlsx",
    "FIELDCHECK_VERSION", "refresh_village",
    "FieldCheckSummary", "county_precision", "pooled_precision", "village_summary",
    "ImportResult", "import_sheet",
]
