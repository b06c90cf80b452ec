"""The sensor table: per sensor, its band names -> ``eo:common_name``, scale/offset rule,
mask rule and native resolution. Data, not code paths: sources look things up here.

Sources:
- Sentinel-2 L2A: ESA, *Sentinel-2 Products Specification Document* (S2-PDGS-TAS-DI-PSD, v15),
  BOA_ADD_OFFSET = -1000 from processing baseline 04.00 (25 Jan 2022); SCL classes from the
  L2A Algorithm Theoretical Basis Document (S2-PDGS-MPC-ATBD-L2A).
- Landsat 8/9 Collection 2 Level-2: USGS, *Landsat 8-9 C2 L2 Science Product Guide* (LSDS-1619),
  SR = DN x 0.0000275 - 0.2; QA_PIXEL bits 0 fill, 1 dilated cloud, 2 cirrus, 3 cloud,
  4 cloud shadow, 5 snow.
- GF-2 PMS: CRESDA band definitions (blue 450-520, green 520-590, red 630-690, NIR 770-890 nm),
  4 m multispectral; DN must be calibrated with the scene's gain (given by the user).
- Drones: reflectance-calibrated multispectral (e.g. DJI P4M/Mavic 3M, MicaSense) or 8-bit RGB.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

# Sentinel-2 Scene Classification (SCL) values
SCL_NO_DATA = 0
SCL_SATURATED = 1
SCL_DARK_AREA = 2
SCL_CLOUD_SHADOW = 3
SCL_VEGETATION = 4
SCL_NOT_VEGETATED = 5
SCL_WATER = 6
SCL_UNCLASSIFIED = 7
SCL_CLOUD_MEDIUM = 8
SCL_CLOUD_HIGH = 9
SCL_CIRRUS = 10
SCL_SNOW = 11

#: SCL classes masked as invalid (no data, saturated, shadow, cloud medium/high, cirrus, snow)
SCL_MASKED: tuple[int, ...] = (
    SCL_NO_DATA, SCL_SATURATED, SCL_CLOUD_SHADOW, SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH,
    SCL_CIRRUS, SCL_SNOW,
)

# Landsat C2 QA_PIXEL bits
QA_FILL = 0
QA_DILATED_CLOUD = 1
QA_CIRRUS = 2
QA_CLOUD = 3
QA_CLOUD_SHADOW = 4
QA_SNOW = 5
QA_MASKED_BITS: tuple[int, ...] = (QA_FILL, QA_DILATED_CLOUD, QA_CIRRUS, QA_CLOUD, QA_CLOUD_SHADOW, QA_SNOW)


@dataclass(frozen=True)
class MaskRule:
    """How to turn a quality band into a validity mask.

    ``kind`` is ``"classes"`` (pixel values listed in ``values`` are masked, e.g. SCL),
    ``"bits"`` (any bit listed in ``values`` set masks the pixel, e.g. QA_PIXEL) or ``"none"``.
    """

    kind: str
    band: str | None = None
    values: tuple[int, ...] = ()


@dataclass(frozen=True)
class Sensor:
    """One sensor's radiometry and band naming.

    Reflectance = DN x ``scale`` + ``offset``. For Sentinel-2 L2A the offset additionally
    depends on the processing baseline (``offset_rule="s2_processing_baseline"``).
    """

    name: str
    title: str
    bands: Mapping[str, str]  # asset / band name -> eo:common_name
    resolution: float  # native ground sampling distance, metres
    scale: float = 1.0
    offset: float = 0.0
    nodata: float | None = None
    offset_rule: str = "fixed"
    mask: MaskRule = field(default_factory=lambda: MaskRule("none"))
    collections: Mapping[str, str] = field(default_factory=dict)  # STAC preset -> collection id
    #: what DN x scale + offset is for this product: "surface" or "toa" reflectance, None when
    #: the table cannot say (uncalibrated or user-calibrated sensors)
    reflectance_level: str | None = None

    def common_names(self) -> tuple[str, ...]:
        return tuple(self.bands.values())

    def asset_for(self, common_name: str) -> str:
        for asset, cn in self.bands.items():
            if cn == common_name:
                return asset
        raise KeyError(f"sensor {self.name} has no {common_name!r} band")

    def band_for_token(self, token: str) -> str | None:
        """The common name of the band a file name calls ``token``: an asset name
        (``SR_B4``, ``B04``, case-insensitive) or a band number (``4``, ``04``, ``8A``), or None."""
        t = str(token).strip().upper()
        for asset, cn in self.bands.items():
            if asset.upper() == t:
                return cn
        num = _band_number(t)
        if num is None:
            return None
        for asset, cn in self.bands.items():
            if _band_number(asset) == num:
                return cn
        return None


def _band_number(name: str) -> str | None:
    """``SR_B4`` -> ``4``, ``B04`` -> ``4``, ``B8A`` -> ``8A``, ``band3`` -> ``3``, ``4`` -> ``4``."""
    m = re.search(r"(?:^|B|BAND|_)0*([0-9]+[A-Z]?)$", str(name).upper())
    return m.group(1) if m else None


def _ro(d: dict) -> Mapping:
    return MappingProxyType(d)


S2_BASELINE_OFFSET_FROM = "04.00"
S2_BOA_ADD_OFFSET = -1000.0

SENSORS: Mapping[str, Sensor] = _ro({
    "sentinel-2-l2a": Sensor(
        name="sentinel-2-l2a",
        title="Sentinel-2 MSI Level-2A",
        bands=_ro({
            "B01": "coastal", "B02": "blue", "B03": "green", "B04": "red",
            "B05": "rededge1", "B06": "rededge2", "B07": "rededge3",
            "B08": "nir", "B8A": "nir08", "B09": "nir09",
            "B11": "swir16", "B12": "swir22",
        }),
        resolution=10.0,
        scale=1e-4,
        offset=0.0,
        nodata=0,
        offset_rule="s2_processing_baseline",
        mask=MaskRule("classes", "SCL", SCL_MASKED),
        collections=_ro({"earth-search": "sentinel-2-l2a", "planetary-computer": "sentinel-2-l2a"}),
        reflectance_level="surface",
    ),
    "landsat-c2-l2": Sensor(
        name="landsat-c2-l2",
        title="Landsat 8/9 OLI Collection 2 Level-2",
        bands=_ro({
            "SR_B1": "coastal", "SR_B2": "blue", "SR_B3": "green", "SR_B4": "red",
            "SR_B5": "nir08", "SR_B6": "swir16", "SR_B7": "swir22",
        }),
        resolution=30.0,
        scale=2.75e-5,
        offset=-0.2,
        nodata=0,
        mask=MaskRule("bits", "QA_PIXEL", QA_MASKED_BITS),
        collections=_ro({"earth-search": "landsat-c2-l2", "planetary-computer": "landsat-c2-l2"}),
        reflectance_level="surface",
    ),
    "gf2-pms": Sensor(
        name="gf2-pms",
        title="Gaofen-2 PMS multispectral",
        bands=_ro({"band1": "blue", "band2": "green", "band3": "red", "band4": "nir"}),
        resolution=4.0,
        scale=1.0,
        offset=0.0,
        nodata=0,
    ),
    "drone-rgb": Sensor(
        name="drone-rgb",
        title="Drone RGB orthomosaic (8-bit)",
        bands=_ro({"band1": "red", "band2": "green", "band3": "blue"}),
        resolution=0.1,
        scale=1 / 255.0,
        offset=0.0,
    ),
    "drone-multispectral": Sensor(
        name="drone-multispectral",
        title="Drone multispectral orthomosaic (reflectance)",
        bands=_ro({"band1": "blue", "band2": "green", "band3": "red", "band4": "rededge1", "band5": "nir"}),
        resolution=0.05,
        scale=1.0,
        offset=0.0,
    ),
})


#: the label of imagery whose sensor neither the file nor the user names (never guessed)
UNKNOWN_SENSOR = "unknown"


def sensor(name: str) -> Sensor:
    """Look up a sensor by name; a clear error lists the known ones."""
    try:
        return SENSORS[name]
    except KeyError:
        from .errors import UnknownSensorError

        raise UnknownSensorError(f"unknown sensor {name!r}; known: {', '.join(SENSORS)}") from None


def check_sensor_name(name: str, where: str = "sensor") -> str:
    """``name`` if it is a key of :data:`SENSORS` or :data:`UNKNOWN_SENSOR`; else
    ``UnknownSensorError`` naming ``where`` and listing the valid names."""
    from .errors import UnknownSensorError

    if name in SENSORS or name == UNKNOWN_SENSOR:
        return name
    raise UnknownSensorError(f"{where}: unknown sensor {name!r}; valid names: {', '.join(SENSORS)} "
                             f"(or {UNKNOWN_SENSOR!r} when no one knows)")


def s2_boa_offset(processing_baseline: str | None) -> float:
    """BOA_ADD_OFFSET for a Sentinel-2 L2A item: -1000 DN from baseline 04.00 on, else 0.

    Decided by ``s2:processing_baseline`` (not the date: reprocessed old scenes carry it too).
    """
    if not processing_baseline:
        return 0.0
    try:
        major, minor = (int(p) for p in str(processing_baseline).split(".")[:2])
    except ValueError:
        raise ValueError(f"unreadable s2:processing_baseline {processing_baseline!r}") from None
    return S2_BOA_ADD_OFFSET if (major, minor) >= (4, 0) else 0.0
