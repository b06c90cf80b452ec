"""The ``Village`` record: who and where a pilot area is."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from shapely.geometry.base import BaseGeometry

PilotType = Literal["regional-comprehensive", "domain-featured", "ad-hoc"]
PILOT_TYPES: tuple[str, ...] = ("regional-comprehensive", "domain-featured")
#: the pilot type of an ad-hoc area (``aoi.registry.village_from_file``): not a registry pilot
AD_HOC = "ad-hoc"

#: Indicator families a village can ask for (``Village.focus``).
FOCUS_KINDS: tuple[str, ...] = (
    "water",
    "black_odorous",
    "vegetation",
    "forest",
    "farmland",
    "ancient_trees",
)

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def is_safe_id(value: str) -> bool:
    """True when ``value`` is an ASCII slug usable as a folder name (no ``/``, ``..``, spaces)."""
    return bool(_ID_RE.match(value))


@dataclass(frozen=True)
class Village:
    """A pilot village (or pilot area) and its area of interest.

    ``geometry`` is a shapely (Multi)Polygon in EPSG:4326 (lon, lat).
    ``boundary_source`` is ``"approximate"`` or a description of where an official
    boundary came from (file name, agency, date). ``admin_code`` is the 12-digit
    statistical division code (统计用区划代码) of the village (or, for a pilot town, the
    town's 9 digits + ``000``), ``None`` when unknown.
    """

    id: str
    name_zh: str
    name_en: str
    province: str
    county: str
    town: str
    pilot_type: PilotType
    focus: tuple[str, ...]
    geometry: BaseGeometry = field(repr=False, compare=False)
    boundary_source: str = "approximate"
    notes: str = ""
    centre: tuple[float, float] | None = None  # (lon, lat) of the best-known location
    #: 12-digit statistical division code (统计用区划代码), None when unknown (aoi.admin_codes)
    admin_code: str | None = None

    def __post_init__(self) -> None:
        if not is_safe_id(self.id):
            raise ValueError(
                f"village id {self.id!r} is not an ASCII slug (a-z, 0-9, '-', '_'; max 64)"
            )
        if self.pilot_type not in PILOT_TYPES and self.pilot_type != AD_HOC:
            raise ValueError(f"village {self.id}: pilot_type {self.pilot_type!r} not in {PILOT_TYPES + (AD_HOC,)}")

    @property
    def label(self) -> str:
        """Chinese name first, pinyin beside: ``泮坑村 (Pankeng)``."""
        return f"{self.name_zh} ({self.name_en})"

    @property
    def is_approximate(self) -> bool:
        return self.boundary_source == "approximate"
