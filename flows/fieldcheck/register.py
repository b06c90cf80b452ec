"""A village's field-check register: every check of every water body, and the status the
screening of a date gets from it.

``OUT/<village>/fieldcheck/register.json`` is written by ``villagewatch verify`` only (atomically,
under the output folder's lock) and read by every later night and publication: it is an input
of the field-check products' keys (``flows.products.cache.files_key``), never an output of a
night. Each :class:`Check` answers the screening of one date (``screening_date``, the sheet's
date) and records the day of the visit, the inspector, the verdict, the measurements and what
the guideline says of them, the photo file names, and the body's satellite figures on the
screening date (from the products, not from the sheet) against which later dates are compared.

A body's history is: **screened** (the satellite raised it), **checked** (visited, verdict
pending), **confirmed** or **cleared**, **treated**, **relapsed** (raised again after it was
treated). :func:`status_on` gives the status of a body flagged on a date:

- a check answering that date's screening decides (its verdict);
- else the latest check of an earlier screening: confirmed stays confirmed, pending stays
  checked; a cleared body stays cleared (not raised again) unless it :func:`changed` since;
  a treated body flagged after its treatment check is relapsed (flagged on or before the day
  it was found treated, it is treated);
- else screened.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..errors import RegisterError
from ..products.atomic import write_json
from ..products.layout import register_path

SCHEMA = "villagewatch-register/1"
#: a sheet's verdicts: key -> (Chinese, English)
VERDICTS: dict[str, tuple[str, str]] = {
    "checked": ("已核查待定", "checked, verdict pending"),
    "confirmed": ("确认黑臭", "confirmed black-odorous"),
    "cleared": ("排除", "cleared, not black-odorous"),
    "treated": ("已治理", "treated, no longer black-odorous"),
}
#: every status a body can have, in the order of its history
STATUSES: dict[str, tuple[str, str]] = {
    "screened": ("已筛查待核查", "screened, not checked"),
    **VERDICTS,
    "relapsed": ("返黑返臭", "relapsed after treatment"),
}
#: statuses that put a body on the date's field-check sheet (cleared and treated bodies are not raised)
ON_SHEET = ("screened", "checked", "relapsed", "confirmed")
#: statuses of a body on the lists (once confirmed)
LISTED = ("confirmed", "treated", "relapsed")
#: the satellite figures a check keeps of the screening it answered (compared by :func:`changed`)
SCREENING_FIGURES = ("area_m2", "list", "boi_mean", "ndbwi_mean", "purity_mean", "brightness_mean", "confidence",
                     "methods_agreeing", "status")


@dataclass(frozen=True)
class FieldCheckParams:
    """When a cleared body has changed enough to be raised again (ours, stated, not tuned):

    - its area moved by more than ``change_area_share`` of the cleared area (0.5: half as large
      again, or half gone; a body at the national list's 2,000 m2 is 20 Sentinel-2 pixels, of
      which about 14 are edge pixels, so smaller moves are within the mixed-pixel noise);
    - its mean BOI fell by more than ``change_boi_drop`` (0.02, under a third of the gap between
      clean water and the published 0.065 threshold, Yao et al. 2019: the water got darker
      and greyer);
    - a method flags it now that did not when it was cleared.
    """

    change_area_share: float = 0.5
    change_boi_drop: float = 0.02

    def as_dict(self) -> dict[str, Any]:
        return {"change_area_share": self.change_area_share, "change_boi_drop": self.change_boi_drop,
                "change_methods": "a method agreeing now that did not when cleared"}


@dataclass(frozen=True)
class Check:
    """One field check of one water body, answering the screening of ``screening_date``."""

    wb_id: str
    screening_date: str
    check_date: str
    verdict: str
    inspector: str
    measurements: Mapping[str, float] = field(default_factory=dict)
    assessment: Mapping[str, Any] = field(default_factory=dict)
    photos: tuple[str, ...] = ()
    notes: str = ""
    raised: bool = True  # the satellite raised it on screening_date (counts for the precision)
    screening: Mapping[str, Any] = field(default_factory=dict)
    sheet: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.wb_id, self.screening_date, self.check_date)

    def as_dict(self) -> dict[str, Any]:
        return {"wb_id": self.wb_id, "screening_date": self.screening_date, "check_date": self.check_date,
                "verdict": self.verdict, "inspector": self.inspector, "measurements": dict(self.measurements),
                "assessment": dict(self.assessment), "photos": list(self.photos), "notes": self.notes,
                "raised": self.raised, "screening": dict(self.screening), "sheet": dict(self.sheet)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Check":
        if d.get("verdict") not in VERDICTS:
            raise ValueError(f"verdict {d.get('verdict')!r} is not one of {', '.join(VERDICTS)}")
        return cls(str(d["wb_id"]), str(d["screening_date"]), str(d["check_date"]), str(d["verdict"]),
                   str(d.get("inspector", "")), dict(d.get("measurements") or {}), dict(d.get("assessment") or {}),
                   tuple(d.get("photos") or ()), str(d.get("notes") or ""), bool(d.get("raised", True)),
                   dict(d.get("screening") or {}), dict(d.get("sheet") or {}))


@dataclass(frozen=True)
class Register:
    """Every check of one village's water bodies."""

    village_id: str
    checks: tuple[Check, ...] = ()

    def of(self, wb_id: str) -> list[Check]:
        """The checks of one body, oldest visit first."""
        return sorted((c for c in self.checks if c.wb_id == wb_id), key=lambda c: (c.check_date, c.screening_date))

    @property
    def bodies(self) -> list[str]:
        return sorted({c.wb_id for c in self.checks})

    def merged(self, new: Iterable[Check]) -> "Register":
        """This register with ``new`` checks added; a check of the same body, screening and
        visit day replaces the old one (a corrected sheet imported again)."""
        by_key = {c.key: c for c in self.checks}
        by_key.update({c.key: c for c in new})
        return Register(self.village_id, tuple(by_key[k] for k in sorted(by_key)))

    def as_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "village": self.village_id,
                "checks": [c.as_dict() for c in sorted(self.checks, key=lambda c: c.key)]}


