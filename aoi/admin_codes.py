"""China's 12-digit statistical division codes (统计用区划代码) of the pilot villages.

The National Bureau of Statistics' code of a village-level unit (村委会 / 居委会) has 12 digits:
province (2), prefecture (2), county (2), township (3), village (3) (NBS, 统计用区划代码和城乡
划分代码编制规则, 2023). A township's own code is its 9 digits followed by ``000``.
:data:`COUNTY_CODES` holds the county-level codes of Guangdong (44) and Chongqing (50) from the
2023 edition (``aoi/data/county_codes_44_50.csv``, taken from modood/Administrative-divisions-
of-China ``dist/areas.csv``, WTFPL, commit 57a0aa9cef47169a2eb74cf057b0245052a34e8c).
"""
from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import VillagePropertyError

#: the province prefixes of the pilot areas: Guangdong, Chongqing
PROVINCE_PREFIXES: dict[str, str] = {"44": "广东 Guangdong", "50": "重庆 Chongqing"}
_PROVINCE_WORDS = {"44": ("广东", "guangdong"), "50": ("重庆", "chongqing")}
_CODE_RE = re.compile(r"^\d{12}$")
_TABLE = Path(__file__).resolve().parent / "data" / "county_codes_44_50.csv"


@lru_cache(maxsize=1)
def county_codes() -> dict[str, str]:
    """County-level code (6 digits) -> name, for Guangdong and Chongqing (2023 edition)."""
    with open(_TABLE, encoding="utf-8", newline="") as f:
        return {row["code"]: row["name"] for row in csv.DictReader(f)}


def check_admin_code(value: Any, where: str, *, province: str | None = None) -> str | None:
    """``value`` as a validated 12-digit code, or ``None`` when absent. It must be 12 digits
    (text, or an integer as a GeoPackage column stores it) whose first 6 are a Guangdong or
    Chongqing county in :func:`county_codes`; when ``province`` names Guangdong or Chongqing the
    first 2 must be that province's. Raises :class:`VillagePropertyError` naming ``where``."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise VillagePropertyError(f"{where}: 'admin_code' must be 12 digits as text, got {value!r}")
    code = str(value).strip()
    if not _CODE_RE.match(code):
        raise VillagePropertyError(
            f"{where}: 'admin_code' {value!r} is not a 12-digit statistical division code (统计用区划代码), "
            "e.g. '441402102205'")
    county = county_codes().get(code[:6])
    if county is None:
        raise VillagePropertyError(
            f"{where}: 'admin_code' {code}: its first 6 digits {code[:6]} are not a county of "
            f"{' or '.join(PROVINCE_PREFIXES.values())} (2023 statistical division codes)")
    if province:
        text = province.lower()
        for prefix, words in _PROVINCE_WORDS.items():
            if any(w in text for w in words) and code[:2] != prefix:
                raise VillagePropertyError(
                    f"{where}: 'admin_code' {code} is in {county} (province {code[:2]}), but the village's "
                    f"province is {province!r} ({prefix})")
    return code
