"""The one interface every imagery source implements (a small Protocol, as in stackstac)."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import xarray as xr

from aoi import Village

if TYPE_CHECKING:
    import geopandas as gpd


@runtime_checkable
class Source(Protocol):
    """``load(village, start, end) -> Scene`` (see ``sensing.scene``).

    ``kind`` is ``"demo"``, ``"stac"`` or ``"files"``. ``describe()`` returns the options
    that shaped the load, recorded in each product's manifest (never credentials).
    """

    kind: str

    def load(self, village: Village, start: dt.date, end: dt.date) -> xr.Dataset: ...

    def describe(self) -> dict: ...


# --------------------------------------------------------------------------- optional capabilities
# A source may offer more than scenes. Each extra is a small Protocol checked with
# ``isinstance`` (runtime_checkable, as stackstac checks its reader), so what a source can do
# is declared here rather than discovered with ``getattr``.
@runtime_checkable
class ExtraScenes(Protocol):
    """More imagery streams beside the main one (the demo's drone orthomosaics):
    ``{stream name: Scene}``; each stream's products go in a sub-folder named after it."""

    def extra_scenes(self, village: Village, start: dt.date, end: dt.date) -> dict[str, xr.Dataset]: ...


@runtime_checkable
class TreeRegistry(Protocol):
    """The source's own ancient-tree registry (一树一码) for a village: points in EPSG:4326
    with ``code`` (unique), ``species``, ``name_zh``, ``age_years``; ``None`` when it has none."""

    def trees(self, village: Village) -> "gpd.GeoDataFrame | None": ...


@runtime_checkable
class CroplandLayer(Protocol):
    """A cropland layer the source offers for a village (a boolean raster with CRS), used by
    the farmland watch in place of the NDVI phenology; ``None`` when it has none."""

    def cropland(self, village: Village) -> "xr.DataArray | None": ...