def read_register(out: str | Path, village_id: str) -> Register:
    """The village's register (empty when there is none yet); :class:`RegisterError` naming the
    file when it cannot be read."""
    path = register_path(out, village_id)
    if not path.is_file():
        return Register(village_id)
    import json

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document")
        if doc.get("village") != village_id:
            raise ValueError(f"it is the register of village {doc.get('village')!r}")
        checks = tuple(Check.from_dict(c) for c in doc.get("checks", []))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RegisterError(f"{path}: the field-check register cannot be read ({exc}); it was left as it is: "
                            "restore it from a backup, or repair it") from None
    return Register(village_id, checks)


def write_register(out: str | Path, register: Register) -> Path:
    """Write the register atomically (a temporary file in the same folder, fsync, rename)."""
    return write_json(register_path(out, register.village_id), register.as_dict())


# --------------------------------------------------------------------------- statuses
def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _methods(v: Any) -> set[str]:
    if isinstance(v, (list, tuple)):
        return {str(m) for m in v if m}
    return {m.strip() for m in str(v or "").split(",") if m.strip()}


def changed(now: Mapping[str, Any], then: Mapping[str, Any], params: FieldCheckParams = FieldCheckParams()) -> str | None:
    """Why a cleared body counts as changed since it was cleared (``None``: it has not), by
    :class:`FieldCheckParams`; ``now`` and ``then`` are its screening figures."""
    a0, a1 = _num(then.get("area_m2")), _num(now.get("area_m2"))
    if a0 and a1 is not None and abs(a1 - a0) / a0 > params.change_area_share:
        return (f"area {a0:,.0f} -> {a1:,.0f} m2 ({(a1 - a0) / a0:+.0%}, more than "
                f"{params.change_area_share:.0%})")
    b0, b1 = _num(then.get("boi_mean")), _num(now.get("boi_mean"))
    if b0 is not None and b1 is not None and b0 - b1 > params.change_boi_drop:
        return f"mean BOI {b0:.3f} -> {b1:.3f} (down {b0 - b1:.3f}, more than {params.change_boi_drop:g})"
    gained = sorted(_methods(now.get("methods_agreeing")) - _methods(then.get("methods_agreeing")))
    if gained and then.get("methods_agreeing") is not None:
        return f"flagged now also by {', '.join(gained)}"
    return None


def status_on(register: Register, wb_id: str, date: str, figures: Mapping[str, Any],
              params: FieldCheckParams = FieldCheckParams()) -> tuple[str, str, Check | None]:
    """(status, reason, the check it comes from) of body ``wb_id`` flagged on ``date`` with
    ``figures`` (its screening figures that date); the rules are the module's."""
    checks = register.of(wb_id)
    answering = [c for c in checks if c.screening_date == date]
    if answering:
        c = answering[-1]
        return c.verdict, f"field check {c.check_date} ({c.inspector})", c
    earlier = [c for c in checks if c.screening_date < date]
    if not earlier:
        return "screened", "raised by the satellite screening, not checked yet", None
    c = earlier[-1]
    if c.verdict == "cleared":
        why = changed(figures, c.screening, params)
        if why:
            return "screened", f"raised again: changed since cleared on {c.check_date}: {why}", c
        return "cleared", f"cleared on {c.check_date} ({c.inspector}), unchanged since", c
    if c.verdict == "treated":
        if date > c.check_date:
            return "relapsed", f"treated (found {c.check_date}), flagged again on {date}", c
        return "treated", f"found treated on {c.check_date}", c
    return c.verdict, f"{VERDICTS[c.verdict][1]} on {c.check_date} ({c.inspector})", c


def precision(checks: Sequence[Check]) -> dict[str, Any]:
    """Screening precision: confirmed of the checked screenings (the latest decisive verdict,
    confirmed or cleared, of each body and screening date the satellite raised)."""
    decisive: dict[tuple[str, str], str] = {}
    for c in sorted(checks, key=lambda c: (c.check_date, c.screening_date)):
        if c.raised and c.verdict in ("confirmed", "cleared"):
            decisive[(c.wb_id, c.screening_date)] = c.verdict
    n_conf = sum(v == "confirmed" for v in decisive.values())
    n = len(decisive)
    return {"checked": n, "confirmed": n_conf, "cleared": n - n_conf, "precision": (n_conf / n) if n else None}
