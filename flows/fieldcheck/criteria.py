"""What a field check measures and what the rural guideline says of it.

The rural guideline (生态环境部办公厅、水利部办公厅、农业农村部办公厅《农村黑臭水体治理工作指南》,
2019 trial edition, revised 2023 and released January 2024) identifies rural black-odorous
water by a survey of the villagers first and water tests where needed; a water body is
black-odorous when **any one** of its three water-quality criteria is met:

=====================  ==========  =========================================================
criterion              unit        black-odorous when
=====================  ==========  =========================================================
透明度 transparency      cm          < 25 cm (water shallower than 25 cm: < 40 % of the depth)
溶解氧 dissolved oxygen  mg/L        < 2 mg/L
氨氮 ammonia nitrogen    mg/L        > 15 mg/L
=====================  ==========  =========================================================

The oxidation-reduction potential (ORP) is not a criterion of the rural guideline; it is
recorded where measured, and compared (for information only) with the urban guideline's
bound for light black-odorous water, ORP < 50 mV (住房城乡建设部《城市黑臭水体整治工作指南》,
2015: light -200..50 mV, heavy < -200 mV).

Plausible ranges (:data:`MEASUREMENTS`) catch impossible values and the usual unit slips
(dissolved oxygen in % saturation, ammonia in ug/L, transparency in m): a value outside them is
refused by ``villagewatch verify``. They are physical bounds, not criteria: dissolved oxygen
above 30 mg/L does not occur in surface water (saturation is 14.6 mg/L at 0 degC, algal
supersaturation stays near 20), ammonia nitrogen above 2,000 mg/L is beyond raw manure
slurry's dilution in a pond, ORP of natural water lies within about -600..+800 mV, and a
Secchi transparency above 50 m or a rural water depth above 100 m is not a rural water body.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

#: the guideline every criterion comes from
RURAL_GUIDELINE = ("生态环境部办公厅、水利部办公厅、农业农村部办公厅《农村黑臭水体治理工作指南》"
                   "(2019 trial edition; 2023 revision, released January 2024)")
URBAN_GUIDELINE = "住房城乡建设部《城市黑臭水体整治工作指南》(2015)"
#: water shallower than this: the transparency criterion is a share of the depth (guideline's note)
SHALLOW_DEPTH_CM = 25.0
SHALLOW_SHARE = 0.40


@dataclass(frozen=True)
class Measurement:
    """One field measurement: its key, bilingual name, unit, plausible range and, for the
    guideline's criteria, the side and threshold that make the water black-odorous."""

    key: str
    zh: str
    en: str
    unit: str
    low: float  # plausible range (inclusive)
    high: float
    op: str | None = None  # "<" or ">": black-odorous side of ``threshold``; None: recorded only
    threshold: float | None = None
    decisive: bool = True  # a criterion of the rural guideline
    source: str = RURAL_GUIDELINE

    @property
    def header(self) -> str:
        return f"{self.zh} {self.en} ({self.unit})"

    def met(self, value: float, threshold: float | None = None) -> bool:
        t = self.threshold if threshold is None else threshold
        return value < t if self.op == "<" else value > t

    def rule(self) -> str:
        return f"{self.en} {self.op} {self.threshold:g} {self.unit}" if self.op else f"{self.en} recorded"


MEASUREMENTS: tuple[Measurement, ...] = (
    Measurement("transparency_cm", "透明度", "transparency", "cm", 0.0, 5000.0, "<", 25.0),
    Measurement("depth_cm", "水深", "water depth", "cm", 0.0, 10000.0, decisive=False, source="the guideline's note on "
                "water shallower than 25 cm"),
    Measurement("dissolved_oxygen_mg_l", "溶解氧", "dissolved oxygen", "mg/L", 0.0, 30.0, "<", 2.0),
    Measurement("ammonia_nitrogen_mg_l", "氨氮", "ammonia nitrogen", "mg/L", 0.0, 2000.0, ">", 15.0),
    Measurement("orp_mv", "氧化还原电位", "ORP", "mV", -1000.0, 1000.0, "<", 50.0, decisive=False, source=URBAN_GUIDELINE),
)
BY_KEY = {m.key: m for m in MEASUREMENTS}
#: the units people write for the same thing, mapped to the sheet's unit (anything else is a wrong unit)
UNIT_ALIASES = {"cm": "cm", "厘米": "cm", "mg/l": "mg/L", "mg/L": "mg/L", "毫克/升": "mg/L", "mv": "mV", "mV": "mV",
                "毫伏": "mV"}


def transparency_threshold(depth_cm: float | None) -> float:
    """25 cm, or 40 % of the depth for water shallower than 25 cm (the guideline's note)."""
    if depth_cm is not None and depth_cm < SHALLOW_DEPTH_CM:
        return SHALLOW_SHARE * depth_cm
    return BY_KEY["transparency_cm"].threshold  # type: ignore[return-value]


def assess(values: Mapping[str, float | None]) -> dict[str, Any]:
    """What the measurements say by the rural guideline: ``criteria_met`` (the decisive
    criteria met), ``measured`` (the decisive criteria measured), ``orp_below_urban_bound``
    (information only) and ``guideline`` = ``black_odorous`` when any criterion is met,
    ``not_black_odorous`` when all three were measured and none is met, else ``None``."""
    met, measured = [], []
    for m in MEASUREMENTS:
        v = values.get(m.key)
        if v is None or not m.decisive:
            continue
        measured.append(m.key)
        t = transparency_threshold(values.get("depth_cm")) if m.key == "transparency_cm" else None
        if m.met(float(v), t):
            met.append(m.key)
    decisive = [m.key for m in MEASUREMENTS if m.decisive]
    verdict = "black_odorous" if met else ("not_black_odorous" if len(measured) == len(decisive) else None)
    orp = values.get("orp_mv")
    return {"criteria_met": met, "measured": measured, "guideline": verdict,
            "orp_below_urban_bound": None if orp is None else bool(BY_KEY["orp_mv"].met(float(orp)))}


def criteria_table() -> list[dict[str, Any]]:
    """The criteria as recorded in manifests and shown on sheets and pages."""
    return [{"key": m.key, "zh": m.zh, "en": m.en, "unit": m.unit, "rule": m.rule(), "decisive": m.decisive,
             "plausible": [m.low, m.high], "source": m.source} for m in MEASUREMENTS]
